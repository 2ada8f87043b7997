/**
 * Pictures of a heap, as standalone SVG text: the heat map (one row per arena, one cell per pool, shaded by fill
 * and coloured by size class) and a size-class bar chart. Pure functions of the JSON document, so they are tested
 * without Python and re-render saved snapshots.
 * @module
 */
import { blockSizeOf, capacityOf, type HeapJSON } from "./json.ts";
import { formatBytes, formatInt } from "./text.ts";
import { printable } from "./printable.ts";
import { type AddressSpaceJSON, shownHolders } from "./rss.ts";

/** Options of {@link heatMapSVG}. */
export interface HeatMapOptions {
  /**
   * Most rows drawn (default 400). Beyond it, consecutive arenas are bucketed into one row each and a cell shows
   * the mean fill of that pool slot across the bucket; the title says so.
   */
  maxRows?: number;
  /** Title line (default: the Python version and totals). */
  title?: string;
  /**
   * What to draw (default "whole"): the map and its legend side by side; or one of them alone, for a page that lays
   * them out itself (the HTML report puts the legend beside the map, or under it on a narrow screen).
   */
  part?: "whole" | "map" | "legend";
}

/**
 * Escape text for XML content and attribute values. Control and bidi characters are shown as escapes (printable):
 * most C0 controls are not even allowed in XML, and the others would rewrite what the page shows.
 */
