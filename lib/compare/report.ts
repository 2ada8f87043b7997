/**
 * Summaries and output of `pymem bench`: spreads, comparisons against pymalloc with a noise flag, the terminal
 * table, the SVG and HTML charts, and the ranking check between two result files (`--compare`).
 *
 * Noise rule (used everywhere): two cells differ only when the ranges [min, max] of their runs do not overlap.
 * With 3–5 runs per cell that is deliberately conservative: a difference inside the spread is reported as "~"
 * (within noise), never as a win.
 * @module
 */
import type { RunSample } from "./child.ts";
import type { BenchDocument, CellResult, CellSummary, Comparison, Spread } from "./types.ts";
import { escapeXml } from "../report/svg.ts";
import { alignColumns } from "../report/text.ts";

const MiB = 1024 * 1024;

/** Median, min and max of a list (median of an even count: mean of the middle two). */
export function spread(values: number[]): Spread {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** A cell's spreads, from its samples and the baseline RSS of the process each sample came from. */
export function summarize(
  samples: (RunSample & { process: number })[],
  rssPython: number[],
  firstAfterFree: number[] = [],
): CellSummary {
  const growth = rssPython.map((_, p) => {
    const mine = samples.filter((s) => s.process === p);
    const first = firstAfterFree[p] ?? mine[0]?.rssAfterFree;
    return mine.length && first !== undefined ? mine[mine.length - 1].rssAfterFree - first : 0;
  });
  const pick = (f: (s: RunSample & { process: number }) => number) => spread(samples.map(f));
  return {
    wallMs: pick((s) => s.wallMs),
    cpuMs: pick((s) => s.cpuMs),
    peakRss: pick((s) => s.peakRss),
    peakOverBaseline: pick((s) => s.peakRss - rssPython[s.process]),
    rssAfterFree: pick((s) => s.rssAfterFree),
    afterFreeOverBaseline: pick((s) => s.rssAfterFree - rssPython[s.process]),
    minorFaults: pick((s) => s.minorFaults),
    afterFreeGrowth: spread(growth).median || 0,
  };
}

/** Whether two spreads' ranges overlap (the difference between them is within noise). */
export function overlaps(a: Spread, b: Spread): boolean {
  return a.min <= b.max && b.min <= a.max;
}

/** Every ok cell against pymalloc on the same CPython and workload: time as ratios, memory as differences. */
export function compareToPymalloc(cells: CellResult[]): Comparison[] {
  const out: Comparison[] = [];
  const ok = cells.filter((c) => c.status === "ok" && c.summary);
  for (const c of ok) {
    if (c.allocator === "pymalloc") continue;
    const ref = ok.find((r) => r.allocator === "pymalloc" && r.python === c.python && r.workload === c.workload);
    if (!ref) continue;
    for (const metric of ["wallMs", "cpuMs"] as const) {
      const a = c.summary![metric], p = ref.summary![metric];
      out.push({
        python: c.python,
        workload: c.workload,
        allocator: c.allocator,
        metric,
        value: a.median / p.median,
        low: a.min / p.max,
        high: a.max / p.min,
        withinNoise: overlaps(a, p),
      });
    }
    for (const metric of ["peakOverBaseline", "afterFreeOverBaseline"] as const) {
      const a = c.summary![metric], p = ref.summary![metric];
      out.push({
        python: c.python,
        workload: c.workload,
        allocator: c.allocator,
        metric,
        value: a.median - p.median,
        low: a.min - p.max,
        high: a.max - p.min,
        // Memory figures move by pages, not percent: a difference under 1 MiB is noise whatever the spread says.
        withinNoise: overlaps(a, p) || Math.abs(a.median - p.median) < MiB,
      });
    }
  }
  return out;
}

// ---- terminal table ------------------------------------------------------------------------------------------------

const fmtMs = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtMiB = (bytes: number) => {
  const m = bytes / MiB;
  return `${m >= 0 ? "+" : ""}${Math.abs(m) >= 100 ? m.toFixed(0) : m.toFixed(1)}`;
};
const fmtCount = (
  v: number,
) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : `${Math.round(v)}`);
const fmtRatio = (c: Comparison | undefined) =>
  c ? `${c.value.toFixed(2)} (${c.low.toFixed(2)}–${c.high.toFixed(2)})${c.withinNoise ? " ~" : ""}` : "1.00";

