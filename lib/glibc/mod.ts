/**
 * The glibc malloc heap of this process (`py.mallocHeap()`), through the same locator and walk as attach's
 * `attached.mallocHeap()`: only the reader differs.
 *
 * In-process the reader copies through process_vm_readv on our own pid (see selfProbe).
 * @module
 */
import process from "node:process";
import { ElfFile } from "../machine/elf.ts";
import { residentPages } from "../machine/pagemap.ts";
import { readMaps } from "../machine/procmaps.ts";
import { residentBytes } from "../machine/proc.ts";
import type { MemoryProbe } from "../obmalloc/state.ts";
import type { PythonHost } from "../core/host.ts";
import { PymemError } from "../errors.ts";
import { checkOptions, integerIn } from "../checks.ts";
import { type GlibcMallocState, locateGlibcMalloc } from "./locate.ts";
import { type MallocHeap, type MallocWalkOptions, walkMallocHeap } from "./heap.ts";

export type {
  ArenaMallinfo,
  ChunkTally,
  FreeChunks,
  Mallinfo2,
  MallocArena,
  MallocHeap,
  MallocWalkOptions,
} from "./heap.ts";
export { type GlibcMallocState, type GlibcTarget, locateGlibcMalloc } from "./locate.ts";
export { walkMallocHeap } from "./heap.ts";

const SCRATCH = 1 << 16;
const scratches = new WeakMap<PythonHost, { address: bigint; view: Uint8Array }>();

/**
 * Reads of this process's memory that fail instead of faulting: process_vm_readv on our own pid, as
 * `Native.safeRead`, but into one native buffer kept for the handle's life instead of a buffer malloc'ed per read.
 * The heap being read is the one such a buffer would come from, and the runtime's other threads can free (and
 * unmap) a thread heap while the walk runs: a view over it would fault. The buffer is allocated on the first call,
 * so later reads change nothing in malloc's state.
 */
export function selfProbe(host: PythonHost): MemoryProbe {
  let scratch = scratches.get(host);
  if (!scratch) {
    const address = host.native.libc.malloc(SCRATCH) as bigint;
    if (address === 0n) {
      throw new PymemError("ALLOCATION_FAILED", `mallocHeap: cannot allocate a ${SCRATCH}-byte read buffer`);
    }
    scratch = { address, view: host.native.bytes(address, SCRATCH) };
    scratches.set(host, scratch);
    host.onClose(() => host.native.libc.free(address));
  }
  const { address: buf, view } = scratch;
  const pid = process.pid;
  const local = new BigUint64Array(2);
  const remote = new BigUint64Array(2);
  return {
    safeRead(address: bigint, length: number): Uint8Array | null {
      if (length === 0) return new Uint8Array(0);
      if (address <= 0n || address + BigInt(length) >= 1n << 64n) return null;
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = Math.min(SCRATCH, length - done);
        local[0] = buf;
        local[1] = BigInt(n);
        remote[0] = address + BigInt(done);
        remote[1] = BigInt(n);
        const got = host.native.libc.process_vm_readv(
          pid,
          new Uint8Array(local.buffer),
          1,
          new Uint8Array(remote.buffer),
          1,
          0,
        );
        if (got !== n) return null;
        out.set(view.subarray(0, n), done);
        done += n;
      }
      return out;
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
  const probe = selfProbe(host);
  const st = locateSelf(host, probe);
  return walkMallocHeap(probe, st, { ...options, residentPages: (s, l) => residentPages("self", s, l) });
}

/**
 * main_arena and mp_ of this process, located once per handle (the libc of a process does not change, and opening
 * its files allocates).
 */
function locateSelf(host: PythonHost, probe: MemoryProbe): GlibcMallocState {
  let st = located.get(host);
  if (!st) {
    const malloc = host.native.libc.dlsym(0n, new TextEncoder().encode("malloc\0")) as bigint;
    st = locateGlibcMalloc({
      pid: process.pid,
      maps: readMaps("self"),
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
  return st;
}

const located = new WeakMap<PythonHost, GlibcMallocState>();

/** What {@link mallocTrim} did. */
export interface MallocTrimResult {
  /** malloc_trim's own answer: whether it gave any memory back. */
  released: boolean;
  /** How much the resident set shrank (VmRSS before − after; other threads of the process move it too). */
  rssDropBytes: number;
  rssBefore: number;
  rssAfter: number;
}

/**
 * Call glibc's `malloc_trim(0)` in this process: every arena's free pages go back to the system (madvise) and the
 * sbrk heap's top is shrunk. Refused with PymemError("UNSUPPORTED") when malloc here is not glibc's (the same check
 * as mallocHeap: a replaced malloc's malloc_trim, if any, is not glibc's).
 */
export function mallocTrim(host: PythonHost): MallocTrimResult {
  host.assertOpen();
  locateSelf(host, selfProbe(host));
  const trim = host.native.libc.malloc_trim;
  if (!trim) throw new PymemError("UNSUPPORTED", "mallocTrim: this C library has no malloc_trim");
  const rssBefore = residentBytes("self");
  const released = trim(0) !== 0;
  const rssAfter = residentBytes("self");
  if (rssBefore === null || rssAfter === null) {
    throw new PymemError("UNSUPPORTED", "mallocTrim: /proc/self/status is unreadable, the drop cannot be measured");
  }
  return { released, rssDropBytes: Math.max(0, rssBefore - rssAfter), rssBefore, rssAfter };
}
