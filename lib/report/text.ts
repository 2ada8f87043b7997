/**
 * Terminal reports: the summary, the size-class table, the fragmentation verdict in plain language, the worst
 * arenas, diffs and the process list. Pure functions of the JSON documents (lib/report/json.ts); colour is an
 * option, decided by the caller (a TTY without NO_COLOR).
 * @module
 */
import type { PythonProcessInfo } from "../attach/processes.ts";
import type { DiffJSON, HeapJSON } from "./json.ts";
import { printable } from "./printable.ts";
import { formatBytes, formatInt } from "./format.ts";
import { rssText, rssVerdict } from "./rss.ts";

/** Options of the text renderers. */
export interface TextOptions {
  /** ANSI colours (default false). */
  color?: boolean;
  /** How many of the emptiest arenas to list (default 10). */
  worstArenas?: number;
}

type Paint = (code: string, s: string) => string;
const painter = (on: boolean | undefined): Paint => (on ? (code, s) => `\x1b[${code}m${s}\x1b[0m` : (_c, s) => s);

export { formatBytes, formatInt } from "./format.ts";

/** A signed integer ("+1,234", "-5", "0"). */
export function formatDelta(n: number): string {
  return n > 0 ? `+${formatInt(n)}` : formatInt(n);
}

const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/** Pad cells into aligned columns (two spaces apart); `right` marks right-aligned (numeric) columns. */
export function alignColumns(rows: string[][], right: boolean[] = []): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((cells) =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()
  );
}

/** A table: the head, a rule of dashes, the rows, as aligned columns. */
export function table(head: string[], rows: string[][], right: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return alignColumns(
    [head, widths.map((w) => "-".repeat(w)), ...rows.map((r) => head.map((_, i) => r[i] ?? ""))],
    right,
  ).join("\n");
}

/** How healthy a heap is, as a word and a sentence. */
export interface Verdict {
  level: "empty" | "compact" | "fragmented" | "badly fragmented";
  /** The plain-language lines, first the headline. */
  lines: string[];
}

/**
 * The fragmentation verdict in plain language, e.g. "412 arenas (412 MiB) are pinned by fewer than 5 live pools
 * each; packing the live blocks would need 37 arenas".
 * `tableAt` says where the pinning table is (the HTML page has it right below).
 */
export function verdict(doc: HeapJSON, tableAt = "pymem why has the table"): Verdict {
  const t = doc.totals, f = doc.fragmentation;
  if (t.arenas === 0) {
    const a = doc.python.allocator;
    const why = a && !a.startsWith("pymalloc")
      ? `the allocator is ${a}, which does not use pymalloc arenas (sizes and fragmentation are the C allocator's business)`
      : "nothing has been allocated from pymalloc yet";
    return { level: "empty", lines: [`No obmalloc arenas are mapped: ${why}.`] };
  }
  const arenaWord = (n: number) => `${formatInt(n)} arena${n === 1 ? "" : "s"}`;
  const share = f.reclaimableArenas / t.arenas;
  const lines: string[] = [];
  let level: Verdict["level"];
  if (share >= 0.5 && f.reclaimableArenas >= 2) {
    level = "badly fragmented";
    lines.push(
      `Badly fragmented: ${arenaWord(f.reclaimableArenas)} (${
        formatBytes(f.reclaimableArenas * doc.layout.arenaSize)
      }) ` +
        "could go back to the OS if the live blocks were packed. RSS will not shrink while a few live blocks pin " +
        "each arena; this is the allocator holding freed memory, not a leak.",
    );
  } else if (share >= 0.2 && f.reclaimableArenas >= 1) {
    level = "fragmented";
    lines.push(
      `Fragmented: ${arenaWord(f.reclaimableArenas)} (${formatBytes(f.reclaimableArenas * doc.layout.arenaSize)}) ` +
        "could be returned if the live blocks were packed.",
    );
  } else {
    level = "compact";
    lines.push("Compact: the live blocks fill the arenas well; growth here is live data, not fragmentation.");
  }
  lines.push(
    `${pct(f.utilization)} of the ${formatBytes(t.arenaBytes)} of arenas holds live blocks (${
      formatBytes(t.bytesInUse)
    }).`,
  );
  if (f.pinnedArenas > 0) {
    lines.push(
      `${arenaWord(f.pinnedArenas)} (${formatBytes(f.pinnedBytes)}) ${
        f.pinnedArenas === 1 ? "is" : "are"
      } pinned by fewer ` +
        `than ${f.pinnedThreshold} live pools each; packing the live blocks would need ${
          arenaWord(f.arenasIfPacked)
        } ` +
        `(${formatInt(t.arenas)} mapped).`,
    );
  } else {
    lines.push(`Packing the live blocks would need ${arenaWord(f.arenasIfPacked)} (${formatInt(t.arenas)} mapped).`);
  }
  if (f.freeBytesInUsedPools > 0) {
    lines.push(
      `${
        formatBytes(f.freeBytesInUsedPools)
      } is free inside used pools: reusable only by blocks of the same size class.`,
    );
  }
  if (doc.pinning?.length) lines.push(`What pins the arenas: ${pinningSentence(doc.pinning)} (${tableAt}).`);
  return { level, lines };
}

