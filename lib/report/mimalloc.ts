/**
 * The mimalloc heap map (lib/mimalloc/) as a JSON document (`schema: "pymem.mimalloc"`) and as terminal text: the
 * report of `pymem heap` and `pymem attach` when the process allocates with mimalloc (PYTHONMALLOC=mimalloc). Its
 * own schema, because its units are mimalloc's (segments, pages, bins of any size up to 16 MiB), not obmalloc's fixed
 * arenas, pools and 16-byte classes that the `pymem.heap` renderers draw.
 * @module
 */
import type { MimallocHeap, MimallocPageKind, MimallocSizeClass } from "../mimalloc/mod.ts";
import type { MimallocObjects, MimallocPinningRow } from "../objects/mimalloc.ts";
import { runtimeName } from "../core/runtime.ts";
import { PYMEM_VERSION, SCHEMA_VERSION, type SourceJSON } from "./json.ts";
import { formatBytes, formatInt, table, type TextOptions } from "./text.ts";

export const MIMALLOC_SCHEMA = "pymem.mimalloc";

const hex = (n: bigint): string => `0x${n.toString(16)}`;

/** The document. Addresses are hex strings (JSON numbers cannot carry every 64-bit address). */
export interface MimallocJSON {
  schema: typeof MIMALLOC_SCHEMA;
  schemaVersion: number;
  pymemVersion: string;
  takenAt: string;
  source: SourceJSON;
  python: { version: string; allocator: string | null };
  mimalloc: { release: string; headers: string; how: string; segmentSize: number; sliceSize: number };
  rss: number | null;
  totals: MimallocHeap["totals"];
  fragmentation: MimallocHeap["fragmentation"];
  abandoned: MimallocHeap["abandoned"];
  sizeClasses: MimallocSizeClass[];
  heaps: (Omit<MimallocHeap["heaps"][number], "address"> & { address: string })[];
  segments: (Omit<MimallocHeap["segments"][number], "address"> & { address: string })[];
  /** Every page as parallel arrays: its segment (a position in `segments`), first slice, kind, block size, blocks. */
  pages: {
    segment: number[];
    slice: number[];
    kind: MimallocPageKind[];
    blockSize: number[];
    used: number[];
    capacity: number[];
    reserved: number[];
    /** A position in `heaps`, -1 for no heap (abandoned). */
    heap: number[];
    /** Slices the page spans (its bytes / `mimalloc.sliceSize`). */
    slices: number[];
  };
  /**
   * The classification, when asked for (`pymem heap --html`): the pinning rows (pages kept committed, by kind) and
   * what each page holds (parallel to `pages`: its kinds, most blocks first, e.g. `"Foo ×120, str ×3"`).
   */
  objects?: { pinning: MimallocPinningRow[]; pageTypes?: string[] };
  warnings?: string[];
}

/** The classification part of the document (`objects`): the top `limit` pinning rows and each page's kinds. */
export function mimallocObjectsToJSON(
  objects: MimallocObjects,
  pages: number,
  options: { limit?: number; pageTypes?: boolean } = {},
): NonNullable<MimallocJSON["objects"]> {
  const out: NonNullable<MimallocJSON["objects"]> = { pinning: objects.pinning({ limit: options.limit ?? 15 }) };
  if (options.pageTypes) {
    out.pageTypes = new Array(pages);
    for (let i = 0; i < pages; i++) {
      out.pageTypes[i] = objects.pageTypes(i).slice(0, 3).map((t) => `${t.name} ×${t.count}`).join(", ");
    }
  }
  return out;
}

/** The document of one map. */
export function mimallocToJSON(
  h: MimallocHeap,
  options: { version: string; allocator: string | null; source?: Partial<SourceJSON>; rss?: number | null },
): MimallocJSON {
  const segIndex = new Map(h.segments.map((s, i) => [s.address, i]));
  const heapIndex = new Map(h.heaps.map((x, i) => [x.address, i]));
  const pages: MimallocJSON["pages"] = {
    segment: [],
    slice: [],
    kind: [],
    blockSize: [],
    used: [],
    capacity: [],
    reserved: [],
    heap: [],
    slices: [],
  };
  const slice = BigInt(h.geometry.sliceSize);
  for (const p of h.pages) {
    pages.segment.push(segIndex.get(p.segment) ?? -1);
    pages.slice.push(Number((p.address - p.segment) / slice));
    pages.kind.push(p.kind);
    pages.blockSize.push(p.blockSize);
    pages.used.push(p.used);
    pages.capacity.push(p.capacity);
    pages.reserved.push(p.reserved);
    pages.heap.push(heapIndex.get(p.heap) ?? -1);
    pages.slices.push(p.bytes / h.geometry.sliceSize);
  }
  const doc: MimallocJSON = {
    schema: MIMALLOC_SCHEMA,
    schemaVersion: SCHEMA_VERSION,
    pymemVersion: PYMEM_VERSION,
    takenAt: new Date().toISOString(),
    source: { kind: "embedded", runtime: runtimeName(), ...options.source },
    python: { version: options.version, allocator: options.allocator },
    mimalloc: { release: h.mimalloc, headers: h.headers, how: h.how, ...h.geometry },
    rss: options.rss ?? null,
    totals: { ...h.totals },
    fragmentation: { ...h.fragmentation },
    abandoned: { ...h.abandoned },
    sizeClasses: h.sizeClasses.map((r) => ({ ...r })),
    heaps: h.heaps.map((x) => ({ ...x, address: hex(x.address) })),
    segments: h.segments.map((s) => ({ ...s, address: hex(s.address) })),
    pages,
  };
  if (h.warnings.length) doc.warnings = [...h.warnings];
  return doc;
}

