/**
 * What the live mimalloc blocks are (PYTHONMALLOC=mimalloc): each block of each page with blocks in use that is on
 * none of the page's free lists is read, and the object in it is recognised where CPython puts one: at the block's
 * start, after PyGC_Head, or after PyGC_Head and the pre-header, as its validated type says (lib/objects/types.ts).
 * Read through `ObjectMemory`, so in-process and attach share it.
 * @module
 */
import type { MimallocHeap } from "../mimalloc/mod.ts";
import type { PythonHost } from "../core/host.ts";
import { RemoteMemory } from "../machine/remote.ts";
import { remoteObjectMemory } from "./memory.ts";
import { PymemError } from "../errors.ts";
import type { ObjectMemory, Range } from "./memory.ts";
import { objectLayoutFor } from "./layout.ts";
import { type TypeInfo, TypeTable } from "./types.ts";
import { checkOptions, integerIn, isBoolean, oneOf } from "../checks.ts";

/** One type's row. */
export interface MimallocTypeRow {
  name: string;
  count: number;
  /** Bytes of the blocks holding them. */
  bytes: number;
}

/** A row of the pinning view: a kind of block and the bytes of the pages (or segments) it keeps committed. */
export interface MimallocPinningRow extends MimallocTypeRow {
  /** True for Python objects; false for "not an object" (buffers) and "unread" (torn pages, their `used` blocks). */
  object: boolean;
  /**
   * This kind's share of the bytes of the pages (or segments) it occupies: each unit's bytes shared among its live
   * blocks by their bytes, in whole bytes rounded by largest remainder, so that the rows add up exactly to the bytes
   * of the units holding live blocks.
   */
  pinnedBytes: number;
  /** Pages and segments holding at least one block of this kind. */
  pages: number;
  segments: number;
  /** Of the units counted (pages, or segments with `unit: "segment"`), those less than half full by live bytes. */
  sparse: number;
}

/** Options of {@link MimallocObjects.pinning}. */
export interface MimallocPinningOptions {
  /** Rows to return (default: all). */
  limit?: number;
  /** Leave out "not an object" and "unread". Default false. */
  objectsOnly?: boolean;
  /**
   * What is charged: `"page"` (default) the bytes of each page with live blocks (its slices, what mimalloc keeps
   * committed for it), `"segment"` the bytes of each segment with live blocks (what stays reserved, the analogue of
   * an obmalloc arena).
   */
  unit?: "page" | "segment";
}

/** What the blocks hold. */
export interface MimallocObjects {
  /** Blocks on no free list, and those holding a recognised object. */
  liveBlocks: number;
  objects: number;
  /** Live blocks with no object at any of the three places (buffers: list items, dict keys, str data kept apart…). */
  notObjects: number;
  notObjectBytes: number;
  /** By type, most bytes first. */
  byType: MimallocTypeRow[];
  /** The type name of the object at `address` (the object's own address, as `id()` gives it), or undefined. */
  typeAt(address: bigint | number): string | undefined;
  /** Pages whose free lists could not be followed (a live target changing them): their blocks are not classified. */
  tornPages: number;
  /** Blocks in use of those pages (mimalloc's `used`), counted as "unread" in the pinning view. */
  unreadBlocks: number;
  /**
   * What keeps the pages (or segments) committed, by kind, most pinned bytes first: the analogue of obmalloc's
   * `pinning()` (lib/objects/snapshot.ts). The rows add up to the bytes of the pages (segments) holding live blocks.
   */
  pinning(options?: MimallocPinningOptions): MimallocPinningRow[];
  /** The kinds in one page (its position in `map.pages`), most blocks first; empty for a page with no live block. */
  pageTypes(page: number): { name: string; count: number }[];
  /** The kinds in one segment (its position in `map.segments`), most bytes first. */
  segmentTypes(segment: number): { name: string; count: number; bytes: number }[];
}

/** Blocks read per readMany call for pages of large blocks (only each block's first bytes are needed). */
const HEAD = 64;
/** A page region read whole when at most this many bytes; larger pages are read block by block (HEAD bytes). */
const WHOLE = 1 << 20;
/** No heap type fits a smaller block (sizeof(PyHeapTypeObject) is some 900 bytes in 3.8–3.15). */
const MIN_TYPE_BLOCK = 512;

/**
 * Classify the live blocks of a mimalloc map. Throws PymemError("UNSUPPORTED") when the target has no
 * `PyType_Type` to validate types against.
 */
