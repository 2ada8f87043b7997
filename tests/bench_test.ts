/**
 * `pymem bench` (lib/compare/): the harness itself. The end-to-end test runs real child processes (Bun, whatever runs
 * this file) on the calibration workload, which holds a known 64 MiB: the measured peak must show it and the RSS
 * after free must show it returned. It takes about 2 s, so it runs in every cell of the matrix (every runtime ×
 * CPython): the parent side is exercised under each runtime, the child under each CPython.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { benchCommand, compareRankings, parseBenchArgs, resolveAllocators, WORKLOADS } from "../lib/compare/runner.ts";
import { compareToPymalloc, overlaps, spread, summarize } from "../lib/compare/report.ts";
import type { BenchDocument, CellResult } from "../lib/compare/types.ts";

const MiB = 1 << 20;
const linux = process.platform === "linux";

test("every workload is documented in one line and defines bench_run(scale, threads)", () => {
  const names = WORKLOADS.map((w) => w.name);
  for (const n of ["churn", "containers", "strings", "fragment", "json", "threads", "app", "known"]) {
    assert.ok(names.includes(n), n);
  }
  for (const w of WORKLOADS) {
    assert.ok(w.doc.length > 10 && !w.doc.includes("\n"), `${w.name}: one-line doc`);
    assert.match(w.source, /^def bench_run\(scale, threads\):$/m, w.name);
  }
  assert.deepEqual(WORKLOADS.filter((w) => !w.default).map((w) => w.name), ["known"]);
});

test("options: --quick defaults, explicit values, and usage errors", () => {
  const q = parseBenchArgs(["--quick"]);
  assert.ok(typeof q !== "string");
  assert.equal(q.scale, 0.3);
  assert.equal(q.warmup, 1);
  assert.equal(q.runs * q.rounds, 3); // 3 measured runs per cell, in 3 processes
  assert.equal(q.rounds, 3);
  assert.equal(q.pythons, undefined); // the default CPython only
  const f = parseBenchArgs(["--python", "all", "--runs", "7", "--scale", "2", "--json", "x.json"]);
  assert.ok(typeof f !== "string");
  assert.equal(f.pythons, "all");
  assert.equal(f.runs, 7);
  assert.equal(f.json, "x.json");
  assert.match(parseBenchArgs(["--runs", "0"]) as string, /--runs needs an integer ≥ 1/);
  assert.match(parseBenchArgs(["--workloads", "nope"]) as string, /unknown workload "nope"/);
  assert.match(parseBenchArgs(["--frobnicate"]) as string, /unknown option/);
});

test("a missing allocator library is skipped, naming the package that provides it", () => {
  const empty = mkdtempSync(join(tmpdir(), "pymem-bench-nolib-"));
  try {
    const vs = resolveAllocators({ libPath: [empty] });
    for (
      const id of [
        "jemalloc:preload",
        "jemalloc:pymem",
        "tcmalloc:preload",
        "tcmalloc:pymem",
        "libmimalloc:preload",
        "libmimalloc:pymem",
      ]
    ) {
      const v = vs.find((x) => x.id === id);
      assert.ok(v, id);
      assert.match(v.skipped ?? "", /not found: install it with `\S+ .*\S+`/, id);
      assert.ok(v.package && v.skipped!.includes(v.package), `${id}: ${v.skipped}`);
    }
    // CPython's own allocators need no library.
    for (const id of ["pymalloc", "malloc", "mimalloc"]) assert.equal(vs.find((x) => x.id === id)?.skipped, undefined);
  } finally {
    rmSync(empty, { recursive: true });
  }
});

/** A cell built from plain numbers, for the statistics tests. */
function cell(allocator: string, wall: number[], peakMiB: number[]): CellResult {
  const samples = wall.map((w, i) => ({
    wallMs: w,
    cpuMs: w,
    userMs: w,
    sysMs: 0,
    minorFaults: 0,
    majorFaults: 0,
    rssBefore: 100 * MiB,
    peakRss: 100 * MiB + peakMiB[i] * MiB,
    rssAfterFree: 100 * MiB,
    checksum: "1",
    process: 0,
  }));
  return {
    python: "3.x",
    library: "lib",
    workload: "w",
    allocator,
    status: "ok",
    order: [],
    env: {},
    rssRuntime: [0],
    rssPython: [100 * MiB],
    rssFinal: [0],
    firstAfterFree: [100 * MiB],
    samples,
    seconds: 0,
    summary: summarize(samples, [100 * MiB], [100 * MiB]),
  };
}

