/**
 * The glibc malloc heap as data: every arena (the main arena's sbrk heap, each thread arena's chain of mmapped
 * heaps) with its system bytes, chunks in use, free chunks by where they sit (tcache, fastbins, unsorted, small and
 * large bins), its top chunk and what `malloc_trim(0)` could give back; the mmapped chunks from `mp_`.
 *
 * Read through a `MemoryProbe`, so one walk serves this process and another one (lib/attach/). The figures are
 * computed the way glibc's own `int_mallinfo` computes them (the bins walked as lists, the top chunk, the fastbins),
 * so `mallinfo` in the result is what the process's `mallinfo2()` would return at the same moment; the chunk walk
 * adds what mallinfo2 cannot say (in-use chunk counts, the tcache, the reclaimable pages).
 *
 * The per-thread caches: `tcache` is a TLS variable, and reading another thread's TLS needs its thread pointer (which
 * only ptrace gives). A thread's `tcache_perthread_struct` is itself a malloc chunk (the first a thread allocates
 * in its arena), so it is recognised in the chunk walk instead: an in-use chunk of that struct's size whose every
 * list is a well-formed safe-linked list of chunks of its bin's size with the same `key`, and whose counts agree
 * with the lists. An empty cache is recognised too on 2.43 (all `num_slots` at `mp_.tcache_count`); on 2.36 an empty
 * cache is all zeros, which any zeroed 640-byte buffer also is: it counts nothing either way.
 * @module
 */
import { PymemError } from "../errors.ts";
import { u32le, u64leNumber } from "../machine/bytes.ts";
import { jsonSafe } from "../machine/json.ts";
import type { MemoryProbe } from "../obmalloc/state.ts";
import { binIndex, type GlibcMallocLayout, MINSIZE, NBINS, NSMALLBINS } from "./layout.ts";
import type { GlibcMallocState } from "./locate.ts";
import type { MapEntry } from "../machine/procmaps.ts";

/** A number of chunks and their bytes (chunk sizes: header included). */
export interface ChunkTally {
  chunks: number;
  bytes: number;
}

/** Free chunks by where they sit. */
export interface FreeChunks {
  /** In a thread's tcache: free to the program, but in use to malloc's own accounting (mallinfo2's uordblks). */
  tcache: ChunkTally;
  /** In the fastbins (none on glibc 2.43+, which has no fastbins). */
  fastbins: ChunkTally;
  unsorted: ChunkTally;
  small: ChunkTally;
  large: ChunkTally;
}

/** What one arena's figures would add to `mallinfo2()`, computed as glibc's `int_mallinfo` does. */
export interface ArenaMallinfo {
  /** Free chunks in the bins, plus 1 for the top chunk. */
  ordblks: number;
  /** Fastbin chunks. */
  smblks: number;
  /** Fastbin bytes. */
  fsmblks: number;
  /** system_mem − fordblks. */
  uordblks: number;
  /** Top + fastbins + bins. */
  fordblks: number;
}

/** One arena of the heap. */
export interface MallocArena {
  /** 0 is the main arena, then the thread arenas in the order of the arena ring. */
  index: number;
  address: bigint;
  kind: "main" | "thread";
  /** Bytes obtained from the system for this arena (`system_mem`): the sbrk heap, or the sum of the heaps' sizes. */
  systemBytes: number;
  maxSystemBytes: number;
  /** Threads attached to the arena (0: on the free list, waiting for a new thread). */
  attachedThreads: number;
  /** The memory the arena's chunks live in: the sbrk heap, or each `heap_info` heap (newest first). */
  heaps: { address: bigint; bytes: number }[];
  top: { address: bigint; bytes: number };
  /** Chunks allocated to the program (the chunk walk less the free chunks of every kind; tcache'd ones excluded). */
  inUse: ChunkTally;
  free: FreeChunks;
  /**
   * What `malloc_trim(0)` would give back: the whole pages inside free chunks of the unsorted bin and of the large
   * bins from the page size's bin on (it madvises them), plus, for the main arena only, the top chunk's pages above
   * MINSIZE (it shrinks the sbrk heap). Fastbin chunks are counted as they sit (malloc_trim consolidates them first,
   * which can only add to this). Resident or not: the pages' residency is not read.
   */
  reclaimableBytes: number;
  /**
   * The part of `reclaimableBytes` resident now (/proc/PID/pagemap): what RSS would drop by. Null when the pagemap
   * cannot be read. Pages malloc_trim already gave back stay in their free chunks, not resident.
   */
  reclaimableResidentBytes: number | null;
  mallinfo: ArenaMallinfo;
  /** Per-thread caches recognised in this arena's chunks. */
  tcaches: number;
  /** False when a list stayed torn after the retries, or a chunk could not be read: see `warnings`. */
  complete: boolean;
}

