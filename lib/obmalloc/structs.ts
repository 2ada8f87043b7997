/**
 * obmalloc's two structs, read from memory: `ObmallocPoolHeader` (struct pool_header, with its `ref` union) and
 * `ArenaObject` (struct arena_object). Both are snapshots of the bytes at the moment of reading.
 *
 * `PoolHeader.of(py, address)` is the safe entry point for an address from anywhere: it checks that the address
 * lies in a live arena of some interpreter's obmalloc state before any header is read.
 * @module
 */
import { ARENA, blockSize, blocksPerPool, type ObmallocLayout, POOL } from "./layout.ts";
import { checkAddress } from "../checks.ts";
import { hostOf, type ObmallocHost, type PythonHandle } from "./host.ts";
import { showInRepl } from "../core/inspect.ts";

const hex = (a: bigint) => "0x" + a.toString(16);
/** struct arena_object (48 bytes). */
export class ArenaObject {
  /** Address of this arena_object in CPython's `arenas` array. */
  readonly self: bigint;
  /** Index in the `arenas` array. */
  readonly index: number;
  /** mmap base of the arena; 0n for an unused slot. */
  readonly address: bigint;
  /** Next pool never carved yet (`pool_address`). */
  readonly poolAddress: bigint;
  readonly nfreepools: number;
  readonly ntotalpools: number;
  /** Head of the singly linked list of empty pools. */
  readonly freepools: bigint;
  readonly nextarena: bigint;
  readonly prevarena: bigint;

  constructor(self: bigint, index: number, bytes: DataView) {
    this.self = self;
    this.index = index;
    this.address = bytes.getBigUint64(ARENA.address, true);
    this.poolAddress = bytes.getBigUint64(ARENA.poolAddress, true);
    this.nfreepools = bytes.getUint32(ARENA.nfreepools, true);
    this.ntotalpools = bytes.getUint32(ARENA.ntotalpools, true);
    this.freepools = bytes.getBigUint64(ARENA.freepools, true);
    this.nextarena = bytes.getBigUint64(ARENA.nextarena, true);
    this.prevarena = bytes.getBigUint64(ARENA.prevarena, true);
  }

  /** The fields, with 64-bit addresses as hex strings (JSON numbers cannot carry every address). */
  toJSON(): Record<string, string | number> {
    return {
      self: hex(this.self),
      index: this.index,
      address: hex(this.address),
      poolAddress: hex(this.poolAddress),
      nfreepools: this.nfreepools,
      ntotalpools: this.ntotalpools,
      freepools: hex(this.freepools),
      nextarena: hex(this.nextarena),
      prevarena: hex(this.prevarena),
    };
  }

  toString(): string {
    return `ArenaObject #${this.index} @${hex(this.address)}: ${
      this.ntotalpools - this.nfreepools
    }/${this.ntotalpools} pools in use`;
  }
}
showInRepl(ArenaObject);

/**
 * struct pool_header (48 bytes), with the derived block size and capacity. The public `PoolHeader`
 * (lib/objects/pool-blocks.ts) extends it with `blocks()`, which classifies objects, which this layer knows nothing of.
 */
export class ObmallocPoolHeader {
  readonly address: bigint;
  /** The `ref` union: `count` (blocks allocated in the pool) and the same 8 bytes as a pointer (`padding`). */
  readonly ref: { readonly count: number; readonly padding: bigint };
  /** Head of the free-block list. */
  readonly freeblock: bigint;
  readonly nextpool: bigint;
  readonly prevpool: bigint;
  readonly arenaindex: number;
  /** Size class (0xffff, DUMMY_SIZE_IDX, for a freshly cached empty pool). */
  readonly szidx: number;
  /** Offset of the first never-used block. */
  readonly nextoffset: number;
  readonly maxnextoffset: number;
  /** Block size of the size class (0 for an empty pool with no class). */
  readonly blockSize: number;
  /** Blocks the pool can hold (NUMBLOCKS). */
  readonly capacity: number;
  /** The arena this pool lives in. */
  readonly arena: ArenaObject;

  constructor(address: bigint, bytes: DataView, arena: ArenaObject, layout: ObmallocLayout) {
    this.address = address;
    this.ref = {
      count: bytes.getUint32(POOL.count, true),
      padding: bytes.getBigUint64(POOL.count, true),
    };
    this.freeblock = bytes.getBigUint64(POOL.freeblock, true);
    this.nextpool = bytes.getBigUint64(POOL.nextpool, true);
    this.prevpool = bytes.getBigUint64(POOL.prevpool, true);
    this.arenaindex = bytes.getUint32(POOL.arenaindex, true);
    this.szidx = bytes.getUint32(POOL.szidx, true);
    this.nextoffset = bytes.getUint32(POOL.nextoffset, true);
    this.maxnextoffset = bytes.getUint32(POOL.maxnextoffset, true);
    const valid = this.szidx < layout.sizeClasses;
    this.blockSize = valid ? blockSize(this.szidx, layout) : 0;
    this.capacity = valid ? blocksPerPool(this.szidx, layout) : 0;
    this.arena = arena;
  }