export function escapeXml(s: string): string {
  const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return printable(s, "\n\t").replace(/[&<>"']/g, (c) => entities[c]);
}

// pymalloc's SMALL_REQUEST_THRESHOLD: classes are 512 / ALIGNMENT, the same in every supported version.
const SMALL_REQUEST_THRESHOLD = 512;
const FONT = 'font-family="ui-sans-serif,system-ui,sans-serif"';
const EMPTY_POOL = "#d4d4d4";
const NEVER_USED = "#f1f1f1";

/** Hue of a size class: the spectrum from red (16 B) to violet (512 B), so neighbouring classes look alike. */
export function classHue(sizeClass: number, classes: number): number {
  return Math.round((sizeClass / Math.max(1, classes - 1)) * 280);
}

/** Fill colour of a pool: hue by size class, darker the fuller it is (empty-ish pools are pale). */
export function poolColor(sizeClass: number, fill: number, classes: number): string {
  const f = Math.min(1, Math.max(0, fill));
  return `hsl(${classHue(sizeClass, classes)},80%,${Math.round(80 - 48 * f)}%)`;
}

const n2 = (x: number): string => String(Math.round(x * 100) / 100);

/**
 * The heat map of a heap: one row per arena (by index), one cell per pool slot; used pools coloured by size class
 * and shaded by fill (blocks in use / capacity), empty and never-used pools in greys, with a legend and axis labels.
 * Each used pool is a `<rect class="p">` with a `<title>` (hover details). Above `maxRows` arenas, rows aggregate
 * buckets of arenas (mean fill per slot, hue of the most common class), and the title says so.
 */
export function heatMapSVG(doc: HeapJSON, options: HeatMapOptions = {}): string {
  const { layout, totals } = doc;
  const classes = SMALL_REQUEST_THRESHOLD / layout.alignment;
  const arenas = doc.arenas;
  const n = arenas.length;
  const title = options.title ??
    `CPython ${doc.python.version} (${doc.python.allocator ?? "custom allocator"}): ${formatInt(n)} arena${
        n === 1 ? "" : "s"
      } ` +
      `(${formatBytes(totals.arenaBytes)}), ${formatInt(totals.pools)} pool${totals.pools === 1 ? "" : "s"} in use, ${
        Math.round(doc.fragmentation.utilization * 100)
      }% utilized`;
  if (n === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="80" viewBox="0 0 640 80" role="img" ` +
      `data-arenas="0" data-pools="0" data-aggregated="false"><title>${escapeXml(title)}</title>` +
      `<rect width="640" height="80" fill="#fff"/><text x="16" y="32" ${FONT} font-size="15" font-weight="bold">${
        escapeXml(title)
      }</text>` +
      `<text x="16" y="56" ${FONT} font-size="13">No obmalloc arenas are mapped: nothing to draw.</text></svg>\n`;
  }
  const maxRows = Math.max(1, Math.floor(options.maxRows ?? 400));
  const per = n <= maxRows ? 1 : Math.ceil(n / maxRows);
  const rows = Math.ceil(n / per);
  const aggregated = per > 1;
  // Arena order: by CPython's index, so a re-sample of the same process lines up row for row.
  const order = arenas.map((_, i) => i).sort((a, b) => arenas[a].index - arenas[b].index);
  const rowOf = new Int32Array(n);
  order.forEach((a, pos) => (rowOf[a] = Math.floor(pos / per)));
  const cols = Math.max(1, ...arenas.map((a) => a.poolsTotal));

  const cellW = Math.max(6, Math.min(16, Math.floor(768 / cols)));
  const cellH = rows <= 24 ? 16 : Math.max(1.5, Math.min(16, 720 / rows));
  const left = 112, top = 64, gridW = cols * cellW, gridH = rows * cellH;
  const legendX = left + gridW + 28;
  const legendRows = doc.sizeClasses.length + 9;
  const part = options.part ?? "whole";
  // The map alone keeps room for its title line.
  const width = part === "map" ? Math.max(left + gridW + 24, 640) : legendX + 220;
  const height = part === "map" ? top + gridH + 56 : Math.max(top + gridH + 56, top + legendRows * 16 + 16);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${n2(height)}" viewBox="0 0 ${width} ${
      n2(height)
    }" ` +
      `role="img" aria-label="${
        escapeXml(title)
      }" data-arenas="${n}" data-pools="${totals.pools}" data-aggregated="${aggregated}">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>pymem heap map: rows are obmalloc arenas, cells are pools; colour = size class, shade = blocks in use / capacity.</desc>`,
    `<rect width="${width}" height="${n2(height)}" fill="#fff"/>`,
    `<text x="${left}" y="22" ${FONT} font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left}" y="42" ${FONT} font-size="12" fill="#444">${
      escapeXml(
        aggregated
          ? `Aggregated: each row is ${per} consecutive arenas (${rows} rows); a cell is the mean fill of that pool slot across them, coloured by its most common size class.`
          : "One row per arena, one cell per pool; colour = size class, shade = blocks in use / capacity.",
      )
    }</text>`,
  );

  // Row backgrounds: carved-but-empty pools, then the never-used tail of each arena.
  out.push(`<g class="rows">`);
  if (aggregated) {
    for (let r = 0; r < rows; r++) {
      out.push(
        `<rect x="${left}" y="${n2(top + r * cellH)}" width="${gridW}" height="${n2(cellH)}" fill="${EMPTY_POOL}"/>`,
      );
    }
  } else {
    for (let a = 0; a < n; a++) {
      const y = n2(top + rowOf[a] * cellH), ar = arenas[a];
      const carved = Math.min(ar.poolsCarved, ar.poolsTotal);
      if (carved > 0) {
        out.push(`<rect x="${left}" y="${y}" width="${carved * cellW}" height="${n2(cellH)}" fill="${EMPTY_POOL}"/>`);
      }
      if (ar.poolsTotal > carved) {
        out.push(
          `<rect x="${left + carved * cellW}" y="${y}" width="${(ar.poolsTotal - carved) * cellW}" height="${
            n2(cellH)
          }" fill="${NEVER_USED}"/>`,
        );
      }
    }
  }
  out.push(`</g>`);

  // Pools. Gaps between cells only where cells are big enough to spare a pixel.
  const gap = cellW >= 8 && cellH >= 8 ? 1 : 0;
  const w = cellW - gap, h = n2(Math.max(0.5, cellH - gap));
  const pools = doc.pools;
  out.push(`<g class="pools" ${FONT}>`);
  if (pools && !aggregated) {
    for (let i = 0; i < pools.arena.length; i++) {
      const a = pools.arena[i], c = pools.sizeClass[i], size = blockSizeOf(c, layout);
      const cap = capacityOf(size, layout), count = pools.blocksInUse[i], ar = arenas[a];
      const x = left + pools.slot[i] * cellW, y = n2(top + rowOf[a] * cellH);
      const holds = doc.objects?.poolTypes?.[i];
      const tip = `arena ${ar.index} (${ar.address}), pool ${pools.slot[i]}: class ${c} (${size} B blocks), ` +
        `${count}/${cap} blocks in use (${Math.round((100 * count) / cap)}%)` +
        (holds ? `; holds ${escapeXml(holds)}` : "");
      out.push(
        `<rect class="p" x="${x}" y="${y}" width="${w}" height="${h}" fill="${
          poolColor(c, count / cap, classes)
        }"><title>${tip}</title></rect>`,
      );
    }
  } else if (pools) {
    // Sum of fills and a class histogram per (row, slot).
    const sum = new Float64Array(rows * cols);
    const hist = new Map<number, Uint32Array>();
    for (let i = 0; i < pools.arena.length; i++) {
      const c = pools.sizeClass[i];
      const k = rowOf[pools.arena[i]] * cols + pools.slot[i];
      if (pools.slot[i] >= cols) continue;
      sum[k] += pools.blocksInUse[i] / capacityOf(blockSizeOf(c, layout), layout);
      let hc = hist.get(k);
      if (!hc) hist.set(k, hc = new Uint32Array(classes));
      hc[c]++;
    }
    for (const [k, hc] of hist) {
      const r = Math.floor(k / cols), s = k % cols;
      let best = 0;
      for (let c = 1; c < classes; c++) if (hc[c] > hc[best]) best = c;
      const inRow = Math.min(per, n - r * per);
      const mean = sum[k] / inRow;
      const first = arenas[order[r * per]].index, last = arenas[order[r * per + inRow - 1]].index;
      let used = 0;
      for (const x of hc) used += x;
      const tip = `arenas ${first}–${last}, pool ${s}: mean fill ${Math.round(mean * 100)}% over ${inRow} arenas ` +
        `(${used} used pools), mostly class ${best} (${blockSizeOf(best, layout)} B)`;
      out.push(
        `<rect class="a" x="${left + s * cellW}" y="${n2(top + r * cellH)}" width="${w}" height="${h}" fill="${
          poolColor(best, mean, classes)
        }"><title>${tip}</title></rect>`,
      );
    }
  }
  out.push(`</g>`);

  // Axes: arena labels on the left (at least 14 px apart), pool slots below.
  out.push(`<g class="axes" ${FONT} font-size="11" fill="#333">`);
  const every = Math.max(1, Math.ceil(14 / cellH));
  for (let r = 0; r < rows; r += every) {
    const first = arenas[order[r * per]].index;
    const label = aggregated ? `${first}–${arenas[order[Math.min(n, (r + 1) * per) - 1]].index}` : String(first);
    out.push(
      `<text x="${left - 6}" y="${
        n2(top + r * cellH + Math.min(cellH, 14) / 2 + 4)
      }" text-anchor="end">${label}</text>`,
    );
  }
  const tickEvery = cols > 32 ? 8 : cols > 8 ? 4 : 1;
  for (let s = 0; s < cols; s += tickEvery) {
    out.push(`<text x="${left + s * cellW + cellW / 2}" y="${n2(top + gridH + 14)}" text-anchor="middle">${s}</text>`);
  }
  out.push(
    `<text x="${left + gridW / 2}" y="${
      n2(top + gridH + 34)
    }" text-anchor="middle" font-size="12">pool within the arena (${formatBytes(layout.poolSize)} pools, ${
      formatBytes(layout.arenaSize)
    } arenas)</text>`,
    `<text transform="translate(${16},${n2(top + gridH / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${
      aggregated ? "arenas (by index, bucketed)" : "arena (index)"
    }</text>`,
    `</g>`,
  );

  // Legend: the size classes present, the shade ramp, the greys.
  const lg: string[] = [`<g class="legend" ${FONT} font-size="11" fill="#222">`];
  let ly = top;
  lg.push(`<text x="${legendX}" y="${ly - 8}" font-weight="bold" font-size="12">size class (block size)</text>`);
  for (const r of doc.sizeClasses) {
    lg.push(
      `<rect x="${legendX}" y="${ly}" width="12" height="12" fill="${poolColor(r.index, 0.85, classes)}"/>` +
        `<text x="${legendX + 18}" y="${ly + 10}">${r.index} · ${r.size} B · ${formatInt(r.pools)} pool${
          r.pools === 1 ? "" : "s"
        }</text>`,
    );
    ly += 16;
  }
  ly += 12;
  lg.push(`<text x="${legendX}" y="${ly}" font-weight="bold" font-size="12">fill (blocks in use / capacity)</text>`);
  ly += 6;
  const hue = doc.sizeClasses[0]?.index ?? 0;
  for (let i = 0; i <= 4; i++) {
    lg.push(
      `<rect x="${legendX + i * 30}" y="${ly}" width="30" height="12" fill="${poolColor(hue, i / 4, classes)}"/>`,
    );
  }
  lg.push(
    `<text x="${legendX}" y="${ly + 24}">0%</text><text x="${legendX + 150}" y="${
      ly + 24
    }" text-anchor="end">100%</text>`,
  );
  ly += 40;
  lg.push(
    `<rect x="${legendX}" y="${ly}" width="12" height="12" fill="${EMPTY_POOL}"/><text x="${legendX + 18}" y="${
      ly + 10
    }">empty pool (free, still mapped)</text>`,
    `<rect x="${legendX}" y="${ly + 18}" width="12" height="12" fill="${NEVER_USED}" stroke="#ccc"/><text x="${
      legendX + 18
    }" y="${ly + 28}">never used</text>`,
    `</g>`,
  );
  if (part === "legend") {
    // The same legend, in a picture cut to it: its viewBox starts where the whole picture has it.
    const x0 = legendX - 8, y0 = top - 24, w = 228, h = ly + 38 - y0;
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="${w}" height="${n2(h)}" ` +
      `viewBox="${x0} ${y0} ${w} ${n2(h)}" role="img" aria-label="legend of the heap map">`,
      `<rect x="${x0}" y="${y0}" width="${w}" height="${n2(h)}" fill="#fff"/>`,
      ...lg,
      `</svg>`,
    ].join("\n") + "\n";
  }
  if (part === "whole") out.push(...lg);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/**
 * A bytes axis up to `max` in about `ticks` steps: the binary unit of `max` (B, KiB, MiB, …) and a round step,
 * 1, 2 or 5 × 10^k of that unit, so every tick reads "5 MiB", "0.5 MiB", never "4.8 MiB" or a change of unit.
 */
export function byteAxis(max: number, ticks: number): { step: number; unit: number; unitName: string } {
  const k = Math.max(0, Math.min(4, Math.floor(Math.log2(Math.max(max, 1)) / 10)));
  const unit = 1024 ** k;
  const raw = Math.max(max / ticks, 1) / unit;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p * unit;
  return { step, unit, unitName: ["B", "KiB", "MiB", "GiB", "TiB"][k] };
}

/**
 * A bar chart of the size classes present: bytes in use (coloured by class) stacked with the free bytes inside
 * their pools (pale), each bar with a `<title>`.
 */
export function sizeClassChartSVG(doc: HeapJSON): string {
  const rows = doc.sizeClasses;
  const classes = SMALL_REQUEST_THRESHOLD / doc.layout.alignment;
  const barW = 22, left = 84, top = 40, plotH = 260;
  const width = Math.max(420, left + rows.length * (barW + 6) + 24);
  const height = top + plotH + 64;
  const title = "Bytes in use by size class (pale: free space inside their pools)";
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${title}" data-bars="${rows.length}">`,
    `<title>${title}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="22" ${FONT} font-size="14" font-weight="bold">${title}</text>`,
  ];
  if (rows.length === 0) {
    out.push(`<text x="${left}" y="${top + 30}" ${FONT} font-size="12">No size class has a pool in use.</text></svg>`);
    return out.join("\n") + "\n";
  }
  const max = Math.max(1, ...rows.map((r) => (r.blocksInUse + r.availBlocks) * r.size));
  const { step, unit, unitName } = byteAxis(max, 5);
  const top5 = Math.ceil(max / step) * step;
  const y = (v: number) => top + plotH - (v / top5) * plotH;
  out.push(`<g ${FONT} font-size="10" fill="#333">`);
  for (let v = 0; v <= top5 + step / 2; v += step) {
    out.push(`<line x1="${left}" x2="${width - 12}" y1="${n2(y(v))}" y2="${n2(y(v))}" stroke="#e5e5e5"/>`);
    const label = `${Number((v / unit).toPrecision(6))} ${unitName}`;
    out.push(`<text x="${left - 6}" y="${n2(y(v) + 3)}" text-anchor="end">${label}</text>`);
  }
  rows.forEach((r, i) => {
    const x = left + 6 + i * (barW + 6);
    const used = r.blocksInUse * r.size, free = r.availBlocks * r.size;
    const tip = `class ${r.index} (${r.size} B): ${formatInt(r.pools)} pool${r.pools === 1 ? "" : "s"}, ${
      formatInt(r.blocksInUse)
    } blocks = ${formatBytes(used)} in use, ${formatBytes(free)} free in its pools`;
    out.push(
      `<g class="bar"><title>${tip}</title>` +
        `<rect x="${x}" y="${n2(y(used + free))}" width="${barW}" height="${n2(y(used) - y(used + free))}" fill="${
          poolColor(r.index, 0.1, classes)
        }"/>` +
        `<rect x="${x}" y="${n2(y(used))}" width="${barW}" height="${n2(y(0) - y(used))}" fill="${
          poolColor(r.index, 0.8, classes)
        }"/></g>`,
      `<text transform="translate(${x + barW / 2 + 3},${top + plotH + 8}) rotate(60)">${r.size}</text>`,
    );
  });
  out.push(
    `<text x="${left + (width - left) / 2}" y="${
      height - 8
    }" text-anchor="middle" font-size="12">block size (bytes)</text>`,
    `<text transform="translate(16,${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">` +
      `bytes in the class's pools</text>`,
    `</g></svg>`,
  );
  return out.join("\n") + "\n";
}

/** Colours of the RSS holders and of a glibc arena's parts. */
const HOLDER_COLOR: Record<string, string> = {
  pymalloc: "#2f6fdf",
  mimalloc: "#1f9fb0",
  mallocInUse: "#7b4fc9",
  mallocFree: "#e8871e",
  stacks: "#2e9d4b",
  code: "#8a8f98",
  other: "#c9ccd1",
};

/**
 * The RSS by holder as one stacked bar, then glibc's arenas one per row, each as long as its system bytes: the
 * chunks in use, the free chunks and the top chunk, with what malloc_trim(0) would give back (resident) marked
 * under it. Tooltips are the segments' `<title>`s.
 */
export function addressSpaceSVG(doc: AddressSpaceJSON): string {
  const W = 900, left = 110, barW = W - left - 20, rowH = 18, gap = 8;
  const arenas = doc.malloc.arenas;
  const H = arenas.length ? 112 + arenas.length * (rowH + gap) : 70;
  const out: string[] = [];
  const seg = (x: number, y: number, w: number, h: number, fill: string, title: string) =>
    w <= 0
      ? ""
      : `<g class="bar"><rect class="r" x="${x.toFixed(1)}" y="${y}" width="${
        Math.max(0.5, w).toFixed(1)
      }" height="${h}" fill="${fill}"/><title>${escapeXml(title)}</title></g>`;
  const rss = doc.total.rss;
  out.push(`<text x="0" y="14" font-size="12" font-weight="600">RSS ${escapeXml(formatBytes(rss))} by holder</text>`);
  let x = 0;
  for (const h of shownHolders(doc.breakdown)) {
    const bytes = doc.breakdown[h.key], w = rss > 0 ? (bytes / rss) * (W - 20) : 0;
    const share = rss > 0 ? ((100 * bytes) / rss).toFixed(1) : "0";
    out.push(seg(x, 22, w, 22, HOLDER_COLOR[h.key], `${h.label}: ${formatBytes(bytes)} (${share}% of RSS)`));
    x += w;
  }
  let lx = 0;
  for (const h of shownHolders(doc.breakdown)) {
    out.push(
      `<rect x="${lx}" y="52" width="10" height="10" fill="${HOLDER_COLOR[h.key]}"/>` +
        `<text x="${lx + 14}" y="61" font-size="11">${escapeXml(h.label)}</text>`,
    );
    lx += 14 + h.label.length * 6.2 + 16;
  }
  if (arenas.length) {
    const y0 = 108;
    out.push(
      `<text x="0" y="${y0 - 24}" font-size="12" font-weight="600">glibc malloc's arenas (length: bytes from the ` +
        "system)</text>",
    );
    let kx = 0;
    for (
      const [fill, label] of [
        [HOLDER_COLOR.mallocInUse, "chunks in use"],
        [HOLDER_COLOR.mallocFree, "free chunks"],
        ["#b0b4ba", "top chunk"],
        ["#2e9d4b", "malloc_trim(0) gives back (resident)"],
      ]
    ) {
      out.push(
        `<rect x="${kx}" y="${y0 - 18}" width="10" height="10" fill="${fill}"/>` +
          `<text x="${kx + 14}" y="${y0 - 9}" font-size="11">${escapeXml(label)}</text>`,
      );
      kx += 14 + label.length * 6.2 + 16;
    }
    const max = Math.max(...arenas.map((a) => a.systemBytes), 1);
    arenas.forEach((a, i) => {
      const y = y0 + i * (rowH + gap), scale = barW / max;
      const label = a.kind === "main" ? "main arena" : `thread arena ${a.index}`;
      out.push(`<text x="0" y="${y + 13}" font-size="11">${escapeXml(label)}</text>`);
      let ax = left;
      const parts: [number, string, string][] = [
        [
          a.inUseBytes,
          HOLDER_COLOR.mallocInUse,
          `in use: ${formatInt(a.inUseChunks)} chunks, ${formatBytes(a.inUseBytes)}`,
        ],
        [a.freeBytes, HOLDER_COLOR.mallocFree, `free: ${formatInt(a.freeChunks)} chunks, ${formatBytes(a.freeBytes)}`],
        [a.topBytes, "#b0b4ba", `top chunk: ${formatBytes(a.topBytes)}`],
      ];
      for (const [bytes, fill, title] of parts) {
        const w = bytes * scale;
        const tip = `${label} (${formatBytes(a.systemBytes)} from the system) — ${title}`;
        out.push(seg(ax, y, w, rowH - 4, fill, tip));
        ax += w;
      }
      const rec = a.reclaimableResidentBytes ?? 0;
      out.push(
        seg(left, y + rowH - 3, rec * scale, 3, "#2e9d4b", `${label}: malloc_trim(0) gives back ${formatBytes(rec)}`),
      );
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
    `font-family="ui-sans-serif, system-ui, sans-serif" role="img" aria-label="RSS by holder and glibc's arenas">` +
    out.join("") + "</svg>";
}
