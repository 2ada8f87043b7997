/**
 * The whole address space of a Python process: every mapping of /proc/PID/smaps attributed to one category —
 * pymalloc's arenas (from the obmalloc walk), glibc's heaps (the sbrk heap, the thread arenas' heaps, the mmapped
 * chunks; from the malloc walk), thread stacks, the executable, shared libraries, other file mappings, other
 * anonymous memory — with Rss/Pss/Private_Dirty/Swap per category, and the breakdown a person reads (pymalloc /
 * malloc in use / malloc free but held / stacks / code / other).
 *
 * One function for this process and another (lib/python.ts and lib/attach/ hand it their snapshots and reader).
 *
 * Where one mapping holds pieces of several categories (the kernel merges adjacent anonymous mappings: arenas,
 * mmapped chunks and other mmaps become one line of smaps), the mapping's figures are shared among the pieces by
 * their pages' state in /proc/PID/pagemap (resident, swapped), so the categories still sum to smaps exactly.
 * @module
 */
import * as fs from "node:fs";
import { PAGE_RESIDENT, PAGE_SWAPPED, pageStates } from "../machine/pagemap.ts";
import { readSmaps, type SmapsEntry, type SmapsFigures, threadIds, threadStackPointer } from "../machine/smaps.ts";
import { u64leNumber } from "../machine/bytes.ts";
import { PymemError } from "../errors.ts";
import type { MemoryProbe } from "../obmalloc/state.ts";
import { ObmallocSnapshot } from "../obmalloc/heap.ts";
import type { MimallocHeap } from "../mimalloc/heap.ts";
import { checkOptions } from "../checks.ts";
import type { MallocHeap } from "../glibc/heap.ts";
import { glibcLayout, IS_MMAPPED } from "../glibc/layout.ts";

/** The categories every mapping (or piece of one) falls in, in the order reports list them. */
export const RSS_CATEGORIES = [
  "pymalloc",
  "mimalloc",
  "mallocMain",
  "mallocThreads",
  "mallocMmapped",
  "stacks",
  "executable",
  "libraries",
  "files",
  "anonymous",
] as const;
export type RssCategory = typeof RSS_CATEGORIES[number];

/** What a category holds: the smaps figures of its mappings (bytes) and how many pieces of mappings it has. */
export interface CategoryFigures extends SmapsFigures {
  /** Mappings, or pieces of mappings, in the category. */
  mappings: number;
  /** Virtual bytes. */
  sizeBytes: number;
}

/** The RSS a person reads: where the resident bytes are, in the terms of what can be done about them. */
export interface RssBreakdown {
  /** pymalloc's arenas (small objects). */
  pymalloc: number;
  /** CPython's mimalloc segments (PYTHONMALLOC=mimalloc, 3.13+: every object), 0 under another allocator. */
  mimalloc: number;
  /** glibc's heaps and mmapped chunks less the free memory below. */
  mallocInUse: number;
  /** Resident bytes inside glibc's free chunks and top chunks: freed by the program, held by malloc. */
  mallocFree: number;
  /** The part of `mallocFree` that malloc_trim(0) would give back now (resident, from pagemap). */
  mallocReclaimable: number;
  stacks: number;
  /** The executable and shared libraries (their data and .bss included). */
  code: number;
  /** Other file mappings and other anonymous memory. */
  other: number;
}

