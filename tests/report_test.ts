/**
 * The report renderers (lib/report/): pure functions of the JSON document, tested first on synthetic heaps (one
 * arena, 5,000 arenas, none) without Python, then on the heap under test: the JSON rows equal CPython's own
 * statistics at the same moment, and snapshots, pools, arenas, allocators and interpreters print as compact
 * summaries in the REPLs (node:util inspect for Node and Bun, Deno.inspect for Deno).
 */
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { join } from "node:path";
import { assert, python, test } from "./_harness.ts";
import { ROOT } from "./_cli_spawn.ts";
import { PoolHeader } from "../lib/mod.ts";
import { type HeapJSON, heapToJSON, parseHeapJSON, PYMEM_VERSION, SCHEMA_VERSION } from "../lib/report/json.ts";
import { byteAxis, heatMapSVG, sizeClassChartSVG } from "../lib/report/svg.ts";
import { renderHTML } from "../lib/report/html.ts";
import { formatBytes, renderHeapText, verdict } from "../lib/report/text.ts";

/** A synthetic heap: `n` 1 MiB arenas of 63 pools; arena a has `used(a)` pools of class a % 32, half full. */
function fakeDoc(n: number, used: (a: number) => number = (a) => 1 + (a % 63)): HeapJSON {
  const layout = { arenaSize: 1 << 20, poolSize: 16384, poolOverhead: 48, alignment: 16 };
  const pools = { arena: [] as number[], slot: [] as number[], sizeClass: [] as number[], blocksInUse: [] as number[] };
  const arenas = [];
  const rows = new Map<number, { pools: number; blocks: number; avail: number }>();
  let blocks = 0, bytes = 0, poolCount = 0;
  for (let a = 0; a < n; a++) {
    const c = a % 32, size = (c + 1) * 16, cap = Math.floor((16384 - 48) / size), count = Math.ceil(cap / 2);
    const u = Math.min(63, used(a));
    for (let s = 0; s < u; s++) {
      pools.arena.push(a), pools.slot.push(s), pools.sizeClass.push(c), pools.blocksInUse.push(count);
      const r = rows.get(c) ?? { pools: 0, blocks: 0, avail: 0 };
      r.pools++, r.blocks += count, r.avail += cap - count;
      rows.set(c, r);
    }
    poolCount += u, blocks += u * count, bytes += u * count * size;
    arenas.push({
      index: a,
      address: `0x${(0x7f0000000000 + a * (1 << 20)).toString(16)}`,
      poolsTotal: 63,
      poolsFree: 63 - u,
      poolsUsed: u,
      poolsCarved: Math.min(63, u + 2),
      blocksInUse: u * count,
      bytesInUse: u * count * size,
      fill: (u * count * size) / (1 << 20),
    });
  }
  const sizeClasses = [...rows].sort((x, y) => x[0] - y[0]).map(([index, r]) => ({
    index,
    size: (index + 1) * 16,
    pools: r.pools,
    blocksInUse: r.blocks,
    availBlocks: r.avail,
  }));
  return {
    schema: "pymem.heap",
    schemaVersion: 1,
    pymemVersion: PYMEM_VERSION,
    takenAt: new Date(0).toISOString(),
    source: { kind: "embedded", runtime: "test" },
    python: { version: "3.12.1", allocator: "pymalloc" },
    state: { interp: "0x0", how: "synthetic", rawAllocatedBlocks: null, counters: {} },
    layout,
    rss: null,
    totals: {
      arenas: n,
      arenaBytes: n << 20,
      pools: poolCount,
      emptyPools: 0,
      untouchedPools: 0,
      blocksInUse: blocks,
      bytesInUse: bytes,
      bytesAvailable: 0,
    },
    fragmentation: {
      freeBytesInUsedPools: 0,
      freeBytesInFreePools: 0,
      pinnedArenas: arenas.filter((x) => x.poolsUsed < 5).length,
      pinnedThreshold: 5,
      pinnedBytes: arenas.filter((x) => x.poolsUsed < 5).length << 20,
      arenasIfPacked: Math.ceil(bytes / (1 << 20)),
      reclaimableArenas: n - Math.ceil(bytes / (1 << 20)),
      utilization: bytes / Math.max(1, n << 20),
    },
    sizeClasses,
    arenas,
    pools,
  };
}