export function classifyMimalloc(
  map: MimallocHeap,
  mem: ObjectMemory,
  minor: number,
  allocator: string | null = null,
): MimallocObjects {
  const m = map as Partial<MimallocHeap> | null;
  if (typeof m !== "object" || m === null || !Array.isArray(m.segments) || typeof m.geometry !== "object") {
    const got = m === null ? "null" : typeof m === "object" ? "another object" : typeof m;
    throw new TypeError(`mimallocObjects: map must be a mimallocHeap() map, got ${got}`);
  }
  // PYTHONMALLOC=mimalloc_debug: CPython's debug hooks put their header (the size asked for, the API id and
  // forbidden bytes: two words) before what each block holds, so every object sits 16 bytes further in. An allocator
  // pymem cannot name (a stripped image) is read both ways when the plain reading finds few objects.
  if (allocator === "mimalloc_debug") return classifyAt(map, mem, minor, DEBUG_HEADER);
  const plain = classifyAt(map, mem, minor, 0);
  if (allocator !== null || plain.objects >= plain.liveBlocks / 4) return plain;
  const hooked = classifyAt(map, mem, minor, DEBUG_HEADER);
  return hooked.objects > plain.objects ? hooked : plain;
}

/** Bytes of the debug hooks' header before each block's data (2 × sizeof(size_t)). */
const DEBUG_HEADER = 16;

