/**
 * `pymem exporter` in operation (issue 28): the health series an SRE alerts on (per target up and last success,
 * the partial marker, errors with their pid, unsupported processes listed once, the exporter's own process_*
 * figures, the textfile's own timestamp and failures), a worker killed from outside, SIGTERM through the npx
 * launcher, and the shipped alert rules (`promtool check rules`, `promtool test rules`) and systemd unit
 * (`systemd-analyze verify`). Real target processes, real HTTP on 127.0.0.1, real promtool.
 *
 * None of this depends on the CPython under test: every test runs once per runtime (skipUnlessDefaultPython) and
 * starts its own targets with the python3 on PATH, and the CPythons older than 3.8 it finds (pyenv) at run time.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { command, ROOT, runtime, skipUnlessDefaultPython } from "./_cli_spawn.ts";

const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-exporter-ops-"));
fs.chmodSync(tmp, 0o755);
/** In every target's argv, so `--match` keeps the host's other Python processes out. */
const MARK = basename(tmp);
const once = skipUnlessDefaultPython();
const children: ChildProcess[] = [];
const has = (p: string) => fs.existsSync(p);
const PROMTOOL = "/usr/bin/promtool";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A target that blocks on stdin until the test closes it (or kills it).
const TARGET = "import os, sys; junk = [str(i) * 3 for i in range(int(sys.argv[1]))]; " +
  "n = os.environ.get('PYMEM_TEST_COMM'); n and open('/proc/self/comm', 'wb').write(n.encode()[:15]); " +
  "sys.stdout.write('R'); sys.stdout.flush(); sys.stdin.read()";

async function startTarget(exe: string, env: Record<string, string> = {}, n = 20_000): Promise<ChildProcess> {
  const child = spawn(exe, ["-c", TARGET, String(n), MARK], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  children.push(child);
  await new Promise<void>((ready, fail) => {
    const t = setTimeout(() => fail(new Error(`${exe}: not ready after 30 s`)), 30_000);
    child.stdout!.once("data", () => (clearTimeout(t), ready()));
    child.once("exit", (c, s) => (clearTimeout(t), fail(new Error(`${exe} exited (${s ?? c}) before it was ready`))));
  });
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.stdin?.end();
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000);
  });
}

interface Exporter {
  child: ChildProcess;
  url: string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `pymem exporter ARGS` under this runtime; resolves at its "listening on" (or "writing") line. */
async function startExporter(args: string[]): Promise<Exporter> {
  const [cmd, pre] = command("lib/cli.ts");
  const child = spawn(cmd, [...pre, "exporter", ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (err += d));
  const url = await new Promise<string>((ready, fail) => {
    const t = setTimeout(() => fail(new Error(`exporter not ready after 60 s: ${err}`)), 60_000);
    const look = () => {
      const m = /listening on (\S+)|(writing) /.exec(err);
      if (m) {
        clearTimeout(t);
        ready(m[1] ?? "");
      }
    };
    child.stderr!.on("data", look);
    child.once("exit", (code) => (clearTimeout(t), fail(new Error(`exporter exited (${code}): ${err}`))));
  });
  return {
    child,
    url,
    stderr: () => err,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r(child.exitCode);
        child.once("exit", (code) => r(code));
        child.kill("SIGTERM");
      }),
  };
}

function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}
const one = (text: string, name: string, labels: Record<string, string> = {}) => {
  const s = samples(text, name).filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.equal(s.length, 1, `${name}${JSON.stringify(labels)}: ${s.length} samples in\n${text}`);
  return s[0].value;
};

function promtoolCheck(text: string): void {
  const r = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  // promtool exits 3 for lint warnings only (none expected), 1 for errors.
  assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
}

