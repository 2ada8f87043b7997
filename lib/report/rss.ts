/**
 * The RSS of a process by holder (lib/address-space/): the `addressSpace` part of the `pymem.heap` and `pymem.why`
 * documents, its text (the breakdown `pymem why`, `heap` and `attach` lead with) and its verdict (the biggest
 * holder, and the fix that applies to it). Pure functions of the document.
 * @module
 */
import type { AddressSpace, CategoryFigures, RssBreakdown, RssCategory } from "../address-space/mod.ts";
import type { SmapsFigures } from "../machine/smaps.ts";
import { formatBytes } from "./format.ts";
import { printable } from "./printable.ts";

/** One glibc arena, as the report draws it. */
export interface MallocArenaJSON {
  index: number;
  kind: "main" | "thread";
  address: string;
  systemBytes: number;
  inUseBytes: number;
  inUseChunks: number;
  /** Free chunks (tcache, fastbins, bins), bytes. */
  freeBytes: number;
  freeChunks: number;
  topBytes: number;
  reclaimableBytes: number;
  reclaimableResidentBytes: number | null;
}

/** The `addressSpace` part of a document. */
export interface AddressSpaceJSON {
  takenAt: string;
  elapsedMs: number;
  categories: Record<RssCategory, CategoryFigures>;
  total: SmapsFigures;
  rollup: SmapsFigures;
  breakdown: RssBreakdown;
  malloc: {
    refused: string | null;
    glibc: string | null;
    arenas: MallocArenaJSON[];
    mmappedChunks: number;
    mmappedBytes: number;
    mmappedFound: number;
  };
  threads: { count: number; stacksFound: number };
  warnings: string[];
}

/** The document's part from an attributed address space. */
export function addressSpaceToJSON(space: AddressSpace): AddressSpaceJSON {
  const heap = space.malloc.heap;
  const sum = (t: { bytes: number }[]) => t.reduce((a, b) => a + b.bytes, 0);
  const count = (t: { chunks: number }[]) => t.reduce((a, b) => a + b.chunks, 0);
  return {
    takenAt: new Date(space.takenAt).toISOString(),
    elapsedMs: space.elapsedMs,
    categories: structuredClone(space.categories),
    total: { ...space.total },
    rollup: { ...space.rollup },
    breakdown: { ...space.breakdown },
    malloc: {
      refused: space.malloc.refused,
      glibc: heap?.glibc ?? null,
      arenas: (heap?.arenas ?? []).map((a) => ({
        index: a.index,
        kind: a.kind,
        address: `0x${a.address.toString(16)}`,
        systemBytes: a.systemBytes,
        inUseBytes: a.inUse.bytes,
        inUseChunks: a.inUse.chunks,
        freeBytes: sum(Object.values(a.free)),
        freeChunks: count(Object.values(a.free)),
        topBytes: a.top.bytes,
        reclaimableBytes: a.reclaimableBytes,
        reclaimableResidentBytes: a.reclaimableResidentBytes,
      })),
      mmappedChunks: heap?.mmapped.chunks ?? 0,
      mmappedBytes: heap?.mmapped.bytes ?? 0,
      mmappedFound: space.malloc.mmappedFound,
    },
    threads: { ...space.threads },
    warnings: [...space.warnings],
  };
}

/** The holders of the breakdown, in the order the text lists them. */
export const HOLDERS: { key: Exclude<keyof RssBreakdown, "mallocReclaimable">; label: string }[] = [
  { key: "pymalloc", label: "pymalloc arenas" },
  { key: "mimalloc", label: "mimalloc segments" },
  { key: "mallocInUse", label: "malloc in use" },
  { key: "mallocFree", label: "malloc free but held" },
  { key: "stacks", label: "thread stacks" },
  { key: "code", label: "code and libraries" },
  { key: "other", label: "other" },
];

/** The holders a report lists: mimalloc's only where the process has mimalloc segments, and then pymalloc's only if
 * it has arenas too. */
export function shownHolders(b: AddressSpaceJSON["breakdown"]): typeof HOLDERS {
  const mi = (b.mimalloc ?? 0) > 0;
  return HOLDERS.filter((h) => h.key === "mimalloc" ? mi : h.key !== "pymalloc" || !mi || b.pymalloc > 0);
}

const pct = (n: number, of: number) => (of > 0 ? `${((100 * n) / of).toFixed(0)}%` : "–");

/** The breakdown as text lines: one line per holder, most first. */
export function rssText(doc: AddressSpaceJSON): string[] {
  const b = doc.breakdown, rss = doc.total.rss;
  const rows = shownHolders(b).map((h) => ({ ...h, bytes: b[h.key] })).sort((x, y) => y.bytes - x.bytes);
  const w = Math.max(...rows.map((r) => r.label.length));
  const out = [`RSS ${formatBytes(rss)} (smaps), by holder:`];
  for (const r of rows) {
    let note = "";
    if (r.key === "mallocFree" && b.mallocFree > 0) {
      note = `  (malloc_trim(0) gives back ${formatBytes(b.mallocReclaimable)})`;
    }
    if (r.key === "mallocInUse" && doc.malloc.mmappedChunks > 0) {
      const n = doc.malloc.mmappedChunks;
      note = `  (${n} mmapped chunk${n === 1 ? "" : "s"}: ${formatBytes(doc.categories.mallocMmapped.rss)})`;
    }
    out.push(`  ${r.label.padEnd(w)}  ${formatBytes(r.bytes).padStart(10)}  ${pct(r.bytes, rss).padStart(4)}${note}`);
  }
  const arenas = doc.malloc.arenas.length;
  if (doc.malloc.refused) out.push(`  malloc not read: ${printable(doc.malloc.refused)}`);
  else if (arenas) {
    out.push(`  glibc ${doc.malloc.glibc}: ${arenas} arenas (${arenas - 1} thread arena${arenas === 2 ? "" : "s"})`);
  }
  return out;
}