  /** @internal The Python it was read from (set by `of`): lib/objects classifies its blocks through it. */
  host?: ObmallocHost;

  /** Blocks in use (`ref.count`). */
  get blocksInUse(): number {
    return this.ref.count;
  }

  /**
   * The pool holding `address` if it is obmalloc memory of any interpreter (a live arena, a carved pool), else
   * null. The address is checked against the live arenas before any header is read, so any bigint is safe.
   */
  static of(handle: PythonHandle, address: bigint): ObmallocPoolHeader | null {
    const py = hostOf(handle, "PoolHeader.of");
    checkAddress(address, "address");
    // `this`: a subclass's `of` makes headers of the subclass.
    const make = this as PoolHeaderClass;
    return py.withGIL(() => {
      for (const state of py.obmallocStates()) {
        const pool = findPool(py, state.arenas, state.maxarenas, address, make);
        if (pool) {
          pool.host = py;
          return pool;
        }
      }
      return null;
    });
  }

  /**
   * The struct's fields, with 64-bit values as hex strings (JSON numbers cannot carry every address), and its
   * arena; not the Python it was read from.
   */
  toJSON(): Record<string, unknown> {
    return {
      address: hex(this.address),
      ref: { count: this.ref.count, padding: hex(this.ref.padding) },
      freeblock: hex(this.freeblock),
      nextpool: hex(this.nextpool),
      prevpool: hex(this.prevpool),
      arenaindex: this.arenaindex,
      szidx: this.szidx,
      nextoffset: this.nextoffset,
      maxnextoffset: this.maxnextoffset,
      blockSize: this.blockSize,
      capacity: this.capacity,
      arena: this.arena.toJSON(),
    };
  }

  toString(): string {
    return `PoolHeader @${
      hex(this.address)
    }: class ${this.szidx} (${this.blockSize} B), ${this.ref.count}/${this.capacity} blocks in use, arena #${this.arenaindex}`;
  }
}
showInRepl(ObmallocPoolHeader);

type PoolHeaderClass = new (...args: ConstructorParameters<typeof ObmallocPoolHeader>) => ObmallocPoolHeader;

/**
 * Range-check `address` against the arenas of one state, then read its pool. GIL held. Everything is copied with
 * reads that cannot fault: another interpreter's threads may be changing its arena table under its own GIL.
 */
function findPool(
  py: ObmallocHost,
  arenasVar: bigint,
  maxarenasVar: bigint,
  address: bigint,
  make: PoolHeaderClass,
): ObmallocPoolHeader | null {
  const native = py.native;
  const layout = py.layout;
  const head = native.safeRead(arenasVar, 8);
  const max = native.safeRead(maxarenasVar, 4);
  if (!head || !max) return null;
  const arenas = new DataView(head.buffer).getBigUint64(0, true);
  const maxarenas = new DataView(max.buffer).getUint32(0, true);
  if (arenas === 0n || maxarenas === 0) return null;
  const bytes = native.safeRead(arenas, maxarenas * ARENA.size);
  if (!bytes) return null;
  const table = new DataView(bytes.buffer);
  const arenaSize = BigInt(layout.arenaSize);
  const poolSize = BigInt(layout.poolSize);
  for (let i = 0; i < maxarenas; i++) {
    const base = table.getBigUint64(i * ARENA.size + ARENA.address, true);
    if (base === 0n || address < base || address >= base + arenaSize) continue;
    const pool = address & ~(poolSize - 1n);
    const first = (base + poolSize - 1n) & ~(poolSize - 1n);
    const carvedEnd = table.getBigUint64(i * ARENA.size + ARENA.poolAddress, true);
    // Before the first pool (alignment slack) or in a pool never carved: arena memory, but no pool there.
    if (pool < first || pool >= carvedEnd) return null;
    const hdr = native.safeRead(pool, POOL.size);
    if (!hdr) return null;
    const arena = new ArenaObject(
      arenas + BigInt(i * ARENA.size),
      i,
      new DataView(bytes.buffer, i * ARENA.size, ARENA.size),
    );
    const header = new make(pool, new DataView(hdr.buffer), arena, layout);
    return header.arenaindex === i ? header : null;
  }
  return null;
}