/** `struct mallinfo2` as the process would compute it at the moment of the read. */
export interface Mallinfo2 {
  arena: number;
  ordblks: number;
  smblks: number;
  hblks: number;
  hblkhd: number;
  usmblks: number;
  fsmblks: number;
  uordblks: number;
  fordblks: number;
  keepcost: number;
}

/** The whole glibc malloc heap of one process. */
export interface MallocHeap {
  /** glibc's release ("2.36"). */
  glibc: string;
  /** The libc file read. */
  libc: string;
  /** How main_arena and mp_ were found. */
  how: string;
  arenas: MallocArena[];
  /** Chunks malloc gave their own mapping (over the mmap threshold): count and bytes, from `mp_`. */
  mmapped: ChunkTally;
  /** `mp_`'s thresholds now (glibc moves both up as mmapped chunks are freed, unless set by mallopt). */
  mmapThreshold: number;
  trimThreshold: number;
  /** Sums over the arenas. */
  totals: {
    systemBytes: number;
    inUse: ChunkTally;
    free: FreeChunks;
    /** Bytes of the top chunks. */
    topBytes: number;
    reclaimableBytes: number;
    /** Null when any arena's residency could not be read. */
    reclaimableResidentBytes: number | null;
  };
  mallinfo: Mallinfo2;
  /** What could not be read or stayed inconsistent; empty when the read is whole. */
  warnings: string[];
  /** JSON-safe: the same fields, with every address as a hex string ("0x7f…"). Not enumerable. */
  toJSON(): Record<string, unknown>;
  /**
   * The chunks allocated to the program as the walk found them (the tcache'd ones left out; malloc's own tcache
   * structs included), arena by arena in address order, then the mmapped chunks found (arena MMAPPED_ARENA): chunk
   * addresses (the header; the user data starts 16 bytes on), chunk sizes (header included), and each one's arena
   * index. Not enumerable. The mmapped chunks are looked for only when the reader gives the mappings, and a count
   * that differs from `mmapped.chunks` is in `warnings`.
   */
  inUseChunks(): InUseChunks;
}

/** The chunks of a heap allocated to the program, one entry per chunk. */
export interface InUseChunks {
  address: Float64Array;
  size: Float64Array;
  arena: Uint16Array;
}

/** Options of the walk. */
export interface MallocWalkOptions {
  /** How many times a torn list (a live target changing under the read) is read again (default 3). */
  retries?: number;
}

/**
 * What the reader of a process adds to the walk: which pages of [start, start + length) are resident (one byte per
 * page, 1 = resident), or null when unknown. Asked before the walk reads the heaps: a read of a page the process
 * never touched maps the zero page there, which the pagemap then shows as present.
 */
export interface MallocWalkReader {
  residentPages?(start: number, length: number): Uint8Array | null;
  /** The process's mappings (/proc/PID/maps), to find the mmapped chunks in; without it they are not listed. */
  mappings?(): MapEntry[];
}

/** `arena` of an mmapped chunk in `inUseChunks()`: it belongs to no arena. */
export const MMAPPED_ARENA = 0xffff;

const hex = (n: number) => `0x${n.toString(16)}`;
const PAGE = 4096;
/** A bound on any one list: no arena has more chunks than its bytes / MINSIZE, and no list walk runs past this. */
const MAX_LIST = 1 << 26;

/**
 * What the walk reads through: a `MemoryProbe`, and optionally views that cost no copy (a native buffer the reader
 * owns, valid until its next read). The chunk walk reads every heap from the first chunk to the top once, in slices
 * of SLICE bytes; only the words the lists need are kept.
 */
export interface MallocProbe extends MemoryProbe {
  view?(address: bigint, length: number): Uint8Array | null;
}

/** Bytes read at once by the chunk walk (a big free chunk is skipped: the next slice starts at its end). */
const SLICE = 4 << 20;

/**
 * The chunks of one arena in the order the walk met them (address order within each heap), with the two words after
 * each header that the free lists link through (fd, and bk or a tcache entry's key): the lists are then followed in
 * these arrays instead of by reading the heap again at each link, in an order that jumps all over it.
 */
class ChunkList {
  n = 0;
  addr = new Float64Array(4096);
  size = new Float64Array(4096);
  w16 = new Float64Array(4096);
  w24 = new Float64Array(4096);
  /** The low 3 bits of each chunk's size field: PREV_INUSE says whether the chunk before it is in use. */
  flags = new Uint8Array(4096);
  /** Where each heap's chunks start in the arrays: [start, end, first index, end index]. */
  regions: [number, number, number, number][] = [];
  /** Per chunk once the lists are walked: 0 taken, FREE_BIN, FREE_FAST, FREE_TCACHE. */
  state = new Uint8Array(0);
  push(p: number, size: number, flags: number, w16: number, w24: number): void {
    if (this.n === this.addr.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.addr = grow(this.addr);
      this.size = grow(this.size);
      this.w16 = grow(this.w16);
      this.w24 = grow(this.w24);
      this.flags = grow(this.flags);
    }
    const i = this.n++;
    this.addr[i] = p;
    this.size[i] = size;
    this.flags[i] = flags;
    this.w16[i] = w16;
    this.w24[i] = w24;
  }
  /** The index of the chunk starting at `p`, or -1. */
  find(p: number): number {
    const regions = this.regions;
    for (let r = 0; r < regions.length; r++) {
      const g = regions[r];
      if (p < g[0] || p >= g[1]) continue;
      let lo = g[2], hi = g[3] - 1;
      const a = this.addr;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = a[mid];
        if (v === p) return mid;
        if (v < p) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    }
    return -1;
  }
}
const FREE_BIN = 1, FREE_FAST = 2, FREE_TCACHE = 3;

