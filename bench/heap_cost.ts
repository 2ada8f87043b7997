/**
 * What a heap map costs: `py.heap()` (walk + typed arrays + size classes + fragmentation, returned as data)
 * against CPython's own C walker, `_PyObject_DebugMallocStats` (what `sys._debugmallocstats()` runs) writing to
 * /dev/null, on the same heap in the same process, at several heap sizes, side by side with mitata; plus the
 * snapshot's memory, and `attachPython(pid).heap()` reading the same heap from outside (through
 * process_vm_readv on this very process).
 *
 *   bun bench/heap_cost.ts [--arenas 10,100,1000,5000] [--json FILE]
 * @module
 */
import { bench, do_not_optimize, run } from "mitata";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { attachPython, openPython } from "../lib/mod.ts";
import { cstr } from "../lib/core/native.ts";

const arg = (name: string, def: string) => (process.argv.indexOf(name) > 0 ? process.argv[process.argv.indexOf(name) + 1] : def);
const targets = arg("--arenas", "10,100,1000,5000").split(",").map(Number);
const py = await openPython();
const { api, libc } = py.native;
const devnull = libc.fopen(cstr("/dev/null"), cstr("w"));
const arenaSize = py.layout.arenaSize;

interface Row { arenas: number; pools: number; heapMs: number; cWalkerMs: number; ratio: number; low: number; high: number; attachMs: number; snapshotKiB: number }
const rows: Row[] = [];
for (const target of targets) {
  // Fill about `target` arenas with 512-byte blocks (bytes(470) objects), then free every other one: fragmented.
  const count = Math.ceil((target * arenaSize * 0.97) / 512);
  py.run(`import gc\nheap = [bytes(470) for _ in range(${count})]\ndel heap[::2]\ngc.collect()`);
  const snap = py.heap();
  const arenas = snap.totals.arenas;
  const w = snap.walk;
  const snapshotBytes = [w.arenaIndex, w.arenaAddress, w.arenaPoolsTotal, w.arenaPoolsFree, w.arenaPoolsUsed, w.arenaPoolsCarved, w.arenaBlocks, w.arenaBytes, w.poolAddress, w.poolArena, w.poolClass, w.poolCount]
    .reduce((s, a) => s + a.byteLength, 0);
  const remote = await attachPython(process.pid);
  const state = api.PyGILState_Ensure(); // both sides run with the GIL already held
  const tag = `${arenas} arenas:`;
  bench(`${tag} py.heap()`, () => do_not_optimize(py.heap()));
  bench(`${tag} C _PyObject_DebugMallocStats`, () => do_not_optimize(api._PyObject_DebugMallocStats(devnull)));
  bench(`${tag} attachPython(self).heap()`, () => do_not_optimize(remote.heap()));
  const result = await run({ format: "quiet", filter: new RegExp(`^${tag}`) });
  api.PyGILState_Release(state);
  remote.close();
  const stats = (suffix: string) => result.benchmarks.find((b) => b.alias === `${tag} ${suffix}`)!.runs[0].stats!;
  const [ours, theirs, attach] = [stats("py.heap()"), stats("C _PyObject_DebugMallocStats"), stats("attachPython(self).heap()")];
  rows.push({
    arenas, pools: snap.totals.pools,
    heapMs: ours.p50 / 1e6, cWalkerMs: theirs.p50 / 1e6, ratio: ours.p50 / theirs.p50,
    low: ours.p25 / theirs.p75, high: ours.p75 / theirs.p25,
    attachMs: attach.p50 / 1e6, snapshotKiB: snapshotBytes / 1024,
  });
  py.run("del heap\ngc.collect()");
}
console.log(`\npy.heap() vs CPython's C walker on ${py.backend}, CPython ${py.version.major}.${py.version.minor}.${py.version.micro} (medians; ratio spread p25–p75)`);
console.log("arenas   used pools   py.heap() ms   C walker ms   ratio              attach(self) ms   snapshot KiB");
for (const r of rows) {
  console.log(`${String(r.arenas).padStart(6)} ${String(r.pools).padStart(12)} ${r.heapMs.toFixed(3).padStart(14)} ${r.cWalkerMs.toFixed(3).padStart(13)}   ` +
    `${(r.ratio.toFixed(2) + "x (" + r.low.toFixed(2) + "–" + r.high.toFixed(2) + ")").padEnd(18)} ${r.attachMs.toFixed(2).padStart(15)} ${r.snapshotKiB.toFixed(0).padStart(14)}`);
}
if (rows.length > 1) {
  // Growth exponent between the two largest heaps (time ∝ pools^k): 1 is linear. Small heaps sit in the caches and
  // cost less per pool, so the per-pool figures alone overstate growth; CPython's walker is the yardstick.
  const perPool = rows.map((r) => (r.heapMs * 1e6) / Math.max(1, r.pools));
  const cPerPool = rows.map((r) => (r.cWalkerMs * 1e6) / Math.max(1, r.pools));
  const [x, y] = rows.slice(-2);
  const k = (a: number, b: number) => Math.log(b / a) / Math.log(y.pools / x.pools);
  const ours = k(x.heapMs, y.heapMs), theirs = k(x.cWalkerMs, y.cWalkerMs);
  console.log(`scaling: py.heap() ${perPool.map((v) => v.toFixed(1)).join(" / ")} ns per used pool, C walker ` +
    `${cPerPool.map((v) => v.toFixed(1)).join(" / ")} ns (${rows.map((r) => r.arenas).join(" / ")} arenas); growth exponent ` +
    `${x.arenas}→${y.arenas} arenas: py.heap() ${ours.toFixed(2)}, C walker ${theirs.toFixed(2)} ` +
    `(${Math.abs(ours - theirs) <= 0.15 ? "the same growth as CPython's own walk" : ours < theirs ? "grows more slowly than CPython's walk" : "grows faster than CPython's walk"}; 1.00 = linear)`);
}
const json = arg("--json", "");
if (json) writeFileSync(json, JSON.stringify({ backend: py.backend, python: py.version, rows }, null, 2));
libc.fclose(devnull);
py.close();
