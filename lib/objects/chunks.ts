/**
 * Python objects in glibc malloc chunks: what each in-use chunk of a `MallocHeap` holds (lib/glibc/ walks the
 * chunks; this classifies them), and the bytes each type holds across pymalloc and malloc together.
 *
 * An object over 512 bytes (a big list's item array, a dict's table, a large str or bytes, a bytearray's payload, a
 * class instance with many inline attributes on 3.13+) is not a pymalloc block: PyObject_Malloc hands it to the raw
 * allocator, glibc malloc; under `PYTHONMALLOC=malloc` every object is there. A chunk is read the way a pymalloc
 * block is (lib/objects/classify.ts): at the start of its user data (16 bytes after the chunk header; 16 more per
 * layer of debug hooks: one under `malloc_debug`, two under `pymalloc_debug`), at the offset its type's pre-header implies (0,
 * sizeof(PyGC_Head), or that plus the 3.11+ pre-header) there must be a plausible reference count and an `ob_type`
 * that validates as a type object (lib/objects/types.ts) whose instances fit in the chunk.
 *
 * The chunks that hold no object are named only through a pointer to their start from an object that owns them,
 * pymalloc's objects and the chunks' alike: a list's `ob_item` ("list items"), a dict's keys and values, a set's
 * table, a bytearray's payload, an OrderedDict's index, and on 3.11/3.12 an instance's values array. Never by
 * their size or contents: the rest is "C allocation" (an extension's buffers, CPython's own tables, malloc's
 * tcache structs).
 * @module
 */
import type { InUseChunks, MallocHeap } from "../glibc/heap.ts";
import { PymemError } from "../errors.ts";
import { checkOptions, integerIn, isBoolean } from "../checks.ts";
import { jsonSafe } from "../machine/json.ts";
import { localObjectMemory, type ObjectMemory, type Range } from "./memory.ts";
import { RemoteMemory } from "../machine/remote.ts";
import type { PythonHost } from "../core/host.ts";
import { type ObjectLayout, objectLayoutFor, TPFLAGS } from "./layout.ts";
import { type TypeInfo, TypeTable } from "./types.ts";
import type { ObjectsSnapshot } from "./snapshot.ts";

/** Chunk kinds below CHUNK_FIRST_TYPE; kind CHUNK_FIRST_TYPE + i is an object of `types[i]`. */
export const CHUNK_KIND = {
  C_ALLOCATION: 0,
  LIST_ITEMS: 1,
  DICT_KEYS: 2,
  DICT_VALUES: 3,
  SET_TABLE: 4,
  BYTEARRAY: 5,
  INSTANCE_VALUES: 6,
  ODICT_INDEX: 7,
  FIRST_TYPE: 8,
} as const;

/** Names of the kinds that are not objects (the buffer names are those of pymalloc's blocks). */
export const CHUNK_KIND_NAMES: readonly string[] = [
  "C allocation",
  "list items",
  "dict keys",
  "dict values",
  "set table",
  "bytearray data",
  "instance values",
  "OrderedDict index",
];

/** Bytes of each chunk's user data read to classify it (object header, pre-header and the container fields). */
const HEAD = 160;
/** One layer of debug hooks: its header before the data (size and API id words), and with its trailer, its cost. */
const DEBUG_HEADER = 16, DEBUG_OVERHEAD = 24;

/** Options of a chunk classification. */
export interface ChunkClassifyOptions {
  /**
   * The target's allocator name ("malloc_debug"/"pymalloc_debug" shift objects by the debug hooks' header); null
   * (hooks such as tracemalloc's hide it): both readings are tried and the one finding more objects kept.
   */
  allocator?: string | null;
}

/** Live chunks of one kind. */
export interface ChunkTypeRow {
  /** tp_name for objects; "list items", "dict keys", …, or "C allocation". */
  name: string;
  object: boolean;
  typeAddress: bigint | null;
  /** Chunks, and their chunk bytes (header included: what malloc holds for them). */
  count: number;
  bytes: number;
}