/** The attributed address space of one process. */
export interface AddressSpace {
  pid: number;
  /** Time the smaps read finished (ms since the epoch). */
  takenAt: number;
  /** Time of the smaps read and the attribution (not of the walks handed in). */
  elapsedMs: number;
  categories: Record<RssCategory, CategoryFigures>;
  /** Sum of the categories: equal to the sum of smaps' mappings. */
  total: SmapsFigures;
  /** smaps_rollup read right after smaps: the kernel's own totals (a live process moves in between). */
  rollup: SmapsFigures;
  breakdown: RssBreakdown;
  malloc: {
    /** Why glibc's heap is not attributed (a malloc that is not glibc's, an unchecked release), else null. */
    refused: string | null;
    /** The glibc heap walked (null when refused). */
    heap: MallocHeap | null;
    arenas: number;
    threadArenas: number;
    /** Mmapped chunks found in the mappings, and what malloc's own counters say. */
    mmappedFound: number;
    mmappedExpected: number;
  };
  threads: { count: number; stacksFound: number };
  /** What could not be attributed as it should (kept in "anonymous"), or moved while read. */
  warnings: string[];
}

/** What the caller's walks give the attribution. */
export interface AddressSpaceInput {
  pid: number | "self";
  /** Reads the process's memory without faulting (to recognise mmapped chunks by their header). */
  probe: MemoryProbe;
  /** pymalloc's arenas: each mmapped base and its size. */
  pymallocArenas: { address: number; bytes: number }[];
  /** CPython's mimalloc segments (none under another allocator). */
  mimallocSegments?: { address: number; bytes: number }[];
  /** glibc's heap, or null with the reason it cannot be read. */
  malloc: MallocHeap | null;
  mallocRefused?: string;
}

const PAGE = 4096;
const zero = (): CategoryFigures => ({
  mappings: 0,
  sizeBytes: 0,
  rss: 0,
  pss: 0,
  privateDirty: 0,
  swap: 0,
  anonymous: 0,
});
const FIGURES = ["rss", "pss", "privateDirty", "swap", "anonymous"] as const;
const hex = (n: number) => `0x${n.toString(16)}`;
/** How much of the unattributed anonymous memory is searched for mmapped chunks, and in what reads. */
const SCAN_BYTES = 1 << 30, SCAN_BLOCK = 1 << 20;

interface Claim {
  start: number;
  end: number;
  cat: RssCategory;
}