/** The rows of the main table for one CPython: one per workload × allocator (skipped and failed cells included). */
export function tableRows(doc: BenchDocument, python: string): string[][] {
  const rows: string[][] = [[
    "workload",
    "allocator",
    "wall ms (min–max)",
    "wall ×pymalloc",
    "cpu ms",
    "cpu ×pymalloc",
    "peak MiB",
    "after free MiB",
    "growth",
    "minor faults",
  ]];
  const cmp = (w: string, a: string, m: Comparison["metric"]) =>
    doc.comparisons.find((c) => c.python === python && c.workload === w && c.allocator === a && c.metric === m);
  for (const w of doc.settings.workloads) {
    let first = true;
    for (const a of doc.settings.allocators) {
      const c = doc.cells.find((x) => x.python === python && x.workload === w && x.allocator === a);
      if (!c) continue;
      const name = first ? w : "";
      first = false;
      if (c.status !== "ok" || !c.summary) {
        // The reason is listed once below the table: a long message here would widen every row.
        rows.push([name, a, c.status === "skipped" ? "skipped" : "FAILED", "", "", "", "", "", "", ""]);
        continue;
      }
      const s = c.summary;
      const peak = cmp(w, a, "peakOverBaseline"), after = cmp(w, a, "afterFreeOverBaseline");
      rows.push([
        name,
        a + (c.checksumOk === false ? " (CHECKSUM MISMATCH)" : ""),
        `${fmtMs(s.wallMs.median)} (${fmtMs(s.wallMs.min)}–${fmtMs(s.wallMs.max)})`,
        fmtRatio(cmp(w, a, "wallMs")),
        fmtMs(s.cpuMs.median),
        fmtRatio(cmp(w, a, "cpuMs")),
        fmtMiB(s.peakOverBaseline.median) + (peak?.withinNoise ? " ~" : ""),
        fmtMiB(s.afterFreeOverBaseline.median) + (after?.withinNoise ? " ~" : ""),
        fmtMiB(s.afterFreeGrowth),
        fmtCount(s.minorFaults.median),
      ]);
    }
  }
  return rows;
}

/** Geometric mean of a list of ratios. */
function geomean(xs: number[]): number {
  return xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : NaN;
}

/** Per allocator over all workloads of one CPython: time ratios (geometric mean), memory summed, how to enable. */
export function summaryRows(doc: BenchDocument, python: string): string[][] {
  const rows: string[][] = [[
    "allocator",
    "wall ×",
    "cpu ×",
    "wall faster/slower/~",
    "cpu faster/slower/~",
    "Σ peak MiB",
    "Σ after free MiB",
    "baseline MiB",
    "how to use it",
  ]];
  for (const v of doc.allocators) {
    const cells = doc.cells.filter((c) =>
      c.python === python && c.allocator === v.id && c.status === "ok" && c.summary
    );
    if (!cells.length) continue;
    const cmps = doc.comparisons.filter((c) => c.python === python && c.allocator === v.id && c.metric === "wallMs");
    const cpu = doc.comparisons.filter((c) => c.python === python && c.allocator === v.id && c.metric === "cpuMs");
    const tally = (cs: Comparison[]) =>
      `${cs.filter((c) => !c.withinNoise && c.value < 1).length}/${
        cs.filter((c) => !c.withinNoise && c.value > 1).length
      }/` +
      `${cs.filter((c) => c.withinNoise).length}`;
    const peak = cells.reduce((a, c) => a + c.summary!.peakOverBaseline.median, 0);
    const after = cells.reduce((a, c) => a + c.summary!.afterFreeOverBaseline.median, 0);
    const base = spread(cells.flatMap((c) => c.rssPython)).median;
    rows.push([
      v.id,
      v.id === "pymalloc" ? "1.00" : geomean(cmps.map((c) => c.value)).toFixed(2),
      v.id === "pymalloc" ? "1.00" : geomean(cpu.map((c) => c.value)).toFixed(2),
      v.id === "pymalloc" ? "reference" : tally(cmps),
      v.id === "pymalloc" ? "reference" : tally(cpu),
      (peak / MiB).toFixed(0),
      (after / MiB).toFixed(0),
      (base / MiB).toFixed(0),
      v.how,
    ]);
  }
  return rows;
}

