// Regressions of the adversarial pass (issue 13): each crash, hang, wrong result and unclear error it found, and
// their siblings. Scenarios that break the process they run in go to a child (tests/_hardening_child.ts).
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { type AttachOptions, attachPython, type OpenOptions, openPython, PymemError, PythonError } from "../lib/mod.ts";
import { cli } from "./_cli_spawn.ts";
import { MAX_VIEW } from "../lib/core/native.ts";
import { launchPrefix, runtimeCommand } from "./_launch.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

// deno-lint-ignore no-explicit-any
type Result = Record<string, any>;

/** Run one scenario of tests/_hardening_child.ts in a fresh process of this runtime; fails on a signal or no result. */
function child(scenario: string, timeout = 60_000, env: Record<string, string> = {}): Result {
  const js = import.meta.url.endsWith(".js");
  const script = fileURLToPath(new URL(js ? "./_hardening_child.js" : "./_hardening_child.ts", import.meta.url));
  const g = globalThis as unknown as { Bun?: unknown; Deno?: unknown };
  // Under a dynamic loader (Debian sid's CPythons) the child starts the same way: tests/_launch.ts.
  const [cmd, args] = runtimeCommand(g.Bun ? ["run", script] : g.Deno ? ["run", "-A", "--no-check", script] : [script]);
  const r = spawnSync(cmd, [...args, scenario], {
    encoding: "utf8",
    timeout,
    maxBuffer: 16 << 20,
    env: { ...process.env, ...env },
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(
    line,
    `scenario ${scenario}: no result (status ${r.status}, signal ${r.signal}):\n${(r.stdout + r.stderr).slice(-3000)}`,
  );
  return JSON.parse(line!.slice(7));
}

const MALLOC_DEBUG = "/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0";

test("py.mallocHeap() under glibc's malloc-debug library and MALLOC_CHECK_: refused, or sees what is allocated", () => {
  // dlsym("malloc") gives libc's malloc while the preloaded debug library wraps it: with MALLOC_CHECK_ the walk read
  // a heap the program no longer allocated from (50 MB allocated, +0 bytes in use).
  const r = child("mallocHeap50MB", 60_000, { LD_PRELOAD: MALLOC_DEBUG, MALLOC_CHECK_: "3" });
  if (r.error) {
    assert.equal(r.error.code, "UNSUPPORTED", JSON.stringify(r.error));
    assert.match(r.error.message, /(wrapped|replaced) by .*libc_malloc_debug/);
  } else {
    assert.ok(r.grew >= 50_000_000, `in use grew by ${r.grew} bytes for 50 MB allocated`);
  }
}, {
  skip: (!existsSync(MALLOC_DEBUG) && `${MALLOC_DEBUG} not installed`) ||
    (launchPrefix.length > 0 && "this CPython runs under another glibc's loader, not the debug library's"),
});

const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

test("py.mallocTrim() under jemalloc is refused naming it; py.addressSpace() says why malloc is not read", () => {
  const r = child("mallocTrimReplaced", 60_000, { LD_PRELOAD: JEMALLOC });
  assert.equal(r.trim.ok, false, JSON.stringify(r.trim));
  assert.equal(r.trim.error.code, "UNSUPPORTED");
  assert.match(r.trim.error.message, /(is|replaced by) jemalloc \(.*libjemalloc/);
  // (Where dlsym("malloc") is jemalloc the locator says "is jemalloc", else it finds jemalloc defining malloc.)
  // The address space is still attributed: jemalloc's memory is "anonymous", and the reason is given.
  assert.equal(r.space.ok, true, JSON.stringify(r.space));
  assert.match(r.space.value.refused, /(is|replaced by) jemalloc \(.*libjemalloc/);
  assert.equal(r.space.value.categories.mallocThreads.rss + r.space.value.categories.mallocMain.rss, 0);
  assert.ok(r.space.value.categories.anonymous.rss > 0);
}, {
  skip: (!existsSync(JEMALLOC) && `${JEMALLOC} is not installed (apt-get install libjemalloc2)`) ||
    (launchPrefix.length > 0 && "this CPython runs under another glibc's loader, not jemalloc's"),
});

test("an exception raised while __main__ has no __builtins__ is a PythonError, not a crash", () => {
  const r = child("noBuiltins");
  assert.equal(r.fatal, undefined);
  assert.deepEqual([r.cleared.error.type, r.cleared.error.value], ["ValueError", "1"]);
  assert.equal(r.evalCleared.error.name, "PythonError");
  assert.equal(r.deleted.error.type, "ZeroDivisionError");
  assert.equal(r.replaced.error.name, "PythonError");
});

test("pymem heap -c with an exception and no builtins exits 1 with the Python error", () => {
  const r = cli(["heap", "-c", "del __builtins__; 1/0"]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /ZeroDivisionError/);
});

test("an exception whose __str__ raises, or with traceback unimportable, keeps its type and what can be read", async () => {
  const py = await python();
  py.run("class StrRaises(Exception):\n    def __str__(self): raise RuntimeError('no')\n");
  assert.throws(
    () => py.run("raise StrRaises()"),
    (e: unknown) =>
      e instanceof PythonError && e.type === "StrRaises" && /str\(\) failed/.test(e.value) &&
      /StrRaises/.test(e.message),
  );
  py.run("import sys\n_saved_tb = sys.modules.pop('traceback', None)\nsys.modules['traceback'] = None\n");
  try {
    assert.throws(
      () => py.run("raise OSError(2, 'gone')"),
      (e: unknown) =>
        e instanceof PythonError && e.type === "FileNotFoundError" && e.value === "[Errno 2] gone" &&
        e.traceback === "",
    );
  } finally {
    py.run("del sys.modules['traceback']\nif _saved_tb is not None: sys.modules['traceback'] = _saved_tb\n");
  }
  assert.throws(() => py.run("1/0"), (e: unknown) => e instanceof PythonError && /Traceback/.test(e.traceback));
});

test("virtualFree releases only live virtualAlloc mappings, with their size; everything else is refused", async () => {
  const py = await python();
  const a = py.allocator();
  const invalid = (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE";
  const p = a.virtualAlloc(1 << 16);
  assert.throws(() => a.virtualFree(p + 1n, 1 << 16), invalid);
  assert.throws(() => a.virtualFree(p, 1 << 17), RangeError);
  assert.throws(() => a.virtualFree(p, 1 << 12), RangeError);
  const arena = py.heap().arenas[Symbol.iterator]().next().value!.address;
  assert.throws(() => a.virtualFree(BigInt(arena), 1 << 18), invalid);
  py.view(p, 1 << 16).fill(7); // still mapped after the refusals
  a.virtualFree(p, 1 << 16);
  assert.throws(() => a.virtualFree(p, 1 << 16), invalid); // double free
  py.run("x = [str(i) for i in range(20000)]\ndel x"); // the heap is intact
});

test("lengths beyond what the runtime can view are a RangeError naming the limit, before anything is allocated", async () => {
  const py = await python();
  const limit = MAX_VIEW;
  const named = (e: unknown) => e instanceof RangeError && e.message.includes(String(limit));
  const over = limit + 1;
  if (over > Number.MAX_SAFE_INTEGER) {
    // Deno and Node 22+ view up to 2^53−1: a view of 8 GiB is made without touching the memory.
    assert.equal(py.view(1n << 40n, 2 ** 33).length, 2 ** 33);
    return;
  }
  assert.throws(() => py.view(1n << 40n, over), named);
  const blocks = py.allocator().getAllocatedBlocks();
  assert.throws(() => py.raw.buffer(over), named);
  assert.throws(() => py.mem.buffer(over), named);
  assert.throws(() => py.allocator().allocBuffer({ size: over, align: 64 }), named);
  assert.ok(Math.abs(py.allocator().getAllocatedBlocks() - blocks) < 50);
  assert.equal(py.view(1n << 40n, limit).length, limit); // the limit itself is fine
});

test("a sub-interpreter's allocator allocates from that interpreter's heap, and is CLOSED once it is", async () => {
  const py = await python();
  const modern = py.version.minor >= 12;
  const sub = py.newInterpreter(modern ? "isolated" : "legacy");
  const a = sub.allocator();
  const main = py.allocator(hostOf(py).native.api.PyInterpreterState_Main());
  const subBefore = a.getInterpreterAllocatedBlocks();
  const mainBefore = main.getInterpreterAllocatedBlocks();
  const layout = { size: 48, align: 16 };
  const blocks = Array.from({ length: 2000 }, () => a.alloc(layout));
  const buf = a.allocBuffer({ size: 64, align: 8 });
  buf.bytes.fill(1);
  const subGrew = a.getInterpreterAllocatedBlocks() - subBefore;
  const mainGrew = main.getInterpreterAllocatedBlocks() - mainBefore;
  assert.ok(subGrew >= 2000, `the sub's heap grew by ${subGrew}`);
  if (modern) assert.ok(mainGrew < 200, `main's heap grew by ${mainGrew} (its own obmalloc should have served them)`);
  for (const p of blocks.slice(0, 1000)) a.dealloc(p, layout);
  assert.ok(a.getInterpreterAllocatedBlocks() - subBefore < 1100);
  sub.close(); // frees the other 1,000 and the buffer into the sub's heap before it ends
  const closed = (e: unknown) => e instanceof PymemError && e.code === "CLOSED";
  assert.equal(buf.freed, true);
  assert.throws(() => a.alloc(layout), closed);
  assert.throws(() => a.dealloc(blocks[1500], layout), closed);
  assert.throws(() => a.allocBuffer(layout), closed);
  assert.throws(() => a.virtualAlloc(4096), closed);
  assert.throws(() => a.virtualFree(4096n, 4096), closed);
  assert.throws(() => a.getAllocatedBlocks(), closed);
  assert.throws(() => a.getInterpreterAllocatedBlocks(), closed);
  assert.throws(() => a.heap(), closed);
  py.run("x = [str(i) for i in range(20000)]\ndel x"); // main's heap is intact
});

test("closing a handle inside another handle's withGIL is refused, not a hang or an abort", () => {
  const r = child("closeInOthersGil", 30_000);
  assert.equal(r.fatal, undefined);
  assert.equal(r.ownerInSecond.error.code, "INVALID_STATE");
  assert.equal(r.secondInOwner.error.code, "INVALID_STATE");
  assert.equal(r.still.value, 42);
  assert.equal(r.closed, true);
});

test("the CLI exits after Python code closed stderr (koffi's exit handler hung), and a closed stdout is a one-line error", () => {
  const closedErr = cli(["heap", "-c", "import os; os.close(2)"], { timeout: 30_000 });
  assert.equal(closedErr.status, 0, "exited in time with status 0");
  assert.match(closedErr.stdout, /arenas/i);
  const closedOut = cli(["heap", "-c", "import os; os.close(1)"], { timeout: 30_000 });
  assert.equal(closedOut.status, 1);
  assert.match(closedOut.stderr, /^pymem heap: .*(closed|EBADF).*\n$/);
  const both = cli(["heap", "-c", "import os; os.close(1); os.close(2)"], { timeout: 30_000 });
  assert.equal(both.status, 1);
});

test("layout.align is checked as a power of two exactly: 2^49 + 1 and its kin are refused", async () => {
  const py = await python();
  const a = py.allocator();
  for (const align of [2 ** 49 + 1, 2 ** 52 + 2, 2 ** 30 + 1, 2 ** 53 - 1, 3, 6, 0, -2, 2 ** 53, 2 ** 60]) {
    assert.throws(() => a.alloc({ size: 8, align }), RangeError, `align ${align}`);
  }
  for (const align of [1, 2, 4096, 2 ** 20]) {
    const p = a.alloc({ size: 8, align });
    assert.equal(p % BigInt(align), 0n);
    a.dealloc(p, { size: 8, align });
  }
});

test("eval returns ints of any size as bigints, past CPython's 4,300-digit limit and whatever __str__ a subclass has", async () => {
  const py = await python();
  assert.equal(py.eval("10**5000"), 10n ** 5000n);
  assert.equal(py.eval("-(7**9000)"), -(7n ** 9000n));
  assert.equal(py.eval("2**64"), 2n ** 64n);
  assert.equal(py.eval("-2**63"), -(2n ** 63n));
  py.run("class Loud(int):\n    def __str__(self): return 'not a number'\n    __repr__ = __str__\n");
  assert.equal(py.eval("Loud(2**70)"), 2n ** 70n);
  assert.equal(py.eval("Loud(-5)"), -5);
  assert.equal(py.eval("True"), true);
});

/** Libraries openPython must refuse, from the ldconfig cache: another CPython's libpython, and two that are not one. */
const refusable = await (async () => {
  const py = await python();
  let ldconfig = "";
  try {
    ldconfig = execFileSync("ldconfig", ["-p"], { encoding: "utf8" });
  } catch { /* no ldconfig: nothing to try */ }
  const sonames = [...ldconfig.matchAll(/^\s+(lib\S+\.so\.\d+(?:\.\d+)?) \(/gm)].map((m) => m[1]);
  const mine = py.library.slice(py.library.lastIndexOf("/") + 1);
  return [
    ...sonames.filter((n) => /^libpython3\.\d+\.so\.1\.0$/.test(n) && n !== mine).slice(0, 1),
    ...sonames.filter((n) => n === "libsqlite3.so.0" || n === "libbz2.so.1"),
  ];
})();

test("a library openPython refuses (another libpython, not a libpython) is not left loaded", () => {
  const libraries = refusable;
  const r = child("refusedUnloaded", 60_000, { HARDEN_LIBRARIES: JSON.stringify(libraries) });
  assert.equal(r.fatal, undefined);
  for (const lib of libraries) {
    // Another libpython is refused for what it is (LIBRARY_CONFLICT); a library that is no libpython is not found.
    assert.equal(r[lib].code, /^libpython/.test(lib) ? "LIBRARY_CONFLICT" : "LIBRARY_NOT_FOUND", lib);
    if (!r[lib].before) assert.equal(r[lib].after, false, `${lib} is still mapped after being refused`);
  }
}, { skip: refusable.length === 0 && "the ldconfig cache lists no other libpython3.X, libsqlite3 or libbz2 to try" });

test("options are checked: unknown or ill-typed ones are a TypeError, out-of-range ones a RangeError", async () => {
  await python();
  const rejects = (p: Promise<unknown>, type: typeof TypeError | typeof RangeError, what: string) =>
    assert.rejects(p, (e: unknown) => e instanceof type && e.constructor === type, what);
  const o = (x: unknown) => x as OpenOptions;
  await rejects(openPython(o("/usr/lib/libpython3.12.so")), TypeError, "a string");
  await rejects(openPython(o(null)), TypeError, "null");
  await rejects(openPython(o([])), TypeError, "an array");
  await rejects(openPython(o({ allocator: 5 })), TypeError, "allocator: 5");
  await rejects(openPython(o({ allocator: "jemalloc" })), RangeError, "an unknown allocator name");
  await rejects(openPython(o({ allocator: "toString" })), RangeError, "an inherited key is no allocator name");
  await rejects(openPython(o({ allocator: { library: "" } })), RangeError, "library: ''");
  await rejects(openPython(o({ library: "" })), RangeError, "library: ''");
  await rejects(openPython(o({ library: 7 })), TypeError, "library: 7");
  await rejects(openPython(o({ executable: false })), TypeError, "executable: false");
  await rejects(openPython(o({ libary: "x" })), TypeError, "a misspelt option");
  const a = (x: unknown) => x as AttachOptions;
  const pid = process.pid;
  await rejects(attachPython(pid, a({ readMode: "bogus" })), RangeError, "readMode");
  await rejects(attachPython(pid, a({ retries: "x" })), TypeError, "retries: 'x'");
  await rejects(attachPython(pid, a({ retries: -1 })), RangeError, "retries: -1");
  await rejects(attachPython(pid, a({ retries: 1.5 })), RangeError, "retries: 1.5");
  await rejects(attachPython(pid, a({ retry: 1 })), TypeError, "a misspelt option");
  await rejects(attachPython(pid, a("fast")), TypeError, "a string");
  await rejects(attachPython("1" as unknown as number), TypeError, "pid '1'");
  await rejects(attachPython(2 ** 40), RangeError, "pid beyond PID_MAX_LIMIT");
});

test("CLI: SystemExit codes follow Python (a str or float code is printed and exits 1), bad numbers are usage errors", () => {
  const status = (code: string) => cli(["heap", "-c", code], { timeout: 60_000 });
  const s0 = status('raise SystemExit("0")');
  assert.deepEqual([s0.status, s0.stderr], [1, "0\n"]);
  const s3 = status("raise SystemExit(3.0)");
  assert.deepEqual([s3.status, s3.stderr], [1, "3.0\n"]);
  assert.equal(status("raise SystemExit(True)").status, 1);
  assert.equal(status("import sys; sys.exit(4)").status, 4);
  assert.equal(status("raise SystemExit(2**70)").status, 255);
  const none = status("raise SystemExit(None)");
  assert.equal(none.status, 0);
  assert.match(none.stdout, /arenas/i);
  const usage = (args: string[], pattern: RegExp) => {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split("\n").length, 2, "one line");
  };
  usage(["heap", "--worst", "-1"], /--worst needs a whole number ≥ 0, got "-1"/);
  usage(["attach", "1", "--watch", "1e10"], /--watch can wait at most 2147483 seconds/);
  usage(["attach", "99999999999"], /not a process id/);
  usage(["bench", "--compare", "missing.json", "missing2.json"], /no such file: missing\.json/);
});

test("heap() under an allocator that is not pymalloc is UNSUPPORTED in-process, as attach says, not 0 arenas", () => {
  const r = cli(["heap", "--allocator", "malloc", "-c", "x = [str(i) for i in range(1000)]"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^pymem heap: .*does not use obmalloc here: its object allocator is malloc/);
  assert.equal(r.stdout, "");
});

/** Start the child scenario `holdLibrary` on `library` and resolve once it is ready to be read. */
async function holdLibrary(library: string): Promise<ChildProcess> {
  const js = import.meta.url.endsWith(".js");
  const script = fileURLToPath(new URL(js ? "./_hardening_child.js" : "./_hardening_child.ts", import.meta.url));
  const g = globalThis as unknown as { Bun?: unknown; Deno?: unknown };
  // Under a dynamic loader (Debian sid's CPythons) the child starts the same way: tests/_launch.ts.
  const [cmd, args] = runtimeCommand(g.Bun ? ["run", script] : g.Deno ? ["run", "-A", "--no-check", script] : [script]);
  const c = spawn(cmd, [...args, "holdLibrary"], {
    env: { ...process.env, HARDEN_LIBRARY: library },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise<void>((resolve, reject) => {
    let out = "";
    c.stdout!.on("data", (d) => (out += d, out.includes("READY") && resolve()));
    c.on("exit", (code) => reject(new Error(`the target exited (${code}) before it was ready: ${out}`)));
    timer = setTimeout(() => reject(new Error("the target was not ready within 30 s")), 30_000);
  }).finally(() => clearTimeout(timer));
  return c;
}

test("attach reads a process whose libpython was deleted on disk (through /proc/PID/map_files)", async () => {
  const py = await python();
  const dir = mkdtempSync(join(tmpdir(), "pymem-deleted-"));
  const copy = join(dir, basename(py.library));
  copyFileSync(py.library, copy);
  const target = await holdLibrary(copy);
  try {
    rmSync(dir, { recursive: true });
    const maps = readFileSync(`/proc/${target.pid}/maps`, "utf8");
    assert.ok(maps.includes(`${copy} (deleted)`), "the target maps the deleted copy");
    await using remote = await attachPython(target.pid!);
    assert.equal(remote.library, copy);
    assert.deepEqual([remote.version.major, remote.version.minor, remote.version.micro], [
      py.version.major,
      py.version.minor,
      py.version.micro,
    ]);
    const heap = remote.heap();
    assert.ok(heap.totals.arenas > 0 && heap.totals.blocksInUse > 20000, `${heap.totals.blocksInUse} blocks`);
  } finally {
    target.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("attach to a zombie says it has exited, not 'not a CPython process'", async () => {
  // The shell starts a short-lived child, prints its pid and becomes `sleep`, which never reaps it. The child lives
  // 0.3 s, so that it ends after the exec (a shell still running would reap it).
  const sh = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    const pid = await new Promise<number>((resolve) =>
      sh.stdout!.once("data", (d) => resolve(Number(String(d).trim())))
    );
    for (let i = 0; i < 250 && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await assert.rejects(
      attachPython(pid),
      (e: unknown) => e instanceof PymemError && e.code === "ATTACH" && /zombie|exited/.test(e.message),
    );
  } finally {
    sh.kill("SIGKILL");
  }
});

test("AttachedPython.heap(interp) checks its argument's type first: TypeError/RangeError that say what was expected", async () => {
  await python();
  await using remote = await attachPython(process.pid);
  const clear = (e: unknown) =>
    (e instanceof TypeError || e instanceof RangeError) && /interp/.test(e.message) && !/0xx/.test(e.message);
  assert.throws(() => remote.heap("x" as unknown as bigint), (e: unknown) => e instanceof TypeError && clear(e));
  assert.throws(() => remote.heap(5 as unknown as bigint), (e: unknown) => e instanceof TypeError && clear(e));
  assert.throws(() => remote.heap(-1n), (e: unknown) => e instanceof RangeError && clear(e));
  assert.ok(remote.heap().totals.arenas > 0);
});

test("setAllocator / setArenaAllocator refuse function pointers outside executable memory (a heap address, 1n)", async () => {
  const py = await python();
  const current = py.getAllocator("mem");
  const heapAddress = py.raw.malloc(64);
  try {
    for (const bad of [1n, heapAddress, 0xffff_ffff_ffff_fff0n]) {
      assert.throws(
        () => py.setAllocator("mem", { ...current, free: bad }),
        (e: unknown) => e instanceof RangeError && /executable/.test(e.message),
      );
      const arena = py.getArenaAllocator();
      assert.throws(
        () => py.setArenaAllocator({ ...arena, alloc: bad }),
        (e: unknown) => e instanceof RangeError && /executable/.test(e.message),
      );
    }
  } finally {
    py.raw.free(heapAddress);
  }
  py.setAllocator("mem", current); // the allocator it has is accepted, and changes nothing
  assert.deepEqual(py.getAllocator("mem"), current);
  py.run("x = [str(i) for i in range(1000)]\ndel x");
});

test("a libpython replaced or deleted on disk after loading: its symbols are still read from the loaded file", async () => {
  const py = await python();
  const dir = mkdtempSync(join(tmpdir(), "pymem-replaced-"));
  try {
    const copy = join(dir, basename(py.library));
    copyFileSync(py.library, copy);
    // Another ELF file goes where the library was: the test's own runtime binary is one that surely exists.
    const r = child("replacedOnDisk", 60_000, { HARDEN_LIBRARY: copy, HARDEN_OTHER: process.execPath });
    // The copy is byte for byte the library under test: the same hidden symbols must be found in it.
    const hidden = py.symbols.report().filter((s) => s.source === "hidden").map((s) => s.name).join(",");
    assert.equal(r.fatal, undefined, JSON.stringify(r.fatal));
    for (const phase of ["replaced", "deleted"]) {
      assert.equal(r[phase].heap.value, true, `${phase}: ${JSON.stringify(r[phase].heap)}`);
      assert.equal(r[phase].blocks.value, true, `${phase}: ${JSON.stringify(r[phase].blocks)}`);
      assert.equal(r[phase].symbols.value, hidden, `${phase}: ${JSON.stringify(r[phase].symbols)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a handle on another JavaScript thread (a worker) keeps the owner from finalizing under it", () => {
  const r = child("workerLifetime", 90_000);
  assert.equal(r.fatal, undefined, JSON.stringify(r.fatal));
  assert.deepEqual(r.ready, { ready: true, owned: false });
  assert.equal(r.refused.error.code, "INVALID_STATE");
  assert.match(r.refused.error.message, /other JavaScript threads/);
  assert.deepEqual(r.workerEval, { value: 42 });
  assert.deepEqual(r.workerClosed, { closed: true });
  assert.equal(r.closed.ok, true, JSON.stringify(r.closed)); // the terminated worker's handle does not count
  assert.equal(r.isClosed, true);
});
