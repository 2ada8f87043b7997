/**
 * The child process of `pymem bench`: one cell (one workload × one allocator × one CPython) per process, because
 * the allocator is chosen before CPython starts and one libpython lives per process.
 *
 * Run by lib/compare/runner.ts as `<runtime> lib/compare/child.ts '<plan json>'` with PYMEM_LIBPYTHON selecting the
 * library (and LD_PRELOAD / GLIBC_TUNABLES when the cell needs them). It measures the JS runtime's own RSS before
 * opening Python, opens Python with the requested allocator, loads the workload, runs `warmup` unmeasured runs and
 * `runs` measured ones, and prints exactly one line `PYMEM_BENCH <json>` (a {@link ChildResult}), errors included.
 *
 * Per measured run: wall time, CPU time (user + system) and minor/major page faults of the whole process around the
 * `py.run` call; peak RSS (VmHWM, reset through /proc/self/clear_refs before the run so it is this run's peak);
 * RSS after the workload's data was freed and `gc.collect()` ran (VmRSS). Linux only: /proc is the source of truth.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
// From python.ts, not mod.ts: mod.ts re-exports the runner, which imports this file.
import { type AllocatorName, type LibraryAllocator, openPython, type Python } from "../python.ts";
import { isMain, runtimeName } from "../core/runtime.ts";
import { workload } from "./workloads.ts";

/** What the parent asks one child to do. */
export interface ChildPlan {
  workload: string;
  /** A CPython allocator name, or a third-party library installed in-process by pymem. */
  allocator: AllocatorName | LibraryAllocator;
  scale: number;
  threads: number;
  warmup: number;
  runs: number;
  /** Only open Python with the allocator and report what runs (the runner's preflight); no workload. */
  probe?: boolean;
  /** Walk the obmalloc heap after the last run when pymalloc serves the object domain. */
  heap?: boolean;
}

/** One measured run. Bytes and microseconds are integers. */
export interface RunSample {
  wallMs: number;
  /** User + system CPU time of the whole process during the run. */
  cpuMs: number;
  userMs: number;
  sysMs: number;
  minorFaults: number;
  majorFaults: number;
  /** RSS just before the run (after the previous run's survivors were cleared and collected). */
  rssBefore: number;
  /** Peak RSS during the run (VmHWM, reset before the run; process-wide peak when the reset is unavailable). */
  peakRss: number;
  /** RSS after the workload's data was freed and gc.collect() ran (its deliberate survivors, `kept`, alive). */
  rssAfterFree: number;
  /** The workload's checksum: equal for every allocator. */
  checksum: string;
}

/** obmalloc's state after the last run (survivors alive), when pymalloc serves the object domain. */
export interface HeapFigures {
  arenas: number;
  arenaBytes: number;
  bytesInUse: number;
  /** Bytes in use / bytes of all arenas, 0..1. */
  utilization: number;
  pinnedArenas: number;
  arenasIfPacked: number;
  reclaimableArenas: number;
  freeBytesInUsedPools: number;
}

/** The one line a child prints (after `PYMEM_BENCH `). */
export interface ChildResult {
  ok: boolean;
  error?: { name?: string; code?: string; message?: string };
  pid: number;
  runtime: string;
  /** CPython version of the loaded library, and its path. */
  python?: string;
  library?: string;
  /** CPython's own name for the running allocator (null when a third-party library serves the domains). */
  allocatorName?: string | null;
  /** RSS of the JS runtime alone, before libpython was loaded. */
  rssRuntime: number;
  /** RSS after Python was initialized and the workload source was compiled, before the warm-up. */
  rssPython?: number;
  /** Whether VmHWM could be reset per run (else `peakRss` is the process-wide peak so far). */
  peakResettable?: boolean;
  samples: RunSample[];
  /** RSS after free of the first run of the process (warm-up or measured): the start of `growth`. */
  firstAfterFree?: number;
  heap?: HeapFigures | null;
  /** RSS after everything, `kept` included, was deleted and collected, at the end. */
  rssFinal?: number;
}