/** The top pinning kinds in a sentence: "`Session` pins 41 MiB in 38 arenas; dict keys 12 MiB; `str` 3 MiB". */
export function pinningSentence(
  rows: readonly { name: string; object: boolean; pinnedBytes: number; arenas: number }[],
  n = 3,
): string {
  const quote = (r: { name: string; object: boolean }) => (r.object ? `\`${printable(r.name)}\`` : printable(r.name));
  const [first, ...rest] = rows.slice(0, n);
  if (!first) return "";
  return `${quote(first)} pins ${formatBytes(first.pinnedBytes)} in ${formatInt(first.arenas)} arena${
    first.arenas === 1 ? "" : "s"
  }` +
    rest.map((r) => `; ${quote(r)} ${formatBytes(r.pinnedBytes)}`).join("");
}

/** The summary block: where the snapshot comes from and its totals. */
export function summaryText(doc: HeapJSON, options: TextOptions = {}): string {
  const paint = painter(options.color);
  const t = doc.totals, f = doc.fragmentation;
  const where = doc.source.kind === "attached" ? `process ${doc.source.pid}` : doc.source.runtime;
  const c = doc.state.counters;
  const rows: [string, string][] = [
    ["python", `CPython ${doc.python.version} (${doc.python.allocator ?? "custom allocator"}), ${where}`],
  ];
  if (doc.source.library) rows.push(["library", doc.source.library]);
  if (doc.source.workload) rows.push(["workload", doc.source.workload]);
  rows.push(
    [
      "arenas",
      `${formatInt(t.arenas)} × ${formatBytes(doc.layout.arenaSize)} = ${formatBytes(t.arenaBytes)} mapped` +
      (c.narenasHighwater !== undefined
        ? ` (high-water ${formatInt(c.narenasHighwater)}, ${
          formatInt(c.ntimesArenaAllocated ?? 0)
        } allocated over time)`
        : ""),
    ],
    [
      "pools",
      `${formatInt(t.pools)} in use, ${formatInt(t.emptyPools)} empty, ${formatInt(t.untouchedPools)} never used (${
        formatBytes(doc.layout.poolSize)
      } each)`,
    ],
    [
      "blocks",
      `${formatInt(t.blocksInUse)} in use = ${formatBytes(t.bytesInUse)}; ${
        formatBytes(f.freeBytesInUsedPools)
      } free inside used pools`,
    ],
  );
  if (doc.state.rawAllocatedBlocks !== null) {
    rows.push([
      "large",
      `${formatInt(doc.state.rawAllocatedBlocks)} blocks over 512 bytes went to the raw allocator (not in arenas)`,
    ]);
  }
  rows.push(["RSS", doc.rss === null ? "unknown" : formatBytes(doc.rss)]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${paint("1", k.padEnd(w))}  ${v}`).join("\n");
}

/** The size-class table, in the shape of CPython's `_debugmallocstats`, with bytes and fill added. */
export function sizeClassText(doc: HeapJSON): string {
  if (doc.sizeClasses.length === 0) return "(no size class has a pool in use)";
  const rows = doc.sizeClasses.map((r) => [
    String(r.index),
    String(r.size),
    formatInt(r.pools),
    formatInt(r.blocksInUse),
    formatInt(r.availBlocks),
    formatBytes(r.blocksInUse * r.size),
    pct(r.blocksInUse / Math.max(1, r.blocksInUse + r.availBlocks)),
  ]);
  return table(["class", "size", "pools", "blocks in use", "avail blocks", "bytes in use", "fill"], rows, [
    true,
    true,
    true,
    true,
    true,
    true,
    true,
  ]);
}

/** The `n` arenas with the lowest fill (the ones pinning memory for the least data). */
export function worstArenasText(doc: HeapJSON, n = 10): string {
  const worst = [...doc.arenas].sort((a, b) => a.fill - b.fill || a.index - b.index).slice(0, n);
  if (worst.length === 0) return "(no arenas)";
  const rows = worst.map((a) => [
    String(a.index),
    a.address,
    `${a.poolsUsed}/${a.poolsTotal}`,
    formatInt(a.blocksInUse),
    formatBytes(a.bytesInUse),
    pct(a.fill),
  ]);
  return table(["arena", "address", "pools used", "blocks", "bytes", "fill"], rows, [
    true,
    false,
    true,
    true,
    true,
    true,
  ]);
}

/** The whole `pymem heap` report. */
export function renderHeapText(doc: HeapJSON, options: TextOptions = {}): string {
  const paint = painter(options.color);
  const v = verdict(doc);
  const colour = { empty: "2", compact: "32", fragmented: "33", "badly fragmented": "31" }[v.level];
  const out: string[] = [];
  if (doc.addressSpace) {
    const [head, ...rows] = rssText(doc.addressSpace);
    out.push(paint("1", head), ...rows, "", ...rssVerdict(doc.addressSpace, doc.totals.bytesInUse), "");
  }
  out.push(
    summaryText(doc, options),
    "",
    paint("1", "Fragmentation"),
    ...v.lines.map((l, i) => `  ${i === 0 ? paint(`1;${colour}`, l) : l}`),
  );
  if (doc.totals.arenas > 0) {
    out.push("", paint("1", "Size classes"), sizeClassText(doc));
    const n = Math.min(options.worstArenas ?? 10, doc.arenas.length);
    out.push(
      "",
      paint("1", `Emptiest arenas (${n} of ${formatInt(doc.arenas.length)}, lowest fill first)`),
      worstArenasText(doc, n),
    );
  }
  if (doc.warnings?.length) out.push("", paint("1;33", "Warnings"), ...doc.warnings.map((w) => `  ${printable(w)}`));
  return out.join("\n") + "\n";
}

/** The `pymem diff` report: totals before → after, then the changed size classes. */
export function renderDiffText(diff: DiffJSON, options: TextOptions = {}): string {
  const paint = painter(options.color);
  const b = diff.before, a = diff.after;
  const line = (
    k: string,
    x: number,
    y: number,
    fmt: (n: number) => string = formatInt,
  ) => [k, fmt(x), fmt(y), y - x === 0 ? "0" : (y > x ? "+" : "-") + fmt(Math.abs(y - x))];
  const totals = table(["", "before", "after", "change"], [
    line("arenas", b.arenas, a.arenas),
    line("pools in use", b.pools, a.pools),
    line("blocks in use", b.blocksInUse, a.blocksInUse),
    line("bytes in use", b.bytesInUse, a.bytesInUse, formatBytes),
    line("free in used pools", b.bytesAvailable, a.bytesAvailable, formatBytes),
  ], [false, true, true, true]);
  const rows = diff.sizeClasses.map((r) => [
    String(r.index),
    String(r.size),
    formatDelta(r.pools),
    formatDelta(r.blocksInUse),
    (r.bytesInUse > 0 ? "+" : r.bytesInUse < 0 ? "-" : "") + formatBytes(Math.abs(r.bytesInUse)),
    formatDelta(r.availBlocks),
  ]);
  const classes = rows.length
    ? table(["class", "size", "pools", "blocks", "bytes", "avail blocks"], rows, [true, true, true, true, true, true])
    : "(no size class changed)";
  return [
    `${paint("1", "python")}  CPython ${diff.python.version} (${
      diff.python.allocator ?? "custom allocator"
    }), ${diff.source.runtime}` +
    (diff.source.workload ? `, ${printable(diff.source.workload)}` : ""),
    "",
    totals,
    "",
    paint("1", "By size class (after − before)"),
    classes,
  ].join("\n") + "\n";
}

/** "process 12 (CPython 3.11.7) does not use obmalloc: …" → "does not use obmalloc: …" (its first line). */
function reasonOf(error: string): string {
  return error.split("\n")[0].replace(/^process \d+ (\([^)]*\) )?/, "");
}

/**
 * `pymem ps`: one row per Python process; why a process has no figures is a note under the table, whole (a reason in
 * the image column made it as wide as the longest message).
 */
export function renderPsText(rows: PythonProcessInfo[]): string {
  if (rows.length === 0) return "No CPython process this user may read was found.\n";
  const body = rows.map((r) => [
    String(r.pid),
    r.version,
    r.rss === null ? "?" : formatBytes(r.rss),
    r.arenas !== null ? formatInt(r.arenas) : r.mimalloc ? `${formatInt(r.mimalloc.segments)} seg` : "-",
    r.pinned !== null ? formatInt(r.pinned) : r.mimalloc ? `${formatInt(r.mimalloc.pinned)} seg` : "-",
    printable(r.image),
  ]);
  const notes = rows.filter((r) => r.error).map((r) => `${r.pid}: ${printable(reasonOf(r.error!))}`);
  const head = ["pid", "python", "RSS", "arenas", "pinned", "image"];
  const list = table(head, body, [true, false, true, true, true, false]);
  const seg = rows.some((r) => r.mimalloc)
    ? "\nseg: mimalloc segments (PYTHONMALLOC=mimalloc), 32 MiB each; pinned: kept by fewer than 4 pages in use\n"
    : "";
  return list + "\n" + seg +
    (notes.length ? `\nNo heap figures for:\n${notes.map((n) => `  ${n}`).join("\n")}\n` : "");
}
