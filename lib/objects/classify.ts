/**
 * Block classification: for every used pool of a heap snapshot, which blocks are allocated (the pool's free list is
 * walked, bounded by its capacity; blocks past `nextoffset` were never used) and, for each allocated block, the
 * Python object in it if there is one. The same code classifies this process and another one: it reads through
 * `ObjectMemory` (lib/objects/memory.ts), pools in bulk, type objects in batches.
 *
 * A block holds an object when, at the offset its type's pre-header implies (0, sizeof(PyGC_Head), or that plus
 * the 3.11+ pre-header; +16 under the debug allocator), there is a plausible reference count and an `ob_type` that
 * validates as a type object (lib/objects/types.ts) whose instances fit in the block. A freed object keeps its
 * type pointer but its reference count is 0, so stale objects in free-listed memory are not taken for live ones.
 * Allocated blocks without an object are buffers; those a classified list, dict or set (or an object of a subclass
 * of one, found through tp_base) points to are named
 * ("list items", "dict keys", "dict values", "set table", an OrderedDict's index and nodes, and on 3.11/3.12 the
 * "instance values" an object with a managed __dict__ points to from its pre-header; a str subclass's characters, a
 * bytearray's payload, an xml.etree Element's extra and children), the rest stay "not an object". Such a pointer to
 * the start of a block wins over an object header found in it (#staleHeaders: a stale header, left by the block's
 * previous object).
 * @module
 */
import { PymemError } from "../errors.ts";
import type { ObmallocSnapshot } from "../obmalloc/heap.ts";
import { blockSize, blocksPerPool, type ObmallocLayout } from "../obmalloc/layout.ts";
import type { ObjectMemory, Range } from "./memory.ts";
import { type ObjectLayout, objectLayoutFor, TPFLAGS } from "./layout.ts";
import { type TypeInfo, TypeTable } from "./types.ts";
import { lastAtOrBelow } from "../machine/sorted.ts";
import { machineBusy } from "../machine/threads.ts";
import {
  type BatchResult,
  type KindCounter,
  kindCounter,
  MAX_FIELDS,
  NATIVE_FIRST_TYPE,
  NativeClassifier,
  P,
  parallelFrom,
  TYPE_WORDS,
} from "./classify-pass.ts";

/** Block kinds below FIRST_TYPE; kind FIRST_TYPE + i is an object of `types[i]`. */
export const KIND = {
  NEVER_USED: 0,
  FREE: 1,
  /** In a pool that could not be read consistently (a live target kept changing it). */
  UNREAD: 2,
  BUFFER: 3,
  LIST_ITEMS: 4,
  DICT_KEYS: 5,
  DICT_VALUES: 6,
  SET_TABLE: 7,
  /** 3.11/3.12: the values array of an instance with a managed __dict__. */
  INSTANCE_VALUES: 8,
  /** An OrderedDict's od_fast_nodes (its hash-indexed array of node pointers), and its linked-list nodes. */
  ODICT_INDEX: 9,
  ODICT_NODES: 10,
  /** The characters of a str subclass's instance (exact str objects hold theirs inline). */
  STR_DATA: 11,
  /** A bytearray's payload (ob_bytes). */
  BYTEARRAY_DATA: 12,
  /** xml.etree's C Element: its ElementObjectExtra (attrib, first children), and its children array past four. */
  ELEMENT_EXTRA: 13,
  ELEMENT_CHILDREN: 14,
  FIRST_TYPE: 15,
} as const;
/** What #classify returns for a block whose candidate type is not decided yet (stored only until #settle). */
const PENDING = -1;
/** Kinds are 16-bit while they fit (half the memory of a large heap's blocks), 32-bit beyond: any number of types. */
const MAX_KIND_16 = 0xfffe;
const CACHE_MASK = 1023;
/** Pseudo-label of a pointer to an instance's __dict__ (the dict is attributed to the instance, not renamed). */
const OWNED_DICT = 255;
/** Entries of an OrderedDict index read outside pymalloc (2^24: a dict of 10 million keys). */
const ODICT_INDEX_MAX = 1 << 24;

/** Names of the kinds that are not objects. */
export const KIND_NAMES: readonly string[] = [
  "never used",
  "free",
  "unread",
  "not an object",
  "list items",
  "dict keys",
  "dict values",
  "set table",
  "instance values",
  "OrderedDict index",
  "OrderedDict nodes",
  "str data",
  "bytearray data",
  "Element extra",
  "Element children",
];
/** tp_name of xml.etree's C Element (a Python class of that name is "Element"). */
const ELEMENT_NAME = "xml.etree.ElementTree.Element";

/** Options of a classification. */
export interface ClassifyOptions {
  /** Allocator of the target ("pymalloc_debug" shifts objects by the debug hooks' header). Default: the snapshot's;
   * when that is unnamed (null: hooks such as tracemalloc's wrap it), both readings are tried and the better kept. */
  allocator?: string | null;
  /** Times a pool whose free list is torn (a live target) is read again before it is reported unread (default 3). */
  retries?: number;
  /**
   * Use the native pass where there is one (x86-64 with executable memory; lib/objects/classify-pass.ts), default
   * true; false classifies in JavaScript only. Both give the same result: false is for comparing them.
   */
  native?: boolean;
}

/** The pieces of a heap snapshot classification needs. */
export type HeapSource = Pick<ObmallocSnapshot, "walk" | "poolSize" | "arenaSize" | "info">;

