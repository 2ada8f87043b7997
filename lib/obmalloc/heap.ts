/**
 * The obmalloc heap map: every arena, every used pool, the size-class table and fragmentation figures, walked the
 * way CPython's own `pymalloc_print_stats` walks it, and kept in typed arrays so a multi-GiB heap stays cheap.
 *
 * The walker reads memory through a `MemoryReader`, so the same code maps this process (zero-copy views) and,
 * through process_vm_readv, another one.
 * @module
 */
import type { PoolPass, PoolPassResult } from "./pool-pass.ts";
import { ARENA, blockSize, blocksPerPool, carvedPools, type ObmallocLayout, POOL, poolHeaderSane } from "./layout.ts";
import { showInRepl } from "../core/inspect.ts";
import { jsonSafe } from "../machine/json.ts";

/** Access to the memory being mapped. */
export interface MemoryReader {
  /** `length` bytes at `address` (a view in-process, a copy remotely). Throws when unreadable. */
  read(address: number, length: number): Uint8Array;
  /**
   * The 48-byte headers of `count` consecutive pools starting at `first`, as a Uint32Array with `stride` u32 words
   * between headers. In-process this is a view over the pools themselves (stride POOL_SIZE/4); remotely a packed copy.
   */
  poolHeaders(first: number, count: number, poolSize: number): { words: Uint32Array; stride: number };
  /**
   * Optional fast path: the whole pool pass natively (lib/obmalloc/pool-pass.ts). `firsts[a]` is arena a's first pool and
   * `carved[a]` its number of carved pools.
   */
  poolPass?: PoolPass;
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
  /** Pools carved out so far (the rest have never been used). */
  poolsCarved: number;
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
  /** Blocks and bytes in use per arena (built on first access, with the per-pool arrays). */
  readonly arenaBlocks: Uint32Array;
  readonly arenaBytes: Float64Array;
  /** Per used pool (built on first access): address, position of its arena, size class, blocks in use. */
  readonly poolAddress: Float64Array;
  readonly poolArena: Uint32Array;
  readonly poolClass: Uint8Array;
  readonly poolCount: Uint16Array;
  /** Number of pools with at least one block in use (the length of the pool* arrays). */
  usedPools: number;
  /** Pools whose header made no sense (only possible when reading a live process). */
  inconsistentPools: number;
  /** Threads that read the pool headers: 1, or 2 when a second thread shared the walk of a large in-process heap. */
  threads: number;
  /** Per size class, summed during the walk: used pools, blocks in use, free blocks in those pools. */
  classPools: Float64Array;
  classBlocks: Float64Array;
  classAvail: Float64Array;
}

/**
 * Walk arenas[0..maxarenas) and every carved pool of each used arena, as CPython's `pymalloc_print_stats` does.
 * Empty pools (ref.count 0) are counted but not listed. The pool pass runs natively where the reader offers it
 * (lib/obmalloc/pool-pass.ts), else in JavaScript over views; both produce the same `PoolPass` shape, and the per-pool arrays
 * are built from its packed records only when first used.
 */
export function walkHeap(mem: MemoryReader, arenas: number, maxarenas: number, layout: ObmallocLayout): WalkResult {
  const { poolSize } = layout;
  const table = maxarenas ? mem.read(arenas, maxarenas * ARENA.size) : new Uint8Array(0);
  const tv = new DataView(table.buffer, table.byteOffset, table.byteLength);
  let nArenas = 0;
  for (let i = 0; i < maxarenas; i++) if (readAddr(tv, i * ARENA.size + ARENA.address) !== 0) nArenas++;
  const arenaIndex = new Uint32Array(nArenas);
  const arenaAddress = new Float64Array(nArenas);
  const arenaPoolsTotal = new Uint16Array(nArenas);
  const arenaPoolsFree = new Uint16Array(nArenas);
  const firsts = new Float64Array(nArenas);
  const carved = new Uint32Array(nArenas);
  for (let i = 0, a = 0; i < maxarenas; i++) {
    const o = i * ARENA.size;
    const address = readAddr(tv, o + ARENA.address);
    if (address === 0) continue;
    const pools = carvedPools(address, readAddr(tv, o + ARENA.poolAddress), poolSize);
    arenaIndex[a] = i;
    arenaAddress[a] = address;
    arenaPoolsTotal[a] = tv.getUint32(o + ARENA.ntotalpools, true);
    arenaPoolsFree[a] = tv.getUint32(o + ARENA.nfreepools, true);
    firsts[a] = pools.first;
    carved[a] = pools.carved;
    a++;
  }
  // The native pass knows 32 size classes (every CPython 3.8–3.14); any other layout is walked in JavaScript.
  const native = layout.sizeClasses === 32 ? mem.poolPass?.(firsts, carved, poolSize) : null;
  const pass = native ?? jsPoolPass(mem, firsts, carved, layout);

  const n = layout.sizeClasses;
  const classPools = new Float64Array(n), classBlocks = new Float64Array(n), classAvail = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    classPools[c] = pass.classPools[c];
    classBlocks[c] = pass.classBlocks[c];
    classAvail[c] = classPools[c] * blocksPerPool(c, layout) - classBlocks[c];
  }
  const usedPools = pass.records.length;
  // Built on first use, from the records: most snapshots are summarised by size class and never look at a pool.
  let pools: PoolArrays | undefined;
  const poolArrays = () => (pools ??= materializePools(pass.records, pass.arenaUsed, firsts, layout));
  return {
    arenaIndex,
    arenaAddress,
    arenaPoolsTotal,
    arenaPoolsFree,
    arenaPoolsUsed: Uint16Array.from(pass.arenaUsed),
    arenaPoolsCarved: Uint16Array.from(carved),
    get arenaBlocks() {
      return poolArrays().arenaBlocks;
    },
    get arenaBytes() {
      return poolArrays().arenaBytes;
    },
    get poolAddress() {
      return poolArrays().poolAddress;
    },
    get poolArena() {
      return poolArrays().poolArena;
    },
    get poolClass() {
      return poolArrays().poolClass;
    },
    get poolCount() {
      return poolArrays().poolCount;
    },
    usedPools,
    inconsistentPools: pass.inconsistent,
    threads: pass.threads,
    classPools,
    classBlocks,
    classAvail,
  };
}

