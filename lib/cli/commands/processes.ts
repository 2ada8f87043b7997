/**
 * The commands that read other processes, read-only: `attach PID` and `ps` (and their option tables).
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { PymemError } from "../../errors.ts";
import type { HeapSnapshot } from "../../objects/mod.ts";
import { attachPython } from "../../attach/attach.ts";
import { PID_MAX_LIMIT } from "../../machine/proc.ts";
import { listPythonProcesses } from "../../attach/processes.ts";
import { type HeapJSON, heapToJSON, psToJSON } from "../../report/json.ts";
import { formatBytes, formatDelta, formatInt, renderHeapText, renderPsText, table } from "../../report/text.ts";
import { heatMapSVG } from "../../report/svg.ts";
import { renderHTML } from "../../report/html.ts";
import { objectsToJSON, topPinning } from "../../report/why.ts";
import { type Command, type Context, DEBUG, HELP, OUTPUTS, UsageError } from "../command.ts";
import { colorAllowed, output, positiveNumber, progress, resample, rssOf, write } from "../io.ts";
import { addressSpaceFor, writeHeapReport, writeMimallocReport } from "../heap-report.ts";
import { mimallocObjectsToJSON, mimallocToJSON } from "../../report/mimalloc.ts";
import { rssText, rssVerdict } from "../../report/rss.ts";
import { versionString } from "../../core/version.ts";
import { cpythonIfKnown } from "../../cpython/versions.ts";
import { watchMimalloc } from "./watch-mimalloc.ts";

function pidOf(ctx: Context): number {
  const [pid, extra] = ctx.positionals;
  if (pid === undefined) throw new UsageError("attach needs a PID");
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (!/^\d+$/.test(pid) || Number(pid) <= 0 || Number(pid) > PID_MAX_LIMIT) {
    throw new UsageError(`not a process id: "${pid}"`);
  }
  return Number(pid);
}

async function cmdAttach(ctx: Context): Promise<number> {
  const pid = pidOf(ctx);
  const every = positiveNumber(ctx.values.watch, "watch", false);
  if (every !== undefined && every < 0.1) {
    throw new UsageError(`--watch needs at least 0.1 seconds, got "${ctx.values.watch}"`);
  }
  // Timers hold at most 2^31−1 ms (about 24.8 days); beyond that they fire at once.
  if (every !== undefined && every * 1000 > 2 ** 31 - 1) {
    throw new UsageError(
      `--watch can wait at most ${Math.floor((2 ** 31 - 1) / 1000)} seconds, got "${ctx.values.watch}"`,
    );
  }
  const count = positiveNumber(ctx.values.count, "count", true);
  positiveNumber(ctx.values.worst, "worst", true);
  if (count !== undefined && every === undefined) throw new UsageError("--count needs --watch SECONDS");
  if (!existsSync(`/proc/${pid}`)) throw new PymemError("ATTACH", `no process ${pid}`);
  progress.say(`attaching to process ${pid}`);
  const target = await attachPython(pid);
  try {
    const sample = (): { snap: HeapSnapshot; doc: HeapJSON } => {
      const snap = target.heap();
      const doc = heapToJSON(snap, { rss: rssOf(pid), source: { kind: "attached", pid, library: target.library } });
      // The HTML report says what holds the memory (a classification per sample: only when it is wanted).
      if (ctx.values.html !== undefined && (doc.pinning = topPinning(snap))) {
        doc.objects = objectsToJSON(snap.objects(), { poolTypes: true });
      }
      return { snap, doc };
    };
    progress.say("mapping the heap");
    let first: { snap: HeapSnapshot; doc: HeapJSON };
    try {
      first = sample();
    } catch (e) {
      // No obmalloc heap: a mimalloc one (PYTHONMALLOC=mimalloc) gets its own report, or the first reason stands.
      if (!(e instanceof PymemError && e.code === "UNSUPPORTED" && /does not use obmalloc/.test(e.message))) throw e;
      const name = target.allocatorName();
      // Unnamed (a stripped image's _PyObject_MiMalloc has no symbol): tried when the CPython carries mimalloc.
      if (!(name?.startsWith("mimalloc") || (name === null && cpythonIfKnown(target.version.minor)?.layout.mimalloc))) {
        // PYTHONMALLOC=malloc or a custom allocator: no map to draw, but the RSS by holder still says where the
        // memory is (`why PID` adds the objects in malloc's chunks). The map formats have nothing to hold.
        const asked = ["json", "svg", "html"].find((o) => ctx.values[o] !== undefined);
        if (asked || every !== undefined) {
          throw new PymemError(
            "UNSUPPORTED",
            `${e.message}; --${asked ?? "watch"} needs a heap map (pymem why ${pid} --json gives the RSS by holder ` +
              "and the objects in malloc's chunks)",
          );
        }
        const space = addressSpaceFor(() => target.addressSpace());
        const lines = [`pymem attach: ${e.message}.`, ""];
        if ("error" in space) lines.push(`RSS not attributed: ${space.error}`);
        else lines.push(...rssText(space), "", ...rssVerdict(space));
        lines.push("", `What the objects in malloc's chunks are: pymem why ${pid}`);
        await write(process.stdout, lines.join("\n") + "\n");
        return 0;
      }
      let map;
      try {
        map = target.mimallocHeap();
      } catch (e2) {
        if (e2 instanceof PymemError && e2.code === "INVALID_STATE") throw e;
        throw e2;
      }
      const source = { kind: "attached" as const, pid, library: target.library };
      const opts = { version: versionString(target.version), allocator: name ?? "mimalloc", rss: rssOf(pid) };
      if (every !== undefined) {
        const toJSON = (m: typeof map) => mimallocToJSON(m, { ...opts, rss: rssOf(pid), source });
        return await watchMimalloc(ctx, target, map, every, count, toJSON);
      }
      const doc = mimallocToJSON(map, { ...opts, source });
      if (ctx.values.html !== undefined) {
        doc.objects = mimallocObjectsToJSON(target.mimallocObjects(map), map.pages.length, { pageTypes: true });
      }
      await writeMimallocReport(ctx, doc);
      return 0;
    }
    // The RSS by holder once, for the first report (a malloc walk per --watch sample would cost seconds on a big heap).
    const space = addressSpaceFor(() => target.addressSpace({ heap: first.snap }));
    if ("error" in space) (first.doc.warnings ??= []).push(`RSS not attributed: ${space.error}`);
    else first.doc.addressSpace = space;
    if (every === undefined) {
      await writeHeapReport(ctx, first.doc);
      return 0;
    }
    // Watch: the first report, then one line per re-sample, then the growth since the first sample.
    const stream = ctx.values.json === "-" ? process.stderr : process.stdout;
    const color = !!stream.isTTY && colorAllowed();
    await write(stream, renderHeapText(first.doc, { color, worstArenas: 5 }));
    const { last, seconds } = await resample(
      stream,
      first,
      every,
      count,
      sample,
      (prev, last, seconds) => growthLine(prev.snap, last.snap, seconds),
    );
    const rows = last.snap.diff(first.snap).filter((r) => r.blocksInUse || r.pools);
    const growth = rows.length
      ? table(
        ["class", "size", "pools", "blocks", "bytes"],
        rows.map((
          r,
        ) => [
          String(r.index),
          String(r.size),
          formatDelta(r.pools),
          formatDelta(r.blocksInUse),
          (r.bytesInUse >= 0 ? "+" : "-") + formatBytes(Math.abs(r.bytesInUse)),
        ]),
        [true, true, true, true, true],
      )
      : "(no size class changed)";
    await write(
      stream,
      `\nGrowth since the first sample (${seconds.toFixed(1)} s), by size class\n${growth}\n`,
    );
    if (ctx.values.svg !== undefined) await output(ctx.values.svg as string, heatMapSVG(last.doc), "the heat map");
    if (ctx.values.html !== undefined) await output(ctx.values.html as string, renderHTML(last.doc), "the HTML report");
    if (ctx.values.json !== undefined) {
      await output(ctx.values.json as string, JSON.stringify(last.doc) + "\n", "the JSON snapshot");
    }
    return 0;
  } finally {
    target.close();
  }
}

/** One `--watch` line: time, arenas, blocks and bytes change, and the three classes that grew most. */
function growthLine(before: HeapSnapshot, after: HeapSnapshot, seconds: number): string {
  const rows = after.diff(before).filter((r) => r.blocksInUse !== 0).sort((a, b) =>
    Math.abs(b.bytesInUse) - Math.abs(a.bytesInUse)
  );
  const a0 = before.totals.arenas, a1 = after.totals.arenas;
  const db = after.totals.bytesInUse - before.totals.bytesInUse;
  const top = rows.slice(0, 3).map((r) => `${r.size} B ${formatDelta(r.blocksInUse)}`).join(", ");
  return `+${seconds.toFixed(1)}s  arenas ${formatInt(a1)} (${formatDelta(a1 - a0)})  blocks ${
    formatDelta(after.totals.blocksInUse - before.totals.blocksInUse)
  } ` +
    `(${db >= 0 ? "+" : "-"}${formatBytes(Math.abs(db))})${top ? `  top: ${top}` : ""}`;
}

