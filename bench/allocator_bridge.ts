/**
 * Allocator benchmarks (issue 4):
 *
 * 1. Per-call cost of the generated code, measured natively: a generated loop (lib/machine/codegen.ts `makeCallLoop`)
 *    calls an alloc/free pair N times per FFI crossing, so the FFI cost is amortised away. Compared:
 *      - libc malloc/free called directly (the baseline),
 *      - the same through pymem's ctx-dropping bridges (what an in-process third-party allocator costs),
 *      - CPython's raw domain (_PyMem_RawMalloc/_PyMem_RawFree, itself a wrapper of malloc),
 *      - the raw domain through traceAllocations' counting hooks (atomic counters + histogram + tail call).
 * 2. Whole workloads in fresh processes (the allocator is chosen before start-up): pymalloc (CPython's default),
 *    malloc, and mimalloc / tcmalloc / jemalloc in-process through the bridges, on JSON round trips of a ~20 MB
 *    structure and on four allocating Python threads.
 *
 * Run: `bun bench/allocator_bridge.ts`, `deno run -A bench/allocator_bridge.ts`, or after `tsc -p .`
 * `node dist/bench/allocator_bridge.js`. PYMEM_LIBPYTHON picks the libpython; `--quick` shrinks part 2.
 * @module
 */
import process from "node:process";
import { bench, do_not_optimize, run, summary } from "mitata";
import { openPython } from "../lib/mod.ts";
import { getAllocator } from "../lib/allocators/domain-allocators.ts";
import { hookPool, makeBridges, makeCallLoop } from "../lib/allocators/generated-functions.ts";
import { cstr } from "../lib/core/native.ts";
import { findLibrary, runChild } from "../tests/_child_spawn.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const quick = process.argv.includes("--quick");
const N = 10_000; // alloc/free pairs per FFI crossing
const SIZE = 64;

const py = await openPython();
const host = hostOf(py);
const native = host.native;
const libc = native.libc;
const handle = libc.dlopen(cstr("libc.so.6"), 2);
const sym = (s: string): bigint => libc.dlsym(handle, cstr(s));
const plain = { malloc: sym("malloc"), calloc: sym("calloc"), realloc: sym("realloc"), free: sym("free") };
const bridges = makeBridges(native, plain, { malloc: "malloc", calloc: "calloc", realloc: "realloc", free: "free" });
const raw = getAllocator(host, "raw");
const slot = hookPool(native).acquire(raw);
const plainLoop = makeCallLoop(native, "plain");
const ctxLoop = makeCallLoop(native, "ctx");

console.log(
  `pymem allocator benchmarks — ${py.backend}, CPython ${py.version.major}.${py.version.minor}.${py.version.micro}`,
);
console.log(`part 1: ${N} × (alloc(${SIZE}) + free) per iteration, i.e. ${2 * N} calls; per-call = time / ${2 * N}\n`);

summary(() => {
  bench("libc malloc/free, direct", () => do_not_optimize(plainLoop(plain.malloc, plain.free, 0n, N, SIZE))).baseline(
    true,
  );
  bench("libc through pymem bridges", () => do_not_optimize(ctxLoop(bridges.malloc, bridges.free, 0n, N, SIZE)));
  bench("CPython raw domain (_PyMem_Raw*)", () => do_not_optimize(ctxLoop(raw.malloc, raw.free, raw.ctx, N, SIZE)));
  bench(
    "raw domain through counting hooks",
    () => do_not_optimize(ctxLoop(slot.code.malloc, slot.code.free, raw.ctx, N, SIZE)),
  );
});
const results = await run({ format: "mitata" });
const perCall = new Map<string, number>();
for (const t of results.benchmarks) {
  const stats = t.runs[0]?.stats;
  if (stats) perCall.set(t.alias, stats.p50 / (2 * N));
}
const ns = (name: string) => perCall.get(name) ?? NaN;
const direct = ns("libc malloc/free, direct");
const bridged = ns("libc through pymem bridges");
const pyRaw = ns("CPython raw domain (_PyMem_Raw*)");
const hooked = ns("raw domain through counting hooks");
console.log("\nper call (median):");
console.log(`  libc direct            ${direct.toFixed(2)} ns`);
console.log(`  through bridge         ${bridged.toFixed(2)} ns   (+${(bridged - direct).toFixed(2)} ns per call)`);
console.log(`  CPython raw domain     ${pyRaw.toFixed(2)} ns`);
console.log(`  raw + counting hook    ${hooked.toFixed(2)} ns   (+${(hooked - pyRaw).toFixed(2)} ns per call)`);
hookPool(native).release(slot);
py.close();

// ---- part 2: workloads, one fresh process per allocator and repetition ---------------------------------------
const MB = quick ? 5 : 20;
const REPEATS = quick ? 1 : 3;
interface Config {
  label: string;
  allocator?: unknown;
  env?: Record<string, string>;
  needs?: string;
}
const jemalloc = findLibrary("libjemalloc.so.2");
const configs: Config[] = [
  { label: "pymalloc (default)" },
  { label: "malloc (glibc)", allocator: "malloc" },
  { label: "mimalloc in-process", allocator: { library: "libmimalloc.so.2" }, needs: "libmimalloc.so.2" },
  {
    label: "tcmalloc in-process",
    allocator: { library: "libtcmalloc_minimal.so.4" },
    needs: "libtcmalloc_minimal.so.4",
  },
  {
    label: "jemalloc (LD_PRELOAD)",
    allocator: { library: "libjemalloc.so.2" },
    env: jemalloc ? { LD_PRELOAD: jemalloc } : {},
    needs: "libjemalloc.so.2",
  },
];
if (py.version.minor >= 13) configs.push({ label: "mimalloc (CPython 3.13 built-in)", allocator: "mimalloc" });

console.log(`\npart 2: JSON round trip of a ~${MB} MB structure, and 4 Python threads × 30 × 20000 small strings`);
console.log(`(best of ${REPEATS} fresh processes each)\n`);
console.log("allocator                          json (ms)   threads (ms)");
for (const c of configs) {
  if (c.needs && !findLibrary(c.needs)) {
    console.log(`${c.label.padEnd(34)} skipped: ${c.needs} not installed`);
    continue;
  }
  let json = Infinity;
  let threads = Infinity;
  let error = "";
  for (let i = 0; i < REPEATS; i++) {
    const r = runChild({ allocator: c.allocator, workloads: ["json", "threads"], mb: MB }, c.env ?? {});
    if (!r.ok) {
      error = `${r.error.code ?? r.error.name}: ${r.error.message}`;
      break;
    }
    json = Math.min(json, r.jsonMs);
    threads = Math.min(threads, r.threadsMs);
  }
  console.log(
    error
      ? `${c.label.padEnd(34)} ${error}`
      : `${c.label.padEnd(34)} ${json.toFixed(0).padStart(9)}   ${threads.toFixed(0).padStart(12)}`,
  );
}
