import { availableParallelism } from "node:os";
import { assert, python, test } from "./_harness.ts";
import { PoolHeader, PyMemAllocator, PymemError } from "../lib/mod.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const py = await python();
const host = hostOf(py);
const minor = py.version.minor;

// A fragmented heap: a million small objects of mixed sizes, every other one freed.
py.run(
  "import gc\n" +
    "junk = [b'x' * (i % 200) if i % 3 else (i, float(i)) for i in range(10**6)]\n" +
    "del junk[::2]\n" +
    "gc.collect()\n" +
    "x_float = 1.5\nx_int = 10**12\nx_tuple = (1, 2, 3)\n",
);

test("heap().sizeClasses equals CPython's own _debugmallocstats rows", () => {
  const [snap, stats] = py.withGIL(() => [py.heap(), py.debugMallocStats()] as const);
  assert.equal(stats.pymalloc, true);
  assert.ok(snap.sizeClasses.length >= 10, `${snap.sizeClasses.length} classes`);
  assert.deepEqual(snap.sizeClasses, stats.sizeClasses);
  assert.ok(snap.totals.arenas >= 10);
});

test("the layout table matches what CPython prints (ARENA_SIZE, POOL_SIZE, classes)", () => {
  const stats = py.debugMallocStats();
  assert.equal(stats.arenaSize, py.layout.arenaSize);
  assert.equal(stats.poolSize, py.layout.poolSize);
  assert.equal(stats.sizeClassCount, py.layout.sizeClasses);
  assert.equal(stats.smallBlockThreshold, py.layout.sizeClasses * py.layout.alignment);
  const snap = py.heap();
  assert.equal(stats.values["# arenas allocated current"], snap.totals.arenas);
  assert.equal(stats.values["# bytes in allocated blocks"], snap.totals.bytesInUse);
  assert.equal(stats.values["# bytes in available blocks"], snap.totals.bytesAvailable);
});

test("totals.blocksInUse (+ raw_allocated_blocks) equals getAllocatedBlocks() at the same moment", () => {
  const a = py.allocator();
  const [snap, blocks] = py.withGIL(() => [py.heap(), a.getAllocatedBlocks()] as const);
  if (minor === 8) {
    // 3.8's _Py_AllocatedBlocks also counts pymalloc's raw fallbacks (>512 bytes), which the heap cannot see.
    assert.equal(snap.info.rawAllocatedBlocks, null);
    assert.ok(blocks >= snap.totals.blocksInUse, `${blocks} >= ${snap.totals.blocksInUse}`);
    assert.ok(blocks - snap.totals.blocksInUse < 0.01 * blocks);
  } else {
    assert.equal(snap.totals.blocksInUse + (snap.info.rawAllocatedBlocks ?? 0), blocks);
  }
});

test("getAllocatedBlocks() tracks sys.getallocatedblocks()", () => {
  const a = py.allocator();
  const ours = a.getAllocatedBlocks();
  const theirs = py.eval("__import__('sys').getallocatedblocks()") as number;
  assert.ok(Math.abs(ours - theirs) < 200, `${ours} vs ${theirs}`);
  py.run("more = [float(i) for i in range(50000)]");
  assert.ok(a.getAllocatedBlocks() - ours >= 50000);
  py.run("del more");
});

test("PoolHeader.of() a live float / int / tuple gives its size class and ref.count >= 1", () => {
  for (const name of ["x_float", "x_int", "x_tuple"]) {
    const id = BigInt(py.eval(`id(${name})`) as number);
    const size = py.eval(`__import__('sys').getsizeof(${name})`) as number;
    const pool = PoolHeader.of(py, id);
    assert.ok(pool, `${name} is in a pool`);
    assert.ok(pool.ref.count >= 1);
    assert.ok(pool.ref.count <= pool.capacity);
    assert.ok(
      pool.blockSize >= size - 16 && pool.blockSize <= size + 32,
      `${name}: block ${pool.blockSize}, object ${size}`,
    );
    assert.equal(pool.szidx, pool.blockSize / 16 - 1);
    assert.equal(pool.address % BigInt(py.layout.poolSize), 0n);
    assert.ok(id >= pool.address + 48n && id < pool.address + BigInt(py.layout.poolSize));
    assert.equal(pool.arena.address !== 0n, true);
    assert.equal(pool.arenaindex, pool.arena.index);
    assert.match(String(pool), /PoolHeader @0x[0-9a-f]+: class \d+/);
  }
});

