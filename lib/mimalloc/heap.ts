/**
 * CPython's mimalloc (PYTHONMALLOC=mimalloc, 3.13+) as data: every segment, its pages and their blocks, grouped by
 * the thread heap that owns each page and by block size, read through a `MemoryProbe` so that the same walk serves
 * this process (mod.ts) and another one (lib/attach/).
 *
 * Where the segments are: mimalloc places every segment at a MI_SEGMENT_SIZE (32 MiB) boundary and stamps its header
 * with `cookie = address ^ _mi_heap_main.cookie` (`_mi_ptr_cookie`). The walk reads the header at each such boundary
 * inside the process's anonymous mappings, keeps the ones whose fields are plausible and whose cookies agree on one
 * key, and then confirms the key from mimalloc's own state: the main thread's heap, `_mi_heap_main`, a static inside
 * the libpython image that the pages of the main thread point at (`mi_page_t.xheap`), must carry that key as its
 * `cookie`. Nothing needs a symbol, so stripped builds work the same; a layout that does not match what is read
 * (another mimalloc release) finds no segment or no confirmation and is refused.
 * @module
 */
import type { MapEntry } from "../machine/procmaps.ts";
import type { MemoryProbe } from "../obmalloc/state.ts";
import { PymemError } from "../errors.ts";
import type { MimallocLayout } from "./layout.ts";

/** The size classes mimalloc serves from pages: small (one 64 KiB slice), medium (8 slices), large, huge. */
export type MimallocPageKind = "small" | "medium" | "large" | "huge";

/** One page (a run of slices holding blocks of one size). */
export interface MimallocPage {
  /** The page's first slice (its blocks start at `blocksStart`). */
  address: bigint;
  segment: bigint;
  kind: MimallocPageKind;
  /** Bytes of its slices. */
  bytes: number;
  blockSize: number;
  /** Blocks carved so far (committed), and the most the page can hold. */
  capacity: number;
  reserved: number;
  /** mimalloc's `used`: live blocks, counting those other threads freed and the owner has not yet collected. */
  used: number;
  blocksStart: bigint;
  /** The owning heap (`xheap`), 0n for a page of an abandoned segment. */
  heap: bigint;
  /** Other threads freed blocks of this page that the owner has not collected yet (still counted in `used`). */
  pendingRemoteFrees: boolean;
  /** Heads of the page's free lists (0n when empty): `free`, `local_free`, and the blocks other threads freed. */
  freeList: bigint;
  localFreeList: bigint;
  threadFreeList: bigint;
}

/** One segment. */
export interface MimallocSegment {
  address: bigint;
  /** Bytes of the segment (32 MiB, more for a huge one). */
  bytes: number;
  kind: "normal" | "huge";
  /** The owning thread (pthread_self, as `threading.get_ident()` gives it); 0 once abandoned. */
  threadId: number;
  /** Its owner exited: its pages wait for another thread to reclaim them. */
  abandoned: boolean;
  /** Pages holding blocks (the segment's `used`) and how many of them are abandoned. */
  usedPages: number;
  abandonedPages: number;
  /** Slices of the segment's own header, and slices in free spans. */
  infoSlices: number;
  freeSlices: number;
  blocksInUse: number;
  bytesInUse: number;
  /** bytesInUse / bytes. */
  fill: number;
}

/** One heap (a thread's default heap in the normal build; `main` for `_mi_heap_main`). */
export interface MimallocThreadHeap {
  address: bigint;
  threadId: number;
  /** `_mi_heap_main`, the heap of the thread that started mimalloc. */
  main: boolean;
  tag: number;
  /** Pages pointing at this heap, and mimalloc's own count of the pages in its queues. */
  pages: number;
  pageCount: number;
  blocksInUse: number;
  bytesInUse: number;
  /** Free bytes inside its pages. */
  bytesAvailable: number;
  /** Bytes of its pages' blocks: reserved (the most the pages can hold) and committed (carved so far). */
  bytesReserved: number;
  bytesCommitted: number;
}

/** One block size's row: the shape of obmalloc's SizeClassRow, with pages for pools. */
export interface MimallocSizeClass {
  /** Position in the table (ascending block size). */
  index: number;
  size: number;
  kind: MimallocPageKind;
  /** Pages of this size with at least one block in use. */
  pages: number;
  blocksInUse: number;
  /** Free blocks inside those pages (up to `reserved`). */
  availBlocks: number;
}