/**
 * The verdict: how much of RSS is the program's live data, then the biggest holder of memory the program is not
 * using (what could come back: malloc's free memory, pymalloc arenas' free space, stacks, code, the rest) and what
 * applies to it. Live data is not a holder to fix: the types that make it up are the caller's lines (the pinning
 * table). `pymallocLive`: bytes of pymalloc's live blocks (its arenas' RSS less that is their free space).
 */
export function rssVerdict(doc: AddressSpaceJSON, pymallocLive?: number, mimallocLive?: number): string[] {
  const b = doc.breakdown, rss = doc.total.rss;
  const mimalloc = b.mimalloc ?? 0; // absent in a document written before mimalloc's segments were attributed
  const pyLive = Math.min(b.pymalloc, pymallocLive ?? b.pymalloc);
  const miLive = Math.min(mimalloc, mimallocLive ?? mimalloc);
  const live = b.mallocInUse + pyLive + miLive;
  const objects = mimalloc > 0
    ? `${formatBytes(miLive)} in mimalloc's pages`
    : `${formatBytes(pyLive)} in pymalloc's arenas`;
  const lines = [
    `Live data: ${formatBytes(live)} of ${formatBytes(rss)} RSS (${pct(live, rss)}): ${
      formatBytes(b.mallocInUse)
    } through malloc (${
      mimalloc > 0
        ? "C allocations"
        : b.pymalloc === 0
        ? "every object, buffer and C allocation"
        : "objects and buffers over 512 bytes, C allocations"
    }), ${objects}.`,
  ];
  const holders = [
    { key: "mallocFree", label: "glibc malloc's free memory", bytes: b.mallocFree },
    { key: "pymallocFree", label: "free space in pymalloc's arenas", bytes: b.pymalloc - pyLive },
    { key: "mimallocFree", label: "free space in mimalloc's segments", bytes: mimalloc - miLive },
    { key: "stacks", label: "thread stacks", bytes: b.stacks },
    { key: "code", label: "code and libraries", bytes: b.code },
    { key: "other", label: "other memory", bytes: b.other },
  ].sort((x, y) => y.bytes - x.bytes);
  const top = holders[0];
  if (top.bytes < rss / 10) {
    lines.push(
      `Nothing else holds much (the most: ${top.label}, ${
        formatBytes(top.bytes)
      }): the memory is the program's own data.`,
    );
  } else {
    lines.push(
      `The biggest holder besides live data: ${top.label}, ${formatBytes(top.bytes)} (${pct(top.bytes, rss)} of RSS).`,
    );
    lines.push(...advice(doc, top.key));
  }
  if (doc.malloc.refused) lines.push(`malloc was not read: ${printable(doc.malloc.refused)}`);
  return lines;
}

function advice(doc: AddressSpaceJSON, key: string): string[] {
  const b = doc.breakdown;
  switch (key) {
    case "mallocFree": {
      const thread = doc.malloc.arenas.filter((a) => a.kind === "thread");
      const threadFree = thread.reduce((n, a) => n + a.freeBytes + a.topBytes, 0);
      const allFree = doc.malloc.arenas.reduce((n, a) => n + a.freeBytes + a.topBytes, 0);
      const out = [`The program freed it; glibc's malloc keeps it in ${doc.malloc.arenas.length} arenas.`];
      if (b.mallocReclaimable >= b.mallocFree / 2) {
        out.push(
          `malloc_trim(0) would give back ${formatBytes(b.mallocReclaimable)} now: call it from the process ` +
            `(ctypes.CDLL("libc.so.6").malloc_trim(0); py.mallocTrim() in-process), or lower ` +
            "MALLOC_TRIM_THRESHOLD_.",
        );
      } else {
        out.push(
          `malloc_trim(0) would give back only ${formatBytes(b.mallocReclaimable)} now: the rest lies in pieces ` +
            "between live chunks, reusable only by new allocations that fit them.",
        );
      }
      if (thread.length >= 2 && threadFree >= allFree / 2) {
        out.push(
          `${formatBytes(threadFree)} of it is in ${thread.length} thread arenas (glibc gives threads that ` +
            "allocate at once an arena each, up to 8 per core, and an arena's free memory serves only the threads " +
            "that use it): run with MALLOC_ARENA_MAX=2 so that threads share arenas and reuse each other's free " +
            "memory.",
        );
      }
      return out;
    }
    case "pymallocFree":
      return ["Arenas are returned only when empty; a few live objects keep each one mapped:"];
    case "mimallocFree":
      return [
        "mimalloc keeps a page committed while one block on it is live, and frees whole pages only after its purge " +
        "delay: the pages that few live blocks keep are listed below.",
      ];
    case "stacks":
      return [`${doc.threads.count} threads; each stack keeps the deepest it has been (fewer threads, or smaller).`];
    case "code":
      return ["The executable and shared libraries (text, data, .bss): fewer or lighter imports load less."];
    default:
      return [
        "Memory pymem cannot name: file mappings and anonymous memory that is neither pymalloc's nor glibc " +
        "malloc's (another allocator, a runtime's own heap, an extension's mmaps).",
      ];
  }
}