test("PoolHeader.of() is null, without a crash, for addresses that are not obmalloc memory", () => {
  const a = py.allocator();
  assert.equal(PoolHeader.of(py, 0n), null);
  assert.equal(PoolHeader.of(py, 8n), null);
  assert.equal(PoolHeader.of(py, (1n << 64n) - 1n), null);
  // Unmapped: memory mapped and given back.
  const v = a.virtualAlloc(1 << 16);
  a.virtualFree(v, 1 << 16);
  assert.equal(PoolHeader.of(py, v + 64n), null);
  // A large raw block: malloc memory, not an arena.
  const big = py.raw.malloc(1 << 20);
  try {
    assert.equal(PoolHeader.of(py, big + 4096n), null);
  } finally {
    py.raw.free(big);
  }
  // An address inside an arena that has since been freed.
  const before = new Set([...py.heap().arenas].map((x) => x.address));
  // A size class the fragmented heap has no holes in (470-byte blocks), so it needs fresh arenas.
  py.run("tmp = [b'y' * 440 + bytes([i % 256]) for i in range(40000)]");
  const grown = [...py.heap().arenas].map((x) => x.address).filter((addr) => !before.has(addr));
  py.run("del tmp\nimport gc; gc.collect()");
  const now = new Set([...py.heap().arenas].map((x) => x.address));
  const freed = grown.filter((addr) => !now.has(addr));
  assert.ok(freed.length > 0, "pymalloc released at least one arena");
  for (const addr of freed) assert.equal(PoolHeader.of(py, addr + BigInt(py.layout.poolSize) + 100n), null);
  assert.throws(() => PoolHeader.of(py, 123 as unknown as bigint), TypeError);
  assert.throws(() => PoolHeader.of(py, -1n), RangeError);
});

test("main interpreter: state not on the heap, initObmalloc() a no-op", () => {
  const a = py.allocator();
  assert.equal(a.isObmallocStateOnHeap(), false);
  assert.equal(a.initObmalloc(), false);
  assert.equal(a.initObmalloc(), false);
  assert.ok(a.getInterpreterAllocatedBlocks() > 0);
});

test("virtualAlloc() gives page-aligned memory writable through py.view", () => {
  const a = py.allocator();
  const p = a.virtualAlloc(1 << 20);
  assert.equal(p % 4096n, 0n);
  const v = py.view(p, 1 << 20);
  v[0] = 1;
  v[(1 << 20) - 1] = 2;
  assert.equal(py.view(p, 1 << 20)[(1 << 20) - 1], 2);
  a.virtualFree(p, 1 << 20);
  assert.throws(() => a.virtualAlloc(0), RangeError);
  assert.throws(() => a.virtualAlloc(-1), RangeError);
});

test("finalizeAllocatedBlocks() on the live main interpreter is refused", () => {
  const a = py.allocator();
  assert.throws(
    () => a.finalizeAllocatedBlocks(),
    (e: unknown) => e instanceof PymemError && (minor < 12 ? /3\.12/.test(e.message) : /alive/.test(e.message)),
  );
});

test("an interpreter pointer that is not live is refused before anything is read", () => {
  assert.throws(() => new PyMemAllocator(py, 0x1234n), RangeError);
  assert.throws(() => py.allocator(7 as unknown as bigint), TypeError);
});

test("arenas, pools and fragmentation figures are consistent", () => {
  const snap = py.heap();
  let pools = 0, blocks = 0;
  for (const arena of snap.arenas) {
    assert.ok(arena.poolsUsed + arena.poolsFree <= arena.poolsTotal);
    assert.ok(arena.fill >= 0 && arena.fill <= 1);
    pools += arena.poolsUsed;
    blocks += arena.blocksInUse;
  }
  assert.equal(pools, snap.totals.pools);
  assert.equal(blocks, snap.totals.blocksInUse);
  let poolBlocks = 0;
  for (const p of snap.pools()) {
    assert.ok(p.blocksInUse >= 1 && p.blocksInUse <= p.capacity);
    poolBlocks += p.blocksInUse;
  }
  assert.equal(poolBlocks, snap.totals.blocksInUse);
  const f = snap.fragmentation;
  assert.ok(f.arenasIfPacked <= snap.totals.arenas);
  assert.ok(f.arenasIfPacked >= Math.ceil(snap.totals.bytesInUse / snap.arenaSize));
  assert.equal(f.reclaimableArenas, snap.totals.arenas - f.arenasIfPacked);
  assert.ok(f.freeBytesInUsedPools > 0, "every other object freed leaves holes");
});

test("snapshot.diff() shows what a piece of code allocated, by size class", () => {
  const before = py.heap();
  py.run("floats = [float(i) for i in range(100000)]");
  const after = py.heap();
  const rows = after.diff(before);
  // The float's size class: its size plus, under the debug hooks (a debug build's default), their 3 words, rounded
  // up to pymalloc's 16-byte alignment.
  const request = (py.eval("__import__('sys').getsizeof(1.0)") as number) +
    (py.allocatorName()?.endsWith("_debug") ? 24 : 0);
  const cls = rows.find((r) => r.size === Math.ceil(request / 16) * 16)!;
  assert.ok(cls, "the float class changed");
  assert.ok(cls.blocksInUse >= 99000, `${cls.blocksInUse}`);
  py.run("del floats");
});