/** The whole map. */
export interface MimallocHeap {
  /** mimalloc's release inside this CPython ("2.1.2", "2.5.2"), and the CPython headers its layout came from. */
  mimalloc: string;
  headers: string;
  /** How the segments were found and the layout confirmed. */
  how: string;
  /** MI_SEGMENT_SIZE (a normal segment's bytes and alignment) and MI_SEGMENT_SLICE_SIZE (the unit of pages). */
  geometry: { segmentSize: number; sliceSize: number };
  segments: MimallocSegment[];
  heaps: MimallocThreadHeap[];
  pages: MimallocPage[];
  sizeClasses: MimallocSizeClass[];
  /** What exited threads left: segments with no owner, and their pages and blocks. */
  abandoned: { segments: number; pages: number; blocksInUse: number; bytesInUse: number };
  totals: {
    segments: number;
    segmentBytes: number;
    /** Pages with at least one block in use, and pages kept with none (retired, waiting to be freed). */
    pages: number;
    emptyPages: number;
    blocksInUse: number;
    bytesInUse: number;
    /** Free bytes inside pages holding live blocks. */
    bytesAvailable: number;
  };
  fragmentation: {
    freeBytesInUsedPages: number;
    /** Bytes of free spans and empty pages inside segments (reusable by any size). */
    freeBytesInFreeSlices: number;
    /** Normal segments kept by fewer than `pinnedThreshold` pages with live blocks, and their bytes. */
    pinnedSegments: number;
    pinnedThreshold: number;
    pinnedBytes: number;
    /** Normal segments the live blocks would need packed densely, and what the rest would give back. */
    segmentsIfPacked: number;
    reclaimableSegments: number;
    utilization: number;
  };
  /** Pages or slice spans read while the process changed them (counted as read; also in `warnings`). */
  inconsistentPages: number;
  /** What could not be read or was inconsistent (a live process changing under the read); empty when whole. */
  warnings: string[];
  /** JSON-safe: the same fields, addresses as hex strings. Not enumerable. */
  toJSON(): Record<string, unknown>;
}

/** What the walk needs of a process besides its memory. */
export interface MimallocTarget {
  maps: MapEntry[];
  probe: MemoryProbe;
  /**
   * CPython names mimalloc as its allocator: then no segment at all means the layout matches none of them (another
   * mimalloc release), not that mimalloc is unused.
   */
  mimallocNamed?: boolean;
}

const PINNED_THRESHOLD = 4;

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
interface Header {
  address: bigint;
  key: bigint;
  kindHuge: boolean;
  segmentSlices: number;
  infoSlices: number;
  sliceEntries: number;
  used: number;
  abandoned: number;
  threadId: bigint;
}

/** A segment header read at `address`, or null when its fields are not those of a live segment. */
function readHeader(probe: MemoryProbe, address: bigint, L: MimallocLayout): Header | null {
  const s = L.segment;
  const b = probe.safeRead(address, s.headerSize);
  if (!b) return null;
  const v = dv(b);
  const u64 = (o: number) => v.getBigUint64(o, true);
  const kind = v.getUint32(s.kind, true);
  const segmentSlices = Number(u64(s.segmentSlices));
  const infoSlices = Number(u64(s.segmentInfoSlices));
  const sliceEntries = Number(u64(s.sliceEntries));
  const used = Number(u64(s.used));
  const abandoned = Number(u64(s.abandoned));
  const cookie = u64(s.cookie);
  if (kind !== 0 && kind !== s.kindHuge) return null;
  if (kind === 0 && segmentSlices !== L.slicesPerSegment) return null;
  if (segmentSlices < 1 || segmentSlices > 1 << 30) return null;
  if (sliceEntries < 1 || sliceEntries > L.slicesPerSegment + 1) return null;
  if (infoSlices < 1 || infoSlices >= sliceEntries || used > sliceEntries || abandoned > used) return null;
  // mimalloc frees a segment as soon as its last page goes (an abandoned one still has pages in use): a header with
  // none is a freed segment whose memory the arena has not purged yet, stale, not part of the heap.
  if (used === 0) return null;
  if (cookie === 0n) return null;
  return {
    address,
    key: cookie ^ address,
    kindHuge: kind === s.kindHuge,
    segmentSlices,
    infoSlices,
    sliceEntries,
    used,
    abandoned,
    threadId: u64(s.threadId),
  };
}

