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
import { type MallocHeap, type MallocProbe, type MallocWalkOptions, walkMallocHeap } from "./heap.ts";

export type {
  ArenaMallinfo,
  ChunkTally,
  FreeChunks,
  InUseChunks,
  Mallinfo2,
  MallocArena,
  MallocHeap,
  MallocProbe,
  MallocWalkOptions,
} from "./heap.ts";
export { type GlibcMallocState, type GlibcTarget, locateGlibcMalloc } from "./locate.ts";
export { walkMallocHeap } from "./heap.ts";

/** The read buffer: one slice of the chunk walk (4 MiB), mapped apart from malloc's heaps. */
const SCRATCH = 4 << 20;
const scratches = new WeakMap<PythonHost, { address: bigint; view: Uint8Array }>();
const PROT_RW = 3, MAP_PRIVATE_ANON = 0x22;

/**
 * Reads of this process's memory that fail instead of faulting: process_vm_readv on our own pid, as
 * `Native.safeRead`, but into one native buffer kept for the handle's life instead of a buffer malloc'ed per read.
 * The heap being read is the one such a buffer would come from, and the runtime's other threads can free (and
 * unmap) a thread heap while the walk runs: a view over it would fault. The buffer is mmapped on the first call (not
 * malloc'ed: it is no chunk of the heap it reads), so later reads change nothing in malloc's state. `view` returns
 * the buffer itself, valid until the next read: the chunk walk reads the heap once, and copies nothing.
 */
export function selfProbe(host: PythonHost): MallocProbe {
  let scratch = scratches.get(host);
  if (!scratch) {
    const libc = host.native.libc;
    const address = libc.mmap(0n, SCRATCH, PROT_RW, MAP_PRIVATE_ANON, -1, 0n) as bigint;
    if (address === 0n || address === 0xffff_ffff_ffff_ffffn) {
      throw new PymemError("ALLOCATION_FAILED", `mallocHeap: cannot map a ${SCRATCH}-byte read buffer`);
    }
    scratch = { address, view: host.native.bytes(address, SCRATCH) };
    scratches.set(host, scratch);
    host.onClose(() => libc.munmap(address, SCRATCH));
  }
  const { address: buf, view } = scratch;
  const pid = process.pid;
  const local = new BigUint64Array(2);
  const remote = new BigUint64Array(2);
  const read = (address: bigint, n: number): boolean => {
    local[0] = buf;
    local[1] = BigInt(n);
    remote[0] = address;
    remote[1] = BigInt(n);
    const got = host.native.libc.process_vm_readv(
      pid,
      new Uint8Array(local.buffer),
      1,
      new Uint8Array(remote.buffer),
      1,
      0,
    );
    return got === n;
  };
  const valid = (address: bigint, length: number) => address > 0n && address + BigInt(length) < 1n << 64n;
  return {
    safeRead(address: bigint, length: number): Uint8Array | null {
      if (length === 0) return new Uint8Array(0);
      if (!valid(address, length)) return null;
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const n = Math.min(SCRATCH, length - done);
        if (!read(address + BigInt(done), n)) return null;
        out.set(view.subarray(0, n), done);
        done += n;
      }
      return out;
    },
    view(address: bigint, length: number): Uint8Array | null {
      if (length > SCRATCH) return this.safeRead(address, length);
      if (length === 0) return new Uint8Array(0);
      return valid(address, length) && read(address, length) ? view.subarray(0, length) : null;
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
  return walkMallocHeap(probe, st, {
    ...options,
    residentPages: (s, l) => residentPages("self", s, l),
    mappings: () => readMaps("self"),
  });
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