/** CPython interpreters older than 3.8 here (pyenv versions, /usr/bin), one per minor: 2.7, 3.6, 3.7, … */
function oldPythons(): string[] {
  let root = process.env.PYENV_ROOT;
  try {
    root ||= execFileSync("pyenv", ["root"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    root = join(os.homedir(), ".pyenv");
  }
  const ls = (d: string) => {
    try {
      return fs.readdirSync(d).sort();
    } catch {
      return [];
    }
  };
  const cands = [
    ...ls(join(root, "versions")).flatMap((v) =>
      ["python3", "python"].map((n) => join(root!, "versions", v, "bin", n))
    ),
    ...ls("/usr/bin").filter((f) => /^python(2\.7|3\.[0-7])$/.test(f)).map((f) => join("/usr/bin", f)),
  ];
  const byMinor = new Map<string, string>();
  for (const exe of cands) {
    if (!has(exe)) continue;
    try {
      const v = execFileSync(exe, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
      const [maj, min] = v.split(".").map(Number);
      if ((maj < 3 || min < 8) && !byMinor.has(v)) byMinor.set(v, exe);
    } catch { /* not runnable */ }
  }
  return [...byMinor.values()];
}

const python3 = spawnSync("python3", ["-c", "pass"]).status === 0 ? "python3" : undefined;

test(
  "exporter ops: per-target up and last success, unsupported processes listed once (not errors), process_* figures; promtool accepts it",
  async () => {
    const old = oldPythons();
    const ok = await startTarget(python3!);
    const malloc = await startTarget(python3!, { PYTHONMALLOC: "malloc" });
    const olds = await Promise.all(old.map((exe) => startTarget(exe)));
    const ex = await startExporter(["--listen", "127.0.0.1:0", "--match", MARK, "--top-types", "0"]);
    try {
      let previous = 0;
      for (let round = 1; round <= 3; round++) {
        const t0 = Date.now() / 1000;
        const text = await (await fetch(ex.url)).text();
        promtoolCheck(text);
        const me = { pid: String(ok.pid) };
        assert.equal(one(text, "python_pymalloc_up", me), 1);
        const last = one(text, "python_pymalloc_last_success_timestamp_seconds", me);
        assert.ok(
          last >= t0 - 1 && last <= Date.now() / 1000 + 1 && last > previous,
          `last success ${last}, scrape at ${t0}`,
        );
        previous = last;
        // The malloc target: listed as unsupported (no_obmalloc), never up or down.
        assert.equal(
          one(text, "python_process_unsupported_info", { pid: String(malloc.pid), reason: "no_obmalloc" }),
          1,
        );
        assert.equal(samples(text, "python_pymalloc_up").filter((s) => s.labels.pid === String(malloc.pid)).length, 0);
        for (const t of olds) {
          assert.equal(
            one(text, "python_process_unsupported_info", { pid: String(t.pid), reason: "python_version" }),
            1,
          );
        }
        assert.equal(one(text, "pymem_exporter_processes_unsupported", { reason: "python_version" }), olds.length);
        assert.equal(one(text, "pymem_exporter_processes_unsupported", { reason: "no_obmalloc" }), 1);
        // Each is a Python process found (the malloc target was left out of processes_seen, below processes_mapped).
        const seen = one(text, "pymem_exporter_processes_seen") - one(text, "pymem_exporter_processes_skipped");
        assert.equal(seen, 2 + olds.length);
        // Not errors, on any scrape: the error counters stay at 0 whatever the scrape rate.
        for (const s of samples(text, "pymem_exporter_errors_total")) assert.equal(s.value, 0, JSON.stringify(s));
        assert.equal(samples(text, "pymem_exporter_target_error_info").length, 0);
        assert.equal(one(text, "pymem_exporter_scrape_partial"), 0);
        // The exporter's own resources, and its workers'.
        assert.ok(one(text, "process_cpu_seconds_total") > 0);
        assert.ok(one(text, "process_resident_memory_bytes") > 10 << 20);
        const start = one(text, "process_start_time_seconds");
        assert.ok(start > t0 - 120 && start <= t0 + 1, `start time ${start}`);
        for (const w of ["0", "1"]) {
          assert.ok(one(text, "pymem_exporter_worker_resident_memory_bytes", { worker: w }) > 10 << 20);
          assert.ok(one(text, "pymem_exporter_worker_cpu_seconds_total", { worker: w }) >= 0);
        }
      }
      // Each unsupported process is told once on stderr, with its pid, whatever the number of scrapes.
      for (const t of [malloc, ...olds]) {
        const lines = ex.stderr().split("\n").filter((l) => l.includes(`process ${t.pid} `) && /not supported/.test(l));
        assert.equal(lines.length, 1, ex.stderr());
      }
    } finally {
      await ex.stop();
      for (const t of [ok, malloc, ...olds]) await stopChild(t);
    }
  },
  {
    skip: once || (!python3 && "no python3 on PATH") ||
      (!has(PROMTOOL) && "promtool not installed (Debian package prometheus)"),
  },
);

test(
  "exporter ops: a target over its deadline is down with its pid and reason (series and one stderr line), the scrape is partial",
  async () => {
    const big = await startTarget(python3!, {}, 400_000);
    const ex = await startExporter([
      "--listen",
      "127.0.0.1:0",
      "--pid",
      String(big.pid),
      "--timeout",
      "0.001",
      "--workers",
      "1",
    ]);
    try {
      for (let round = 1; round <= 2; round++) {
        const text = await (await fetch(ex.url)).text();
        promtoolCheck(text);
        assert.equal(one(text, "python_pymalloc_up", { pid: String(big.pid) }), 0);
        assert.equal(one(text, "pymem_exporter_target_error_info", { pid: String(big.pid), reason: "timeout" }), 1);
        assert.equal(one(text, "pymem_exporter_scrape_partial"), 1);
        assert.equal(samples(text, "python_pymalloc_last_success_timestamp_seconds").length, 0);
      }
      const lines = ex.stderr().split("\n").filter((l) => l.includes(`process ${big.pid} `) && l.includes("timeout"));
      assert.equal(lines.length, 1, ex.stderr());
      assert.match(ex.stderr(), /worker \d+ killed: process \d+ gave no answer/);
    } finally {
      await ex.stop();
      await stopChild(big);
    }
  },
  { skip: once || (!python3 && "no python3 on PATH") || (!has(PROMTOOL) && "promtool not installed") },
);

test(
  "exporter ops: a process named with a newline, escape and bidi characters stays on one stderr line and one label",
  async () => {
    // A process names itself (/proc/self/comm: prctl PR_SET_NAME, setproctitle): its timeout is reported under
    // that name before any read, in the exe label and the stderr line. The line was written raw: a newline in the
    // name began a line of the process's choosing, an escape sequence reached the terminal or journal.
    const t = await startTarget(python3!, { PYMEM_TEST_COMM: 'python"\n\x1b[2J\u202e' }, 400_000);
    const comm = fs.readFileSync(`/proc/${t.pid}/comm`, "latin1");
    assert.ok(comm.includes("\n\x1b"), JSON.stringify(comm));
    const ex = await startExporter(["--listen", "127.0.0.1:0", "--pid", String(t.pid), "--timeout", "0.001"]);
    try {
      const text = await (await fetch(ex.url)).text();
      promtoolCheck(text);
      assert.equal(one(text, "pymem_exporter_target_error_info", { pid: String(t.pid), reason: "timeout" }), 1);
      for (const line of ex.stderr().split("\n").filter((l) => l !== "")) {
        assert.match(line, /^pymem exporter: /, JSON.stringify(ex.stderr()));
        // deno-lint-ignore no-control-regex
        assert.ok(!/[\x00-\x1f\x7f-\x9f\u202e]/.test(line), JSON.stringify(line));
      }
      assert.match(ex.stderr(), new RegExp(`process ${t.pid} \\(python"\\\\x0a\\\\x1b\\[2J`));
    } finally {
      await ex.stop();
      await stopChild(t);
    }
  },
  { skip: once || (!python3 && "no python3 on PATH") || (!has(PROMTOOL) && "promtool not installed") },
);

test("exporter ops: --no-cmd-label leaves the command line out of every series", async () => {
  const t = await startTarget(python3!);
  const ex = await startExporter([
    "--listen",
    "127.0.0.1:0",
    "--pid",
    String(t.pid),
    "--top-types",
    "2",
    "--no-cmd-label",
  ]);
  const ref = await startExporter(["--listen", "127.0.0.1:0", "--pid", String(t.pid), "--top-types", "0"]);
  try {
    // Pinned bytes by type come from their own worker, in the background: a later scrape has them.
    let text = "";
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(200)) {
      text = await (await fetch(ex.url)).text();
      if (samples(text, "python_pymalloc_pinned_by_type_bytes").length > 0) break;
    }
    promtoolCheck(text);
    assert.equal(one(text, "python_pymalloc_up", { pid: String(t.pid) }), 1);
    assert.ok(samples(text, "python_pymalloc_pinned_by_type_bytes").length > 0);
    assert.doesNotMatch(text, /\bcmd="/);
    // Without the flag the same process has it (the test can fail).
    assert.match(await (await fetch(ref.url)).text(), /\bcmd="python3 -c /);
  } finally {
    await ex.stop();
    await ref.stop();
    await stopChild(t);
  }
}, { skip: once || (!python3 && "no python3 on PATH") || (!has(PROMTOOL) && "promtool not installed") });

/** The worker processes of an exporter: its children running worker.ts / worker.js. */
function workersOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "latin1");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid && /exporter\/worker\.[jt]s/.test(fs.readFileSync(`/proc/${d}/cmdline`, "utf8"))) {
        out.push(Number(d));
      }
    } catch { /* gone */ }
  }
  return out;
}