/** One in-use chunk, classified. */
export interface ChunkInfo {
  /** The chunk's address (its header; the user data starts 16 bytes on). */
  address: bigint;
  /** Chunk bytes, header included. */
  size: number;
  /** Arena index in the heap's `arenas`. */
  arena: number;
  /** tp_name of the object in it, or null. */
  type: string | null;
  /** The type name, a buffer name, or "C allocation". */
  kind: string;
  /** The object's address (its id() in CPython), when the chunk holds one. */
  object: bigint | null;
  /** The type of the object a named buffer belongs to, when known (a list subclass's items, an instance's values). */
  owner: string | null;
}

/** One row of the combined view: a kind's bytes in pymalloc's arenas and in malloc's chunks. */
export interface HeldRow {
  name: string;
  object: boolean;
  /** pymalloc: blocks, block bytes and the arena bytes they pin (ObjectsSnapshot.pinning); 0 without a pymalloc heap. */
  pymallocCount: number;
  pymallocBytes: number;
  pymallocPinnedBytes: number;
  /** malloc: in-use chunks and their chunk bytes. */
  mallocCount: number;
  mallocBytes: number;
  /** pymallocPinnedBytes + mallocBytes: what the kind holds of the process's memory. */
  heldBytes: number;
}

/** Totals of a chunk classification. */
export interface ChunkTotals {
  chunks: number;
  bytes: number;
  objects: number;
  objectBytes: number;
  /** Chunks named through an owner's pointer, and their bytes. */
  namedBuffers: number;
  namedBufferBytes: number;
  /** Chunks left "C allocation". */
  cAllocations: number;
  cAllocationBytes: number;
  /** Bytes the debug hooks put before each chunk's data (0; 16 under malloc_debug; 32 under pymalloc_debug). */
  dataOffset: number;
  elapsedMs: number;
}

/** The in-use chunks of a malloc heap, classified. Create with `mallocHeap().objects()`. */
export class MallocObjects {
  readonly heap: MallocHeap;
  readonly types: readonly TypeInfo[];
  readonly totals: ChunkTotals;
  /** The pymalloc side, when the process has a pymalloc heap to classify (else null: PYTHONMALLOC=malloc). */
  readonly pymalloc: ObjectsSnapshot | null;
  readonly #chunks: InUseChunks;
  readonly #kinds: Uint32Array;
  readonly #owners: Int32Array;
  readonly #dataOffset: number;
  #order?: Uint32Array;

  /** @internal */
  constructor(
    heap: MallocHeap,
    c: { chunks: InUseChunks; kinds: Uint32Array; owners: Int32Array; types: TypeInfo[]; dataOffset: number },
    pymalloc: ObjectsSnapshot | null,
    elapsedMs: number,
  ) {
    this.heap = heap;
    this.pymalloc = pymalloc;
    this.#chunks = c.chunks;
    this.#kinds = c.kinds;
    this.#owners = c.owners;
    this.types = c.types;
    this.#dataOffset = c.dataOffset;
    const t: ChunkTotals = {
      chunks: c.kinds.length,
      bytes: 0,
      objects: 0,
      objectBytes: 0,
      namedBuffers: 0,
      namedBufferBytes: 0,
      cAllocations: 0,
      cAllocationBytes: 0,
      dataOffset: c.dataOffset,
      elapsedMs,
    };
    for (let i = 0; i < c.kinds.length; i++) {
      const k = c.kinds[i], b = c.chunks.size[i];
      t.bytes += b;
      if (k >= CHUNK_KIND.FIRST_TYPE) {
        t.objects++;
        t.objectBytes += b;
      } else if (k === CHUNK_KIND.C_ALLOCATION) {
        t.cAllocations++;
        t.cAllocationBytes += b;
      } else {
        t.namedBuffers++;
        t.namedBufferBytes += b;
      }
    }
    this.totals = t;
  }

