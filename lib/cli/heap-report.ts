/**
 * The heap report of `heap` and `attach` as the options ask: the text on stdout (stderr when JSON goes to stdout),
 * and the JSON, SVG heat map and HTML files.
 * @module
 */
import process from "node:process";
import type { HeapJSON } from "../report/json.ts";
import type { AddressSpace } from "../address-space/mod.ts";
import { type AddressSpaceJSON, addressSpaceToJSON } from "../report/rss.ts";
import { PymemError } from "../errors.ts";
import { renderHeapText } from "../report/text.ts";
import { heatMapSVG } from "../report/svg.ts";
import { renderHTML, renderMimallocHTML } from "../report/html.ts";
import { mimallocHeatMapSVG } from "../report/mimalloc-svg.ts";
import { type MimallocJSON, renderMimallocText } from "../report/mimalloc.ts";
import type { Context } from "./command.ts";
import { colorAllowed, output, positiveNumber, progress, write } from "./io.ts";

/** Text report, JSON, SVG and HTML of one snapshot, as the options ask. */
export async function writeHeapReport(ctx: Context, doc: HeapJSON): Promise<void> {
  const jsonToStdout = ctx.values.json === "-";
  const worst = positiveNumber(ctx.values.worst, "worst", true) ?? 10;
  const stream = jsonToStdout ? process.stderr : process.stdout;
  const color = !!stream.isTTY && colorAllowed();
  if (ctx.values.svg !== undefined) {
    progress.say("drawing the heat map");
    await output(ctx.values.svg as string, heatMapSVG(doc), "the heat map");
  }
  if (ctx.values.html !== undefined) {
    progress.say("writing the HTML report");
    await output(ctx.values.html as string, renderHTML(doc, { worstArenas: Math.max(worst, 25) }), "the HTML report");
  }
  if (ctx.values.json !== undefined) {
    await output(ctx.values.json as string, JSON.stringify(doc) + "\n", "the JSON snapshot");
  }
  progress.clear();
  await write(stream, renderHeapText(doc, { color, worstArenas: worst }));
}

/**
 * The report of a mimalloc heap (PYTHONMALLOC=mimalloc): text, JSON, and the heat map and HTML report drawn with
 * mimalloc's units (one row per segment, lib/report/mimalloc-svg.ts).
 */
export async function writeMimallocReport(
  ctx: Context,
  doc: MimallocJSON,
  options: { quiet?: boolean } = {},
): Promise<void> {
  if (ctx.values.svg !== undefined) {
    progress.say("drawing the heat map");
    await output(ctx.values.svg as string, mimallocHeatMapSVG(doc), "the heat map");
  }
  if (ctx.values.html !== undefined) {
    progress.say("writing the HTML report");
    const worst = positiveNumber(ctx.values.worst, "worst", true) ?? 10;
    await output(
      ctx.values.html as string,
      renderMimallocHTML(doc, { worstSegments: Math.max(worst, 25) }),
      "the HTML report",
    );
  }
  const jsonToStdout = ctx.values.json === "-";
  const worst = positiveNumber(ctx.values.worst, "worst", true) ?? 10;
  const stream = jsonToStdout ? process.stderr : process.stdout;
  const color = !!stream.isTTY && colorAllowed();
  if (ctx.values.json !== undefined) {
    await output(ctx.values.json as string, JSON.stringify(doc) + "\n", "the JSON map");
  }
  progress.clear();
  if (!options.quiet) await write(stream, renderMimallocText(doc, { color, worstArenas: worst }));
}

/**
 * The RSS by holder for a report, or the reason it could not be had (smaps unreadable, the process gone): the rest
 * of the report does not depend on it.
 */
export function addressSpaceFor(read: () => AddressSpace): AddressSpaceJSON | { error: string } {
  progress.say("attributing the address space");
  try {
    return addressSpaceToJSON(read());
  } catch (e) {
    if (!(e instanceof PymemError)) throw e;
    return { error: e.message };
  }
}
