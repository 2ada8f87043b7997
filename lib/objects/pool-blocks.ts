/**
 * `PoolHeader.blocks()`: every block of one pool with its state and the type of the object in it, classified by
 * the same code as a whole heap (lib/objects/classify.ts), from a fresh fault-safe copy of the pool. Added to
 * PoolHeader here, because the obmalloc layer knows nothing of objects.
 * @module
 */
import { RemoteMemory } from "../machine/remote.ts";
import { PoolHeader } from "../obmalloc/structs.ts";
import { PymemError } from "../errors.ts";
import type { WalkResult } from "../obmalloc/heap.ts";
import { classifyBlocks, type HeapSource } from "./classify.ts";
import { remoteObjectMemory } from "./memory.ts";
import { type BlockInfo, blockInfo } from "./snapshot.ts";

declare module "../obmalloc/structs.ts" {
  interface PoolHeader {
    /**
     * Every block of the pool (capacity of them): address, state (allocated / free / never used) and the type of
     * the object in it, read now. Only for a header from `PoolHeader.of(py, address)`.
     */
    blocks(): BlockInfo[];
  }
}

PoolHeader.prototype.blocks = function (this: PoolHeader): BlockInfo[] {
  const py = this.host;
  if (!py) throw new PymemError("UNSUPPORTED", "blocks() needs a PoolHeader from PoolHeader.of(py, address)");
  if (this.blockSize === 0 || this.ref.count === 0) {
    // An empty pool (on its arena's free list): no size class to lay blocks out by.
    return [];
  }
  const address = Number(this.address);
  const walk = {
    usedPools: 1,
    poolAddress: Float64Array.of(address),
    poolClass: Uint8Array.of(this.szidx),
    poolArena: Uint32Array.of(0),
    poolCount: Uint16Array.of(this.ref.count),
    arenaAddress: Float64Array.of(Number(this.arena.address)),
  } as unknown as WalkResult;
  const v = py.version;
  const heap: HeapSource = {
    walk,
    poolSize: py.layout.poolSize,
    arenaSize: py.layout.arenaSize,
    info: { version: `${v.major}.${v.minor}.${v.micro}`, allocator: py.allocatorName(), interp: 0n, source: "PoolHeader.blocks", rawAllocatedBlocks: null, counters: {} },
  };
  const native = py.native;
  const safe = RemoteMemory.ofSelf(native.backend, native.libc as unknown as Parameters<typeof RemoteMemory.ofSelf>[1]);
  try {
    const mem = remoteObjectMemory(safe, (n) => Number(native.dlsym(n)));
    const c = py.withGIL(() => classifyBlocks(heap, py.layout, mem));
    return Array.from({ length: this.capacity }, (_, i) => blockInfo(c, address, this.szidx, i, i));
  } finally {
    safe.close();
  }
};
