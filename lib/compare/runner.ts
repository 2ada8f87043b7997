/**
 * `pymem bench`: the allocator comparison. Runs every cell (workload × allocator × CPython) in a fresh child process
 * (lib/compare/child.ts), in an order that spreads drift, and reports time, CPU, peak RSS, RSS after free, page faults
 * and obmalloc fragmentation, relative to pymalloc with the spread shown (lib/compare/report.ts).
 *
 * Children run under Bun by default (node_modules/.bin/bun, else `bun` on PATH), whatever runtime runs the parent:
 * it starts fastest, and one child runtime keeps the JS runtime's share of the figures the same for every cell.
 * `--runtime deno|node` chooses another (node runs dist/, so build first).
 *
 * Run directly: `bun lib/compare/runner.ts --quick` (or `deno run -A lib/compare/runner.ts`, `node dist/lib/compare/runner.js`);
 * lib/cli/main.ts wires `pymem bench` to {@link benchCommand}. `--help` lists the options. The options are in
 * options.ts, the allocators found on this machine in allocator-libraries.ts, the child processes in children.ts.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import type { ChildPlan } from "./child.ts";
import { isMain, runtimeKind } from "../core/runtime.ts";
import { discoverPythons } from "../core/locate.ts";
import { PYMEM_VERSION } from "../core/version.ts";
import { compareRankings, compareToPymalloc, renderHtml, renderSvg, renderText, summarize } from "./report.ts";
import type { AllocatorVariant, BenchDocument, CellResult } from "./types.ts";
import { WORKLOADS } from "./workloads.ts";

import { BENCH_TEXT, type BenchOptions, parseBenchArgs } from "./options.ts";
import { commandHelp } from "../command-line.ts";
import { resolveAllocators, selectAllocators } from "./allocator-libraries.ts";
import { baseEnv, childCommand, killChildren, runChild } from "./children.ts";

export type { AllocatorVariant, BenchDocument, CellResult, CellSummary, Comparison, Spread } from "./types.ts";
export type { ChildPlan, ChildResult, HeapFigures, RunSample } from "./child.ts";
export { compareRankings } from "./report.ts";
export type { RankingConflict } from "./report.ts";
export { WORKLOADS } from "./workloads.ts";
export type { Workload } from "./workloads.ts";

export type { BenchOptions } from "./options.ts";
export { BENCH_TEXT, parseBenchArgs } from "./options.ts";
export { resolveAllocators } from "./allocator-libraries.ts";

// ---- pythons -------------------------------------------------------------------------------------------------------

interface Target {
  version: string;
  library: string;
  source: string;
  stripped: boolean;
}

function selectPythons(wanted: BenchOptions["pythons"], notes: string[]): Target[] | string {
  const direct = (p: string): Target => ({ version: "?", library: p, source: "path", stripped: false });
  const paths = Array.isArray(wanted) ? wanted.filter((w) => w.includes("/")) : [];
  if (wanted === undefined && process.env.PYMEM_LIBPYTHON) {
    return [{ ...direct(process.env.PYMEM_LIBPYTHON), source: "PYMEM_LIBPYTHON" }];
  }
  if (Array.isArray(wanted) && paths.length === wanted.length) {
    for (const p of paths) if (!existsSync(p)) return `--python ${p}: no such file`;
    return paths.map(direct);
  }
  // Discovery's remarks (a 2.7 in pyenv, an interpreter without a shared library) are for `--list`, not every run.
  const found = discoverPythons();
  // A tree unpacked with its own glibc loads only under its loader, which the children are not started through.
  for (const p of found.filter((p) => p.launch)) {
    notes.push(`${p.library}: CPython ${p.version} needs its own loader; left out`);
  }
  const all = found.filter((p) => !p.launch);
  const t = (p: (typeof all)[number]): Target => ({
    version: p.version,
    library: p.library,
    source: p.source,
    stripped: p.stripped,
  });
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
    const t = (
      s: number,
    ) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}` : "?");
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.#done}/${this.total}  ${
      t(elapsed)
    } elapsed, ETA ${t(eta)}  ${label}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
  }
}

function machineInfo(): BenchDocument["machine"] {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  const cpu = /^model name\s*:\s*(.*)$/m.exec(read("/proc/cpuinfo"))?.[1]?.trim() ?? os.cpus()[0]?.model ??
    "unknown CPU";
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(read("/etc/os-release"))?.[1] ?? os.type();
  let libc = "unknown libc";
  try {
    libc = execFileSync("getconf", ["GNU_LIBC_VERSION"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .trim();
  } catch { /* musl or not Linux */ }
  return {
    os: pretty,
    kernel: os.release(),
    arch: process.arch,
    cpuModel: cpu,
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    libc,
    loadStart: os.loadavg()[0],
    loadEnd: NaN,
  };
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
    notes.push(
      `load average was ${machine.loadStart.toFixed(2)} at the start on ${machine.cpus} CPUs: other work was ` +
        "running, so times are noisier (CPU time is less affected than wall time)",
    );
  }
  let cmd = childCommand(o.runtime);
  // Bun is the default child, not a requirement: a project without it runs the children under this runtime.
  const self = runtimeKind();
  if (typeof cmd === "string" && !o.runtimeGiven && self !== o.runtime) {
    notes.push(`${cmd}; the children run under ${self} instead (--runtime chooses)`);
    cmd = childCommand(self);
  }
  if (typeof cmd === "string") return cmd;
  const variants = selectAllocators(
    resolveAllocators({ debug: o.debug || o.allocators?.some((a) => a.endsWith("_debug")), libPath: o.libPath }),
    o.allocators,
  );
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
            python: target.version,
            library: target.library,
            workload: w,
            allocator: v.id,
            status: "skipped",
            reason,
            order: [],
            env: v.env,
            rssRuntime: [],
            rssPython: [],
            rssFinal: [],
            firstAfterFree: [],
            samples: [],
            seconds: 0,
          });
        }
      };
      if (v.skipped) {
        skip(v.skipped);
        continue;
      }
      let env = { ...v.env };
      let probe = await runChild(cmd.argv, { ...probeBase, allocator: v.allocator as ChildPlan["allocator"] }, {
        ...env0,
        ...env,
        PYMEM_LIBPYTHON: target.library,
      }, 120_000);
      const message = probe.result?.error?.message ?? "";
      const tunable = /GLIBC_TUNABLES=(\S+)/.exec(message)?.[1];
      if (probe.result && !probe.result.ok && /static TLS/i.test(message) && tunable) {
        // pymem's own advice for a library that needs static TLS (jemalloc): start the process with room for it.
        env = { ...env, GLIBC_TUNABLES: tunable };
        probe = await runChild(cmd.argv, { ...probeBase, allocator: v.allocator as ChildPlan["allocator"] }, {
          ...env0,
          ...env,
          PYMEM_LIBPYTHON: target.library,
        }, 120_000);
        if (probe.result?.ok) {
          notes.push(
            `${v.id}: dlopen refused it after start-up (static TLS); it ran with GLIBC_TUNABLES=${tunable}, as pymem's error advises`,
          );
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
          cells.filter((c) => c.allocator === v.id && c.library === target.library).forEach((
            c,
          ) => (c.status = "failed"));
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
    killChildren();
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
          python: s.target.version,
          library: s.target.library,
          workload: s.workload,
          allocator: s.variant.id,
          status: "ok",
          order: [],
          env: s.env,
          rssRuntime: [],
          rssPython: [],
          rssFinal: [],
          firstAfterFree: [],
          samples: [],
          seconds: 0,
        };
        cells.push(cell);
      }
      cell.order.push(i);
      const label = `${s.workload} × ${s.variant.id} (CPython ${s.target.version})`;
      progress.start(label);
      const plan: ChildPlan = {
        workload: s.workload,
        allocator: s.variant.allocator as ChildPlan["allocator"],
        scale: o.scale,
        threads: o.threads,
        warmup: o.warmup,
        runs: o.runs,
        heap: true,
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
      if (res.peakResettable === false) {
        notes.push("VmHWM could not be reset (/proc/self/clear_refs): peak RSS is the process-wide peak");
      }
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
    const ref = cells.find((r) =>
      r.python === c.python && r.workload === c.workload && r.allocator === "pymalloc" && r.checksum
    )?.checksum ?? c.checksum;
    c.checksumOk = c.samples.every((s) => s.checksum === ref);
    if (!c.checksumOk) {
      notes.push(`${c.workload} × ${c.allocator} (CPython ${c.python}): checksum differs from pymalloc's`);
    }
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
    runner: {
      parentRuntime: runtimeKind(),
      childRuntime: cmd.version,
      childCommand: cmd.argv,
      pymemVersion: PYMEM_VERSION,
    },
    settings: {
      quick: o.quick,
      scale: o.scale,
      threads: o.threads,
      warmup: o.warmup,
      runs: o.runs,
      rounds: o.rounds,
      seed: o.seed,
      workloads: o.workloads,
      allocators: variants.map((v) => v.id),
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
  console.log("\nCPythons (--python VERSION or all; without --python: python3 on PATH):");
  const notes: string[] = [];
  for (const p of discoverPythons({ notes })) {
    const how = `${p.stripped ? "stripped" : "symtab"}; ${p.foundBy.join(", ")}${
      p.launch ? "; needs its own loader, left out" : ""
    }`;
    console.log(`  ${p.version.padEnd(9)} ${p.library}\n  ${"".padEnd(9)} ${how}`);
  }
  for (const n of notes) console.log(`  note: ${n}`);
  console.log("\nAllocators:");
  for (const v of resolveAllocators({ debug: true, libPath: o.libPath })) {
    const where = v.skipped
      ? `skipped: ${v.skipped}`
      : v.library
      ? `${v.library} (${v.libraryVersion})`
      : "built into CPython";
    console.log(`  ${v.id.padEnd(20)} ${where}\n  ${"".padEnd(20)} ${v.how}`);
  }
}

/**
 * `pymem bench [options]`: run the allocator comparison, print the table, write --json/--svg/--html. Returns the
 * exit code: 0 when every cell that could run ran (skipped cells are fine), 1 when a cell failed or a checksum
 * differed (or `--compare` found a conflict), 2 on a usage error.
 */
export async function benchCommand(argv: string[]): Promise<number> {
  const o = parseBenchArgs(argv);
  if (typeof o === "string") {
    console.error(`pymem bench: ${o} (see: pymem bench --help)`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(commandHelp(BENCH_TEXT));
    return 0;
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
    console.log(
      `${checked} pairs differ by more than their spread in at least one file; ${conflicts.length} ranked differently, ` +
        `${hard.length} of them with the difference beyond the spread in both files.`,
    );
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
  for (const [what, f] of [["JSON", o.json], ["SVG", o.svg], ["HTML", o.html]] as const) {
    if (f) console.log(`${what}: ${f}`);
  }
  const failed = doc.cells.filter((c) => c.status === "failed" || c.checksumOk === false);
  return failed.length ? 1 : 0;
}

if (isMain(import.meta.url)) {
  process.exit(await benchCommand(process.argv.slice(2)));
}
