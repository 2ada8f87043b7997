/**
 * The obmalloc heap map: every arena, every used pool, the size-class table and fragmentation figures, walked the
 * way CPython's own `pymalloc_print_stats` walks it, and kept in typed arrays so a multi-GiB heap stays cheap.
 *
 * The walker reads memory through a `MemoryReader`, so the same code maps this process (zero-copy views) and,
 * through process_vm_readv, another one.
 * @module
 */
import { ARENA, blockSize, blocksPerPool, type ObmallocLayout, POOL } from "./layout.ts";

/** Access to the memory being mapped. */
export interface MemoryReader {
  /** `length` bytes at `address` (a view in-process, a copy remotely). Throws when unreadable. */
  read(address: number, length: number): Uint8Array;
  /**
   * The 48-byte headers of `count` consecutive pools starting at `first`, as a Uint32Array with `stride` u32 words
   * between headers. In-process this is a view over the pools themselves (stride POOL_SIZE/4); remotely a packed copy.
   */
  poolHeaders(first: number, count: number, poolSize: number): { words: Uint32Array; stride: number };
}

/** One row of the size-class table, in the shape of `_debugmallocstats`. */
export interface SizeClassRow {
  /** Size class index (szidx). */
  index: number;
  /** Block size in bytes. */
  size: number;
  /** Pools of this class with at least one block in use. */
  pools: number;
  blocksInUse: number;
  /** Free blocks inside those pools. */
  availBlocks: number;
}

/** One arena of the map. */
export interface ArenaSummary {
  /** Index in CPython's `arenas` array. */
  index: number;
  address: bigint;
  poolsTotal: number;
  /** nfreepools: empty pools plus pools never carved. */
  poolsFree: number;
  poolsUsed: number;
  blocksInUse: number;
  bytesInUse: number;
  /** bytesInUse / arena size. */
  fill: number;
}

/** One used pool of the map. */
export interface PoolSummary {
  address: bigint;
  /** Position of its arena in `snapshot.arenaList` order. */
  arena: number;
  sizeClass: number;
  blockSize: number;
  blocksInUse: number;
  capacity: number;
}

/** What fragmentation costs, in terms a user can act on. */
export interface Fragmentation {
  /** Free bytes inside pools that hold live blocks (reusable only by the same size class). */
  freeBytesInUsedPools: number;
  /** Bytes of arenas in empty or never-used pools (reusable by any class, but still mapped). */
  freeBytesInFreePools: number;
  /** Arenas kept mapped by fewer than `pinnedThreshold` live pools each. */
  pinnedArenas: number;
  pinnedThreshold: number;
  /** Bytes those pinned arenas hold mapped. */
  pinnedBytes: number;
  /** Arenas the live blocks would need if packed densely (per class: ceil(blocks / capacity) pools). */
  arenasIfPacked: number;
  /** arenas - arenasIfPacked: what perfect packing would give back to the OS. */
  reclaimableArenas: number;
  /** bytes in use / bytes of all arenas, 0..1. */
  utilization: number;
}

/** Totals of a snapshot. */
export interface HeapTotals {
  arenas: number;
  /** Bytes mapped for arenas (arenas * ARENA_SIZE). */
  arenaBytes: number;
  /** Pools with at least one live block. */
  pools: number;
  /** Pools carved but empty (on an arena's free list). */
  emptyPools: number;
  /** Pools never carved yet. */
  untouchedPools: number;
  blocksInUse: number;
  bytesInUse: number;
  /** Free bytes inside used pools (`# bytes in available blocks`). */
  bytesAvailable: number;
}