test("py.symbols reports optional and hidden symbols with their provenance", () => {
  const rows = py.symbols.report();
  const get = (n: string) => rows.find((r) => r.name === n)!;
  assert.equal(get("_PyObject_DebugMallocStats").source, "exported");
  if (minor <= 11) assert.ok(["hidden", "decoded"].includes(get("arenas").source));
  if (py.symbols.hasSymtab && minor >= 11) assert.equal(get("_PyObject_VirtualAlloc").source, "hidden");
  if (py.symbols.hasSymtab && minor >= 12) assert.equal(get("_Py_GetGlobalAllocatedBlocks").source, "hidden");
  if (minor <= 11) assert.equal(get("_Py_GetAllocatedBlocks").source, "exported");
  assert.match(py.symbols.table(), /symbol\s+kind\s+found/);
});

// The native pool pass is x86-64 machine code (lib/obmalloc/pool-pass.ts); elsewhere the walk is JavaScript only.
const noPoolPass = !(await import("../lib/allocators/pymem-allocator.ts")).inProcessReader(host).poolPass &&
  "no native pool pass on this CPU (x86-64 only): the heap walk is JavaScript's alone";

test(
  "two-thread walks between which Python frees and maps arenas: each equals the JavaScript walk, no crash",
  async () => {
    // A second thread left behind by one walk must never read the heap after it: here arenas are unmapped and mapped
    // again between walks, so a thread still reading would fault the process.
    const { walkHeap } = await import("../lib/obmalloc/heap.ts");
    const { inProcessReader } = await import("../lib/allocators/pymem-allocator.ts");
    const reader = inProcessReader(host);
    const { poolPass: _native, ...jsOnly } = reader;
    const twoThreads = {
      ...reader,
      poolPass: (f: Float64Array, k: Uint32Array, size: number) => reader.poolPass!(f, k, size, { parallelFrom: 0 }),
    };
    for (let round = 0; round < 12; round++) {
      py.run(
        `_churn = [bytes(${100 + 30 * (round % 5)}) for _ in range(${20_000 + 5_000 * (round % 3)})]\ndel _churn[::3]`,
      );
      py.withGIL(() => {
        const refs = host.stateRefs(host.currentInterp());
        const arenas = Number(host.native.u64(refs.arenas));
        const maxarenas = host.native.u32(refs.maxarenas);
        const a = walkHeap(twoThreads, arenas, maxarenas, py.layout);
        const b = walkHeap(jsOnly, arenas, maxarenas, py.layout);
        assert.deepEqual(a.classBlocks, b.classBlocks, `round ${round}`);
        assert.deepEqual(a.poolAddress, b.poolAddress, `round ${round}`);
      });
      py.run("del _churn");
    }
  },
  { skip: noPoolPass },
);

test("the native pool pass and the JavaScript pass over views give the same walk", async () => {
  const { walkHeap } = await import("../lib/obmalloc/heap.ts");
  const { inProcessReader } = await import("../lib/allocators/pymem-allocator.ts");
  const reader = inProcessReader(host);
  const { poolPass: _native, ...jsOnly } = reader;
  py.withGIL(() => {
    const refs = host.stateRefs(host.currentInterp());
    const arenas = Number(host.native.u64(refs.arenas));
    const maxarenas = host.native.u32(refs.maxarenas);
    const a = walkHeap(reader, arenas, maxarenas, py.layout);
    const b = walkHeap(jsOnly, arenas, maxarenas, py.layout);
    // The native pass split into calls of at most 100 pools (as a heap of more than 64 GiB would be): same walk.
    const with_ = (options: object) =>
      walkHeap(
        { ...reader, poolPass: (f, k, size) => reader.poolPass!(f, k, size, options) },
        arenas,
        maxarenas,
        py.layout,
      );
    const c = reader.poolPass ? with_({ poolsPerCall: 100, parallelFrom: Infinity }) : b;
    // Every chunk on the second thread, however small the heap: same walk.
    const d = reader.poolPass ? with_({ parallelFrom: 0, secondThreadOnly: true }) : b;
    const e = reader.poolPass ? with_({ parallelFrom: Infinity }) : b;
    // Both threads sharing the chunks, or the calling thread taking them all when the second wakes late (its job
    // revoked): several walks in a row, same walk.
    const f = reader.poolPass ? Array.from({ length: 8 }, () => with_({ parallelFrom: 0 })) : [b];
    for (
      const key of [
        "arenaAddress",
        "arenaPoolsUsed",
        "arenaBlocks",
        "arenaBytes",
        "classPools",
        "classBlocks",
        "classAvail",
        "poolAddress",
        "poolArena",
        "poolClass",
        "poolCount",
      ] as const
    ) {
      for (const [name, walk] of Object.entries({ a, c, d, e, ...Object.fromEntries(f.map((w, i) => [`f${i}`, w])) })) {
        assert.deepEqual(walk[key], b[key], `${name}: ${key}`);
      }
    }
    assert.ok(a.usedPools > 100, `${a.usedPools} used pools`);
    for (const walk of [a, c, d, e, ...f]) assert.equal(walk.usedPools, b.usedPools);
    if (reader.poolPass && availableParallelism() >= 2) assert.equal(d.threads, 2);
    assert.equal(e.threads, 1);
    assert.equal(a.inconsistentPools, 0);
    assert.equal(b.inconsistentPools, 0);
  });
});

