/**
 * `pymem why` of a process that allocates with mimalloc (PYTHONMALLOC=mimalloc, 3.13+): its map classified
 * (lib/objects/mimalloc.ts) and rendered by lib/report/why-mimalloc.ts, where the obmalloc classification would say
 * "does not use obmalloc". Kept apart from commands/why.ts, which only asks `mimallocMapOf` first.
 * @module
 */
import process from "node:process";
import type { AttachedPython } from "../../attach/attach.ts";
import type { Python } from "../../python.ts";
import { type MimallocHeap, mimallocIfUsed } from "../../mimalloc/mod.ts";
import { versionString } from "../../core/version.ts";
import type { SourceJSON } from "../../report/json.ts";
import { renderWhyMimallocText, whyMimallocToJSON } from "../../report/why-mimalloc.ts";
import type { Context } from "../command.ts";
import { output, progress, write } from "../io.ts";
import { addressSpaceFor } from "../heap-report.ts";
import { rssText, rssVerdict } from "../../report/rss.ts";

/**
 * The mimalloc map of a process that allocates with mimalloc, or undefined when it does not. In-process the name is
 * asked only: this runtime may itself allocate with a mimalloc of its own (Bun), whose segments are not CPython's.
 */
export function mimallocMapOf(py: Python | AttachedPython, attached: boolean): MimallocHeap | undefined {
  if (attached) return mimallocIfUsed(py);
  return py.allocatorName()?.startsWith("mimalloc") ? py.mimallocHeap() : undefined;
}

/** Classify the map, write the JSON if asked, and print the report. */
export async function whyMimalloc(
  ctx: Context,
  py: Python | AttachedPython,
  map: MimallocHeap,
  source: Omit<SourceJSON, "runtime">,
  limit: number,
): Promise<number> {
  const t0 = performance.now();
  const objects = py.mimallocObjects(map);
  const doc = whyMimallocToJSON(map, objects, {
    version: versionString(py.version),
    allocator: py.allocatorName() ?? "mimalloc",
    source,
    elapsedMs: performance.now() - t0,
    limit,
  });
  // The RSS by holder first, as for pymalloc: mimalloc's segments beside glibc's heap, stacks and code.
  const space = addressSpaceFor(() => py.addressSpace());
  if ("error" in space) doc.addressSpaceError = space.error;
  else doc.addressSpace = space;
  if (ctx.values.json !== undefined) await output(ctx.values.json as string, JSON.stringify(doc) + "\n", "the JSON");
  progress.clear();
  const rss = doc.addressSpace
    ? [...rssText(doc.addressSpace), "", ...rssVerdict(doc.addressSpace, undefined, map.totals.bytesInUse), "", ""]
    : [`RSS not attributed: ${doc.addressSpaceError}`, "", ""];
  await write(ctx.values.json === "-" ? process.stderr : process.stdout, rss.join("\n") + renderWhyMimallocText(doc));
  return 0;
}
