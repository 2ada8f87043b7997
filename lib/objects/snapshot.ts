/**
 * `ObjectsSnapshot`: a classified heap (lib/objects/classify.ts) summed up for people: live blocks by type for the
 * whole heap and per arena, what each pool holds, every block on demand, and **pinning**: which types keep the
 * arenas mapped.
 *
 * Pinned bytes: an arena stays mapped while any block in it is live, so its whole size is charged to its live
 * blocks, each in proportion to its size (`arena size × block bytes / live bytes of the arena`). A type's pinned
 * bytes are the sum over the arenas it occupies. In a full arena this is about the type's own bytes (plus its share
 * of the arena's free space); in a sparse one the few survivors carry the whole arena, which is what keeps RSS up.
 * Weighting by bytes rather than by block count keeps a dense arena of small blocks from charging them as much as
 * large ones; the rows of all kinds sum to the mapped bytes of the arenas holding live blocks. With `owners`, the
 * blocks of an instance's __dict__ (the dict object, its values array, its own keys) are charged to the instance's type, and
 * a container subclass's table (an OrderedDict's dict keys) to the subclass.
 * @module
 */
import type { ObmallocSnapshot } from "../obmalloc/heap.ts";
import { blockSize } from "../obmalloc/layout.ts";
import { type Classification, KIND, KIND_NAMES } from "./classify.ts";
import type { TypeInfo } from "./types.ts";
import { EXPLAIN_MAX, type ExplainOptions, type Sample } from "./explain.ts";
import { PymemError } from "../errors.ts";
import { checkOptions, integerIn, isBoolean, type OptionCheck } from "../checks.ts";
import { showInRepl } from "../core/inspect.ts";
import { lastAtOrBelow } from "../machine/sorted.ts";
import { jsonSafe } from "../machine/json.ts";

/** Live blocks of one kind (a Python type, or a kind of buffer). */
export interface TypeRow {
  /** tp_name for objects ("dict", "Session"); for buffers "list items", "dict keys", …, or "not an object". */
  name: string;
  /** True for Python objects, false for buffers. */
  object: boolean;
  /** Address of the type object (objects only). */
  typeAddress: bigint | null;
  /** Live blocks, and their block bytes (size-class bytes, what pymalloc holds for them). */
  count: number;
  bytes: number;
}

/** A row of the pinning view. */
export interface PinningRow extends TypeRow {
  /**
   * This kind's share of the mapped bytes of the arenas it occupies (see the module notes), in whole bytes: each
   * arena's shares are rounded by largest remainder, so the rows still add up to those arenas' bytes exactly.
   */
  pinnedBytes: number;
  /** Arenas holding at least one block of this kind. */
  arenas: number;
  /** Of those, arenas less than half full (by bytes in use): where the pinning is waste, not use. */
  sparseArenas: number;
}

/** One block, for iteration and lookups. */
export interface BlockInfo {
  address: bigint;
  /** Block size (the size class). */
  size: number;
  state: "allocated" | "free" | "never used" | "unread";
  /** tp_name of the object in the block, or null (a buffer, free, never used). */
  type: string | null;
  /** What the block is: the type name, a buffer name ("list items", "not an object"), or the state. */
  kind: string;
  /** Address of the object (after its pre-header), when there is one. */
  object: bigint | null;
  /**
   * For a buffer or an instance's __dict__: the type of the object it belongs to, when that is not what its kind
   * says ("OrderedDict" for the "dict keys" of an OrderedDict, "Session" for its instance's __dict__); else null.
   */
  owner: string | null;
}

/** Options of {@link ObjectsSnapshot.pinning}. */
export interface PinningOptions {
  /** Rows to return (default: all). */
  limit?: number;
  /** Leave out buffers ("not an object", "list items", …). Default false. */
  objectsOnly?: boolean;
  /**
   * Charge each instance's __dict__ (the dict object, its values array, and its keys when the table is its own
   * rather than its class's shared keys) to the instance's type instead of `dict` / `dict values` / `dict keys` /
   * `instance values`: "what do my objects pin, with their attributes' storage". Counts
   * and bytes of the rows move the same way. A container subclass's buffers (an OrderedDict's `dict keys`, a list
   * subclass's `list items`) are charged to the subclass. Default false.
   */
  owners?: boolean;
}