const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/** The terminal report: summary, thread heaps, size classes, the emptiest segments. */
export function renderMimallocText(doc: MimallocJSON, options: TextOptions = {}): string {
  const paint = options.color ? (c: string, s: string) => `\x1b[${c}m${s}\x1b[0m` : (_c: string, s: string) => s;
  const t = doc.totals, f = doc.fragmentation, a = doc.abandoned;
  const where = doc.source.kind === "attached" ? `process ${doc.source.pid}` : "this process";
  const lines = [
    paint("1", `mimalloc heap of ${where}: CPython ${doc.python.version}, mimalloc ${doc.mimalloc.release}`),
    `  ${formatInt(t.segments)} segment${t.segments === 1 ? "" : "s"} = ${formatBytes(t.segmentBytes)} mapped` +
    (doc.rss === null ? "" : `; RSS ${formatBytes(doc.rss)}`),
    `  ${formatInt(t.blocksInUse)} blocks in use = ${formatBytes(t.bytesInUse)} in ${formatInt(t.pages)} pages ` +
    `(${formatInt(t.emptyPages)} empty pages kept); ${formatBytes(t.bytesAvailable)} free inside them`,
    `  utilization ${pct(f.utilization)}; ${formatBytes(f.freeBytesInFreeSlices)} in free spans and empty pages`,
  ];
  if (a.segments || a.pages) {
    lines.push(
      `  abandoned by exited threads: ${formatInt(a.segments)} segments, ${formatInt(a.pages)} pages, ` +
        `${formatInt(a.blocksInUse)} blocks = ${formatBytes(a.bytesInUse)}`,
    );
  }
  if (f.reclaimableSegments > 0) {
    lines.push(
      `  fragmented: packed densely the live blocks would fit in ${formatInt(f.segmentsIfPacked)} segments; ` +
        `${formatInt(f.reclaimableSegments)} (${
          formatBytes(f.reclaimableSegments * doc.mimalloc.segmentSize)
        }) could go`,
    );
  }
  if (f.pinnedSegments > 0) {
    lines.push(
      `  ${formatInt(f.pinnedSegments)} segments (${formatBytes(f.pinnedBytes)}) kept by fewer than ` +
        `${f.pinnedThreshold} pages with live blocks`,
    );
  }
  lines.push("", paint("1", "Thread heaps"));
  lines.push(
    table(
      ["heap", "thread", "pages", "blocks", "in use", "free in pages"],
      doc.heaps.map((x) => [
        x.address + (x.main ? " (main)" : ""),
        String(x.threadId),
        formatInt(x.pages),
        formatInt(x.blocksInUse),
        formatBytes(x.bytesInUse),
        formatBytes(x.bytesAvailable),
      ]),
      [false, true, true, true, true, true],
    ),
  );
  lines.push("", paint("1", "By block size"));
  lines.push(
    table(
      ["size", "kind", "pages", "blocks", "in use", "free blocks"],
      doc.sizeClasses.map((r) => [
        formatInt(r.size),
        r.kind,
        formatInt(r.pages),
        formatInt(r.blocksInUse),
        formatBytes(r.blocksInUse * r.size),
        formatInt(r.availBlocks),
      ]),
      [true, false, true, true, true, true],
    ),
  );
  const worst = [...doc.segments].filter((s) => s.kind === "normal").sort((x, y) => x.fill - y.fill)
    .slice(0, options.worstArenas ?? 10);
  if (worst.length) {
    lines.push("", paint("1", "Emptiest segments"));
    lines.push(
      table(
        ["segment", "owner", "pages", "in use", "fill"],
        worst.map((s) => [
          s.address,
          s.abandoned ? "abandoned" : String(s.threadId),
          formatInt(s.usedPages),
          formatBytes(s.bytesInUse),
          pct(s.fill),
        ]),
        [false, true, true, true, true],
      ),
    );
  }
  for (const w of doc.warnings ?? []) lines.push(`warning: ${w}`);
  return lines.join("\n") + "\n";
}