/** Classify with the objects (and their pre-headers) `shift` bytes into each block. */
function classifyAt(map: MimallocHeap, mem: ObjectMemory, minor: number, shift: number): MimallocObjects {
  const ol = objectLayoutFor(minor);
  const table = new TypeTable(mem, ol);
  if (!table.usable) {
    throw new PymemError("UNSUPPORTED", "PyType_Type is not exported by the target: no type can be validated");
  }
  // Heap types are mimalloc blocks too, so a candidate inside the heap is not ruled out by lying there, but it must sit
  // where a type object does: right after the PyGC_Head at the start of a block large enough for a heap type. That
  // rules out the PyGC_Head links, which point into the heap and would each cost a read.
  const seg = map.geometry.segmentSize, slice = map.geometry.sliceSize;
  const pages = map.pages;
  const bySegment = new Map<number, Int32Array>();
  pages.forEach((pg, i) => {
    const base = Number(pg.segment);
    let slots = bySegment.get(base);
    if (!slots) bySegment.set(base, slots = new Int32Array(seg / slice).fill(-1));
    const first = (Number(pg.address) - base) / slice;
    for (let k = first; k < Math.min(first + pg.bytes / slice, slots.length); k++) slots[k] = i;
  });
  const notAType = (p: number): boolean => {
    const base = Math.floor(p / seg) * seg;
    const slots = bySegment.get(base);
    if (!slots) return false; // not mimalloc's: the type table checks it
    const i = slots[Math.floor((p - base) / slice)];
    if (i < 0) return true;
    const pg = pages[i];
    return pg.blockSize < MIN_TYPE_BLOCK || (p - Number(pg.blocksStart)) % pg.blockSize !== ol.gcHead + shift;
  };
  const found = new Map<number, number>(); // object address -> type id
  const count: number[] = [], bytes: number[] = [];
  let liveBlocks = 0, notObjects = 0, notObjectBytes = 0, tornPages = 0, unreadBlocks = 0;
  const offsets = [0, ol.gcHead, ol.gcHead + 16].map((o) => o + shift);
  // Per page (its position in `pages`): live blocks by kind (a type's index, NOT_OBJECT or UNREAD).
  const perPage: (Map<number, number> | undefined)[] = new Array(pages.length);
  const unread = (p: number): void => {
    tornPages++;
    unreadBlocks += pages[p].used;
    perPage[p] = new Map([[UNREAD, pages[p].used]]);
  };

  for (let p = 0; p < pages.length; p++) {
    const page = pages[p];
    if (page.used === 0 || page.capacity === 0) continue;
    const bs = page.blockSize, cap = page.capacity, start = Number(page.blocksStart);
    const head = Math.min(bs, HEAD);
    // The bytes of each block's head: data[i * stride .. + head).
    let data: Uint8Array, stride: number;
    if (bs * cap <= WHOLE) {
      const got = mem.readMany([{ address: start, length: bs * cap }]);
      if (!got.ok[0]) {
        unread(p);
        continue;
      }
      data = got.bytes.subarray(got.offsets[0], got.offsets[0] + bs * cap);
      stride = bs;
    } else {
      const ranges: Range[] = [];
      for (let i = 0; i < cap; i++) ranges.push({ address: start + i * bs, length: head });
      const got = mem.readMany(ranges);
      data = new Uint8Array(cap * head);
      for (let i = 0; i < cap; i++) {
        if (got.ok[i]) data.set(got.bytes.subarray(got.offsets[i], got.offsets[i] + head), i * head);
      }
      stride = head;
    }
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const word = (o: number) => v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
    // The free blocks: the page's free list, its local free list and what other threads freed (a block's first
    // word is the next one; release builds do not encode them).
    const free = new Uint8Array(cap);
    let torn = false;
    for (const list of [page.freeList, page.localFreeList, page.threadFreeList]) {
      let p = Number(list);
      for (let steps = 0; p !== 0 && steps <= cap; steps++) {
        const idx = (p - start) / bs;
        if (!Number.isInteger(idx) || idx < 0 || idx >= cap || free[idx]) {
          torn = true;
          break;
        }
        free[idx] = 1;
        p = word(idx * stride);
      }
    }
    if (torn) {
      unread(p);
      continue;
    }
    // Candidate type pointers at each place an object can start, validated in one batch per page.
    const candidates = new Set<number>();
    for (let i = 0; i < cap; i++) {
      if (free[i]) continue;
      for (const o of offsets) {
        if (o + 16 > head) break;
        // Settled, misaligned or inside the heap where no type object sits: no need to ask the type table.
        const c = word(i * stride + o + 8);
        if (c % 8 !== 0 || c < 4096 || table.byAddress.has(c) || notAType(c)) continue;
        candidates.add(c);
      }
    }
    table.resolve(candidates, notAType);
    const kinds = new Map<number, number>();
    perPage[p] = kinds;
    for (let i = 0; i < cap; i++) {
      if (free[i]) continue;
      liveBlocks++;
      let kind = -1, at = 0;
      for (const o of offsets) {
        if (o + 16 > head) break;
        const t = table.byAddress.get(word(i * stride + o + 8)) ?? -1;
        if (t < 0) continue;
        const info: TypeInfo = table.types[t];
        // The type must put its objects exactly here, fit in the block, and the reference count be live.
        if (info.preHeader !== o - shift || o + info.minSize > bs) continue;
        if (v.getUint32(i * stride + o, true) === 0 && v.getUint32(i * stride + o + 4, true) === 0) continue;
        kind = t;
        at = o;
        break;
      }
      if (kind < 0) {
        notObjects++;
        notObjectBytes += bs;
        kinds.set(NOT_OBJECT, (kinds.get(NOT_OBJECT) ?? 0) + 1);
        continue;
      }
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      found.set(start + i * bs + at, kind);
      count[kind] = (count[kind] ?? 0) + 1;
      bytes[kind] = (bytes[kind] ?? 0) + bs;
    }
  }
  const byType: MimallocTypeRow[] = [];
  table.types.forEach((t, i) => {
    if (count[i]) byType.push({ name: t.name, count: count[i], bytes: bytes[i] });
  });
  byType.sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  return {
    liveBlocks,
    objects: found.size,
    notObjects,
    notObjectBytes,
    byType,
    typeAt: (address) => {
      const t = found.get(Number(address));
      return t === undefined ? undefined : table.types[t].name;
    },
    tornPages,
    unreadBlocks,
    pinning: (options = {}) => pinMimalloc(map, perPage, table.types, options),
    pageTypes: (i) => {
      const kinds = perPage[i];
      if (!kinds) return [];
      return [...kinds].map(([k, count]) => ({ name: kindName(table.types, k), count }))
        .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
    },
    segmentTypes: (i) => {
      const at = map.segments[i]?.address;
      const sum = new Map<number, [number, number]>();
      pages.forEach((pg, p) => {
        const kinds = perPage[p];
        if (!kinds || pg.segment !== at) return;
        for (const [k, c] of kinds) {
          const r = sum.get(k) ?? [0, 0];
          r[0] += c;
          r[1] += c * pg.blockSize;
          sum.set(k, r);
        }
      });
      return [...sum].map(([k, [count, bytes]]) => ({ name: kindName(table.types, k), count, bytes }))
        .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
    },
  };
}

/** Kinds of the pinning view that are not types (types are their index in the type table, from 0). */
const NOT_OBJECT = -1, UNREAD = -2;
const kindName = (types: readonly TypeInfo[], k: number): string =>
  k === NOT_OBJECT ? "not an object" : k === UNREAD ? "unread" : types[k].name;