  #name(k: number): string {
    return k >= CHUNK_KIND.FIRST_TYPE ? this.types[k - CHUNK_KIND.FIRST_TYPE].name : CHUNK_KIND_NAMES[k];
  }

  /**
   * In-use chunks by kind, most bytes first. With `owners`, a buffer whose owner is known (a container subclass's
   * table, an instance's values or __dict__) is counted under its owner's type instead.
   */
  byType(options: { owners?: boolean } = {}): ChunkTypeRow[] {
    const { owners = false } = checkOptions<{ owners?: boolean }>(options, "byType", { owners: isBoolean });
    const count = new Map<number, [number, number]>();
    for (let i = 0; i < this.#kinds.length; i++) {
      const k = owners && this.#owners[i] >= 0 ? this.#owners[i] : this.#kinds[i];
      const e = count.get(k);
      if (e) {
        e[0]++;
        e[1] += this.#chunks.size[i];
      } else count.set(k, [1, this.#chunks.size[i]]);
    }
    return [...count].map(([k, [n, b]]) => {
      const t = k >= CHUNK_KIND.FIRST_TYPE ? this.types[k - CHUNK_KIND.FIRST_TYPE] : undefined;
      return jsonSafe({
        name: this.#name(k),
        object: !!t,
        typeAddress: t ? BigInt(t.address) : null,
        count: n,
        bytes: b,
      });
    }).sort((x, y) => y.bytes - x.bytes || y.count - x.count);
  }

  /**
   * What each kind holds across pymalloc and malloc together, most first: pymalloc's pinned bytes (the arenas its
   * blocks keep mapped) plus malloc's chunk bytes, by name (a class defined twice under one name is one row).
   * `owners` as in `pinning({ owners })` and `byType({ owners })`. Free memory glibc keeps in its arenas is no
   * type's: `heap.totals` has it.
   */
  held(options: { owners?: boolean; limit?: number } = {}): HeldRow[] {
    options = checkOptions<{ owners?: boolean; limit?: number }>(options, "held", {
      owners: isBoolean,
      limit: integerIn(0, Number.MAX_SAFE_INTEGER),
    });
    const rows = new Map<string, HeldRow>();
    const row = (name: string, object: boolean) => {
      let r = rows.get(`${object}:${name}`);
      if (!r) {
        r = {
          name,
          object,
          pymallocCount: 0,
          pymallocBytes: 0,
          pymallocPinnedBytes: 0,
          mallocCount: 0,
          mallocBytes: 0,
          heldBytes: 0,
        };
        rows.set(`${object}:${name}`, r);
      }
      return r;
    };
    const owners = options.owners ?? false;
    for (const p of this.pymalloc?.pinning({ owners }) ?? []) {
      const r = row(p.name, p.object);
      r.pymallocCount += p.count;
      r.pymallocBytes += p.bytes;
      r.pymallocPinnedBytes += p.pinnedBytes;
    }
    for (const m of this.byType({ owners })) {
      const r = row(m.name, m.object);
      r.mallocCount += m.count;
      r.mallocBytes += m.bytes;
    }
    const out = [...rows.values()];
    for (const r of out) r.heldBytes = r.pymallocPinnedBytes + r.mallocBytes;
    out.sort((x, y) => y.heldBytes - x.heldBytes || x.name.localeCompare(y.name));
    return options.limit === undefined ? out : out.slice(0, options.limit);
  }

  #info(i: number): ChunkInfo {
    const k = this.#kinds[i], o = this.#owners[i];
    const t = k >= CHUNK_KIND.FIRST_TYPE ? this.types[k - CHUNK_KIND.FIRST_TYPE] : undefined;
    const address = this.#chunks.address[i];
    return jsonSafe({
      address: BigInt(address),
      size: this.#chunks.size[i],
      arena: this.#chunks.arena[i],
      type: t ? t.name : null,
      kind: this.#name(k),
      object: t ? BigInt(address + 16 + this.#dataOffset + t.preHeader) : null,
      owner: o >= 0 && o !== k ? this.#name(o) : null,
    });
  }

  /** Every in-use chunk, arena by arena. */
  *chunks(): IterableIterator<ChunkInfo> {
    for (let i = 0; i < this.#kinds.length; i++) yield this.#info(i);
  }

  /** The in-use chunk holding `address` (anywhere in it), or null. */
  chunkAt(address: bigint | number): ChunkInfo | null {
    if (typeof address !== "bigint" && typeof address !== "number") {
      throw new TypeError(
        `chunkAt: address must be a bigint or a number, got ${address === null ? "null" : typeof address}`,
      );
    }
    const a = Number(address), starts = this.#chunks.address;
    // Chunk indexes in address order (the arenas' heaps and the mmapped chunks are not), for a binary search.
    const order = this.#order ??= Uint32Array.from(starts.keys()).sort((x, y) => starts[x] - starts[y]);
    let lo = 0, hi = order.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[order[mid]] <= a) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const i = order[found];
    return a < starts[i] + this.#chunks.size[i] ? this.#info(i) : null;
  }

  /** JSON-safe: the totals and the rows by type. */
  toJSON(): { totals: ChunkTotals; byType: (Omit<ChunkTypeRow, "typeAddress"> & { typeAddress: string | null })[] } {
    const hex = (a: bigint | null) => (a === null ? null : `0x${a.toString(16)}`);
    return { totals: this.totals, byType: this.byType().map((r) => ({ ...r, typeAddress: hex(r.typeAddress) })) };
  }
}

const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 0x1_0000_0000;

/** What the classifier needs of the target: its memory, its CPython version, and its pymalloc heap if any. */
export interface ChunkSource {
  mem: ObjectMemory;
  /** "3.12.1". */
  version: string;
  /** The pymalloc side, classified (null when the process has none, or it cannot be read). */
  pymalloc: ObjectsSnapshot | null;
}

/** Classify every in-use chunk of `heap`. Throws PymemError("UNSUPPORTED") without a PyType_Type to check types. */
export function classifyChunks(
  heap: MallocHeap,
  source: ChunkSource,
  options: ChunkClassifyOptions = {},
): MallocObjects {
  const t0 = performance.now();
  const minor = Number(source.version.split(".")[1]);
  const ol = objectLayoutFor(minor);
  const chunks = heap.inUseChunks();
  const heads = readHeads(chunks, source.mem);
  const inPymalloc = pymallocRanges(source.pymalloc);
  const allocator = options.allocator === undefined ? source.pymalloc?.heap.info.allocator : options.allocator;
  // Hook layers between the object and its chunk: under pymalloc_debug an object too big for pymalloc is passed by
  // the object domain's hooks to pymalloc, which hands it to PyMem_RawMalloc, the raw domain's hooks: two headers.
  const layers = allocator === "pymalloc_debug" ? 2 : allocator === "malloc_debug" ? 1 : 0;
  let best = scanChunks(chunks, heads, source.mem, ol, layers, inPymalloc);
  if (allocator === null || allocator === undefined) {
    // Hooks such as tracemalloc's hide the allocator's name: each reading is tried, and the one finding more kept.
    for (const other of [1, 2]) {
      const s = scanChunks(chunks, heads, source.mem, ol, other, inPymalloc);
      if (s.objects > best.objects) best = s;
    }
  }
  nameBuffers(chunks, best, source, ol);
  return new MallocObjects(
    heap,
    { chunks, kinds: best.kinds, owners: best.owners, types: best.table.types, dataOffset: best.dataOffset },
    source.pymalloc,
    performance.now() - t0,
  );
}

/** The first HEAD bytes of each chunk's user data (fewer for a smaller chunk), packed; `ok` per chunk. */
function readHeads(chunks: InUseChunks, mem: ObjectMemory): { bytes: Uint8Array; offsets: number[]; ok: Uint8Array } {
  const ranges: Range[] = new Array(chunks.address.length);
  for (let i = 0; i < ranges.length; i++) {
    ranges[i] = { address: chunks.address[i] + 16, length: Math.max(0, Math.min(HEAD, chunks.size[i] - 16)) };
  }
  return mem.readMany(ranges);
}

function pymallocRanges(p: ObjectsSnapshot | null): (a: number) => boolean {
  if (!p) return () => false;
  const starts = [...p.heap.walk.arenaAddress].sort((x, y) => x - y), size = p.heap.arenaSize;
  return (a) => {
    let lo = 0, hi = starts.length - 1, at = -1;
    while (lo <= hi) {
      const m = (lo + hi) >>> 1;
      if (starts[m] <= a) {
        at = m;
        lo = m + 1;
      } else hi = m - 1;
    }
    return at >= 0 && a < starts[at] + size;
  };
}

interface Scan {
  kinds: Uint32Array;
  owners: Int32Array;
  table: TypeTable;
  objects: number;
  dataOffset: number;
}

/**
 * One reading of the chunks (objects at `d` bytes into the user data): candidate types gathered, validated in one
 * batch, then each chunk decided. The checks on the reference count are classify.ts's.
 */
function scanChunks(
  chunks: InUseChunks,
  heads: { bytes: Uint8Array; offsets: number[]; ok: Uint8Array },
  mem: ObjectMemory,
  ol: ObjectLayout,
  layers: number,
  inPymalloc: (a: number) => boolean,
): Scan {
  const d = layers * DEBUG_HEADER, overhead = layers * DEBUG_OVERHEAD;
  const table = new TypeTable(mem, ol);
  if (!table.usable) {
    throw new PymemError(
      "UNSUPPORTED",
      `CPython 3.${ol.minor}: PyType_Type is not exported by the target, so no type object can be validated`,
    );
  }
  const offsets = ol.preHeaderFlags ? [0, ol.gcHead, ol.gcHead + 16] : [0, ol.gcHead];
  const immortal = ol.immortalRefcounts;
  const n = chunks.address.length;
  const { bytes: b, offsets: at, ok } = heads;
  // The candidate type at each offset of each chunk (0: none), gathered first and validated together.
  const cand = new Float64Array(n * offsets.length);
  const unknown = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (!ok[i]) continue;
    const len = Math.max(0, Math.min(HEAD, chunks.size[i] - 16));
    for (let j = 0; j < offsets.length; j++) {
      const y = d + offsets[j];
      if (y + 16 > len) break;
      const x = at[i] + y;
      const lo = u32(b, x), hi = u32(b, x + 4);
      if (lo === 0) continue; // refcount 0: free or dead
      if (ol.refcntHasFlags ? (hi & 0xffff) !== 0 : hi !== 0) continue;
      // A count that is also an aligned address of mapped memory is taken for a pointer (classify.ts says why).
      if (lo >= 0x1_0000 && (lo & 7) === 0 && hi === 0 && !(immortal && lo >= 0x8000_0000) && mem.readable(lo, 16)) {
        continue;
      }
      const tlo = u32(b, x + 8), thi = u32(b, x + 12);
      if ((tlo & 7) !== 0 || thi >= 0x8000 || (thi === 0 && tlo < 4096)) continue;
      const tp = thi * 0x1_0000_0000 + tlo;
      cand[i * offsets.length + j] = tp;
      unknown.add(tp);
    }
  }
  table.resolve(unknown, inPymalloc);
  const kinds = new Uint32Array(n);
  let objects = 0;
  for (let i = 0; i < n; i++) {
    const avail = chunks.size[i] - 8 - overhead; // user bytes: size - SIZE_SZ, less the debug hooks'
    for (let j = 0; j < offsets.length; j++) {
      const tp = cand[i * offsets.length + j];
      if (tp === 0) continue;
      const id = table.byAddress.get(tp);
      if (id === undefined || id < 0) continue;
      const t = table.types[id];
      if (t.preHeader !== offsets[j] || offsets[j] + t.minSize > avail) continue;
      kinds[i] = CHUNK_KIND.FIRST_TYPE + id;
      objects++;
      break;
    }
  }
  return { kinds, owners: new Int32Array(n).fill(-1), table, objects, dataOffset: d };
}

