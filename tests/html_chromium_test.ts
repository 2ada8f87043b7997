/**
 * The pictures in a real browser: the CLI (current runtime) writes the acceptance workload's JSON, SVG and HTML;
 * headless Chromium loads the HTML (the page sets `<body data-pymem-status="pymem-ok cells=N">` only when its
 * scripts ran without an error, and Chromium's console log must hold no error), measures it at 1400 and 800 px (no
 * horizontal scroll, the heat map's legend in view, no marker text), screenshots the SVG and the page, and loads a
 * synthetic 5,000-arena report.
 *
 * Runs once per runtime (for the libpython of python3 on PATH; see skipUnlessDefaultPython), and is skipped with
 * the reason when no Chromium is installed (CI: `apt-get install -y chromium`, see .ci/run).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "./_harness.ts";
import { chromium, cli, skipUnlessDefaultPython } from "./_cli_spawn.ts";
import { renderHTML } from "../lib/report/html.ts";
import type { HeapJSON } from "../lib/report/json.ts";

const browser = chromium();
const skip = !browser ? "Chromium is not installed (apt-get install -y chromium)" : skipUnlessDefaultPython();
const tmp = mkdtempSync(join(tmpdir(), "pymem-chromium-"));

/** Run headless Chromium on a file with extra flags; a fresh profile each time, no network, no sandbox (CI root). */
function headless(file: string, flags: string[]): { status: number | null; stdout: string; stderr: string } {
  const profile = mkdtempSync(join(tmp, "profile-"));
  try {
    const r = spawnSync(browser!, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      `--user-data-dir=${profile}`,
      "--enable-logging=stderr",
      "--v=0",
      ...flags,
      `file://${file}`,
    ], { encoding: "utf8", timeout: 60_000, maxBuffer: 64 << 20 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Console messages of the page ("INFO:CONSOLE:898] "Uncaught ReferenceError: …", source: file://…"): the report
 * logs nothing, so any console line is an error. Chromium's own noise (dbus in a container) is not console output.
 */
function consoleErrors(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /:CONSOLE[:(]\d+|Uncaught/.test(l));
}

function loadPage(file: string): string {
  const r = headless(file, ["--virtual-time-budget=5000", "--dump-dom"]);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.deepEqual(consoleErrors(r.stderr), []);
  const status = /data-pymem-status="([^"]*)"/.exec(r.stdout)?.[1];
  assert.ok(status, "the page has its status line");
  return status;
}

test("the CLI's HTML report loads in headless Chromium without errors, one heat-map cell per pool", () => {
  const CODE = "x=[str(i) for i in range(10**5)]; del x[::2]";
  const [json, svg, html] = ["out.json", "out.svg", "out.html"].map((f) => join(tmp, f));
  const r = cli(["heap", "-c", CODE, "--json", json, "--svg", svg, "--html", html]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(readFileSync(json, "utf8")) as HeapJSON;
  assert.equal(loadPage(html), `pymem-ok cells=${doc.totals.pools}`);
  // The RSS section leads: the breakdown and the picture of glibc's arenas, a row (and its label) per arena.
  const page = readFileSync(html, "utf8");
  assert.ok(doc.addressSpace && doc.addressSpace.malloc.arenas.length >= 1);
  assert.ok(page.indexOf('id="rss"') < page.indexOf("<h2>Summary</h2>"));
  const rows = page.match(/>(main arena|thread arena \d+)<\/text>/g) ?? [];
  assert.equal(rows.length, doc.addressSpace.malloc.arenas.length);
}, { skip });

/** What a page measures of itself at one window width (the probe script below writes it into <html data-probe>). */
interface Probe {
  scrollWidth: number;
  clientWidth: number;
  legend: { left: number; right: number; top: number; width: number; height: number } | null;
  map: { left: number; right: number } | null;
  markerShown: boolean;
  status: string | null;
}

// Runs after the page's own load handler (which sets the status in a timeout of 0).
const PROBE = `<script>window.addEventListener("load", function () { setTimeout(function () {
  var se = document.scrollingElement, box = function (el) { if (!el) return null; var r = el.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, width: r.width, height: r.height }; };
  document.documentElement.setAttribute("data-probe", JSON.stringify({
    scrollWidth: se.scrollWidth, clientWidth: se.clientWidth,
    legend: box(document.querySelector("#heatmap .heat-legend svg")),
    map: box(document.querySelector("#heatmap .heat-map svg")),
    markerShown: /pymem-(ok|pending|error)/.test(document.body.innerText),
    status: document.body.getAttribute("data-pymem-status") }));
}, 50); });</script>`;

function measure(html: string, width: number): Probe {
  const file = join(tmp, `probe-${width}.html`);
  writeFileSync(file, readFileSync(html, "utf8").replace("</body>", `${PROBE}</body>`));
  const r = headless(file, [`--window-size=${width},900`, "--virtual-time-budget=5000", "--dump-dom"]);
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const probe = /data-probe="([^"]*)"/.exec(r.stdout)?.[1];
  assert.ok(probe, "the probe ran");
  return JSON.parse(probe.replace(/&quot;/g, '"').replace(/&amp;/g, "&")) as Probe;
}

