/**
 * The layout of the mimalloc inside one CPython, from the minor's generated row (lib/cpython/): the mimalloc release
 * (MI_MALLOC_VERSION) the row was generated from, its geometry and the offsets of `mi_segment_t`, `mi_page_t` and
 * `mi_heap_t`. The row is keyed by CPython's minor while the layout follows mimalloc's release (3.14.10 and 3.15.2
 * carry 2.5.2, 3.13 2.1.2), so the walk (heap.ts) checks the layout against the heap it reads before trusting it.
 * @module
 */
import { cpythonIfKnown } from "../cpython/versions.ts";
import { PymemError } from "../errors.ts";

/** Everything the walk needs of one mimalloc release. */
export interface MimallocLayout {
  /** MI_MALLOC_VERSION as a release name: "2.1.2", "2.5.2". */
  release: string;
  version: number;
  /** The CPython release whose headers the numbers came from. */
  headers: string;
  segmentSize: number;
  sliceSize: number;
  slicesPerSegment: number;
  smallObjMax: number;
  mediumObjMax: number;
  largeObjMax: number;
  page: {
    size: number;
    sliceCount: number;
    sliceOffset: number;
    capacity: number;
    reserved: number;
    free: number;
    localFree: number;
    used: number;
    usedBytes: number;
    blockSize: number;
    blockSizeBytes: number;
    /** 2.5+: the first block's address is stored; 2.1: computed (see pageStart in heap.ts). */
    pageStart: number | null;
    /** 2.1: a block size field at or over this means "the whole span" (huge pages). */
    hugeBlockSize: number | null;
    xthreadFree: number;
    xheap: number;
  };
  segment: {
    headerSize: number;
    segmentSize: number;
    abandoned: number;
    used: number;
    cookie: number;
    segmentSlices: number;
    segmentInfoSlices: number;
    kind: number;
    kindHuge: number;
    sliceEntries: number;
    threadId: number;
  };
  heap: { size: number; tld: number; threadId: number; cookie: number; pageCount: number; tag: number };
}

/** "2.1.2" from 212 (three digits before 2.1.4), "2.5.2" from 20502. */
export function releaseName(version: number): string {
  if (version >= 10000) return `${Math.floor(version / 10000)}.${Math.floor(version / 100) % 100}.${version % 100}`;
  return `${Math.floor(version / 100)}.${Math.floor(version / 10) % 10}.${version % 10}`;
}

/**
 * The mimalloc layout of a CPython minor. Refused (PymemError UNSUPPORTED, naming why) before 3.13, for a build
 * without mimalloc headers on this machine, for a Py_DEBUG build (MI_DEBUG 2: the `keys` words and encoded free
 * lists, no such build here to check) and for the free-threaded layout (docs/mimalloc.md says what a run on one
 * would have to check first).
 */
export function mimallocLayout(
  minor: number,
  opts: { freeThreaded?: boolean; debugBuild?: boolean } = {},
): MimallocLayout {
  const row = cpythonIfKnown(minor)?.layout;
  const m = row?.mimalloc, p = row?.miPage, s = row?.miSegment, h = row?.miHeap;
  if (!row || !m || !p || !s || !h) {
    throw new PymemError(
      "UNSUPPORTED",
      `mimalloc heap map: CPython 3.${minor} has no mimalloc layout pymem has checked (mimalloc is built into 3.13+; ` +
        "a minor's row comes from its headers: `bun tools/cpython-layouts.ts --write`)",
    );
  }
  if (opts.freeThreaded || m.freeThreaded !== 0) {
    throw new PymemError(
      "UNSUPPORTED",
      `mimalloc heap map: CPython 3.${minor} is a free-threaded build; its per-thread tagged heaps, QSBR-delayed ` +
        "page frees and abandoned pools have not been checked on a real build (docs/mimalloc.md)",
    );
  }
  if (opts.debugBuild || m.debug !== 0) {
    throw new PymemError(
      "UNSUPPORTED",
      `mimalloc heap map: a debug build of CPython 3.${minor} runs mimalloc with MI_DEBUG 2 (encoded free lists, ` +
        `mi_page_t keys), a layout no header here has been checked against (the row of ${row.release} is MI_DEBUG ` +
        `${m.debug})`,
    );
  }
  return {
    release: releaseName(m.version),
    version: m.version,
    headers: row.release,
    segmentSize: m.segmentSize,
    sliceSize: m.sliceSize,
    slicesPerSegment: m.slicesPerSegment,
    smallObjMax: m.smallObjMax,
    mediumObjMax: m.mediumObjMax,
    largeObjMax: m.largeObjMax,
    page: {
      size: p.size,
      sliceCount: p.sliceCount,
      sliceOffset: p.sliceOffset,
      capacity: p.capacity,
      reserved: p.reserved,
      free: p.free,
      localFree: p.localFree,
      used: p.used,
      usedBytes: p.usedBytes,
      blockSize: p.blockSize,
      blockSizeBytes: p.blockSizeBytes,
      pageStart: p.pageStart ?? null,
      hugeBlockSize: p.hugeBlockSize ?? null,
      xthreadFree: p.xthreadFree,
      xheap: p.xheap,
    },
    segment: {
      headerSize: s.headerSize,
      segmentSize: s.segmentSize,
      abandoned: s.abandoned,
      used: s.used,
      cookie: s.cookie,
      segmentSlices: s.segmentSlices,
      segmentInfoSlices: s.segmentInfoSlices,
      kind: s.kind,
      kindHuge: s.kindHuge,
      sliceEntries: s.sliceEntries,
      threadId: s.threadId,
    },
    heap: { size: h.size, tld: h.tld, threadId: h.threadId, cookie: h.cookie, pageCount: h.pageCount, tag: h.tag },
  };
}
