/**
 * The one memory interface block classification reads through, and its two implementations: this process (pool
 * bytes as zero-copy views, everything else through fault-safe copies) and another process (process_vm_readv
 * copies, lib/remote.ts). The classifier never touches memory any other way, so the same code runs on both.
 * @module
 */
import type { Backend } from "../../ffi/types.ts";
import type { RemoteMemory } from "../machine/remote.ts";

/** A range to read. */
export interface Range {
  address: number;
  length: number;
}

/** What the classifier reads. Addresses are numbers (user-space addresses fit in 47 bits). */
export interface ObjectMemory {
  /**
   * The bytes of the listed used pools (ascending addresses): `words` holds them and `at[i]` is the u32 index where
   * pool i starts, or -1 when it was unreadable. In-process the list is one arena's pools and this is one view over
   * them; remotely a copy of just those pools, up to `batch` of them at once (several arenas per call).
   */
  pools(addresses: Float64Array, poolSize: number): { words: Uint32Array; at: Int32Array };
  /** Pools per `pools()` call: 0 = one arena at a time (views must not span the gaps between arenas). */
  batch: number;
  /** One pool again (a live target changed it while it was read): its words, or null when unreadable. */
  pool(address: number, poolSize: number): Uint32Array | null;
  /** Small ranges anywhere (type objects, names, pointers not yet trusted): reads that fail instead of faulting. */
  readMany(ranges: Range[]): { bytes: Uint8Array; offsets: number[]; ok: Uint8Array };
  /** Address of an exported data symbol in the target (`PyType_Type`, …), 0 when absent. */
  symbol(name: string): number;
  /** True when the memory may change while it is read (another process, or an interpreter under its own GIL). */
  live: boolean;
}

/**
 * This process. `views` says whether pool bytes may be viewed in place (the caller holds the GIL of the heap's
 * only writer, so the arenas cannot go away meanwhile); otherwise pools are copied through `safe` too.
 */
export function localObjectMemory(backend: Backend, safe: RemoteMemory, dlsym: (name: string) => bigint, views: boolean): ObjectMemory {
  const remote = remoteObjectMemory(safe, (name) => Number(dlsym(name)), !views);
  if (!views) return remote;
  return {
    ...remote,
    batch: 0,
    pools(addresses, poolSize) {
      const first = addresses[0] ?? 0;
      const span = addresses.length ? addresses[addresses.length - 1] - first + poolSize : 0;
      const words = new Uint32Array(span ? backend.view(BigInt(first), span) : new ArrayBuffer(0));
      const at = new Int32Array(addresses.length);
      for (let i = 0; i < addresses.length; i++) at[i] = (addresses[i] - first) / 4;
      return { words, at };
    },
    pool(address, poolSize) {
      return new Uint32Array(backend.view(BigInt(address), poolSize));
    },
  };
}

/** Another process (or this one, fault-safe): every read is a copy. */
export function remoteObjectMemory(mem: RemoteMemory, symbol: (name: string) => number, live = true): ObjectMemory {
  return {
    live,
    // 64 pools (one arena, 1 MiB of 16 KiB pools) per call: larger batches measured slower (allocation, caches).
    batch: 64,
    pools(addresses, poolSize) {
      const { bytes, ok } = mem.readUniform(addresses, poolSize);
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const at = new Int32Array(addresses.length);
      for (let i = 0; i < addresses.length; i++) at[i] = ok[i] ? i * (poolSize / 4) : -1;
      return { words, at };
    },
    pool(address, poolSize) {
      const b = mem.tryRead(address, poolSize);
      return b ? new Uint32Array(b.buffer, b.byteOffset, poolSize / 4) : null;
    },
    readMany: (ranges) => mem.readMany(ranges),
    symbol,
  };
}