/** The pointer fields of the built-in containers, by the exported type they are read for. */
function containerFields(ol: ObjectLayout): [string, [number, number][]][] {
  const dict: [number, number][] = [[ol.dictKeys, CHUNK_KIND.DICT_KEYS], [ol.dictValues, CHUNK_KIND.DICT_VALUES]];
  return [
    ["PyList_Type", [[ol.listItems, CHUNK_KIND.LIST_ITEMS]]],
    ["PyDict_Type", dict],
    ["PySet_Type", [[ol.setTable, CHUNK_KIND.SET_TABLE]]],
    ["PyFrozenSet_Type", [[ol.setTable, CHUNK_KIND.SET_TABLE]]],
    ["PyByteArray_Type", [[ol.bytearrayBytes, CHUNK_KIND.BYTEARRAY]]],
    ["PyODict_Type", [...dict, [ol.odictFastNodes, CHUNK_KIND.ODICT_INDEX]]],
  ];
}

/**
 * Name the chunks that objects point to: every object of a container type (or a subclass of one) and every
 * instance with a __dict__, in pymalloc's blocks and in the chunks, is read around its header, and a pointer to the
 * start of a chunk's data that holds no object names that chunk. Owners: a container subclass owns its buffers, an
 * instance owns its values array and its __dict__ (the dict object and the dict's buffers).
 */