/** Attribute every mapping of the process. */
export function attributeAddressSpace(input: AddressSpaceInput): AddressSpace {
  const t0 = performance.now();
  const { mappings, rollup } = readSmaps(input.pid);
  const takenAt = Date.now();
  const warnings: string[] = [];
  const pid = input.pid === "self" ? Number(fs.readlinkSync("/proc/self")) : input.pid;
  const num = (m: SmapsEntry) => ({ start: Number(m.start), end: Number(m.end) });
  const vmaOf = (addr: number) => {
    let lo = 0, hi = mappings.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1, m = num(mappings[mid]);
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  };

  const claims: Claim[] = [];
  for (const a of input.pymallocArenas) claims.push({ start: a.address, end: a.address + a.bytes, cat: "pymalloc" });
  for (const a of input.mimallocSegments ?? []) {
    claims.push({ start: a.address, end: a.address + a.bytes, cat: "mimalloc" });
  }

  // glibc: the sbrk heap, each thread heap's whole reservation (HEAP_MAX_SIZE, its tail PROT_NONE until used).
  const heap = input.malloc;
  const heapMax = heap ? glibcLayout(heap.glibc)?.heapMaxSize : undefined;
  for (const ar of heap?.arenas ?? []) {
    for (const h of ar.heaps) {
      const start = Number(h.address);
      const end = ar.kind === "thread" && heapMax ? start - (start % heapMax) + heapMax : start + h.bytes;
      claims.push({ start, end, cat: ar.kind === "main" ? "mallocMain" : "mallocThreads" });
    }
  }
  claims.sort((a, b) => a.start - b.start);

  // Thread stacks: the mapping that holds each thread's stack pointer, and the main thread's [stack].
  const tids = threadIds(input.pid);
  let stacksFound = 0;
  const stackVmas = new Set<number>();
  for (const tid of tids) {
    let sp: number | null = null;
    for (let i = 0; i < 3 && sp === null; i++) sp = threadStackPointer(input.pid, tid);
    const v = sp === null ? -1 : vmaOf(sp);
    if (v < 0) {
      if (tid !== pid) warnings.push(`thread ${tid}: its stack pointer is unknown (running), its stack not found`);
      continue;
    }
    stacksFound++;
    stackVmas.add(v);
  }
  if (tids.includes(pid) && !mappings.some((m, i) => m.path === "[stack]" && stackVmas.has(i))) {
    const main = mappings.findIndex((m) => m.path === "[stack]");
    if (main >= 0) {
      stackVmas.add(main);
      stacksFound++;
    }
  }

  // The mmapped chunks: an anonymous mapping (or the rest of one) that starts with a chunk header marked IS_MMAPPED
  // (and neither PREV_INUSE nor NON_MAIN_ARENA) whose size fits inside it; malloc's own count (mp_.n_mmaps) says
  // whether all were found.
  const mmapped: Claim[] = [];
  const expected = heap?.mmapped.chunks ?? 0;
  if (heap && expected > 0) {
    const gaps = anonymousGaps(mappings, claims, stackVmas);
    const looksMmapped = (head: Uint8Array, at: number, p: number, end: number): number => {
      const prev = u64leNumber(head, at), size = u64leNumber(head, at + 8);
      // The mapping is the chunk's size rounded up to a page (2.36 stores the rounded size, 2.43 the request's).
      const bytes = Math.ceil((size - (size % 8)) / PAGE) * PAGE;
      const ok = prev === 0 && (size & 15) === IS_MMAPPED; // flags: IS_MMAPPED alone, and 16-byte sizes
      return ok && bytes >= PAGE && p + bytes <= end ? bytes : 0;
    };
    // First where a chunk must start if the mappings were not merged: each gap's start, then after each chunk.
    for (const [s, e] of gaps) {
      for (let p = s; p + 16 <= e && mmapped.length <= expected;) {
        const head = input.probe.safeRead(BigInt(p), 16);
        const bytes = head ? looksMmapped(head, 0, p, e) : 0;
        if (!bytes) break;
        mmapped.push({ start: p, end: p + bytes, cat: "mallocMmapped" });
        p += bytes;
      }
    }
    if (mmapped.length < expected) {
      // Merged with other anonymous memory mapped below them: every page of the gaps that is resident or swapped
      // (a chunk's header page was written) is a candidate, read in blocks, up to SCAN_BYTES in all.
      mmapped.length = 0;
      let budget = SCAN_BYTES;
      for (const [s, e] of gaps) {
        const states = pageStates(input.pid, s, e - s);
        for (let p = s; p < e && budget > 0 && mmapped.length <= expected;) {
          if (states && states[(p - s) / PAGE] === 0) {
            p += PAGE;
            continue;
          }
          let runEnd = p + PAGE;
          while (runEnd < e && runEnd - p < SCAN_BLOCK && !(states && states[(runEnd - s) / PAGE] === 0)) {
            runEnd += PAGE;
          }
          budget -= runEnd - p;
          const block = input.probe.safeRead(BigInt(p), runEnd - p);
          let q = p;
          while (q < runEnd) {
            const bytes = block ? looksMmapped(block, q - p, q, e) : 0;
            if (bytes) {
              mmapped.push({ start: q, end: q + bytes, cat: "mallocMmapped" });
              q += bytes;
            } else q += PAGE;
          }
          p = q;
        }
      }
      if (budget <= 0) warnings.push(`the search for mmapped chunks stopped after ${SCAN_BYTES / (1 << 20)} MiB`);
    }
    if (mmapped.length !== expected) {
      warnings.push(
        `${mmapped.length} mmapped chunks found in the mappings, malloc counts ${expected} ` +
          "(the rest is counted as other anonymous memory)",
      );
      if (mmapped.length > expected) mmapped.length = 0; // something else looked like one: trust none
    }
  }
  claims.push(...mmapped);
  claims.sort((a, b) => a.start - b.start);

  // Files with code: every mapping of them (text, read-only data, data) and the .bss the loader maps after them.
  const exe = readlinkOr(`/proc/${input.pid}/exe`);
  const codeFiles = new Set(mappings.filter((m) => m.path.startsWith("/") && m.perms[2] === "x").map((m) => m.path));
  const fileCategory = (m: SmapsEntry): RssCategory => {
    const path = m.path.replace(/ \(deleted\)$/, "");
    if (exe !== null && (m.path === exe || path === exe)) return "executable";
    if (codeFiles.has(m.path)) return "libraries";
    return "files";
  };

  const categories = Object.fromEntries(RSS_CATEGORIES.map((c) => [c, zero()])) as Record<RssCategory, CategoryFigures>;
  let ci = 0;
  for (let i = 0; i < mappings.length; i++) {
    const m = mappings[i];
    const { start, end } = num(m);
    let base: RssCategory;
    if (m.path.startsWith("/")) base = fileCategory(m);
    else if (stackVmas.has(i) || m.path === "[stack]") base = "stacks";
    else if (m.path === "[vdso]") base = "libraries";
    else if (m.path === "" && i > 0 && mappings[i - 1].end === m.start && mappings[i - 1].path.startsWith("/")) {
      const prev = fileCategory(mappings[i - 1]);
      base = prev === "files" ? "anonymous" : prev; // a library's .bss
    } else base = "anonymous";
    // The claims that overlap this mapping cut it into pieces; the rest is the mapping's own category.
    while (ci < claims.length && claims[ci].end <= start) ci++;
    const pieces: Claim[] = [];
    let at = start;
    for (let k = ci; k < claims.length && claims[k].start < end; k++) {
      const c = claims[k];
      const s = Math.max(c.start, at), e = Math.min(c.end, end);
      if (e <= s) continue;
      if (s > at) pieces.push({ start: at, end: s, cat: base });
      pieces.push({ start: s, end: e, cat: c.cat });
      at = e;
    }
    if (at < end) pieces.push({ start: at, end, cat: base });
    addPieces(categories, m, merge(pieces), input.pid, warnings);
  }

  const total: SmapsFigures = { rss: 0, pss: 0, privateDirty: 0, swap: 0, anonymous: 0 };
  for (const c of RSS_CATEGORIES) {
    for (const k of FIGURES) total[k] += categories[c][k];
  }

  const heapRss = categories.mallocMain.rss + categories.mallocThreads.rss;
  const mallocFree = heap ? Math.min(heapRss, freeResident(heap, input.pid)) : 0;
  const breakdown: RssBreakdown = {
    pymalloc: categories.pymalloc.rss,
    mimalloc: categories.mimalloc.rss,
    mallocInUse: heapRss - mallocFree + categories.mallocMmapped.rss,
    mallocFree,
    // An arena read while it grew has no residency figure: the others still count.
    mallocReclaimable: Math.min(
      mallocFree,
      heap?.arenas.reduce((n, a) => n + (a.reclaimableResidentBytes ?? 0), 0) ?? 0,
    ),
    stacks: categories.stacks.rss,
    code: categories.executable.rss + categories.libraries.rss,
    other: categories.files.rss + categories.anonymous.rss,
  };
  return {
    pid,
    takenAt,
    elapsedMs: performance.now() - t0,
    categories,
    total,
    rollup,
    breakdown,
    malloc: {
      refused: heap ? null : input.mallocRefused ?? "not read",
      heap,
      arenas: heap?.arenas.length ?? 0,
      threadArenas: heap?.arenas.filter((a) => a.kind === "thread").length ?? 0,
      mmappedFound: mmapped.length,
      mmappedExpected: expected,
    },
    threads: { count: tids.length, stacksFound },
    warnings,
  };
}