/** The raw result of a walk, before the snapshot object wraps it. */
export interface WalkResult {
  arenaIndex: Uint32Array;
  arenaAddress: Float64Array;
  arenaPoolsTotal: Uint16Array;
  arenaPoolsFree: Uint16Array;
  arenaPoolsUsed: Uint16Array;
  /** Pools carved out of the arena so far (the rest have never been used). */
  arenaPoolsCarved: Uint16Array;
  arenaBlocks: Uint32Array;
  arenaBytes: Float64Array;
  poolAddress: Float64Array;
  poolArena: Uint32Array;
  poolClass: Uint8Array;
  poolCount: Uint16Array;
  /** Pools whose header made no sense (only possible when reading a live process). */
  inconsistentPools: number;
}

/**
 * Walk arenas[0..maxarenas) and every carved pool of each used arena. Empty pools (ref.count 0) are counted but not
 * listed; a used pool is recorded with its class and block count.
 */
export function walkHeap(mem: MemoryReader, arenas: number, maxarenas: number, layout: ObmallocLayout): WalkResult {
  const { poolSize } = layout;
  const table = maxarenas ? mem.read(arenas, maxarenas * ARENA.size) : new Uint8Array(0);
  const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  let nArenas = 0;
  let maxPools = 0;
  for (let i = 0; i < maxarenas; i++) {
    const o = i * ARENA.size;
    if (readAddr(tv, o + ARENA.address) === 0) continue;
    nArenas++;
    maxPools += tv.getUint32(o + ARENA.ntotalpools, true);
  }
  const r: WalkResult = {
    arenaIndex: new Uint32Array(nArenas),
    arenaAddress: new Float64Array(nArenas),
    arenaPoolsTotal: new Uint16Array(nArenas),
    arenaPoolsFree: new Uint16Array(nArenas),
    arenaPoolsUsed: new Uint16Array(nArenas),
    arenaPoolsCarved: new Uint16Array(nArenas),
    arenaBlocks: new Uint32Array(nArenas),
    arenaBytes: new Float64Array(nArenas),
    poolAddress: new Float64Array(maxPools),
    poolArena: new Uint32Array(maxPools),
    poolClass: new Uint8Array(maxPools),
    poolCount: new Uint16Array(maxPools),
    inconsistentPools: 0,
  };
  const sizes = new Float64Array(layout.sizeClasses);
  const caps = new Uint16Array(layout.sizeClasses);
  for (let c = 0; c < layout.sizeClasses; c++) {
    sizes[c] = blockSize(c, layout);
    caps[c] = blocksPerPool(c, layout);
  }
  const W_COUNT = POOL.count / 4, W_SZIDX = POOL.szidx / 4;
  let a = 0;
  let p = 0;
  for (let i = 0; i < maxarenas; i++) {
    const o = i * ARENA.size;
    const address = readAddr(tv, o + ARENA.address);
    if (address === 0) continue;
    const poolAddress = readAddr(tv, o + ARENA.poolAddress);
    const first = Math.ceil(address / poolSize) * poolSize;
    const carved = Math.max(0, Math.floor((poolAddress - first) / poolSize));
    r.arenaIndex[a] = i;
    r.arenaAddress[a] = address;
    r.arenaPoolsTotal[a] = tv.getUint32(o + ARENA.ntotalpools, true);
    r.arenaPoolsFree[a] = tv.getUint32(o + ARENA.nfreepools, true);
    let used = 0;
    let blocks = 0;
    let bytes = 0;
    if (carved > 0) {
      const { words, stride } = mem.poolHeaders(first, carved, poolSize);
      for (let k = 0, w = 0; k < carved; k++, w += stride) {
        const count = words[w + W_COUNT];
        if (count === 0) continue;
        const sz = words[w + W_SZIDX];
        if (sz >= layout.sizeClasses || count > caps[sz]) {
          r.inconsistentPools++;
          continue;
        }
        r.poolAddress[p] = first + k * poolSize;
        r.poolArena[p] = a;
        r.poolClass[p] = sz;
        r.poolCount[p] = count;
        p++;
        used++;
        blocks += count;
        bytes += count * sizes[sz];
      }
    }
    r.arenaPoolsUsed[a] = used;
    r.arenaPoolsCarved[a] = carved;
    r.arenaBlocks[a] = blocks;
    r.arenaBytes[a] = bytes;
    a++;
  }
  r.poolAddress = r.poolAddress.subarray(0, p);
  r.poolArena = r.poolArena.subarray(0, p);
  r.poolClass = r.poolClass.subarray(0, p);
  r.poolCount = r.poolCount.subarray(0, p);
  return r;
}

