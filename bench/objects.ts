/**
 * Benchmark: classify every block of a ≥ 1 GiB obmalloc heap (≥ 1,000 arenas), in-process and by attach, and the
 * pinning view of a badly fragmented one by attach, with the native pass (lib/objects/classify-pass.ts) and with the
 * JavaScript reference (`objects({ native: false })`) side by side. Goals (issue 27): in-process ≤ 250 ms, attach
 * ≤ 600 ms for the full classification of 1 GiB; the fragmented heap's pinning view ≤ 200 ms per GiB of arenas by
 * attach.
 *
 *   bun bench/objects.ts [python executable] [GiB] [--json FILE]     (default: python3 on PATH, 1.1 GiB)
 *   deno run -A bench/objects.ts …    node dist/bench/objects.js …
 *
 * The heap: rows of (int, float, str, bytes) in a tuple, about 10 million objects per GiB, all live ("dense"); then
 * a second target keeps every 100th row ("sparse": the arenas stay mapped by a few survivors each). In-process uses
 * the embedded interpreter of the same version (PYMEM_LIBPYTHON, else discovery). Times are the median of 5 runs
 * after one warm-up; each run is `heap()` then `objects()` (attach: a fresh attach each run).
 * @module
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { attachPython, openPython } from "../lib/mod.ts";

const argv = process.argv.slice(2);
const jsonAt = argv.indexOf("--json");
const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const positional = jsonAt >= 0 ? [...argv.slice(0, jsonAt), ...argv.slice(jsonAt + 2)] : argv;
const exe = positional[0] ?? process.env.PYMEM_BENCH_PYTHON ?? "python3";
const gib = Number(positional[1] ?? 1.1);
/** What --json writes: each case's medians (wall and CPU, ms) and the heap's size, for bench/run.ts's table. */
const report: {
  inProcess?: Record<string, number>;
  attach: { label: string; native: boolean; medianMs: number; cpuMs: number; gib: number }[];
} = { attach: [] };
// About 430 bytes of blocks a row: tuple 64, float 32, str ~80, bytes ~240, plus an int now and then.
const rows = Math.ceil((gib * 2 ** 30) / 430);
const build = (keepEvery: number) =>
  `keep = [(i, float(i), 'x' * (i % 60), b'y' * (i % 400)) for i in range(${rows})]\n` +
  (keepEvery > 1 ? `keep = keep[::${keepEvery}]\nimport gc; gc.collect()\n` : "");
