/**
 * The self-contained HTML report (`pymem heap --html`): the heat map and the size-class chart inline as SVG, the
 * summary, the verdict and the tables, with CSS and a little JavaScript (hover tooltips, sortable tables) and no
 * external resource of any kind, so it can be attached to a ticket or a CI run and opened offline.
 *
 * The page reports on itself for tests, out of sight: once loaded, `<body data-pymem-status>` reads
 * `pymem-ok cells=N` when no script error occurred (window "error" events are recorded from the first line of
 * <head>), else `pymem-error: …`.
 * @module
 */
import type { HeapJSON } from "./json.ts";
import { addressSpaceSVG, escapeXml, type HeatMapOptions, heatMapSVG, sizeClassChartSVG } from "./svg.ts";
import { rssVerdict, shownHolders } from "./rss.ts";
import { formatBytes, formatInt, summaryText, verdict } from "./text.ts";
import { type MimallocJSON, renderMimallocText } from "./mimalloc.ts";
import { mimallocHeatMapSVG } from "./mimalloc-svg.ts";

const CSS = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e3; --accent: #2f6fdf; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 24px; font: 14px/1.45 ui-sans-serif, system-ui, sans-serif; color: var(--fg); }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f1f3f4; padding: 0 3px;
  border-radius: 3px; }
