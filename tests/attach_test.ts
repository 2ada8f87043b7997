/**
 * Live attach (lib/attach/attach.ts): a child Python process, matching the library under test (PYMEM_LIBPYTHON), is mapped
 * from outside and compared with its own sys._debugmallocstats(). Also: a target that keeps allocating, the
 * /proc/PID/mem path, sub-interpreters, and the errors (exit, not Python, PYTHONMALLOC=malloc, permission).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { assert, test } from "./_harness.ts";
import { attachPython, listPythonProcesses, PymemError } from "../lib/mod.ts";
import { remoteReadError } from "../lib/machine/remote.ts";
import { parseDebugMallocStats } from "../lib/obmalloc/stats.ts";
import { launched } from "./_launch.ts";
import { selfCommand } from "./_self_spawn.ts";
import { FRAGMENT, targetExecutable } from "./_attach_target.ts";

const ROOT = (() => {
  const up = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  return up.endsWith("/dist") ? dirname(up) : up;
})();

const target = targetExecutable();
const skip = target ? false : `no interpreter found for ${process.env.PYMEM_LIBPYTHON}`;
const minor = target ? Number(target.version.split(".")[1]) : 0;
const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-attach-"));

// Keeps allocating (a growing list of objects, nothing freed) and publishes sys.getallocatedblocks() each step.
const GROWING = `
import sys, os, time
out = sys.argv[1]
keep = []
i = 0
while True:
    keep.extend((j, float(j), b'y' * (j % 300)) for j in range(i, i + 5000))
    i += 5000
    n = sys.getallocatedblocks()
    with open(out + '.tmp', 'w') as f:
        f.write(str(n))
    os.replace(out + '.tmp', out)
    if i > 4_000_000:
        time.sleep(100)
`;

let seq = 0;
const children: ChildProcess[] = [];

async function waitFor(file: string, ok: (s: string) => boolean, child: ChildProcess, ms = 60_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    let s = "";
    try {
      s = fs.readFileSync(file, "utf8");
    } catch { /* not yet */ }
    if (ok(s)) return s;
    if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode}) before writing ${file}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function spawnTarget(script: string, env: Record<string, string> = {}): { child: ChildProcess; out: string } {
  const n = seq++;
  const file = join(tmp, `script${n}.py`);
  fs.writeFileSync(file, script);
  const out = join(tmp, `out${n}`);
  const [cmd, args] = launched(target!.exe, [file, out]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
  children.push(child);
  return { child, out };
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

/** A fragmented target that has printed its stats and waits; started once, shared by the tests that only read. */
let fragmented: Promise<{ child: ChildProcess; stats: ReturnType<typeof parseDebugMallocStats> }> | undefined;
function fragmentedTarget() {
  fragmented ??= (async () => {
    const { child, out } = spawnTarget(FRAGMENT);
    await waitFor(out + ".ready", (s) => s === "1", child);
    return { child, stats: parseDebugMallocStats(fs.readFileSync(out, "utf8")) };
  })();
  return fragmented;
}

test("attach: heap().sizeClasses equals the target's own sys._debugmallocstats() rows", async () => {
  const { child, stats } = await fragmentedTarget();
  const py = await attachPython(child.pid!);
  try {
    assert.equal(`${py.version.major}.${py.version.minor}.${py.version.micro}`, target!.version);
    assert.equal(py.version.minor, minor);
    assert.ok(fs.existsSync(py.library));
    const snap = py.heap();
    assert.equal(stats.pymalloc, true);
    assert.ok(snap.sizeClasses.length >= 10);
    const differ = snap.sizeClasses.filter((r, i) => JSON.stringify(r) !== JSON.stringify(stats.sizeClasses![i]));
    assert.deepEqual(
      snap.sizeClasses,
      stats.sizeClasses,
      `rows differ: ${JSON.stringify(differ)} vs ${
        JSON.stringify(stats.sizeClasses!.filter((r) => differ.some((d) => d.index === r.index)))
      }`,
    );
    assert.equal(snap.totals.arenas, stats.values["# arenas allocated current"]);
    assert.equal(snap.totals.bytesInUse, stats.values["# bytes in allocated blocks"]);
    assert.equal(snap.totals.bytesAvailable, stats.values["# bytes in available blocks"]);
    assert.equal(snap.walk.inconsistentPools, 0);
    assert.deepEqual(snap.warnings, []);
    const info = py.debugInfo;
    assert.equal(info.pid, child.pid);
    assert.ok(info.state.length >= 1 && info.state[0].how.length > 0);
    assert.ok(info.readCalls > 0);
    assert.match(info.version.how, minor >= 11 ? /Py_Version/ : /PY_VERSION/);
    if (minor >= 13) assert.match(info.version.how, /_Py_DebugOffsets/);
    if (info.stripped) assert.match(info.state[0].how, minor >= 12 ? /PyInterpreterState/ : /decoded/);
    // Pool headers are batched: far fewer system calls than pools.
    assert.ok(
      snap.readCalls < 80 + snap.totals.pools / 500,
      `${snap.readCalls} read calls for ${snap.totals.pools} pools`,
    );
  } finally {
    py.close();
  }
}, { skip });

test("attach: /proc/PID/mem gives the same map as process_vm_readv", async () => {
  const { child, stats } = await fragmentedTarget();
  const py = await attachPython(child.pid!, { readMode: "/proc/PID/mem" });
  try {
    assert.equal(py.debugInfo.readMode, "/proc/PID/mem");
    assert.deepEqual(py.heap().sizeClasses, stats.sizeClasses);
  } finally {
    py.close();
  }
}, { skip });

test("attach: listPythonProcesses() lists the target", async () => {
  const { child } = await fragmentedTarget();
  const rows = await listPythonProcesses();
  const row = rows.find((r) => r.pid === child.pid);
  assert.ok(row, `pid ${child.pid} in ${JSON.stringify(rows.map((r) => r.pid))}`);
  assert.equal(row.version, target!.version);
  assert.ok(row.rss! > 1 << 20);
  assert.ok(row.arenas! >= 1);
  assert.ok(row.pinned! >= 0 && row.pinned! <= row.arenas!);
}, { skip });

test("attach: a target that keeps allocating is read without a crash, within its before/after counts", async () => {
  const { child, out } = spawnTarget(GROWING);
  try {
    await waitFor(out, (s) => Number(s) > 200_000, child);
    const py = await attachPython(child.pid!);
    try {
      for (let round = 0; round < 5; round++) {
        const before = Number(fs.readFileSync(out, "utf8"));
        const snap = py.heap();
        const after = Number(fs.readFileSync(out, "utf8"));
        const ours = snap.totals.blocksInUse + (snap.info.rawAllocatedBlocks ?? 0);
        // One step (≈15k objects) may be published late on either side; 3.8's counter also counts raw blocks.
        const slack = 20_000;
        assert.ok(ours >= before - slack && ours <= after + slack, `round ${round}: ${before} <= ${ours} <= ${after}`);
        assert.ok(snap.walk.inconsistentPools < 50, `${snap.walk.inconsistentPools} inconsistent pools`);
      }
    } finally {
      py.close();
    }
    assert.equal(child.exitCode, null, "the target is still running");
  } finally {
    await kill(child);
  }
}, { skip });

test("attach: isolated sub-interpreters are listed with their own heap (3.12+)", async () => {
  const mod = minor >= 13 ? "_interpreters" : "_xxsubinterpreters";
  const { child, out } = spawnTarget(`
import sys, os, signal, ${mod} as interpreters
out = sys.argv[1]
iid = interpreters.create()
interpreters.run_string(iid, "keep = [float(i) for i in range(200000)]")
with open(out, 'w') as f:
    f.write(str(iid))
signal.pause()
`);
  try {
    const id = Number(await waitFor(out, (s) => s.length > 0, child));
    const py = await attachPython(child.pid!);
    try {
      const list = py.interpreters();
      assert.ok(list.length >= 2, JSON.stringify(list.map((i) => i.id)));
      assert.equal(list[0].isMain, true);
      const sub = list.find((i) => i.id === id)!;
      assert.ok(sub, `interpreter ${id} listed`);
      assert.equal(sub.ownObmalloc, true);
      const heaps = py.heaps();
      assert.ok(heaps.length >= 2);
      const mine = heaps.find((h) => h.interp?.id === id)!.snapshot;
      assert.notEqual(py.debugInfo.state.find((s) => s.interp === sub.interp)!.address, py.debugInfo.state[0].address);
      const floats = mine.sizeClasses.find((r) => r.size === 32 || r.size === 24)!;
      assert.ok(mine.totals.blocksInUse >= 200_000 && floats.blocksInUse >= 199_000, `${mine.totals.blocksInUse}`);
    } finally {
      py.close();
    }
  } finally {
    await kill(child);
  }
}, { skip: skip || (minor < 12 && "sub-interpreters with their own obmalloc arrived in CPython 3.12") });

test("attach: a target that exits mid-way gives a clear ATTACH error", async () => {
  const { child, out } = spawnTarget(FRAGMENT);
  await waitFor(out + ".ready", (s) => s === "1", child);
  const py = await attachPython(child.pid!);
  try {
    await kill(child);
    assert.throws(
      () => py.heap(),
      (e: unknown) =>
        e instanceof PymemError && e.code === "ATTACH" && /exited|not readable|no such process/.test(e.message),
    );
  } finally {
    py.close();
  }
  await assert.rejects(
    attachPython(child.pid!),
    (e: unknown) => e instanceof PymemError && e.code === "ATTACH" && /no such process|exited/.test(e.message),
  );
}, { skip });

test("remote reads: many equal ranges, some unmapped, give the same bytes and flags through both read paths", async () => {
  // This very process: the runtime executable's ELF header is mapped at the start of its first mapping, and the file
  // holds the same bytes. Page 0x1000 is never mapped (below mmap_min_addr).
  const exe = fs.realpathSync(process.execPath);
  const line = fs.readFileSync("/proc/self/maps", "utf8").split("\n").find((l) =>
    l.endsWith(` ${exe}`) && / 00000000 /.test(l)
  )!;
  assert.ok(line, `no mapping of ${exe} at offset 0`);
  const base = parseInt(line.split("-")[0], 16);
  const header = new Uint8Array(fs.readFileSync(exe).subarray(0, 64));
  const n = 5000, length = 16; // five batches of at most 1024 iovecs: from 4096 ranges, two threads read them
  const addresses = new Float64Array(n);
  for (let i = 0; i < n; i++) addresses[i] = i % 700 === 350 ? 0x1000 : base + 16 * (i % 4);
  const { RemoteMemory } = await import("../lib/machine/remote.ts");
  for (const mode of ["process_vm_readv", "/proc/PID/mem"] as const) {
    const mem = await RemoteMemory.open(process.pid, base, mode);
    try {
      const { bytes, ok } = mem.readUniform(addresses, length);
      for (let i = 0; i < n; i++) {
        const bad = i % 700 === 350;
        assert.equal(ok[i], bad ? 0 : 1, `${mode}: range ${i}`);
        if (!bad) {
          assert.deepEqual(
            bytes.subarray(i * length, (i + 1) * length),
            header.subarray(16 * (i % 4), 16 * (i % 4) + length),
            `${mode}: range ${i}`,
          );
        }
      }
      assert.equal(mem.parallelReads, mode === "process_vm_readv" && os.availableParallelism() >= 2 ? 1 : 0);
    } finally {
      mem.close();
    }
  }
});

test("attach: a process that is not Python is refused", async () => {
  const child = spawn("sleep", ["100"]);
  children.push(child);
  try {
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(
      attachPython(child.pid!),
      (e: unknown) => e instanceof PymemError && e.code === "ATTACH" && /not a CPython process/.test(e.message),
    );
  } finally {
    await kill(child);
  }
  await assert.rejects(attachPython(0), RangeError);
});

test("attach: a process whose CPython is finalized (an embedder after close()) says so, not 'wrong offsets'", async () => {
  const js = import.meta.url.endsWith(".js");
  const script = fileURLToPath(new URL(js ? "./_finalized_child.js" : "./_finalized_child.ts", import.meta.url));
  const [cmd, ...args] = selfCommand(script);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"], env: process.env });
  try {
    await new Promise((r, j) => {
      child.stdout!.once("data", r);
      child.once("exit", (c) => j(new Error(`child exited ${c}`)));
    });
    const a = await attachPython(child.pid!);
    try {
      // 3.12+ keep the interpreter list in _PyRuntime: empty now. (3.8–3.11: static state, whatever it holds.)
      if (a.version.minor >= 12) {
        assert.throws(() => a.heap(), (e: unknown) => {
          assert.ok(e instanceof PymemError && e.code === "INVALID_STATE", String(e));
          assert.match(e.message, /not running \(not initialized yet, or finalized\)/);
          return true;
        });
      }
    } finally {
      a.close();
    }
  } finally {
    child.kill("SIGKILL");
  }
});

test("attach: PYTHONMALLOC=malloc is reported as having no obmalloc heap", async () => {
  const { child, out } = spawnTarget(
    "import sys, signal\nx = [float(i) for i in range(1000)]\nopen(sys.argv[1], 'w').write('1')\nsignal.pause()\n",
    { PYTHONMALLOC: "malloc" },
  );
  try {
    await waitFor(out, (s) => s === "1", child);
    const py = await attachPython(child.pid!);
    try {
      assert.equal(py.allocatorName(), "malloc");
      assert.throws(
        () => py.heap(),
        (e: unknown) =>
          e instanceof PymemError && e.code === "UNSUPPORTED" && /does not use obmalloc/.test(e.message) &&
          /PYTHONMALLOC=malloc/.test(e.message),
      );
    } finally {
      py.close();
    }
  } finally {
    await kill(child);
  }
}, { skip });

test("attach: permission errors say what to change", () => {
  const other = remoteReadError(42, 1, "attaching", { scope: 0, myUid: 1000, targetUid: 0 });
  assert.equal(other.code, "PERMISSION");
  assert.match(other.message, /uid 0 and you are uid 1000/);
  assert.match(other.message, /CAP_SYS_PTRACE/);
  const yama = remoteReadError(42, 1, "attaching", { scope: 1, myUid: 1000, targetUid: 1000 });
  assert.match(yama.message, /ptrace_scope is 1/);
  assert.match(yama.message, /echo 0 \| sudo tee \/proc\/sys\/kernel\/yama\/ptrace_scope/);
  assert.match(remoteReadError(42, 1, "x", { scope: 3, myUid: 1, targetUid: 1 }).message, /reboot/);
  assert.match(remoteReadError(42, 13, "x", { scope: undefined, myUid: 1, targetUid: 1 }).message, /EACCES.*seccomp/);
  assert.equal(remoteReadError(42, 3, "reading").code, "ATTACH");
  assert.match(remoteReadError(42, 3, "reading").message, /exited/);
}, { skip });

test("attach: another user's process, for real, gives PERMISSION (as nobody, through setpriv)", async () => {
  const { child } = await fragmentedTarget();
  const bun = join(ROOT, "node_modules", ".bin", "bun");
  const script = `import { attachPython } from ${JSON.stringify(join(ROOT, "lib", "mod.ts"))};\n` +
    `try { await attachPython(${child.pid}); console.log("attached"); } catch (e) { console.log(e.code + ": " + e.message); }`;
  const file = join(tmp, "as-nobody.ts");
  fs.writeFileSync(file, script);
  fs.chmodSync(tmp, 0o755);
  fs.chmodSync(file, 0o644);
  const res = execFileSync("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    bun,
    file,
  ], { encoding: "utf8", env: { ...process.env, HOME: tmp } });
  assert.match(res, /^PERMISSION: /, res);
  assert.match(res, /uid 0 and you are uid 65534|ptrace_scope|CAP_SYS_PTRACE/);
}, {
  skip: skip || (process.getuid?.() !== 0 && "needs root to run a child as another user") ||
    (!fs.existsSync("/usr/bin/setpriv") && "setpriv not found"),
});

test("attach: cleanup", async () => {
  for (const c of children) await kill(c);
  fs.rmSync(tmp, { recursive: true, force: true });
});
