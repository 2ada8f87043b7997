/**
 * The whole address space (lib/address-space/): every mapping of /proc/PID/smaps attributed to one category, by
 * attach and in-process, against the kernel's own totals (smaps_rollup) and the target's own malloc counters; and
 * what the user reads (`pymem why PID`) on the threaded workload.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { type AddressSpace, attachPython, RSS_CATEGORIES } from "../lib/mod.ts";
import { launched } from "./_launch.ts";
import { targetExecutable } from "./_attach_target.ts";
import { cli } from "./_cli_spawn.ts";
import { spawnSync } from "node:child_process";
import { AttachmentCache } from "../lib/exporter/cache.ts";
import { collectTarget, ERROR_REASONS, type ErrorReason } from "../lib/exporter/collect.ts";
import { buildMetrics } from "../lib/exporter/families.ts";
import { encode } from "../lib/exporter/metrics.ts";
import { readStat } from "../lib/machine/proc.ts";

const target = targetExecutable();
const skip = target ? false : `no interpreter found for ${process.env.PYMEM_LIBPYTHON}`;
const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-rss-"));

// The workload, smaller: THREADS threads each allocate COUNT bytearrays of 2–5 KB (glibc malloc: an arena
// per thread) and free half; the main thread keeps small objects (pymalloc's arenas) and two mmapped chunks. Then
// every thread parks on a lock, and the target says it is ready.
const THREADS = 4, COUNT = 6000;
const WORKLOAD = `
import random, sys, threading
out, n, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
gate = threading.Lock()
gate.acquire()
ready = [threading.Lock() for _ in range(n)]
for r in ready:
    r.acquire()
keep = []
def work(k):
    r = random.Random(k)
    xs = [bytearray(r.randint(2000, 5000)) for _ in range(count)]
    for i in range(0, count, 2):
        xs[i] = None
    keep.append(xs)
    ready[k].release()
    gate.acquire()
threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
for t in threads:
    t.start()
small = [(i, str(i)) for i in range(150000)]
big = [bytearray(8 << 20) for _ in range(2)]
for r in ready:
    r.acquire()
open(out, "w").close()
gate.acquire()
`;

const children: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(env: Record<string, string> = {}): Promise<ChildProcess> {
  const file = join(tmp, "workload.py");
  fs.writeFileSync(file, WORKLOAD);
  const out = join(tmp, `ready${children.length}`);
  const [cmd, args] = launched(target!.exe, [file, out, String(THREADS), String(COUNT)]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
  children.push(child);
  const t0 = Date.now();
  while (!fs.existsSync(out)) {
    if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode}) before it was ready`);
    if (Date.now() - t0 > 60_000) throw new Error("timed out waiting for the target");
    await new Promise((r) => setTimeout(r, 25));
  }
  return child;
}

let sharedTarget: Promise<ChildProcess> | undefined;
/** One target for the tests that only read it (started by the first, killed by the cleanup). */
const shared = () => (sharedTarget ??= start());

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

/** What holds for every attribution: the categories are the mappings, and the mappings are smaps_rollup. */
function checkSums(s: AddressSpace): void {
  for (const k of ["rss", "pss", "privateDirty", "swap", "anonymous"] as const) {
    const sum = RSS_CATEGORIES.reduce((n, c) => n + s.categories[c][k], 0);
    assert.equal(sum, s.total[k], `${k}: the categories sum to the mappings`);
  }
  // The rollup is read after smaps: a live process moves a little in between.
  assert.ok(
    Math.abs(s.total.rss - s.rollup.rss) <= s.rollup.rss * 0.01,
    `categories ${s.total.rss} vs smaps_rollup ${s.rollup.rss}`,
  );
  const b = s.breakdown;
  const parts = b.pymalloc + b.mallocInUse + b.mallocFree + b.stacks + b.code + b.other;
  assert.equal(parts, s.total.rss, "the breakdown is the whole RSS");
  assert.ok(b.mallocReclaimable <= b.mallocFree);
}

