/**
 * The heat map of a mimalloc heap (`pymem heap --svg` under PYTHONMALLOC=mimalloc), as standalone SVG text: one row
 * per segment, its slices left to right; each page a cell as wide as the slices it spans, coloured by block size and
 * shaded by fill (blocks in use / the most it can hold). A pure function of the `pymem.mimalloc` document, beside
 * obmalloc's heat map (svg.ts), whose rows are arenas of fixed pools.
 * @module
 */
import type { MimallocJSON } from "./mimalloc.ts";
import { escapeXml } from "./svg.ts";
import { formatBytes, formatInt } from "./text.ts";

/** Options of {@link mimallocHeatMapSVG}. */
export interface MimallocHeatMapOptions {
  /** Title line (default: the Python version and totals). */
  title?: string;
  /** What to draw (default "whole"): the map and its legend side by side, or one of them alone. */
  part?: "whole" | "map" | "legend";
}

const FONT = 'font-family="ui-sans-serif,system-ui,sans-serif"';
const HEADER = "#8a8a8a";
const EMPTY_PAGE = "#d4d4d4";
const FREE = "#f1f1f1";
const n2 = (x: number): string => String(Math.round(x * 100) / 100);

/** Hue of a block size: red (8 B) to violet (16 MiB and more) on a log scale, so neighbouring bins look alike. */
export function sizeHue(size: number): number {
  const l = Math.min(24, Math.max(3, Math.log2(Math.max(1, size))));
  return Math.round(((l - 3) / 21) * 280);
}

/** Fill colour of a page: hue by block size, darker the fuller it is. */
export function pageColor(size: number, fill: number): string {
  const f = Math.min(1, Math.max(0, fill));
  return `hsl(${sizeHue(size)},80%,${Math.round(80 - 48 * f)}%)`;
}

/**
 * One row per segment (by address), one column per slice (64 KiB): the segment's own header slices in dark grey,
 * free spans pale, each page a `<rect class="p">` spanning its slices with a `<title>` (hover details; what it holds
 * when the document carries `objects.pageTypes`); pages kept with no live block in grey. A huge segment (one page
 * larger than a normal segment) is drawn across the row, its size in the tooltip.
 */