function readlinkOr(path: string): string | null {
  try {
    return fs.readlinkSync(path);
  } catch {
    return null;
  }
}

/** Adjacent pieces of one category as one. */
function merge(pieces: Claim[]): Claim[] {
  const out: Claim[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last.cat === p.cat && last.end === p.start) last.end = p.end;
    else out.push({ ...p });
  }
  return out;
}

/** The private read-write anonymous memory that no claim covers: where mmapped chunks can be. */
function anonymousGaps(mappings: SmapsEntry[], claims: Claim[], stacks: Set<number>): [number, number][] {
  const out: [number, number][] = [];
  let ci = 0;
  for (let i = 0; i < mappings.length; i++) {
    const m = mappings[i];
    if (m.path !== "" || m.perms !== "rw-p" || stacks.has(i)) continue;
    const start = Number(m.start), end = Number(m.end);
    while (ci < claims.length && claims[ci].end <= start) ci++;
    let at = start;
    for (let k = ci; k < claims.length && claims[k].start < end; k++) {
      if (claims[k].start > at) out.push([at, claims[k].start]);
      at = Math.max(at, claims[k].end);
    }
    if (at < end) out.push([at, end]);
  }
  return out;
}

/**
 * Add one mapping's figures to its pieces' categories. One piece takes them whole; several share them by their
 * pages' state in pagemap (resident pages share Rss, Pss and Private_Dirty; swapped pages share Swap), rounded to
 * kB so that the pieces sum to the mapping exactly.
 */