/** a XOR b for non-negative whole numbers below 2^53. */
function xor(a: number, b: number): number {
  const hi = (Math.floor(a / 0x1_0000_0000) ^ Math.floor(b / 0x1_0000_0000)) >>> 0;
  return hi * 0x1_0000_0000 + (((a >>> 0) ^ (b >>> 0)) >>> 0);
}
/** REVEAL_PTR of `stored`, a safe-linked pointer kept at `pos`: (pos >> 12) ^ stored. */
const reveal = (pos: number, stored: number) => xor(Math.floor(pos / 4096), stored);

const tally = (): ChunkTally => ({ chunks: 0, bytes: 0 });
const freeTally = (): FreeChunks => ({
  tcache: tally(),
  fastbins: tally(),
  unsorted: tally(),
  small: tally(),
  large: tally(),
});
function add(t: ChunkTally, bytes: number, chunks = 1): void {
  t.chunks += chunks;
  t.bytes += bytes;
}

/** A torn list: thrown inside one arena's read, caught by its retry loop. */
class Torn extends Error {}

interface ArenaRead {
  address: number;
  raw: Uint8Array;
  top: number;
  topSize: number;
  system: number;
  /** [chunks start, end) of each heap; the top chunk is in the first. */
  regions: { heap: number; start: number; end: number }[];
}

/** The heaps of a thread arena, newest first, from heap_for_ptr(top) through `prev`. */
function threadHeaps(
  probe: MemoryProbe,
  layout: GlibcMallocLayout,
  arena: number,
  top: number,
): ArenaRead["regions"] {
  const out: ArenaRead["regions"] = [];
  let h = top - (top % layout.heapMaxSize);
  for (let n = 0; h !== 0; n++) {
    if (n > 4096) throw new Torn(`arena ${hex(arena)}: its heap_info chain does not end`);
    const info = probe.safeRead(BigInt(h), layout.heapInfoSize);
    if (!info) throw new Torn(`arena ${hex(arena)}: heap_info at ${hex(h)} is unreadable`);
    const ar = u64leNumber(info, 0), prev = u64leNumber(info, 8), size = u64leNumber(info, 16);
    if (ar !== arena || size > layout.heapMaxSize || size < layout.heapInfoSize) {
      throw new Torn(`arena ${hex(arena)}: heap_info at ${hex(h)} names arena ${hex(ar)}, size ${size}`);
    }
    const first = arena === h + layout.heapInfoSize;
    const start = first ? Math.ceil((arena + layout.arena.size) / 16) * 16 : h + layout.heapInfoSize;
    out.push({ heap: h, start, end: h + size });
    if (first) break;
    h = prev;
  }
  return out;
}

function readArena(
  probe: MemoryProbe,
  st: GlibcMallocState,
  address: number,
  sbrkBase: number,
): ArenaRead {
  const L = st.layout.arena;
  const raw = probe.safeRead(BigInt(address), L.size);
  if (!raw) throw new Torn(`arena ${hex(address)} is unreadable`);
  const top = u64leNumber(raw, L.top);
  const system = u64leNumber(raw, L.systemMem);
  let regions: ArenaRead["regions"];
  if (address === st.mainArena) {
    const start = Math.ceil(sbrkBase / 16) * 16;
    regions = [{ heap: sbrkBase, start, end: sbrkBase + system }];
  } else {
    regions = threadHeaps(probe, st.layout, address, top);
  }
  // 8 bytes only: reading memory faults the target's untouched pages in (as the zero page), and the residency of
  // the heap's pages is taken after this, before the walk reads them.
  const head = probe.safeRead(BigInt(top + 8), 8);
  if (!head) throw new Torn(`arena ${hex(address)}: its top chunk ${hex(top)} is unreadable`);
  const topSize = u64leNumber(head, 0) - (u64leNumber(head, 0) % 8);
  return { address, raw, top, topSize, system, regions };
}