.samples ul { margin: 4px 0; padding-left: 20px; } .samples li { margin: 4px 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
pre.summary { background: #f7f7f8; border: 1px solid var(--line); padding: 12px; border-radius: 6px; overflow-x: auto; }
.verdict { border-left: 4px solid var(--v); padding: 8px 12px; background: #fafafa; }
.verdict p { margin: 4px 0; } .verdict p:first-child { font-weight: 600; }
.verdict.compact { --v: #2e9d4b; } .verdict.fragmented { --v: #e0a000; } .verdict.badly { --v: #d93025; } .verdict.empty { --v: #999; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
/* The pictures shrink to the page (their viewBox keeps them whole, legend included) rather than scroll. */
.figure svg { display: block; max-width: 100%; height: auto; }
/* A table wider than a small screen scrolls inside itself (only there: a scrolling box ends sticky headers). */
@media (max-width: 760px) { .wide { overflow-x: auto; } }
/* The heat map's legend beside it, or under it when the page is too narrow for both. */
.heat { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-start; }
.heat-map { flex: 1 1 560px; min-width: 0; } .heat-legend { flex: 0 0 auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; }
th { cursor: pointer; user-select: none; background: #f7f7f8; position: sticky; top: 0; }
th.sorted-asc::after { content: " ▲"; } th.sorted-desc::after { content: " ▼"; }
td.l, th.l { text-align: left; }
.bar { display: inline-block; height: 10px; background: var(--accent); vertical-align: middle; }
#tip { position: fixed; pointer-events: none; background: rgba(20,20,20,.92); color: #fff; padding: 6px 8px;
  border-radius: 4px; font-size: 12px; max-width: 420px; z-index: 10; }
svg rect.p:hover, svg rect.a:hover { stroke: #000; stroke-width: 1; }
`;

// Recorded from the first line of <head>, so an error in any later script is seen.
const HEAD_SCRIPT =
  "window.__pymemErrors=[];window.addEventListener('error',function(e){window.__pymemErrors.push(String(e.message||e.type));});";

// Tooltips from the SVG <title> children (moved to data-tip on first hover, so the browser's own tooltip does not
// double them), click-to-sort tables, and the self-check written into #pymem-status.
const BODY_SCRIPT = `
(function () {
  var tip = document.getElementById("tip");
  function target(el) { return el && el.closest ? el.closest("rect.p, rect.a, g.bar") : null; }
  document.addEventListener("mouseover", function (e) {
    var t = target(e.target);
    if (!t) { tip.hidden = true; return; }
    if (!t.hasAttribute("data-tip")) {
      var title = t.querySelector("title");
      t.setAttribute("data-tip", title ? title.textContent : "");
      if (title) title.remove();
    }
    tip.textContent = t.getAttribute("data-tip");
    tip.hidden = false;
  });
  document.addEventListener("mousemove", function (e) {
    if (tip.hidden) return;
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (e.clientY + 14) + "px";
  });
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
          var nx = Number(x), ny = Number(y);
          var c = isNaN(nx) || isNaN(ny) ? String(x).localeCompare(String(y)) : nx - ny;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  window.addEventListener("load", function () {
    setTimeout(function () {
      var errors = window.__pymemErrors || [];
      var cells = document.querySelectorAll("#heatmap rect.p, #heatmap rect.a").length;
      var status = errors.length ? "pymem-error: " + errors.join("; ") : "pymem-ok cells=" + cells;
      document.body.setAttribute("data-pymem-status", status);
    }, 0);
  });
})();
`;

/** "Where the RSS is": the breakdown, its verdict and the picture of glibc's arenas (when the document has them). */
function rssSection(doc: HeapJSON): string {
  const s = doc.addressSpace;
  if (!s) return "";
  const rss = s.total.rss;
  const rows = shownHolders(s.breakdown).map((h) => ({ ...h, bytes: s.breakdown[h.key] })).sort((a, b) =>
    b.bytes - a.bytes
  ).map((h) =>
    `<tr>${td(h.label, h.label, "l")}${td(h.bytes, formatBytes(h.bytes))}${
      td(rss ? h.bytes / rss : 0, rss ? `${((100 * h.bytes) / rss).toFixed(1)}%` : "–")
    }</tr>`
  );
  const lines = rssVerdict(s, doc.totals.bytesInUse);
  return `<h2 id="rss">Where the RSS is</h2>
<div class="verdict ${s.breakdown.mallocFree > rss / 4 ? "fragmented" : "compact"}">${
    lines.map((l) => `<p>${withCode(l)}</p>`).join("")
  }</div>
<div class="figure" id="rss-picture">${addressSpaceSVG(s)}</div>
<div class="wide"><table class="sortable" id="holders">
<thead><tr><th class="l">holder</th><th>RSS</th><th>share</th></tr></thead>
<tbody>${rows.join("\n")}</tbody>
</table></div>
`;
}

/** A table cell whose sort key (`data-v`) is the raw value. */
const td = (v: number | string, text: string = String(v), cls = ""): string =>
  `<td${cls ? ` class="${cls}"` : ""} data-v="${escapeXml(String(v))}">${escapeXml(text)}</td>`;

const SAMPLES_NOTE = '<p class="muted">Instances of the top types from the emptiest arenas (the ones they keep ' +
  "mapped), and what keeps each alive.</p>";

/** Escaped text whose `code spans` (the verdict names types so) become <code>. */
const withCode = (s: string): string => escapeXml(s).replace(/`([^`]+)`/g, "<code>$1</code>");

/** Options of {@link renderHTML}. */
export interface HtmlOptions extends HeatMapOptions {
  /** Arenas listed in the "emptiest arenas" table (default 25). */
  worstArenas?: number;
}

/**
 * "What holds the memory": the kinds of live blocks by pinned bytes (lib/objects) and, in-process, sample objects
 * of the top types with what keeps each alive and where it was allocated. Empty when the heap was not classified.
 */
function objectsSection(doc: HeapJSON): string {
  const o = doc.objects;
  if (!o) return "";
  const rows = o.pinning.map((r) =>
    `<tr>${td(r.name, r.object ? r.name : `(${r.name})`, "l")}${td(r.pinnedBytes, formatBytes(r.pinnedBytes))}${
      td(r.arenas, formatInt(r.arenas))
    }` +
    `${td(r.sparseArenas, formatInt(r.sparseArenas))}${td(r.count, formatInt(r.count))}${
      td(r.bytes, formatBytes(r.bytes))
    }</tr>`
  );
  const samples = (o.samples ?? []).filter((t) => t.samples.length).map((t) =>
    `<h3><code>${escapeXml(t.name)}</code></h3><ul>` +
    t.samples.map((s) =>
      `<li><code>${escapeXml(s.repr ?? `(${s.address}: gone)`)}</code>` +
      (s.path
        ? `<br>kept by <code>${escapeXml(s.path)}</code>`
        : '<br><span class="muted">no root found within the limits</span>') +
      (s.traceback ? `<br>allocated at <code>${escapeXml(s.traceback[s.traceback.length - 1] ?? "")}</code>` : "") +
      `</li>`
    ).join("") + `</ul>`
  ).join("\n");
  return `<h2 id="holds">What holds the memory</h2>
<p class="muted">Each arena's size shared among its live blocks by their size: what each kind keeps mapped. Parenthesized rows are buffers, not objects.</p>
<div class="wide"><table class="sortable" id="pinning">
<thead><tr><th class="l">type</th><th>pinned</th><th>arenas</th><th>sparse arenas</th><th>blocks</th><th>bytes</th></tr></thead>
<tbody>${rows.join("\n")}</tbody>
</table></div>
${samples ? `<div id="samples" class="samples">${SAMPLES_NOTE}${samples}</div>\n` : ""}`;
}

/** The whole report as one self-contained HTML page. */
export function renderHTML(doc: HeapJSON, options: HtmlOptions = {}): string {
  const v = verdict(doc, doc.objects ? "the table below" : undefined);
  const cls = v.level === "badly fragmented" ? "badly" : v.level;
  const title = `pymem heap — CPython ${doc.python.version} (${doc.python.allocator ?? "custom allocator"})`;
  const classRows = doc.sizeClasses.map((r) => {
    const fill = r.blocksInUse / Math.max(1, r.blocksInUse + r.availBlocks);
    return `<tr>${td(r.index)}${td(r.size)}${td(r.pools, formatInt(r.pools))}${
      td(r.blocksInUse, formatInt(r.blocksInUse))
    }` +
      `${td(r.availBlocks, formatInt(r.availBlocks))}${
        td(r.blocksInUse * r.size, formatBytes(r.blocksInUse * r.size))
      }` +
      `<td data-v="${fill}"><span class="bar" style="width:${Math.round(fill * 60)}px"></span> ${
        Math.round(fill * 100)
      }%</td></tr>`;
  });
  const worst = [...doc.arenas].sort((a, b) => a.fill - b.fill || a.index - b.index).slice(
    0,
    options.worstArenas ?? 25,
  );
  const arenaRows = worst.map((a) =>
    `<tr>${td(a.index)}${td(a.address, a.address, "l")}${td(a.poolsUsed, `${a.poolsUsed}/${a.poolsTotal}`)}` +
    `${td(a.blocksInUse, formatInt(a.blocksInUse))}${td(a.bytesInUse, formatBytes(a.bytesInUse))}${
      td(a.fill, `${(a.fill * 100).toFixed(1)}%`)
    }</tr>`
  );
  // The figures a tool may want from the page, without the per-arena and per-pool arrays; "</" cannot end it early.
  const data = JSON.stringify({
    schema: doc.schema,
    schemaVersion: doc.schemaVersion,
    pymemVersion: doc.pymemVersion,
    takenAt: doc.takenAt,
    python: doc.python,
    totals: doc.totals,
    fragmentation: doc.fragmentation,
    sizeClasses: doc.sizeClasses,
    rss: doc.rss,
  }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>${HEAD_SCRIPT}</script>
<title>${escapeXml(title)}</title>
<style>${CSS}</style>
</head>
<body data-pymem-status="pymem-pending">
<header>
<h1>${escapeXml(title)}</h1>
<div class="muted">taken ${escapeXml(doc.takenAt)} · pymem ${escapeXml(doc.pymemVersion)} · schema ${
    escapeXml(doc.schema)
  }/${doc.schemaVersion}</div>
</header>
${rssSection(doc)}<h2>Summary</h2>
<pre class="summary">${escapeXml(summaryText(doc))}</pre>
<h2>Fragmentation</h2>
<div class="verdict ${cls}">${v.lines.map((l) => `<p>${withCode(l)}</p>`).join("")}</div>
${objectsSection(doc)}<h2>Heap map</h2>
<div class="figure heat" id="heatmap"><div class="heat-map">${heatMapSVG(doc, { ...options, part: "map" })}</div>` +
    (doc.arenas.length ? `<div class="heat-legend">${heatMapSVG(doc, { ...options, part: "legend" })}</div>` : "") +
    `</div>
<h2>Size classes</h2>
<div class="figure" id="chart">${sizeClassChartSVG(doc)}</div>
<div class="wide"><table class="sortable" id="classes">
<thead><tr><th>class</th><th>size</th><th>pools</th><th>blocks in use</th><th>avail blocks</th><th>bytes in use</th><th>fill</th></tr></thead>
<tbody>${classRows.join("\n")}</tbody>
</table></div>
<h2>Emptiest arenas <span class="muted">(${worst.length} of ${
      formatInt(doc.arenas.length)
    }, lowest fill first)</span></h2>
<div class="wide"><table class="sortable" id="arenas">
<thead><tr><th>arena</th><th class="l">address</th><th>pools used</th><th>blocks</th><th>bytes</th><th>fill</th></tr></thead>
<tbody>${arenaRows.join("\n")}</tbody>
</table></div>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="pymem-data">${data}</script>
<script>${BODY_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * The HTML report of a mimalloc heap (`pymem heap --html` under PYTHONMALLOC=mimalloc): the same page as
 * {@link renderHTML}, drawn from the `pymem.mimalloc` document: summary, what keeps the pages committed (when the
 * document carries `objects`), the heat map with one row per segment (lib/report/mimalloc-svg.ts), the block sizes
 * and the emptiest segments.
 */
export function renderMimallocHTML(doc: MimallocJSON, options: { worstSegments?: number } = {}): string {
  const title = `pymem heap — CPython ${doc.python.version} (mimalloc ${doc.mimalloc.release})`;
  const o = doc.objects;
  const holds = o
    ? `<h2 id="holds">What holds the memory</h2>
<p class="muted">Each page with live blocks is charged to the kinds on it, by their bytes: what keeps it committed.</p>
<div class="wide"><table class="sortable" id="pinning">
<thead><tr><th class="l">type</th><th>pinned</th><th>pages</th><th>sparse pages</th><th>segments</th><th>blocks</th><th>bytes</th></tr></thead>
<tbody>${
      o.pinning.map((r) =>
        `<tr>${td(r.name, r.object ? r.name : `(${r.name})`, "l")}${td(r.pinnedBytes, formatBytes(r.pinnedBytes))}${
          td(r.pages, formatInt(r.pages))
        }${td(r.sparse, formatInt(r.sparse))}${td(r.segments, formatInt(r.segments))}${
          td(r.count, formatInt(r.count))
        }${td(r.bytes, formatBytes(r.bytes))}</tr>`
      ).join("\n")
    }</tbody>
</table></div>
`
    : "";
  const sizeRows = doc.sizeClasses.map((r) => {
    const fill = r.blocksInUse / Math.max(1, r.blocksInUse + r.availBlocks);
    return `<tr>${td(r.size, formatInt(r.size))}${td(r.kind, r.kind, "l")}${td(r.pages, formatInt(r.pages))}${
      td(r.blocksInUse, formatInt(r.blocksInUse))
    }${td(r.availBlocks, formatInt(r.availBlocks))}${td(r.blocksInUse * r.size, formatBytes(r.blocksInUse * r.size))}` +
      `<td data-v="${fill}"><span class="bar" style="width:${Math.round(fill * 60)}px"></span> ${
        Math.round(fill * 100)
      }%</td></tr>`;
  });
  const heapRows = doc.heaps.map((x) =>
    `<tr>${td(x.address, x.address + (x.main ? " (main)" : ""), "l")}${td(x.threadId)}${
      td(x.pages, formatInt(x.pages))
    }${td(x.blocksInUse, formatInt(x.blocksInUse))}${td(x.bytesInUse, formatBytes(x.bytesInUse))}${
      td(x.bytesAvailable, formatBytes(x.bytesAvailable))
    }</tr>`
  );
  const worst = [...doc.segments].sort((a, b) => a.fill - b.fill).slice(0, options.worstSegments ?? 25);
  const segRows = worst.map((s) =>
    `<tr>${td(s.address, s.address, "l")}${
      td(s.abandoned ? 0 : s.threadId, s.abandoned ? "abandoned" : String(s.threadId))
    }${td(s.usedPages, formatInt(s.usedPages))}${td(s.blocksInUse, formatInt(s.blocksInUse))}${
      td(s.bytesInUse, formatBytes(s.bytesInUse))
    }${td(s.fill, `${(s.fill * 100).toFixed(1)}%`)}</tr>`
  );
  const data = JSON.stringify({
    schema: doc.schema,
    schemaVersion: doc.schemaVersion,
    pymemVersion: doc.pymemVersion,
    takenAt: doc.takenAt,
    python: doc.python,
    mimalloc: doc.mimalloc,
    totals: doc.totals,
    fragmentation: doc.fragmentation,
    abandoned: doc.abandoned,
    sizeClasses: doc.sizeClasses,
    rss: doc.rss,
  }).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>${HEAD_SCRIPT}</script>
<title>${escapeXml(title)}</title>
<style>${CSS}</style>
</head>
<body data-pymem-status="pymem-pending">
<header>
<h1>${escapeXml(title)}</h1>
<div class="muted">taken ${escapeXml(doc.takenAt)} · pymem ${escapeXml(doc.pymemVersion)} · schema ${
    escapeXml(doc.schema)
  }/${doc.schemaVersion}</div>
</header>
<h2>Summary</h2>
<pre class="summary">${escapeXml(renderMimallocText(doc, { worstArenas: 0 }).split("\n\n")[0])}</pre>
<h2>Thread heaps</h2>
<div class="wide"><table class="sortable" id="heaps">
<thead><tr><th class="l">heap</th><th>thread</th><th>pages</th><th>blocks</th><th>in use</th><th>free in pages</th></tr></thead>
<tbody>${heapRows.join("\n")}</tbody>
</table></div>
${holds}<h2>Heap map</h2>
<div class="figure heat" id="heatmap"><div class="heat-map">${mimallocHeatMapSVG(doc, { part: "map" })}</div>` +
    (doc.segments.length ? `<div class="heat-legend">${mimallocHeatMapSVG(doc, { part: "legend" })}</div>` : "") +
    `</div>
<h2>Block sizes</h2>
<div class="wide"><table class="sortable" id="classes">
<thead><tr><th>size</th><th class="l">kind</th><th>pages</th><th>blocks in use</th><th>free blocks</th><th>bytes in use</th><th>fill</th></tr></thead>
<tbody>${sizeRows.join("\n")}</tbody>
</table></div>
<h2>Emptiest segments <span class="muted">(${worst.length} of ${
      formatInt(doc.segments.length)
    }, lowest fill first)</span></h2>
<div class="wide"><table class="sortable" id="segments">
<thead><tr><th class="l">segment</th><th>owner thread</th><th>pages used</th><th>blocks</th><th>bytes</th><th>fill</th></tr></thead>
<tbody>${segRows.join("\n")}</tbody>
</table></div>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="pymem-data">${data}</script>
<script>${BODY_SCRIPT}</script>
</body>
</html>
`;
}