/** The whole terminal report. */
export function renderText(doc: BenchDocument): string {
  const out: string[] = [];
  const s = doc.settings;
  out.push(
    `pymem bench — ${doc.machine.cpuModel}, ${doc.machine.cpus} CPUs, ${
      (doc.machine.memoryBytes / 2 ** 30).toFixed(0)
    } GiB, ` +
      `${doc.machine.os} ${doc.machine.kernel}, ${doc.machine.libc}; children: ${doc.runner.childRuntime}`,
  );
  out.push(
    `scale ${s.scale}, ${s.threads} threads, ${s.warmup} warm-up + ${s.runs} runs per process, ${s.rounds} round(s), ` +
      `${doc.cells.length} cells in ${doc.seconds.toFixed(0)} s; load average ${doc.machine.loadStart.toFixed(2)} → ${
        doc.machine.loadEnd.toFixed(2)
      }`,
  );
  for (const p of doc.pythons) {
    out.push("", `CPython ${p.version}  (${p.library})`);
    out.push(
      ...alignColumns(tableRows(doc, p.version), [false, false, true, true, true, true, true, true, true, true]),
    );
    out.push(
      "",
      `Per allocator, CPython ${p.version} (time: geometric mean of the ratios; memory: sum of the medians over the workloads)`,
    );
    out.push(...alignColumns(summaryRows(doc, p.version), [false, true, true, true, true, true, true, true, false]));
    const heaps = doc.cells.filter((c) => c.python === p.version && c.heap);
    if (heaps.length) {
      out.push("", "obmalloc after the last run (survivors alive), pymalloc cells:");
      const rows = [[
        "workload",
        "allocator",
        "arenas",
        "MiB mapped",
        "MiB in use",
        "utilization",
        "pinned",
        "reclaimable arenas",
      ]];
      for (const c of heaps) {
        const h = c.heap!;
        rows.push([
          c.workload,
          c.allocator,
          String(h.arenas),
          (h.arenaBytes / MiB).toFixed(1),
          (h.bytesInUse / MiB).toFixed(1),
          `${(h.utilization * 100).toFixed(0)}%`,
          String(h.pinnedArenas),
          String(h.reclaimableArenas),
        ]);
      }
      out.push(...alignColumns(rows, [false, false, true, true, true, true, true, true]));
    }
  }
  out.push(
    "",
    "Legend: ×pymalloc = median / pymalloc's median (range: min/max … max/min); \"~\" = the runs' ranges overlap " +
      "(within noise; memory also when under 1 MiB). peak / after free = RSS over the baseline (RSS once Python had " +
      "started); growth = after-free RSS of a process's last run minus its first, warm-up included (creep or leak).",
  );
  for (const status of ["skipped", "failed"] as const) {
    const cells = doc.cells.filter((c) => c.status === status);
    const reasons = [
      ...new Set(
        cells.map((c) =>
          `${c.allocator} (CPython ${c.python}${status === "failed" ? `, ${c.workload}` : ""}): ${c.reason}`
        ),
      ),
    ];
    if (reasons.length) out.push("", status === "skipped" ? "Skipped:" : "FAILED:", ...reasons.map((r) => `  ${r}`));
  }
  if (doc.notes.length) out.push("", "Notes:", ...doc.notes.map((n) => `  ${n}`));
  return out.join("\n");
}

