/**
 * `pymem why` under mimalloc (PYTHONMALLOC=mimalloc, 3.13+): the classified mimalloc heap (lib/objects/mimalloc.ts)
 * as a versioned JSON document (schema `pymem.mimalloc.why`, docs/json-schema.md) and its text: live bytes by type
 * and what keeps the pages (and segments) committed. Its own schema beside `pymem.why`, because its units are
 * mimalloc's pages and segments, not obmalloc's arenas. Renderers are pure functions of the document.
 * @module
 */
import type { AddressSpaceJSON } from "./rss.ts";
import type { MimallocHeap } from "../mimalloc/mod.ts";
import type { MimallocObjects, MimallocPinningRow } from "../objects/mimalloc.ts";
import { runtimeName } from "../core/runtime.ts";
import { PYMEM_VERSION, type SourceJSON } from "./json.ts";
import { formatBytes } from "./text.ts";
import { printable } from "./printable.ts";

export const WHY_MIMALLOC_SCHEMA = "pymem.mimalloc.why";
/** Version of the schema (bumped when a field is removed or changes meaning). */
export const WHY_MIMALLOC_SCHEMA_VERSION = 1;

/** A classified mimalloc heap as a JSON document. */
export interface WhyMimallocJSON {
  schema: typeof WHY_MIMALLOC_SCHEMA;
  schemaVersion: number;
  pymemVersion: string;
  takenAt: string;
  source: SourceJSON;
  python: { version: string; allocator: string | null };
  /** The process's RSS by holder (lib/address-space/; mimalloc's segments as their own holder), or why it is absent. */
  addressSpace?: AddressSpaceJSON;
  addressSpaceError?: string;
  heap: {
    mimalloc: string;
    segments: number;
    segmentBytes: number;
    segmentSize: number;
    /** Pages with blocks in use, and their bytes (slices). */
    pages: number;
    pageBytes: number;
    blocksInUse: number;
    bytesInUse: number;
    /** Normal segments the live blocks would need packed densely, and what the rest would give back. */
    segmentsIfPacked: number;
    reclaimableSegments: number;
    /** What exited threads left. */
    abandonedPages: number;
    abandonedBytes: number;
  };
  classified: {
    liveBlocks: number;
    objects: number;
    notObjects: number;
    notObjectBytes: number;
    tornPages: number;
    unreadBlocks: number;
    types: number;
    elapsedMs: number;
  };
  /** Kinds by bytes of pages kept committed, most first (at most `limit` rows). */
  pinning: MimallocPinningRow[];
  /** Kinds by bytes of segments kept reserved, most first (at most `limit` rows). */
  segmentPinning: MimallocPinningRow[];
  /** Every kind by bytes in use. */
  byType: { name: string; object: boolean; count: number; bytes: number }[];
  verdict: string[];
}