test(
  "address space by attach: categories sum to smaps_rollup; malloc + pymalloc hold >= 95% of anonymous RSS",
  async () => {
    const child = await shared();
    {
      const a = await attachPython(child.pid!);
      try {
        const heap = a.heap(), malloc = a.mallocHeap();
        const s = a.addressSpace({ heap, malloc });
        checkSums(s);
        assert.deepEqual(s.warnings, []);
        assert.equal(s.malloc.refused, null);
        // Every thread's stack was found (all of them are parked in the kernel).
        assert.equal(s.threads.count, THREADS + 1);
        assert.equal(s.threads.stacksFound, THREADS + 1);
        // The mmapped chunks found in the mappings are the ones malloc counts.
        assert.equal(s.malloc.mmappedFound, malloc.mmapped.chunks);
        // Their mappings as malloc counts them, to a page each (2.43 counts a chunk's size, not its mapping's).
        const gap = s.categories.mallocMmapped.sizeBytes - malloc.mmapped.bytes;
        assert.ok(
          Math.abs(gap) < 4096 * malloc.mmapped.chunks,
          `mmapped: ${gap} bytes more mapped than malloc counts`,
        );
        // pymalloc's arenas: each one a piece of some mapping, resident as far as its blocks were touched.
        assert.equal(s.categories.pymalloc.sizeBytes, heap.totals.arenaBytes);
        assert.ok(s.categories.pymalloc.rss >= heap.totals.bytesInUse * 0.9, "pymalloc's live blocks are resident");
        assert.ok(
          s.categories.mallocThreads.rss >= malloc.arenas.slice(1).reduce((n, x) => n + x.inUse.bytes, 0) * 0.9,
        );
        const ours = s.categories.pymalloc.anonymous + s.categories.mallocMain.anonymous +
          s.categories.mallocThreads.anonymous + s.categories.mallocMmapped.anonymous;
        assert.ok(ours >= s.rollup.anonymous * 0.95, `malloc + pymalloc ${ours} of anonymous ${s.rollup.anonymous}`);
        // Half of each thread's bytearrays were freed and the free chunks were written: about as much free as in use.
        const b = s.breakdown;
        assert.ok(b.mallocFree > b.mallocInUse * 0.5, `free ${b.mallocFree}, in use ${b.mallocInUse}`);
      } finally {
        a.close();
      }
    }
  },
  { skip },
);

test(
  "exporter --malloc: python_memory_* by category and python_malloc_* of the target, accepted by promtool",
  async () => {
    const child = await shared();
    const cache = new AttachmentCache();
    try {
      const stat = readStat(child.pid!)!;
      const r = await collectTarget({ pid: child.pid!, start: stat.start, comm: stat.comm, scrape: 1 }, cache, {
        malloc: true,
      });
      assert.equal(r.kind, "mapped", JSON.stringify(r));
      const t = (r as Extract<typeof r, { kind: "mapped" }>).target;
      assert.ok(t.malloc?.heap, "glibc's heap was read");
      const text = encode(
        buildMetrics([{ ...t, container: "", pod: "" }], {
          runtime: "test",
          scrapes: 1,
          errors: Object.fromEntries(ERROR_REASONS.map((r) => [r, 0])) as Record<ErrorReason, number>,
          workerRestarts: 0,
          seen: 1,
          mapped: 1,
          skipped: 0,
          durationSeconds: 0,
        }),
        "prometheus",
      );
      const values = (name: string) =>
        [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, "gm"))].map((m) => Number(m[1]));
      const rss = values("python_memory_rss_bytes"), holders = values("python_memory_holder_bytes");
      assert.equal(rss.length, RSS_CATEGORIES.length);
      assert.equal(holders.reduce((a, b) => a + b, 0), rss.reduce((a, b) => a + b, 0));
      assert.deepEqual(values("python_malloc_arenas"), [THREADS + 1]);
      assert.deepEqual(values("python_malloc_up"), [1]);
      assert.deepEqual(values("python_malloc_in_use_bytes"), [t.malloc!.heap!.inUseBytes]);
      if (fs.existsSync("/usr/bin/promtool")) {
        const check = spawnSync("/usr/bin/promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
        assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
      }
    } finally {
      cache.close();
    }
  },
  { skip },
);