/** Tags balance and every attribute is quoted: enough to catch broken markup without an XML parser. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    if (m[1]) assert.equal(stack.pop(), m[2], `closing </${m[2]}>`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.deepEqual(stack, []);
  assert.doesNotMatch(
    xml.replace(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g, ""),
    /<[a-zA-Z/]/,
    "every tag parsed",
  );
}

test('heat map of a small heap: one <rect class="p"> per pool, rows by arena, legend and axis labels', () => {
  const doc = fakeDoc(12);
  const svg = heatMapSVG(doc);
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect class="p"/g)?.length, doc.totals.pools);
  assert.match(svg, /data-aggregated="false"/);
  assert.match(svg, /One row per arena, one cell per pool/);
  assert.match(svg, /size class \(block size\)/);
  assert.match(svg, /fill \(blocks in use \/ capacity\)/);
  assert.match(svg, /pool within the arena/);
  assert.match(svg, />arena \(index\)</);
  // Hover details on every cell.
  assert.equal(
    svg.match(/<title>arena \d+ \(0x[0-9a-f]+\), pool \d+: class \d+ \(\d+ B blocks\), \d+\/\d+ blocks in use/g)
      ?.length,
    doc.totals.pools,
  );
});

test("heat map of one arena is readable: big cells, sane size", () => {
  const svg = heatMapSVG(fakeDoc(1, () => 40));
  const [, w, h] = /width="(\d+)" height="([\d.]+)"/.exec(svg)!;
  assert.ok(Number(w) > 600 && Number(w) < 1400, w);
  assert.ok(Number(h) > 100 && Number(h) < 1200, h);
  assert.match(svg, /<rect class="p" x="\d+" y="[\d.]+" width="1[1-5]" height="1[1-5]"/);
});

test("heat map of 5,000 arenas aggregates to at most 400 rows and says so in the title", () => {
  const doc = fakeDoc(5000);
  const svg = heatMapSVG(doc);
  assertWellFormed(svg);
  assert.match(svg, /data-aggregated="true"/);
  assert.match(svg, /Aggregated: each row is 13 consecutive arenas \(385 rows\)/);
  assert.equal(svg.match(/<rect class="p"/g), null);
  const cells = svg.match(/<rect class="a"/g)?.length ?? 0;
  assert.ok(cells > 0 && cells <= 400 * 63, `${cells}`);
  assert.ok(svg.length < 8e6, `${svg.length} bytes`);
  const [, h] = /height="([\d.]+)"/.exec(svg)!;
  assert.ok(Number(h) < 1000, h);
});

test("size-class chart: round ticks (1, 2 or 5 × 10^k of a binary unit) and a title on each axis", () => {
  const MiB = 1 << 20;
  assert.deepEqual(byteAxis(23.8 * MiB, 5), { step: 5 * MiB, unit: MiB, unitName: "MiB" });
  assert.deepEqual(byteAxis(700 * 1024, 5), { step: 200 * 1024, unit: 1024, unitName: "KiB" });
  assert.equal(byteAxis(1.1 * MiB, 5).step, 0.5 * MiB);
  assert.equal(byteAxis(3000, 5).step, 1024);
  assert.equal(byteAxis(900, 5).step, 200);
  assert.equal(byteAxis(5 * 1024 * MiB, 5).step, 1024 * MiB);
  assert.equal(byteAxis(0, 5).step, 1);
  for (const n of [1, 7, 40, 300]) {
    const svg = sizeClassChartSVG(fakeDoc(n));
    const ticks = [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1]);
    assert.ok(ticks.length >= 3, svg.slice(0, 500));
    const unit = ticks[1].split(" ")[1];
    const all = ticks.join(", ");
    for (const t of ticks) assert.match(t, new RegExp(`^\\d+(\\.\\d)? ${unit}$`), `${n} arenas: "${t}" in ${all}`);
    assert.match(ticks[1], /^(0\.)?0*[125]0* (B|KiB|MiB|GiB)$/, `${n} arenas: the step, in ${ticks.join(", ")}`);
    assert.match(svg, /rotate\(-90\)[^>]*>bytes in the class's pools</);
    assert.match(svg, />block size \(bytes\)</);
  }
});

test("HTML: the verdict's `code` as <code>, the pinning table said to be below it, no marker text on the page", () => {
  const doc = fakeDoc(30);
  doc.pinning = [{ name: "Session", object: true, pinnedBytes: 20 << 20, arenas: 20 }];
  const plain = renderHTML(doc);
  assert.match(plain, /<code>Session<\/code> pins 20 MiB in 20 arenas \(pymem why has the table\)/);
  const row = { name: "Session", object: true, typeAddress: null, pinnedBytes: 20 << 20, arenas: 20, sparseArenas: 19 };
  doc.objects = { pinning: [{ ...row, count: 100, bytes: 6400 }] };
  const html = renderHTML(doc);
  assert.match(html, /<code>Session<\/code> pins 20 MiB in 20 arenas \(the table below\)/);
  assert.doesNotMatch(/<div class="verdict[^"]*">[\s\S]*?<\/div>/.exec(html)![0], /`/);
  // The self-check is an attribute, never text.
  assert.match(html, /<body data-pymem-status="pymem-pending">/);
  const text = html.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<[^>]*>/g, "");
  assert.doesNotMatch(text, /pymem-(pending|ok)/);
});

test("no arenas: a small picture that says so; the chart and HTML too", () => {
  const doc = fakeDoc(0);
  doc.python.allocator = "malloc";
  assert.match(heatMapSVG(doc), /No obmalloc arenas are mapped/);
  assertWellFormed(sizeClassChartSVG(doc));
  assert.match(verdict(doc).lines[0], /allocator is malloc/);
  assert.match(renderHTML(doc), /pymem-pending/);
  assert.match(renderHeapText(doc), /No obmalloc arenas/);
});

test("size-class chart: one bar per class, with hover titles", () => {
  const doc = fakeDoc(40);
  const svg = sizeClassChartSVG(doc);
  assertWellFormed(svg);
  assert.equal(svg.match(/<g class="bar"><title>class \d+/g)?.length, doc.sizeClasses.length);
});

test("HTML report is self-contained: inline SVG, CSS and script, no external resource", () => {
  const html = renderHTML(fakeDoc(30));
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<div class="figure heat" id="heatmap"><div class="heat-map"><svg /);
  assert.match(html, /<div class="heat-legend"><svg [^>]*class="legend"/);
  assert.match(html, /<div class="figure" id="chart"><svg /);
  assert.match(html, /<div class="wide"><table class="sortable" id="classes">/);
  assert.match(html, /<div class="wide"><table class="sortable" id="arenas">/);
  assert.doesNotMatch(html, /\s(src|href)=/i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.deepEqual([...new Set(html.match(/https?:\/\/[^\s"')]+/g))], ["http://www.w3.org/2000/svg"]);
  // The embedded data block cannot end its <script> early.
  const data = /<script type="application\/json" id="pymem-data">([\s\S]*?)<\/script>/.exec(html)![1];
  assert.equal(JSON.parse(data).schema, "pymem.heap");
});

test("verdict in plain language: pinned arenas and what packing would need", () => {
  const doc = fakeDoc(412, () => 2);
  doc.fragmentation.arenasIfPacked = 37;
  doc.fragmentation.reclaimableArenas = 375;
  const v = verdict(doc);
  assert.equal(v.level, "badly fragmented");
  assert.ok(
    v.lines.includes(
      "412 arenas (412 MiB) are pinned by fewer than 5 live pools each; packing the live blocks would need 37 arenas (412 mapped).",
    ),
    v.lines.join("\n"),
  );
  assert.match(v.lines[0], /not a leak/);
  const compact = fakeDoc(3, () => 63);
  compact.fragmentation.reclaimableArenas = 0;
  assert.equal(verdict(compact).level, "compact");
  assert.equal(formatBytes(412 << 20), "412 MiB");
  assert.equal(formatBytes(1536), "1.5 KiB");
});

test("JSON: schema name and version are checked; pymem's version is package.json's", () => {
  assert.equal(PYMEM_VERSION, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
  assert.equal(parseHeapJSON(JSON.parse(JSON.stringify(fakeDoc(2)))).totals.arenas, 2);
  assert.throws(() => parseHeapJSON({ schema: "other" }), /not a pymem heap document/);
  assert.throws(
    () => parseHeapJSON({ ...fakeDoc(1), schemaVersion: SCHEMA_VERSION + 1 }),
    /schema version 2 is not supported/,
  );
  assert.throws(() => parseHeapJSON({ ...fakeDoc(1), arenas: undefined }), /no "arenas"/);
});

// ---- with the Python under test -----------------------------------------------------------------------------------

const py = await python();
py.run(
  "import gc\n_r = [(i, float(i), str(i) * 3) for i in range(200_000)]\n_keep = _r[::300]\ndel _r\ngc.collect()\n",
);

test("heapToJSON of the live heap: rows equal CPython's _debugmallocstats at the same moment; pools fit their arenas", () => {
  const [snap, stats] = py.withGIL(() => [py.heap(), py.debugMallocStats()] as const);
  const doc = parseHeapJSON(JSON.parse(JSON.stringify(heapToJSON(snap, { rss: 1 }))));
  assert.deepEqual(doc.sizeClasses, stats.sizeClasses);
  assert.equal(doc.totals.arenas, stats.values["# arenas allocated current"]);
  assert.equal(doc.layout.poolSize, stats.poolSize);
  assert.equal(doc.pools!.arena.length, doc.totals.pools);
  for (let i = 0; i < doc.pools!.arena.length; i++) {
    const a = doc.arenas[doc.pools!.arena[i]];
    assert.ok(
      doc.pools!.slot[i] >= 0 && doc.pools!.slot[i] < a.poolsTotal,
      `pool ${i}: slot ${doc.pools!.slot[i]} of ${a.poolsTotal}`,
    );
  }
  const svg = heatMapSVG(doc);
  assertWellFormed(svg);
  assert.equal(svg.match(/<rect class="p"/g)?.length, doc.totals.pools);
  assert.match(renderHeapText(doc), /Emptiest arenas/);
});

test("REPL summaries: HeapSnapshot, Python, PyMemAllocator, PoolHeader and ArenaObject print in one line", () => {
  const snap = py.heap();
  const pool = PoolHeader.of(py, BigInt(py.eval("id(_keep[0])") as number))!;
  const deno = (globalThis as { Deno?: { inspect(v: unknown): string } }).Deno;
  const show = (v: unknown) => (deno ? deno.inspect(v) : inspect(v));
  const cases: [unknown, RegExp][] = [
    [
      snap,
      /^HeapSnapshot\(CPython 3\.\d+\.\d+ \S+: [\d,]+ arenas \([\d.]+ MiB\), [\d,]+ pools, [\d,]+ blocks = [\d.]+ MiB live, \d+% utilized; [\d,]+ pinned, [\d,]+ reclaimable\)$/,
    ],
    [py, /^Python\(CPython 3\.\d+\.\d+, pymalloc(_debug)?, (bun|deno|koffi) backend, \/\S+\)$/],
    [py.allocator(), /^PyMemAllocator\(interp 0x[0-9a-f]+, CPython 3\.\d+\.\d+\)$/],
    [pool, /^PoolHeader @0x[0-9a-f]+: class \d+/],
    [pool.arena, /^ArenaObject/],
  ];
  for (const [value, pattern] of cases) {
    const text = show(value);
    assert.match(text, pattern);
    assert.ok(text.split("\n").length <= 3, text);
    if (deno) assert.match(inspect(value), pattern); // Node's inspect under Deno too
  }
});

test("JSON.stringify of a PoolHeader, ArenaObject, HeapSnapshot and ObjectsSnapshot: addresses as hex, no live handle", () => {
  const snap = py.heap();
  const pool = PoolHeader.of(py, BigInt(py.eval("id(_keep[0])") as number))!;
  const hex = /^0x[0-9a-f]+$/;
  const p = JSON.parse(JSON.stringify(pool));
  assert.equal(p.address, `0x${pool.address.toString(16)}`);
  assert.equal(p.ref.count, pool.ref.count);
  assert.equal(p.capacity, pool.capacity);
  assert.match(p.arena.address, hex);
  assert.equal(p.host, undefined);
  // A replacer sees only the JSON form: never the Python the header was read from.
  const seen: string[] = [];
  JSON.stringify(pool, (k, v) => (seen.push(k), typeof v === "bigint" ? String(v) : v));
  assert.ok(!seen.includes("host"), seen.join(" "));
  const a = JSON.parse(JSON.stringify(pool.arena));
  assert.equal(a.index, pool.arena.index);
  const h = JSON.parse(JSON.stringify(snap));
  assert.match(h.info.interp, hex);
  assert.deepEqual(h.totals, snap.totals);
  assert.equal(h.walk, undefined, "not the per-pool arrays");
  const o = JSON.parse(JSON.stringify(snap.objects()));
  assert.equal(o.totals.objects, snap.objects().totals.objects);
  assert.ok(o.byType.some((r: { typeAddress: string | null }) => r.typeAddress !== null && hex.test(r.typeAddress)));
});
