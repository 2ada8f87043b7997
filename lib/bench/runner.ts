/**
 * `pymem bench`: the allocator comparison. Runs every cell (workload × allocator × CPython) in a fresh child process
 * (lib/bench/child.ts), in an order that spreads drift, and reports time, CPU, peak RSS, RSS after free, page faults
 * and obmalloc fragmentation, relative to pymalloc with the spread shown (lib/bench/report.ts).
 *
 * Children run under Bun by default (node_modules/.bin/bun, else `bun` on PATH), whatever runtime runs the parent:
 * it starts fastest, and one child runtime keeps the JS runtime's share of the figures the same for every cell.
 * `--runtime deno|node` chooses another (node runs dist/, so build first).
 *
 * Run directly: `bun lib/bench/runner.ts --quick` (or `deno run -A lib/bench/runner.ts`, `node dist/lib/bench/runner.js`);
 * lib/cli.ts wires `pymem bench` to {@link benchCommand}. `--help` lists the options.
 * @module
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ChildPlan, ChildResult } from "./child.ts";
import { parseChildOutput } from "./child.ts";
import { isMain } from "./main.ts";
import { compareRankings, compareToPymalloc, renderHtml, renderSvg, renderText, summarize } from "./report.ts";
import type { AllocatorVariant, BenchDocument, CellResult } from "./types.ts";
import { WORKLOADS } from "./workloads.ts";

export type { AllocatorVariant, BenchDocument, CellResult, CellSummary, Comparison, Spread } from "./types.ts";
export type { ChildPlan, ChildResult, HeapFigures, RunSample } from "./child.ts";
export { compareRankings } from "./report.ts";
export type { RankingConflict } from "./report.ts";
export { WORKLOADS } from "./workloads.ts";
export type { Workload } from "./workloads.ts";

/**
 * The repository (or installed package) root: this file is lib/bench/runner.ts or dist/lib/bench/runner.js.
 * Computed on use: when pymem is imported by URL (Deno, http://…), there is no root and no benchmark to run, but
 * importing lib/mod.ts must still work.
 */
function root(): string {
  if (!import.meta.url.startsWith("file:")) {
    throw new Error(`pymem bench runs from a local copy of pymem, not from ${import.meta.url}`);
  }
  const up = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  return basename(up) === "dist" ? dirname(up) : up;
}