/** What one classification cost and found. */
export interface ObjectsTotals {
  /** Allocated blocks classified (excludes unread pools). */
  blocks: number;
  objects: number;
  buffers: number;
  /** Buffers named through the object that points to them (a list, dict, set, str subclass, bytearray, Element…). */
  namedBuffers: number;
  freeBlocks: number;
  bytesInUse: number;
  objectBytes: number;
  /** Pools that could not be read consistently (a live target), and their blocks in use (per their header). */
  unreadPools: number;
  unreadBlocks: number;
  /** Distinct type candidates checked. */
  typesChecked: number;
  /** Distinct types with live objects in the heap (the rows of `byType()` that are objects). */
  types: number;
  /** Wall time of the classification, ms. */
  elapsedMs: number;
}

/** The blocks of a heap snapshot, classified. Create with `snapshot.objects()`. */
export class ObjectsSnapshot {
  readonly heap: ObmallocSnapshot;
  readonly types: readonly TypeInfo[];
  readonly totals: ObjectsTotals;
  readonly #c: Classification;
  /** Per kind: live blocks and bytes over the heap. */
  readonly #count: Float64Array;
  readonly #bytes: Float64Array;
  /** Per arena (snapshot order): kind → [count, bytes]; and live bytes. */
  readonly #arenaKinds: Map<number, [number, number]>[];
  readonly #arenaLive: Float64Array;
  #poolIndex?: Map<number, number>;
  readonly #explainer?: (addresses: bigint[], options: ExplainOptions, types: bigint[]) => Sample[];

  /** @internal `explainer` is given in-process only (it runs Python on the objects). */
  constructor(
    heap: ObmallocSnapshot,
    c: Classification,
    elapsedMs: number,
    explainer?: (addresses: bigint[], options: ExplainOptions, types: bigint[]) => Sample[],
  ) {
    this.heap = heap;
    this.#explainer = explainer;
    this.#c = c;
    this.types = c.types;
    const w = heap.walk, layout = c.layout;
    const nKinds = KIND.FIRST_TYPE + c.types.length;
    this.#count = new Float64Array(nKinds);
    this.#bytes = new Float64Array(nKinds);
    this.#arenaKinds = Array.from({ length: w.arenaAddress.length }, () => new Map());
    this.#arenaLive = new Float64Array(w.arenaAddress.length);
    const scratch = new Int32Array(nKinds);
    const touched: number[] = [];
    let unreadPools = 0, unreadBlocks = 0, free = 0;
    // The same sums from native per-pool counts where there are (n, (kind, count) x n a pool, in first-met order).
    const pairs = c.countKinds && c.kinds instanceof Uint16Array
      ? c.countKinds(c.kinds, c.poolBase, w.usedPools, nKinds)
      : null;
    let at = 0;
    for (let p = 0; p < w.usedPools; p++) {
      const size = blockSize(w.poolClass[p], layout), a = w.poolArena[p];
      const from = c.poolBase[p], to = c.poolBase[p + 1];
      const n = pairs ? pairs[at] : 0;
      if (pairs) at += 1 + 2 * n;
      if (c.kinds[from] === KIND.UNREAD) {
        unreadPools++;
        unreadBlocks += w.poolCount[p];
        scratch[KIND.UNREAD] = w.poolCount[p];
        touched.push(KIND.UNREAD);
      } else if (pairs) {
        for (let e = at - 2 * n; e < at; e += 2) {
          const k = pairs[e];
          if (k === KIND.NEVER_USED) continue;
          if (k === KIND.FREE) {
            free += pairs[e + 1];
            continue;
          }
          scratch[k] = pairs[e + 1];
          touched.push(k);
        }
      } else {
        for (let i = from; i < to; i++) {
          const k = c.kinds[i];
          if (k === KIND.NEVER_USED) continue;
          if (k === KIND.FREE) {
            free++;
            continue;
          }
          if (scratch[k]++ === 0) touched.push(k);
        }
      }
      const m = this.#arenaKinds[a];
      for (const k of touched) {
        const n = scratch[k], b = n * size;
        scratch[k] = 0;
        this.#count[k] += n;
        this.#bytes[k] += b;
        this.#arenaLive[a] += b;
        const e = m.get(k);
        if (e) {
          e[0] += n;
          e[1] += b;
        } else m.set(k, [n, b]);
      }
      touched.length = 0;
    }
    let blocks = 0, objects = 0, buffers = 0, named = 0, bytesInUse = 0, objectBytes = 0;
    for (let k = KIND.BUFFER; k < nKinds; k++) {
      blocks += this.#count[k];
      bytesInUse += this.#bytes[k];
      if (k >= KIND.FIRST_TYPE) {
        objects += this.#count[k];
        objectBytes += this.#bytes[k];
      } else {
        buffers += this.#count[k];
        if (k !== KIND.BUFFER) named += this.#count[k];
      }
    }
    this.totals = {
      blocks,
      objects,
      buffers,
      namedBuffers: named,
      freeBlocks: free,
      bytesInUse,
      objectBytes,
      unreadPools,
      unreadBlocks,
      typesChecked: c.typesChecked,
      // Types with live objects: the table also holds types validated for blocks that then did not fit them.
      types: this.#count.subarray(KIND.FIRST_TYPE).reduce((n, x) => n + (x > 0 ? 1 : 0), 0),
      elapsedMs,
    };
  }

