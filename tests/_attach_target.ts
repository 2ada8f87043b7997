/**
 * Test tooling only: the Python workload an attach test runs in its target process (tests/attach_test.ts, and the
 * containerised target of tests/container_test.ts), so both compare attach's map with the same heap; and which
 * interpreter runs an attach target (tests/attach_test.ts, tests/glibc_heap_test.ts).
 * @module
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { launched, targetInterpreter } from "./_launch.ts";

// ---- which interpreter runs the target ---------------------------------------------------------------------------
const SYSCONFIG =
  "import sys, sysconfig, json; v = sysconfig.get_config_vars(); print(json.dumps([sys.version.split()[0], " +
  "[v.get(k) for k in ('LIBDIR', 'MULTIARCH', 'INSTSONAME', 'LDLIBRARY')]]))";

function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Interpreters on this machine: pyenv versions, then /usr/bin and /usr/local/bin (never hard-coded versions). */
function interpreters(): string[] {
  const out: string[] = [];
  let root = process.env.PYENV_ROOT;
  if (!root) {
    try {
      root = execFileSync("pyenv", ["root"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      root = join(os.homedir(), ".pyenv");
    }
  }
  const ls = (d: string) => {
    try {
      return fs.readdirSync(d).sort();
    } catch {
      return [];
    }
  };
  for (const v of ls(join(root, "versions"))) {
    const exe = join(root, "versions", v, "bin", "python3");
    if (fs.existsSync(exe)) out.push(exe);
  }
  for (const d of ["/usr/bin", "/usr/local/bin"]) {
    for (const f of ls(d)) if (/^python3\.\d+$/.test(f)) out.push(join(d, f));
  }
  return out;
}

/** The interpreter whose sysconfig names PYMEM_LIBPYTHON (or python3 on PATH when no library is given); the one
 * tests/run.ts names (PYMEM_TEST_PYTHON, started under its loader) when it is of the version under test. */
export function targetExecutable(): { exe: string; version: string } | undefined {
  const named = targetInterpreter();
  if (named) {
    try {
      const [cmd, args] = launched(named, ["-c", SYSCONFIG]);
      const [version] = JSON.parse(execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
      if (!process.env.PYMEM_TEST_VERSION || version === process.env.PYMEM_TEST_VERSION) return { exe: named, version };
    } catch { /* search as below */ }
  }
  const lib = process.env.PYMEM_LIBPYTHON;
  const want = lib ? real(lib) : undefined;
  for (const exe of want ? interpreters() : ["python3"]) {
    let version: string, vars: (string | null)[];
    try {
      [version, vars] = JSON.parse(
        execFileSync(exe, ["-c", SYSCONFIG], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
      );
    } catch {
      continue;
    }
    if (!want) return { exe, version };
    const [libdir, multiarch, ...names] = vars;
    for (const d of [libdir, libdir && multiarch ? join(libdir, multiarch) : null]) {
      for (const n of names) if (d && n && real(join(d, n)) === want) return { exe, version };
    }
  }
  return undefined;
}

// The workload: a fragmented heap, then its own stats (printed to stderr, redirected to a file), then a readiness
// byte, then a sleep that waits in C without allocating, so the heap stays exactly as printed. The dry run takes the
// same path with no sleep, so nothing after the readiness byte runs for the first time (3.15 freed a 48-byte block
// on the first call of signal.pause() made after the stats, one read in three).
export const FRAGMENT = `
import sys, os, gc, time
out = sys.argv[1]
junk = [b'x' * (i % 200) if i % 3 else (i, float(i)) for i in range(300000)]
del junk[::2]
gc.collect()
gc.disable()
def dump(path, sleep):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ready = os.open(path + '.ready', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    sys.stderr.flush()
    os.dup2(fd, 2)
    sys._debugmallocstats()
    os.dup2(saved, 2)
    os.write(ready, b'1')
    time.sleep(sleep)
    os.close(fd)
    os.close(ready)
    os.close(saved)
# A dry run first, so whatever the path caches on first use is allocated before the stats that count.
dump(out + '.warmup', 0)
dump(out, 1e9)
`;