test("exporter ops: a worker killed from outside (SIGKILL) counts as a restart and is replaced", async () => {
  const t = await startTarget(python3!);
  const ex = await startExporter([
    "--listen",
    "127.0.0.1:0",
    "--pid",
    String(t.pid),
    "--workers",
    "1",
    "--top-types",
    "0",
  ]);
  try {
    let text = await (await fetch(ex.url)).text();
    assert.equal(one(text, "pymem_exporter_worker_restarts_total"), 0);
    const workers = workersOf(ex.child.pid!);
    assert.equal(workers.length, 1, `workers of ${ex.child.pid}: ${workers}`);
    process.kill(workers[0], "SIGKILL");
    // The exit is noticed asynchronously; the next scrape starts a new worker and reads the target again.
    const until = Date.now() + 10_000;
    do {
      await sleep(200);
      text = await (await fetch(ex.url)).text();
    } while (one(text, "pymem_exporter_worker_restarts_total") < 1 && Date.now() < until);
    assert.equal(one(text, "pymem_exporter_worker_restarts_total"), 1);
    assert.equal(one(text, "python_pymalloc_up", { pid: String(t.pid) }), 1);
    assert.match(ex.stderr(), new RegExp(`worker ${workers[0]} ended unexpectedly \\(SIGKILL\\)`));
    assert.notEqual(workersOf(ex.child.pid!)[0], workers[0]);
  } finally {
    await ex.stop();
    await stopChild(t);
  }
}, { skip: once || (!python3 && "no python3 on PATH") });

