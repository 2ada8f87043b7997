/**
 * The options of `pymem bench`: one table (lib/command-line.ts, as every command's) from which `--help` and the
 * parser are generated, and the checks of their values.
 * @module
 */
import { delimiter } from "node:path";
import { WORKLOADS } from "./workloads.ts";
import { checkDestinations, type CommandText, type OptionValues, parseOptions } from "../command-line.ts";

/** `pymem bench`'s summary, usage and option table (the help and the parser are generated from it). */
export const BENCH_TEXT: CommandText = {
  name: "bench",
  summary: "compare pymalloc, malloc, mimalloc, jemalloc and tcmalloc on the same Python workloads",
  usage: "pymem bench [options]        pymem bench --compare A.json B.json",
  about: [
    "Runs each workload under each allocator (preloaded and in-process) and CPython, each cell in fresh processes " +
    "started in a new order every round, and reports time, peak RSS and the heap per cell, with the spread of the " +
    "runs (BENCHMARKS.md).",
    "--compare checks that two result files rank the allocators the same wherever the difference is larger than the " +
    "spread (exit status 1 on a conflict).",
  ],
  options: [
    {
      name: "quick",
      help: "scale 0.3; 3 measured runs per cell, each in its own process after 1 warm-up (a few minutes on 2 cores)",
    },
    {
      name: "python",
      arg: "LIST",
      help: "CPython(s): minors (3.12), versions, library paths, or all found " +
        "(default: PYMEM_LIBPYTHON, else python3 on PATH)",
    },
    { name: "workloads", arg: "LIST", help: `${WORKLOADS.map((w) => w.name).join(",")} (default: all but known)` },
    {
      name: "allocators",
      arg: "LIST",
      help: "ids or families: pymalloc,malloc,mimalloc,jemalloc,tcmalloc,libmimalloc, jemalloc:preload, … " +
        "(default: all but the debug variants)",
    },
    { name: "debug", help: "add pymalloc_debug, malloc_debug (and mimalloc_debug on 3.13+)" },
    { name: "scale", arg: "X", help: "workload size multiplier (default 1; --quick 0.3)" },
    { name: "threads", arg: "N", help: "Python threads of the threads workload (default 4)" },
    { name: "warmup", arg: "N", help: "unmeasured runs per process (default 1)" },
    { name: "runs", arg: "N", help: "measured runs per process (default 2; --quick 1)" },
    {
      name: "rounds",
      arg: "N",
      help: "processes per cell: the matrix runs N times, each in a new order and new processes, " +
        "runs pooled (default 3)",
    },
    { name: "seed", arg: "N", help: "seed of the cell order (default 1)" },
    {
      name: "runtime",
      arg: "R",
      help: "child runtime: bun (default; this runtime when bun is not installed), deno, node",
    },
    {
      name: "lib-path",
      arg: "DIRS",
      help: "search these directories (':'-separated) for jemalloc/tcmalloc/mimalloc instead of the system's",
    },
    { name: "timeout", arg: "S", help: "per child process, seconds (default 600)" },
    { name: "json", arg: "FILE", writes: "file", help: "write the results as JSON" },
    { name: "svg", arg: "FILE", writes: "file", help: "write the results chart as SVG" },
    { name: "html", arg: "FILE", writes: "file", help: "write the results as a self-contained HTML page" },
    { name: "no-progress", help: "no progress bar or per-cell lines" },
    { name: "list", help: "list workloads, allocators and CPythons, then exit" },
    { name: "compare", help: "with two result files A.json B.json: check that they rank the allocators alike" },
    { name: "help", short: "h", help: "show this help" },
  ],
};

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
  /** --help: print the help, nothing else. */
  help: boolean;
}

/**
 * Parse `pymem bench` arguments (by {@link BENCH_TEXT}'s table, lib/command-line.ts); a string is a usage error.
 * Output destinations are checked here, before any work.
 */
export function parseBenchArgs(argv: string[]): BenchOptions | string {
  let values: OptionValues, positionals: string[];
  try {
    ({ values, positionals } = parseOptions(BENCH_TEXT.options, argv, "any"));
  } catch (e) {
    return (e as Error).message;
  }
  const o: BenchOptions = {
    quick: !!values.quick,
    pythons: undefined,
    workloads: WORKLOADS.filter((w) => w.default).map((w) => w.name),
    allocators: undefined,
    debug: !!values.debug,
    scale: NaN,
    threads: 4,
    warmup: NaN,
    runs: NaN,
    rounds: NaN,
    seed: 1,
    runtime: "bun",
    libPath: undefined,
    timeoutMs: 600_000,
    progress: !values["no-progress"],
    list: !!values.list,
    help: !!values.help,
  };
  // --help answers whatever else the line says, as with every command.
  if (o.help) return o;
  const str = (name: string) => values[name] as string | undefined;
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
  const num = (name: string, min: number, integer: boolean): number | string | undefined => {
    const s = str(name);
    if (s === undefined) return undefined;
    const v = Number(s);
    if (s.trim() === "" || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      return `--${name} needs ${integer ? "an integer" : "a number"} ≥ ${min}, got "${s}"`;
    }
    return v;
  };
  if (str("python") !== undefined) {
    if (!str("python")) return "--python needs a value";
    o.pythons = str("python") === "all" ? "all" : list(str("python")!);
  }
  if (str("workloads") !== undefined) {
    o.workloads = list(str("workloads")!);
    if (!o.workloads.length) return "--workloads needs a value";
    for (const w of o.workloads) if (!WORKLOADS.some((x) => x.name === w)) return `unknown workload "${w}"`;
  }
  if (str("allocators") !== undefined) {
    o.allocators = list(str("allocators")!);
    if (!o.allocators.length) return "--allocators needs a value";
  }
  const numbers = [
    ["scale", 0.001, false],
    ["threads", 1, true],
    ["warmup", 0, true],
    ["runs", 1, true],
    ["rounds", 1, true],
    ["seed", 0, true],
    ["timeout", 1, false],
  ] as const;
  for (const [name, min, integer] of numbers) {
    const v = num(name, min, integer);
    if (typeof v === "string") return v;
    if (v === undefined) continue;
    if (name === "timeout") o.timeoutMs = v * 1000;
    else o[name] = v;
  }
  const runtime = str("runtime");
  if (runtime !== undefined) {
    if (runtime !== "bun" && runtime !== "deno" && runtime !== "node") {
      return `--runtime must be bun, deno or node, got "${runtime}"`;
    }
    o.runtime = runtime;
    o.runtimeGiven = true;
  }
  if (str("lib-path") !== undefined) o.libPath = str("lib-path")!.split(delimiter).filter(Boolean);
  for (const f of ["json", "svg", "html"] as const) {
    if (str(f) === undefined) continue;
    if (!str(f)) return `--${f} needs a file name`;
    o[f] = str(f);
  }
  if (values.compare) {
    if (positionals.length !== 2) return `--compare needs two result files, got ${positionals.length}`;
    o.compare = [positionals[0], positionals[1]];
  } else if (positionals.length) {
    return `unexpected argument "${positionals[0]}"`;
  }
  try {
    checkDestinations(BENCH_TEXT.options, values);
  } catch (e) {
    return (e as Error).message;
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