function addPieces(
  cats: Record<RssCategory, CategoryFigures>,
  m: SmapsEntry,
  pieces: Claim[],
  pid: number | "self",
  warnings: string[],
): void {
  for (const p of pieces) {
    cats[p.cat].mappings++;
    cats[p.cat].sizeBytes += p.end - p.start;
  }
  if (pieces.length === 1) {
    const c = cats[pieces[0].cat];
    c.rss += m.rss;
    c.pss += m.pss;
    c.privateDirty += m.privateDirty;
    c.swap += m.swap;
    c.anonymous += m.anonymous;
    return;
  }
  if (m.rss === 0 && m.swap === 0) return;
  const start = Number(m.start);
  const states = pageStates(pid, start, m.size);
  if (!states) warnings.push(`pagemap unreadable: the mapping at ${hex(start)} is shared among its pieces by size`);
  const resident: number[] = [], swapped: number[] = [];
  for (const p of pieces) {
    let r = 0, s = 0;
    if (states) {
      for (let i = (p.start - start) / PAGE; i < (p.end - start) / PAGE; i++) {
        if (states[i] === PAGE_RESIDENT) r++;
        else if (states[i] === PAGE_SWAPPED) s++;
      }
    }
    resident.push(r);
    swapped.push(s);
  }
  const sizes = pieces.map((p) => p.end - p.start);
  const byRss = resident.some((n) => n > 0) ? resident : sizes;
  const bySwap = swapped.some((n) => n > 0) ? swapped : byRss;
  for (
    const [k, w] of [
      ["rss", byRss],
      ["pss", byRss],
      ["privateDirty", byRss],
      ["anonymous", byRss],
      ["swap", bySwap],
    ] as const
  ) {
    const shares = apportion(m[k] / 1024, w);
    pieces.forEach((p, i) => (cats[p.cat][k] += shares[i] * 1024));
  }
}

/** Split a whole number by weights (largest remainder): the parts sum to it exactly. */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0 || total === 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
  for (let j = 0; left > 0; j = (j + 1) % order.length, left--) out[order[j][1]]++;
  return out;
}

/**
 * Resident bytes in glibc's free chunks (tcache, fastbins, bins) and top chunks: their bytes less the whole pages
 * inside them that are not resident — the reclaimable pages that are not resident, and a thread arena's top chunk
 * beyond what was ever touched (pagemap). The main arena's top above MINSIZE is part of the reclaimable pages.
 */
