/**
 * The versioned JSON form of a heap snapshot (`pymem heap --json`), documented in docs/json-schema.md. Every report
 * renderer (text, SVG, HTML) is a pure function of this document, so a snapshot saved by CI can be re-rendered, and
 * the renderers are testable without a Python.
 * @module
 */
import { runtimeName } from "../core/runtime.ts";
import { PYMEM_VERSION } from "../core/version.ts";
import type { PythonProcessInfo } from "../attach/processes.ts";
import type { ArenaSummary, Fragmentation, HeapTotals, SizeClassDiff, SizeClassRow } from "../obmalloc/heap.ts";
import type { HeapSnapshot } from "../objects/mod.ts";
import type { AddressSpaceJSON } from "./rss.ts";

export { PYMEM_VERSION };
/** Name of the heap schema. */
export const HEAP_SCHEMA = "pymem.heap";
/** Name of the diff schema. */
export const DIFF_SCHEMA = "pymem.diff";
/** Name of the schema of `pymem info --json`: what pymem sees of the loaded libpython. */
export const INFO_SCHEMA = "pymem.info";
/** Name of the schema of `pymem ps --json`: the Python processes this user may read. */
export const PS_SCHEMA = "pymem.ps";
/**
 * Version of the heap, diff, info and ps schemas. Bumped when a field is removed or changes meaning; adding a field
 * does not bump it
 * (readers must ignore fields they do not know).
 */
export const SCHEMA_VERSION = 1;

// struct pool_header rounded up to ALIGNMENT, and ALIGNMENT: the same in every CPython 3.8–3.14 (lib/obmalloc/layout.ts).
const POOL_OVERHEAD = 48;
const ALIGNMENT = 16;

/**
 * One arena in the JSON document: the snapshot's ArenaSummary, with the base address as a hex string ("0x7f…"),
 * because JSON numbers cannot carry every 64-bit address.
 */
export type ArenaJSON = Omit<ArenaSummary, "address"> & { address: string };

/**
 * Every used pool, as parallel arrays (one entry per pool): compact enough for a heap of hundreds of thousands of
 * pools. `arena[i]` is a position in `arenas` (not CPython's index), `slot[i]` the pool's position inside its arena
 * (0 = the first pool-aligned address of the arena).
 */
export interface PoolsJSON {
  arena: number[];
  slot: number[];
  sizeClass: number[];
  blocksInUse: number[];
}

/** Where the document came from. */
export interface SourceJSON {
  /** "embedded": pymem's own interpreter; "attached": another process read by pid. */
  kind: "embedded" | "attached";
  pid?: number;
  /** The JavaScript runtime that took the snapshot, e.g. "bun 1.4.5". */
  runtime: string;
  /** The libpython (or python executable) holding CPython. */
  library?: string;
  /** What ran before the snapshot: "-c", a file name, "demo", or absent. */
  workload?: string;
}

/** One of the kinds that pin the most arenas (`pymem why` has the full table). */
export interface PinningMention {
  name: string;
  /** A Python type (true) or a kind of buffer. */
  object: boolean;
  pinnedBytes: number;
  arenas: number;
}

/** One row of the pinning table (`pymem why`, and the HTML report's "What holds the memory"). */
export interface PinningJSON {
  name: string;
  object: boolean;
  /** Hex address of the type object, null for buffers. */
  typeAddress: string | null;
  count: number;
  bytes: number;
  pinnedBytes: number;
  arenas: number;
  sparseArenas: number;
}

/** What the live blocks are (lib/objects), when the heap was classified. */
export interface ObjectsJSON {
  /** Kinds by pinned bytes, most first. */
  pinning: PinningJSON[];
  /** Per used pool, parallel to `pools`: the kinds in it, most blocks first ("Session ×120, str ×3"). */
  poolTypes?: string[];
  /** In-process only: sample objects of the top pinning types, what keeps each alive, where it was allocated. */
  samples?: {
    name: string;
    samples: { address: string; repr: string | null; path: string | null; traceback: string[] | null }[];
  }[];
}

/** A heap snapshot as a JSON document (`schema: "pymem.heap"`). */
export interface HeapJSON {
  schema: typeof HEAP_SCHEMA;
  schemaVersion: number;
  pymemVersion: string;
  /** ISO 8601 time of the walk. */
  takenAt: string;
  source: SourceJSON;
  python: {
    version: string;
    /** CPython's allocator name ("pymalloc", "pymalloc_debug", …), null when custom or unknown. */
    allocator: string | null;
  };
  /** How the obmalloc state was found, and CPython's own counters where it has them. */
  state: {
    /** PyInterpreterState* walked, hex ("0x0": the 3.8–3.11 static state). */
    interp: string;
    how: string;
    rawAllocatedBlocks: number | null;
    counters: { narenasCurrentlyAllocated?: number; ntimesArenaAllocated?: number; narenasHighwater?: number };
  };
  layout: { arenaSize: number; poolSize: number; poolOverhead: number; alignment: number };
  /** Resident set size of the process (VmRSS) in bytes, null when unknown. */
  rss: number | null;
  totals: HeapTotals;
  fragmentation: Fragmentation;
  /** Exactly the rows of CPython's `_debugmallocstats` table (classes with at least one used pool). */
  sizeClasses: SizeClassRow[];
  arenas: ArenaJSON[];
  /** Absent when the writer left pools out. */
  pools?: PoolsJSON;
  /** Problems met while reading another process (torn pool headers, …). */
  warnings?: string[];
  /** The kinds that pin the most arenas (lib/objects), when the heap was classified. */
  pinning?: PinningMention[];
  /** The classification in more detail (the HTML report's "What holds the memory"), when asked for. */
  objects?: ObjectsJSON;
  /** The process's RSS by holder (lib/address-space/), when it was read. */
  addressSpace?: AddressSpaceJSON;
}

