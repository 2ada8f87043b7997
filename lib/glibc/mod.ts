/**
 * The glibc malloc heap of this process (`py.mallocHeap()`), through the same locator and walk as attach's
 * `attached.mallocHeap()`: only the reader differs.
 *
 * In-process the reader is a zero-copy view over memory that /proc/self/maps says is mapped readable. A copying read
 * (process_vm_readv into a malloc'ed buffer) would allocate from the very heap being read, and a large one would even
 * raise glibc's dynamic mmap threshold; a view allocates nothing from malloc.
 * @module
 */
import process from "node:process";
import { ElfFile } from "../machine/elf.ts";
import { type MapEntry, readMaps } from "../machine/procmaps.ts";
import type { MemoryProbe } from "../obmalloc/state.ts";
import type { PythonHost } from "../core/host.ts";
import { MAX_VIEW } from "../core/native.ts";
import { checkOptions, integerIn } from "../checks.ts";
import { type GlibcMallocState, locateGlibcMalloc } from "./locate.ts";
import { type MallocHeap, type MallocWalkOptions, walkMallocHeap } from "./heap.ts";

export type { ArenaMallinfo, ChunkTally, FreeChunks, MallocArena, MallocHeap, MallocWalkOptions, Mallinfo2 } from "./heap.ts";
export { type GlibcMallocState, type GlibcTarget, locateGlibcMalloc } from "./locate.ts";
export { walkMallocHeap } from "./heap.ts";

/**
 * Reads of this process's memory as views, checked against its maps (re-read when a range is not found: a heap that
 * grew since, a few times per walk at most). One view per mapping, made on first use, and subarrays of it after: a
 * runtime may allocate from malloc for every view it makes (V8 keeps a backing-store record per external buffer),
 * and a read that allocated per block would change the heap it reads; a subarray allocates nothing.
 */
function selfProbe(host: PythonHost, maps: MapEntry[]): MemoryProbe {
  let current = maps;
  let refreshes = 0;
  const views = new Map<bigint, Uint8Array>();
  const find = (a: bigint, end: bigint) =>
    current.find((m) => m.perms[0] === "r" && m.start <= a && end <= m.end && m.end - m.start <= BigInt(MAX_VIEW));
  return {
    safeRead(address: bigint, length: number): Uint8Array | null {
      if (length === 0) return new Uint8Array(0);
      if (address <= 0n) return null;
      const end = address + BigInt(length);
      let m = find(address, end);
      if (!m && refreshes < 16) {
        current = readMaps("self");
        refreshes++;
        views.clear();
        m = find(address, end);
      }
      if (!m) return null;
      let v = views.get(m.start);
      if (!v) views.set(m.start, (v = host.native.bytes(m.start, Number(m.end - m.start))));
      const at = Number(address - m.start);
      return v.subarray(at, at + length);
    },
  };
}

/**
 * Walk this process's glibc malloc heap. Throws PymemError("UNSUPPORTED") when malloc here is not glibc's (say, a
 * jemalloc preloaded) or glibc is a release pymem has not checked.
 */
export function mallocHeap(host: PythonHost, options?: MallocWalkOptions): MallocHeap {
  host.assertOpen();
  options = checkOptions<MallocWalkOptions>(options, "mallocHeap", { retries: integerIn(0, 100) });
  const maps = readMaps("self");
  const probe = selfProbe(host, maps);
  // Located once per handle: the libc of a process does not change, and opening its files allocates.
  let st = located.get(host);
  if (!st) {
    const malloc = host.native.libc.dlsym(0n, new TextEncoder().encode("malloc\0")) as bigint;
    st = locateGlibcMalloc({
      pid: process.pid,
      maps,
      probe,
      open: (path) => {
        try {
          const elf = ElfFile.open(path);
          return { elf, release: () => elf.close() };
        } catch {
          return undefined;
        }
      },
      resolvedMalloc: Number(malloc),
      remaps: () => readMaps("self"),
    });
    located.set(host, st);
  }
  return walkMallocHeap(probe, st, options);
}

const located = new WeakMap<PythonHost, GlibcMallocState>();
