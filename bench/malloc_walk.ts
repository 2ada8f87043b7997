/**
 * Benchmark: the glibc malloc walk (lib/glibc/) of a ≥ 1 GiB malloc heap in 8 thread arenas (issue 25's workload:
 * 8 threads each allocate 40,000 bytearrays of 2–5 KB and free half: ~160,000 chunks in use, as many free), in-process
 * and by attach, beside the obmalloc walk of the same process (py.heap()) and the chunks' classification.
 * Goals: ≤ 300 ms in-process, ≤ 800 ms by attach.
 *
 *   bun bench/malloc_walk.ts [python executable] [--json FILE]   (default: python3 on PATH)
 *   deno run -A bench/malloc_walk.ts …    node dist/bench/malloc_walk.js …
 *
 * The in-process figures load the libpython of PYMEM_LIBPYTHON (or the default search) and run the same workload in
 * it; the attach figures read a child process running it.
 * @module
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { attachPython, type MallocHeap, openPython } from "../lib/mod.ts";
import { runtimeKind } from "../lib/core/runtime.ts";

const jsonAt = process.argv.indexOf("--json");
const positional = process.argv.slice(2).filter((_, i, a) => a[i] !== "--json" && a[i - 1] !== "--json");
const exe = positional[0] ?? process.env.PYMEM_BENCH_PYTHON ?? "python3";
const RUNS = 5;
const WORKLOAD = `
import threading
_keep = []
def _work(k):
    mine = [bytearray(2000 + (i * 37 + k) % 3000) for i in range(40000)]
    del mine[::2]
    _keep.append(mine)
_threads = [threading.Thread(target=_work, args=(k,)) for k in range(8)]
for t in _threads: t.start()
for t in _threads: t.join()
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/**
 * Wall time of each run, and the CPU time this process spent in it (user + system: the kernel's copy of the
 * target's pages is system time), which a busy shared machine inflates far less than the wall time.
 */
function time<T>(f: () => T): { ms: number[]; cpuMs: number[]; last: T } {
  const ms: number[] = [], cpuMs: number[] = [];
  let last: T;
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    last = f();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { ms, cpuMs, last: last! };
}
const describe = (h: MallocHeap) =>
  `${h.arenas.length} arenas, ${
    (h.totals.systemBytes / 2 ** 30).toFixed(2)
  } GiB, ${h.totals.inUse.chunks} chunks in use, ${
    h.totals.free.large.chunks + h.totals.free.small.chunks + h.totals.free.unsorted.chunks
  } free in bins`;
const fmt = (ms: number[]) =>
  `median ${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)})`;

const runtime = runtimeKind();
const result: Record<string, unknown> = { runtime };

// In-process.
{
  const py = await openPython();
  py.run(WORKLOAD);
  const walk = time(() => py.mallocHeap());
  const heap = time(() => py.heap());
  const t0 = performance.now();
  const objects = walk.last.objects();
  const classifyMs = performance.now() - t0;
  console.log(`in-process (${runtime}, CPython ${py.version.major}.${py.version.minor}): ${describe(walk.last)}`);
  console.log(
    `  mallocHeap() ${fmt(walk.ms)}, CPU ${median(walk.cpuMs).toFixed(0)} ms  goal ≤ 300 ms: ${
      median(walk.ms) <= 300 ? "met" : "MISSED"
    }; ` +
      `py.heap() ${fmt(heap.ms)}; objects() ${
        classifyMs.toFixed(0)
      } ms (${objects.totals.objects} objects, ${objects.totals.namedBuffers} named buffers)`,
  );
  result.inProcess = {
    arenas: walk.last.arenas.length,
    systemBytes: walk.last.totals.systemBytes,
    chunksInUse: walk.last.totals.inUse.chunks,
    mallocHeapMs: median(walk.ms),
    mallocHeapCpuMs: median(walk.cpuMs),
    obmallocHeapMs: median(heap.ms),
    objectsMs: classifyMs,
  };
  py.run("del _keep");
  py.close();
}

// By attach.
const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-bench-"));
const ready = join(dir, "ready");
const script = `${WORKLOAD}\nimport sys, signal\nopen(sys.argv[1], 'w').write('1')\nsignal.pause()\n`;
const child = spawn(exe, ["-c", script, ready], { stdio: ["ignore", "ignore", "inherit"] });
try {
  while (!fs.existsSync(ready) || fs.readFileSync(ready, "utf8") !== "1") {
    if (child.exitCode !== null) throw new Error(`${exe} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const a = await attachPython(child.pid!);
  try {
    const first = performance.now();
    a.mallocHeap();
    const coldMs = performance.now() - first;
    const calls0 = a.debugInfo.readCalls;
    const walk = time(() => a.mallocHeap());
    const calls = (a.debugInfo.readCalls - calls0) / RUNS;
    const heap = time(() => a.heap());
    const t0 = performance.now();
    const objects = walk.last.objects();
    const classifyMs = performance.now() - t0;
    console.log(`attach (${runtime}, ${exe}): ${describe(walk.last)}`);
    console.log(
      `  mallocHeap() first ${coldMs.toFixed(0)} ms, then ${fmt(walk.ms)}, CPU ${median(walk.cpuMs).toFixed(0)} ms, ${
        calls.toFixed(0)
      } read calls  goal ≤ 800 ms: ${median(walk.ms) <= 800 ? "met" : "MISSED"}; heap() ${fmt(heap.ms)}; objects() ${
        classifyMs.toFixed(0)
      } ms (${objects.totals.objects} objects, ${objects.totals.namedBuffers} named buffers)`,
    );
    result.attach = {
      arenas: walk.last.arenas.length,
      systemBytes: walk.last.totals.systemBytes,
      chunksInUse: walk.last.totals.inUse.chunks,
      coldMs,
      mallocHeapMs: median(walk.ms),
      mallocHeapCpuMs: median(walk.cpuMs),
      readCalls: calls,
      obmallocHeapMs: median(heap.ms),
      objectsMs: classifyMs,
    };
  } finally {
    a.close();
  }
} finally {
  child.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
}
if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], JSON.stringify(result, null, 2));
