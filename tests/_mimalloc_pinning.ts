/**
 * Test tooling only: the figures tests/mimalloc_heap_test.ts checks of a mimalloc classification's pinning view,
 * computed where the classification is (by attach in the test, in-process in tests/_mimalloc_child.ts, whose
 * `pinning()` cannot cross the pipe): the rows' sums beside the map's own page and segment bytes, and the pages the
 * target's own `id()`s of its Foo instances fall in.
 * @module
 */
import type { MimallocHeap, MimallocObjects } from "../lib/mod.ts";

export interface PinningFigures {
  /** Sum of the page rows' pinnedBytes, and the bytes of the pages holding a classified block. */
  pinned: number;
  heldPageBytes: number;
  /** The same per segment. */
  segmentPinned: number;
  heldSegmentBytes: number;
  /** Every row's pinnedBytes is a whole number. */
  whole: boolean;
  /** Blocks counted in the rows, and the classification's live and unread blocks. */
  rowBlocks: number;
  liveBlocks: number;
  /** Pages holding a classified block; pages with blocks in use, of which with frees from other threads pending. */
  heldPages: number;
  usedPages: number;
  pendingPages: number;
  /** Distinct pages holding the target's Foo instances (by their id()), and the Foo row's pages and count. */
  fooPages: number;
  fooRowPages: number;
  fooRowCount: number;
}

export function pinningFigures(h: MimallocHeap, objs: MimallocObjects, truth: [number, string][]): PinningFigures {
  const rows = objs.pinning(), segRows = objs.pinning({ unit: "segment" });
  const pages = h.pages;
  const held = pages.map((_, i) => objs.pageTypes(i).length > 0);
  const segs = new Set(pages.filter((_, i) => held[i]).map((p) => p.segment));
  const pageOf = (id: number) => {
    const a = BigInt(id);
    return pages.findIndex((p) => a >= p.address && a < p.address + BigInt(p.bytes));
  };
  const foo = rows.find((r) => r.name === "Foo");
  return {
    pinned: rows.reduce((s, r) => s + r.pinnedBytes, 0),
    heldPageBytes: pages.reduce((s, p, i) => s + (held[i] ? p.bytes : 0), 0),
    segmentPinned: segRows.reduce((s, r) => s + r.pinnedBytes, 0),
    heldSegmentBytes: h.segments.filter((s) => segs.has(s.address)).reduce((s, x) => s + x.bytes, 0),
    whole: [...rows, ...segRows].every((r) => Number.isInteger(r.pinnedBytes)),
    rowBlocks: rows.reduce((s, r) => s + r.count, 0),
    liveBlocks: objs.liveBlocks + objs.unreadBlocks,
    heldPages: held.filter(Boolean).length,
    usedPages: pages.filter((p) => p.used > 0).length,
    pendingPages: pages.filter((p) => p.used > 0 && p.pendingRemoteFrees).length,
    fooPages: new Set(truth.filter(([, n]) => n === "Foo").map(([id]) => pageOf(id))).size,
    fooRowPages: foo?.pages ?? 0,
    fooRowCount: foo?.count ?? 0,
  };
}