async function cmdPs(ctx: Context): Promise<number> {
  progress.say("looking for Python processes");
  const rows = await listPythonProcesses();
  progress.clear();
  if (ctx.values.json !== undefined) {
    await output(ctx.values.json as string, JSON.stringify(psToJSON(rows), null, 1) + "\n", "the process list");
    if (ctx.values.json === "-") return 0;
  }
  await write(process.stdout, renderPsText(rows));
  return 0;
}

export const attachCommand: Command = {
  name: "attach",
  summary: "map the heap of a running Python process by pid (read-only, never stops it)",
  usage: "pymem attach PID [options]",
  about: [
    "Reads another CPython process's obmalloc heap through process_vm_readv (or /proc/PID/mem): the same report " +
    "as `pymem heap`. The target is never stopped or written to. Needs permission to read its memory (same " +
    "user and ptrace_scope ≤ 1 with CAP_SYS_PTRACE, or root).",
    "--watch re-samples every SECONDS and prints the growth by size class since the previous sample, until " +
    "Ctrl-C or --count samples; the files (--json, --svg, --html) are written from the last sample. The RSS by " +
    "holder (which walks glibc malloc's heap too) is read for the first report only.",
  ],
  options: [
    ...OUTPUTS,
    { name: "watch", arg: "SECONDS", help: "re-sample every SECONDS and show growth by size class" },
    { name: "count", arg: "N", help: "with --watch: stop after N re-samples (default: until Ctrl-C)" },
    DEBUG,
    HELP,
  ],
  positionals: "pid",
  run: cmdAttach,
};

export const psCommand: Command = {
  name: "ps",
  summary: "every Python process you may read: pid, version, RSS, arenas, pinned arenas",
  usage: "pymem ps [options]",
  about: [
    "Lists the CPython processes this user may read, with their version, resident set size, obmalloc arenas in " +
    "use and arenas pinned by fewer than 5 live pools, by pid. Processes without figures (PYTHONMALLOC=malloc, a " +
    "CPython older than 3.8) show '-', and why under the table.",
  ],
  options: [
    {
      name: "json",
      arg: "FILE",
      writes: "file",
      help: 'write the list as JSON (schema pymem.ps, version 1; "-" for stdout)',
    },
    DEBUG,
    HELP,
  ],
  positionals: "none",
  run: cmdPs,
};