function nameBuffers(
  chunks: InUseChunks,
  scan: Scan,
  source: ChunkSource,
  ol: ObjectLayout,
): void {
  const { table, kinds, owners, dataOffset } = scan;
  const mem = source.mem;
  // Types of both heaps by address (pymalloc's types are validated by its own table: their TypeInfo is the same).
  const types = new Map<number, TypeInfo>();
  for (const t of table.types) types.set(t.address, t);
  for (const t of source.pymalloc?.types ?? []) if (!types.has(t.address)) types.set(t.address, t);
  const roots = new Map<number, [number, number][]>();
  for (const [name, f] of containerFields(ol)) {
    const a = table.symbol(name);
    if (a) roots.set(a, f);
  }
  const typeType = table.symbol("PyType_Type"), dictType = table.symbol("PyDict_Type");
  // Each type's container root (following tp_base through the types known), and its dict pointer's offset.
  const plan = new Map<
    number,
    { fields?: [number, number][]; subclass: boolean; dictAt: number; valuesAt: number; lo: number; hi: number }
  >();
  for (const t of types.values()) {
    let base = t.address, fields: [number, number][] | undefined;
    for (let depth = 0; depth < 64 && base; depth++) {
      fields = roots.get(base);
      if (fields) break;
      base = types.get(base)?.base ?? 0;
    }
    const managed = ol.managedDict !== undefined && (t.flags & TPFLAGS.MANAGED_DICT) !== 0;
    const isType = t.address === typeType || (t.flags & TPFLAGS.TYPE_SUBCLASS) !== 0;
    const dictAt = isType
      ? 0
      : managed
      ? ol.managedDict!
      : t.dictoffset > 0 && t.dictoffset % 8 === 0 && t.dictoffset + 8 <= t.basicsize
      ? t.dictoffset
      : 0;
    const valuesAt = ol.instanceValues && (t.flags & TPFLAGS.MANAGED_DICT) !== 0 ? ol.instanceValues.offset : 0;
    if (!fields && !dictAt && !valuesAt) continue;
    const subclass = !!fields && (t.address !== base || base === table.symbol("PyODict_Type"));
    // The span of the object read: only the words these fields are in (one small read per object).
    const offs = [...(fields ?? []).map(([f]) => f), ...(dictAt ? [dictAt] : []), ...(valuesAt ? [valuesAt] : [])];
    const lo = Math.min(...offs), hi = Math.max(...offs) + 8;
    if (hi - lo > 4096) continue; // a __dict__ pointer past 4 KiB of the object: not read
    plan.set(t.address, { fields, subclass, dictAt, valuesAt, lo, hi });
  }
  if (plan.size === 0) return;
  // The objects to read: [object address, type address, kind of the owner for the buffers' owners].
  const objs: number[] = [], objTypes: number[] = [];
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i];
    if (k < CHUNK_KIND.FIRST_TYPE) continue;
    const t = table.types[k - CHUNK_KIND.FIRST_TYPE];
    if (!plan.has(t.address)) continue;
    objs.push(chunks.address[i] + 16 + dataOffset + t.preHeader);
    objTypes.push(t.address);
  }
  if (source.pymalloc) {
    // BlockInfo names its type, not the type's address: a name two classes share is read as the first of them
    // (its owner fields may then be missed, never misread: every pointer is checked against a chunk's start).
    const byName = new Map<string, number>();
    for (const t of source.pymalloc.types) {
      if (plan.has(t.address) && !byName.has(t.name)) byName.set(t.name, t.address);
    }
    if (byName.size) {
      for (const blk of source.pymalloc.blocks()) {
        const ta = blk.type === null ? undefined : byName.get(blk.type);
        if (ta === undefined) continue;
        objs.push(Number(blk.object));
        objTypes.push(ta);
      }
    }
  }
  // User data start → chunk index (only chunks holding no object can be named).
  const byData = new Map<number, number>();
  for (let i = 0; i < kinds.length; i++) byData.set(chunks.address[i] + 16 + dataOffset, i);
  const objectChunk = new Map<number, number>(); // object address → its chunk (for dict objects in chunks)
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i];
    if (k >= CHUNK_KIND.FIRST_TYPE) {
      objectChunk.set(chunks.address[i] + 16 + dataOffset + table.types[k - CHUNK_KIND.FIRST_TYPE].preHeader, i);
    }
  }
  const kindOfType = new Map<number, number>();
  table.types.forEach((t, id) => kindOfType.set(t.address, CHUNK_KIND.FIRST_TYPE + id));
  // An owner outside the chunks' own types (a pymalloc instance's class) gets a kind of its own in the table.
  const ownerKind = (typeAddress: number): number => {
    const k = kindOfType.get(typeAddress);
    if (k !== undefined) return k;
    const t = types.get(typeAddress)!;
    (table.types as TypeInfo[]).push(t);
    const nk = CHUNK_KIND.FIRST_TYPE + table.types.length - 1;
    kindOfType.set(typeAddress, nk);
    return nk;
  };
  const STEP = 4096;
  // Dicts owned by an instance: dict object address → owner kind (their buffers are named on a second pass).
  const dictOwners = new Map<number, number>();
  const dictBuffers: [number, number, number][] = []; // [dict object, pointer, label]
  const name = (ptr: number, label: number, owner: number) => {
    const i = byData.get(ptr);
    if (i === undefined || !(kinds[i] === CHUNK_KIND.C_ALLOCATION || kinds[i] === label)) return;
    kinds[i] = label;
    if (owner >= 0) owners[i] = owner;
  };
  for (let s = 0; s < objs.length; s += STEP) {
    const part = objs.slice(s, s + STEP);
    const spans = part.map((_o, j) => plan.get(objTypes[s + j]) ?? { lo: 0, hi: 8 });
    const got = mem.readMany(part.map((o, j) => ({ address: o + spans[j].lo, length: spans[j].hi - spans[j].lo })));
    part.forEach((o, j) => {
      if (!got.ok[j]) return;
      const ta = objTypes[s + j], p = plan.get(ta);
      if (!p) return;
      const base = got.offsets[j] - p.lo;
      const word = (off: number) => (off >= p.lo && off + 8 <= p.hi ? u64(got.bytes, base + off) : 0);
      const own = p.subclass ? ownerKind(ta) : -1;
      for (const [field, label] of p.fields ?? []) {
        const ptr = word(field);
        if (ptr === 0) continue;
        if (label === CHUNK_KIND.DICT_KEYS || label === CHUNK_KIND.DICT_VALUES) dictBuffers.push([o, ptr, label]);
        else name(ptr, label, own);
        if (own >= 0 && (label === CHUNK_KIND.DICT_KEYS || label === CHUNK_KIND.DICT_VALUES)) dictOwners.set(o, own);
      }
      if (p.valuesAt) {
        let v = word(p.valuesAt);
        if (ol.instanceValues!.tagged) v = v % 2 === 1 ? v + 1 : 0;
        // 3.11/3.12: the values array lives apart from the object only while it has no materialized dict.
        if (v) name(v, CHUNK_KIND.INSTANCE_VALUES, ownerKind(ta));
      }
      if (p.dictAt) {
        let dict = word(p.dictAt);
        if (ol.instanceValues?.tagged && p.dictAt === ol.managedDict && dict % 2 === 1) dict = 0;
        if (dict) {
          const own2 = ownerKind(ta);
          dictOwners.set(dict, own2);
          const ci = objectChunk.get(dict);
          if (ci !== undefined && kinds[ci] === kindOfType.get(dictType)) owners[ci] = own2;
        }
      }
    });
  }
  for (const [dict, ptr, label] of dictBuffers) name(ptr, label, dictOwners.get(dict) ?? -1);
}