/** The pool pass in JavaScript, over the reader's views (any architecture, and remote processes). */
function jsPoolPass(
  mem: MemoryReader,
  firsts: Float64Array,
  carved: Uint32Array,
  layout: ObmallocLayout,
): PoolPassResult {
  const n = layout.sizeClasses;
  let total = 0;
  for (let a = 0; a < carved.length; a++) total += carved[a];
  const records = new Uint32Array(total);
  const arenaUsed = new Uint32Array(firsts.length);
  const classPools = new Float64Array(n), classBlocks = new Float64Array(n);
  const C = POOL.count / 4, Z = POOL.szidx / 4;
  let r = 0, inconsistent = 0;
  for (let a = 0; a < firsts.length; a++) {
    if (carved[a] === 0) continue;
    const { words, stride } = mem.poolHeaders(firsts[a], carved[a], layout.poolSize);
    const start = r;
    for (let k = 0, w = 0; k < carved[a]; k++, w += stride) {
      const count = words[w + C];
      if (count === 0) continue;
      const sz = words[w + Z];
      if (!poolHeaderSane(words, w, layout) || k > 0xff) {
        inconsistent++;
        continue;
      }
      records[r++] = (k << 24 | sz << 16 | count) >>> 0;
      classPools[sz]++;
      classBlocks[sz] += count;
    }
    arenaUsed[a] = r - start;
  }
  return { records: records.slice(0, r), arenaUsed, classPools, classBlocks, inconsistent, threads: 1 };
}

interface PoolArrays {
  poolAddress: Float64Array;
  poolArena: Uint32Array;
  poolClass: Uint8Array;
  poolCount: Uint16Array;
  arenaBlocks: Uint32Array;
  arenaBytes: Float64Array;
}