/** A before/after comparison by size class (`schema: "pymem.diff"`). */
export interface DiffJSON {
  schema: typeof DIFF_SCHEMA;
  schemaVersion: number;
  pymemVersion: string;
  source: SourceJSON;
  python: HeapJSON["python"];
  before: HeapTotals;
  after: HeapTotals;
  /** `after - before` per size class; classes whose figures did not change are left out. */
  sizeClasses: SizeClassDiff[];
}

/** Options of {@link heapToJSON}. */
export interface HeapJSONOptions {
  source?: Partial<SourceJSON>;
  /** RSS in bytes to record (default: null). */
  rss?: number | null;
  /** Include the per-pool arrays (default true; the heat map needs them). */
  pools?: boolean;
}

/** Blocks per pool of a block size (NUMBLOCKS), for `layout`. */
export function capacityOf(blockSize: number, layout: HeapJSON["layout"]): number {
  return Math.floor((layout.poolSize - layout.poolOverhead) / blockSize);
}

/** Block size of a size class. */
export function blockSizeOf(sizeClass: number, layout: HeapJSON["layout"]): number {
  return (sizeClass + 1) * layout.alignment;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** Convert a HeapSnapshot (in-process or attached) into the JSON document. */
export function heapToJSON(snap: HeapSnapshot, options: HeapJSONOptions = {}): HeapJSON {
  const w = snap.walk;
  // The snapshot's own arena summaries, with the address as a hex string (JSON numbers lose 64-bit precision).
  const arenas: ArenaJSON[] = [...snap.arenas].map((arena) => ({ ...arena, address: hex(arena.address) }));
  let pools: PoolsJSON | undefined;
  if (options.pools !== false) {
    const m = w.poolAddress.length;
    pools = { arena: new Array(m), slot: new Array(m), sizeClass: new Array(m), blocksInUse: new Array(m) };
    for (let i = 0; i < m; i++) {
      const a = w.poolArena[i];
      const first = Math.ceil(w.arenaAddress[a] / snap.poolSize) * snap.poolSize;
      pools.arena[i] = a;
      pools.slot[i] = Math.round((w.poolAddress[i] - first) / snap.poolSize);
      pools.sizeClass[i] = w.poolClass[i];
      pools.blocksInUse[i] = w.poolCount[i];
    }
  }
  const warnings = (snap as { warnings?: string[] }).warnings;
  const doc: HeapJSON = {
    schema: HEAP_SCHEMA,
    schemaVersion: SCHEMA_VERSION,
    pymemVersion: PYMEM_VERSION,
    takenAt: new Date(snap.takenAt).toISOString(),
    source: { kind: "embedded", runtime: runtimeName(), ...options.source },
    python: { version: snap.info.version, allocator: snap.info.allocator },
    state: {
      interp: hex(snap.info.interp),
      how: snap.info.source,
      rawAllocatedBlocks: snap.info.rawAllocatedBlocks,
      counters: { ...snap.info.counters },
    },
    layout: { arenaSize: snap.arenaSize, poolSize: snap.poolSize, poolOverhead: POOL_OVERHEAD, alignment: ALIGNMENT },
    rss: options.rss ?? null,
    totals: { ...snap.totals },
    fragmentation: { ...snap.fragmentation },
    sizeClasses: snap.sizeClasses.map((r) => ({ ...r })),
    arenas,
  };
  if (pools) doc.pools = pools;
  if (warnings?.length) doc.warnings = [...warnings];
  return doc;
}

/** The diff document: `after - before` by size class, unchanged classes left out. */
export function diffToJSON(before: HeapSnapshot, after: HeapSnapshot, source: Partial<SourceJSON> = {}): DiffJSON {
  const rows = after.diff(before).filter((r) => r.pools || r.blocksInUse || r.availBlocks);
  return {
    schema: DIFF_SCHEMA,
    schemaVersion: SCHEMA_VERSION,
    pymemVersion: PYMEM_VERSION,
    source: { kind: "embedded", runtime: runtimeName(), ...source },
    python: { version: after.info.version, allocator: after.info.allocator },
    before: { ...before.totals },
    after: { ...after.totals },
    sizeClasses: rows,
  };
}

/**
 * Check that a parsed value is a heap document this version can read (schema name and major version), and return
 * it typed. Throws a TypeError naming what is wrong.
 */
export function parseHeapJSON(value: unknown): HeapJSON {
  const v = value as Partial<HeapJSON> | null;
  if (typeof v !== "object" || v === null || v.schema !== HEAP_SCHEMA) {
    throw new TypeError(`not a pymem heap document (expected "schema": "${HEAP_SCHEMA}")`);
  }
  if (v.schemaVersion !== SCHEMA_VERSION) {
    throw new TypeError(
      `pymem heap schema version ${v.schemaVersion} is not supported (this pymem reads ${SCHEMA_VERSION})`,
    );
  }
  for (const k of ["totals", "fragmentation", "sizeClasses", "arenas", "layout"] as const) {
    if (v[k] === undefined) throw new TypeError(`pymem heap document has no "${k}"`);
  }
  return v as HeapJSON;
}

/** The process list as a JSON document (`schema: "pymem.ps"`), the processes by pid. */
export interface PsJSON {
  schema: typeof PS_SCHEMA;
  schemaVersion: number;
  pymemVersion: string;
  takenAt: string;
  processes: PythonProcessInfo[];
}

export function psToJSON(rows: PythonProcessInfo[]): PsJSON {
  const takenAt = new Date().toISOString();
  return { schema: PS_SCHEMA, schemaVersion: SCHEMA_VERSION, pymemVersion: PYMEM_VERSION, takenAt, processes: rows };
}