/** Everything one classification found, in typed arrays (one entry per block of every used pool). */
export interface Classification {
  layout: ObmallocLayout;
  objectLayout: ObjectLayout;
  types: TypeInfo[];
  /**
   * Kind of every block: pool p's blocks start at `poolBase[p]`, `capacity(p)` of them. 16-bit, or 32-bit when the
   * heap holds more types than 16 bits can number.
   */
  kinds: Uint16Array | Uint32Array;
  poolBase: Uint32Array;
  /** Pools skipped (torn or unreadable) and why, for warnings. */
  unreadPools: number;
  /** Type candidates checked (distinct addresses), and system-call-free time spent, for the benchmark. */
  typesChecked: number;
  /** Bytes the debug hooks put before each block's data (0, or 16 under pymalloc_debug). */
  dataOffset: number;
  /** Blocks that are an instance's __dict__ or its values array: block index → the instance's kind. */
  owners: Map<number, number>;
  /** Batches of pools the native pass classified, and those done in JavaScript (none, or a fallback). */
  nativeBatches: number;
  jsBatches: number;
  /** Of the native batches, those a second thread classified (in-process, large heaps). */
  aheadBatches: number;
  /** Sums the kinds of each pool natively (ObjectsSnapshot's per-type and per-arena sums), where there is code. */
  countKinds?: KindCounter;
}

/** The default of parallelFrom: an explicit value (tests) is used whatever the load, as the pool pass's. */
const PARALLEL_DEFAULT = 24_576;
const u64 = (w: Uint32Array, i: number) => w[i] + w[i + 1] * 0x1_0000_0000;

/**
 * Classify every block of every used pool of `heap`, reading through `mem`. Throws PymemError("UNSUPPORTED") when
 * the target has no `PyType_Type` to validate types against.
 */
export function classifyBlocks(
  heap: HeapSource,
  layout: ObmallocLayout,
  mem: ObjectMemory,
  options: ClassifyOptions = {},
): Classification {
  const minor = Number(heap.info.version.split(".")[1]);
  const ol = objectLayoutFor(minor);
  let table = new TypeTable(mem, ol);
  if (!table.usable) {
    throw new PymemError(
      "UNSUPPORTED",
      `CPython ${heap.info.version}: PyType_Type is not exported by the target, so no type object can be validated`,
    );
  }
  const allocator = options.allocator === undefined ? heap.info.allocator : options.allocator;
  const scan = (debug: boolean, types: TypeTable) => {
    const s = new Scanner(
      heap,
      layout,
      ol,
      mem,
      types,
      debug ? 16 : 0,
      debug ? 24 : 0,
      options.retries ?? 3,
      options.native ?? true,
    );
    try {
      s.run();
    } finally {
      s.close();
    }
    return s;
  };
  let ctx = scan(allocator === "pymalloc_debug", table);
  if (allocator === null || allocator === undefined) {
    // CPython names no allocator while hooks wrap it (tracemalloc's, pymem's traceAllocations): the debug hooks
    // (a debug build's default, or PYTHONMALLOC=pymalloc_debug) may be underneath, shifting every object by their
    // header. Both readings are tried; the one that finds more objects is the right one (the wrong shift finds
    // almost none: a type pointer never sits where the other reading looks).
    const withHeader = new TypeTable(mem, ol);
    const other = scan(true, withHeader);
    if (typedBlocks(other.kinds) > typedBlocks(ctx.kinds)) {
      ctx = other;
      table = withHeader;
    }
  }
  qualifySameNames(table);
  return {
    layout,
    objectLayout: ol,
    types: table.types,
    kinds: ctx.kinds,
    poolBase: ctx.poolBase,
    unreadPools: ctx.unreadPools,
    typesChecked: table.byAddress.size,
    dataOffset: ctx.dataOffset,
    owners: ctx.owners,
    nativeBatches: ctx.nativeBatches,
    jsBatches: ctx.jsBatches,
    aheadBatches: ctx.aheadBatches,
    countKinds: options.native === false ? undefined : kindCounter(mem.native),
  };
}

/**
 * Classes that share a tp_name (a class's is its bare __name__: two modules' `Record`) are named `module.Name`, from
 * the `__module__` each one's namespace holds; a C type's tp_name carries its module already. Only the heap types of
 * a name that occurs more than once are read, and renamed only where their modules differ.
 */
function qualifySameNames(table: TypeTable): void {
  const byName = new Map<string, number[]>();
  table.types.forEach((t, i) => {
    const same = byName.get(t.name);
    if (same) same.push(i);
    else byName.set(t.name, [i]);
  });
  const groups = [...byName.values()].map((g) => g.filter((i) => table.types[i].heapType)).filter((g) => g.length > 1);
  const ids = groups.flat();
  if (ids.length === 0) return;
  const moduleOf = new Map<number, string | null>();
  table.modules(ids).forEach((m, k) => moduleOf.set(ids[k], m));
  // Only where the module tells them apart: classes of one module and name (made in a loop) keep the bare name.
  for (const g of groups) {
    if (new Set(g.map((i) => moduleOf.get(i))).size < 2) continue;
    for (const i of g) {
      const m = moduleOf.get(i);
      if (m != null) table.types[i].name = `${m}.${table.types[i].name}`;
    }
  }
}

/** Blocks classified as an object of some type. */
function typedBlocks(kinds: Uint16Array | Uint32Array): number {
  let n = 0;
  for (const k of kinds) if (k >= KIND.FIRST_TYPE && k !== PENDING) n++;
  return n;
}