const runtime = (globalThis as { Bun?: unknown }).Bun
  ? "bun"
  : (globalThis as { Deno?: unknown }).Deno
  ? "deno"
  : "node";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function target(keepEvery: number): Promise<{ pid: number; stop: () => void }> {
  const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-bench-"));
  const ready = join(dir, "ready");
  const script = `import sys, signal\n${build(keepEvery)}open(sys.argv[1], 'w').write('1')\nsignal.pause()\n`;
  const child = spawn(exe, ["-c", script, ready], { stdio: ["ignore", "ignore", "inherit"] });
  while (!fs.existsSync(ready) || fs.readFileSync(ready, "utf8") !== "1") {
    if (child.exitCode !== null) throw new Error(`${exe} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid!, stop: () => (child.kill("SIGKILL"), fs.rmSync(dir, { recursive: true, force: true })) };
}

async function byAttach(
  label: string,
  keepEvery: number,
  what: "objects" | "pinning",
  native: boolean,
): Promise<void> {
  const t = await target(keepEvery);
  try {
    const times: number[] = [], cpu: number[] = [];
    let line = "", arenaGiB = 0;
    for (let i = 0; i < 6; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const py = await attachPython(t.pid);
      const snap = py.heap();
      const objects = snap.objects({ native });
      if (what === "pinning") snap.pinning({ limit: 10 });
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if (i === 0) {
        arenaGiB = snap.totals.arenaBytes / 2 ** 30;
        line =
          `CPython ${py.version.major}.${py.version.minor}.${py.version.micro}: ${snap.totals.arenas} arenas (${
            (snap.totals.arenaBytes / 2 ** 30).toFixed(2)
          } GiB), ` +
          `${snap.totals.pools} used pools, ${objects.totals.blocks} live blocks, ${objects.totals.objects} objects, ` +
          `${objects.totals.types} types, ${objects.totals.unreadPools} unread pools`;
      }
      py.close();
    }
    console.log(`${runtime} attach, ${label}, ${native ? "native pass" : "JavaScript pass"}: ${line}`);
    report.attach.push({
      label,
      native,
      medianMs: median(times.slice(1)),
      cpuMs: median(cpu.slice(1)),
      gib: arenaGiB,
    });
    console.log(
      `  attach + heap() + objects()${what === "pinning" ? " + pinning()" : ""}: median ${
        median(times.slice(1)).toFixed(0)
      } ms ` +
        `(first ${times[0].toFixed(0)} ms, min ${Math.min(...times.slice(1)).toFixed(0)}); CPU (this process, all ` +
        `threads, user + system) median ${median(cpu.slice(1)).toFixed(0)} ms; goal ${
          what === "pinning" ? "≤ 200 ms per GiB of arenas" : "≤ 600 ms"
        }; load average ${os.loadavg()[0].toFixed(1)}`,
    );
  } finally {
    t.stop();
  }
}

async function inProcess(): Promise<void> {
  const py = await openPython();
  try {
    py.run(build(1));
    const times: number[] = [], walk: number[] = [], js: number[] = [], cpu: number[] = [], jsCpu: number[] = [];
    const ms = (c: { user: number; system: number }) => (c.user + c.system) / 1000;
    let line = "", arenaGiB = 0;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      const snap = py.heap();
      const t1 = performance.now();
      let c0 = process.cpuUsage();
      const objects = snap.objects({ native: true });
      cpu.push(ms(process.cpuUsage(c0)));
      times.push(performance.now() - t1);
      const t2 = performance.now();
      c0 = process.cpuUsage();
      snap.objects({ native: false });
      jsCpu.push(ms(process.cpuUsage(c0)));
      js.push(performance.now() - t2);
      walk.push(t1 - t0);
      if (i === 0) {
        arenaGiB = snap.totals.arenaBytes / 2 ** 30;
        line =
          `CPython ${py.version.major}.${py.version.minor}.${py.version.micro}: ${snap.totals.arenas} arenas (${
            (snap.totals.arenaBytes / 2 ** 30).toFixed(2)
          } GiB), ` +
          `${objects.totals.blocks} live blocks, ${objects.totals.objects} objects, ${objects.totals.types} types`;
      }
    }
    console.log(`${runtime} in-process, dense: ${line}`);
    report.inProcess = {
      nativeMs: median(times.slice(1)),
      nativeCpuMs: median(cpu.slice(1)),
      jsMs: median(js.slice(1)),
      jsCpuMs: median(jsCpu.slice(1)),
      heapMs: median(walk.slice(1)),
      gib: arenaGiB,
    };
    console.log(
      `  objects(): median ${median(times.slice(1)).toFixed(0)} ms (first ${times[0].toFixed(0)}, min ${
        Math.min(...times.slice(1)).toFixed(0)
      }; goal ≤ 250 ms), CPU ${median(cpu.slice(1)).toFixed(0)} ms; JavaScript pass ${
        median(js.slice(1)).toFixed(0)
      } ms, CPU ${median(jsCpu.slice(1)).toFixed(0)} ms; heap() before it: median ${
        median(walk.slice(1)).toFixed(0)
      } ms; load average ${os.loadavg()[0].toFixed(1)}`,
    );
  } finally {
    py.close();
  }
}

if (!process.env.NO_INPROC) await inProcess();
for (const native of [true, false]) {
  if (process.env.NO_ATTACH) break;
  await byAttach("dense", 1, "objects", native);
  await byAttach("sparse (every 100th row kept)", 100, "pinning", native);
}
if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ runtime, load: os.loadavg()[0], ...report }, null, 2));