// ---- charts --------------------------------------------------------------------------------------------------------

const PALETTE = [
  "#4c72b0",
  "#dd8452",
  "#55a868",
  "#c44e52",
  "#8172b3",
  "#937860",
  "#da8bc3",
  "#8c8c8c",
  "#ccb974",
  "#64b5cd",
  "#2f4b7c",
  "#a05195",
];
const esc = escapeXml;

interface Panel {
  title: string;
  /** Value, low and high of one bar, or null when the cell did not run. */
  bar(python: string, workload: string, allocator: string): { v: number; lo: number; hi: number } | null;
  unit: (v: number) => string;
  /** Where the reference line goes (1 for ratios), or null. */
  reference: number | null;
}

/** Grouped horizontal bars: one group per workload, one bar per allocator, min–max whiskers; four panels. */
export function renderSvg(doc: BenchDocument): string {
  const allocs = doc.settings.allocators.filter((a) => doc.cells.some((c) => c.allocator === a && c.status === "ok"));
  const timePanel = (metric: "wallMs" | "cpuMs", title: string): Panel => ({
    title,
    bar: (p, w, a) => {
      if (a === "pymalloc") {
        const c = doc.cells.find((x) => x.python === p && x.workload === w && x.allocator === a && x.summary);
        if (!c) return null;
        const s = c.summary![metric];
        return { v: 1, lo: s.min / s.median, hi: s.max / s.median };
      }
      const c = doc.comparisons.find((x) =>
        x.python === p && x.workload === w && x.allocator === a && x.metric === metric
      );
      return c ? { v: c.value, lo: c.low, hi: c.high } : null;
    },
    unit: (v) => `${v.toFixed(2)}×`,
    reference: 1,
  });
  const panels: Panel[] = [
    timePanel("wallMs", "Wall time, × pymalloc (median, min–max)"),
    timePanel("cpuMs", "CPU time, × pymalloc (median, min–max)"),
    {
      title: "Peak RSS over baseline, MiB",
      bar: (p, w, a) => {
        const s = doc.cells.find((x) => x.python === p && x.workload === w && x.allocator === a && x.summary)?.summary
          ?.peakOverBaseline;
        return s ? { v: s.median / MiB, lo: s.min / MiB, hi: s.max / MiB } : null;
      },
      unit: (v) => v.toFixed(0),
      reference: null,
    },
    {
      title: "RSS after free over baseline, MiB",
      bar: (p, w, a) => {
        const s = doc.cells.find((x) => x.python === p && x.workload === w && x.allocator === a && x.summary)?.summary
          ?.afterFreeOverBaseline;
        return s ? { v: s.median / MiB, lo: s.min / MiB, hi: s.max / MiB } : null;
      },
      unit: (v) => v.toFixed(0),
      reference: null,
    },
  ];
  const barH = 9, gap = 10, labelW = 90, panelW = 280, top = 56, legendH = 20 + 16 * Math.ceil(allocs.length / 4);
  const groupH = allocs.length * barH + gap;
  const blockH = top + doc.settings.workloads.length * groupH + 30;
  const width = labelW + panels.length * (panelW + 20) + 10;
  const height = doc.pythons.length * blockH + legendH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  doc.pythons.forEach((py, pi) => {
    const y0 = pi * blockH;
    parts.push(
      `<text x="4" y="${y0 + 18}" font-size="14" font-weight="bold">CPython ${
        esc(py.version)
      } — scale ${doc.settings.scale}, ${doc.settings.runs} runs × ${doc.settings.rounds} round(s)</text>`,
    );
    panels.forEach((panel, k) => {
      const x0 = labelW + k * (panelW + 20);
      const bars = doc.settings.workloads.flatMap((w) => allocs.map((a) => panel.bar(py.version, w, a))).filter((b) =>
        b !== null
      );
      const maxV = Math.max(panel.reference ?? 0, ...bars.map((b) => b!.hi), 1e-9) * 1.05;
      const minV = Math.min(0, ...bars.map((b) => b!.lo));
      const sx = (v: number) => x0 + ((v - minV) / (maxV - minV)) * panelW;
      parts.push(`<text x="${x0}" y="${y0 + 40}" font-weight="bold">${esc(panel.title)}</text>`);
      const yEnd = y0 + top + doc.settings.workloads.length * groupH;
      parts.push(`<line x1="${sx(0)}" y1="${y0 + top - 4}" x2="${sx(0)}" y2="${yEnd}" stroke="#333"/>`);
      if (panel.reference !== null) {
        parts.push(
          `<line x1="${sx(panel.reference)}" y1="${y0 + top - 4}" x2="${
            sx(panel.reference)
          }" y2="${yEnd}" stroke="#999" stroke-dasharray="3,3"/>`,
        );
      }
      parts.push(
        `<text x="${x0 + panelW}" y="${yEnd + 14}" text-anchor="end" fill="#555">${esc(panel.unit(maxV))}</text>`,
      );
      parts.push(`<text x="${sx(minV)}" y="${yEnd + 14}" fill="#555">${esc(panel.unit(minV))}</text>`);
      doc.settings.workloads.forEach((w, wi) => {
        const gy = y0 + top + wi * groupH;
        if (k === 0) parts.push(`<text x="4" y="${gy + (allocs.length * barH) / 2 + 4}">${esc(w)}</text>`);
        allocs.forEach((a, ai) => {
          const b = panel.bar(py.version, w, a);
          const y = gy + ai * barH;
          if (!b) return;
          const x1 = sx(Math.min(0, b.v)), x2 = sx(Math.max(0, b.v));
          parts.push(
            `<rect x="${x1.toFixed(1)}" y="${y}" width="${Math.max(0.5, x2 - x1).toFixed(1)}" height="${
              barH - 2
            }" fill="${PALETTE[doc.settings.allocators.indexOf(a) % PALETTE.length]}">` +
              `<title>${
                esc(`${w} · ${a}: ${panel.unit(b.v)} (${panel.unit(b.lo)}–${panel.unit(b.hi)})`)
              }</title></rect>`,
          );
          parts.push(
            `<line x1="${sx(b.lo).toFixed(1)}" y1="${y + (barH - 2) / 2}" x2="${sx(b.hi).toFixed(1)}" y2="${
              y + (barH - 2) / 2
            }" stroke="#222" stroke-width="1"/>`,
          );
        });
      });
    });
  });
  const ly = doc.pythons.length * blockH;
  allocs.forEach((a, i) => {
    const x = 4 + (i % 4) * 220, y = ly + 12 + Math.floor(i / 4) * 16;
    parts.push(
      `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${
        PALETTE[doc.settings.allocators.indexOf(a) % PALETTE.length]
      }"/>`,
    );
    parts.push(`<text x="${x + 14}" y="${y}">${esc(a)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** A self-contained HTML page: machine, settings, the charts, and the tables. */
export function renderHtml(doc: BenchDocument): string {
  const table = (rows: string[][]) =>
    `<table><thead><tr>${rows[0].map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>` +
    rows.slice(1).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("") + "</tbody></table>";
  const m = doc.machine;
  return `<!doctype html><html><head><meta charset="utf-8"><title>pymem bench</title><style>
body{font-family:sans-serif;margin:1.5em;max-width:1400px}table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}
code{background:#f4f4f4;padding:0 3px}</style></head><body>
<h1>pymem bench: allocator comparison</h1>
<p>${
    esc(
      `${m.cpuModel}, ${m.cpus} CPUs, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${m.os} ${m.kernel}, ${m.libc}; ` +
        `children run under ${doc.runner.childRuntime}; ${doc.createdAt}; ${doc.cells.length} cells in ${
          doc.seconds.toFixed(0)
        } s; ` +
        `load average ${m.loadStart.toFixed(2)} → ${m.loadEnd.toFixed(2)}.`,
    )
  }</p>
<p>Command: <code>${esc(doc.command.join(" "))}</code>. Scale ${doc.settings.scale}, ${doc.settings.threads} threads,
${doc.settings.warmup} warm-up + ${doc.settings.runs} runs per process, ${doc.settings.rounds} round(s).
“~” marks a difference within noise (the runs’ ranges overlap).</p>
${renderSvg(doc)}
${
    doc.pythons.map((p) =>
      `<h2>CPython ${esc(p.version)}</h2>${table(tableRows(doc, p.version))}<h3>Per allocator</h3>${
        table(summaryRows(doc, p.version))
      }`
    ).join("\n")
  }
<h2>Workloads</h2><ul>${doc.workloads.map((w) => `<li><b>${esc(w.name)}</b>: ${esc(w.doc)}</li>`).join("")}</ul>
${doc.notes.length ? `<h2>Notes</h2><ul>${doc.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
</body></html>
`;
}

// ---- ranking check -------------------------------------------------------------------------------------------------

/** One pair of allocators whose order differs between two result documents. */
export interface RankingConflict {
  python: string;
  workload: string;
  metric: string;
  pair: [string, string];
  /** Both documents call the difference significant (ranges apart) but disagree on the order. */
  hard: boolean;
  detail: string;
}

/**
 * Compare the rankings of two result documents: for every CPython × workload × metric and every pair of
 * allocators whose runs' ranges are apart in either document, the order of the medians must be the same in the
 * other. Returns the pairs checked and the conflicts; `hard` conflicts are significant in both documents.
 */
export function compareRankings(a: BenchDocument, b: BenchDocument): { checked: number; conflicts: RankingConflict[] } {
  const metrics = ["wallMs", "cpuMs", "peakOverBaseline", "afterFreeOverBaseline"] as const;
  const conflicts: RankingConflict[] = [];
  let checked = 0;
  const get = (d: BenchDocument, p: string, w: string, al: string) =>
    d.cells.find((c) => c.python === p && c.workload === w && c.allocator === al && c.status === "ok" && c.summary)
      ?.summary;
  for (const ca of a.cells) {
    if (ca.status !== "ok") continue;
    for (const other of a.cells) {
      if (other.python !== ca.python || other.workload !== ca.workload || other.allocator <= ca.allocator) continue;
      const sa1 = get(a, ca.python, ca.workload, ca.allocator), sa2 = get(a, ca.python, ca.workload, other.allocator);
      const sb1 = get(b, ca.python, ca.workload, ca.allocator), sb2 = get(b, ca.python, ca.workload, other.allocator);
      if (!sa1 || !sa2 || !sb1 || !sb2) continue;
      for (const m of metrics) {
        const apartA = !overlaps(sa1[m], sa2[m]) &&
          !(m.endsWith("Baseline") && Math.abs(sa1[m].median - sa2[m].median) < MiB);
        const apartB = !overlaps(sb1[m], sb2[m]) &&
          !(m.endsWith("Baseline") && Math.abs(sb1[m].median - sb2[m].median) < MiB);
        if (!apartA && !apartB) continue;
        checked++;
        const orderA = Math.sign(sa1[m].median - sa2[m].median), orderB = Math.sign(sb1[m].median - sb2[m].median);
        if (orderA === orderB) continue;
        const f = (s: Spread) => (m.endsWith("Ms") ? `${fmtMs(s.median)} ms` : `${fmtMiB(s.median)} MiB`);
        conflicts.push({
          python: ca.python,
          workload: ca.workload,
          metric: m,
          pair: [ca.allocator, other.allocator],
          hard: apartA && apartB,
          detail: `${ca.allocator} vs ${other.allocator}: ${f(sa1[m])} vs ${f(sa2[m])} in the first, ${f(sb1[m])} vs ${
            f(sb2[m])
          } in the second`,
        });
      }
    }
  }
  return { checked, conflicts };
}