test("statistics: median/min/max, the noise rule, ratios to pymalloc, and the ranking check", () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.equal(spread([4, 1, 2, 3]).median, 2.5);
  assert.ok(overlaps(spread([1, 3]), spread([2, 4])));
  assert.ok(!overlaps(spread([1, 2]), spread([3, 4])));
  const p = cell("pymalloc", [100, 102, 104], [10, 10, 10]);
  const fast = cell("fast", [50, 51, 52], [30, 30, 30]);
  const same = cell("same", [101, 103, 105], [10.2, 10.2, 10.2]);
  const cmp = compareToPymalloc([p, fast, same]);
  const wall = (a: string) => cmp.find((c) => c.allocator === a && c.metric === "wallMs")!;
  assert.equal(wall("fast").value, 51 / 102);
  assert.equal(wall("fast").withinNoise, false);
  assert.equal(wall("same").withinNoise, true);
  const peak = (a: string) => cmp.find((c) => c.allocator === a && c.metric === "peakOverBaseline")!;
  assert.equal(peak("fast").value, 20 * MiB);
  assert.equal(peak("same").withinNoise, true); // under 1 MiB apart
  const doc = (cells: CellResult[]) => ({ cells } as unknown as BenchDocument);
  const swapped = cell("fast", [200, 201, 202], [30, 30, 30]);
  const r = compareRankings(doc([p, fast, same]), doc([p, swapped, same]));
  assert.ok(r.conflicts.some((c) => c.hard && c.metric === "wallMs" && c.pair.includes("fast")));
  assert.equal(compareRankings(doc([p, fast, same]), doc([p, fast, same])).conflicts.length, 0);
});

test(
  "end to end: a workload holding a known 64 MiB shows it in peak RSS, and its release in RSS after free",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "pymem-bench-"));
    const out = join(dir, "out.json");
    try {
      const python = process.env.PYMEM_LIBPYTHON ? ["--python", process.env.PYMEM_LIBPYTHON] : [];
      const code = await benchCommand([
        ...python,
        "--workloads",
        "known",
        "--allocators",
        "pymalloc,malloc,tcmalloc",
        "--lib-path",
        dir,
        "--scale",
        "1",
        "--warmup",
        "0",
        "--runs",
        "2",
        "--rounds",
        "1",
        "--no-progress",
        "--json",
        out,
      ]);
      assert.equal(code, 0);
      const doc = JSON.parse(readFileSync(out, "utf8")) as BenchDocument;
      assert.equal(doc.schema, "pymem-bench/1");
      assert.ok(doc.machine.cpus > 0 && doc.runner.childRuntime.length > 0);
      assert.deepEqual(doc.settings.workloads, ["known"]);
      for (const a of ["pymalloc", "malloc"]) {
        const c = doc.cells.find((x) => x.allocator === a)!;
        assert.equal(c.status, "ok", `${a}: ${c.reason}`);
        assert.equal(c.samples.length, 2);
        assert.equal(c.checksum, String(64 * MiB));
        assert.equal(c.checksumOk, true);
        const s = c.summary!;
        // The 64 MiB are written, so resident: the peak over the baseline is 64 MiB plus the list and page-table slack.
        assert.ok(
          s.peakOverBaseline.min >= 60 * MiB && s.peakOverBaseline.max <= 90 * MiB,
          `${a} peak ${s.peakOverBaseline.min / MiB}–${s.peakOverBaseline.max / MiB} MiB`,
        );
        assert.ok(s.wallMs.min > 0 && s.cpuMs.median > 0 && s.minorFaults.median > 0, `${a}: ${JSON.stringify(s)}`);
        // 1 MiB blocks come from glibc (mmap, or a trimmed heap top): all of it goes back to the OS.
        assert.ok(
          s.afterFreeOverBaseline.median < 16 * MiB,
          `${a} after free ${s.afterFreeOverBaseline.median / MiB} MiB`,
        );
        assert.ok(c.rssRuntime[0] > 0 && c.rssPython[0] > c.rssRuntime[0]);
      }
      assert.equal(doc.cells.find((x) => x.allocator === "pymalloc")!.allocatorName, "pymalloc");
      assert.equal(doc.cells.find((x) => x.allocator === "malloc")!.allocatorName, "malloc");
      assert.ok(doc.cells.find((x) => x.allocator === "pymalloc")!.heap, "obmalloc figures for pymalloc");
      // tcmalloc was searched for only in an empty directory: both variants skipped, with the package to install.
      for (const id of ["tcmalloc:preload", "tcmalloc:pymem"]) {
        const c = doc.cells.find((x) => x.allocator === id)!;
        assert.equal(c.status, "skipped");
        assert.match(c.reason!, /libtcmalloc_minimal\.so\.4 not found: install it with/);
      }
      assert.ok(doc.comparisons.some((c) => c.allocator === "malloc" && c.metric === "wallMs"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { skip: linux ? false : "the harness reads /proc (Linux only)" },
);