/** A pointer field as a number: user-space addresses fit in 53 bits on x86-64 and aarch64. */
function readAddr(v: DataView, offset: number): number {
  return v.getUint32(offset, true) + v.getUint32(offset + 4, true) * 0x1_0000_0000;
}

/** Per-class difference between two snapshots (`after - before`). */
export interface SizeClassDiff {
  index: number;
  size: number;
  pools: number;
  blocksInUse: number;
  bytesInUse: number;
  availBlocks: number;
}

/** Where a snapshot came from, for provenance and display. */
export interface SnapshotInfo {
  /** "3.12.1" */
  version: string;
  /** Name of the running allocator ("pymalloc", "pymalloc_debug", …; null if custom). */
  allocator: string | null;
  /** PyInterpreterState* whose state was walked (0n when read from the static 3.8–3.11 state). */
  interp: bigint;
  /** How the state was found (".symtab statics", "pointer at PyInterpreterState+0x2a30", …). */
  source: string;
  /** raw_allocated_blocks (3.9+): blocks over 512 bytes that pymalloc handed to the raw allocator; null if unknown. */
  rawAllocatedBlocks: number | null;
  /** Arena counters where the state has them. */
  counters: { narenasCurrentlyAllocated?: number; ntimesArenaAllocated?: number; narenasHighwater?: number };
}

/**
 * One walk of the obmalloc heap: arenas, used pools, the size-class table, totals and fragmentation.
 * The per-pool and per-arena data are typed arrays (the fields named `arena*` and `pool*`); `arenas` and `pools()`
 * iterate them as objects for convenience.
 */
export class HeapSnapshot {
  readonly info: SnapshotInfo;
  readonly poolSize: number;
  readonly arenaSize: number;
  /** Time the walk finished (ms since the epoch). */
  readonly takenAt: number;
  readonly sizeClasses: SizeClassRow[];
  readonly totals: HeapTotals;
  readonly fragmentation: Fragmentation;
  readonly walk: WalkResult;
  readonly #layout: ObmallocLayout;