const USAGE = `usage: pymem bench [options]
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
  --runtime R           child runtime: bun (default), deno, node
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

// ---- allocators ----------------------------------------------------------------------------------------------------

const LIB_DIRS = [
  "/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
  "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib",
];

interface ThirdParty {
  family: "jemalloc" | "tcmalloc" | "mimalloc";
  /** Prefix of the ids ("libmimalloc": CPython 3.13 has its own "mimalloc"). */
  id: string;
  sonames: string[];
  /** Package that provides it, per distribution family. */
  packages: { debian: string; fedora: string; arch: string; alpine: string };
}

const THIRD_PARTY: ThirdParty[] = [
  { family: "jemalloc", id: "jemalloc", sonames: ["libjemalloc.so.2"], packages: { debian: "libjemalloc2", fedora: "jemalloc", arch: "jemalloc", alpine: "jemalloc" } },
  {
    family: "tcmalloc", id: "tcmalloc", sonames: ["libtcmalloc_minimal.so.4", "libtcmalloc.so.4"],
    packages: { debian: "libtcmalloc-minimal4", fedora: "gperftools-libs", arch: "gperftools", alpine: "gperftools" },
  },
  { family: "mimalloc", id: "libmimalloc", sonames: ["libmimalloc.so.2"], packages: { debian: "libmimalloc2.0", fedora: "mimalloc", arch: "mimalloc", alpine: "mimalloc2" } },
];

function distroFamily(): keyof ThirdParty["packages"] {
  let text = "";
  try {
    text = readFileSync("/etc/os-release", "utf8");
  } catch { /* not Linux, or minimal */ }
  const ids = (text.match(/^ID(?:_LIKE)?=.*$/gm) ?? []).join(" ");
  if (/fedora|rhel|centos/.test(ids)) return "fedora";
  if (/arch/.test(ids)) return "arch";
  if (/alpine/.test(ids)) return "alpine";
  return "debian";
}

function installHint(tp: ThirdParty): string {
  const fam = distroFamily();
  const cmd = { debian: "apt-get install -y", fedora: "dnf install -y", arch: "pacman -S", alpine: "apk add" }[fam];
  return `${cmd} ${tp.packages[fam]}`;
}

/** A library by soname in `dirs`, else (when no directories were given) in the loader's ldconfig cache. */
function findLib(sonames: string[], dirs: string[] | undefined): string | undefined {
  for (const so of sonames) {
    for (const d of dirs ?? LIB_DIRS) if (existsSync(join(d, so))) return join(d, so);
  }
  if (dirs) return undefined;
  try {
    const cache = execFileSync("/sbin/ldconfig", ["-p"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    for (const so of sonames) {
      const m = new RegExp(`^\\s*${so.replace(/\./g, "\\.")} \\([^)]*\\) => (\\S+)$`, "m").exec(cache);
      if (m) return m[1];
    }
  } catch { /* no ldconfig */ }
  return undefined;
}

function packageVersion(pkg: string, path: string): string {
  try {
    return `${pkg} ${execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()}`;
  } catch {
    try {
      return basename(realpathSync(path));
    } catch {
      return basename(path);
    }
  }
}

/**
 * Every allocator variant, resolved on this machine: CPython's own (pymalloc, malloc, mimalloc on 3.13+, the debug
 * variants with `debug`), and jemalloc / tcmalloc / mimalloc from the distribution both preloaded and in-process
 * through pymem. A library that is not installed gives variants with `skipped` naming the package to install.
 * `libPath` replaces the system's library directories (and the ldconfig cache) in the search.
 */
export function resolveAllocators(options: { debug?: boolean; libPath?: string[] } = {}): AllocatorVariant[] {
  const out: AllocatorVariant[] = [
    { id: "pymalloc", mode: "cpython", family: "pymalloc", allocator: "pymalloc", env: {}, how: "nothing: CPython's default" },
    { id: "malloc", mode: "cpython", family: "glibc", allocator: "malloc", env: {}, how: "PYTHONMALLOC=malloc" },
    { id: "mimalloc", mode: "cpython", family: "mimalloc", allocator: "mimalloc", env: {}, how: "PYTHONMALLOC=mimalloc (CPython 3.13+, built in)" },
  ];
  if (options.debug) {
    out.push(
      { id: "pymalloc_debug", mode: "cpython", family: "pymalloc", allocator: "pymalloc_debug", env: {}, how: "PYTHONMALLOC=pymalloc_debug (debugging only)" },
      { id: "malloc_debug", mode: "cpython", family: "glibc", allocator: "malloc_debug", env: {}, how: "PYTHONMALLOC=malloc_debug (debugging only)" },
      { id: "mimalloc_debug", mode: "cpython", family: "mimalloc", allocator: "mimalloc_debug", env: {}, how: "PYTHONMALLOC=mimalloc_debug (3.13+, debugging only)" },
    );
  }
  for (const tp of THIRD_PARTY) {
    const path = findLib(tp.sonames, options.libPath);
    const pkg = tp.packages[distroFamily()];
    const skipped = path ? undefined : `${tp.sonames[0]} not found: install it with \`${installHint(tp)}\``;
    const common = { family: tp.family, library: path, package: pkg, libraryVersion: path ? packageVersion(pkg, path) : undefined, skipped };
    out.push({
      id: `${tp.id}:preload`, mode: "preload", allocator: "malloc", env: path ? { LD_PRELOAD: path } : {}, ...common,
      how: `LD_PRELOAD=${basename(path ?? tp.sonames[0])} PYTHONMALLOC=malloc (package ${pkg}; the whole process uses it)`,
    });
    out.push({
      id: `${tp.id}:pymem`, mode: "pymem", allocator: { library: path ?? tp.sonames[0] }, env: {}, ...common,
      how: `openPython({ allocator: { library: "${basename(path ?? tp.sonames[0])}" } }) (package ${pkg}; Python's domains only)`,
    });
  }
  return out;
}

/** Select variants by id or family name ("jemalloc" = both jemalloc variants). */
function selectAllocators(all: AllocatorVariant[], wanted: string[] | undefined): AllocatorVariant[] | string {
  if (!wanted) return all;
  const chosen: AllocatorVariant[] = [];
  for (const w of wanted) {
    const hits = all.filter((v) => v.id === w || v.id.startsWith(`${w}:`) || (w === "all"));
    if (!hits.length) return `unknown allocator "${w}": expected one of ${all.map((v) => v.id).join(", ")} (or a family name)`;
    for (const h of hits) if (!chosen.includes(h)) chosen.push(h);
  }
  // pymalloc is the reference of every comparison.
  if (!chosen.some((v) => v.id === "pymalloc")) chosen.unshift(all[0]);
  return chosen;
}