test(
  "exporter ops: the textfile carries its own write time and failed writes; 'writing' is said only after DIR is checked",
  async () => {
    const dir = join(tmp, "textfile");
    fs.mkdirSync(dir);
    const file = join(dir, "pymem.prom");
    // A directory where pymem.prom goes: every rename over it fails until it is removed.
    fs.mkdirSync(file);
    const ex = await startExporter(["--textfile", dir, "--interval", "0.5", "--match", MARK, "--top-types", "0"]);
    try {
      const until = Date.now() + 20_000;
      while (!/textfile write failed/.test(ex.stderr()) && Date.now() < until) await sleep(100);
      assert.match(ex.stderr(), /textfile write failed: cannot write .*pymem\.prom/);
      fs.rmdirSync(file);
      while (!fs.statSync(file, { throwIfNoEntry: false })?.isFile() && Date.now() < until) await sleep(100);
      const t = Date.now() / 1000;
      const text = fs.readFileSync(file, "utf8");
      promtoolCheck(text);
      const written = one(text, "pymem_exporter_textfile_timestamp_seconds");
      assert.ok(Math.abs(written - t) < 5, `written at ${written}, read at ${t}`);
      assert.ok(one(text, "pymem_exporter_textfile_write_failures_total") >= 1, text);
    } finally {
      await ex.stop();
    }
    // A DIR that is not there: an error, and no "writing … every" line before it.
    const [cmd, pre] = command("lib/cli.ts");
    const r = spawnSync(cmd, [...pre, "exporter", "--textfile", join(tmp, "missing"), "--count", "1"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.notEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /no such directory|not a directory/);
    assert.doesNotMatch(r.stderr, /writing/);
  },
  { skip: once || (!has(PROMTOOL) && "promtool not installed") },
);

function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect(port, "127.0.0.1", () => (s.destroy(), r(true)));
    s.on("error", () => r(false));
  });
}

