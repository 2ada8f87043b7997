/**
 * `PoolHeader.blocks()`: every block of one pool with its state and the type of the object in it, classified by
 * the same code as a whole heap (lib/objects/classify.ts), from a fresh fault-safe copy of the pool. The public
 * `PoolHeader` is defined here, over lib/obmalloc's struct reader, because the obmalloc layer knows nothing of objects.
 * @module
 */
import { RemoteMemory } from "../machine/remote.ts";
import { ObmallocPoolHeader } from "../obmalloc/structs.ts";
import type { PythonHandle } from "../obmalloc/host.ts";
import { PymemError } from "../errors.ts";
import type { WalkResult } from "../obmalloc/heap.ts";
import { classifyBlocks, type HeapSource } from "./classify.ts";
import { remoteObjectMemory } from "./memory.ts";
import { type BlockInfo, blockInfo } from "./snapshot.ts";

/** struct pool_header of one pool, read from memory, with the blocks of the pool classified on demand. */
export class PoolHeader extends ObmallocPoolHeader {
  /**
   * The pool holding `address` if it is obmalloc memory of any interpreter (a live arena, a carved pool), else
   * null. The address is checked against the live arenas before any header is read, so any bigint is safe.
   */
  static override of(handle: PythonHandle, address: bigint): PoolHeader | null {
    return super.of(handle, address) as PoolHeader | null;
  }

  /**
   * Every block of the pool (capacity of them): address, state (allocated / free / never used) and the type of
   * the object in it, read now. Only for a header from `PoolHeader.of(py, address)`.
   */
  blocks(): BlockInfo[] {
    return poolBlocks(this);
  }
}

function poolBlocks(pool: PoolHeader): BlockInfo[] {
  const py = pool.host;
  if (!py) throw new PymemError("UNSUPPORTED", "blocks() needs a PoolHeader from PoolHeader.of(py, address)");
  if (pool.blockSize === 0 || pool.ref.count === 0) {
    // An empty pool (on its arena's free list): no size class to lay blocks out by.
    return [];
  }
  const address = Number(pool.address);
  const walk = {
    usedPools: 1,
    poolAddress: Float64Array.of(address),
    poolClass: Uint8Array.of(pool.szidx),
    poolArena: Uint32Array.of(0),
    poolCount: Uint16Array.of(pool.ref.count),
    arenaAddress: Float64Array.of(Number(pool.arena.address)),
  } as unknown as WalkResult;
  const v = py.version;
  const heap: HeapSource = {
    walk,
    poolSize: py.layout.poolSize,
    arenaSize: py.layout.arenaSize,
    info: {
      version: `${v.major}.${v.minor}.${v.micro}`,
      allocator: py.allocatorName(),
      interp: 0n,
      source: "PoolHeader.blocks",
      rawAllocatedBlocks: null,
      counters: {},
    },
  };
  const native = py.native;
  const safe = RemoteMemory.ofSelf(native.backend, native.libc);
  try {
    const mem = remoteObjectMemory(safe, (n) => Number(native.dlsym(n)));
    const c = py.withGIL(() => classifyBlocks(heap, py.layout, mem));
    return Array.from({ length: pool.capacity }, (_, i) => blockInfo(c, address, pool.szidx, i, i));
  } finally {
    safe.close();
  }
}