function freeResident(heap: MallocHeap, pid: number | "self"): number {
  let n = 0;
  for (const a of heap.arenas) {
    const f = a.free;
    n += f.tcache.bytes + f.fastbins.bytes + f.unsorted.bytes + f.small.bytes + f.large.bytes + a.top.bytes;
    n -= a.reclaimableBytes - (a.reclaimableResidentBytes ?? a.reclaimableBytes);
    if (a.kind === "thread" && a.top.bytes > PAGE) {
      const top = Number(a.top.address);
      const first = Math.ceil((top + 16) / PAGE) * PAGE, end = top + a.top.bytes;
      const pages = Math.floor((end - first) / PAGE);
      const st = pages > 0 ? pageStates(pid, first, pages * PAGE) : null;
      if (st) { for (const s of st) if (s !== PAGE_RESIDENT) n -= PAGE; }
    }
  }
  return Math.max(0, n);
}

/** The walks a handle can make, for {@link collectAddressSpace}. */
export interface AddressSpaceSource {
  pid: number | "self";
  probe: MemoryProbe;
  /** The obmalloc walk (null: pymalloc is not in use, PYTHONMALLOC=malloc or mimalloc). */
  obmalloc: () => ObmallocSnapshot | null;
  malloc: () => MallocHeap;
  /** CPython's mimalloc map, where the process allocates with it (else undefined: nothing to claim). */
  mimalloc?: () => MimallocHeap | undefined;
}

/** The options of `py.addressSpace()` and `attached.addressSpace()`: walks the caller already made. */
export interface AddressSpaceOptions {
  /** The obmalloc walk to take pymalloc's arenas from (`heap()`), instead of a new one. */
  heap?: ObmallocSnapshot;
  /** The glibc walk (`mallocHeap()`), instead of a new one. */
  malloc?: MallocHeap;
}

/**
 * Check the options of an `addressSpace()` call: an unknown key or a value that is not such a walk is a TypeError
 * (a typo such as `{ heaps }` would otherwise walk again quietly, and `{ heap: {} }` fail deep inside).
 */
export function checkAddressSpaceOptions(options: unknown, what: string): AddressSpaceOptions {
  return checkOptions<AddressSpaceOptions>(options, what, {
    heap: (v, name) => {
      if (!(v instanceof ObmallocSnapshot)) {
        throw new TypeError(`${name} must be a heap snapshot (heap()), got ${kind(v)}`);
      }
    },
    malloc: (v, name) => {
      const h = v as Partial<MallocHeap> | null;
      if (typeof h !== "object" || h === null || !Array.isArray(h.arenas) || typeof h.glibc !== "string") {
        throw new TypeError(`${name} must be a glibc heap (mallocHeap()), got ${kind(v)}`);
      }
    },
  });
}

const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v);

/**
 * Walk what the handle can walk and attribute the address space. A malloc that is not glibc's, or an unchecked
 * release, is not an error here: its memory is attributed as anonymous, and `malloc.refused` says why.
 */
export function collectAddressSpace(source: AddressSpaceSource): AddressSpace {
  const snap = source.obmalloc();
  const pymallocArenas = snap
    ? Array.from(snap.walk.arenaAddress, (address) => ({ address, bytes: snap.arenaSize }))
    : [];
  let malloc: MallocHeap | null = null, mallocRefused: string | undefined;
  try {
    malloc = source.malloc();
  } catch (e) {
    if (!(e instanceof PymemError) || e.code !== "UNSUPPORTED") throw e;
    mallocRefused = e.message;
  }
  const mimallocSegments = (source.mimalloc?.()?.segments ?? []).map((g) => ({
    address: Number(g.address),
    bytes: g.bytes,
  }));
  return attributeAddressSpace({
    pid: source.pid,
    probe: source.probe,
    pymallocArenas,
    mimallocSegments,
    malloc,
    mallocRefused,
  });
}
