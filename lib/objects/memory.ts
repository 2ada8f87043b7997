/**
 * The one memory interface block classification reads through, and its two implementations: this process (pool
 * bytes as zero-copy views, everything else through fault-safe copies) and another process (process_vm_readv
 * copies, lib/remote.ts). The classifier never touches memory any other way, so the same code runs on both.
 * @module
 */
import type { Backend } from "../../ffi/types.ts";
import * as fs from "node:fs";
import type { RemoteMemory } from "../machine/remote.ts";
import { readMaps } from "../machine/procmaps.ts";
import { lastAtOrBelow } from "../machine/sorted.ts";
import type { NativeAccess } from "./classify-pass.ts";

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
  /**
   * Whether [address, address + length) lies in readable mappings (/proc/PID/maps when the classification began).
   * Candidates outside are rejected without a read: a failed read's errno is not reliable under every runtime.
   */
  readable(address: number, length: number): boolean;
  /** True when the memory may change while it is read (another process, or an interpreter under its own GIL). */
  live: boolean;
  /** The mappings `readable` answers from (sorted, merged), for the native pass. */
  mappings?: { starts: number[]; ends: number[] };
  /**
   * Where generated code can run over the pools (lib/objects/classify-pass.ts): this process's adapter and libc.
   * `absolute`: the pools may be read in place at their addresses (this process, under its GIL), so `pools()` is
   * not called on that path.
   */
  native?: NativeAccess & { absolute: boolean };
  /**
   * Remotely, where it can: read the listed pools straight into native memory at `dest` (pool i at dest + i *
   * poolSize), for the native pass; the flags say which were read. Null when this reader cannot.
   */
  poolsInto?(addresses: Float64Array, poolSize: number, dest: bigint): Uint8Array | null;
}

/**
 * This process. `views` says whether pool bytes may be viewed in place (the caller holds the GIL of the heap's
 * only writer, so the arenas cannot go away meanwhile); otherwise pools are copied through `safe` too.
 */
export function localObjectMemory(
  backend: Backend,
  safe: RemoteMemory,
  dlsym: (name: string) => bigint,
  views: boolean,
): ObjectMemory {
  const remote = remoteObjectMemory(safe, (name) => Number(dlsym(name)), !views);
  if (!views) return remote;
  const access = safe.nativeAccess;
  return {
    ...remote,
    native: access && { ...access, absolute: true },
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

/** Readable mappings of a process, merged and sorted, as a predicate over ranges. */
export function readableRanges(pid: number): (address: number, length: number) => boolean {
  return readableMappings(pid).readable;
}

/** Readable mappings of a process, merged and sorted, and the predicate over ranges they answer. */
export function readableMappings(
  pid: number,
): { starts: number[]; ends: number[]; readable: (address: number, length: number) => boolean } {
  const starts: number[] = [], ends: number[] = [];
  for (const m of readMaps(pid)) {
    // [vvar] and friends are readable in maps but not through process_vm_readv.
    if (m.perms[0] !== "r" || /^\[(vvar|vsyscall)/.test(m.path)) continue;
    const a = Number(m.start), b = Number(m.end);
    if (ends.length && ends[ends.length - 1] === a) ends[ends.length - 1] = b;
    else {
      starts.push(a);
      ends.push(b);
    }
  }
  const readable = (address: number, length: number) => {
    const at = lastAtOrBelow(starts, address);
    return at >= 0 && address + length <= ends[at];
  };
  return { starts, ends, readable };
}

/**
 * Another process (or this one, fault-safe): every read is a copy. A live target may unmap an arena while its
 * pools are read: a failed batch is reported unreadable (the classifier then reads its pools one by one, and
 * counts the ones that stay unreadable) unless the process is gone.
 */
export function remoteObjectMemory(mem: RemoteMemory, symbol: (name: string) => number, live = true): ObjectMemory {
  const { readable, starts, ends } = readableMappings(mem.pid);
  const access = mem.nativeAccess;
  // A killed child stays a zombie until its parent reaps it, which a runtime does from its event loop (Deno, Node):
  // never during a synchronous classification. A zombie has no memory left: it is gone.
  const alive = () => {
    try {
      const stat = fs.readFileSync(`/proc/${mem.pid}/stat`, "utf8");
      const state = stat[stat.lastIndexOf(")") + 2];
      return state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  };
  return {
    live,
    readable,
    mappings: { starts, ends },
    native: access && { ...access, absolute: false },
    // 64 pools (one arena, 1 MiB of 16 KiB pools) per call: larger batches measured slower (allocation, caches).
    batch: 64,
    pools(addresses, poolSize) {
      let got: { bytes: Uint8Array; ok: Uint8Array };
      try {
        got = mem.readUniform(addresses, poolSize);
      } catch (e) {
        if (!live || !alive()) throw e;
        got = { bytes: new Uint8Array(addresses.length * poolSize), ok: new Uint8Array(addresses.length) };
      }
      const { bytes, ok } = got;
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const at = new Int32Array(addresses.length);
      for (let i = 0; i < addresses.length; i++) at[i] = ok[i] ? i * (poolSize / 4) : -1;
      return { words, at };
    },
    pool(address, poolSize) {
      let b: Uint8Array | null = null;
      try {
        b = readable(address, poolSize) ? mem.tryRead(address, poolSize) : null;
      } catch (e) {
        if (!live || !alive()) throw e;
      }
      return b ? new Uint32Array(b.buffer, b.byteOffset, poolSize / 4) : null;
    },
    readMany: (ranges) => mem.readMany(ranges),
    poolsInto(addresses, poolSize, dest) {
      try {
        return mem.readUniformInto(addresses, poolSize, dest);
      } catch (e) {
        if (!live || !alive()) throw e;
        return new Uint8Array(addresses.length);
      }
    },
    symbol,
  };
}