/** Build the document from a map and its classification. */
export function whyMimallocToJSON(
  map: MimallocHeap,
  objects: MimallocObjects,
  options: {
    version: string;
    allocator: string | null;
    source: Omit<SourceJSON, "runtime"> & { runtime?: string };
    elapsedMs: number;
    limit?: number;
  },
): WhyMimallocJSON {
  const limit = options.limit ?? 20;
  const all = objects.pinning();
  const doc: WhyMimallocJSON = {
    schema: WHY_MIMALLOC_SCHEMA,
    schemaVersion: WHY_MIMALLOC_SCHEMA_VERSION,
    pymemVersion: PYMEM_VERSION,
    takenAt: new Date().toISOString(),
    source: { runtime: runtimeName(), ...options.source } as SourceJSON,
    python: { version: options.version, allocator: options.allocator },
    heap: {
      mimalloc: map.mimalloc,
      segments: map.totals.segments,
      segmentBytes: map.totals.segmentBytes,
      segmentSize: map.geometry.segmentSize,
      pages: map.totals.pages,
      pageBytes: map.pages.reduce((s, p) => s + (p.used > 0 ? p.bytes : 0), 0),
      blocksInUse: map.totals.blocksInUse,
      bytesInUse: map.totals.bytesInUse,
      segmentsIfPacked: map.fragmentation.segmentsIfPacked,
      reclaimableSegments: map.fragmentation.reclaimableSegments,
      abandonedPages: map.abandoned.pages,
      abandonedBytes: map.abandoned.bytesInUse,
    },
    classified: {
      liveBlocks: objects.liveBlocks,
      objects: objects.objects,
      notObjects: objects.notObjects,
      notObjectBytes: objects.notObjectBytes,
      tornPages: objects.tornPages,
      unreadBlocks: objects.unreadBlocks,
      types: objects.byType.length,
      elapsedMs: options.elapsedMs,
    },
    pinning: all.slice(0, limit),
    segmentPinning: objects.pinning({ unit: "segment", limit }),
    byType: all.map(({ name, object, count, bytes }) => ({ name, object, count, bytes }))
      .sort((a, b) => b.bytes - a.bytes || b.count - a.count),
    verdict: [],
  };
  doc.verdict = whyMimallocVerdict(doc);
  return doc;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const quote = (r: { name: string; object: boolean }) => (r.object ? `\`${printable(r.name)}\`` : printable(r.name));

/** The verdict lines of the document. */
export function whyMimallocVerdict(doc: WhyMimallocJSON): string[] {
  const h = doc.heap, c = doc.classified;
  if (h.pages === 0) return ["No mimalloc page holds a live block: nothing to attribute."];
  const [first, ...rest] = doc.pinning.slice(0, 3);
  const lines: string[] = [];
  if (first) {
    lines.push(
      `${quote(first)} keeps ${formatBytes(first.pinnedBytes)} of pages committed in ${int(first.pages)} page${
        first.pages === 1 ? "" : "s"
      }` + rest.map((r) => `; ${quote(r)} ${formatBytes(r.pinnedBytes)}`).join("") + ".",
    );
  }
  // One page less than half full per size is the one being filled: a kind found in only one says nothing.
  const sparse = doc.pinning.filter((r) => r.sparse > 1).slice(0, 3);
  if (sparse.length) {
    lines.push(
      `In pages less than half full: ${sparse.map((r) => `${quote(r)} in ${int(r.sparse)}`).join(", ")}; ` +
        "those pages stay committed only while such blocks live.",
    );
  }
  if (h.reclaimableSegments > 0) {
    const seg = doc.segmentPinning.slice(0, 3).map((r) => `${quote(r)} ${formatBytes(r.pinnedBytes)}`).join("; ");
    lines.push(
      `Packed densely the live blocks would fit in ${int(h.segmentsIfPacked)} of ${int(h.segments)} segments ` +
        `(${formatBytes(h.reclaimableSegments * h.segmentSize)} could go); by segment: ${seg}.`,
    );
  }
  lines.push(
    `${int(c.objects)} of ${int(c.liveBlocks)} live blocks hold Python objects (${
      formatBytes(doc.byType.filter((r) => r.object).reduce((s, r) => s + r.bytes, 0))
    }); ${int(c.notObjects)} are buffers or other data (${formatBytes(c.notObjectBytes)}, not named under mimalloc).`,
  );
  if (h.abandonedPages > 0) {
    lines.push(
      `Exited threads left ${int(h.abandonedPages)} pages (${formatBytes(h.abandonedBytes)} in use) that no live ` +
        "thread has reclaimed.",
    );
  }
  if (c.tornPages > 0) {
    lines.push(
      `${int(c.tornPages)} pages changed while read and are counted as unread (${int(c.unreadBlocks)} blocks).`,
    );
  }
  return lines;
}

/** The text report. */
export function renderWhyMimallocText(doc: WhyMimallocJSON): string {
  const head = ["type", "pinned", "pages", "sparse", "segments", "blocks", "bytes"];
  const rows = doc.pinning.map((r) => [
    r.object ? printable(r.name) : `(${printable(r.name)})`,
    formatBytes(r.pinnedBytes),
    int(r.pages),
    int(r.sparse),
    int(r.segments),
    int(r.count),
    formatBytes(r.bytes),
  ]);
  const widths = head.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const src = doc.source.kind === "attached" ? `process ${doc.source.pid}` : "embedded interpreter";
  const h = doc.heap;
  const name = doc.python.allocator ?? "mimalloc";
  const allocator = name === "mimalloc" ? `mimalloc ${h.mimalloc}` : `${name}, mimalloc ${h.mimalloc}`;
  return [
    `What holds the memory: CPython ${doc.python.version} (${allocator}), ${src}`,
    `${int(h.segments)} segment${h.segments === 1 ? "" : "s"} (${formatBytes(h.segmentBytes)} reserved), ` +
    `${int(h.pages)} pages with live blocks (${formatBytes(h.pageBytes)}), ${int(doc.classified.liveBlocks)} live ` +
    `blocks, classified in ${doc.classified.elapsedMs.toFixed(0)} ms (${int(doc.classified.types)} types)`,
    "",
    line(head),
    ...rows.map(line),
    "",
    ...doc.verdict,
    "",
  ].join("\n");
}
