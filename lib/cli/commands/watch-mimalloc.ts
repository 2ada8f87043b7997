/**
 * `pymem attach PID --watch SECONDS` of a process that allocates with mimalloc: the first map's report, one line per
 * re-sample (segments, blocks and bytes changed, the block sizes that grew most), then the growth by block size since
 * the first map; the files asked for (--json, --svg, --html) are written from the last map. Beside obmalloc's watch
 * in commands/processes.ts, which hands over here.
 * @module
 */
import process from "node:process";
import type { AttachedPython } from "../../attach/attach.ts";
import type { MimallocHeap } from "../../mimalloc/mod.ts";
import { type MimallocJSON, renderMimallocText } from "../../report/mimalloc.ts";
import { formatBytes, formatDelta, formatInt, table } from "../../report/text.ts";
import type { Context } from "../command.ts";
import { colorAllowed, progress, resample, write } from "../io.ts";
import { writeMimallocReport } from "../heap-report.ts";

/** Blocks and pages in use by block size. */
function bySize(h: MimallocHeap): Map<number, { pages: number; blocks: number }> {
  return new Map(h.sizeClasses.map((r) => [r.size, { pages: r.pages, blocks: r.blocksInUse }]));
}

/** after − before by block size, the sizes that changed, most bytes first. */
function growth(before: MimallocHeap, after: MimallocHeap): { size: number; pages: number; blocks: number }[] {
  const a = bySize(before), b = bySize(after);
  const out: { size: number; pages: number; blocks: number }[] = [];
  for (const size of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(size) ?? { pages: 0, blocks: 0 }, y = b.get(size) ?? { pages: 0, blocks: 0 };
    if (x.pages !== y.pages || x.blocks !== y.blocks) {
      out.push({ size, pages: y.pages - x.pages, blocks: y.blocks - x.blocks });
    }
  }
  return out.sort((p, q) => Math.abs(q.blocks * q.size) - Math.abs(p.blocks * p.size) || p.size - q.size);
}

const signedBytes = (n: number) => (n >= 0 ? "+" : "-") + formatBytes(Math.abs(n));

/** One `--watch` line: time, segments, blocks and bytes changed, and the three sizes that changed most. */
function growthLine(before: MimallocHeap, after: MimallocHeap, seconds: number): string {
  const s0 = before.totals.segments, s1 = after.totals.segments;
  const top = growth(before, after).slice(0, 3).map((r) => `${r.size} B ${formatDelta(r.blocks)}`).join(", ");
  return `+${seconds.toFixed(1)}s  segments ${formatInt(s1)} (${formatDelta(s1 - s0)})  blocks ${
    formatDelta(after.totals.blocksInUse - before.totals.blocksInUse)
  } (${signedBytes(after.totals.bytesInUse - before.totals.bytesInUse)})${top ? `  top: ${top}` : ""}`;
}

/** Watch a mimalloc target until Ctrl-C or `count` re-samples. */
export async function watchMimalloc(
  ctx: Context,
  target: AttachedPython,
  first: MimallocHeap,
  every: number,
  count: number | undefined,
  toJSON: (map: MimallocHeap) => MimallocJSON,
): Promise<number> {
  const stream = ctx.values.json === "-" ? process.stderr : process.stdout;
  const color = !!stream.isTTY && colorAllowed();
  progress.clear();
  await write(stream, renderMimallocText(toJSON(first), { color, worstArenas: 5 }));
  const { last, seconds } = await resample(
    stream,
    first,
    every,
    count,
    () => target.mimallocHeap(),
    growthLine,
  );
  const rows = growth(first, last);
  const text = rows.length
    ? table(
      ["size", "pages", "blocks", "bytes"],
      rows.map((r) => [formatInt(r.size), formatDelta(r.pages), formatDelta(r.blocks), signedBytes(r.blocks * r.size)]),
      [true, true, true, true],
    )
    : "(no block size changed)";
  await write(
    stream,
    `\nGrowth since the first map (${seconds.toFixed(1)} s), by block size\n${text}\n`,
  );
  // The files of the last map, without printing its report again.
  if (ctx.values.json !== undefined || ctx.values.svg !== undefined || ctx.values.html !== undefined) {
    await writeMimallocReport(ctx, toJSON(last), { quiet: true });
  }
  return 0;
}
