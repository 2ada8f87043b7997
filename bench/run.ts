/**
 * `npm run bench`: the cost of pymem itself, on Bun, Deno and Node in turn, each benchmark in its own process,
 * then one table of the ratios side by side (medians with their p25–p75 spread) and the goals they meet.
 *
 *   bun bench/run.ts [--quick] [--json FILE] [--runtime bun,deno,node]
 * (Node runs the tsc build: `npm run build` first; `npm run bench` does.)
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
const quick = argv.includes("--quick");
const runtimes = (opt("--runtime") ?? "bun,deno,node").split(",");
const bin = (n: string) => join(root, "node_modules", ".bin", n);
const command = (rt: string, bench: string): [string, string[]] =>
  rt === "bun" ? [bin("bun"), [join(root, "bench", `${bench}.ts`)]]
  : rt === "deno" ? [bin("deno"), ["run", "-A", join(root, "bench", `${bench}.ts`)]]
  // Node from PATH: this orchestrator itself usually runs under Bun, so process.execPath is not Node.
  : ["node", [join(root, "dist", "bench", `${bench}.js`)]];

const dir = mkdtempSync(join(tmpdir(), "pymem-bench-"));
const results: Record<string, Record<string, any>> = {};
try {
  for (const rt of runtimes) {
    results[rt] = {};
    for (const [bench, extra] of [
      ["call_cost", rt === "bun" ? [] : ["--no-native"]],
      ["heap_cost", ["--arenas", quick ? "10,100,1000" : "10,100,1000,5000"]],
    ] as const) {
      const out = join(dir, `${rt}-${bench}.json`);
      const [cmd, args] = command(rt, bench);
      process.stderr.write(`running ${bench} on ${rt}…\n`);
      const r = spawnSync(cmd, [...args, ...extra, "--json", out], { stdio: ["ignore", "inherit", "inherit"], env: process.env });
      if (r.status !== 0) throw new Error(`${bench} on ${rt} failed (exit ${r.status ?? r.signal})`);
      results[rt][bench] = JSON.parse(readFileSync(out, "utf8"));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (r: { median: number; low: number; high: number }) => `${r.median.toFixed(2)}x (${r.low.toFixed(2)}–${r.high.toFixed(2)})`;
console.log("\n== pymem's own costs, side by side ==");
console.log("call cost: obj pair inside withGIL (ns/pair); pymem vs the same C functions bound with bigint addresses, and vs the runtime's raw FFI types");
for (const rt of runtimes) {
  const c = results[rt].call_cost;
  for (const row of c.rows) {
    console.log(`  ${rt.padEnd(5)} ${row.case.padEnd(36)} pymem ${row.pymemNs.toFixed(1).padStart(6)}  vs bound ${row.vsBound ? fmt(row.vsBound) : "-"}  vs raw ${fmt(row.vsRaw)}`);
  }
  const native = c.native && "obj" in c.native ? `, native C ${c.native.obj.toFixed(1)} ns` : "";
  console.log(`  ${rt.padEnd(5)} yardsticks: ctypes ${c.ctypesNs.toFixed(0)} ns${native}`);
}
console.log("\nmap cost: py.heap() / CPython's C walker, same heap, same process");
for (const rt of runtimes) {
  for (const r of results[rt].heap_cost.rows) {
    console.log(`  ${rt.padEnd(5)} ${String(r.arenas).padStart(5)} arenas  ${r.ratio.toFixed(2)}x (${r.low.toFixed(2)}–${r.high.toFixed(2)})  ` +
      `py.heap ${r.heapMs.toFixed(3)} ms, C ${r.cWalkerMs.toFixed(3)} ms, attach(self) ${r.attachMs.toFixed(2)} ms, snapshot ${r.snapshotKiB.toFixed(0)} KiB`);
  }
}
const json = opt("--json");
if (json) writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), quick, results }, null, 2));