/** Every plausible segment header at a segment boundary inside the anonymous readable mappings. */
function findSegments(target: MimallocTarget, L: MimallocLayout): Header[] {
  const size = BigInt(L.segmentSize);
  const out: Header[] = [];
  const seen = new Set<bigint>();
  for (const m of target.maps) {
    if (m.perms[0] !== "r" || !(m.path === "" || m.path.startsWith("[anon:"))) continue;
    for (let a = (m.start + size - 1n) / size * size; a < m.end; a += size) {
      if (seen.has(a)) continue;
      seen.add(a);
      const h = readHeader(target.probe, a, L);
      if (h) out.push(h);
    }
  }
  return out;
}

/**
 * mimalloc 2.1 does not store where a page's blocks start: segment.c's _mi_segment_page_start_from_slice skips three
 * blocks for blocks of 8–64 bytes and one for 65–512 bytes, so that pages do not all start on the same cache set.
 */
function startOffset(blockSize: number): number {
  return blockSize >= 8 && blockSize <= 64 ? 3 * blockSize : blockSize > 64 && blockSize <= 512 ? blockSize : 0;
}

/**
 * Map the mimalloc heap of a process. Throws PymemError("UNSUPPORTED") when segments are found but mimalloc's own
 * state does not confirm the layout (a mimalloc release pymem has not checked), PymemError("INVALID_STATE") when no
 * segment is found at all (mimalloc is not the allocator).
 */