  constructor(walk: WalkResult, layout: ObmallocLayout, info: SnapshotInfo, pinnedThreshold = 5) {
    this.walk = walk;
    this.info = info;
    this.#layout = layout;
    this.poolSize = layout.poolSize;
    this.arenaSize = layout.arenaSize;
    this.takenAt = Date.now();
    const n = layout.sizeClasses;
    const pools = new Float64Array(n), blocks = new Float64Array(n), avail = new Float64Array(n);
    for (let i = 0; i < walk.poolClass.length; i++) {
      const c = walk.poolClass[i];
      pools[c]++;
      blocks[c] += walk.poolCount[i];
      avail[c] += blocksPerPool(c, layout) - walk.poolCount[i];
    }
    this.sizeClasses = [];
    let blocksInUse = 0, bytesInUse = 0, bytesAvailable = 0, packedPools = 0;
    for (let c = 0; c < n; c++) {
      if (pools[c] === 0) continue;
      const size = blockSize(c, layout);
      this.sizeClasses.push({ index: c, size, pools: pools[c], blocksInUse: blocks[c], availBlocks: avail[c] });
      blocksInUse += blocks[c];
      bytesInUse += blocks[c] * size;
      bytesAvailable += avail[c] * size;
      packedPools += Math.ceil(blocks[c] / blocksPerPool(c, layout));
    }
    const arenas = walk.arenaAddress.length;
    let poolsTotal = 0, poolsFree = 0, carvedEmpty = 0, pinned = 0, pinnedBytes = 0;
    for (let a = 0; a < arenas; a++) {
      poolsTotal += walk.arenaPoolsTotal[a];
      poolsFree += walk.arenaPoolsFree[a];
      if (walk.arenaPoolsUsed[a] > 0 && walk.arenaPoolsUsed[a] < pinnedThreshold) {
        pinned++;
        pinnedBytes += layout.arenaSize;
      }
    }
    const used = walk.poolClass.length;
    for (let a = 0; a < arenas; a++) carvedEmpty += walk.arenaPoolsCarved[a] - walk.arenaPoolsUsed[a];
    const perArena = arenas ? Math.floor(poolsTotal / arenas) : Math.floor(layout.arenaSize / layout.poolSize) - (layout.poolSize > 4096 ? 1 : 0);
    const arenasIfPacked = Math.ceil(packedPools / Math.max(1, perArena));
    this.totals = {
      arenas,
      arenaBytes: arenas * layout.arenaSize,
      pools: used,
      emptyPools: carvedEmpty,
      untouchedPools: poolsTotal - used - carvedEmpty,
      blocksInUse,
      bytesInUse,
      bytesAvailable,
    };
    this.fragmentation = {
      freeBytesInUsedPools: bytesAvailable,
      freeBytesInFreePools: poolsFree * layout.poolSize,
      pinnedArenas: pinned,
      pinnedThreshold,
      pinnedBytes,
      arenasIfPacked,
      reclaimableArenas: Math.max(0, arenas - arenasIfPacked),
      utilization: arenas ? bytesInUse / (arenas * layout.arenaSize) : 0,
    };
  }

  /** Every arena, as objects (built on demand from the typed arrays). */
  get arenas(): Iterable<ArenaSummary> & { length: number } {
    const w = this.walk;
    const arenaSize = this.arenaSize;
    return {
      length: w.arenaAddress.length,
      *[Symbol.iterator]() {
        for (let a = 0; a < w.arenaAddress.length; a++) {
          yield {
            index: w.arenaIndex[a],
            address: BigInt(w.arenaAddress[a]),
            poolsTotal: w.arenaPoolsTotal[a],
            poolsFree: w.arenaPoolsFree[a],
            poolsUsed: w.arenaPoolsUsed[a],
            blocksInUse: w.arenaBlocks[a],
            bytesInUse: w.arenaBytes[a],
            fill: w.arenaBytes[a] / arenaSize,
          };
        }
      },
    };
  }

  /** Every used pool, as objects. */
  *pools(): IterableIterator<PoolSummary> {
    const w = this.walk;
    for (let i = 0; i < w.poolAddress.length; i++) {
      const c = w.poolClass[i];
      yield {
        address: BigInt(w.poolAddress[i]),
        arena: w.poolArena[i],
        sizeClass: c,
        blockSize: blockSize(c, this.#layout),
        blocksInUse: w.poolCount[i],
        capacity: blocksPerPool(c, this.#layout),
      };
    }
  }

  /** `this - before` per size class (classes present in either). */
  diff(before: HeapSnapshot): SizeClassDiff[] {
    const rows = new Map<number, SizeClassDiff>();
    const add = (r: SizeClassRow, sign: number) => {
      const d = rows.get(r.index) ?? { index: r.index, size: r.size, pools: 0, blocksInUse: 0, bytesInUse: 0, availBlocks: 0 };
      d.pools += sign * r.pools;
      d.blocksInUse += sign * r.blocksInUse;
      d.bytesInUse += sign * r.blocksInUse * r.size;
      d.availBlocks += sign * r.availBlocks;
      rows.set(r.index, d);
    };
    for (const r of this.sizeClasses) add(r, 1);
    for (const r of before.sizeClasses) add(r, -1);
    return [...rows.values()].sort((x, y) => x.index - y.index);
  }
}