/** Walk the bins and fastbins of one arena: the free chunks glibc's own accounting sees, marked in `list.state`. */
function walkLists(
  list: ChunkList,
  layout: GlibcMallocLayout,
  a: ArenaRead,
  free: FreeChunks,
  ranges: [number, number][],
  lenient?: string[],
): number {
  // Lenient (the last attempt on a live target): a torn list is cut where it tears and reported, not retried.
  const guard = (walk: () => void) => {
    try {
      walk();
    } catch (e) {
      if (!(e instanceof Torn) || !lenient) throw e;
      lenient.push(`${e.message}: the list is counted up to there (read while changing)`);
    }
  };
  const L = layout.arena;
  const psindex = binIndex(PAGE);
  const state = list.state;
  let trimmable = 0;
  let steps = 0;
  for (let i = 1; i < NBINS; i++) {
    const bin = a.address + L.bins + (i - 1) * 16 - 16;
    const where = i === 1 ? free.unsorted : i < NSMALLBINS ? free.small : free.large;
    let p = u64leNumber(a.raw, L.bins + (i - 1) * 16);
    guard(() => {
      while (p !== bin) {
        if (++steps > MAX_LIST) throw new Torn(`arena ${hex(a.address)}: bin ${i} does not end`);
        const k = list.find(p);
        if (k < 0 || list.size[k] < MINSIZE || state[k] !== 0) {
          throw new Torn(`arena ${hex(a.address)}: bin ${i} reaches ${hex(p)}, which is not a free chunk`);
        }
        const size = list.size[k];
        state[k] = FREE_BIN;
        add(where, size);
        if ((i === 1 || i >= psindex) && size > PAGE - 1 + 48) {
          const aligned = Math.ceil((p + 48) / PAGE) * PAGE;
          const rest = size - (aligned - p);
          if (rest > PAGE - 1) {
            trimmable += rest - (rest % PAGE);
            ranges.push([aligned, rest - (rest % PAGE)]);
          }
        }
        p = list.w16[k];
      }
    });
  }
  if (L.fastbins) {
    for (let j = 0; j < L.fastbins.count; j++) {
      let p = u64leNumber(a.raw, L.fastbins.offset + 8 * j);
      const want = (j + 2) * 16;
      guard(() => {
        while (p !== 0) {
          if (++steps > MAX_LIST) throw new Torn(`arena ${hex(a.address)}: fastbin ${j} does not end`);
          const k = list.find(p);
          if (k < 0 || list.size[k] !== want || state[k] !== 0) {
            throw new Torn(
              `arena ${hex(a.address)}: fastbin ${j} reaches ${hex(p)}, which is not a free ${want}-byte chunk`,
            );
          }
          state[k] = FREE_FAST;
          add(free.fastbins, want);
          p = reveal(p + 16, list.w16[k]);
        }
      });
    }
  }
  return trimmable;
}

interface WalkTally {
  /** Chunks not on a bin/fastbin list and not top: allocated to the program, or in a tcache. */
  taken: ChunkTally;
  /** Candidate tcache structs: chunk indexes. */
  tcacheCandidates: number[];
  /** Chunks whose next chunk says they are free (PREV_INUSE clear) but that no list holds. */
  stray: number;
}

/**
 * Walk one arena's chunks, heap by heap, from the first chunk to the top chunk or the heap's end fencepost, reading
 * each heap in slices (through views where the reader has them). Problems are thrown (Torn) or, when `lenient`,
 * added to `problems` with the walk stopping there.
 */
function walkChunks(
  probe: MallocProbe,
  a: ArenaRead,
  lenient: boolean,
  problems: string[],
): ChunkList {
  const list = new ChunkList();
  // A walk that loses its way was read while the heap changed (or the heap is corrupt): the arena is read again,
  // and on the last attempt the walk stops there and says so.
  const lost = (why: string) => {
    if (!lenient) throw new Torn(why);
    problems.push(`${why}: the walk stops there (read while changing, or corrupt)`);
  };
  for (const r of a.regions) {
    const from = list.n;
    let p = r.start;
    // The slice as 32-bit words (chunks are 16-byte aligned, and so is each slice's start): the loop reads three
    // 64-bit words of every chunk, and a DataView per read cost ~140 ms a GiB.
    let words: Uint32Array = new Uint32Array(0), bufStart = 0, bufEnd = 0;
    while (p < r.end) {
      if (p === a.top) break;
      // The header and the two words after it, in the slice or in a new one from here.
      if (p + 32 > bufEnd) {
        const len = Math.min(SLICE, r.end - p);
        if (len < 16) {
          lost(`arena ${hex(a.address)}: the chunk at ${hex(p)} runs past its heap`);
          break;
        }
        let buf = probe.view ? probe.view(BigInt(p), len) : probe.safeRead(BigInt(p), len);
        if (!buf) {
          lost(`arena ${hex(a.address)}: the chunk at ${hex(p)} is unreadable`);
          break;
        }
        if (buf.byteOffset % 4 !== 0) buf = buf.slice();
        words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
        bufStart = p;
        bufEnd = p + len;
      }
      const o = (p - bufStart) >>> 2;
      const head = words[o + 2] + words[o + 3] * 0x1_0000_0000;
      const size = head - (head % 8);
      // The end of an older heap: a 16-byte fencepost, then a header of size 0 (sysmalloc's fenceposts).
      if (size === 0) break;
      if (size < 16 || size % 16 !== 0 || p + size > r.end) {
        lost(`arena ${hex(a.address)}: the chunk at ${hex(p)} has size ${size}, which does not fit its heap`);
        break;
      }
      if (o + 8 <= words.length) {
        list.push(
          p,
          size,
          head % 8,
          words[o + 4] + words[o + 5] * 0x1_0000_0000,
          words[o + 6] + words[o + 7] * 0x1_0000_0000,
        );
      } else list.push(p, size, head % 8, 0, 0);
      p += size;
    }
    list.regions.push([r.start, r.end, from, list.n]);
  }
  list.state = new Uint8Array(list.n);
  return list;
}

