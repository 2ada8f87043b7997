/**
 * glibc malloc's structures as data, per glibc release: `struct malloc_state` (an arena), `struct malloc_par` (`mp_`),
 * `heap_info` and the per-thread cache, on x86-64.
 *
 * A layout is used only for the release it was checked against, never guessed for another:
 * - 2.36 (Debian 12): `ptype /o` in gdb with libc6-dbg's debug file, and the offsets its `mallinfo2`/`malloc_stats`
 *   code uses.
 * - 2.43 (Debian sid): glibc's malloc.c of the 2.43 development line (fastbins removed, `tcache_perthread_struct`
 *   with 76 `num_slots`, `malloc_par` with `thp_mode`), cross-checked against the offsets sid's own `int_mallinfo`
 *   and `malloc_stats` code uses (top at +8, bins at +24, next at +0x818, system_mem at +0x830; `mp_.n_mmaps` at +68,
 *   `max_n_mmaps` +76, `mmapped_mem` +88, `max_mmapped_mem` +96).
 * @module
 */

/** Offsets (bytes) and sizes of one glibc release's malloc structures. */
export interface GlibcMallocLayout {
  /** The release, e.g. "2.36". */
  release: string;
  arena: {
    size: number;
    /** `fastbinsY[]`, or undefined where the release has no fastbins (2.43+). */
    fastbins?: { offset: number; count: number };
    top: number;
    lastRemainder: number;
    /** `bins[NBINS * 2 - 2]`: bin i's (fd, bk) pair is at bins + (i - 1) * 16, and bin_at(i) = that − 16. */
    bins: number;
    next: number;
    attachedThreads: number;
    systemMem: number;
    maxSystemMem: number;
  };
  par: {
    trimThreshold: number;
    topPad: number;
    mmapThreshold: number;
    arenaTest: number;
    arenaMax: number;
    thpPagesize: number;
    hpPagesize: number;
    nMmaps: number;
    nMmapsMax: number;
    maxNMmaps: number;
    mmappedMem: number;
    maxMmappedMem: number;
    sbrkBase: number;
    tcacheCount: number;
    /** Bytes of `malloc_par` read at once. */
    size: number;
  };
  tcache: {
    /** TCACHE_MAX_BINS. */
    bins: number;
    /** The first bins hold one chunk size each (tidx2csize); the rest (2.43's large bins) hold a range. */
    smallBins: number;
    /** Offset of `entries[]` (after the uint16 counts array). */
    entries: number;
    /**
     * 2.36 keeps `counts[i]` = chunks in bin i; 2.43 keeps `num_slots[i]` = room left, counting down from
     * `mp_.tcache_count`.
     */
    counts: "count" | "slots-left";
    /** Chunk sizes the struct occupies (2.43 pads it twice when allocated from an arena). */
    chunkSizes: readonly number[];
  };
  /** sizeof(heap_info): a thread heap's chunks (or its arena, in the first heap) start after it. */
  heapInfoSize: number;
  /** HEAP_MAX_SIZE: thread heaps are aligned to it (with hugepage heaps off). */
  heapMaxSize: number;
  /**
   * Whether an mmapped chunk's size field is its whole mapping (page multiples: 2.36's sysmalloc_mmap), or the chunk
   * size asked for, its mapping ending at the next page (2.43, seen in sid's processes).
   */
  mmapSizesPaged: boolean;
}

const LAYOUTS: Record<string, GlibcMallocLayout> = {
  "2.36": {
    release: "2.36",
    arena: {
      size: 2200,
      fastbins: { offset: 16, count: 10 },
      top: 96,
      lastRemainder: 104,
      bins: 112,
      next: 2160,
      attachedThreads: 2176,
      systemMem: 2184,
      maxSystemMem: 2192,
    },
    par: {
      trimThreshold: 0,
      topPad: 8,
      mmapThreshold: 16,
      arenaTest: 24,
      arenaMax: 32,
      thpPagesize: 40,
      hpPagesize: 48,
      nMmaps: 60,
      nMmapsMax: 64,
      maxNMmaps: 68,
      mmappedMem: 80,
      maxMmappedMem: 88,
      sbrkBase: 96,
      tcacheCount: 120,
      size: 136,
    },
    tcache: { bins: 64, smallBins: 64, entries: 128, counts: "count", chunkSizes: [0x290] },
    heapInfoSize: 48,
    heapMaxSize: 64 << 20,
    mmapSizesPaged: true,
  },
  "2.43": {
    release: "2.43",
    arena: {
      size: 2112,
      top: 8,
      lastRemainder: 16,
      bins: 24,
      next: 2072,
      attachedThreads: 2088,
      systemMem: 2096,
      maxSystemMem: 2104,
    },
    par: {
      trimThreshold: 0,
      topPad: 8,
      mmapThreshold: 16,
      arenaTest: 24,
      arenaMax: 32,
      thpPagesize: 48,
      hpPagesize: 56,
      nMmaps: 68,
      nMmapsMax: 72,
      maxNMmaps: 76,
      mmappedMem: 88,
      maxMmappedMem: 96,
      sbrkBase: 104,
      tcacheCount: 128,
      size: 144,
    },
    tcache: { bins: 76, smallBins: 64, entries: 152, counts: "slots-left", chunkSizes: [0x300, 0x310] },
    heapInfoSize: 48,
    heapMaxSize: 64 << 20,
    mmapSizesPaged: false,
  },
};

/** NBINS: bin 1 is the unsorted bin, 2–63 the small bins, 64–126 the large bins. */
export const NBINS = 128;
/** Bins below this index hold one chunk size each (NSMALLBINS). */
export const NSMALLBINS = 64;
/** MINSIZE on x86-64. */
export const MINSIZE = 32;
/** Chunk header flags. */
export const PREV_INUSE = 1, IS_MMAPPED = 2, NON_MAIN_ARENA = 4;

/** The releases whose layout has been checked, for error messages. */
export const SUPPORTED_RELEASES: readonly string[] = Object.keys(LAYOUTS);

/** The layout of `release` ("2.36"), or undefined when it has not been checked. */
export function glibcLayout(release: string): GlibcMallocLayout | undefined {
  return LAYOUTS[release];
}

/** largebin_index_64 / smallbin_index of malloc.c for a chunk size: the bin a free chunk of that size sorts into. */
export function binIndex(size: number): number {
  if (size < NSMALLBINS * 16) return size >> 4;
  if (size >> 6 <= 48) return 48 + (size >> 6);
  if (size >> 9 <= 20) return 91 + (size >> 9);
  if (size >> 12 <= 10) return 110 + (size >> 12);
  if (size >> 15 <= 4) return 119 + (size >> 15);
  if (size >> 18 <= 2) return 124 + (size >> 18);
  return 126;
}