export function walkMimalloc(target: MimallocTarget, L: MimallocLayout): MimallocHeap {
  const warnings: string[] = [];
  const found = findSegments(target, L);
  if (found.length === 0 && target.mimallocNamed) {
    throw new PymemError(
      "UNSUPPORTED",
      `mimalloc heap map: CPython allocates with mimalloc, but no segment in its memory has the layout of mimalloc ` +
        `${L.release} (CPython ${L.headers}'s headers): this CPython's mimalloc release is not one pymem has checked`,
    );
  }
  if (found.length === 0) {
    throw new PymemError(
      "INVALID_STATE",
      `mimalloc heap map: no mimalloc ${L.release} segment in the process's memory (is PYTHONMALLOC=mimalloc?)`,
    );
  }
  // The key most headers agree on; a stray match elsewhere in memory is dropped.
  const votes = new Map<bigint, number>();
  for (const h of found) votes.set(h.key, (votes.get(h.key) ?? 0) + 1);
  const key = [...votes.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const headers = found.filter((h) => h.key === key).sort((a, b) => (a.address < b.address ? -1 : 1));
  if (headers.length < found.length) {
    warnings.push(`${found.length - headers.length} segment-like headers with another cookie key were ignored`);
  }

  const P = L.page;
  const KINDS: MimallocPageKind[] = ["small", "medium", "large", "huge"];
  const wide = P.blockSizeBytes === 8, usedWide = P.usedBytes === 4;

  /** One page's fields, decoded from a segment header's 16- and 32-bit views (`pages` decodes them again, lazily). */
  interface Slices {
    segment: number;
    base: number;
    huge: boolean;
    entries: number;
    u32: Uint32Array;
    u16: Uint16Array;
  }
  /** Walks the spans of one segment header: slices[0] spans the header itself; each span starts where the previous
   * one's slice_count ends. Calls `page` for each page and returns the free slices, or -1 - free on a torn span. */
  const spans = (
    x: Slices,
    page: (i: number, off: number, count: number, rawSize: number, blockSize: number) => void,
  ): number => {
    const { u32, entries } = x;
    let free = 0;
    let i = u32[(L.segment.headerSize + P.sliceCount) >> 2];
    while (i < entries) {
      const off = L.segment.headerSize + i * P.size;
      const count = u32[(off + P.sliceCount) >> 2];
      if (count === 0 || u32[(off + P.sliceOffset) >> 2] !== 0) return -1 - free;
      const bs = (off + P.blockSize) >> 2;
      const rawSize = wide ? u32[bs] + u32[bs + 1] * 2 ** 32 : u32[bs];
      if (rawSize === 0) free += Math.min(count, entries - i);
      else {
        const span = count * L.sliceSize;
        page(i, off, count, rawSize, P.hugeBlockSize !== null && rawSize >= P.hugeBlockSize ? span : rawSize);
      }
      i += count;
    }
    return free;
  };
  const kindOf = (huge: boolean, size: number) => huge ? 3 : size <= L.smallObjMax ? 0 : size <= L.mediumObjMax ? 1 : 2;

  // Per owning heap, summed while the pages are read; and the pages each heap has in segments of each thread.
  interface Acc {
    pages: number;
    blocks: number;
    bytes: number;
    avail: number;
    reserved: number;
    committed: number;
    bySegmentThread: Map<number, number>;
  }
  const accOf = new Map<number, Acc>();
  const bySize = new Map<number, MimallocSizeClass>();
  const shape = new Map<number, { reserved: number; slices: number }>();
  const kept: Slices[] = [];
  const segments: MimallocSegment[] = [];
  const livePagesOf: number[] = [];
  let inconsistent = 0, n = 0, live = 0, blocksInUse = 0, bytesInUse = 0, bytesAvailable = 0, emptyBytes = 0;
  let abandonedPages = 0, abandonedBlocks = 0, abandonedBytes = 0;
  for (const h of headers) {
    const bytes = L.segment.headerSize + h.sliceEntries * P.size;
    const buf = target.probe.safeRead(h.address, bytes);
    if (!buf) {
      warnings.push(`segment 0x${h.address.toString(16)}: its ${bytes}-byte header became unreadable`);
      continue;
    }
    // Every offset the layout names is aligned to its field's width: read through 16- and 32-bit views.
    const b = buf.byteOffset % 8 ? buf.slice() : buf;
    const x: Slices = {
      segment: segments.length,
      base: Number(h.address),
      huge: h.kindHuge,
      entries: h.sliceEntries,
      u32: new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2),
      u16: new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1),
    };
    const { u32, u16 } = x;
    const seg: MimallocSegment = {
      address: h.address,
      bytes: h.segmentSlices * L.sliceSize,
      kind: h.kindHuge ? "huge" : "normal",
      threadId: Number(h.threadId),
      abandoned: h.threadId === 0n,
      usedPages: h.used,
      abandonedPages: h.abandoned,
      infoSlices: h.infoSlices,
      freeSlices: 0,
      blocksInUse: 0,
      bytesInUse: 0,
      fill: 0,
    };
    let livePages = 0, lastHeap = -1, acc: Acc | undefined, lastSize = -1, row: MimallocSizeClass | undefined;
    const free = spans(x, (_i, off, count, _raw, size) => {
      const used = usedWide ? u32[(off + P.used) >> 2] : u16[(off + P.used) >> 1];
      const cap = u16[(off + P.capacity) >> 1];
      const res = u16[(off + P.reserved) >> 1];
      if (used > res || cap > res) inconsistent++;
      const xh = (off + P.xheap) >> 2;
      const heapAt = u32[xh] + u32[xh + 1] * 2 ** 32;
      n++;
      seg.blocksInUse += used;
      seg.bytesInUse += used * size;
      if (heapAt !== 0) {
        if (heapAt !== lastHeap) {
          lastHeap = heapAt;
          acc = accOf.get(heapAt);
          if (!acc) {
            acc = { pages: 0, blocks: 0, bytes: 0, avail: 0, reserved: 0, committed: 0, bySegmentThread: new Map() };
            accOf.set(heapAt, acc);
          }
          acc.bySegmentThread.set(seg.threadId, (acc.bySegmentThread.get(seg.threadId) ?? 0) + 1);
        } else acc!.bySegmentThread.set(seg.threadId, acc!.bySegmentThread.get(seg.threadId)! + 1);
        acc!.pages++;
        acc!.blocks += used;
        acc!.bytes += used * size;
        acc!.avail += (res - used) * size;
        acc!.reserved += res * size;
        acc!.committed += cap * size;
      }
      if (used === 0) {
        emptyBytes += count * L.sliceSize;
        return;
      }
      live++;
      livePages++;
      blocksInUse += used;
      bytesInUse += used * size;
      bytesAvailable += (res - used) * size;
      if (heapAt === 0) {
        abandonedPages++;
        abandonedBlocks += used;
        abandonedBytes += used * size;
      }
      if (size !== lastSize) {
        lastSize = size;
        row = bySize.get(size);
        if (!row) {
          row = { index: 0, size, kind: KINDS[kindOf(x.huge, size)], pages: 0, blocksInUse: 0, availBlocks: 0 };
          bySize.set(size, row);
        }
      }
      row!.pages++;
      row!.blocksInUse += used;
      row!.availBlocks += Math.max(0, res - used);
      if (!x.huge) {
        const sh = shape.get(size);
        if (!sh) shape.set(size, { reserved: res, slices: count });
        else if (res > sh.reserved) (sh.reserved = res, sh.slices = count);
      }
    });
    if (free < 0) inconsistent++;
    seg.freeSlices = free < 0 ? -1 - free : free;
    seg.fill = seg.bytesInUse / seg.bytes;
    segments.push(seg);
    livePagesOf.push(livePages);
    kept.push(x);
  }
  if (inconsistent) warnings.push(`${inconsistent} pages or slice spans read while changing (live process)`);

  // The heaps the pages point at; the one in the library's image whose cookie is the key is _mi_heap_main.
  const heaps: MimallocThreadHeap[] = [];
  let mainFound = "", owned = 0, agree = 0;
  for (const [at, acc] of accOf) {
    const address = BigInt(at);
    const b = target.probe.safeRead(address, L.heap.size);
    if (!b) {
      warnings.push(`heap 0x${at.toString(16)}: unreadable (its thread exited during the read?)`);
      continue;
    }
    const v = dv(b);
    const cookie = v.getBigUint64(L.heap.cookie, true);
    const image = target.maps.find((m) =>
      address >= m.start && address < m.end && m.path !== "" && !m.path.startsWith("[")
    );
    const main = cookie === key && image !== undefined;
    if (main) mainFound = image!.path;
    const threadId = Number(v.getBigUint64(L.heap.threadId, true));
    // Without _mi_heap_main among the owners (its thread has no page now), the layout is still confirmed when the
    // owned pages' heaps name the thread their segments name: two independent fields at the layout's offsets.
    owned += acc.pages;
    agree += acc.bySegmentThread.get(threadId) ?? 0;
    heaps.push({
      address,
      threadId,
      main,
      tag: v.getUint8(L.heap.tag),
      pages: acc.pages,
      pageCount: Number(v.getBigUint64(L.heap.pageCount, true)),
      blocksInUse: acc.blocks,
      bytesInUse: acc.bytes,
      bytesAvailable: acc.avail,
      bytesReserved: acc.reserved,
      bytesCommitted: acc.committed,
    });
  }
  let how: string;
  if (mainFound) {
    how = `segments found at ${L.segmentSize >> 20} MiB boundaries by their cookies; key confirmed by _mi_heap_main ` +
      `in ${mainFound}`;
  } else if (owned > 0 && agree >= owned * 0.9 && headers.length >= 2) {
    how = `segments found at ${L.segmentSize >> 20} MiB boundaries by their cookies (${headers.length} agree); ` +
      "_mi_heap_main owns no page: confirmed by the heaps' and segments' thread ids";
  } else {
    throw new PymemError(
      "UNSUPPORTED",
      `mimalloc heap map: ${headers.length} segment-like headers were read with the layout of mimalloc ${L.release} ` +
        `(CPython ${L.headers}'s headers), but mimalloc's own state does not confirm it: this CPython's mimalloc ` +
        "release is not one pymem has checked",
    );
  }

  const sizeClasses = [...bySize.values()].sort((a, b) => a.size - b.size);
  sizeClasses.forEach((r, i) => r.index = i);
  const segmentBytes = segments.reduce((s, x) => s + x.bytes, 0);
  const freeSliceBytes = segments.reduce((s, x) => s + x.freeSlices * L.sliceSize, 0) + emptyBytes;
  const normal = segments.filter((s) => s.kind === "normal");
  const pinned = segments.filter((s, i) =>
    s.kind === "normal" && livePagesOf[i] > 0 && livePagesOf[i] < PINNED_THRESHOLD
  );
  // Packed densely: per block size, its blocks in full pages of the size's observed page (reserved blocks, slices).
  let packedSlices = 0;
  for (const r of sizeClasses) {
    const sh = shape.get(r.size);
    if (sh && sh.reserved > 0) packedSlices += Math.ceil(r.blocksInUse / sh.reserved) * sh.slices;
  }
  const info = normal.length ? normal[0].infoSlices : 1;
  const segmentsIfPacked = Math.ceil(packedSlices / (L.slicesPerSegment - info));

  // The page objects, made on first read (a 1 GiB heap has some 16,000 pages; the summaries above need none).
  let pageObjects: MimallocPage[] | undefined;
  const makePages = (): MimallocPage[] => {
    if (pageObjects) return pageObjects;
    const out: MimallocPage[] = [];
    for (const x of kept) {
      const { u32, u16 } = x;
      const segment = segments[x.segment].address;
      spans(x, (i, off, count, rawSize, size) => {
        const xh = (off + P.xheap) >> 2, tf = (off + P.xthreadFree) >> 2;
        let start: number;
        if (P.pageStart !== null) {
          const ps = (off + P.pageStart) >> 2;
          start = u32[ps] + u32[ps + 1] * 2 ** 32;
        } else start = x.base + i * L.sliceSize + startOffset(rawSize);
        out.push({
          address: segment + BigInt(i * L.sliceSize),
          segment,
          kind: KINDS[kindOf(x.huge, size)],
          bytes: count * L.sliceSize,
          blockSize: size,
          capacity: u16[(off + P.capacity) >> 1],
          reserved: u16[(off + P.reserved) >> 1],
          used: usedWide ? u32[(off + P.used) >> 2] : u16[(off + P.used) >> 1],
          blocksStart: BigInt(start),
          heap: BigInt(u32[xh] + u32[xh + 1] * 2 ** 32),
          pendingRemoteFrees: u32[tf] > 3 || u32[tf + 1] !== 0,
          freeList: BigInt(u32[(off + P.free) >> 2] + u32[((off + P.free) >> 2) + 1] * 2 ** 32),
          localFreeList: BigInt(u32[(off + P.localFree) >> 2] + u32[((off + P.localFree) >> 2) + 1] * 2 ** 32),
          // The thread-free word keeps two state bits below the pointer (mi_tf_block).
          threadFreeList: BigInt((u32[tf] - (u32[tf] & 3)) + u32[tf + 1] * 2 ** 32),
        });
      });
    }
    return pageObjects = out;
  };

  const heap = {
    mimalloc: L.release,
    headers: L.headers,
    how,
    geometry: { segmentSize: L.segmentSize, sliceSize: L.sliceSize },
    segments,
    heaps,
    pages: [] as MimallocPage[],
    sizeClasses,
    abandoned: {
      segments: segments.filter((s) => s.abandoned).length,
      pages: abandonedPages,
      blocksInUse: abandonedBlocks,
      bytesInUse: abandonedBytes,
    },
    totals: {
      segments: segments.length,
      segmentBytes,
      pages: live,
      emptyPages: n - live,
      blocksInUse,
      bytesInUse,
      bytesAvailable,
    },
    fragmentation: {
      freeBytesInUsedPages: bytesAvailable,
      freeBytesInFreeSlices: freeSliceBytes,
      pinnedSegments: pinned.length,
      pinnedThreshold: PINNED_THRESHOLD,
      pinnedBytes: pinned.reduce((s, x) => s + x.bytes, 0),
      segmentsIfPacked,
      reclaimableSegments: Math.max(0, normal.length - segmentsIfPacked),
      utilization: segmentBytes ? bytesInUse / segmentBytes : 0,
    },
    inconsistentPages: inconsistent,
    warnings,
  } as unknown as MimallocHeap;
  Object.defineProperty(heap, "pages", { get: makePages, enumerable: true });
  // JSON.stringify throws on a bigint: addresses are written as hex strings, as a HeapSnapshot's are.
  const toJSON = () =>
    JSON.parse(JSON.stringify({ ...heap }, (_k, x) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x)));
  Object.defineProperty(heap, "toJSON", { value: toJSON, enumerable: false });
  return heap;
}