/** Tally the chunks no list holds: taken (in use, or in a tcache), and the tcache struct candidates among them. */
function tallyTaken(list: ChunkList, layout: GlibcMallocLayout, a: ArenaRead): WalkTally {
  const t: WalkTally = { taken: tally(), tcacheCandidates: [], stray: 0 };
  const sizes = layout.tcache.chunkSizes;
  for (const [, , from, to] of list.regions) {
    for (let k = from; k < to; k++) {
      if (list.state[k] !== 0) continue;
      const size = list.size[k];
      add(t.taken, size);
      if (sizes.includes(size)) t.tcacheCandidates.push(k);
      // The next chunk's PREV_INUSE clear: free to malloc, yet on no list (the top's own header is not kept).
      if (k + 1 < to && list.addr[k + 1] !== a.top && (list.flags[k + 1] & 1) === 0 && size >= MINSIZE) t.stray++;
    }
  }
  return t;
}

/** The chunks of every arena walked, for lookups across arenas (a tcache holds chunks of any arena). */
type ChunkLists = ChunkList[];
function findAnywhere(lists: ChunkLists, p: number): [number, number] {
  for (let i = 0; i < lists.length; i++) {
    const k = lists[i].find(p);
    if (k >= 0) return [i, k];
  }
  return [-1, -1];
}

/** A recognised per-thread cache: its chunks as [list, index] pairs. */
function readTcache(
  probe: MemoryProbe,
  layout: GlibcMallocLayout,
  lists: ChunkLists,
  chunk: number,
  tcacheCount: number,
  keyRef: { key?: number },
): [number, number][] | undefined {
  const T = layout.tcache;
  const base = chunk + 16;
  const raw = probe.safeRead(BigInt(base), T.entries + 8 * T.bins);
  if (!raw) return undefined;
  const out: [number, number][] = [];
  const seen = new Set<number>();
  let key = keyRef.key;
  for (let i = 0; i < T.bins; i++) {
    let e = u64leNumber(raw, T.entries + 8 * i);
    let n = 0;
    while (e !== 0) {
      if (e % 16 !== 0 || ++n > 65535) return undefined;
      const c = e - 16;
      const [li, k] = findAnywhere(lists, c);
      if (li < 0 || seen.has(c) || lists[li].state[k] !== 0) return undefined;
      const size = lists[li].size[k];
      if (i < T.smallBins ? size !== i * 16 + MINSIZE : size < T.smallBins * 16 + MINSIZE) return undefined;
      const key1 = lists[li].w24[k];
      if (key1 === 0 || (key !== undefined && key1 !== key)) return undefined;
      key = key1;
      seen.add(c);
      out.push([li, k]);
      e = reveal(e, lists[li].w16[k]);
    }
    const count = raw[2 * i] | (raw[2 * i + 1] << 8);
    const ok = T.counts === "count" ? count === n : count + n === tcacheCount;
    if (!ok) return undefined;
  }
  if (key !== undefined) keyRef.key = key;
  return out;
}

/**
 * The smallest chunk taken for an mmapped one: the header pattern alone (a 0 word, then a size with IS_MMAPPED) was
 * met once at the start of a page that was no chunk, with a size of 96. glibc mmaps a chunk this small only when a
 * program lowers M_MMAP_THRESHOLD below it (default 128 KiB; then the threshold, in whole pages, is the smallest
 * taken) or an arena cannot grow: such chunks are missed, and the count's difference is a warning.
 */
const MMAP_MIN = 64 << 10;
/** Bytes of a mapping searched page by page for the next mmapped chunk after something that is not one. */
const MMAP_SCAN_MAX = 64 << 20;

/**
 * The mmapped chunks (over the mmap threshold, each its own mapping): `mp_` counts them but lists them nowhere, so
 * they are found in the anonymous read-write mappings outside the arenas' heaps. One starts on a page with a
 * prev_size of 0 and a size field with exactly IS_MMAPPED set (a whole number of pages on 2.36; 2.43 keeps the
 * chunk's own size, and its mapping ends at the next page), ending inside the mapping. The kernel merges neighbouring mappings, so the next may start where one ends, or after a mapping of
 * something else (a pymalloc arena): past that, the next MMAP_SCAN_MAX bytes are searched page by page. The search
 * ends once `mp_`'s count and bytes are found; a difference is a warning. Returns [address, size] pairs.
 */