test(
  "exporter ops: SIGTERM to the documented `npx pymem exporter` launch frees the port within a few seconds",
  async () => {
    // npx (npm exec) → sh -c pymem … → node dist/lib/cli.js: SIGTERM to npx used to leave the last one running.
    const npx = spawn("npx", ["--prefix", ROOT, "pymem", "exporter", "--listen", "127.0.0.1:0"], {
      cwd: tmp,
      stdio: ["ignore", "ignore", "pipe"],
      detached: true,
    });
    children.push(npx);
    let err = "";
    npx.stderr!.setEncoding("utf8");
    npx.stderr!.on("data", (d: string) => (err += d));
    try {
      await npxLaunch(npx, () => err);
    } finally {
      // Whatever the outcome, nothing of this launch outlives the test (an orphan stays in npx's process group).
      try {
        process.kill(-npx.pid!, "SIGKILL");
      } catch { /* all gone */ }
    }
  },
  {
    skip: (runtime !== "node" && "npx launches Node: runs under the node runtime") || once ||
      (spawnSync("npx", ["--version"]).status !== 0 && "npx not found") ||
      (!has(join(ROOT, "dist/lib/cli.js")) && "dist/ not built (npx tsc -p .)"),
  },
);

async function npxLaunch(npx: ChildProcess, stderr: () => string): Promise<void> {
  let err = stderr();
  const deadline = Date.now() + 90_000;
  while (!/listening on/.test(err) && Date.now() < deadline && npx.exitCode === null) {
    await sleep(100);
    err = stderr();
  }
  const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(err);
  assert.ok(m, `npx pymem exporter did not start: ${err}`);
  const port = Number(m[1]);
  assert.equal(await portOpen(port), true);
  const t0 = performance.now();
  npx.kill("SIGTERM");
  while (await portOpen(port) && performance.now() - t0 < 10_000) await sleep(100);
  const ms = performance.now() - t0;
  assert.equal(
    await portOpen(port),
    false,
    `port ${port} still open ${ms.toFixed(0)} ms after SIGTERM to npx: ${stderr()}`,
  );
  assert.ok(ms < 5000, `${ms.toFixed(0)} ms`);
  // Nothing of that launch is left running, workers included: the process group npx led (zombies, dead and waiting
  // for an init that reaps them, do not count).
  await sleep(1000);
  const left = fs.readdirSync("/proc").filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const rest = fs.readFileSync(`/proc/${d}/stat`, "latin1").split(") ").pop()!.split(" ");
      return Number(rest[2]) === npx.pid && rest[0] !== "Z";
    } catch {
      return false;
    }
  });
  assert.deepEqual(left, [], "processes of the npx launch are still running");
}

test(
  "exporter ops: contrib/pymem-alerts.yml passes promtool check rules and its unit tests (promtool test rules)",
  () => {
    const c = spawnSync(PROMTOOL, ["check", "rules", "pymem-alerts.yml"], {
      cwd: join(ROOT, "contrib"),
      encoding: "utf8",
    });
    assert.equal(c.status, 0, c.stdout + c.stderr);
    const t = spawnSync(PROMTOOL, ["test", "rules", "pymem-alerts.test.yml"], {
      cwd: join(ROOT, "contrib"),
      encoding: "utf8",
    });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /SUCCESS/);
  },
  { skip: once || (!has(PROMTOOL) && "promtool not installed (Debian package prometheus)") },
);

test(
  "exporter ops: contrib/pymem-exporter.service passes systemd-analyze verify, keeps CAP_SYS_PTRACE, none of what hides processes",
  () => {
    const unit = fs.readFileSync(join(ROOT, "contrib/pymem-exporter.service"), "utf8");
    const settings = unit.split("\n").filter((l) => /^[A-Z]\w*=/.test(l));
    assert.ok(settings.includes("AmbientCapabilities=CAP_SYS_PTRACE"));
    assert.ok(settings.includes("CapabilityBoundingSet=CAP_SYS_PTRACE"));
    assert.ok(settings.some((l) => l.startsWith("SystemCallFilter=") && l.includes("process_vm_readv")));
    for (const bad of ["PrivateUsers=", "ProtectProc=invisible", "ProcSubset=pid", "MemoryDenyWriteExecute="]) {
      assert.ok(!settings.some((l) => l.startsWith(bad)), bad);
    }
    // verify checks that ExecStart's program exists: point it at this checkout's Node build.
    const copy = join(tmp, "pymem-exporter.service");
    fs.writeFileSync(
      copy,
      unit.replace("/usr/local/bin/pymem", `${process.execPath} ${join(ROOT, "dist/lib/cli.js")}`),
    );
    const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  },
  {
    skip: once || (spawnSync("systemd-analyze", ["--version"]).status !== 0 && "systemd-analyze not installed") ||
      (runtime !== "node" && "checked once, under the node runtime"),
  },
);

test("exporter ops: cleanup", async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }
  await sleep(100);
  fs.rmSync(tmp, { recursive: true, force: true });
});