/** The pass over the pools. */
class Scanner {
  kinds: Uint16Array | Uint32Array;
  readonly poolBase: Uint32Array;
  unreadPools = 0;
  readonly dataOffset: number;
  readonly #overhead: number; // debug hooks: bytes of a block that are not the object's
  readonly #heap: HeapSource;
  readonly #layout: ObmallocLayout;
  readonly #ol: ObjectLayout;
  readonly #mem: ObjectMemory;
  readonly #table: TypeTable;
  readonly #retries: number;
  readonly #offsets: number[];
  // Per-type facts in flat arrays for the inner loop (index: type id).
  #pre = new Int32Array(256);
  #min = new Float64Array(256);
  // Types with instances smaller than tp_basicsize: the flag byte's offset (0: none), and tp_basicsize.
  #shortAt = new Int32Array(256);
  #full = new Float64Array(256);
  // 3.11/3.12: offset from the object of its values-array pointer (0: the type has no managed dict).
  #valuesAt = new Int32Array(256);
  readonly #valuesTagged: boolean;
  /** 3.12+: immortal objects' counts sit at 2^31 and above. */
  readonly #immortal: boolean;
  // Exact container types whose buffers get named, and the pointer fields that name them.
  readonly #containers = new Map<number, [number, number][]>();
  /** The same per type id (undefined for every other type): an array index in the inner loop, not a Map lookup. */
  readonly #fieldsOf: ([number, number][] | undefined)[] = [];
  readonly #containerSet: Set<number>;
  readonly #odictType: number;
  readonly #unicodeType: number;
  /** Kinds of the container subclasses: the buffers they point to are recorded as theirs in `owners`. */
  readonly #subclasses = new Set<number>();
  // Pointers to buffers, collected while scanning: address and label kind.
  #refs = new Float64Array(1024);
  #refKinds = new Uint8Array(1024);
  /** The block (global index) of the object each pointer was read from. */
  #refFrom = new Uint32Array(1024);
  #nRefs = 0;
  /** For each OrderedDict index pointer (by its position in the refs), od_fast_nodes_size: the entries to read. */
  readonly #odictSizes = new Map<number, number>();
  /** Global index of the block being classified (the source of the pointers it yields). */
  #at = 0;
  // Offset from the object of its __dict__ pointer, per type id (0: none).
  #dictAt = new Int32Array(256);
  readonly #dictType: number;
  readonly #typeType: number;
  /** Owned blocks: block index → kind of the object whose __dict__ (or its values) the block is. */
  readonly owners = new Map<number, number>();
  // Sorted arena bases, for "is this pointer inside the heap".
  readonly #arenaStarts: Float64Array;
  // Candidate type addresses met in the current batch that the table has not decided yet.
  readonly #unknown = new Set<number>();
  readonly #cacheTp = new Float64Array(CACHE_MASK + 1).fill(-1);
  readonly #cacheId = new Int32Array(CACHE_MASK + 1);
  /** The native pass (null: JavaScript only), dropped for good when the heap outgrows what it handles. */
  #native: NativeClassifier | null = null;
  nativeBatches = 0;
  jsBatches = 0;
  /** Of the native batches, those a second thread classified. */
  aheadBatches = 0;

  constructor(
    heap: HeapSource,
    layout: ObmallocLayout,
    ol: ObjectLayout,
    mem: ObjectMemory,
    table: TypeTable,
    dataOffset: number,
    overhead: number,
    retries: number,
    native = true,
  ) {
    this.#heap = heap;
    this.#layout = layout;
    this.#ol = ol;
    this.#mem = mem;
    this.#table = table;
    this.dataOffset = dataOffset;
    this.#overhead = overhead;
    this.#retries = retries;
    this.#offsets = ol.preHeaderFlags ? [0, ol.gcHead, ol.gcHead + 16] : [0, ol.gcHead];
    this.#valuesTagged = ol.instanceValues?.tagged ?? false;
    this.#immortal = ol.immortalRefcounts;
    this.#dictType = table.symbol("PyDict_Type");
    this.#typeType = table.symbol("PyType_Type");
    const w = heap.walk;
    this.poolBase = new Uint32Array(w.usedPools + 1);
    let total = 0;
    for (let p = 0; p < w.usedPools; p++) {
      this.poolBase[p] = total;
      total += blocksPerPool(w.poolClass[p], layout);
    }
    this.poolBase[w.usedPools] = total;
    this.kinds = new Uint16Array(total);
    this.#arenaStarts = Float64Array.from(w.arenaAddress).sort();
    const fields: [string, [number, number][]][] = [
      ["PyList_Type", [[ol.listItems, KIND.LIST_ITEMS]]],
      ["PyDict_Type", [[ol.dictKeys, KIND.DICT_KEYS], [ol.dictValues, KIND.DICT_VALUES]]],
      ["PySet_Type", [[ol.setTable, KIND.SET_TABLE]]],
      ["PyFrozenSet_Type", [[ol.setTable, KIND.SET_TABLE]]],
      // PyODictObject starts with its PyDictObject; od_fast_nodes points to the index whose entries are the nodes.
      ["PyODict_Type", [[ol.dictKeys, KIND.DICT_KEYS], [ol.dictValues, KIND.DICT_VALUES], [
        ol.odictFastNodes,
        KIND.ODICT_INDEX,
      ]]],
      ["PyByteArray_Type", [[ol.bytearrayBytes, KIND.BYTEARRAY_DATA]]],
      // Subclasses only: an exact str is compact, its characters inline where a subclass's data pointer would be.
      ["PyUnicode_Type", [[ol.unicodeData, KIND.STR_DATA]]],
    ];
    for (const [name, f] of fields) {
      const a = table.symbol(name);
      if (a) this.#containers.set(a, f);
    }
    this.#containerSet = new Set(this.#containers.keys());
    this.#odictType = table.symbol("PyODict_Type");
    this.#unicodeType = table.symbol("PyUnicode_Type");
    const align = Math.log2(layout.alignment);
    if (
      native && mem.native && mem.mappings && Number.isInteger(align) && this.#offsets.length <= 3 &&
      KIND.FIRST_TYPE === NATIVE_FIRST_TYPE
    ) {
      const params = new Array(16).fill(0);
      params[P.POOL_SIZE] = layout.poolSize;
      params[P.OVERHEAD] = layout.poolOverhead;
      params[P.CLASSES] = layout.sizeClasses;
      params[P.ALIGN] = align;
      params[P.DATA] = dataOffset;
      params[P.DEBUG] = overhead;
      params[P.NOFS] = this.#offsets.length;
      this.#offsets.forEach((o, i) => (params[P.OFS0 + i] = o));
      params[P.FLAGS_IN_REFCNT] = ol.refcntHasFlags ? 1 : 0;
      params[P.IMMORTAL] = this.#immortal ? 1 : 0;
      params[P.TAGGED] = this.#valuesTagged ? 1 : 0;
      params[P.ABSOLUTE] = mem.native.absolute ? 1 : 0;
      this.#native = NativeClassifier.create(mem.native, params, mem.mappings);
      this.#native?.setTypes(new Int32Array(0));
    }
  }

  /** Free the native pass's memory. */
  close(): void {
    this.#native?.close();
    this.#native = null;
  }