test(
  "the walk's parked second thread: signals a runtime handles blocked, libc's and the faults open; setgid answers; ended by stopPoolPass and started again",
  async () => {
    const { walkHeap } = await import("../lib/obmalloc/heap.ts");
    const { inProcessReader } = await import("../lib/allocators/pymem-allocator.ts");
    const { stopPoolPass } = await import("../lib/obmalloc/pool-pass.ts");
    const { readdirSync, readFileSync } = await import("node:fs");
    const reader = inProcessReader(host);
    const tasks = () => new Set(readdirSync("/proc/self/task"));
    const twoThreads = {
      ...reader,
      poolPass: (f: Float64Array, k: Uint32Array, size: number) =>
        reader.poolPass!(f, k, size, { parallelFrom: 0, secondThreadOnly: true }),
    };
    const { poolPass: _native, ...jsOnly } = reader;
    // The two-thread walk, checked against the JavaScript walk of the same moment.
    const walk = () =>
      py.withGIL(() => {
        const refs = host.stateRefs(host.currentInterp());
        const arenas = Number(host.native.u64(refs.arenas)), maxarenas = host.native.u32(refs.maxarenas);
        const w = walkHeap(twoThreads, arenas, maxarenas, py.layout);
        assert.deepEqual(w.classBlocks, walkHeap(jsOnly, arenas, maxarenas, py.layout).classBlocks);
        return w;
      });
    stopPoolPass(host.native); // whatever earlier tests left parked
    const before = tasks();
    const ownMask = () => /^SigBlk:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/thread-self/status", "utf8"))![1];
    const maskBefore = ownMask();
    const first = walk();
    assert.equal(ownMask(), maskBefore, "the calling thread's signal mask is restored after starting the worker");
    assert.equal(first.threads, 2);
    // SigBlk: bit n - 1 is signal n. Blocked: SIGINT 2, SIGTERM 15, SIGCHLD 17, SIGPROF 27. Open: SIGILL 4, SIGBUS 7,
    // SIGFPE 8, SIGSEGV 11, and glibc's 32, 33 (a thread blocking 33 makes every setuid/setgid of the process hang).
    // The runtime may start threads of its own meanwhile: the worker is the new one with that mask.
    const blockedOf = (tid: string) => {
      try {
        return BigInt("0x" + /^SigBlk:\s*([0-9a-f]+)/m.exec(readFileSync(`/proc/self/task/${tid}/status`, "utf8"))![1]);
      } catch {
        return null; // ended meanwhile
      }
    };
    const isWorker = (blocked: bigint | null) =>
      blocked !== null &&
      [2, 15, 17, 27].every((s) => (blocked >> BigInt(s - 1)) & 1n) &&
      [4, 7, 8, 11, 32, 33].every((s) => !((blocked >> BigInt(s - 1)) & 1n));
    const added = [...tasks()].filter((t) => !before.has(t));
    const workers = added.filter((t) => isWorker(blockedOf(t)));
    assert.equal(
      workers.length,
      1,
      `new threads ${added.map((t) => `${t}: ${blockedOf(t)?.toString(16)}`).join(", ")}`,
    );
    py.run("import os\nos.setgid(os.getgid())"); // glibc signals every thread (33) and waits for each
    stopPoolPass(host.native);
    // pthread_join returns once the kernel clears the thread's id, a moment before /proc stops listing it.
    for (const end = Date.now() + 2000; tasks().has(workers[0]) && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(!tasks().has(workers[0]), "the parked thread ended");
    const again = walk();
    assert.equal(again.threads, 2);
    stopPoolPass(host.native);
  },
  { skip: noPoolPass || (availableParallelism() < 2 && "the parked second thread needs 2 CPUs") },
);
