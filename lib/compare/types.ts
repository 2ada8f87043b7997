/**
 * The result document of `pymem bench` (`--json FILE`), schema "pymem-bench/1". BENCHMARKS.md describes each field;
 * these types are the reference. Bytes are integers; times are milliseconds (floats).
 * @module
 */
import type { HeapFigures, RunSample } from "./child.ts";

/** How an allocator reaches CPython. */
export type AllocatorMode = "cpython" | "preload" | "pymem";

/** One allocator variant of the comparison. */
export interface AllocatorVariant {
  /** "pymalloc", "malloc", "mimalloc", "jemalloc:preload", "tcmalloc:pymem", … */
  id: string;
  /** "cpython": chosen through PyPreConfig (as PYTHONMALLOC=…); "preload": LD_PRELOAD + PYTHONMALLOC=malloc in a
   * fresh process; "pymem": installed in-process by `openPython({ allocator: { library } })`. */
  mode: AllocatorMode;
  /** The library family: "pymalloc", "glibc", "mimalloc", "jemalloc", "tcmalloc". */
  family: string;
  /** What the child passes to openPython. */
  allocator: string | { library: string };
  /** Extra environment of the child (LD_PRELOAD, GLIBC_TUNABLES). */
  env: Record<string, string>;
  /** Resolved library path (third-party only). */
  library?: string;
  /** Library version: the distribution package's, else the file name's. */
  libraryVersion?: string;
  /** The distribution package that provides the library. */
  package?: string;
  /** How a user turns this on outside the benchmark: the complexity side of the trade-off. */
  how: string;
  /** Set when the variant cannot run at all on this machine (library missing …). */
  skipped?: string;
}

/** Median, min and max of one quantity over the measured runs of a cell. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** One cell: one workload × one allocator × one CPython. */
export interface CellResult {
  python: string;
  library: string;
  workload: string;
  allocator: string;
  status: "ok" | "skipped" | "failed";
  /** Why the cell was skipped or failed. */
  reason?: string;
  /** Position(s) in the run order (one per round). */
  order: number[];
  /** Extra environment the child ran with. */
  env: Record<string, string>;
  /** CPython's name for the running allocator; null when a third-party library serves the domains. */
  allocatorName?: string | null;
  /** RSS of the JS runtime before libpython was loaded, and after Python started (the baseline); per process. */
  rssRuntime: number[];
  rssPython: number[];
  /** RSS at the end, everything deleted; per process. */
  rssFinal: number[];
  /** RSS after free of each process's first run (warm-up included): where its growth is measured from. */
  firstAfterFree: number[];
  /** The measured runs, every process of the cell pooled, in order. */
  samples: (RunSample & { process: number })[];
  summary?: CellSummary;
  /** obmalloc figures after the last run, survivors alive (pymalloc only). */
  heap?: HeapFigures | null;
  /** Whether every run computed the same checksum as the reference allocator. */
  checksum?: string;
  checksumOk?: boolean;
  /** Seconds the child processes of this cell took, start to exit. */
  seconds: number;
}

/** Spreads of a cell's measured runs. Memory "over baseline" is relative to the RSS after Python started. */
export interface CellSummary {
  wallMs: Spread;
  cpuMs: Spread;
  peakRss: Spread;
  /** Peak RSS minus the baseline (RSS once Python had started, before the warm-up). */
  peakOverBaseline: Spread;
  rssAfterFree: Spread;
  /** RSS after free minus the baseline: what the process kept after the data was gone. */
  afterFreeOverBaseline: Spread;
  minorFaults: Spread;
  /**
   * Growth across the runs of one process (a leak, or an allocator creeping): RSS after free of its last run minus
   * that of its first run (the warm-up included); the median over the processes of the cell.
   */
  afterFreeGrowth: number;
}

/** One allocator against pymalloc on one workload and CPython, for one metric. */
export interface Comparison {
  python: string;
  workload: string;
  allocator: string;
  metric: "wallMs" | "cpuMs" | "peakOverBaseline" | "afterFreeOverBaseline";
  /** median / pymalloc median (time), or median − pymalloc median in bytes (memory). */
  value: number;
  /** The same over the extremes: [min/max_p, max/min_p] (time) or [min−max_p, max−min_p] (memory). */
  low: number;
  high: number;
  /** The runs' ranges overlap: the difference is within noise. */
  withinNoise: boolean;
}

/** The whole result document. */
export interface BenchDocument {
  schema: "pymem-bench/1";
  createdAt: string;
  command: string[];
  /** Wall time of the whole benchmark, seconds. */
  seconds: number;
  machine: {
    os: string;
    kernel: string;
    arch: string;
    cpuModel: string;
    cpus: number;
    memoryBytes: number;
    libc: string;
    /** 1-minute load average before and after: other work on the machine makes results noisier. */
    loadStart: number;
    loadEnd: number;
  };
  runner: { parentRuntime: string; childRuntime: string; childCommand: string[]; pymemVersion: string };
  settings: {
    quick: boolean;
    scale: number;
    threads: number;
    warmup: number;
    runs: number;
    rounds: number;
    seed: number;
    workloads: string[];
    allocators: string[];
  };
  pythons: { version: string; library: string; source: string; stripped: boolean }[];
  allocators: AllocatorVariant[];
  workloads: { name: string; doc: string }[];
  cells: CellResult[];
  comparisons: Comparison[];
  /** Notes gathered while running (skipped variants, busy machine, …). */
  notes: string[];
}