/**
 * This process's chunks, read through fault-safe copies (the runtime's other threads may free and unmap what is
 * read). `pymalloc` gives the pymalloc side, or null.
 */
export function classifyChunksLocal(
  py: PythonHost,
  heap: MallocHeap,
  version: string,
  pymalloc: () => ObjectsSnapshot | null,
  options?: ChunkClassifyOptions,
): MallocObjects {
  const native = py.native;
  const safe = RemoteMemory.ofSelf(native.backend, native.libc);
  try {
    const mem = localObjectMemory(native.backend, safe, (n) => native.dlsym(n), false);
    return classifyChunks(heap, { mem, version, pymalloc: pymalloc() }, options);
  } finally {
    safe.close();
  }
}

/** A heap whose chunks can be classified: `objects()` is added by whoever walked it. */
export interface ClassifiableMallocHeap extends MallocHeap {
  /**
   * Every in-use chunk classified: the Python object in it, or the buffer an object points to, or "C allocation";
   * and `held()`, the bytes each type holds across pymalloc and malloc. Computed on the first call and kept.
   */
  objects(options?: ChunkClassifyOptions): MallocObjects;
}

/** Give `heap` its objects() (not enumerable: the heap's data and JSON stay as they were). */
export function withObjects(
  heap: MallocHeap,
  classify: (heap: MallocHeap, options?: ChunkClassifyOptions) => MallocObjects,
): ClassifiableMallocHeap {
  let kept: MallocObjects | undefined;
  Object.defineProperty(heap, "objects", {
    enumerable: false,
    value: (options?: ChunkClassifyOptions) => {
      if (options === undefined) return (kept ??= classify(heap));
      return classify(
        heap,
        checkOptions<ChunkClassifyOptions>(options, "objects", {
          allocator: (v, name) => {
            if (v !== null && typeof v !== "string") throw new TypeError(`${name} must be a string or null`);
          },
        }),
      );
    },
  });
  return heap as ClassifiableMallocHeap;
}