test("pymem why PID on the threaded workload: glibc's free memory is the biggest holder, and what to do", async () => {
  const child = await shared();
  const r = cli(["why", String(child.pid), "--json", join(tmp, "why.json")]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^RSS .* \(smaps\), by holder:$/m);
  assert.match(r.stdout, /^ {2}malloc free but held +[\d.]+ MiB/m);
  assert.match(r.stdout, /^The biggest holder besides live data: glibc malloc's free memory, /m);
  assert.match(r.stdout, /MALLOC_ARENA_MAX=2/);
  assert.match(r.stdout, /malloc_trim\(0\) would give back/);
  const doc = JSON.parse(fs.readFileSync(join(tmp, "why.json"), "utf8"));
  assert.equal(doc.schema, "pymem.why");
  assert.equal(doc.addressSpace.malloc.arenas.length, THREADS + 1);
  assert.equal(doc.addressSpace.breakdown.pymalloc, doc.addressSpace.categories.pymalloc.rss);
  assert.match(doc.verdict.join("\n"), /MALLOC_ARENA_MAX/);
}, { skip });

const isBun = !!(globalThis as { Bun?: unknown }).Bun;

test("pymem why PID under PYTHONMALLOC=malloc: no pymalloc heap, the RSS by holder is the answer", async () => {
  const child = await start({ PYTHONMALLOC: "malloc" });
  try {
    const r = cli(["why", String(child.pid), "--json", join(tmp, "why-malloc.json")]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^RSS .* \(smaps\), by holder:$/m);
    assert.match(r.stdout, /^No pymalloc heap: .*does not use obmalloc/m);
    const doc = JSON.parse(fs.readFileSync(join(tmp, "why-malloc.json"), "utf8"));
    assert.match(doc.noObmalloc, /does not use obmalloc/);
    assert.equal(doc.addressSpace.categories.pymalloc.rss, 0);
    // Every object is in malloc's chunks: the threads' bytearrays and the 150,000 small tuples and strs.
    const b = doc.addressSpace.breakdown;
    assert.ok(b.mallocInUse + b.mallocFree >= doc.addressSpace.total.rss * 0.8, JSON.stringify(b));
    // held[]: the objects themselves, in malloc's chunks.
    assert.ok(doc.held?.some((h: { name: string; mallocCount: number }) => h.name === "tuple" && h.mallocCount > 0));
    // attach has no map to draw: it says so and gives the RSS by holder; the map formats are refused.
    const a = cli(["attach", String(child.pid)]);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /does not use obmalloc/);
    assert.match(a.stdout, /^RSS .* \(smaps\), by holder:$/m);
    assert.match(a.stdout, new RegExp(`pymem why ${child.pid}`));
    const j = cli(["attach", String(child.pid), "--json", "-"]);
    assert.equal(j.status, 1);
    assert.match(j.stderr, /--json needs a heap map/);
  } finally {
    await kill(child);
  }
}, { skip });

test("address space in-process: the same attribution here; py.mallocTrim() gives back what was free", async () => {
  const py = await python();
  // Every other 20 KB bytearray freed, in two thread arenas: free chunks of whole pages between live ones, which
  // malloc_trim(0) gives back (madvise) and nothing before it does (they do not reach the top chunk).
  py.run(`
import threading
_keep = []
def _w():
    xs = [bytearray(20000 + i % 2000) for i in range(1000)]
    del xs[::2]
    _keep.append(xs)
_t = [threading.Thread(target=_w) for _ in range(2)]
for t in _t: t.start()
for t in _t: t.join()
_small = [(i, str(i)) for i in range(50000)]
`);
  const s = py.addressSpace();
  checkSums(s);
  assert.equal(s.malloc.refused, null);
  // A misspelt option or something else than a walk is refused, not ignored or failed on deep inside.
  assert.throws(() => py.addressSpace({ heaps: py.heap() } as never), TypeError);
  assert.throws(() => py.addressSpace({ heap: {} } as never), TypeError);
  assert.throws(() => py.addressSpace({ malloc: 5 } as never), TypeError);
  assert.throws(() => py.addressSpace("all" as never), TypeError);
  assert.ok(s.categories.pymalloc.rss > 0 && s.categories.mallocMain.rss > 0 && s.categories.stacks.rss > 0);
  assert.ok(s.malloc.threadArenas >= 1);
  // The runtime's own memory (its JavaScript heap) is neither pymalloc's nor glibc's: other anonymous memory.
  assert.ok(s.categories.anonymous.rss > 0);
  // Read while Node's and Deno's threads allocate, an arena whose heap grew meanwhile has no residency figure: the sum
  // of those that have one.
  const reclaimable = py.mallocHeap().arenas.reduce((n, a) => n + (a.reclaimableResidentBytes ?? 0), 0);
  assert.ok(reclaimable > 8 << 20, `reclaimable ${reclaimable}`);
  const t = py.mallocTrim();
  assert.equal(t.rssDropBytes, Math.max(0, t.rssBefore - t.rssAfter));
  assert.ok(t.released, JSON.stringify(t));
  // Bun allocates nothing from glibc malloc meanwhile: the drop is at least what the walk said, less 5% (its own
  // heap may give memory back at the same moment; the exact figure, in a quiescent target, is glibc_heap_test's).
  // Node's and Deno's own threads allocate and free from glibc malloc all the while (their free memory is in the
  // figure too, and comes and goes): there the drop is at least half of the 20 MB the workload freed.
  if (isBun) assert.ok(t.rssDropBytes >= reclaimable * 0.95, `${JSON.stringify(t)} vs ${reclaimable}`);
  else assert.ok(t.rssDropBytes >= 8 << 20, JSON.stringify(t));
  py.run("del _keep, _small");
});

