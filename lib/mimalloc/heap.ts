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
  /** What could not be read or was inconsistent (a live process changing under the read); empty when whole. */
  warnings: string[];
  /** JSON-safe: the same fields, addresses as hex strings. Not enumerable. */
  toJSON(): Record<string, unknown>;
}

/** What the walk needs of a process besides its memory. */
export interface MimallocTarget {
  maps: MapEntry[];
  probe: MemoryProbe;
}

const PINNED_THRESHOLD = 4;

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
function uint(v: DataView, off: number, bytes: number): number {
  if (bytes === 1) return v.getUint8(off);
  if (bytes === 2) return v.getUint16(off, true);
  if (bytes === 4) return v.getUint32(off, true);
  return Number(v.getBigUint64(off, true));
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

/** Where a page's blocks start: stored in 2.5; in 2.1, three blocks in for blocks of 8–64 bytes, one for 65–512. */
function blocksStart(L: MimallocLayout, v: DataView, off: number, first: bigint, blockSize: number): bigint {
  if (L.page.pageStart !== null) return v.getBigUint64(off + L.page.pageStart, true);
  const skip = blockSize >= 8 && blockSize <= 64 ? 3 * blockSize : blockSize > 64 && blockSize <= 512 ? blockSize : 0;
  return first + BigInt(skip);
}

function pageKind(L: MimallocLayout, huge: boolean, blockSize: number): MimallocPageKind {
  if (huge) return "huge";
  if (blockSize <= L.smallObjMax) return "small";
  if (blockSize <= L.mediumObjMax) return "medium";
  return "large";
}

/**
 * Map the mimalloc heap of a process. Throws PymemError("UNSUPPORTED") when segments are found but mimalloc's own
 * state does not confirm the layout (a mimalloc release pymem has not checked), PymemError("INVALID_STATE") when no
 * segment is found at all (mimalloc is not the allocator).
 */
export function walkMimalloc(target: MimallocTarget, L: MimallocLayout): MimallocHeap {
  const warnings: string[] = [];
  const found = findSegments(target, L);
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
  const sliceSize = BigInt(L.sliceSize);
  const pages: MimallocPage[] = [];
  const segments: MimallocSegment[] = [];
  let inconsistent = 0;
  for (const h of headers) {
    const bytes = L.segment.headerSize + h.sliceEntries * P.size;
    const buf = target.probe.safeRead(h.address, bytes);
    if (!buf) {
      warnings.push(`segment 0x${h.address.toString(16)}: its ${bytes}-byte header became unreadable`);
      continue;
    }
    const v = dv(buf);
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
    // slices[0] spans the header itself; then each span starts where the previous one's slice_count ends.
    let i = uint(v, L.segment.headerSize + P.sliceCount, 4);
    while (i < h.sliceEntries) {
      const off = L.segment.headerSize + i * P.size;
      const count = uint(v, off + P.sliceCount, 4);
      if (count === 0 || uint(v, off + P.sliceOffset, 4) !== 0) {
        inconsistent++;
        break;
      }
      const rawSize = uint(v, off + P.blockSize, P.blockSizeBytes);
      if (rawSize === 0) {
        seg.freeSlices += Math.min(count, h.sliceEntries - i);
        i += count;
        continue;
      }
      const first = h.address + BigInt(i) * sliceSize;
      const spanBytes = count * L.sliceSize;
      let blockSize = rawSize;
      if (P.hugeBlockSize !== null && rawSize >= P.hugeBlockSize) blockSize = spanBytes;
      const used = uint(v, off + P.used, P.usedBytes);
      const capacity = uint(v, off + P.capacity, 2);
      const reserved = uint(v, off + P.reserved, 2);
      if (used > reserved || capacity > reserved) inconsistent++;
      const page: MimallocPage = {
        address: first,
        segment: h.address,
        kind: pageKind(L, h.kindHuge, blockSize),
        bytes: spanBytes,
        blockSize,
        capacity,
        reserved,
        used,
        blocksStart: blocksStart(L, v, off, first, rawSize),
        heap: v.getBigUint64(off + P.xheap, true),
        pendingRemoteFrees: (v.getBigUint64(off + P.xthreadFree, true) & ~3n) !== 0n,
      };
      pages.push(page);
      seg.blocksInUse += used;
      seg.bytesInUse += used * blockSize;
      i += count;
    }
    seg.fill = seg.bytesInUse / seg.bytes;
    segments.push(seg);
  }
  if (inconsistent) warnings.push(`${inconsistent} pages or slice spans read while changing (live process)`);

  // The heaps the pages point at; the one in the library's image whose cookie is the key is _mi_heap_main.
  const heapAddresses = [...new Set(pages.map((p) => p.heap).filter((h) => h !== 0n))];
  const heaps: MimallocThreadHeap[] = [];
  let mainFound = "";
  for (const address of heapAddresses) {
    const b = target.probe.safeRead(address, L.heap.size);
    if (!b) {
      warnings.push(`heap 0x${address.toString(16)}: unreadable (its thread exited during the read?)`);
      continue;
    }
    const v = dv(b);
    const cookie = v.getBigUint64(L.heap.cookie, true);
    const image = target.maps.find((m) =>
      address >= m.start && address < m.end && m.path !== "" && !m.path.startsWith("[")
    );
    const main = cookie === key && image !== undefined;
    if (main) mainFound = image!.path;
    heaps.push({
      address,
      threadId: Number(v.getBigUint64(L.heap.threadId, true)),
      main,
      tag: v.getUint8(L.heap.tag),
      pages: 0,
      pageCount: Number(v.getBigUint64(L.heap.pageCount, true)),
      blocksInUse: 0,
      bytesInUse: 0,
      bytesAvailable: 0,
      bytesReserved: 0,
      bytesCommitted: 0,
    });
  }
  // Without _mi_heap_main among the owners (its thread has no page now), the layout is still confirmed when every
  // owned page's heap names the thread its segment names: two independent fields at the layout's offsets.
  const byAddress = new Map(heaps.map((x) => [x.address, x]));
  const segThread = new Map(segments.map((s) => [s.address, s.threadId]));
  const owned = pages.filter((p) => p.heap !== 0n && byAddress.has(p.heap));
  const agree = owned.filter((p) => byAddress.get(p.heap)!.threadId === segThread.get(p.segment)).length;
  let how: string;
  if (mainFound) {
    how = `segments found at ${L.segmentSize >> 20} MiB boundaries by their cookies; key confirmed by _mi_heap_main ` +
      `in ${mainFound}`;
  } else if (owned.length > 0 && agree >= owned.length * 0.9 && headers.length >= 2) {
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

  for (const p of pages) {
    const h = byAddress.get(p.heap);
    if (!h) continue;
    h.pages++;
    h.blocksInUse += p.used;
    h.bytesInUse += p.used * p.blockSize;
    h.bytesAvailable += (p.reserved - p.used) * p.blockSize;
    h.bytesReserved += p.reserved * p.blockSize;
    h.bytesCommitted += p.capacity * p.blockSize;
  }

  // Size classes, ascending block size.
  const bySize = new Map<number, MimallocSizeClass>();
  for (const p of pages) {
    if (p.used === 0) continue;
    let row = bySize.get(p.blockSize);
    if (!row) {
      bySize.set(
        p.blockSize,
        row = { index: 0, size: p.blockSize, kind: p.kind, pages: 0, blocksInUse: 0, availBlocks: 0 },
      );
    }
    row.pages++;
    row.blocksInUse += p.used;
    row.availBlocks += Math.max(0, p.reserved - p.used);
  }
  const sizeClasses = [...bySize.values()].sort((a, b) => a.size - b.size);
  sizeClasses.forEach((r, i) => r.index = i);

  const segmentBytes = segments.reduce((s, x) => s + x.bytes, 0);
  const live = pages.filter((p) => p.used > 0);
  const bytesInUse = live.reduce((s, p) => s + p.used * p.blockSize, 0);
  const blocksInUse = live.reduce((s, p) => s + p.used, 0);
  const bytesAvailable = live.reduce((s, p) => s + (p.reserved - p.used) * p.blockSize, 0);
  const emptyPages = pages.length - live.length;
  const freeSliceBytes = segments.reduce((s, x) => s + x.freeSlices * L.sliceSize, 0) +
    pages.filter((p) => p.used === 0).reduce((s, p) => s + p.bytes, 0);

  const livePagesOf = new Map<bigint, number>();
  for (const p of live) livePagesOf.set(p.segment, (livePagesOf.get(p.segment) ?? 0) + 1);
  const normal = segments.filter((s) => s.kind === "normal");
  const pinned = normal.filter((s) => {
    const n = livePagesOf.get(s.address) ?? 0;
    return n > 0 && n < PINNED_THRESHOLD;
  });
  // Packed densely: per block size, its blocks in full pages of the size's observed page (reserved blocks, slices).
  let packedSlices = 0;
  const shape = new Map<number, { reserved: number; slices: number }>();
  for (const p of live) {
    if (p.kind === "huge") continue;
    const s = shape.get(p.blockSize);
    if (!s || p.reserved > s.reserved) shape.set(p.blockSize, { reserved: p.reserved, slices: p.bytes / L.sliceSize });
  }
  for (const r of sizeClasses) {
    const s = shape.get(r.size);
    if (s && s.reserved > 0) packedSlices += Math.ceil(r.blocksInUse / s.reserved) * s.slices;
  }
  const info = normal.length ? normal[0].infoSlices : 1;
  const segmentsIfPacked = Math.ceil(packedSlices / (L.slicesPerSegment - info));

  const abandonedSegs = segments.filter((s) => s.abandoned);
  const abandonedPages = pages.filter((p) => p.heap === 0n && p.used > 0);
  const heap: MimallocHeap = {
    mimalloc: L.release,
    headers: L.headers,
    how,
    geometry: { segmentSize: L.segmentSize, sliceSize: L.sliceSize },
    segments,
    heaps,
    pages,
    sizeClasses,
    abandoned: {
      segments: abandonedSegs.length,
      pages: abandonedPages.length,
      blocksInUse: abandonedPages.reduce((s, p) => s + p.used, 0),
      bytesInUse: abandonedPages.reduce((s, p) => s + p.used * p.blockSize, 0),
    },
    totals: {
      segments: segments.length,
      segmentBytes,
      pages: live.length,
      emptyPages,
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
    warnings,
    toJSON: undefined as never,
  };
  // JSON.stringify throws on a bigint: addresses are written as hex strings, as a HeapSnapshot's are.
  const toJSON = () =>
    JSON.parse(JSON.stringify({ ...heap }, (_k, x) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x)));
  Object.defineProperty(heap, "toJSON", { value: toJSON, enumerable: false });
  return heap;
}