// ---- child processes -----------------------------------------------------------------------------------------------

function commandOk(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore", timeout: 20_000 });
  return r.status === 0;
}

function currentRuntime(): "bun" | "deno" | "node" {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun ? "bun" : g.Deno ? "deno" : "node";
}

/** The command line that starts a child (without the plan), and a description of the runtime. */
function childCommand(runtime: "bun" | "deno" | "node"): { argv: string[]; version: string } | string {
  const local = (name: string) => {
    const p = join(root(), "node_modules", ".bin", name);
    if (existsSync(p)) return p;
    if (currentRuntime() === name) return process.execPath;
    return commandOk(name) ? name : undefined;
  };
  const exe = local(runtime);
  if (!exe) return `the child runtime "${runtime}" is not installed (node_modules/.bin or PATH)`;
  const version = (() => {
    try {
      return `${runtime} ${execFileSync(exe, ["--version"], { encoding: "utf8" }).split("\n")[0].replace(/^(deno|v)\s*/i, "").trim()}`;
    } catch {
      return runtime;
    }
  })();
  if (runtime === "node") {
    const js = join(root(), "dist", "lib", "bench", "child.js");
    if (!existsSync(js)) return `${js} is missing: build with \`tsc -p .\` first`;
    return { argv: [exe, js], version };
  }
  const ts = join(root(), "lib", "bench", "child.ts");
  if (!existsSync(ts)) return `${ts} is missing`;
  return { argv: runtime === "bun" ? [exe, ts] : [exe, "run", "-A", "--no-check", ts], version };
}

/** The environment every child starts from: the caller's, minus anything that would pick an allocator behind our back. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ["PYTHONMALLOC", "PYTHONMALLOCSTATS", "PYTHONTRACEMALLOC", "PYTHONDEVMODE", "LD_PRELOAD", "GLIBC_TUNABLES", "PYMEM_PYTHON"]) {
    delete env[k];
  }
  // Same string hashes in every process: dict and set layouts (and so their allocations) do not vary by run.
  env.PYTHONHASHSEED = "0";
  env.NO_COLOR = "1";
  return env;
}

interface Spawned { result?: ChildResult; error?: string; seconds: number }

const live = new Set<number>();

function runChild(argv: string[], plan: ChildPlan, env: Record<string, string>, timeoutMs: number): Promise<Spawned> {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(argv[0], [...argv.slice(1), JSON.stringify(plan)], {
      env, stdio: ["ignore", "pipe", "pipe"], cwd: root(), detached: true,
    });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ }
    }, timeoutMs);
    if (child.pid) live.add(child.pid);
    const finish = (code: number | null, signal: string | null, e?: Error) => {
      clearTimeout(timer);
      live.delete(child.pid!);
      const seconds = (performance.now() - t0) / 1000;
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8").trim().split("\n").slice(-6).join(" | ");
      let result: ChildResult | undefined;
      try {
        result = parseChildOutput(stdout);
      } catch { /* malformed line: reported below */ }
      if (result) return done({ result, seconds });
      const why = e ? `could not start ${argv[0]}: ${e.message}` : timedOut ? `timed out after ${timeoutMs / 1000} s`
        : signal ? `killed by ${signal}` : `exit code ${code} without a result`;
      done({ error: `${why}${stderr ? `: ${stderr}` : ""}`, seconds });
    };
    child.on("error", (e) => finish(null, null, e));
    child.on("close", finish);
  });
}

// ---- pythons -------------------------------------------------------------------------------------------------------

interface Target { version: string; library: string; source: string; stripped: boolean }