/** VmRSS / VmHWM from /proc/self/status, in bytes. */
function status(): { rss: number; hwm: number } {
  const s = readFileSync("/proc/self/status", "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Reset VmHWM to the current RSS (Linux ≥ 4.0: writing 5 to clear_refs). False when not permitted. */
function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

interface Usage {
  user: number;
  sys: number;
  minflt: number;
  majflt: number;
}

/**
 * getrusage(RUSAGE_SELF) as the runtime exposes it: process.resourceUsage() in Node and Bun (and Deno's node:process
 * where present; µs resolution), else /proc/self/stat (clock ticks: 10 ms resolution, stated in the results).
 */
function usage(): Usage {
  const ru = (process as { resourceUsage?: () => NodeJS.ResourceUsage }).resourceUsage;
  if (typeof ru === "function") {
    try {
      const r = ru();
      return {
        user: r.userCPUTime / 1000,
        sys: r.systemCPUTime / 1000,
        minflt: r.minorPageFault,
        majflt: r.majorPageFault,
      };
    } catch { /* fall through to /proc */ }
  }
  // Fields after the parenthesised command name: state(3) … minflt(10) cminflt majflt(12) cmajflt utime(14) stime(15).
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const tick = 10; // ms per clock tick with the usual USER_HZ of 100
  return { minflt: Number(f[7]), majflt: Number(f[9]), user: Number(f[11]) * tick, sys: Number(f[12]) * tick };
}

/** Fragmentation figures of the heap, or null when they cannot be read (pymem has no layout for the build). */
function heapFigures(py: Python): HeapFigures | null {
  try {
    const h = py.heap();
    const f = h.fragmentation;
    return {
      arenas: h.totals.arenas,
      arenaBytes: h.totals.arenaBytes,
      bytesInUse: h.totals.bytesInUse,
      utilization: f.utilization,
      pinnedArenas: f.pinnedArenas,
      arenasIfPacked: f.arenasIfPacked,
      reclaimableArenas: f.reclaimableArenas,
      freeBytesInUsedPools: f.freeBytesInUsedPools,
    };
  } catch {
    return null;
  }
}

/** Run one plan and return what the parent reads. Never throws: errors are part of the result. */
export async function runPlan(plan: ChildPlan): Promise<ChildResult> {
  const out: ChildResult = {
    ok: false,
    pid: process.pid,
    runtime: runtimeName(),
    rssRuntime: status().rss,
    samples: [],
  };
  let py: Python | undefined;
  try {
    const w = plan.probe ? undefined : workload(plan.workload);
    if (!plan.probe && !w) throw new RangeError(`Unknown workload "${plan.workload}"`);
    py = await openPython({ allocator: plan.allocator });
    const v = py.version;
    out.python = `${v.major}.${v.minor}.${v.micro}`;
    out.library = py.library;
    out.allocatorName = py.allocatorName();
    if (w) {
      // The workload lives in its own module dict so its globals (bench_run, kept) never mix with the harness's.
      py.run(
        `import gc, types\n_bench = types.ModuleType("pymem_bench_${w.name}")\n_bench.kept = None\n` +
          `exec(compile(${JSON.stringify(w.source)}, "<pymem bench ${w.name}>", "exec"), _bench.__dict__)\n` +
          "gc.collect()\n",
      );
      out.rssPython = status().rss;
      out.peakResettable = resetPeak();
      const call = `_chk = _bench.bench_run(${plan.scale}, ${plan.threads})`;
      for (let i = 0; i < plan.warmup + plan.runs; i++) {
        py.run("_bench.kept = None\n_chk = None\ngc.collect()\n");
        const rssBefore = status().rss;
        resetPeak();
        const u0 = usage();
        const t0 = performance.now();
        py.run(call);
        const t1 = performance.now();
        const u1 = usage();
        const peakRss = status().hwm;
        py.run("gc.collect()");
        const rssAfterFree = status().rss;
        const checksum = String(py.eval("str(_chk)"));
        if (i === 0) out.firstAfterFree = rssAfterFree;
        if (i < plan.warmup) continue;
        out.samples.push({
          wallMs: t1 - t0,
          cpuMs: u1.user + u1.sys - u0.user - u0.sys,
          userMs: u1.user - u0.user,
          sysMs: u1.sys - u0.sys,
          minorFaults: u1.minflt - u0.minflt,
          majorFaults: u1.majflt - u0.majflt,
          rssBefore,
          peakRss: Math.max(peakRss, rssBefore),
          rssAfterFree,
          checksum,
        });
      }
      const name = out.allocatorName ?? "";
      out.heap = plan.heap !== false && name.startsWith("pymalloc") ? heapFigures(py) : null;
      py.run("_bench.kept = None\n_chk = None\ngc.collect()\n");
      out.rssFinal = status().rss;
    }
    out.ok = true;
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string };
    out.error = { name: err.name, code: err.code, message: err.message };
  }
  // Not closed: finalizing would only add time and could trip over an allocator that cannot be uninstalled; the
  // process exits right after printing.
  return out;
}

const PREFIX = "PYMEM_BENCH ";

/** Parse the child's output: the last `PYMEM_BENCH {…}` line, or undefined. */
export function parseChildOutput(stdout: string): ChildResult | undefined {
  const line = stdout.split("\n").reverse().find((l) => l.startsWith(PREFIX));
  return line ? JSON.parse(line.slice(PREFIX.length)) as ChildResult : undefined;
}

if (isMain(import.meta.url)) {
  const plan = JSON.parse(process.argv[2] ?? "{}") as ChildPlan;
  const result = await runPlan(plan);
  process.stdout.write(PREFIX + JSON.stringify(result) + "\n");
  // Exit at once: Python threads or an in-process allocator must not hold the runtime open.
  process.exit(0);
}