test("the HTML report at 1400 and 800 px: no horizontal scroll, the heat map's legend in view, no marker text", () => {
  const html = join(tmp, "out.html");
  for (const width of [1400, 800]) {
    const m = measure(html, width);
    assert.match(m.status ?? "", /^pymem-ok cells=\d+$/);
    assert.equal(m.markerShown, false, `${width} px: the test marker is visible text`);
    assert.ok(m.scrollWidth <= m.clientWidth, `${width} px: scrolls sideways (${m.scrollWidth} > ${m.clientWidth})`);
    const where = `${width} px: legend ${JSON.stringify(m.legend)}`;
    assert.ok(m.legend && m.legend.width > 150 && m.legend.height > 100, where);
    assert.ok(m.legend.left >= 0 && m.legend.right <= m.clientWidth, where);
    assert.ok(m.map && m.map.left >= 0 && m.map.right <= m.clientWidth, `${width} px: map ${JSON.stringify(m.map)}`);
    // Side by side where there is room; the legend under the map on a narrow page.
    if (width === 1400) assert.ok(m.legend.left >= m.map.right, JSON.stringify(m));
    else assert.ok(m.legend.left < m.map.right, JSON.stringify(m));
    const png = join(tmp, `page-${width}.png`);
    const shot = headless(html, [`--window-size=${width},2400`, "--hide-scrollbars", `--screenshot=${png}`]);
    assert.equal(shot.status, 0, shot.stderr.slice(-2000));
    assert.equal(readFileSync(png).readUInt32BE(16), width);
    assert.ok(statSync(png).size > 50_000, `a page with its pictures does not compress to ${statSync(png).size} bytes`);
  }
}, { skip });

test("the SVG heat map renders in Chromium (screenshot) and its DOM has one cell per pool", () => {
  const svg = join(tmp, "out.svg"), json = join(tmp, "out.json");
  const doc = JSON.parse(readFileSync(json, "utf8")) as HeapJSON;
  const dom = headless(svg, ["--dump-dom"]);
  assert.equal(dom.status, 0, dom.stderr.slice(-2000));
  assert.equal(dom.stdout.match(/<rect class="p"/g)?.length, doc.totals.pools);
  const png = join(tmp, "heat.png");
  const shot = headless(svg, ["--window-size=1200,900", `--screenshot=${png}`]);
  assert.equal(shot.status, 0, shot.stderr.slice(-2000));
  const bytes = readFileSync(png);
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  assert.equal(bytes.readUInt32BE(16), 1200);
  assert.ok(statSync(png).size > 10_000, `a blank page would compress to almost nothing (${statSync(png).size} bytes)`);
}, { skip });

test("a 5,000-arena (aggregated) report loads in Chromium without errors", () => {
  const n = 5000, layout = { arenaSize: 1 << 20, poolSize: 16384, poolOverhead: 48, alignment: 16 };
  const pools = { arena: [] as number[], slot: [] as number[], sizeClass: [] as number[], blocksInUse: [] as number[] };
  const arenas = [];
  for (let a = 0; a < n; a++) {
    const used = 1 + (a % 7);
    for (let s = 0; s < used; s++) {
      pools.arena.push(a),
        pools.slot.push(s * 9),
        pools.sizeClass.push((a + s) % 32),
        pools.blocksInUse.push(1 + (a % 20));
    }
    arenas.push({
      index: a,
      address: `0x${(0x7f0000000000 + a * 0x100000).toString(16)}`,
      poolsTotal: 63,
      poolsFree: 63 - used,
      poolsUsed: used,
      poolsCarved: 63,
      blocksInUse: used,
      bytesInUse: used * 64,
      fill: (used * 64) / (1 << 20),
    });
  }
  const doc = {
    schema: "pymem.heap",
    schemaVersion: 1,
    pymemVersion: "0",
    takenAt: new Date(0).toISOString(),
    source: { kind: "embedded", runtime: "test" },
    python: { version: "3.12.1", allocator: "pymalloc" },
    state: { interp: "0x0", how: "synthetic", rawAllocatedBlocks: null, counters: {} },
    layout,
    rss: null,
    totals: {
      arenas: n,
      arenaBytes: n << 20,
      pools: pools.arena.length,
      emptyPools: 0,
      untouchedPools: 0,
      blocksInUse: n,
      bytesInUse: n * 64,
      bytesAvailable: 0,
    },
    fragmentation: {
      freeBytesInUsedPools: 0,
      freeBytesInFreePools: 0,
      pinnedArenas: 3000,
      pinnedThreshold: 5,
      pinnedBytes: 3000 << 20,
      arenasIfPacked: 10,
      reclaimableArenas: n - 10,
      utilization: 0.001,
    },
    sizeClasses: [{ index: 3, size: 64, pools: pools.arena.length, blocksInUse: n, availBlocks: 1000 }],
    arenas,
    pools,
  } as HeapJSON;
  const file = join(tmp, "big.html");
  writeFileSync(file, renderHTML(doc));
  const status = loadPage(file);
  assert.match(status, /^pymem-ok cells=\d+$/);
  assert.ok(Number(status.split("=")[1]) <= 400 * 63);
  // A tall aggregated map fits a narrow window too.
  const m = measure(file, 800);
  assert.ok(m.scrollWidth <= m.clientWidth, `800 px: scrolls sideways (${m.scrollWidth} > ${m.clientWidth})`);
  assert.ok(m.legend && m.legend.left >= 0 && m.legend.right <= m.clientWidth, JSON.stringify(m.legend));
}, { skip });
