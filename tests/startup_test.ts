/**
 * Starting CPython (lib/startup.ts): a failed start is PymemError("INIT_FAILED") with CPython's message and the
 * process goes on; `home`; the host's signal handlers are left alone; free-threaded builds are recognised. Each
 * start runs in a child process of the same runtime (CPython starts once per process).
 * @module
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { assert, python, test } from "./_harness.ts";
import { selfCommand } from "./_self_spawn.ts";
import { cli } from "./_cli_spawn.ts";
import { attachPython, openPython, PymemError } from "../lib/mod.ts";
import { freeThreadedError, parseDebugOffsetsHead } from "../lib/core/debug-offsets.ts";
import { ElfFile } from "../lib/machine/elf.ts";
import { launchPrefix, targetInterpreter } from "./_launch.ts";

const py = await python();
const library = py.library;
const ext = import.meta.url.endsWith(".js") ? "js" : "ts";
const childScript = fileURLToPath(new URL(`./_startup_child.${ext}`, import.meta.url));

// deno-lint-ignore no-explicit-any
function child(plan: object, env: Record<string, string | undefined> = { ...process.env }): Record<string, any> {
  const [cmd, ...args] = selfCommand(childScript);
  const r = spawnSync(cmd, [...args, JSON.stringify(plan)], {
    env: env as Record<string, string>,
    encoding: "utf8",
    timeout: 120_000,
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) {
    throw new Error(
      `child produced no result (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`.slice(-3000),
    );
  }
  return JSON.parse(line.slice(7));
}

test("openPython({ library, home: '/nonexistent' }): INIT_FAILED with CPython's message, the process goes on, a second start refuses clearly", () => {
  const r = child({ options: { library, home: "/nonexistent" }, second: { library } });
  assert.equal(r.first.ok, false);
  assert.equal(r.first.name, "PymemError");
  assert.equal(r.first.code, "INIT_FAILED");
  assert.match(r.first.message, /CPython could not start .*(encodings|filesystem encoding)/);
  assert.ok(!r.first.message.includes("\n"), "one line");
  // CPython's own account (the path configuration it tried; 3.8–3.12 print one) is kept as the cause.
  if (r.first.cause !== null) assert.match(r.first.cause, /nonexistent/);
  assert.equal(r.second.ok, false);
  assert.equal(r.second.code, "INIT_FAILED");
  assert.match(r.second.message, /already failed to start in this process.*start a new process/);
});

test("a standard library that cannot be found (PYTHONHOME elsewhere) is INIT_FAILED, not an abort", () => {
  const r = child({ options: { library } }, { ...process.env, PYTHONHOME: "/nonexistent-stdlib" });
  assert.equal(r.first.ok, false);
  assert.equal(r.first.code, "INIT_FAILED");
});

test("CPython starts without installing signal handlers: the host's are left as they were", () => {
  const r = child({ options: { library } });
  assert.equal(r.first.ok, true, JSON.stringify(r.first));
  assert.deepEqual(r.after, r.before);
});

const minor = py.version.minor;
test("3.14+: the PEP 741 start (PyInitConfig) works and fails the same way", () => {
  const ok = child({ options: { library, startVia: "PyInitConfig" } });
  assert.equal(ok.first.ok, true, JSON.stringify(ok.first));
  const bad = child({ options: { library, home: "/nonexistent", startVia: "PyInitConfig" } });
  assert.equal(bad.first.code, "INIT_FAILED");
  assert.match(bad.first.message, /Py_InitializeFromInitConfig/);
}, { skip: minor < 14 ? `PyInitConfig (PEP 741) arrived in CPython 3.14; this is 3.${minor}` : false });

/** An interpreter whose sysconfig names the library under test, if one runs here (not under another loader). */
function interpreterOf(lib: string): { exe: string; basePrefix: string } | undefined {
  const script = "import sys, sysconfig, os; v = sysconfig.get_config_vars(); " +
    "print(sys.base_prefix); print(*[os.path.join(d or '', n or '') for d in (v.get('LIBDIR'), os.path.join(v.get('LIBDIR') or '', v.get('MULTIARCH') or '')) for n in (v.get('INSTSONAME'), v.get('LDLIBRARY'))], sep='\\n')";
  for (
    const exe of [
      `python3.${minor}`,
      ...["/usr/bin", "/usr/local/bin"].map((d) => `${d}/python3.${minor}`),
      `${process.env.HOME}/.pyenv/versions/${py.version.major}.${minor}.${py.version.micro}/bin/python3`,
    ]
  ) {
    try {
      const [base, ...paths] = execFileSync(exe, ["-c", script], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim().split("\n");
      for (const p of paths) {
        try {
          if (realpathSync(p) === realpathSync(lib)) return { exe, basePrefix: base };
        } catch { /* not there */ }
      }
    } catch { /* not runnable here */ }
  }
  return undefined;
}
const interp = interpreterOf(library);
const noInterp = interp ? false : `no interpreter for ${library} runs here (one under its own loader cannot be asked)`;

test(
  "found through an interpreter, CPython's home is that interpreter's base_prefix; options.home overrides it",
  () => {
    const env = { ...process.env };
    delete env.PYMEM_LIBPYTHON;
    const r = child({ options: { executable: interp!.exe } }, env);
    assert.equal(r.first.ok, true, JSON.stringify(r.first));
    assert.equal(r.first.basePrefix, interp!.basePrefix);
    const o = child({ options: { executable: interp!.exe, home: "/nonexistent" } }, env);
    assert.equal(o.first.code, "INIT_FAILED");
    assert.match(o.first.message, /CPython could not start/);
  },
  { skip: noInterp },
);

/**
 * A copy of the interpreter under test whose prefix holds a ':' (and a space): its executable copied, its standard
 * library linked. Undefined with the reason when that interpreter cannot start from there itself (3.8–3.10's
 * getpath.c joins the module search path with ':', so they cannot).
 */
function colonInstall(): { exe: string; prefix: string; dir: string } | string {
  const info = execFileSync(interp!.exe, [
    "-c",
    "import sys, os, sysconfig; print(os.path.realpath(sys.executable)); " +
    "print(sysconfig.get_path('stdlib'))",
  ], { encoding: "utf8" }).trim().split("\n");
  const dir = mkdtempSync(join(tmpdir(), "pymem a:b "));
  const prefix = join(dir, "py:3");
  mkdirSync(join(prefix, "bin"), { recursive: true });
  mkdirSync(join(prefix, "lib"));
  const exe = join(prefix, "bin", `python3.${minor}`);
  copyFileSync(info[0], exe);
  chmodSync(exe, 0o755);
  symlinkSync(info[1], join(prefix, "lib", `python3.${minor}`));
  const r = spawnSync(exe, ["-c", "import sys; print(sys.base_prefix)"], { encoding: "utf8" });
  if (r.status !== 0 || r.stdout.trim() !== prefix) {
    rmSync(dir, { recursive: true, force: true });
    return `CPython 3.${minor} cannot start from a prefix holding ':' itself (status ${r.status})`;
  }
  return { exe, prefix, dir };
}

test(
  "an interpreter installed under a path holding ':' opens: its prefix is passed whole, not as a home split at ':'",
  () => {
    const c = colonInstall();
    if (typeof c === "string") return assert.fail(c); // the skip below names these versions
    try {
      const env = { ...process.env };
      delete env.PYMEM_LIBPYTHON;
      const r = child({ options: { executable: c.exe } }, env);
      assert.equal(r.first.ok, true, JSON.stringify(r.first));
      assert.equal(r.first.basePrefix, c.prefix);
      // options.home keeps PYTHONHOME's meaning: prefix:exec_prefix, split at the first ':'.
      const o = child({ options: { executable: c.exe, home: c.prefix } }, env);
      assert.equal(o.first.code, "INIT_FAILED");
    } finally {
      rmSync(c.dir, { recursive: true, force: true });
    }
  },
  { skip: noInterp || (minor <= 10 && `CPython 3.${minor} cannot start from a prefix holding ':' itself (getpath.c)`) },
);

test("an explicit executable wins over PYMEM_LIBPYTHON (openPython and the CLI's --python)", () => {
  const env = { ...process.env, PYMEM_LIBPYTHON: "/nonexistent/libpython3.99.so.1.0" };
  const r = child({ options: { executable: interp!.exe } }, env);
  assert.equal(r.first.ok, true, JSON.stringify(r.first));
  assert.equal(r.first.version, minor);
  const info = cli(["info", "--json", "-", "--python", interp!.exe], { env });
  assert.equal(info.status, 0, info.stderr);
  assert.equal(realpathSync(JSON.parse(info.stdout).library), realpathSync(library));
  // The environment still counts when nothing is given.
  const none = child({ options: {} }, env);
  assert.equal(none.first.code, "LIBRARY_NOT_FOUND");
  assert.match(none.first.message, /nonexistent.*PYMEM_LIBPYTHON/);
}, { skip: noInterp });

test("options.home is checked before anything is loaded; refused on a running interpreter", async () => {
  await assert.rejects(openPython({ library, home: 5 as unknown as string }), TypeError);
  await assert.rejects(openPython({ library, home: "" }), RangeError);
  await assert.rejects(openPython({ library, home: "/a\0b" }), RangeError);
  await assert.rejects(
    openPython({ library, home: "/usr" }),
    (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE",
  );
});

test("before 3.13 there is no _Py_DebugOffsets: debugOffsets() is undefined", () => {
  assert.equal(py.debugOffsets(), undefined);
}, { skip: minor >= 13 && `3.${minor} has _Py_DebugOffsets (the next test)` });

const noDebugOffsets = minor < 13 &&
  `_Py_DebugOffsets (and its free_threaded flag) arrived in CPython 3.13; this is 3.${minor}`;
test("_Py_DebugOffsets (3.13+): the exact version, and free_threaded = false for this default (GIL) build", () => {
  const head = py.debugOffsets();
  assert.ok(head, "the cookie xdebugpy at _PyRuntime");
  assert.equal(head.freeThreaded, false);
  assert.equal(head.version, py.version.hex);
  // The same 24 bytes with free_threaded set are refused with the build named.
  const bytes = new Uint8Array(24);
  bytes.set(new TextEncoder().encode("xdebugpy"));
  new DataView(bytes.buffer).setBigUint64(8, BigInt(head.version), true);
  new DataView(bytes.buffer).setBigUint64(16, 1n, true);
  const ft = parseDebugOffsetsHead(bytes)!;
  assert.equal(ft.freeThreaded, true);
  const e = freeThreadedError("lib", ft.version);
  assert.equal(e.code, "UNSUPPORTED");
  assert.match(e.message, new RegExp(`free-threaded CPython 3\\.${minor}t build \\(Py_GIL_DISABLED\\)`));
  assert.equal(parseDebugOffsetsHead(new Uint8Array(24)), undefined);
}, { skip: noDebugOffsets });

/**
 * Debian ships no free-threaded (Py_GIL_DISABLED) build, so the refusal is tested on a copy of the library under
 * test whose `_Py_DebugOffsets.free_threaded` (the static head of `_PyRuntime`, 16 bytes past its cookie) is set to
 * 1 in the file: the bytes a 3.13t/3.14t/3.15t build carries, read by the real openPython and attach paths. The copy
 * keeps the library's file name (its soname), so an interpreter linked against it loads it from LD_LIBRARY_PATH.
 */
function freeThreadedCopy(): { dir: string; path: string } {
  const elf = ElfFile.open(library);
  let at: number | undefined;
  try {
    const runtime = elf.dynamicSymbol("_PyRuntime");
    assert.ok(runtime, `${library} exports _PyRuntime`);
    at = elf.vaddrToOffset(runtime.value);
  } finally {
    elf.close();
  }
  assert.ok(at !== undefined, "_PyRuntime's head is in the file (statically initialised)");
  const bytes = readFileSync(library);
  assert.equal(bytes.subarray(at, at + 8).toString("latin1"), "xdebugpy");
  assert.equal(bytes.readBigUInt64LE(at + 16), 0n, "the library under test is a default (GIL) build");
  bytes.writeBigUInt64LE(1n, at + 16);
  const dir = mkdtempSync(join(tmpdir(), "pymem-ft-"));
  const path = join(dir, basename(library));
  writeFileSync(path, bytes);
  return { dir, path };
}
const ftName = new RegExp(`is a free-threaded CPython 3\\.${minor}t build \\(Py_GIL_DISABLED\\)`);

test("a free-threaded library is refused by openPython before it starts; the default one then opens", () => {
  const ft = freeThreadedCopy();
  try {
    // The refused copy must leave the global symbol scope: left there, it interposed on the default library's own
    // calls and the second open was SIGSEGV (every runtime).
    const r = child({ options: { library: ft.path }, second: { library } });
    assert.equal(r.first.ok, false, JSON.stringify(r.first));
    assert.equal(r.first.code, "UNSUPPORTED");
    assert.match(r.first.message, ftName);
    assert.equal(r.second.ok, true, JSON.stringify(r.second));
    assert.equal(r.second.version, minor);
  } finally {
    rmSync(ft.dir, { recursive: true, force: true });
  }
}, { skip: noDebugOffsets });

/** An interpreter that loads the library under test dynamically (so LD_LIBRARY_PATH can swap in the copy). */
const linkedInterpreter = (() => {
  const exe = targetInterpreter();
  if (!exe || launchPrefix.length) return undefined;
  try {
    return execFileSync("ldd", [exe], { encoding: "utf8" }).includes(basename(library)) ? exe : undefined;
  } catch {
    return undefined;
  }
})();

test("a process running a free-threaded library is refused by attach, naming the build", async () => {
  const ft = freeThreadedCopy();
  const env: Record<string, string | undefined> = { ...process.env, LD_LIBRARY_PATH: ft.dir };
  delete env.PYTHONHOME;
  const target = spawn(linkedInterpreter!, ["-c", "import sys; print('up', flush=True); sys.stdin.read()"], {
    env: env as Record<string, string>,
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((ok, fail) => {
      target.stdout!.once("data", () => ok());
      target.once("exit", (code) => fail(new Error(`the target exited (${code}) before it was up`)));
    });
    const maps = readFileSync(`/proc/${target.pid}/maps`, "utf8");
    assert.ok(maps.includes(ft.path), "the target runs the free-threaded copy");
    await assert.rejects(
      attachPython(target.pid!),
      (e: unknown) =>
        e instanceof PymemError && e.code === "UNSUPPORTED" && ftName.test(e.message) &&
        e.message.includes(`process ${target.pid}`),
    );
  } finally {
    target.kill("SIGKILL");
    rmSync(ft.dir, { recursive: true, force: true });
  }
}, {
  skip: noDebugOffsets || (!linkedInterpreter &&
    "needs an interpreter of this CPython linked to its shared library (to load the patched copy in its place): " +
      (launchPrefix.length ? "this one runs under its own loader" : `${targetInterpreter() ?? "none known"} is not`)),
});

// Under Node, koffi calls C on its own stack; before pymem told CPython 3.14+ about it (lib/stackguard.ts), the
// trashcan deferred every deallocation it saw: `del junk[::2]` freed nothing.
const freed = (run: (c: string) => void, evalIn: (e: string) => unknown) => {
  run("import sys\njunk = [(i, float(i)) for i in range(10**4)]");
  const before = evalIn("sys.getallocatedblocks()") as number;
  run("del junk[::2]");
  return before - (evalIn("sys.getallocatedblocks()") as number);
};

test("containers are freed at once and deep recursion is a RecursionError (3.14+ stack guard)", () => {
  assert.ok(freed((c) => py.run(c), (e) => py.eval(e)) > 10_000);
  assert.throws(() => py.run("def f(): f()\nf()"), /RecursionError/);
});

test("in a sub-interpreter too: containers are freed at once and deep recursion is a RecursionError", () => {
  const sub = py.newInterpreter();
  try {
    assert.ok(freed((c) => sub.run(c), (e) => sub.eval(e)) > 10_000);
    assert.throws(() => sub.run("def f(): f()\nf()"), /RecursionError/);
  } finally {
    sub.close();
  }
}, { skip: minor < 12 && `pymem's isolated sub-interpreters need CPython 3.12; this is 3.${minor}` });

test("the CLI reports a start-up failure in one line and exits 1", () => {
  const [cmd, ...args] = selfCommand(fileURLToPath(new URL(`../lib/cli.${ext}`, import.meta.url)));
  const r = spawnSync(cmd, [...args, "heap"], {
    env: { ...process.env, PYMEM_LIBPYTHON: library, PYTHONHOME: "/nonexistent-stdlib", NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^pymem heap: CPython could not start/);
});
