/**
 * What a heap map costs: `py.heap()` (walk + typed arrays + size classes + fragmentation, returned as data)
 * against CPython's own C walker, `_PyObject_DebugMallocStats` (what `sys._debugmallocstats()` runs) writing to
 * /dev/null, on the same heap in the same process, at several heap sizes, in interleaved rounds (bench/_paired.ts); plus the
 * snapshot's memory, and `attachPython(pid).heap()` reading the same heap from outside (through
 * process_vm_readv on this very process).
 *
 *   bun bench/heap_cost.ts [--arenas 10,100,500,1000,5000] [--json FILE]
 * @module
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { attachPython, openPython } from "../lib/mod.ts";
import { cstr } from "../lib/core/native.ts";
import { ratioOf, runPaired } from "./_paired.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const arg = (
  name: string,
  def: string,
) => (process.argv.indexOf(name) > 0 ? process.argv[process.argv.indexOf(name) + 1] : def);
const targets = arg("--arenas", "10,100,500,1000,5000").split(",").map(Number);
const py = await openPython();
const host = hostOf(py);
const { api, libc } = host.native;
const devnull = libc.fopen(cstr("/dev/null"), cstr("w"));
const arenaSize = py.layout.arenaSize;

interface Row {
  arenas: number;
  pools: number;
  threads: number;
  heapMs: number;
  cWalkerMs: number;
  ratio: number;
  low: number;
  high: number;
  attachMs: number;
  snapshotKiB: number;
}
const rows: Row[] = [];
for (const target of targets) {
  // Fill about `target` arenas with 512-byte blocks (bytes(470) objects), then free every other one: fragmented.
  const count = Math.ceil((target * arenaSize * 0.97) / 512);
  py.run(`import gc\nheap = [bytes(470) for _ in range(${count})]\ndel heap[::2]\ngc.collect()`);
  const snap = py.heap();
  const arenas = snap.totals.arenas;
  const w = snap.walk;
  const snapshotBytes = [
    w.arenaIndex,
    w.arenaAddress,
    w.arenaPoolsTotal,
    w.arenaPoolsFree,
    w.arenaPoolsUsed,
    w.arenaPoolsCarved,
    w.arenaBlocks,
    w.arenaBytes,
    w.poolAddress,
    w.poolArena,
    w.poolClass,
    w.poolCount,
  ]
    .reduce((s, a) => s + a.byteLength, 0);
  const remote = await attachPython(process.pid);
  const state = api.PyGILState_Ensure(); // both sides run with the GIL already held
  let lastThreads = 0; // what the timed walks used: a second thread only when the load average leaves a CPU free
  const t = runPaired({
    heap: () => (lastThreads = py.heap().walk.threads),
    c: () => api._PyObject_DebugMallocStats(devnull),
  }, { warmup: 10, rounds: 60, minMs: 1500 });
  // Attach reads the same heap through process_vm_readv: far slower, timed on its own (median of 5).
  const attachTimes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    remote.heap();
    if (i > 0) attachTimes.push(performance.now() - t0);
  }
  attachTimes.sort((a, b) => a - b);
  api.PyGILState_Release(state);
  remote.close();
  const r = ratioOf(t.heap, t.c);
  rows.push({
    arenas,
    pools: snap.totals.pools,
    threads: lastThreads,
    heapMs: t.heap.p50,
    cWalkerMs: t.c.p50,
    ratio: r.median,
    low: r.low,
    high: r.high,
    attachMs: attachTimes[2],
    snapshotKiB: snapshotBytes / 1024,
  });
  py.run("del heap\ngc.collect()");
}
console.log(
  `\npy.heap() vs CPython's C walker on ${py.backend}, CPython ${py.version.major}.${py.version.minor}.${py.version.micro} (medians; ratio spread p25–p75)`,
);
console.log(
  "arenas   used pools   threads   py.heap() ms   C walker ms   ratio              attach(self) ms   snapshot KiB",
);
for (const r of rows) {
  console.log(
    `${String(r.arenas).padStart(6)} ${String(r.pools).padStart(12)} ${String(r.threads).padStart(9)} ${
      r.heapMs.toFixed(3).padStart(14)
    } ${r.cWalkerMs.toFixed(3).padStart(13)}   ` +
      `${(r.ratio.toFixed(2) + "x (" + r.low.toFixed(2) + "–" + r.high.toFixed(2) + ")").padEnd(18)} ${
        r.attachMs.toFixed(2).padStart(15)
      } ${r.snapshotKiB.toFixed(0).padStart(14)}`,
  );
}
if (rows.length > 1) {
  // Growth exponent between the two largest heaps (time ∝ pools^k): 1 is linear. Small heaps sit in the caches and
  // cost less per pool, so the per-pool figures alone overstate growth; CPython's walker is the yardstick.
  const perPool = rows.map((r) => (r.heapMs * 1e6) / Math.max(1, r.pools));
  const cPerPool = rows.map((r) => (r.cWalkerMs * 1e6) / Math.max(1, r.pools));
  const [x, y] = rows.slice(-2);
  const k = (a: number, b: number) => Math.log(b / a) / Math.log(y.pools / x.pools);
  const ours = k(x.heapMs, y.heapMs), theirs = k(x.cWalkerMs, y.cWalkerMs);
  console.log(
    `scaling: py.heap() ${perPool.map((v) => v.toFixed(1)).join(" / ")} ns per used pool, C walker ` +
      `${cPerPool.map((v) => v.toFixed(1)).join(" / ")} ns (${
        rows.map((r) => r.arenas).join(" / ")
      } arenas); growth exponent ` +
      `${x.arenas}→${y.arenas} arenas: py.heap() ${ours.toFixed(2)}, C walker ${theirs.toFixed(2)} ` +
      `(${
        Math.abs(ours - theirs) <= 0.15
          ? "the same growth as CPython's own walk"
          : ours < theirs
          ? "grows more slowly than CPython's walk"
          : "grows faster than CPython's walk"
      }; 1.00 = linear)`,
  );
}
const json = arg("--json", "");
if (json) writeFileSync(json, JSON.stringify({ backend: py.backend, python: py.version, rows }, null, 2));
libc.fclose(devnull);
py.close();