  /** Whether `p` lies inside one of the snapshot's arenas. */
  readonly inHeap = (p: number): boolean => {
    const s = this.#arenaStarts, at = lastAtOrBelow(s, p);
    return at >= 0 && p < s[at] + this.#heap.arenaSize;
  };

  run(): void {
    const w = this.#heap.walk;
    const poolArena = w.poolArena;
    const batch = this.#mem.batch;
    // One arena's used pools at a time in-process (one view); remotely up to `batch` pools across arenas.
    const starts: number[] = [];
    for (let p = 0; p < w.usedPools;) {
      starts.push(p);
      let end = p + 1;
      if (batch === 0) { while (end < w.usedPools && poolArena[end] === poolArena[p]) end++; }
      else end = Math.min(w.usedPools, p + batch);
      p = end;
    }
    starts.push(w.usedPools);
    const one = (b: number) => {
      if (this.#native && this.kinds instanceof Uint16Array) this.#nativeBatch(starts[b], starts[b + 1]);
      else this.#jsBatch(starts[b], starts[b + 1]);
    };
    const nb = starts.length - 1;
    const native = this.#native;
    if (
      native?.absolute && w.usedPools >= parallelFrom && nb >= 4 &&
      (parallelFrom !== PARALLEL_DEFAULT || !machineBusy())
    ) {
      // Two threads: this one does the first batches alone (most types are met there and decided), then hands the
      // second half of the rest to a second thread, which classifies it on a copy of what is decided by then; a
      // batch it met anything undecided in, this thread does again after it, in order (the results do not change).
      // Alone until a sixteenth of the pools is done and four batches in a row met no new candidate (a program's
      // own classes are met after the interpreter's start-up objects), at most half of them.
      let k = 0;
      for (let quiet = 0; k < nb && (starts[k] < w.usedPools / 16 || quiet < 4) && starts[k] < w.usedPools / 2;) {
        const met = this.#table.byAddress.size + this.#unknown.size;
        one(k++);
        quiet = this.#table.byAddress.size + this.#unknown.size === met ? quiet + 1 : 0;
      }
      let split = k;
      while (split < nb && starts[split] < (starts[k] + w.usedPools) / 2) split++;
      const ahead = split < nb && this.#native && this.kinds instanceof Uint16Array
        ? this.#native.speculate(w.poolAddress, w.poolClass, this.poolBase, starts, split)
        : null;
      if (ahead) {
        try {
          for (let b = k; b < split; b++) one(b);
        } catch (e) {
          ahead.join(); // the thread reads the heap, which stays still only while the caller holds the GIL
          ahead.free();
          throw e;
        }
        ahead.join();
        try {
          for (let b = split; b < nb; b++) {
            const got = this.#native && this.kinds instanceof Uint16Array ? ahead.take(b, this.kinds) : null;
            if (!got) {
              one(b);
              continue;
            }
            this.nativeBatches++;
            this.aheadBatches++;
            this.#addRefs(got);
          }
        } finally {
          ahead.free();
        }
        this.#nameBuffers();
        return;
      }
      for (let b = k; b < nb; b++) one(b);
    } else for (let b = 0; b < nb; b++) one(b);
    this.#nameBuffers();
  }

  /** Pools [p, end) in JavaScript, from `got` when they were read already. */
  #jsBatch(p: number, end: number, got?: { words: Uint32Array; at: Int32Array }): void {
    this.jsBatches++;
    const w = this.#heap.walk;
    const { poolSize } = this.#layout;
    const poolAddress = w.poolAddress;
    const { words, at } = got ?? this.#mem.pools(poolAddress.subarray(p, end), poolSize);
    const pending: number[] = [];
    for (let i = p; i < end; i++) {
      const mine: number[] = [];
      let ok = at[i - p] >= 0 && this.#scanPool(i, words, at[i - p], mine);
      if (ok) { for (const x of mine) pending.push(x); }
      // A live target may have changed the pool while it was copied: read it again, alone, a few times.
      for (let attempt = 0; !ok && this.#mem.live && attempt < this.#retries; attempt++) {
        const again = this.#mem.pool(poolAddress[i], poolSize);
        if (!again) break;
        mine.length = 0;
        ok = this.#scanPool(i, again, 0, mine);
        if (ok) this.#settle(mine, again, () => 0);
      }
      if (!ok) {
        this.unreadPools++;
        this.kinds.fill(KIND.UNREAD, this.poolBase[i], this.poolBase[i + 1]);
      }
    }
    if (pending.length) this.#settle(pending, words, (q) => at[q - p]);
  }

  /**
   * Pools [p, end) by the native pass: the same kinds, pending blocks and pointers, in the same order, as
   * #jsBatch. A batch with a torn pool (a live target) is done again in JavaScript, with its retries.
   */
  #nativeBatch(p: number, end: number): void {
    const n = this.#native!, w = this.#heap.walk, poolAddress = w.poolAddress, poolSize = this.#layout.poolSize;
    let got: { words: Uint32Array; at: Int32Array } | undefined;
    let src = (i: number) => poolAddress[p + i];
    // Remotely, the pools are read straight into native memory when the reader can (no copy into JavaScript's); a
    // batch that must be done in JavaScript after all (a torn pool) gets a copy of those same bytes.
    let inPlace: { base: number; ok: Uint8Array } | undefined;
    if (!n.absolute) {
      const dest = this.#mem.poolsInto ? n.readBuffer((end - p) * poolSize) : 0n;
      const ok = dest ? this.#mem.poolsInto!(poolAddress.subarray(p, end), poolSize, dest) : null;
      if (ok) {
        const base = Number(dest);
        inPlace = { base, ok };
        src = (i) => (ok[i] ? base + i * poolSize : -1);
      } else {
        got = this.#mem.pools(poolAddress.subarray(p, end), poolSize);
        const at = got.at;
        src = (i) => (at[i] < 0 ? -1 : at[i] * 4);
      }
    }
    const blocks = this.poolBase[end] - this.poolBase[p];
    const call = (list?: Uint32Array) =>
      n.call(
        this.kinds as Uint16Array,
        got?.words ?? null,
        poolAddress,
        w.poolClass,
        this.poolBase,
        p,
        end,
        src,
        blocks,
        this.#offsets.length,
        list,
        inPlace !== undefined,
      );
    const r = call();
    for (const u of r.unknown) this.#unknown.add(u);
    if (r.torn) return this.#jsBatch(p, end, got ?? (inPlace && this.#copyOut(inPlace, end - p)));
    this.nativeBatches++;
    this.#addRefs(r);
    if (r.pending.length === 0) return;
    this.#decideTypes();
    if (this.#native && this.kinds instanceof Uint16Array) {
      const again = call(r.pending);
      for (const u of again.unknown) this.#unknown.add(u);
      this.#addRefs(again);
      return;
    }
    // The heap outgrew the native pass while deciding (kinds past 16 bits): these blocks in JavaScript.
    const pending: number[] = [];
    for (let i = 0; i < r.pending.length; i += 2) pending.push(p + r.pending[i], r.pending[i + 1]);
    const view = got ??
      (inPlace ? this.#copyOut(inPlace, end - p) : this.#mem.pools(poolAddress.subarray(p, end), poolSize));
    this.#settle(pending, view.words, (q) => view.at[q - p]);
  }