/**
 * Each unit's (page's or segment's) bytes shared among its live blocks by their bytes, in whole bytes: each kind's
 * share rounded down and the bytes left given one each to the largest remainders (ties: the lower kind), as obmalloc's
 * pinning does per arena (lib/objects/snapshot.ts), so the rows add up to the units' bytes exactly.
 */
function pinMimalloc(
  map: MimallocHeap,
  perPage: (Map<number, number> | undefined)[],
  types: readonly TypeInfo[],
  options: MimallocPinningOptions,
): MimallocPinningRow[] {
  const { limit, objectsOnly = false, unit = "page" } = checkOptions<MimallocPinningOptions>(options, "pinning", {
    limit: integerIn(0, Number.MAX_SAFE_INTEGER),
    objectsOnly: isBoolean,
    unit: oneOf(["page", "segment"]),
  });
  const pages = map.pages;
  interface Row {
    count: number;
    bytes: number;
    pinned: number;
    pages: number;
    segments: Set<bigint>;
    sparse: number;
  }
  const rows = new Map<number, Row>();
  const rowOf = (k: number): Row => {
    let r = rows.get(k);
    if (!r) rows.set(k, r = { count: 0, bytes: 0, pinned: 0, pages: 0, segments: new Set(), sparse: 0 });
    return r;
  };
  // The units: each a size in bytes and its live bytes by kind.
  const units: { bytes: number; kinds: Map<number, number> }[] = [];
  const bySegment = new Map<bigint, Map<number, number>>();
  pages.forEach((pg, p) => {
    const kinds = perPage[p];
    if (!kinds) return;
    const byBytes = new Map<number, number>();
    for (const [k, c] of kinds) {
      const r = rowOf(k);
      r.count += c;
      r.bytes += c * pg.blockSize;
      r.pages++;
      r.segments.add(pg.segment);
      byBytes.set(k, c * pg.blockSize);
    }
    if (unit === "page") units.push({ bytes: pg.bytes, kinds: byBytes });
    else {
      let m = bySegment.get(pg.segment);
      if (!m) bySegment.set(pg.segment, m = new Map());
      for (const [k, b] of byBytes) m.set(k, (m.get(k) ?? 0) + b);
    }
  });
  if (unit === "segment") {
    const size = new Map(map.segments.map((s) => [s.address, s.bytes]));
    for (const [at, kinds] of bySegment) units.push({ bytes: size.get(at) ?? map.geometry.segmentSize, kinds });
  }
  for (const u of units) {
    let live = 0;
    for (const b of u.kinds.values()) live += b;
    if (live <= 0) continue;
    const isSparse = live < u.bytes / 2;
    const rem: [number, number][] = [];
    let left = u.bytes;
    for (const [k, b] of u.kinds) {
      const whole = Math.floor((u.bytes * b) / live);
      const r = rows.get(k)!;
      r.pinned += whole;
      left -= whole;
      rem.push([(u.bytes * b) % live, k]);
      if (isSparse) r.sparse++;
    }
    if (left > 0) {
      rem.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
      for (let i = 0; i < left; i++) rows.get(rem[i % rem.length][1])!.pinned++;
    }
  }
  const out: MimallocPinningRow[] = [];
  for (const [k, r] of rows) {
    if (k < 0 && objectsOnly) continue;
    out.push({
      name: kindName(types, k),
      object: k >= 0,
      count: r.count,
      bytes: r.bytes,
      pinnedBytes: r.pinned,
      pages: r.pages,
      segments: r.segments.size,
      sparse: r.sparse,
    });
  }
  out.sort((x, y) => y.pinnedBytes - x.pinnedBytes || y.bytes - x.bytes || x.name.localeCompare(y.name));
  return limit === undefined ? out : out.slice(0, limit);
}

/** The live blocks of this process's mimalloc map, read through process_vm_readv on our own pid. */
export function mimallocObjectsOf(host: PythonHost, map: MimallocHeap, allocator: string | null): MimallocObjects {
  host.assertOpen();
  const native = host.native;
  const safe = RemoteMemory.ofSelf(native.backend, native.libc);
  try {
    const mem = remoteObjectMemory(safe, (n) => Number(native.dlsym(n)));
    return classifyMimalloc(map, mem, host.version.minor, allocator);
  } finally {
    safe.close();
  }
}
