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

/** One type's row. */
export interface MimallocTypeRow {
  name: string;
  count: number;
  /** Bytes of the blocks holding them. */
  bytes: number;
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
export function classifyMimalloc(map: MimallocHeap, mem: ObjectMemory, minor: number): MimallocObjects {
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
    return pg.blockSize < MIN_TYPE_BLOCK || (p - Number(pg.blocksStart)) % pg.blockSize !== ol.gcHead;
  };
  const found = new Map<number, number>(); // object address -> type id
  const count: number[] = [], bytes: number[] = [];
  let liveBlocks = 0, notObjects = 0, notObjectBytes = 0, tornPages = 0;
  const offsets = [0, ol.gcHead, ol.gcHead + 16];

  for (const page of pages) {
    if (page.used === 0 || page.capacity === 0) continue;
    const bs = page.blockSize, cap = page.capacity, start = Number(page.blocksStart);
    const head = Math.min(bs, HEAD);
    // The bytes of each block's head: data[i * stride .. + head).
    let data: Uint8Array, stride: number;
    if (bs * cap <= WHOLE) {
      const got = mem.readMany([{ address: start, length: bs * cap }]);
      if (!got.ok[0]) continue;
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
      tornPages++;
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
        if (info.preHeader !== o || info.preHeader + info.minSize > bs) continue;
        if (v.getUint32(i * stride + o, true) === 0 && v.getUint32(i * stride + o + 4, true) === 0) continue;
        kind = t;
        at = o;
        break;
      }
      if (kind < 0) {
        notObjects++;
        notObjectBytes += bs;
        continue;
      }
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
  };
}

/** The live blocks of this process's mimalloc map, read through process_vm_readv on our own pid. */
export function mimallocObjectsOf(host: PythonHost, map: MimallocHeap): MimallocObjects {
  const native = host.native;
  const safe = RemoteMemory.ofSelf(native.backend, native.libc);
  try {
    return classifyMimalloc(map, remoteObjectMemory(safe, (n) => Number(native.dlsym(n))), host.version.minor);
  } finally {
    safe.close();
  }
}