/** The per-pool arrays (used pools only) and the per-arena sums, from the packed records. */
function materializePools(
  records: Uint32Array,
  arenaUsed: Uint32Array,
  firsts: Float64Array,
  layout: ObmallocLayout,
): PoolArrays {
  const used = records.length;
  const out: PoolArrays = {
    poolAddress: new Float64Array(used),
    poolArena: new Uint32Array(used),
    poolClass: new Uint8Array(used),
    poolCount: new Uint16Array(used),
    arenaBlocks: new Uint32Array(firsts.length),
    arenaBytes: new Float64Array(firsts.length),
  };
  for (let a = 0, p = 0; a < firsts.length; a++) {
    let blocks = 0, bytes = 0;
    for (const end = p + arenaUsed[a]; p < end; p++) {
      const rec = records[p], sz = (rec >>> 16) & 0xff, count = rec & 0xffff;
      out.poolAddress[p] = firsts[a] + (rec >>> 24) * layout.poolSize;
      out.poolArena[p] = a;
      out.poolClass[p] = sz;
      out.poolCount[p] = count;
      blocks += count;
      bytes += count * blockSize(sz, layout);
    }
    out.arenaBlocks[a] = blocks;
    out.arenaBytes[a] = bytes;
  }
  return out;
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
 * One walk of the obmalloc heap: arenas, used pools, the size-class table, totals and fragmentation. The public
 * `HeapSnapshot` (lib/objects/mod.ts) extends it with the classification of its blocks into objects, which this
 * layer knows nothing of.
 * The per-pool and per-arena data are typed arrays (the fields named `arena*` and `pool*`); `arenas` and `pools()`
 * iterate them as objects for convenience.
 */
export class ObmallocSnapshot {
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
    const pools = walk.classPools, blocks = walk.classBlocks, avail = walk.classAvail;
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
    // Locals, not `walk.x[a]`: the walk object has getters, and V8 looks its properties up slowly in a loop.
    const total = walk.arenaPoolsTotal,
      free = walk.arenaPoolsFree,
      usedIn = walk.arenaPoolsUsed,
      carved = walk.arenaPoolsCarved;
    let poolsTotal = 0, poolsFree = 0, carvedEmpty = 0, pinned = 0, pinnedBytes = 0;
    for (let a = 0; a < arenas; a++) {
      poolsTotal += total[a];
      poolsFree += free[a];
      carvedEmpty += carved[a] - usedIn[a];
      if (usedIn[a] > 0 && usedIn[a] < pinnedThreshold) {
        pinned++;
        pinnedBytes += layout.arenaSize;
      }
    }
    const used = walk.usedPools;
    const perArena = arenas
      ? Math.floor(poolsTotal / arenas)
      : Math.floor(layout.arenaSize / layout.poolSize) - (layout.poolSize > 4096 ? 1 : 0);
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
        // Locals: arenaBlocks/arenaBytes are getters (built on first use), slow to look up in a loop on V8.
        const {
          arenaIndex,
          arenaAddress,
          arenaPoolsTotal,
          arenaPoolsFree,
          arenaPoolsUsed,
          arenaPoolsCarved,
          arenaBlocks,
          arenaBytes,
        } = w;
        for (let a = 0; a < arenaAddress.length; a++) {
          yield jsonSafe({
            index: arenaIndex[a],
            address: BigInt(arenaAddress[a]),
            poolsTotal: arenaPoolsTotal[a],
            poolsFree: arenaPoolsFree[a],
            poolsUsed: arenaPoolsUsed[a],
            poolsCarved: arenaPoolsCarved[a],
            blocksInUse: arenaBlocks[a],
            bytesInUse: arenaBytes[a],
            fill: arenaBytes[a] / arenaSize,
          });
        }
      },
    };
  }

  /** Every used pool, as objects. */
  *pools(): IterableIterator<PoolSummary> {
    const w = this.walk;
    for (let i = 0; i < w.usedPools; i++) {
      const c = w.poolClass[i];
      yield jsonSafe({
        address: BigInt(w.poolAddress[i]),
        arena: w.poolArena[i],
        sizeClass: c,
        blockSize: blockSize(c, this.#layout),
        blocksInUse: w.poolCount[i],
        capacity: blocksPerPool(c, this.#layout),
      });
    }
  }

  /** `this - before` per size class (classes present in either). */
  diff(before: ObmallocSnapshot): SizeClassDiff[] {
    const rows = new Map<number, SizeClassDiff>();
    const add = (r: SizeClassRow, sign: number) => {
      const d = rows.get(r.index) ??
        { index: r.index, size: r.size, pools: 0, blocksInUse: 0, bytesInUse: 0, availBlocks: 0 };
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

  /**
   * The summary, JSON-safe: provenance (the interpreter's address as hex), geometry, size classes, totals and
   * fragmentation; not the per-pool arrays (`heapToJSON` writes the full, versioned document).
   */
  toJSON(): Record<string, unknown> {
    return {
      info: { ...this.info, interp: `0x${this.info.interp.toString(16)}` },
      poolSize: this.poolSize,
      arenaSize: this.arenaSize,
      takenAt: this.takenAt,
      sizeClasses: this.sizeClasses,
      totals: this.totals,
      fragmentation: this.fragmentation,
    };
  }

  /**
   * A compact summary for the Node and Bun REPLs (and console.log), e.g. `HeapSnapshot(CPython 3.11.7 pymalloc: 10
   * arenas (10.0 MiB), 627 pools, 85,363 blocks = 6.4 MiB live, 64% utilized; 3 pinned, 3 reclaimable)`.
   */
  toString(): string {
    const t = this.totals, f = this.fragmentation;
    const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    const int = (n: number) => n.toLocaleString("en-US");
    return `${this.constructor.name}(CPython ${this.info.version} ${this.info.allocator ?? "custom"}: ${
      int(t.arenas)
    } arenas ` +
      `(${mib(t.arenaBytes)}), ${int(t.pools)} pools, ${int(t.blocksInUse)} blocks = ${mib(t.bytesInUse)} live, ` +
      `${Math.round(f.utilization * 100)}% utilized; ${int(f.pinnedArenas)} pinned, ${
        int(f.reclaimableArenas)
      } reclaimable)`;
  }
}
showInRepl(ObmallocSnapshot);