  /** The pools read into native memory, copied out for the JavaScript pass (the shape of `ObjectMemory.pools`). */
  #copyOut(read: { base: number; ok: Uint8Array }, n: number): { words: Uint32Array; at: Int32Array } {
    const poolSize = this.#layout.poolSize;
    const words = new Uint32Array(this.#native!.bytesAt(read.base, n * poolSize).slice().buffer);
    const at = Int32Array.from(read.ok, (ok, i) => (ok ? (i * poolSize) / 4 : -1));
    return { words, at };
  }

  /** The native pass's pointers, recorded as #classify records its own. */
  #addRefs(r: BatchResult): void {
    const refs = r.refs;
    for (let i = 0; i < r.nRefs; i++) {
      const label = refs[4 * i + 1];
      this.#at = refs[4 * i + 2];
      if (label === KIND.ODICT_INDEX) this.#odictSizes.set(this.#nRefs, refs[4 * i + 3]);
      this.#ref(refs[4 * i], label);
    }
  }

  /**
   * Classify one pool from its bytes at `words[w0..]`. False when its header or free list does not make sense
   * (torn by a live target) or disagrees with its count. Blocks whose candidate types are not decided yet are
   * marked PENDING and listed in `pending` as (pool, block) pairs.
   */
  #scanPool(p: number, words: Uint32Array, w0: number, pending: number[]): boolean {
    const layout = this.#layout, poolSize = layout.poolSize, overhead = layout.poolOverhead;
    const count = words[w0];
    const sz = words[w0 + 9];
    const next = words[w0 + 10];
    if (sz >= layout.sizeClasses || sz !== this.#heap.walk.poolClass[p]) return false;
    const size = blockSize(sz, layout);
    if (words[w0 + 11] !== poolSize - size || next < overhead || next > poolSize) return false;
    const carved = Math.floor((next - overhead) / size);
    const cap = blocksPerPool(sz, layout);
    const base = this.poolBase[p];
    const kinds = this.kinds;
    if (count === 0) {
      // Emptied since the snapshot (a live target): nothing allocated.
      kinds.fill(KIND.FREE, base, base + carved);
      kinds.fill(KIND.NEVER_USED, base + carved, base + cap);
      return true;
    }
    if (count > carved) return false;
    // Mark the free list (FREE), bounded by the carved blocks; a link outside the pool, off a block boundary, past
    // nextoffset or back to a block already seen means the list was torn while read.
    kinds.fill(KIND.BUFFER, base, base + carved);
    kinds.fill(KIND.NEVER_USED, base + carved, base + cap);
    const poolAddr = this.#heap.walk.poolAddress[p];
    let fb = u64(words, w0 + 2), nfree = 0;
    while (fb !== 0) {
      const off = fb - poolAddr;
      if (off < overhead || off >= next || (off - overhead) % size !== 0 || nfree >= carved) return false;
      const k = (off - overhead) / size;
      if (kinds[base + k] === KIND.FREE) return false;
      kinds[base + k] = KIND.FREE;
      nfree++;
      fb = u64(words, w0 + off / 4);
    }
    if (carved - nfree !== count) return false;
    const d = this.dataOffset, avail = size - this.#overhead;
    for (let k = 0; k < carved; k++) {
      if (kinds[base + k] === KIND.FREE) continue;
      this.#at = base + k;
      const kind = this.#classify(words, w0 + (overhead + k * size + d) / 4, avail);
      kinds[base + k] = kind;
      if (kind === PENDING) pending.push(p, k);
    }
    return true;
  }

  /** The kind of the allocated block whose data starts at words[x] and has `avail` usable bytes. */
  #classify(words: Uint32Array, x: number, avail: number): number {
    const offsets = this.#offsets;
    const flagsInRefcnt = this.#ol.refcntHasFlags;
    let unknown = false;
    for (let j = 0; j < offsets.length; j++) {
      const o = offsets[j];
      if (o + 16 > avail) break;
      const y = x + (o >> 2);
      const r = words[y];
      if (r === 0) continue; // refcount 0: free or dead
      if (flagsInRefcnt ? (words[y + 1] & 0xffff) !== 0 : words[y + 1] !== 0) continue; // a pointer, not a count
      // A pointer below 2^32 (a non-PIE build's statics and brk heap, a runtime's low allocations) also fits in 32
      // bits: a list's items [x, SomeClass] passed as an instance. A count that is also an aligned address of mapped
      // memory (at least 64 KiB, mmap_min_addr) would mean that many references to one object; one in the immortal
      // range (2^31 and up on 3.12+, where CPython parks them) is a count.
      if (
        r >= 0x1_0000 && (r & 7) === 0 && words[y + 1] === 0 && !(this.#immortal && r >= 0x8000_0000) &&
        this.#mem.readable(r, 16)
      ) continue;
      const lo = words[y + 2], hi = words[y + 3];
      if ((lo & 7) !== 0 || hi >= 0x8000 || (hi === 0 && lo < 4096)) continue;
      const tp = hi * 0x1_0000_0000 + lo;
      // A direct-mapped cache in front of the table's Map: blocks of a few types alternate within a pool.
      const slot = (lo >>> 3) & CACHE_MASK;
      let id: number | undefined;
      if (this.#cacheTp[slot] === tp) id = this.#cacheId[slot];
      else {
        id = this.#table.byAddress.get(tp);
        if (id === undefined) {
          this.#unknown.add(tp);
          unknown = true;
          continue;
        }
        this.#cacheTp[slot] = tp;
        this.#cacheId[slot] = id;
      }
      if (id < 0 || this.#pre[id] !== o || o + this.#min[id] > avail) continue;
      // Smaller than tp_basicsize (a naive datetime.time): only an instance whose flag byte says it is that variant.
      const short = this.#shortAt[id];
      if (short !== 0 && o + this.#full[id] > avail && (words[y + (short >> 2)] >>> ((short & 3) * 8) & 0xff) !== 0) {
        continue;
      }
      const f = this.#fieldsOf[id];
      if (f !== undefined) {
        for (const [field, label] of f) {
          if (label === KIND.ODICT_INDEX) this.#odictSizes.set(this.#nRefs, u64(words, y + ((field + 8) >> 2)));
          this.#ref(u64(words, y + (field >> 2)), label);
        }
      }
      if (this.#dictAt[id] !== 0) this.#ref(u64(words, y + (this.#dictAt[id] >> 2)), OWNED_DICT);
      if (this.#valuesAt[id] !== 0 && o >= 32) {
        const v = u64(words, y + (this.#valuesAt[id] >> 2));
        if (!this.#valuesTagged) this.#ref(v, KIND.INSTANCE_VALUES);
        else if (v % 2 === 1) this.#ref(v + 1, KIND.INSTANCE_VALUES);
      }
      return KIND.FIRST_TYPE + id;
    }
    return unknown ? PENDING : KIND.BUFFER;
  }

  #ref(p: number, label: number): void {
    if (p === 0) return;
    if (this.#nRefs === this.#refs.length) {
      const r = new Float64Array(this.#refs.length * 2);
      r.set(this.#refs);
      this.#refs = r;
      const k = new Uint8Array(r.length);
      k.set(this.#refKinds);
      this.#refKinds = k;
      const f = new Uint32Array(r.length);
      f.set(this.#refFrom);
      this.#refFrom = f;
    }
    this.#refs[this.#nRefs] = p;
    this.#refFrom[this.#nRefs] = this.#at;
    this.#refKinds[this.#nRefs++] = label;
  }

  /** Decide the candidate types met so far, then classify the PENDING blocks listed in `pending`. */
  #settle(pending: number[], words: Uint32Array, start: (pool: number) => number): void {
    this.#decideTypes();
    const layout = this.#layout, d = this.dataOffset;
    for (let i = 0; i < pending.length; i += 2) {
      const p = pending[i], k = pending[i + 1];
      const size = blockSize(this.#heap.walk.poolClass[p], layout);
      const w0 = start(p);
      this.#at = this.poolBase[p] + k;
      const kind = this.#classify(words, w0 + (layout.poolOverhead + k * size + d) / 4, size - this.#overhead);
      // Every candidate is decided now; a block still undecided would mean an unreadable candidate: a buffer.
      this.kinds[this.poolBase[p] + k] = kind === PENDING ? KIND.BUFFER : kind;
    }
    pending.length = 0;
  }

  /**
   * Decide the candidate types met so far (lib/objects/types.ts) and derive what the per-block test needs of each
   * type (pre-header, sizes, the pointer fields that name buffers, __dict__ and values pointers); shared by the
   * JavaScript and native passes (the native pass gets the same facts as records).
   */
  #decideTypes(): void {
    const table = this.#table;
    if (this.#unknown.size) {
      const decided = this.#native ? [...this.#unknown] : [];
      table.resolve(this.#unknown, this.inHeap);
      this.#unknown.clear();
      const n = table.types.length;
      // Blocks classified so far keep their kinds; those still pending are rewritten below.
      if (KIND.FIRST_TYPE + n - 1 > MAX_KIND_16 && this.kinds instanceof Uint16Array) {
        this.kinds = Uint32Array.from(this.kinds);
      }
      if (n > this.#pre.length) {
        const pre = new Int32Array(n * 2),
          min = new Float64Array(n * 2),
          values = new Int32Array(n * 2),
          dict = new Int32Array(n * 2);
        const shortAt = new Int32Array(n * 2), full = new Float64Array(n * 2);
        shortAt.set(this.#shortAt);
        full.set(this.#full);
        this.#shortAt = shortAt;
        this.#full = full;
        pre.set(this.#pre);
        min.set(this.#min);
        values.set(this.#valuesAt);
        dict.set(this.#dictAt);
        this.#pre = pre;
        this.#min = min;
        this.#valuesAt = values;
        this.#dictAt = dict;
      }
      // A subclass of a built-in container (a C one such as OrderedDict, or a class) keeps the container's struct
      // at the start of its instances: its buffers are found through the same fields, and belong to it.
      const fresh = Array.from({ length: n - this.#fieldsOf.length }, (_, k) => this.#fieldsOf.length + k);
      // xml.etree's C Element lives in an extension module (no exported symbol): it is known by its name and size.
      for (const i of fresh) {
        const t = table.types[i];
        if (t.name === ELEMENT_NAME && t.basicsize === this.#ol.elementSize && !this.#containers.has(t.address)) {
          this.#containers.set(t.address, [[this.#ol.elementExtra, KIND.ELEMENT_EXTRA]]);
          this.#containerSet.add(t.address);
        }
      }
      const bases = table.baseAmong(fresh, this.#containerSet, this.inHeap);
      fresh.forEach((i, k) => {
        const exactStr = table.types[i].address === this.#unicodeType;
        this.#fieldsOf[i] = exactStr ? undefined : this.#containers.get(bases[k]);
        // An OrderedDict's own buffers are charged to it as well: dict keys that are not a plain dict's.
        if (bases[k] !== 0 && (bases[k] !== table.types[i].address || bases[k] === this.#odictType)) {
          this.#subclasses.add(KIND.FIRST_TYPE + i);
        }
      });
      for (let i = 0; i < n; i++) {
        this.#pre[i] = table.types[i].preHeader;
        this.#min[i] = table.types[i].minSize;
        this.#shortAt[i] = table.types[i].shortFlagAt;
        this.#full[i] = table.types[i].basicsize;
        const iv = this.#ol.instanceValues;
        this.#valuesAt[i] = iv && (table.types[i].flags & TPFLAGS.MANAGED_DICT) !== 0 ? iv.offset : 0;
        const t = table.types[i],
          managed = this.#ol.managedDict !== undefined && (t.flags & TPFLAGS.MANAGED_DICT) !== 0;
        // A __dict__ of the instance itself (not of a type: a type's dict is its namespace, not an instance's).
        this.#dictAt[i] = t.address === this.#typeType || (t.flags & TPFLAGS.TYPE_SUBCLASS) !== 0
          ? 0
          : managed
          ? this.#ol.managedDict!
          : t.dictoffset > 0 && t.dictoffset % 8 === 0 && t.dictoffset + 8 <= t.basicsize
          ? t.dictoffset
          : 0;
      }
      if (this.#native) this.#syncNative(decided);
    }
  }

  /** Give the native pass the decisions on `decided` and every type's record (tools/classify-pass.c, TYPE_WORDS). */
  #syncNative(decided: number[]): void {
    const native = this.#native!, table = this.#table, n = table.types.length;
    const rec = new Int32Array(n * TYPE_WORDS);
    for (let i = 0; i < n; i++) {
      const f = this.#fieldsOf[i] ?? [];
      if (f.length > MAX_FIELDS || this.#min[i] > 0x7fff_ffff || this.#full[i] > 0x7fff_ffff) {
        // More than the record holds: JavaScript from here on (no CPython type comes near).
        this.close();
        return;
      }
      const r = i * TYPE_WORDS;
      rec[r] = this.#pre[i];
      rec[r + 1] = this.#min[i];
      rec[r + 2] = this.#shortAt[i];
      rec[r + 3] = this.#full[i];
      rec[r + 4] = this.#dictAt[i];
      rec[r + 5] = this.#valuesAt[i];
      rec[r + 6] = f.length;
      f.forEach(([field, label], k) => {
        rec[r + 7 + 2 * k] = field;
        rec[r + 8 + 2 * k] = label;
      });
    }
    native.setTypes(rec);
    for (const a of decided) native.decide(a, table.byAddress.get(a) ?? -1);
  }

  /**
   * Relabel the buffers that a list, dict or set points into (only blocks classified as plain buffers, or whose
   * object header an owner's pointer proves stale: see #staleHeaders), and record which blocks are an instance's
   * __dict__ (a dict object), its keys and values (its owner: the instance's type).
   */
  #nameBuffers(): void {
    if (this.#nRefs === 0) return;
    const w = this.#heap.walk, layout = this.#layout, poolSize = layout.poolSize;
    const index = new Map<number, number>();
    for (let p = 0; p < w.usedPools; p++) index.set(w.poolAddress[p], p);
    // Block of `ptr` (global index, -1 outside the used pools); `within` receives the offset from its data start.
    let within = 0;
    const blockOf = (ptr: number): number => {
      const pool = ptr - (ptr % poolSize);
      const p = index.get(pool);
      if (p === undefined) return -1;
      const off = ptr - pool - layout.poolOverhead - this.dataOffset;
      if (off < 0) return -1;
      const size = blockSize(w.poolClass[p], layout);
      const at = this.poolBase[p] + Math.floor(off / size);
      within = off % size;
      return at < this.poolBase[p + 1] ? at : -1;
    };
    // Each pointer's block and offset in it, once (the passes below read them several times).
    const n = this.#nRefs, refAt = new Int32Array(n), refOff = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      refAt[i] = blockOf(this.#refs[i]);
      refOff[i] = within;
    }
    const stale = this.#staleHeaders(refAt, refOff);
    for (const at of stale) this.kinds[at] = KIND.BUFFER;
    const live = (i: number) => stale.size === 0 || !stale.has(this.#refFrom[i]);
    const odict: number[] = [];
    const dictKind = this.#dictType
      ? KIND.FIRST_TYPE + (this.#table.byAddress.get(this.#dictType) ?? -KIND.FIRST_TYPE - 1)
      : -1;
    // First the instance dicts (their keys and values are attributed through them below).
    for (let i = 0; i < n; i++) {
      if (this.#refKinds[i] !== OWNED_DICT || !live(i)) continue;
      const at = refAt[i];
      if (at >= 0 && this.kinds[at] === dictKind) this.owners.set(at, this.kinds[this.#refFrom[i]]);
    }
    for (let i = 0; i < n; i++) {
      const label = this.#refKinds[i];
      if (label === OWNED_DICT || !live(i)) continue;
      const at = refAt[i];
      // An OrderedDict's index of more than 64 nodes is outside pymalloc: its nodes are still read through it.
      if (at < 0 && label === KIND.ODICT_INDEX) odict.push(i, -1);
      if (at < 0) continue;
      if (this.kinds[at] === KIND.BUFFER) this.kinds[at] = label;
      if (this.kinds[at] !== label) continue;
      const from = this.#refFrom[i];
      if (label === KIND.INSTANCE_VALUES) this.owners.set(at, this.kinds[from]);
      else if ((label === KIND.DICT_VALUES || label === KIND.DICT_KEYS) && this.owners.has(from)) {
        // An instance's __dict__ with a table of its own (combined: 3.8–3.10 always, later after attribute churn):
        // its keys are the instance's storage as much as its values are. A split table's keys are its class's.
        this.owners.set(at, this.owners.get(from)!);
      } else if (this.#subclasses.has(this.kinds[from])) this.owners.set(at, this.kinds[from]);
      if (label === KIND.ODICT_INDEX) odict.push(i, at);
    }
    this.#nameOdictNodes(odict, blockOf);
    this.#nameElementChildren(refAt, refOff, blockOf, () => within);
  }

  /**
   * The children array of each xml.etree Element holding more than four (its ElementObjectExtra points to it, or to
   * its own `_children` for four or fewer): one read of every named extra's head, in-process or remote.
   */
  #nameElementChildren(
    refAt: Int32Array,
    refOff: Int32Array,
    blockOf: (p: number) => number,
    within: () => number,
  ): void {
    const extras: number[] = [], from: number[] = [];
    for (let i = 0; i < this.#nRefs; i++) {
      if (this.#refKinds[i] !== KIND.ELEMENT_EXTRA) continue;
      const at = refAt[i];
      if (at >= 0 && this.kinds[at] === KIND.ELEMENT_EXTRA && refOff[i] === 0) {
        extras.push(this.#refs[i]);
        from.push(this.#refFrom[i]);
      }
    }
    if (extras.length === 0) return;
    const head = this.#ol.elementChildren + 8;
    const got = this.#mem.readMany(extras.map((address) => ({ address, length: head })));
    extras.forEach((extra, k) => {
      if (!got.ok[k]) return;
      const w = new Uint32Array(got.bytes.buffer, got.bytes.byteOffset + got.offsets[k], head / 4);
      const length = u64(w, 2), allocated = u64(w, 4), children = u64(w, this.#ol.elementChildren / 4);
      if (children === 0 || children === extra + head || length > allocated) return;
      const at = blockOf(children);
      if (at < 0 || within() !== 0 || this.kinds[at] !== KIND.BUFFER || allocated * 8 > this.#blockBytes(at)) return;
      this.kinds[at] = KIND.ELEMENT_CHILDREN;
      const owner = this.kinds[from[k]];
      if (this.#subclasses.has(owner)) this.owners.set(at, owner);
    });
  }

  /**
   * Blocks classified as an object that an owner's pointer proves to be a buffer: a list's ob_item, a dict's keys,
   * a set's table, an OrderedDict's index point to the start of their block (PyMem_Malloc's result), and a values
   * array to its start or a prefix before it (3.12). The header found there is what an object that lived in the
   * block before left behind (a tuple freed by _PyTuple_Resize keeps its refcount; spare list slots are never
   * written), never a live object: a live object's block is not also a live container's buffer. A pointer into an
   * object past its header is not such a proof (3.13+ dicts point into their instance's inline values). An owner is
   * believed only while its own block is not proven stale: rounds until no proof changes (a stale container found
   * inside a proven buffer loses the pointers it carried).
   */
  #staleHeaders(refAt: Int32Array, refOff: Int32Array): Set<number> {
    // The proofs: pointers into a block classified as an object, at its start (at or before the object for values).
    const proofs: number[] = [];
    for (let i = 0; i < this.#nRefs; i++) {
      const label = this.#refKinds[i], at = refAt[i];
      if (label === OWNED_DICT || at < 0 || at === this.#refFrom[i]) continue;
      const k = this.kinds[at];
      if (k < KIND.FIRST_TYPE) continue;
      const pre = this.#table.types[k - KIND.FIRST_TYPE].preHeader;
      const values = label === KIND.DICT_VALUES || label === KIND.INSTANCE_VALUES;
      if (values ? refOff[i] <= pre : refOff[i] === 0) proofs.push(i);
    }
    let stale = new Set<number>();
    for (let round = 0; round < 8 && proofs.length; round++) {
      const next = new Set<number>();
      for (const i of proofs) if (!stale.has(this.#refFrom[i])) next.add(refAt[i]);
      const same = next.size === stale.size && [...next].every((x) => stale.has(x));
      stale = next;
      if (same) break;
    }
    return stale;
  }

  /**
   * The nodes of each OrderedDict, through the entries of its index (every key's node is there; empty slots are
   * NULL): one read of all the indexes, in-process or remote. `odict` lists (ref position, index block) pairs.
   */
  #nameOdictNodes(odict: number[], blockOf: (p: number) => number): void {
    if (odict.length === 0) return;
    const ranges: Range[] = [], from: number[] = [];
    for (let j = 0; j < odict.length; j += 2) {
      const i = odict[j], n = this.#odictSizes.get(i) ?? 0, at = odict[j + 1];
      // Sizes are the dict's table size: a power of two whose array fits the block it was read from (or, outside
      // pymalloc, the readable memory there, at most ODICT_INDEX_MAX entries).
      if (n <= 0 || (n & (n - 1)) !== 0) continue;
      if (at >= 0 ? n * 8 > this.#blockBytes(at) : n > ODICT_INDEX_MAX || !this.#mem.readable(this.#refs[i], n * 8)) {
        continue;
      }
      ranges.push({ address: this.#refs[i], length: n * 8 });
      from.push(this.#refFrom[i]);
    }
    if (ranges.length === 0) return;
    const got = this.#mem.readMany(ranges);
    ranges.forEach((r, k) => {
      if (!got.ok[k]) return;
      const w = new Uint32Array(got.bytes.buffer, got.bytes.byteOffset + got.offsets[k], r.length / 4);
      const owner = this.kinds[from[k]];
      for (let e = 0; e < w.length; e += 2) {
        const node = u64(w, e);
        if (node === 0) continue;
        const at = blockOf(node);
        if (at < 0 || (this.kinds[at] !== KIND.BUFFER && this.kinds[at] !== KIND.ODICT_NODES)) continue;
        this.kinds[at] = KIND.ODICT_NODES;
        this.owners.set(at, owner);
      }
    });
  }

  /** Size of the block with global index `at`. */
  #blockBytes(at: number): number {
    const p = Math.max(0, lastAtOrBelow(this.poolBase, at, this.#heap.walk.usedPools));
    return blockSize(this.#heap.walk.poolClass[p], this.#layout) - this.#overhead;
  }
}
