/**
 * The obj pair inside withGIL once a program has also used the other call shapes pymem serves: the same domain
 * with the GIL taken per call, and the raw domain. Each mix runs in a fresh process (a JIT's state is per
 * process) for 6,000 rounds of 1,000 pairs; the figure is the median ns a pair over the last 2,000 rounds, when
 * every tier has settled. The raw side makes the same C calls in the same shapes (a GIL-holding helper around a
 * callback, a helper per call, the raw domain) with this runtime's fastest raw binding (bench/_raw.ts).
 *
 *   bun bench/call_shapes.ts | deno run -A bench/call_shapes.ts | node dist/bench/call_shapes.js   [--json FILE]
 *
 * Why it exists: on Deno the pair costs 10 ns alone and 14–180 ns in some of these mixes, while raw calls in the
 * same shapes stay at 9–15 ns (BENCHMARKS.md, "Call cost"): V8 makes a fast FFI call only where the C function is
 * a known target in optimized code. Run it after any change to the domain closures or an adapter.
 * @module
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { openPython } from "../lib/mod.ts";
import { rawCalls } from "./_raw.ts";

const MIXES = ["obj", "obj+per-call", "obj+raw", "obj+per-call+raw"];
const ROUNDS = 6000, N = 1000, PROCESSES = 3;

async function child(side: string, mix: string): Promise<number> {
  const py = await openPython();
  const raw = await rawCalls(py.library);
  const S = raw.size16;
  let depth = 0;
  const hold = <T>(fn: () => T): T => {
    if (depth > 0) return fn();
    const s = raw.gilEnsure();
    depth++;
    try {
      return fn();
    } finally {
      depth--;
      raw.gilRelease(s);
    }
  };
  const obj = side === "pymem"
    ? () =>
      py.withGIL(function heldLoop() {
        for (let i = 0; i < N; i++) py.obj.free(py.obj.malloc(16));
      })
    : () =>
      hold(() => {
        for (let i = 0; i < N; i++) raw.objFree(raw.objMalloc(S));
      });
  const perCall = side === "pymem"
    ? function perCallLoop() {
      for (let i = 0; i < N; i++) py.obj.free(py.obj.malloc(16));
    }
    : () => {
      for (let i = 0; i < N; i++) {
        const p = hold(() => raw.objMalloc(S));
        hold(() => raw.objFree(p));
      }
    };
  const rawDomain = side === "pymem"
    ? () => {
      for (let i = 0; i < N; i++) py.raw.free(py.raw.malloc(16));
    }
    : () => {
      for (let i = 0; i < N; i++) raw.rawFree(raw.rawMalloc(S));
    };
  const withPer = mix.includes("per-call"), withRaw = mix.includes("raw");
  const times: number[] = [];
  const drive = () => {
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      obj();
      const t = performance.now() - t0;
      if (r >= ROUNDS - 2000) times.push(t);
      if (withPer) perCall();
      if (withRaw) rawDomain();
    }
  };
  drive();
  times.sort((a, b) => a - b);
  return (times[times.length >> 1] * 1e6) / N;
}

const sideAt = process.argv.indexOf("--child");
if (sideAt > 0) {
  const ns = await child(process.argv[sideAt + 1], process.argv[sideAt + 2]);
  console.log(JSON.stringify({ ns }));
  process.exit(0);
}

// The parent: one process per side and mix, started the way this one was.
const self = fileURLToPath(import.meta.url);
const g = globalThis as { Bun?: unknown; Deno?: { version: { deno: string } } };
const runtime = g.Bun
  ? `bun ${process.versions.bun}`
  : g.Deno
  ? `deno ${g.Deno.version.deno}`
  : `node ${process.version}`;
const launch = g.Deno ? ["run", "-A", self] : [self];
const rows: { mix: string; pymemNs: number; rawNs: number }[] = [];
console.log(
  `obj pair inside withGIL after other call shapes, ${runtime} (median ns a pair, rounds ${
    ROUNDS - 2000
  }–${ROUNDS}, median of ${PROCESSES} processes)`,
);
console.log("mix".padEnd(20) + "pymem ns   raw ns   pymem/raw");
for (const mix of MIXES) {
  const ns: Record<string, number> = {};
  const runs: Record<string, number[]> = { pymem: [], raw: [] };
  for (let k = 0; k < PROCESSES; k++) {
    for (const side of k % 2 ? ["raw", "pymem"] : ["pymem", "raw"]) {
      const r = spawnSync(process.execPath, [...launch, "--child", side, mix], { encoding: "utf8", env: process.env });
      if (r.status !== 0) {
        throw new Error(`call_shapes ${side} ${mix} failed (exit ${r.status ?? r.signal}): ${r.stderr}`);
      }
      runs[side].push(JSON.parse(r.stdout.trim().split("\n").pop()!).ns);
    }
  }
  for (const side of ["pymem", "raw"]) ns[side] = runs[side].sort((a, b) => a - b)[PROCESSES >> 1];
  rows.push({ mix, pymemNs: ns.pymem, rawNs: ns.raw });
  console.log(
    `${mix.padEnd(20)}${ns.pymem.toFixed(1).padStart(8)} ${ns.raw.toFixed(1).padStart(8)}   ${
      (ns.pymem / ns.raw).toFixed(2)
    }x`,
  );
}
const jsonAt = process.argv.indexOf("--json");
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ runtime, rows }, null, 2));