// A forked worker (gunicorn, multiprocessing): its free chunks' pages are still shared copy-on-write with the
// parent, neither exclusive nor file pages in the pagemap, like the zero page; they are in its RSS all the same, and
// malloc_trim(0) gives them back. Told apart through /proc/kpageflags (CAP_SYS_ADMIN, as in CI).
const FORKED = `
import ctypes, os, signal, sys, time
libc = ctypes.CDLL("libc.so.6")
libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: the 20 KB buffers stay in the heap
xs = [bytearray(20000) for i in range(2000)]
del xs[::2]
if os.fork() == 0:
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    open(sys.argv[1], "w").write(str(os.getpid()))
    signal.sigwait([signal.SIGUSR1])
    rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    before = rss(); libc.malloc_trim(0); after = rss()
    open(sys.argv[1] + ".trim", "w").write("%d %d" % (before, after))
    time.sleep(1e6)
else:
    time.sleep(1e6)
`;
let kpageflags = false;
try {
  fs.closeSync(fs.openSync("/proc/kpageflags", "r"));
  kpageflags = true;
} catch { /* not privileged */ }

test(
  "a forked worker: free pages shared with its parent count as resident, and malloc_trim(0) gives them back",
  async () => {
    const file = join(tmp, "forked.py"), out = join(tmp, "forked.pid");
    fs.writeFileSync(file, FORKED);
    const [cmd, args] = launched(target!.exe, [file, out]);
    const parent = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    children.push(parent);
    let pid = 0;
    try {
      for (const t0 = Date.now(); !(fs.existsSync(out) && fs.readFileSync(out, "utf8")); await sleep(25)) {
        if (Date.now() - t0 > 60_000) throw new Error("timed out waiting for the forked worker");
      }
      pid = Number(fs.readFileSync(out, "utf8"));
      const a = await attachPython(pid);
      let space: AddressSpace;
      try {
        space = a.addressSpace();
      } finally {
        a.close();
      }
      process.kill(pid, "SIGUSR1");
      for (const t0 = Date.now(); !fs.existsSync(out + ".trim"); await sleep(25)) {
        if (Date.now() - t0 > 30_000) throw new Error("the worker did not trim");
      }
      const [before, after] = fs.readFileSync(out + ".trim", "utf8").split(" ").map(Number);
      const dropped = before - after, said = space.breakdown.mallocReclaimable;
      // ~16 MB of freed buffers: before, pymem said 4 KiB of them were resident.
      assert.ok(dropped > 8e6, `the worker's RSS dropped only ${dropped} bytes`);
      assert.ok(Math.abs(said - dropped) <= 0.08 * dropped, `pymem said ${said}, malloc_trim(0) gave back ${dropped}`);
    } finally {
      if (pid) process.kill(pid, "SIGKILL");
      await kill(parent);
    }
  },
  { skip: skip || (!kpageflags && "needs /proc/kpageflags (CAP_SYS_ADMIN) to tell shared pages from the zero page") },
);

test("address space: cleanup", async () => {
  await Promise.all(children.map(kill));
  fs.rmSync(tmp, { recursive: true, force: true });
});