  #name(k: number): string {
    return k >= KIND.FIRST_TYPE
      ? this.types[k - KIND.FIRST_TYPE].name
      : k === KIND.UNREAD
      ? "(unread: changed while read)"
      : KIND_NAMES[k];
  }

  #row(k: number): TypeRow {
    const t = k >= KIND.FIRST_TYPE ? this.types[k - KIND.FIRST_TYPE] : undefined;
    return jsonSafe({
      name: this.#name(k),
      object: !!t,
      typeAddress: t ? BigInt(t.address) : null,
      count: this.#count[k],
      bytes: this.#bytes[k],
    });
  }

  /** Live blocks by kind over the whole heap, most bytes first. */
  byType(): TypeRow[] {
    const out: TypeRow[] = [];
    for (let k = KIND.UNREAD; k < this.#count.length; k++) if (this.#count[k] > 0) out.push(this.#row(k));
    return out.sort((x, y) => y.bytes - x.bytes || y.count - x.count);
  }

  /** What keeps the arenas mapped, by kind, most pinned bytes first (see the module notes for the measure). */
  pinning(options: PinningOptions = {}): PinningRow[] {
    const { limit, objectsOnly = false, owners = false } = checkOptions<PinningOptions>(options, "pinning", {
      limit: integerIn(0, Number.MAX_SAFE_INTEGER),
      objectsOnly: isBoolean,
      owners: isBoolean,
    });
    const n = this.#count.length, arenaSize = this.heap.arenaSize;
    const pinned = new Float64Array(n), arenas = new Float64Array(n), sparse = new Float64Array(n);
    const view = owners ? this.#owned() : { arenaKinds: this.#arenaKinds, count: this.#count, bytes: this.#bytes };
    view.arenaKinds.forEach((m, a) => {
      const live = this.#arenaLive[a];
      if (live <= 0) return;
      const isSparse = live < arenaSize / 2;
      // Whole bytes that add up to the arena exactly: each kind's share rounded down, and the bytes left over given
      // one each to the largest remainders (ties: the lower kind), so no row is a fraction and no byte is lost.
      const rem: [number, number][] = [];
      let left = arenaSize;
      for (const [k, [, b]] of m) {
        const whole = Math.floor((arenaSize * b) / live);
        pinned[k] += whole;
        left -= whole;
        rem.push([(arenaSize * b) % live, k]);
        arenas[k]++;
        if (isSparse) sparse[k]++;
      }
      if (left > 0) {
        rem.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
        for (let i = 0; i < left; i++) pinned[rem[i % rem.length][1]]++;
      }
    });
    const rows: PinningRow[] = [];
    for (let k = KIND.UNREAD; k < n; k++) {
      if (view.count[k] === 0 || (objectsOnly && k < KIND.FIRST_TYPE)) continue;
      rows.push(jsonSafe({
        ...this.#row(k),
        count: view.count[k],
        bytes: view.bytes[k],
        pinnedBytes: pinned[k],
        arenas: arenas[k],
        sparseArenas: sparse[k],
      }));
    }
    rows.sort((x, y) => y.pinnedBytes - x.pinnedBytes || y.bytes - x.bytes);
    return limit === undefined ? rows : rows.slice(0, limit);
  }

  #ownedView?: { arenaKinds: Map<number, [number, number]>[]; count: Float64Array; bytes: Float64Array };
  /** The per-arena sums with every owned block (an instance's __dict__ and values) moved to its owner's kind. */
  #owned(): { arenaKinds: Map<number, [number, number]>[]; count: Float64Array; bytes: Float64Array } {
    if (this.#ownedView) return this.#ownedView;
    const c = this.#c, w = this.heap.walk;
    const arenaKinds = this.#arenaKinds.map((m) =>
      new Map([...m].map(([k, v]) => [k, [v[0], v[1]] as [number, number]]))
    );
    const count = Float64Array.from(this.#count), bytes = Float64Array.from(this.#bytes);
    const move = (m: Map<number, [number, number]>, from: number, to: number, size: number) => {
      const f = m.get(from)!;
      f[0]--;
      f[1] -= size;
      if (f[0] === 0) m.delete(from);
      const t = m.get(to);
      if (t) {
        t[0]++;
        t[1] += size;
      } else m.set(to, [1, size]);
    };
    for (const [at, owner] of c.owners) {
      // The pool of block `at`: the last pool whose first block index is at or before it (the first starts at 0).
      const lo = Math.max(0, lastAtOrBelow(c.poolBase, at, w.usedPools));
      const k = c.kinds[at], size = blockSize(w.poolClass[lo], c.layout);
      if (k < KIND.BUFFER || k === owner) continue;
      move(arenaKinds[w.poolArena[lo]], k, owner, size);
      count[k]--;
      bytes[k] -= size;
      count[owner]++;
      bytes[owner] += size;
    }
    return (this.#ownedView = { arenaKinds, count, bytes });
  }

  /** Live blocks by kind in one arena (its position in `heap.arenas` order), most bytes first. */
  arenaTypes(position: number): { name: string; object: boolean; count: number; bytes: number }[] {
    if (typeof position !== "number") {
      throw new TypeError(`arenaTypes: position must be a number, got ${position === null ? "null" : typeof position}`);
    }
    const m = Number.isInteger(position) ? this.#arenaKinds[position] : undefined;
    if (!m) {
      throw new RangeError(
        `arenaTypes: no arena at position ${position} (the snapshot has ${this.#arenaKinds.length})`,
      );
    }
    return [...m].map(([k, [count, bytes]]) => ({ name: this.#name(k), object: k >= KIND.FIRST_TYPE, count, bytes }))
      .sort((x, y) => y.bytes - x.bytes);
  }

  /** Live blocks by kind in used pool `index` (the order of `heap.pools()`), most first. */
  poolTypes(index: number): { name: string; count: number }[] {
    const c = this.#c;
    if (typeof index !== "number") {
      throw new TypeError(`poolTypes: index must be a number, got ${index === null ? "null" : typeof index}`);
    }
    if (!Number.isInteger(index) || index < 0 || index >= this.heap.walk.usedPools) {
      throw new RangeError(`poolTypes: no used pool ${index}`);
    }
    const counts = new Map<number, number>();
    for (let i = c.poolBase[index]; i < c.poolBase[index + 1]; i++) {
      const k = c.kinds[i];
      if (k >= KIND.BUFFER || k === KIND.UNREAD) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return [...counts].map(([k, count]) => ({ name: this.#name(k), count })).sort((x, y) => y.count - x.count);
  }

  #block(p: number, i: number): BlockInfo {
    const w = this.heap.walk;
    return blockInfo(this.#c, w.poolAddress[p], w.poolClass[p], this.#c.poolBase[p] + i, i);
  }

  /**
   * In-process only: for the `types` Python types that pin the most (default 3, at most 100), `samples` live
   * instances each (default 3, at most 100; those in the emptiest arenas first) with a bounded repr, the referrer
   * chain that keeps each alive (up to a module global, a
   * class or a frame, within `depth` and `timeMs`) and, when tracemalloc traces, the allocation traceback.
   * Throws PymemError("UNSUPPORTED") for an attached process (its objects can only be read, not asked).
   */
  explain(
    options: ExplainOptions & { types?: number } = {},
  ): { name: string; typeAddress: bigint; pinnedBytes: number; samples: Sample[] }[] {
    if (!this.#explainer) {
      throw new PymemError(
        "UNSUPPORTED",
        "samples and referrer paths need the objects in this process (py.heap(), or a sub-interpreter's heap()); an attached process is only read",
      );
    }
    const whole = integerIn(0, Number.MAX_SAFE_INTEGER);
    // Each sample is found again among all of Python's objects and its referrers searched: a few per type are what
    // a person reads, and a million ran for minutes.
    const counted = integerIn(0, EXPLAIN_MAX);
    const o = checkOptions<ExplainOptions & { types?: number }>(options, "explain", {
      types: counted,
      samples: counted,
      depth: whole,
      reprChars: whole,
      timeMs: finiteNonNegative,
    });
    const n = o.types ?? 3, per = o.samples ?? 3;
    const rows = this.pinning({ objectsOnly: true, limit: n });
    const c = this.#c, w = this.heap.walk, half = this.heap.arenaSize / 2;
    const picks = rows.map(() => [] as bigint[]);
    const kindOf = new Map(
      rows.map((r, i) => [KIND.FIRST_TYPE + this.types.findIndex((t) => BigInt(t.address) === r.typeAddress), i]),
    );
    // The emptiest arenas first: their instances are what keeps them mapped (and, in a fragmented heap, the
    // program's own survivors, where the first arenas hold the interpreter's start-up objects).
    const order = Array.from({ length: w.usedPools }, (_, p) => p)
      .sort((x, y) => this.#arenaLive[w.poolArena[x]] - this.#arenaLive[w.poolArena[y]] || x - y);
    for (const sparsePass of [true, false]) {
      for (const p of order) {
        if ((this.#arenaLive[w.poolArena[p]] < half) !== sparsePass) continue;
        for (let at = c.poolBase[p]; at < c.poolBase[p + 1]; at++) {
          const i = kindOf.get(c.kinds[at]);
          if (i === undefined || picks[i].length >= per) continue;
          const b = blockInfo(c, w.poolAddress[p], w.poolClass[p], at, at - c.poolBase[p]);
          if (!picks[i].includes(b.object!)) picks[i].push(b.object!);
        }
      }
    }
    const search: ExplainOptions = { depth: o.depth, timeMs: o.timeMs, reprChars: o.reprChars };
    const samples = this.#explainer(picks.flat(), search, picks.flatMap((p, i) => p.map(() => rows[i].typeAddress!)));
    let k = 0;
    return rows.map((r, i) =>
      jsonSafe({
        name: r.name,
        typeAddress: r.typeAddress!,
        pinnedBytes: r.pinnedBytes,
        samples: picks[i].map(() => jsonSafe(samples[k++])),
      })
    );
  }

  /**
   * JSON-safe: the totals and the rows by type, type addresses as hex strings (the heap is its own `toJSON`, not
   * repeated here; `whyToJSON` writes the full, versioned document).
   */
  toJSON(): { totals: ObjectsTotals; byType: (Omit<TypeRow, "typeAddress"> & { typeAddress: string | null })[] } {
    const hex = (a: bigint | null) => (a === null ? null : `0x${a.toString(16)}`);
    return { totals: this.totals, byType: this.byType().map((r) => ({ ...r, typeAddress: hex(r.typeAddress) })) };
  }

  /** One line for the REPLs: objects, blocks, types and the three kinds that pin the most. */
  toString(): string {
    const t = this.totals,
      mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`,
      int = (n: number) => n.toLocaleString("en-US");
    const top = this.pinning({ limit: 3 }).map((r) => `${r.object ? `\`${r.name}\`` : r.name} ${mib(r.pinnedBytes)}`)
      .join(", ");
    return `ObjectsSnapshot(${int(t.objects)} objects in ${int(t.blocks)} blocks, ${int(t.types)} types; pinning: ${
      top || "nothing"
    })`;
  }

  /** Every block of every used pool, pool by pool. */
  *blocks(): IterableIterator<BlockInfo> {
    const c = this.#c;
    for (let p = 0; p < this.heap.walk.usedPools; p++) {
      for (let i = 0; i < c.poolBase[p + 1] - c.poolBase[p]; i++) yield this.#block(p, i);
    }
  }

  /** The block holding `address` (any address inside it), or null when it is not in a used pool of the snapshot. */
  blockAt(address: bigint | number): BlockInfo | null {
    if (typeof address === "bigint") {
      if (address < 0n || address > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    } else if (typeof address !== "number") {
      throw new TypeError(
        `blockAt: address must be a bigint or a number, got ${address === null ? "null" : typeof address}`,
      );
    } else if (!Number.isSafeInteger(address)) {
      throw new RangeError(`blockAt: address must be a whole number below 2^53, got ${address}`);
    }
    const a = Number(address);
    const c = this.#c, w = this.heap.walk, poolSize = c.layout.poolSize;
    if (!this.#poolIndex) {
      this.#poolIndex = new Map();
      for (let p = 0; p < w.usedPools; p++) this.#poolIndex.set(w.poolAddress[p], p);
    }
    const p = this.#poolIndex.get(a - (a % poolSize));
    if (p === undefined) return null;
    const off = a - w.poolAddress[p] - c.layout.poolOverhead;
    if (off < 0) return null;
    const i = Math.floor(off / blockSize(w.poolClass[p], c.layout));
    return i < c.poolBase[p + 1] - c.poolBase[p] ? this.#block(p, i) : null;
  }
}

showInRepl(ObjectsSnapshot);

const finiteNonNegative: OptionCheck = (value, name) => {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number, got ${value === null ? "null" : typeof value}`);
  }
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
};

/** Block `i` of the pool at `poolAddress` (size class `sizeClass`), whose kind is `c.kinds[at]`. */
export function blockInfo(c: Classification, poolAddress: number, sizeClass: number, at: number, i: number): BlockInfo {
  const size = blockSize(sizeClass, c.layout);
  const address = poolAddress + c.layout.poolOverhead + i * size;
  const k = c.kinds[at];
  const t = k >= KIND.FIRST_TYPE ? c.types[k - KIND.FIRST_TYPE] : undefined;
  const state = k === KIND.FREE
    ? "free"
    : k === KIND.NEVER_USED
    ? "never used"
    : k === KIND.UNREAD
    ? "unread"
    : "allocated";
  const kind = t ? t.name : k === KIND.UNREAD ? "(unread: changed while read)" : KIND_NAMES[k];
  const o = c.owners.get(at);
  const owner = o === undefined ? null : c.types[o - KIND.FIRST_TYPE]?.name ?? null;
  const object = t ? BigInt(address + c.dataOffset + t.preHeader) : null;
  return jsonSafe({ address: BigInt(address), size, state, type: t ? t.name : null, kind, object, owner });
}
