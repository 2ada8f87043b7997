/**
 * `pymem why`: what holds the memory. The versioned JSON document of a classified heap (schema `pymem.why`,
 * documented in docs/json-schema.md), its text rendering (the pinning table and a verdict), and the one-line
 * mention `pymem heap` adds to its verdict. Renderers are pure functions of the document.
 * @module
 */
import type { HeapSnapshot } from "../objects/mod.ts";
import type { ObjectsSnapshot, PinningRow } from "../objects/mod.ts";
import type { HeldRow } from "../objects/chunks.ts";
import { runtimeName } from "../core/runtime.ts";
import { type ObjectsJSON, type PinningJSON, type PinningMention, PYMEM_VERSION, type SourceJSON } from "./json.ts";
import { formatBytes, pinningSentence } from "./text.ts";
import { printable } from "./printable.ts";
import { type AddressSpaceJSON, rssText, rssVerdict } from "./rss.ts";

export const WHY_SCHEMA = "pymem.why";
/** Version of the why schema (bumped when a field is removed or changes meaning). */
export const WHY_SCHEMA_VERSION = 1;

export type { PinningJSON };

const hex = (a: bigint | null) => (a === null ? null : "0x" + a.toString(16));
const pinningJSON = (r: PinningRow): PinningJSON => ({ ...r, typeAddress: hex(r.typeAddress) });

/**
 * The classification for the HTML report: the pinning table, optionally what each pool holds (for the heat map's
 * tooltips) and, in-process, samples of the top types with their referrer paths (`explain`). A part that cannot be
 * had (an attached process has no samples) is left out.
 */
export function objectsToJSON(
  objects: ObjectsSnapshot,
  options: { limit?: number; poolTypes?: boolean; samples?: boolean } = {},
): ObjectsJSON {
  const out: ObjectsJSON = { pinning: objects.pinning({ limit: options.limit ?? 15, owners: true }).map(pinningJSON) };
  if (options.poolTypes) {
    const n = objects.heap.walk.usedPools;
    out.poolTypes = new Array(n);
    for (let i = 0; i < n; i++) {
      out.poolTypes[i] = objects.poolTypes(i).slice(0, 3).map((t) => `${t.name} ×${t.count}`).join(", ");
    }
  }
  if (options.samples) {
    try {
      out.samples = objects.explain({ types: 3, samples: 3 }).map((r) => ({
        name: r.name,
        samples: r.samples.map((s) => ({
          address: hex(s.address)!,
          repr: s.repr,
          path: s.path,
          traceback: s.traceback,
        })),
      }));
    } catch { /* attached: no samples */ }
  }
  return out;
}

/** A classified heap as a JSON document (`schema: "pymem.why"`). */
export interface WhyJSON {
  schema: typeof WHY_SCHEMA;
  schemaVersion: number;
  pymemVersion: string;
  takenAt: string;
  source: SourceJSON;
  python: { version: string; allocator: string | null };
  heap: { arenas: number; arenaBytes: number; arenaSize: number; blocksInUse: number; bytesInUse: number };
  classified: ObjectsSnapshot["totals"];
  /** True: the pinning rows charge an instance's __dict__ (dict and values) to the instance's type. */
  owners: boolean;
  /** Kinds by pinned bytes, most first (at most `limit` rows). */
  pinning: PinningJSON[];
  /** Every kind by bytes in use. */
  byType: { name: string; object: boolean; count: number; bytes: number }[];
  /** The process's RSS by holder (lib/address-space/); absent when it was not read. */
  addressSpace?: AddressSpaceJSON;
  /** Why the RSS was not attributed, when it was not. */
  addressSpaceError?: string;
  /**
   * Why there is no obmalloc heap (PYTHONMALLOC=malloc, a custom allocator): then `heap` and `classified` are
   * zeros, the tables empty, and the RSS by holder is the whole answer.
   */
  noObmalloc?: string;
  verdict: string[];
  /**
   * What each kind holds across pymalloc and glibc malloc together (`mallocHeap().objects().held()`), most first, at
   * most `limit` rows; absent where malloc is not glibc's or was not read.
   */
  held?: HeldJSON[];
}

