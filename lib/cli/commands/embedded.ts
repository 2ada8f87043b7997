/**
 * The commands that embed CPython: `info`, `heap`, `diff`, `stats` (and their option tables).
 * @module
 */
import process from "node:process";
import type { Domain } from "../../allocators/domain-allocators.ts";
import { diffToJSON, heapToJSON, INFO_SCHEMA, PYMEM_VERSION, SCHEMA_VERSION } from "../../report/json.ts";
import { formatBytes, renderDiffText, table } from "../../report/text.ts";
import { CODE, type Command, type Context, DEBUG, DEMO, EMBED, HELP, OUTPUTS, SCRIPT_ABOUT } from "../command.ts";
import { colorAllowed, output, positiveNumber, progress, rssOf, stdoutTTY, write } from "../io.ts";
import { open, runWorkload, workloadOf } from "../workload.ts";
import { addressSpaceFor, writeHeapReport, writeMimallocReport } from "../heap-report.ts";
import { mimallocObjectsToJSON, mimallocToJSON } from "../../report/mimalloc.ts";
import { versionString } from "../../core/version.ts";
import { objectsToJSON, topPinning } from "../../report/why.ts";
import { runtimeName } from "../../core/runtime.ts";

async function cmdInfo(ctx: Context): Promise<number> {
  const py = await open(ctx);
  try {
    progress.say("resolving allocator functions");
    const v = py.version;
    const domains = (["raw", "mem", "obj"] as Domain[]).map((d) => py.getAllocator(d));
    const arena = py.getArenaAllocator();
    const symbols = py.symbols.report();
    const name = (n: string | null, addr: bigint) => n ?? (addr === 0n ? "NULL" : `0x${addr.toString(16)} (unnamed)`);
    let layout: string;
    try {
      const l = py.layout;
      layout = `${formatBytes(l.arenaSize)} arenas, ${
        formatBytes(l.poolSize)
      } pools, ${l.sizeClasses} size classes; state: ${l.state}`;
    } catch (e) {
      layout = (e as Error).message;
    }
    progress.clear();
    if (ctx.values.json !== undefined) {
      const hex = (b: bigint) => `0x${b.toString(16)}`;
      const doc = {
        schema: INFO_SCHEMA,
        schemaVersion: SCHEMA_VERSION,
        pymemVersion: PYMEM_VERSION,
        runtime: runtimeName(),
        backend: py.backend,
        library: py.library,
        source: py.source,
        version: py.version,
        allocator: py.allocatorName(),
        domains: Object.fromEntries(domains.map((d) => [d.domain, {
          ctx: hex(d.ctx),
          malloc: hex(d.malloc),
          calloc: hex(d.calloc),
          realloc: hex(d.realloc),
          free: hex(d.free),
          names: d.names,
        }])),
        arenaAllocator: { ctx: hex(arena.ctx), alloc: hex(arena.alloc), free: hex(arena.free), names: arena.names },
        symbols: symbols.map((s) => ({ ...s, address: s.address === null ? null : hex(s.address) })),
      };
      await output(ctx.values.json as string, JSON.stringify(doc, null, 2) + "\n", "info JSON");
      if (ctx.values.json === "-") return 0;
    }
    const bold = stdoutTTY() && colorAllowed() ? (s: string) => `\x1b[1m${s}\x1b[0m` : (s: string) => s;
    const lines = [
      `${bold("runtime")}    ${runtimeName()} (FFI backend: ${py.backend})`,
      `${bold("library")}    ${py.library}  [found via ${py.source}]`,
      `${bold("version")}    CPython ${v.major}.${v.minor}.${v.micro} (${v.releaseLevel}), hex 0x${v.hex.toString(16)}`,
      `${bold("allocator")}  ${py.allocatorName() ?? "custom (CPython has no name for it)"}`,
      `${bold("obmalloc")}   ${layout}`,
      "",
      bold("Domains"),
      table(
        ["domain", "malloc", "calloc", "realloc", "free", "ctx"],
        domains.map((
          d,
        ) => [
          d.domain,
          name(d.names.malloc, d.malloc),
          name(d.names.calloc, d.calloc),
          name(d.names.realloc, d.realloc),
          name(d.names.free, d.free),
          name(d.names.ctx, d.ctx),
        ]),
      ),
      "",
      bold("Arena allocator"),
      table(["alloc", "free", "ctx"], [[
        name(arena.names.alloc, arena.alloc),
        name(arena.names.free, arena.free),
        name(arena.names.ctx, arena.ctx),
      ]]),
      "",
      bold(
        `Optional and hidden symbols (${
          py.symbols.hasSymtab ? "library has .symtab" : "stripped library: exported symbols and decoding only"
        })`,
      ),
      py.symbols.table(),
      "",
    ];
    await write(process.stdout, lines.join("\n"));
    return 0;
  } finally {
    py.close();
  }
}

async function cmdHeap(ctx: Context): Promise<number> {
  const w = workloadOf(ctx);
  positiveNumber(ctx.values.worst, "worst", true); // bad usage is reported before Python starts
  const py = await open(ctx);
  try {
    progress.say(w.label ? `running ${w.label}` : "starting");
    runWorkload(py, w, ctx.values.json === "-");
    progress.say("mapping the heap");
    const allocator = py.allocatorName();
    if (allocator?.startsWith("mimalloc")) {
      const source = { library: py.library, workload: w.label };
      const opts = { version: versionString(py.version), allocator, rss: rssOf(), source };
      const map = py.mimallocHeap(), doc = mimallocToJSON(map, opts);
      // The HTML report says what holds the memory (a classification: only when it is wanted).
      if (ctx.values.html !== undefined) {
        doc.objects = mimallocObjectsToJSON(py.mimallocObjects(map), map.pages.length, { pageTypes: true });
      }
      await writeMimallocReport(ctx, doc);
      return 0;
    }
    const snap = py.heap();
    const doc = heapToJSON(snap, { rss: rssOf(), source: { library: py.library, workload: w.label } });
    doc.pinning = topPinning(snap);
    const space = addressSpaceFor(() => py.addressSpace({ heap: snap }));
    if ("error" in space) (doc.warnings ??= []).push(`RSS not attributed: ${space.error}`);
    else doc.addressSpace = space;
    if (ctx.values.html !== undefined && doc.pinning) {
      doc.objects = objectsToJSON(snap.objects(), { poolTypes: true, samples: true });
    }
    await writeHeapReport(ctx, doc);
    return 0;
  } finally {
    py.close();
  }
}