function findMmapped(
  probe: MallocProbe,
  paged: boolean,
  maps: MapEntry[],
  lists: ChunkLists,
  count: number,
  bytes: number,
  threshold: number,
  warnings: string[],
): number[] {
  const heaps: [number, number][] = [];
  for (const l of lists) for (const [s, e] of l.regions) heaps.push([s - (s % PAGE), e]);
  const out: number[] = [];
  let sum = 0;
  // The size of the mmapped chunk whose header is at b[o..o+16), or 0.
  const unit = paged ? PAGE : 16;
  // A program that lowered M_MMAP_THRESHOLD (mallopt, MALLOC_MMAP_THRESHOLD_, glibc.malloc.mmap_threshold) has
  // mmapped chunks down to that size: with the threshold at 4 KiB all but 2 of 2,408 were missed (and their objects).
  const min = Math.max(PAGE, Math.min(MMAP_MIN, threshold - (threshold % PAGE)));
  const chunkAt = (b: Uint8Array, o: number, p: number, end: number) => {
    if (u64leNumber(b, o) !== 0) return 0;
    const size = u64leNumber(b, o + 8) - 2;
    return size >= min && size % unit === 0 && p + size <= end ? size : 0;
  };
  const scan = (start: number, end: number) => {
    let scanned = 0;
    for (let p = start; p + 16 <= end && out.length < 2 * (count + 64);) {
      const h = probe.safeRead(BigInt(p), 16);
      const size = h ? chunkAt(h, 0, p, end) : 0;
      if (size) {
        out.push(p, size);
        sum += size;
        p += Math.ceil(size / PAGE) * PAGE; // 2.43 keeps the size asked for, not its mapping's
        continue;
      }
      let next = -1;
      for (let q = p + PAGE; next < 0 && q < end && scanned < MMAP_SCAN_MAX;) {
        const len = Math.min(SLICE, end - q, MMAP_SCAN_MAX - scanned);
        const buf = probe.view ? probe.view(BigInt(q), len) : probe.safeRead(BigInt(q), len);
        if (!buf) break;
        for (let o = 0; o + 16 <= len; o += PAGE) {
          if (chunkAt(buf, o, q + o, end)) {
            next = q + o;
            break;
          }
        }
        scanned += len;
        q += len;
      }
      if (next < 0) break;
      p = next;
    }
  };
  // From the top of the address space down: mmap places new mappings there, and the search ends at mp_'s count.
  for (const m of [...maps].reverse()) {
    if (out.length / 2 >= count) break;
    if (m.perms !== "rw-p" || m.path !== "") continue;
    // The kernel merges a chunk's mapping with a thread heap's read-write part next to it: the heaps are cut out.
    let pieces: [number, number][] = [[Number(m.start), Number(m.end)]];
    for (const [hs, he] of heaps) {
      pieces = pieces.flatMap(([a, b]): [number, number][] =>
        hs >= b || he <= a
          ? [[a, b]]
          : [...(a < hs ? [[a, hs]] as [number, number][] : []), ...(he < b ? [[he, b]] as [number, number][] : [])]
      );
    }
    for (const [start, end] of pieces) scan(start, end);
  }
  // 2.43's mmapped_mem is not the sum of the size fields it keeps (48 bytes more per chunk, measured on sid's
  // glibc; not explained here): the bytes are compared only where sizes are whole mappings (2.36).
  if (out.length / 2 !== count || (paged && sum !== bytes)) {
    warnings.push(
      `${
        out.length / 2
      } mmapped chunks (${sum} bytes) found in the mappings, where malloc counts ${count} (${bytes} bytes): read while changing, or placed where they were not looked for`,
    );
  }
  return out;
}

/**
 * Walk the whole glibc malloc heap of the process whose state `st` located. Throws PymemError("ATTACH") only when
 * `main_arena` itself cannot be read; an arena that stays torn after the retries is reported incomplete, with why.
 */
