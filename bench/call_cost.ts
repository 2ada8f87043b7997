/**
 * What one allocation costs through pymem: a PyObject_Malloc/PyObject_Free pair (and PyMem_RawMalloc/RawFree)
 * through the public API, against the same pair bound directly with this runtime's own FFI in its fastest form
 * (bench/_raw.ts says which), measured side by side in interleaved rounds (bench/_paired.ts). Inside withGIL, 1000
 * pairs run per GIL acquisition on both sides. The goal of the first case (the issue-17 acceptance) is printed beside its ratio.
 *
 *   bun bench/call_cost.ts | deno run -A bench/call_cost.ts | node dist/bench/call_cost.js   [--json FILE]
 * @module
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { openPython } from "../lib/mod.ts";
import { rawCalls } from "./_raw.ts";
import { ctypesPairNs, nativePairNs } from "./_baselines.ts";
import { ratioOf, runPaired } from "./_paired.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const py = await openPython();
const host = hostOf(py);
const raw = await rawCalls(py.library);
// The same calls through pymem's own bound symbols (bigint addresses, no checks): what the wrapper adds, alone.
const api = host.native.api;
const N = 1000;
const S = raw.size16; // 16 in the form the raw binding takes fastest (a bigint for Deno)

// Issue 17's acceptance: the obj pair inside withGIL against the fastest raw form of the same runtime.
const GOAL: Record<string, number> = { bun: 1.25, deno: 1.10, koffi: 1.10 };

const cases: [string, string, () => void][] = [
  ["obj pair, GIL held once per 1000", "pymem", () =>
    py.withGIL(() => {
      for (let i = 0; i < N; i++) py.obj.free(py.obj.malloc(16));
    })],
  ["obj pair, GIL held once per 1000", "raw", () => {
    const s = raw.gilEnsure();
    for (let i = 0; i < N; i++) raw.objFree(raw.objMalloc(S));
    raw.gilRelease(s);
  }],
  ["obj pair, GIL held once per 1000", "bound", () => {
    const s = api.PyGILState_Ensure();
    for (let i = 0; i < N; i++) api.PyObject_Free(api.PyObject_Malloc(16));
    api.PyGILState_Release(s);
  }],
  ["obj pair, GIL taken per call", "pymem", () => {
    for (let i = 0; i < N; i++) py.obj.free(py.obj.malloc(16));
  }],
  ["obj pair, GIL taken per call", "raw", () => {
    for (let i = 0; i < N; i++) {
      let s = raw.gilEnsure();
      const p = raw.objMalloc(S);
      raw.gilRelease(s);
      s = raw.gilEnsure();
      raw.objFree(p);
      raw.gilRelease(s);
    }
  }],
  ["raw-domain pair (no GIL)", "pymem", () => {
    for (let i = 0; i < N; i++) py.raw.free(py.raw.malloc(16));
  }],
  ["raw-domain pair (no GIL)", "bound", () => {
    for (let i = 0; i < N; i++) api.PyMem_RawFree(api.PyMem_RawMalloc(16));
  }],
  ["raw-domain pair (no GIL)", "raw", () => {
    for (let i = 0; i < N; i++) raw.rawFree(raw.rawMalloc(S));
  }],
];
const times = runPaired(Object.fromEntries(cases.map(([name, side, fn]) => [`${name} [${side}]`, fn])), {
  warmup: 50,
  warmupMs: 3000,
  rounds: 400,
  minMs: 3000,
});
const rows: Record<string, unknown>[] = [];
console.log(
  `\npymem call cost on ${py.backend} (${
    process.versions.bun
      ? "bun " + process.versions.bun
      : (globalThis as { Deno?: { version: { deno: string } } }).Deno
      ? "deno " + (globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno
      : "node " + process.version
  }), CPython ${py.version.major}.${py.version.minor}.${py.version.micro}`,
);
console.log("pymem = public API; bound = the same C functions as pymem binds them (bigint addresses), no checks;");
console.log(
  `raw = bound directly with this runtime's FFI in its fastest form: ${raw.form}. Ratios: median (p25–p75 spread).`,
);
console.log(
  `case (${times[Object.keys(times)[0]].samples.length} rounds)`.padEnd(38) +
    "pymem ns  bound ns  raw ns   pymem/bound          pymem/raw",
);
for (const name of [...new Set(cases.map((c) => c[0]))]) {
  const a = times[`${name} [pymem]`], b = times[`${name} [raw]`], c = times[`${name} [bound]`];
  const ratio = ratioOf;
  const fmt = (r: { median: number; low: number; high: number }) =>
    `${r.median.toFixed(2)}x (${r.low.toFixed(2)}–${r.high.toFixed(2)})`.padEnd(20);
  const vsRaw = ratio(a, b), vsBound = c ? ratio(a, c) : undefined;
  const goal = rows.length === 0 ? GOAL[py.backend] : null;
  const ns = (t: { p50: number }) => (t.p50 * 1e6) / N;
  rows.push({ case: name, pymemNs: ns(a), boundNs: c ? ns(c) : null, rawNs: ns(b), vsBound, vsRaw, goal });
  console.log(
    `${name.padEnd(36)} ${ns(a).toFixed(1).padStart(9)} ${(c ? ns(c).toFixed(1) : "-").padStart(9)} ${
      ns(b).toFixed(1).padStart(7)
    }   ${vsBound ? fmt(vsBound) : "-".padEnd(20)} ${fmt(vsRaw)}${
      goal ? ` goal ≤ ${goal.toFixed(2)}x: ${vsRaw.median <= goal ? "met" : "MISSED"}` : ""
    }`,
  );
}
// The yardsticks outside any JavaScript runtime: ctypes (Python calling the same C functions) and plain C.
const ctypes = ctypesPairNs(py);
const native = process.argv.includes("--no-native") ? { skipped: "--no-native" } : nativePairNs(py.library);
const obj = rows[0] as { pymemNs: number };
console.log(
  `\nyardsticks for an obj pair: ctypes ${ctypes.toFixed(0)} ns (pymem ${
    (ctypes / obj.pymemNs).toFixed(1)
  }x faster); ` +
    ("obj" in native
      ? `native C ${native.obj.toFixed(1)} ns (pymem ${(obj.pymemNs / native.obj).toFixed(1)}x slower), raw pair ${
        native.raw.toFixed(1)
      } ns`
      : `native C skipped: ${native.skipped}`),
);
const jsonAt = process.argv.indexOf("--json");
if (jsonAt > 0) {
  writeFileSync(
    process.argv[jsonAt + 1],
    JSON.stringify(
      { backend: py.backend, python: py.version, rawForm: raw.form, rows, ctypesNs: ctypes, native },
      null,
      2,
    ),
  );
}
py.close();