async function selectPythons(wanted: BenchOptions["pythons"], notes: string[]): Promise<Target[] | string> {
  const direct = (p: string): Target => ({ version: "?", library: p, source: "path", stripped: false });
  const paths = Array.isArray(wanted) ? wanted.filter((w) => w.includes("/")) : [];
  if (wanted === undefined && process.env.PYMEM_LIBPYTHON) return [{ ...direct(process.env.PYMEM_LIBPYTHON), source: "PYMEM_LIBPYTHON" }];
  if (Array.isArray(wanted) && paths.length === wanted.length) {
    for (const p of paths) if (!existsSync(p)) return `--python ${p}: no such file`;
    return paths.map(direct);
  }
  // tests/pythons.ts is the one place that knows where CPythons live (pyenv, PATH, /usr/bin, ldconfig); loaded
  // lazily so that importing pymem never pays for discovery.
  const { discoverPythons } = await import("../../tests/pythons.ts");
  const all = discoverPythons();
  const t = (p: (typeof all)[number]): Target => ({ version: p.version, library: p.library, source: p.source, stripped: p.stripped });
  if (wanted === "all") return all.map(t);
  if (wanted === undefined) {
    const onPath = all.find((p) => p.foundBy.some((f) => f.startsWith("PATH (python3)")));
    if (onPath) return [t(onPath)];
    if (!all.length) return "no CPython shared library found (set PYMEM_LIBPYTHON or pass --python)";
    notes.push(`python3 on PATH has no shared library; using CPython ${all[all.length - 1].version}`);
    return [t(all[all.length - 1])];
  }
  const out: Target[] = paths.map(direct);
  for (const tok of wanted.filter((w) => !w.includes("/"))) {
    const hits = all.filter((p) => p.version === tok || p.version.startsWith(`${tok}.`));
    if (!hits.length) notes.push(`--python ${tok}: no CPython ${tok} shared library found; skipped`);
    // One library per requested version: the first found (pyenv before the system's).
    if (hits.length) out.push(t(hits.find((h) => !h.stripped) ?? hits[0]));
  }
  return out.length ? out : "none of the requested CPythons was found";
}