/** A row of `held`: a kind's pinned bytes in pymalloc's arenas and its chunk bytes in malloc's. */
export interface HeldJSON {
  name: string;
  object: boolean;
  pymallocPinnedBytes: number;
  mallocCount: number;
  mallocBytes: number;
  heldBytes: number;
}

/** The `held` rows of a why document. */
export function heldToJSON(rows: HeldRow[]): HeldJSON[] {
  return rows.map((r) => ({
    name: r.name,
    object: r.object,
    pymallocPinnedBytes: r.pymallocPinnedBytes,
    mallocCount: r.mallocCount,
    mallocBytes: r.mallocBytes,
    heldBytes: r.heldBytes,
  }));
}

/** The section `pymem why` prints after its report when the document has `held` rows; "" without them. */
export function renderHeldText(doc: WhyJSON): string {
  if (!doc.held?.length) return "";
  const head = ["type", "held", "pymalloc pinned", "malloc", "chunks"];
  const rows = doc.held.map((r) => [
    r.object ? printable(r.name) : `(${printable(r.name)})`,
    formatBytes(r.heldBytes),
    formatBytes(r.pymallocPinnedBytes),
    formatBytes(r.mallocBytes),
    int(r.mallocCount),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [
    "Held across pymalloc and malloc (objects and buffers over 512 bytes live in glibc's chunks):",
    "",
    line(head),
    ...rows.map(line),
    "",
  ].join("\n");
}

/** Build the document from a classified snapshot. */
export function whyToJSON(
  objects: ObjectsSnapshot,
  source: Omit<SourceJSON, "runtime"> & { runtime?: string },
  limit = 20,
  space?: AddressSpaceJSON | { error: string },
): WhyJSON {
  const heap = objects.heap;
  const rows = objects.pinning({ limit, owners: true });
  const doc: WhyJSON = {
    schema: WHY_SCHEMA,
    schemaVersion: WHY_SCHEMA_VERSION,
    pymemVersion: PYMEM_VERSION,
    takenAt: new Date(heap.takenAt).toISOString(),
    source: { runtime: runtimeName(), ...source } as SourceJSON,
    python: { version: heap.info.version, allocator: heap.info.allocator },
    heap: {
      arenas: heap.totals.arenas,
      arenaBytes: heap.totals.arenaBytes,
      arenaSize: heap.arenaSize,
      blocksInUse: heap.totals.blocksInUse,
      bytesInUse: heap.totals.bytesInUse,
    },
    classified: objects.totals,
    owners: true,
    pinning: rows.map(pinningJSON),
    byType: objects.byType().map(({ name, object, count, bytes }) => ({ name, object, count, bytes })),
    verdict: [],
  };
  if (space && "error" in space) doc.addressSpaceError = space.error;
  else if (space) doc.addressSpace = space;
  doc.verdict = whyVerdict(doc);
  return doc;
}

/**
 * The document of a process without an obmalloc heap (PYTHONMALLOC=malloc, a custom allocator): no arenas to
 * classify, so the RSS by holder is the answer (its objects live in malloc's chunks).
 */
export function whyWithoutObmalloc(
  python: { version: string; allocator: string | null },
  source: Omit<SourceJSON, "runtime"> & { runtime?: string },
  reason: string,
  space: AddressSpaceJSON | { error: string },
): WhyJSON {
  const doc: WhyJSON = {
    schema: WHY_SCHEMA,
    schemaVersion: WHY_SCHEMA_VERSION,
    pymemVersion: PYMEM_VERSION,
    takenAt: new Date().toISOString(),
    source: { runtime: runtimeName(), ...source } as SourceJSON,
    python,
    heap: { arenas: 0, arenaBytes: 0, arenaSize: 0, blocksInUse: 0, bytesInUse: 0 },
    classified: {
      blocks: 0,
      objects: 0,
      buffers: 0,
      namedBuffers: 0,
      freeBlocks: 0,
      bytesInUse: 0,
      objectBytes: 0,
      unreadPools: 0,
      unreadBlocks: 0,
      typesChecked: 0,
      types: 0,
      elapsedMs: 0,
    },
    owners: true,
    pinning: [],
    byType: [],
    noObmalloc: reason,
    verdict: [],
  };
  if ("error" in space) doc.addressSpaceError = space.error;
  else doc.addressSpace = space;
  doc.verdict = whyVerdict(doc);
  return doc;
}

/**
 * The top pinning kinds of a snapshot (instances charged with their __dict__s) for `pymem heap`'s verdict, or undefined when the heap cannot be classified
 * (the verdict then says nothing about types rather than guess).
 */
export function topPinning(heap: HeapSnapshot, n = 3): PinningMention[] | undefined {
  try {
    return heap.pinning({ limit: n, owners: true }).map(({ name, object, pinnedBytes, arenas }) => ({
      name,
      object,
      pinnedBytes,
      arenas,
    }));
  } catch {
    return undefined;
  }
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const quote = (r: { name: string; object: boolean }) => (r.object ? `\`${printable(r.name)}\`` : printable(r.name));

/** The verdict lines of a why document. */
export function whyVerdict(doc: WhyJSON): string[] {
  const rss = doc.addressSpace ? rssVerdict(doc.addressSpace, doc.heap.bytesInUse) : [];
  if (doc.addressSpaceError) rss.push(`RSS not attributed: ${printable(doc.addressSpaceError)}`);
  return [...rss, ...pymallocVerdict(doc)];
}

/** The verdict on pymalloc's arenas: what pins them. */
function pymallocVerdict(doc: WhyJSON): string[] {
  const c = doc.classified;
  if (doc.noObmalloc) return [`No pymalloc heap: ${printable(doc.noObmalloc)}; its objects live in malloc's chunks.`];
  if (doc.heap.arenas === 0) return ["No obmalloc arenas are mapped: nothing to attribute."];
  const lines = [pinningSentence(doc.pinning) + "."];
  // One arena less than half full is the one being filled (every heap has it): a kind found in only one says
  // nothing. Sparse arenas matter when a kind keeps several of them mapped.
  const sparse = doc.pinning.filter((r) => r.sparseArenas > 1).slice(0, 3);
  if (sparse.length) {
    lines.push(
      `In arenas less than half full: ${sparse.map((r) => `${quote(r)} in ${int(r.sparseArenas)}`).join(", ")}; ` +
        "those arenas stay mapped only while such blocks live.",
    );
  }
  lines.push(
    `${int(c.objects)} of ${int(c.blocks)} live blocks hold Python objects (${formatBytes(c.objectBytes)} of ${
      formatBytes(c.bytesInUse)
    }); ` +
      `${int(c.buffers)} are buffers (${int(c.namedBuffers)} named through the object that owns them).`,
  );
  if (c.unreadPools > 0) {
    lines.push(`${int(c.unreadPools)} pools changed while read and are left out (${int(c.unreadBlocks)} blocks).`);
  }
  return lines;
}

/** The text report of `pymem why`. */
export function renderWhyText(doc: WhyJSON): string {
  const head = ["type", "pinned", "arenas", "sparse", "blocks", "bytes"];
  const rows = doc.pinning.map((r) => [
    r.object ? printable(r.name) : `(${printable(r.name)})`,
    formatBytes(r.pinnedBytes),
    int(r.arenas),
    int(r.sparseArenas),
    int(r.count),
    formatBytes(r.bytes),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const src = doc.source.kind === "attached" ? `process ${doc.source.pid}` : "embedded interpreter";
  return [
    `What holds the memory: CPython ${doc.python.version} (${doc.python.allocator ?? "custom allocator"}), ${src}`,
    ...(doc.addressSpace ? ["", ...rssText(doc.addressSpace), ""] : []),
    ...(doc.noObmalloc ? [...doc.verdict, ""] : [
      `pymalloc: ${int(doc.heap.arenas)} arenas (${formatBytes(doc.heap.arenaBytes)}), ${
        int(doc.heap.blocksInUse)
      } live blocks, ` +
      `classified in ${doc.classified.elapsedMs.toFixed(0)} ms (${int(doc.classified.types)} types)`,
      "",
      line(head),
      ...rows.map(line),
      "",
      ...doc.verdict,
      "",
    ]),
  ].join("\n");
}
