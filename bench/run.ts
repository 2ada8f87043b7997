/**
 * `npm run bench`: the cost of pymem itself, on Bun, Deno and Node in turn, each benchmark in its own process,
 * then one table of the ratios side by side (medians with their p25–p75 spread), each with its goal (issue 17) and
 * whether this run met it; then attaching to a ≥ 1 GiB heap (Bun) for a 4 KiB-pool and a 16 KiB-pool CPython.
 *
 *   bun bench/run.ts [--quick] [--json FILE] [--runtime bun,deno,node] [--attach 3.9,3.13 | --attach none]
 *                    [--objects 3.12]   (also classify a 1.1 GiB heap on each runtime, native and JavaScript passes,
 *                                        in-process and by attach: bench/objects.ts; minutes per runtime)
 *                    [--no-malloc]      (leave out the glibc malloc walk of a 1 GiB heap in 8 thread arenas:
 *                                        bench/malloc_walk.ts, Bun, python3's CPython)
 * (Node runs the tsc build: `npm run build` first; `npm run bench` does.) The ratios are measured side by side in one
 * process, so they hold up on a busy machine better than the times; still, quote a run on a quiet one.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { discoverPythons } from "../tests/pythons.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
const quick = argv.includes("--quick");
const runtimes = (opt("--runtime") ?? "bun,deno,node").split(",");
const bin = (n: string) => join(root, "node_modules", ".bin", n);
const command = (rt: string, bench: string): [string, string[]] =>
  rt === "bun"
    ? [bin("bun"), [join(root, "bench", `${bench}.ts`)]]
    : rt === "deno"
    ? [bin("deno"), ["run", "-A", join(root, "bench", `${bench}.ts`)]]
    // Node from PATH: this orchestrator itself usually runs under Bun, so process.execPath is not Node.
    : ["node", [join(root, "dist", "bench", `${bench}.js`)]];

const dir = mkdtempSync(join(tmpdir(), "pymem-bench-"));
// deno-lint-ignore no-explicit-any
const results: Record<string, Record<string, any>> = {};
// deno-lint-ignore no-explicit-any
const attach: Record<string, any>[] = [];
// deno-lint-ignore no-explicit-any
let mallocWalk: Record<string, any> | undefined;
// deno-lint-ignore no-explicit-any
const objects: Record<string, any>[] = [];
try {
  for (const rt of runtimes) {
    results[rt] = {};
    for (
      const [bench, extra] of [
        ["call_cost", rt === "bun" ? [] : ["--no-native"]],
        ["heap_cost", ["--arenas", quick ? "10,100,500,1000" : "10,100,500,1000,5000"]],
        ...(quick ? [] : [["call_shapes", []] as const]),
      ] as const
    ) {
      const out = join(dir, `${rt}-${bench}.json`);
      const [cmd, args] = command(rt, bench);
      process.stderr.write(`running ${bench} on ${rt}…\n`);
      const r = spawnSync(cmd, [...args, ...extra, "--json", out], {
        stdio: ["ignore", "inherit", "inherit"],
        env: process.env,
      });
      if (r.status !== 0) throw new Error(`${bench} on ${rt} failed (exit ${r.status ?? r.signal})`);
      results[rt][bench] = JSON.parse(readFileSync(out, "utf8"));
    }
  }
  // Attach (Bun): one 4 KiB-pool CPython (3.8/3.9: four times the pool headers per GiB) and one 16 KiB-pool one.
  const attachMinors = (opt("--attach") ?? "3.9,3.13") === "none" ? [] : (opt("--attach") ?? "3.9,3.13").split(",");
  const found = attachMinors.length ? discoverPythons() : [];
  for (const want of attachMinors) {
    const t = found.find((p) => p.executable && `3.${p.minor}` === want);
    if (!t) {
      attach.push({ minor: want, skipped: "no interpreter found" });
      continue;
    }
    const out = join(dir, `attach-${want}.json`);
    process.stderr.write(`running attach on bun against ${t.executable}…\n`);
    const r = spawnSync(bin("bun"), [join(root, "bench", "attach.ts"), t.executable!, "1.1", "--json", out], {
      stdio: ["ignore", "inherit", "inherit"],
      env: process.env,
    });
    attach.push(
      r.status === 0
        ? { minor: want, ...JSON.parse(readFileSync(out, "utf8")) }
        : { minor: want, skipped: `failed (exit ${r.status ?? r.signal})` },
    );
  }
  // The glibc malloc walk of a 1 GiB, 8-arena heap (Bun), in-process and by attach, on python3's CPython.
  if (!argv.includes("--no-malloc")) {
    const out = join(dir, "malloc-walk.json");
    process.stderr.write("running malloc_walk on bun…\n");
    const r = spawnSync(bin("bun"), [join(root, "bench", "malloc_walk.ts"), "--json", out], {
      stdio: ["ignore", "inherit", "inherit"],
      env: process.env,
    });
    mallocWalk = r.status === 0
      ? JSON.parse(readFileSync(out, "utf8"))
      : { skipped: `failed (exit ${r.status ?? r.signal})` };
  }
  // Classification of a ≥ 1 GiB heap (issue 27), opt-in: building the heaps takes minutes on each runtime.
  const objectsMinor = opt("--objects");
  if (objectsMinor) {
    const t = discoverPythons().find((p) => p.executable && `3.${p.minor}` === objectsMinor && !p.launch);
    for (const rt of runtimes) {
      if (!t) {
        objects.push({ runtime: rt, skipped: `no CPython ${objectsMinor} interpreter found` });
        continue;
      }
      const out = join(dir, `objects-${rt}.json`);
      const [cmd, args] = command(rt, "objects");
      process.stderr.write(`running objects on ${rt} against ${t.executable}…\n`);
      const r = spawnSync(cmd, [...args, t.executable!, "1.1", "--json", out], {
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, PYMEM_LIBPYTHON: t.library },
      });
      objects.push(
        r.status === 0
          ? JSON.parse(readFileSync(out, "utf8"))
          : { runtime: rt, skipped: `failed (exit ${r.status ?? r.signal})` },
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

type Ratio = { median: number; low: number; high: number };
const fmt = (r: Ratio) => `${r.median.toFixed(2)}x (${r.low.toFixed(2)}–${r.high.toFixed(2)})`;
const verdict = (value: number, goal: number) => (value <= goal ? "met" : "MISSED");
console.log("\n== pymem's own costs, side by side (ratios: median, p25/p75 … p75/p25 spread) ==");
console.log(
  "call cost: PyObject_Malloc/Free pair; pymem vs the same C functions as pymem binds them (bound), and vs the runtime's fastest raw form",
);
const CALL_GOAL: Record<string, number> = { bun: 1.25, deno: 1.10, node: 1.10 };
for (const rt of runtimes) {
  const c = results[rt].call_cost;
  console.log(`  ${rt}: raw form = ${c.rawForm}`);
  c.rows.forEach((row: { case: string; pymemNs: number; vsBound?: Ratio; vsRaw: Ratio }, i: number) => {
    const goal = i === 0 ? `  goal ≤ ${CALL_GOAL[rt].toFixed(2)}x: ${verdict(row.vsRaw.median, CALL_GOAL[rt])}` : "";
    console.log(
      `  ${rt.padEnd(5)} ${row.case.padEnd(34)} ${row.pymemNs.toFixed(1).padStart(6)} ns  vs raw ${
        fmt(row.vsRaw).padEnd(20)
      } vs bound ${row.vsBound ? fmt(row.vsBound) : "-"}${goal}`,
    );
  });
  const native = c.native && "obj" in c.native ? `, native C ${c.native.obj.toFixed(1)} ns` : "";
  console.log(`  ${rt.padEnd(5)} yardsticks: ctypes ${c.ctypesNs.toFixed(0)} ns${native}`);
}
if (!quick) {
  console.log(
    "\nthe obj pair inside withGIL once the program has also used other call shapes (bench/call_shapes.ts; ns a pair, pymem / raw in the same shapes)",
  );
  for (const rt of runtimes) {
    const rows = results[rt].call_shapes.rows as { mix: string; pymemNs: number; rawNs: number }[];
    console.log(
      `  ${rt.padEnd(5)} ` +
        rows.map((r) => `${r.mix} ${r.pymemNs.toFixed(1)}/${r.rawNs.toFixed(1)} (${(r.pymemNs / r.rawNs).toFixed(2)}x)`)
          .join(", "),
    );
  }
}
console.log("\nmap cost: py.heap() / CPython's C walker, same heap, same process (goal ≤ 1.00x from 500 arenas)");
for (const rt of runtimes) {
  for (const r of results[rt].heap_cost.rows) {
    const goal = r.arenas >= 450 ? `  goal ≤ 1.00x: ${verdict(r.ratio, 1)}` : "";
    console.log(
      `  ${rt.padEnd(5)} ${String(r.arenas).padStart(5)} arenas  ${
        fmt({ median: r.ratio, low: r.low, high: r.high }).padEnd(20)
      } py.heap ${r.heapMs.toFixed(3)} ms (${r.threads} thread${r.threads === 1 ? "" : "s"}), C ${
        r.cWalkerMs.toFixed(3)
      } ms, ` +
        `attach(self) ${r.attachMs.toFixed(2)} ms, snapshot ${r.snapshotKiB.toFixed(0)} KiB${goal}`,
    );
  }
}
if (attach.length) {
  console.log(
    "\nattach + full map of a ≥ 1 GiB heap on Bun (first call cold, then median of 7 warm; goal ≤ 100 ms cold)",
  );
  for (const a of attach) {
    if (a.skipped) console.log(`  ${a.minor}: skipped, ${a.skipped}`);
    else {console.log(
        `  CPython ${a.version} (${a.poolSize / 1024} KiB pools, ${a.pools} used pools): cold ${
          a.coldMs.toFixed(1)
        } ms, ` +
          `warm ${a.warmMs.toFixed(1)} ms (${a.warmMinMs.toFixed(1)}–${a.warmMaxMs.toFixed(1)})  goal ≤ 100 ms cold: ${
            verdict(a.coldMs, 100)
          }`,
      );}
  }
}
if (mallocWalk) {
  console.log(
    "\nglibc malloc walk of a 1 GiB heap in 8 thread arenas (Bun; goals ≤ 300 ms in-process, ≤ 800 ms attach)",
  );
  if (mallocWalk.skipped) console.log(`  skipped, ${mallocWalk.skipped}`);
  else {
    for (const [where, goal] of [["inProcess", 300], ["attach", 800]] as const) {
      const m = mallocWalk[where];
      console.log(
        `  ${
          where === "inProcess" ? "in-process" : "attach    "
        } ${m.chunksInUse} chunks in use, ${m.arenas} arenas: ` +
          `mallocHeap() ${m.mallocHeapMs.toFixed(0)} ms  goal ≤ ${goal} ms: ${verdict(m.mallocHeapMs, goal)}; ` +
          `objects() ${m.objectsMs.toFixed(0)} ms; obmalloc heap() ${m.obmallocHeapMs.toFixed(1)} ms`,
      );
    }
  }
}
if (objects.length) {
  console.log(
    "\nclassification of a ≥ 1 GiB heap (bench/objects.ts; median ms, CPU ms in brackets; native pass / JavaScript pass)",
  );
  for (const o of objects) {
    if (o.skipped) {
      console.log(`  ${o.runtime}: skipped, ${o.skipped}`);
      continue;
    }
    const i = o.inProcess;
    if (i) {
      console.log(
        `  ${o.runtime.padEnd(5)} in-process ${i.gib.toFixed(2)} GiB: ${i.nativeMs.toFixed(0)} (${
          i.nativeCpuMs.toFixed(0)
        }) / ${i.jsMs.toFixed(0)} (${i.jsCpuMs.toFixed(0)}) ms = ${(i.jsMs / i.nativeMs).toFixed(2)}x; ` +
          `the heap map ${i.heapMs.toFixed(0)} ms; goal ≤ 250 ms per GiB: ${verdict(i.nativeMs / i.gib, 250)}`,
      );
    }
    for (const a of o.attach.filter((x: { native: boolean }) => x.native)) {
      const js = o.attach.find((x: { label: string; native: boolean }) => x.label === a.label && !x.native);
      const goal = a.label.startsWith("dense") ? 600 : 200;
      console.log(
        `  ${o.runtime.padEnd(5)} attach, ${a.label}: ${a.medianMs.toFixed(0)} (${a.cpuMs.toFixed(0)})${
          js
            ? ` / ${js.medianMs.toFixed(0)} (${js.cpuMs.toFixed(0)}) ms = ${(js.medianMs / a.medianMs).toFixed(2)}x`
            : ""
        }; goal ≤ ${goal} ms per GiB: ${verdict(a.medianMs / a.gib, goal)}`,
      );
    }
  }
}
const load = (() => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  } catch {
    return "?";
  }
})();
console.log(
  `\n1-minute load average at the end: ${load} (on ${availableParallelism()} CPUs): above ~1 the times, and the two-thread walks, are not a quiet machine's`,
);
const json = opt("--json");
if (json) {
  writeFileSync(
    json,
    JSON.stringify({ date: new Date().toISOString(), quick, load, results, attach, objects, mallocWalk }, null, 2),
  );
}