async function cmdDiff(ctx: Context): Promise<number> {
  const w = workloadOf(ctx);
  const py = await open(ctx);
  try {
    const quiet = ctx.values.json === "-";
    if (ctx.values.setup !== undefined) {
      progress.say("running --setup");
      runWorkload(py, { code: ctx.values.setup as string, args: [] }, quiet);
    }
    progress.say("mapping the heap (before)");
    const before = py.heap();
    progress.say(w.label ? `running ${w.label}` : "running nothing");
    runWorkload(py, w, quiet);
    progress.say("mapping the heap (after)");
    const after = py.heap();
    const diff = diffToJSON(before, after, { library: py.library, workload: w.label });
    if (ctx.values.json !== undefined) {
      await output(ctx.values.json as string, JSON.stringify(diff, null, 1) + "\n", "the diff JSON");
    }
    const stream = quiet ? process.stderr : process.stdout;
    progress.clear();
    await write(stream, renderDiffText(diff, { color: !!stream.isTTY && colorAllowed() }));
    return 0;
  } finally {
    py.close();
  }
}

async function cmdStats(ctx: Context): Promise<number> {
  const w = workloadOf(ctx);
  const py = await open(ctx);
  try {
    progress.say(w.label ? `running ${w.label}` : "starting");
    runWorkload(py, w, false);
    const stats = py.debugMallocStats();
    progress.clear();
    if (!stats.pymalloc) process.stderr.write(`pymem: no pymalloc statistics: ${stats.reason}\n`);
    await write(process.stdout, stats.text);
    return 0;
  } finally {
    py.close();
  }
}

export const infoCommand: Command = {
  name: "info",
  summary: "what pymem sees: runtime, library, version, allocators, hidden symbols",
  usage: "pymem info [options]",
  about: [
    "Loads libpython (without running anything) and prints the JavaScript runtime and FFI backend, the library " +
    "and how it was found, the CPython version, the allocator of each memory domain with the functions it " +
    "resolves to, the arena allocator, and which optional and hidden symbols were found.",
  ],
  options: [
    ...EMBED,
    {
      name: "json",
      arg: "FILE",
      writes: "file",
      help: 'write the same as JSON (schema pymem.info, version 1; "-" for stdout)',
    },
    DEBUG,
    HELP,
  ],
  positionals: "none",
  run: cmdInfo,
};

export const heapCommand: Command = {
  name: "heap",
  summary: "run Python code, then map the obmalloc heap: summary, size classes, fragmentation verdict",
  usage: "pymem heap [options] [-c CODE | --demo | FILE.py [ARGS…]]",
  about: [
    "Runs the code in an embedded CPython, then reports the heap it left, led by the process's RSS by holder " +
    "(pymalloc / malloc in use / malloc free but held / stacks / code / other, from /proc/self/smaps) and its " +
    "verdict: arenas, pools, blocks, bytes and RSS, " +
    "the size-class table (the rows of CPython's own _debugmallocstats), fragmentation with a plain-language " +
    "verdict, and the emptiest arenas. With no code, maps the heap of a freshly started interpreter.",
    SCRIPT_ABOUT,
    "With --json -, the JSON goes to stdout and the text report to stderr; the code's own output to stdout (print(), sys.stdout, os.write(1, …), C printf, child processes) goes to stderr too.",
  ],
  options: [CODE, DEMO, ...OUTPUTS, ...EMBED, DEBUG, HELP],
  positionals: "script",
  run: cmdHeap,
};

export const diffCommand: Command = {
  name: "diff",
  summary: "what a piece of code allocated, by size class (snapshot before and after)",
  usage: "pymem diff [options] [-c CODE | --demo | FILE.py [ARGS…]]",
  about: [
    "Takes a snapshot, runs the code (after --setup, if given), takes another, and prints the totals before and " +
    "after and the change of every size class that changed.",
    SCRIPT_ABOUT,
  ],
  options: [
    CODE,
    DEMO,
    { name: "setup", arg: "CODE", help: "run this first, before the 'before' snapshot (imports, fixtures)" },
    {
      name: "json",
      arg: "FILE",
      writes: "file",
      help: 'write the diff as JSON (schema pymem.diff, version 1; "-" for stdout)',
    },
    ...EMBED,
    DEBUG,
    HELP,
  ],
  positionals: "script",
  run: cmdDiff,
};

export const statsCommand: Command = {
  name: "stats",
  summary: "CPython's own allocator statistics (sys._debugmallocstats) after running code",
  usage: "pymem stats [options] [-c CODE | --demo | FILE.py [ARGS…]]",
  about: [
    "Runs the code, then prints CPython's own statistics text exactly as _PyObject_DebugMallocStats writes it " +
    "(captured in-process, not from stderr). Its size-class rows equal those of `pymem heap` for the same code.",
    SCRIPT_ABOUT,
  ],
  options: [CODE, DEMO, ...EMBED, DEBUG, HELP],
  positionals: "script",
  run: cmdStats,
};