export function walkMallocHeap(
  probe: MallocProbe,
  st: GlibcMallocState,
  options: MallocWalkOptions & MallocWalkReader = {},
): MallocHeap {
  const retries = options.retries ?? 3;
  const layout = st.layout;
  const warnings: string[] = [];
  const par = probe.safeRead(BigInt(st.mp), layout.par.size);
  const main = probe.safeRead(BigInt(st.mainArena), layout.arena.size);
  if (!par || !main) throw new PymemError("ATTACH", `mp_ or main_arena is unreadable`);
  const P = layout.par;
  const sbrkBase = u64leNumber(par, P.sbrkBase);
  const tcacheCount = u64leNumber(par, P.tcacheCount);
  const thp = u64leNumber(par, P.thpPagesize);

  // The ring of arenas, from main_arena.
  const ring: number[] = [st.mainArena];
  for (let next = u64leNumber(main, layout.arena.next); next !== st.mainArena;) {
    if (next === 0 || ring.length > 4096 || ring.includes(next)) {
      warnings.push(`the arena ring is torn after ${ring.length} arenas (read while changing)`);
      break;
    }
    ring.push(next);
    const b = probe.safeRead(BigInt(next + layout.arena.next), 8);
    if (!b) {
      warnings.push(`arena ${hex(next)} is unreadable (read while changing)`);
      break;
    }
    next = u64leNumber(b, 0);
  }

  // Residency first, for every heap of every arena (arena structs and heap_info only have been read so far).
  const pages: { start: number; end: number; present: Uint8Array | null }[] = [];
  if (options.residentPages) {
    for (const address of ring) {
      try {
        for (const r of readArena(probe, st, address, sbrkBase).regions) {
          const start = r.heap - (r.heap % PAGE), end = Math.ceil(r.end / PAGE) * PAGE;
          pages.push({ start, end, present: options.residentPages(start, end - start) });
        }
      } catch (e) {
        if (!(e instanceof Torn)) throw e; // the walk below retries and reports it
      }
    }
  }
  const residentIn = (ranges: [number, number][]): number | null => {
    if (!options.residentPages) return null;
    let n = 0;
    for (const [start, length] of ranges) {
      for (let p = start; p < start + length; p += PAGE) {
        const r = pages.find((g) => p >= g.start && p < g.end);
        if (!r || !r.present) return null;
        n += r.present[(p - r.start) / PAGE] ? PAGE : 0;
      }
    }
    return n;
  };
  const arenas: MallocArena[] = [];
  const lists: ChunkLists = [];
  const tcacheCandidates: [number, number][] = [];
  for (const [index, address] of ring.entries()) {
    let last = "";
    let done:
      | {
        a: ArenaRead;
        list: ChunkList;
        walk: WalkTally;
        free: FreeChunks;
        trimmable: number;
        ranges: [number, number][];
        problems: string[];
      }
      | undefined;
    for (let attempt = 0; attempt <= retries && !done; attempt++) {
      try {
        const a = readArena(probe, st, address, sbrkBase);
        const free = freeTally();
        const problems: string[] = [];
        const ranges: [number, number][] = [];
        const lenient = attempt === retries;
        const list = walkChunks(probe, a, lenient, problems);
        const trimmable = walkLists(list, layout, a, free, ranges, lenient ? problems : undefined);
        const walk = tallyTaken(list, layout, a);
        done = { a, list, walk, free, trimmable, ranges, problems };
      } catch (e) {
        if (!(e instanceof Torn)) throw e;
        last = e.message;
      }
    }
    if (!done) {
      warnings.push(`${last} (after ${retries} retries): arena ${index} left out (read while changing, or corrupt)`);
      continue;
    }
    const { a, list, walk, free, trimmable, ranges, problems } = done;
    warnings.push(...problems);
    if (walk.stray) {
      warnings.push(`arena ${hex(address)}: ${walk.stray} chunks look free but are on no list (read while changing)`);
    }
    for (const k of walk.tcacheCandidates) tcacheCandidates.push([lists.length, k]);
    lists.push(list);
    const L = layout.arena;
    const bins = free.unsorted.chunks + free.small.chunks + free.large.chunks;
    const binBytes = free.unsorted.bytes + free.small.bytes + free.large.bytes;
    const avail = a.topSize + free.fastbins.bytes + binBytes;
    let reclaim = trimmable;
    if (address === st.mainArena) {
      const topArea = a.topSize - MINSIZE - 1;
      const unit = thp || PAGE;
      if (topArea > 0) {
        const extra = topArea - (topArea % unit);
        reclaim += extra;
        // systrim gives back the end of the sbrk heap.
        if (extra > 0) ranges.push([a.top + a.topSize - extra, extra]);
      }
    }
    const resident = residentIn(ranges);
    // Each arena (and its heaps and top) given to JSON.stringify alone writes its addresses as hex, as the heap does.
    arenas.push(jsonSafe({
      index,
      address: BigInt(address),
      kind: address === st.mainArena ? "main" : "thread",
      systemBytes: a.system,
      maxSystemBytes: u64leNumber(a.raw, L.maxSystemMem),
      attachedThreads: u64leNumber(a.raw, L.attachedThreads),
      heaps: a.regions.map((r) => jsonSafe({ address: BigInt(r.heap), bytes: r.end - r.heap })),
      top: jsonSafe({ address: BigInt(a.top), bytes: a.topSize }),
      inUse: { ...walk.taken },
      free,
      reclaimableBytes: reclaim,
      reclaimableResidentBytes: resident,
      mallinfo: {
        ordblks: 1 + bins,
        smblks: free.fastbins.chunks,
        fsmblks: free.fastbins.bytes,
        uordblks: a.system - avail,
        fordblks: avail,
      },
      tcaches: 0,
      complete: problems.length === 0,
    }));
  }

  // The per-thread caches, found among every arena's chunks; a cached chunk belongs to the arena whose heap holds
  // it (a thread caches what it frees, whichever arena that came from).
  const keyRef: { key?: number } = {};
  for (const [li, k] of tcacheCandidates) {
    const chunks = readTcache(probe, layout, lists, lists[li].addr[k], tcacheCount, keyRef);
    if (!chunks) continue;
    arenas[li].tcaches++;
    for (const [i, c] of chunks) {
      lists[i].state[c] = FREE_TCACHE;
      add(arenas[i].free.tcache, lists[i].size[c]);
      add(arenas[i].inUse, -lists[i].size[c], -1);
    }
  }

  const totals = {
    systemBytes: 0,
    inUse: tally(),
    free: freeTally(),
    topBytes: 0,
    reclaimableBytes: 0,
    reclaimableResidentBytes: 0 as number | null,
  };
  const mi: Mallinfo2 = {
    arena: 0,
    ordblks: 0,
    smblks: 0,
    hblks: 0,
    hblkhd: 0,
    usmblks: 0,
    fsmblks: 0,
    uordblks: 0,
    fordblks: 0,
    keepcost: 0,
  };
  for (const ar of arenas) {
    totals.systemBytes += ar.systemBytes;
    add(totals.inUse, ar.inUse.bytes, ar.inUse.chunks);
    for (const k of Object.keys(ar.free) as (keyof FreeChunks)[]) {
      add(totals.free[k], ar.free[k].bytes, ar.free[k].chunks);
    }
    totals.topBytes += ar.top.bytes;
    totals.reclaimableBytes += ar.reclaimableBytes;
    totals.reclaimableResidentBytes = totals.reclaimableResidentBytes === null || ar.reclaimableResidentBytes === null
      ? null
      : totals.reclaimableResidentBytes + ar.reclaimableResidentBytes;
    mi.arena += ar.systemBytes;
    mi.ordblks += ar.mallinfo.ordblks;
    mi.smblks += ar.mallinfo.smblks;
    mi.fsmblks += ar.mallinfo.fsmblks;
    mi.uordblks += ar.mallinfo.uordblks;
    mi.fordblks += ar.mallinfo.fordblks;
    if (ar.kind === "main") mi.keepcost = ar.top.bytes;
  }
  mi.hblks = u32le(par, P.nMmaps);
  mi.hblkhd = u64leNumber(par, P.mmappedMem);
  const heap = {
    glibc: st.release,
    libc: st.libc,
    how: st.how,
    arenas,
    mmapped: { chunks: mi.hblks, bytes: mi.hblkhd },
    mmapThreshold: u64leNumber(par, P.mmapThreshold),
    trimThreshold: u64leNumber(par, P.trimThreshold),
    totals,
    mallinfo: mi,
    warnings,
  };
  // JSON.stringify throws on a bigint: the addresses are written as hex strings, as a HeapSnapshot's are. Not
  // enumerable, so that a spread or Object.keys of the result sees only the data.
  const hexOf = (a: bigint) => `0x${a.toString(16)}`;
  const toJSON = () => ({
    ...heap,
    arenas: arenas.map((a) => ({
      ...a,
      address: hexOf(a.address),
      heaps: a.heaps.map((h) => ({ ...h, address: hexOf(h.address) })),
      top: { ...a.top, address: hexOf(a.top.address) },
    })),
  });
  Object.defineProperty(heap, "toJSON", { value: toJSON, enumerable: false });
  const mmapped = options.mappings
    ? findMmapped(
      probe,
      layout.mmapSizesPaged,
      options.mappings(),
      lists,
      mi.hblks,
      mi.hblkhd,
      heap.mmapThreshold,
      warnings,
    )
    : [];
  let n = mmapped.length / 2;
  for (const l of lists) for (let k = 0; k < l.n; k++) if (l.state[k] === 0) n++;
  const chunks: InUseChunks = { address: new Float64Array(n), size: new Float64Array(n), arena: new Uint16Array(n) };
  n = 0;
  lists.forEach((l, i) => {
    for (let k = 0; k < l.n; k++) {
      if (l.state[k] !== 0) continue;
      chunks.address[n] = l.addr[k];
      chunks.size[n] = l.size[k];
      chunks.arena[n++] = i;
    }
  });
  for (let j = 0; j < mmapped.length; j += 2) {
    chunks.address[n] = mmapped[j];
    chunks.size[n] = mmapped[j + 1];
    chunks.arena[n++] = MMAPPED_ARENA;
  }
  Object.defineProperty(heap, "inUseChunks", { value: () => chunks, enumerable: false });
  return heap as MallocHeap;
}
