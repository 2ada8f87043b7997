/**
 * CPython's own view of its allocator: `_PyObject_DebugMallocStats(FILE*)`, the text `sys._debugmallocstats()`
 * prints, captured in-process through `open_memstream` (never via stderr) and parsed.
 * @module
 */
import type { SizeClassRow } from "./heap.ts";

/** The parsed text. Figures CPython did not print are absent, never made up. */
export interface DebugMallocStats {
  /** The text exactly as CPython wrote it. */
  text: string;
  /** True when pymalloc statistics were printed; false under malloc (nothing printed) or mimalloc. */
  pymalloc: boolean;
  /** Why there are no pymalloc rows, when `pymalloc` is false. */
  reason?: string;
  /** The size-class rows (only classes with pools, as CPython prints them); null without pymalloc. */
  sizeClasses: SizeClassRow[] | null;
  /** ARENA_SIZE and POOL_SIZE as printed ("N arenas * S bytes/arena", "N unused pools * S bytes"). */
  arenaSize?: number;
  poolSize?: number;
  smallBlockThreshold?: number;
  sizeClassCount?: number;
  /** Every `label = value` line, keyed by label (e.g. "# arenas allocated current"). */
  values: Record<string, number>;
}

const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;
const KV = /^(.*?)\s*=\s*([\d,]+)\s*$/;

/** Parse `_PyObject_DebugMallocStats` output. `printed` is the function's return value (1 if it printed stats). */
export function parseDebugMallocStats(text: string, printed = true): DebugMallocStats {
  const values: Record<string, number> = {};
  const out: DebugMallocStats = { text, pymalloc: false, sizeClasses: null, values };
  const head = /^Small block threshold = (\d+), in (\d+) size classes\./m.exec(text);
  if (!printed || !head) {
    out.reason = text.trim() === ""
      ? "the running allocator keeps no obmalloc statistics (malloc)"
      : "no pymalloc section in the statistics";
    return out;
  }
  out.smallBlockThreshold = Number(head[1]);
  out.sizeClassCount = Number(head[2]);
  if (/Medium block threshold/.test(text)) {
    out.reason = "the running allocator is mimalloc: CPython prints mimalloc totals, not pymalloc size classes";
    return out;
  }
  out.pymalloc = true;
  const rows: SizeClassRow[] = [];
  for (const line of text.split("\n")) {
    const r = ROW.exec(line);
    if (r) {
      const [index, size, pools, blocksInUse, availBlocks] = r.slice(1).map(Number);
      rows.push({ index, size, pools, blocksInUse, availBlocks });
      continue;
    }
    const kv = KV.exec(line);
    if (!kv) continue;
    const label = kv[1].trim();
    const value = Number(kv[2].replaceAll(",", ""));
    values[label] = value;
    const arenas = /^(\d+) arenas \* (\d+) bytes\/arena$/.exec(label);
    if (arenas) out.arenaSize = Number(arenas[2]);
    const pools = /^(\d+) unused pools \* (\d+) bytes$/.exec(label);
    if (pools) out.poolSize = Number(pools[2]);
  }
  out.sizeClasses = rows;
  return out;
}
