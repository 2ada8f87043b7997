/**
 * The options of `pymem bench` and their parser (one table: the usage text lists what the parser takes).
 * @module
 */
import os from "node:os";
import { delimiter } from "node:path";
import process from "node:process";
import { WORKLOADS } from "./workloads.ts";


export const USAGE = `usage: pymem bench [options]
  --quick               scale 0.3; 3 measured runs per cell, each in its own process after 1 warm-up
                        (a few minutes on 2 cores)
  --python LIST|all     CPython(s): minors (3.12), versions, library paths, or all found (default: PYMEM_LIBPYTHON,
                        else python3 on PATH)
  --workloads LIST      ${WORKLOADS.map((w) => w.name).join(",")} (default: all but known)
  --allocators LIST     ids or families: pymalloc,malloc,mimalloc,jemalloc,tcmalloc,libmimalloc, jemalloc:preload, …
                        (default: all but the debug variants)
  --debug               add pymalloc_debug, malloc_debug (and mimalloc_debug on 3.13+)
  --scale X             workload size multiplier (default 1; --quick 0.3)
  --threads N           Python threads of the threads workload (default 4)
  --warmup N --runs N   unmeasured and measured runs per process (default 1 and 2; --quick 1 and 1)
  --rounds N            processes per cell: the whole matrix runs N times, each time in a new order and new
                        processes, and the runs are pooled (default 3): 3 × 2 = 6 runs per cell, --quick 3 × 1
  --seed N              seed of the cell order (default 1)
  --runtime R           child runtime: bun (default; this runtime when bun is not installed), deno, node
  --lib-path DIRS       search these directories (':'-separated) for jemalloc/tcmalloc/mimalloc instead of the system's
  --timeout S           per child process (default 600)
  --json FILE --svg FILE --html FILE    write the results
  --no-progress         no progress bar or per-cell lines
  --list                list workloads, allocators and CPythons, then exit
  --compare A.json B.json   check that two result files rank the allocators the same wherever the difference is
                        larger than the spread (exit 1 on a conflict)`;

/** Options of one benchmark run. */
export interface BenchOptions {
  quick: boolean;
  pythons: string[] | "all" | undefined;
  workloads: string[];
  allocators: string[] | undefined;
  debug: boolean;
  scale: number;
  threads: number;
  warmup: number;
  runs: number;
  rounds: number;
  seed: number;
  runtime: "bun" | "deno" | "node";
  /** `--runtime` was given: a missing runtime is then an error, not a fallback to the parent's. */
  runtimeGiven?: boolean;
  libPath: string[] | undefined;
  timeoutMs: number;
  json?: string;
  svg?: string;
  html?: string;
  progress: boolean;
  list: boolean;
  compare?: [string, string];
}

/** Parse `pymem bench` arguments; a string is a usage error. */
export function parseBenchArgs(argv: string[]): BenchOptions | string {
  const o: BenchOptions = {
    quick: false, pythons: undefined, workloads: WORKLOADS.filter((w) => w.default).map((w) => w.name),
    allocators: undefined, debug: false, scale: NaN, threads: 4, warmup: NaN, runs: NaN, rounds: NaN, seed: 1,
    runtime: "bun", libPath: undefined, timeoutMs: 600_000, progress: true, list: false,
  };
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
  const num = (name: string, s: string | undefined, min: number, integer: boolean): number | string => {
    const v = Number(s);
    if (s === undefined || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      return `--${name} needs ${integer ? "an integer" : "a number"} ≥ ${min}, got ${s === undefined ? "nothing" : `"${s}"`}`;
    }
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    let v: number | string;
    switch (a) {
      case "--quick": o.quick = true; break;
      case "--debug": o.debug = true; break;
      case "--no-progress": o.progress = false; break;
      case "--list": o.list = true; break;
      case "--python": {
        const s = next();
        if (!s) return "--python needs a value";
        o.pythons = s === "all" ? "all" : list(s);
        break;
      }
      case "--workloads": {
        const s = next();
        if (!s) return "--workloads needs a value";
        o.workloads = list(s);
        for (const w of o.workloads) if (!WORKLOADS.some((x) => x.name === w)) return `unknown workload "${w}"`;
        break;
      }
      case "--allocators": {
        const s = next();
        if (!s) return "--allocators needs a value";
        o.allocators = list(s);
        break;
      }
      case "--scale": if (typeof (v = num("scale", next(), 0.001, false)) === "string") return v; o.scale = v; break;
      case "--threads": if (typeof (v = num("threads", next(), 1, true)) === "string") return v; o.threads = v; break;
      case "--warmup": if (typeof (v = num("warmup", next(), 0, true)) === "string") return v; o.warmup = v; break;
      case "--runs": if (typeof (v = num("runs", next(), 1, true)) === "string") return v; o.runs = v; break;
      case "--rounds": if (typeof (v = num("rounds", next(), 1, true)) === "string") return v; o.rounds = v; break;
      case "--seed": if (typeof (v = num("seed", next(), 0, true)) === "string") return v; o.seed = v; break;
      case "--timeout": if (typeof (v = num("timeout", next(), 1, false)) === "string") return v; o.timeoutMs = v * 1000; break;
      case "--runtime": {
        const s = next();
        if (s !== "bun" && s !== "deno" && s !== "node") return `--runtime must be bun, deno or node, got "${s ?? ""}"`;
        o.runtime = s;
        o.runtimeGiven = true;
        break;
      }
      case "--lib-path": {
        const s = next();
        if (s === undefined) return "--lib-path needs a value";
        o.libPath = s.split(delimiter).filter(Boolean);
        break;
      }
      case "--json": case "--svg": case "--html": {
        const s = next();
        if (!s) return `${a} needs a file name`;
        o[a.slice(2) as "json" | "svg" | "html"] = s;
        break;
      }
      case "--compare": {
        const x = next(), y = next();
        if (!x || !y) return "--compare needs two result files";
        o.compare = [x, y];
        break;
      }
      default:
        return `unknown option "${a}"`;
    }
  }
  if (Number.isNaN(o.scale)) o.scale = o.quick ? 0.3 : 1;
  if (Number.isNaN(o.warmup)) o.warmup = 1;
  // The measured runs of a cell are spread over several processes started at different times (rounds): runs in one
  // process share its heap layout and whatever else the machine was doing during those seconds, so their spread
  // understates the noise. Three processes per cell is what made two runs on a busy 2-core machine rank alike.
  if (Number.isNaN(o.rounds)) o.rounds = 3;
  if (Number.isNaN(o.runs)) o.runs = o.quick ? 1 : 2;
  return o;
}