export function mimallocHeatMapSVG(doc: MimallocJSON, options: MimallocHeatMapOptions = {}): string {
  const t = doc.totals, segs = doc.segments, n = segs.length;
  const title = options.title ??
    `CPython ${doc.python.version} (mimalloc ${doc.mimalloc.release}): ${formatInt(n)} segment${n === 1 ? "" : "s"} ` +
      `(${formatBytes(t.segmentBytes)}), ${formatInt(t.pages)} page${t.pages === 1 ? "" : "s"} in use, ${
        Math.round(doc.fragmentation.utilization * 100)
      }% utilized`;
  if (n === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="80" viewBox="0 0 640 80" role="img" ` +
      `data-segments="0" data-pages="0"><title>${escapeXml(title)}</title><rect width="640" height="80" fill="#fff"/>` +
      `<text x="16" y="32" ${FONT} font-size="15" font-weight="bold">${escapeXml(title)}</text>` +
      `<text x="16" y="56" ${FONT} font-size="13">No mimalloc segment is mapped: nothing to draw.</text></svg>\n`;
  }
  const cols = Math.max(1, Math.round(doc.mimalloc.segmentSize / doc.mimalloc.sliceSize));
  const cellW = Math.max(1, Math.min(16, Math.floor(1024 / cols)));
  const cellH = n <= 24 ? 16 : Math.max(1, Math.min(16, 720 / n));
  const left = 112, top = 64, gridW = cols * cellW, gridH = n * cellH;
  const legendX = left + gridW + 28;
  const part = options.part ?? "whole";
  const width = part === "map" ? Math.max(left + gridW + 24, 640) : legendX + 220;
  const height = part === "map" ? top + gridH + 56 : Math.max(top + gridH + 56, top + 14 * 16 + 16);
  const order = segs.map((_, i) => i).sort((a, b) => (BigInt(segs[a].address) < BigInt(segs[b].address) ? -1 : 1));
  const rowOf = new Int32Array(n);
  order.forEach((s, r) => (rowOf[s] = r));
  const y = (s: number) => n2(top + rowOf[s] * cellH);
  const h = n2(Math.max(0.5, cellH - (cellH >= 8 ? 1 : 0)));

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${n2(height)}" viewBox="0 0 ${width} ${
      n2(height)
    }" role="img" aria-label="${escapeXml(title)}" data-segments="${n}" data-pages="${doc.pages.segment.length}">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>pymem mimalloc map: rows are segments, columns their ${
      formatBytes(doc.mimalloc.sliceSize)
    } slices; each page spans its slices; colour = block size, shade = blocks in use / reserved.</desc>`,
    `<rect width="${width}" height="${n2(height)}" fill="#fff"/>`,
    `<text x="${left}" y="22" ${FONT} font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left}" y="42" ${FONT} font-size="12" fill="#444">${
      escapeXml(
        "One row per segment, one column per slice; a page spans its slices; colour = block size, shade = fill.",
      )
    }</text>`,
    `<g class="rows">`,
  ];
  for (let s = 0; s < n; s++) {
    const seg = segs[s];
    const info = Math.min(cols, seg.infoSlices);
    out.push(
      `<rect x="${left}" y="${y(s)}" width="${gridW}" height="${h}" fill="${FREE}"/>`,
      `<rect x="${left}" y="${y(s)}" width="${
        info * cellW
      }" height="${h}" fill="${HEADER}"><title>segment ${seg.address} (${
        seg.abandoned ? "abandoned" : `thread ${seg.threadId}`
      }): its header, ${info} slice${info === 1 ? "" : "s"}</title></rect>`,
    );
  }
  out.push(`</g>`, `<g class="pages" ${FONT}>`);
  const p = doc.pages;
  const types = doc.objects?.pageTypes;
  for (let i = 0; i < p.segment.length; i++) {
    const s = p.segment[i];
    if (s < 0) continue;
    const seg = segs[s];
    const first = Math.min(cols - 1, p.slice[i]), span = Math.max(1, Math.min(cols - first, p.slices[i]));
    const size = p.blockSize[i], used = p.used[i], res = Math.max(1, p.reserved[i]);
    const owner = p.heap[i] < 0 ? "abandoned" : `heap ${doc.heaps[p.heap[i]].address}`;
    const tip =
      `segment ${seg.address}, slice ${p.slice[i]} (${p.kind[i]}, ${
        formatBytes(p.slices[i] * doc.mimalloc.sliceSize)
      }): ${formatInt(size)} B blocks, ${formatInt(used)}/${formatInt(p.reserved[i])} in use (${
        Math.round((100 * used) / res)
      }%), ${owner}` + (types?.[i] ? `; holds ${types[i]}` : "");
    out.push(
      `<rect class="p" x="${left + first * cellW}" y="${y(s)}" width="${span * cellW - (cellW > 2 ? 1 : 0)}" ` +
        `height="${h}" fill="${used === 0 ? EMPTY_PAGE : pageColor(size, used / res)}"><title>${
          escapeXml(tip)
        }</title></rect>`,
    );
  }
  out.push(`</g>`, `<g class="axes" ${FONT} font-size="11" fill="#333">`);
  const every = Math.max(1, Math.ceil(14 / cellH));
  for (let r = 0; r < n; r += every) {
    const seg = segs[order[r]];
    const label = seg.abandoned ? `${seg.address} ∅` : seg.address;
    out.push(
      `<text x="${left - 6}" y="${
        n2(top + r * cellH + Math.min(cellH, 14) / 2 + 4)
      }" text-anchor="end" font-size="9">${label}</text>`,
    );
  }
  const tick = Math.max(1, Math.ceil(cols / 8));
  for (let c = 0; c <= cols; c += tick) {
    out.push(`<text x="${left + c * cellW}" y="${n2(top + gridH + 14)}" text-anchor="middle">${c}</text>`);
  }
  out.push(
    `<text x="${left + gridW / 2}" y="${n2(top + gridH + 34)}" text-anchor="middle" font-size="12">slice within the ` +
      `segment (${formatBytes(doc.mimalloc.sliceSize)} slices, ${
        formatBytes(doc.mimalloc.segmentSize)
      } segments; ∅ abandoned)</text>`,
    `</g>`,
  );

  const lg: string[] = [`<g class="legend" ${FONT} font-size="11" fill="#222">`];
  let ly = top;
  lg.push(`<text x="${legendX}" y="${ly - 8}" font-weight="bold" font-size="12">block size</text>`);
  for (const size of [8, 64, 512, 4096, 32768, 262144, 2097152, 16777216]) {
    lg.push(
      `<rect x="${legendX}" y="${ly}" width="12" height="12" fill="${pageColor(size, 0.85)}"/>` +
        `<text x="${legendX + 18}" y="${ly + 10}">${formatBytes(size)}${size === 16777216 ? " and more" : ""}</text>`,
    );
    ly += 16;
  }
  ly += 12;
  lg.push(`<text x="${legendX}" y="${ly}" font-weight="bold" font-size="12">fill (in use / reserved)</text>`);
  ly += 6;
  for (let i = 0; i <= 4; i++) {
    lg.push(`<rect x="${legendX + i * 30}" y="${ly}" width="30" height="12" fill="${pageColor(512, i / 4)}"/>`);
  }
  lg.push(
    `<text x="${legendX}" y="${ly + 24}">0%</text><text x="${legendX + 150}" y="${
      ly + 24
    }" text-anchor="end">100%</text>`,
  );
  ly += 40;
  const swatch = (fill: string, text: string, at: number) =>
    `<rect x="${legendX}" y="${at}" width="12" height="12" fill="${fill}" stroke="#ccc"/><text x="${legendX + 18}" y="${
      at + 10
    }">${text}</text>`;
  lg.push(
    swatch(EMPTY_PAGE, "page with no live block (kept)", ly),
    swatch(HEADER, "segment header", ly + 18),
    swatch(FREE, "free slices", ly + 36),
    `</g>`,
  );
  ly += 36;
  if (part === "legend") {
    const x0 = legendX - 8, y0 = top - 24, w = 228, hh = ly + 26 - y0;
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="${w}" height="${n2(hh)}" ` +
      `viewBox="${x0} ${y0} ${w} ${n2(hh)}" role="img" aria-label="legend of the mimalloc map">`,
      `<rect x="${x0}" y="${y0}" width="${w}" height="${n2(hh)}" fill="#fff"/>`,
      ...lg,
      `</svg>`,
    ].join("\n") + "\n";
  }
  if (part === "whole") out.push(...lg);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