// ---- the run -------------------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so the cell order is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Progress {
  #done = 0;
  #t0 = performance.now();
  #tty: boolean;
  #enabled: boolean;
  readonly total: number;
  constructor(total: number, enabled: boolean) {
    this.total = total;
    this.#enabled = enabled;
    this.#tty = enabled && !!process.stderr.isTTY;
  }
  start(label: string): void {
    if (this.#tty) this.#draw(label);
  }
  finish(label: string, status: string): void {
    this.#done++;
    if (!this.#enabled) return;
    if (this.#tty) this.#draw(label);
    else process.stderr.write(`[${this.#done}/${this.total}] ${label}: ${status}\n`);
  }
  end(): void {
    if (this.#tty) process.stderr.write("\r\x1b[K");
  }
  #draw(label: string): void {
    const width = 28;
    const filled = Math.round((this.#done / this.total) * width);
    const elapsed = (performance.now() - this.#t0) / 1000;
    const eta = this.#done ? (elapsed / this.#done) * (this.total - this.#done) : NaN;
    const t = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}` : "?");
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.#done}/${this.total}  ${t(elapsed)} elapsed, ETA ${t(eta)}  ${label}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
  }
}

function machineInfo(): BenchDocument["machine"] {
  const read = (p: string) => { try { return readFileSync(p, "utf8"); } catch { return ""; } };
  const cpu = /^model name\s*:\s*(.*)$/m.exec(read("/proc/cpuinfo"))?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown CPU";
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(read("/etc/os-release"))?.[1] ?? os.type();
  let libc = "unknown libc";
  try {
    libc = execFileSync("getconf", ["GNU_LIBC_VERSION"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch { /* musl or not Linux */ }
  return {
    os: pretty, kernel: os.release(), arch: process.arch, cpuModel: cpu, cpus: os.cpus().length,
    memoryBytes: os.totalmem(), libc, loadStart: os.loadavg()[0], loadEnd: NaN,
  };
}

function pymemVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(root(), "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Error codes of a probe that mean "this allocator cannot run with this CPython here", not "pymem is broken". */
const UNSUPPORTED_CODES = new Set(["UNSUPPORTED", "LIBRARY_NOT_FOUND"]);

/**
 * Run the benchmark described by `o` and return the result document (also used by the tests). Progress goes to
 * stderr; nothing is printed to stdout.
 */
export async function runBench(o: BenchOptions, command: string[] = []): Promise<BenchDocument | string> {
  const t0 = performance.now();
  const notes: string[] = [];
  const machine = machineInfo();
  if (machine.loadStart > 0.5) {
    notes.push(`load average was ${machine.loadStart.toFixed(2)} at the start on ${machine.cpus} CPUs: other work was ` +
      "running, so times are noisier (CPU time is less affected than wall time)");
  }
  const cmd = childCommand(o.runtime);
  if (typeof cmd === "string") return cmd;
  const variants = selectAllocators(resolveAllocators({ debug: o.debug || o.allocators?.some((a) => a.endsWith("_debug")), libPath: o.libPath }), o.allocators);
  if (typeof variants === "string") return variants;
  const targets = await selectPythons(o.pythons, notes);
  if (typeof targets === "string") return targets;
  const env0 = baseEnv();
  const progressEnabled = o.progress;

  // Preflight: open each CPython with each allocator once (no workload), so that a variant that cannot run is
  // skipped with its reason, and in-process jemalloc gets the start-up setting pymem's own error names.
  const cells: CellResult[] = [];
  const key = (py: string, w: string, a: string) => `${py}\u0000${w}\u0000${a}`;
  const runnable = new Map<string, { target: Target; variant: AllocatorVariant; env: Record<string, string> }>();
  const probeBase = { workload: "", scale: 0, threads: 1, warmup: 0, runs: 0, probe: true };
  for (const target of targets) {
    for (const v of variants) {
      const pv = `${target.library}\u0000${v.id}`;
      const skip = (reason: string) => {
        for (const w of o.workloads) {
          cells.push({
            python: target.version, library: target.library, workload: w, allocator: v.id, status: "skipped", reason,
            order: [], env: v.env, rssRuntime: [], rssPython: [], rssFinal: [], firstAfterFree: [], samples: [], seconds: 0,
          });
        }
      };
      if (v.skipped) { skip(v.skipped); continue; }
      let env = { ...v.env };
      let probe = await runChild(cmd.argv, { ...probeBase, allocator: v.allocator as ChildPlan["allocator"] }, { ...env0, ...env, PYMEM_LIBPYTHON: target.library }, 120_000);
      const message = probe.result?.error?.message ?? "";
      const tunable = /GLIBC_TUNABLES=(\S+)/.exec(message)?.[1];
      if (probe.result && !probe.result.ok && /static TLS/i.test(message) && tunable) {
        // pymem's own advice for a library that needs static TLS (jemalloc): start the process with room for it.
        env = { ...env, GLIBC_TUNABLES: tunable };
        probe = await runChild(cmd.argv, { ...probeBase, allocator: v.allocator as ChildPlan["allocator"] }, { ...env0, ...env, PYMEM_LIBPYTHON: target.library }, 120_000);
        if (probe.result?.ok) {
          notes.push(`${v.id}: dlopen refused it after start-up (static TLS); it ran with GLIBC_TUNABLES=${tunable}, as pymem's error advises`);
        }
      }
      if (target.version === "?" && probe.result?.python) target.version = probe.result.python;
      if (!probe.result) {
        if (target.version === "?") return `cannot start ${target.library}: ${probe.error}`;
        skip(`failed to start: ${probe.error}`);
        cells.filter((c) => c.allocator === v.id && c.library === target.library).forEach((c) => (c.status = "failed"));
        continue;
      }
      if (!probe.result.ok) {
        const e = probe.result.error ?? {};
        if (target.version === "?" && v.id === "pymalloc") return `cannot open ${target.library}: ${e.message}`;
        skip(`${UNSUPPORTED_CODES.has(e.code ?? "") ? "" : `${e.name ?? "error"}: `}${e.message ?? "unknown error"}`);
        if (!UNSUPPORTED_CODES.has(e.code ?? "")) {
          cells.filter((c) => c.allocator === v.id && c.library === target.library).forEach((c) => (c.status = "failed"));
        }
        continue;
      }
      runnable.set(pv, { target, variant: v, env });
    }
    for (const c of cells) if (c.library === target.library) c.python = target.version;
  }

  // The order: blocks of (CPython, workload) in a seeded shuffle, so no workload always runs first or last; within a
  // block every allocator back to back, rotated by one per block (and reversed in odd rounds), so no allocator
  // always follows the same one or sits at the same place in the block.
  const rand = prng(o.seed);
  const schedule: { target: Target; workload: string; variant: AllocatorVariant; env: Record<string, string> }[] = [];
  for (let r = 0; r < o.rounds; r++) {
    // A new shuffle each round: a cell's processes land at different times of the run.
    const blocks = targets.flatMap((t) => o.workloads.map((w) => ({ t, w })));
    for (let i = blocks.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [blocks[i], blocks[j]] = [blocks[j], blocks[i]];
    }
    blocks.forEach(({ t, w }, b) => {
      const vs = variants.filter((v) => runnable.has(`${t.library}\u0000${v.id}`));
      const rot = vs.map((_, i) => vs[(i + b + r) % vs.length]);
      for (const v of r % 2 ? rot.reverse() : rot) {
        schedule.push({ target: t, workload: w, variant: v, env: runnable.get(`${t.library}\u0000${v.id}`)!.env });
      }
    });
  }

  const progress = new Progress(schedule.length, progressEnabled);
  const onSignal = () => {
    for (const pid of live) try { process.kill(-pid, "SIGKILL"); } catch { /* gone */ }
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  try {
    for (let i = 0; i < schedule.length; i++) {
      const s = schedule[i];
      const k = key(s.target.version, s.workload, s.variant.id);
      let cell = cells.find((c) => key(c.python, c.workload, c.allocator) === k);
      if (!cell) {
        cell = {
          python: s.target.version, library: s.target.library, workload: s.workload, allocator: s.variant.id, status: "ok",
          order: [], env: s.env, rssRuntime: [], rssPython: [], rssFinal: [], firstAfterFree: [], samples: [], seconds: 0,
        };
        cells.push(cell);
      }
      cell.order.push(i);
      const label = `${s.workload} × ${s.variant.id} (CPython ${s.target.version})`;
      progress.start(label);
      const plan: ChildPlan = {
        workload: s.workload, allocator: s.variant.allocator as ChildPlan["allocator"], scale: o.scale, threads: o.threads,
        warmup: o.warmup, runs: o.runs, heap: true,
      };
      const r = await runChild(cmd.argv, plan, { ...env0, ...s.env, PYMEM_LIBPYTHON: s.target.library }, o.timeoutMs);
      cell.seconds += r.seconds;
      if (!r.result || !r.result.ok) {
        cell.status = "failed";
        cell.reason = r.error ?? `${r.result?.error?.name}: ${r.result?.error?.message}`;
        progress.finish(label, `FAILED ${cell.reason}`);
        continue;
      }
      const res = r.result;
      const p = cell.rssPython.length;
      cell.allocatorName = res.allocatorName;
      cell.rssRuntime.push(res.rssRuntime);
      cell.rssPython.push(res.rssPython ?? res.rssRuntime);
      cell.rssFinal.push(res.rssFinal ?? 0);
      cell.firstAfterFree.push(res.firstAfterFree ?? res.samples[0]?.rssAfterFree ?? 0);
      cell.samples.push(...res.samples.map((x) => ({ ...x, process: p })));
      if (res.heap) cell.heap = res.heap;
      if (res.peakResettable === false) notes.push("VmHWM could not be reset (/proc/self/clear_refs): peak RSS is the process-wide peak");
      progress.finish(label, `${r.seconds.toFixed(1)} s`);
    }
  } finally {
    progress.end();
    process.off("SIGINT", onSignal);
  }

  // Summaries, and the same-answer check: every allocator must compute pymalloc's checksum.
  for (const c of cells) {
    if (c.status !== "ok" || !c.samples.length) continue;
    c.summary = summarize(c.samples, c.rssPython, c.firstAfterFree);
    c.checksum = c.samples[0].checksum;
  }
  for (const c of cells) {
    if (c.status !== "ok" || !c.checksum) continue;
    const ref = cells.find((r) => r.python === c.python && r.workload === c.workload && r.allocator === "pymalloc" && r.checksum)?.checksum ?? c.checksum;
    c.checksumOk = c.samples.every((s) => s.checksum === ref);
    if (!c.checksumOk) notes.push(`${c.workload} × ${c.allocator} (CPython ${c.python}): checksum differs from pymalloc's`);
  }
  machine.loadEnd = os.loadavg()[0];
  const order = (a: CellResult, b: CellResult) =>
    targets.findIndex((t) => t.library === a.library) - targets.findIndex((t) => t.library === b.library) ||
    o.workloads.indexOf(a.workload) - o.workloads.indexOf(b.workload) ||
    variants.findIndex((v) => v.id === a.allocator) - variants.findIndex((v) => v.id === b.allocator);
  cells.sort(order);
  const doc: BenchDocument = {
    schema: "pymem-bench/1",
    createdAt: new Date().toISOString(),
    command,
    seconds: (performance.now() - t0) / 1000,
    machine,
    runner: { parentRuntime: currentRuntime(), childRuntime: cmd.version, childCommand: cmd.argv, pymemVersion: pymemVersion() },
    settings: {
      quick: o.quick, scale: o.scale, threads: o.threads, warmup: o.warmup, runs: o.runs, rounds: o.rounds, seed: o.seed,
      workloads: o.workloads, allocators: variants.map((v) => v.id),
    },
    pythons: targets.map((t) => ({ version: t.version, library: t.library, source: t.source, stripped: t.stripped })),
    allocators: variants,
    workloads: WORKLOADS.filter((w) => o.workloads.includes(w.name)).map((w) => ({ name: w.name, doc: w.doc })),
    cells,
    comparisons: compareToPymalloc(cells),
    notes: [...new Set(notes)],
  };
  return doc;
}

function listEverything(o: BenchOptions): void {
  console.log("Workloads:");
  for (const w of WORKLOADS) console.log(`  ${w.name.padEnd(11)} ${w.doc}${w.default ? "" : "  (only when named)"}`);
  console.log("\nAllocators:");
  for (const v of resolveAllocators({ debug: true, libPath: o.libPath })) {
    const where = v.skipped ? `skipped: ${v.skipped}` : v.library ? `${v.library} (${v.libraryVersion})` : "built into CPython";
    console.log(`  ${v.id.padEnd(20)} ${where}\n  ${"".padEnd(20)} ${v.how}`);
  }
}

/**
 * `pymem bench [options]`: run the allocator comparison, print the table, write --json/--svg/--html. Returns the
 * exit code: 0 when every cell that could run ran (skipped cells are fine), 1 when a cell failed or a checksum
 * differed (or `--compare` found a conflict), 2 on a usage error.
 */
export async function benchCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const o = parseBenchArgs(argv);
  if (typeof o === "string") {
    console.error(`pymem bench: ${o} (see: pymem bench --help)`);
    return 2;
  }
  if (o.compare) {
    // A missing file is bad usage (status 2, as for every command); one that is not a result file is an error (1).
    const missing = o.compare.find((f) => !existsSync(f));
    if (missing !== undefined) {
      console.error(`pymem bench: no such file: ${missing} (see: pymem bench --help)`);
      return 2;
    }
    const docs: BenchDocument[] = [];
    for (const f of o.compare) {
      try {
        const doc = JSON.parse(readFileSync(f, "utf8"));
        if (!Array.isArray(doc?.cells)) throw new Error("it has no cells");
        docs.push(doc as BenchDocument);
      } catch (e) {
        console.error(`pymem bench: ${f} is not a pymem bench result file: ${(e as Error).message.split("\n")[0]}`);
        return 1;
      }
    }
    const [a, b] = docs;
    const { checked, conflicts } = compareRankings(a, b);
    const hard = conflicts.filter((c) => c.hard);
    console.log(`${checked} pairs differ by more than their spread in at least one file; ${conflicts.length} ranked differently, ` +
      `${hard.length} of them with the difference beyond the spread in both files.`);
    for (const c of conflicts) {
      console.log(`  ${c.hard ? "CONFLICT" : "unstable"}  CPython ${c.python} ${c.workload} ${c.metric}: ${c.detail}`);
    }
    return hard.length ? 1 : 0;
  }
  if (o.list) {
    listEverything(o);
    return 0;
  }
  const doc = await runBench(o, ["pymem", "bench", ...argv]);
  if (typeof doc === "string") {
    console.error(`pymem bench: ${doc}`);
    return 2;
  }
  console.log(renderText(doc));
  if (o.json) writeFileSync(o.json, JSON.stringify(doc, null, 1) + "\n");
  if (o.svg) writeFileSync(o.svg, renderSvg(doc));
  if (o.html) writeFileSync(o.html, renderHtml(doc));
  for (const [what, f] of [["JSON", o.json], ["SVG", o.svg], ["HTML", o.html]] as const) if (f) console.log(`${what}: ${f}`);
  const failed = doc.cells.filter((c) => c.status === "failed" || c.checksumOk === false);
  return failed.length ? 1 : 0;
}

if (isMain(import.meta.url)) {
  process.exit(await benchCommand(process.argv.slice(2)));
}
