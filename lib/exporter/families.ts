/**
 * What the exporter publishes: every metric family, its name, help and unit, filled from one scrape's results.
 * docs/exporter.md has the same list as a table (tests/exporter_test.ts checks that every family here is in it).
 *
 * Per-process families carry the labels of {@link targetLabels}. A figure the target's CPython does not keep is
 * left out for that process (no sample), never published as 0.
 * @module
 */
import { PYMEM_VERSION } from "../core/version.ts";
import type { ErrorReason, TargetFigures, UnsupportedReason } from "./collect.ts";
import { ERROR_REASONS, UNSUPPORTED_REASONS } from "./collect.ts";
import { type Labels, MetricSet } from "./metrics.ts";
import { processUsage } from "./self.ts";

/**
 * At most this many `pymem_exporter_target_error_info` series per scrape (the lowest pids): a host where every
 * process fails still gives a bounded answer; the counts by reason and the log have the rest.
 */
export const MAX_ERROR_SERIES = 100;

/** The labels of one process: pid, CPython version, executable, short command line, container and pod. */
export function targetLabels(t: TargetFigures & { container: string; pod: string }): Labels {
  return { pid: String(t.pid), python: t.python, exe: t.exe, cmd: t.cmd, container_id: t.container, pod_uid: t.pod };
}

/** The exporter's view of itself, carried from scrape to scrape (counters) and from this scrape (gauges). */
export interface ExporterStats {
  runtime: string;
  scrapes: number;
  /** Errors by reason since start. */
  errors: Record<ErrorReason, number>;
  /** Workers killed at a read's hard limit, or ended from outside, since start. */
  workerRestarts: number;
  /** Reads that ran into their hard limit (their worker killed), by lane, since start. */
  readsKilled?: { heap: number; types: number };
  /** This scrape. */
  seen: number;
  mapped: number;
  skipped: number;
  /** Of the mapped, served from a read that ended before this scrape began. */
  carried?: number;
  /** Targets whose read was not done by this scrape's deadline. */
  pending?: number;
  /** This scrape, from the request to the last answer it waited for (the encoding is not included). */
  durationSeconds: number;
  /** The scrape's budget (the scraper's timeout less the margin), when it has one. */
  budgetSeconds?: number;
  /** Some target of this scrape went unread for want of time. */
  partial?: boolean;
  /** The workers' pids by their name: their place in the pool, or "types" (undefined: not running now). */
  workerPids?: { worker: string; pid: number | undefined }[];
  /** Failed textfile writes since start; undefined when not writing a textfile. */
  textfileFailures?: number;
}

/** A Python process pymem cannot read for as long as it lives, listed once as such. */
export interface UnsupportedTarget {
  pid: number;
  exe: string;
  python: string;
  reason: UnsupportedReason;
}

/** The health of one Python process the exporter tried to read in this scrape. */
export interface TargetHealth {
  /** The labels of its figures when it was ever read; else pid and its process name as `exe`. */
  labels: Labels;
  up: boolean;
  /** When it was last read in full (Unix seconds), if ever while it lives. */
  lastSuccess?: number;
  /** Why it failed in this scrape. */
  reason?: ErrorReason;
}

/** The names of every family the exporter may publish (for the docs check). */
export const FAMILY_NAMES: string[] = [];

const fam = <T extends string>(name: T): T => {
  FAMILY_NAMES.push(name);
  return name;
};

const N = {
  info: fam("python_process_info"),
  rss: fam("python_process_resident_memory_bytes"),
  arenas: fam("python_pymalloc_arenas"),
  highwater: fam("python_pymalloc_arenas_highwater"),
  allocations: fam("python_pymalloc_arena_allocations"),
  arenaBytes: fam("python_pymalloc_arena_bytes"),
  pools: fam("python_pymalloc_pools"),
  blocks: fam("python_pymalloc_blocks_in_use"),
  inUse: fam("python_pymalloc_in_use_bytes"),
  freeUsed: fam("python_pymalloc_free_in_used_pools_bytes"),
  freeFree: fam("python_pymalloc_free_in_free_pools_bytes"),
  pinned: fam("python_pymalloc_pinned_arenas"),
  pinnedBytes: fam("python_pymalloc_pinned_arena_bytes"),
  reclaimable: fam("python_pymalloc_reclaimable_arenas"),
  raw: fam("python_pymalloc_raw_allocated_blocks"),
  inconsistent: fam("python_pymalloc_inconsistent_pools"),
  pinnedByType: fam("python_pymalloc_pinned_by_type_bytes"),
  memRss: fam("python_memory_rss_bytes"),
  memPss: fam("python_memory_pss_bytes"),
  memDirty: fam("python_memory_private_dirty_bytes"),
  memSwap: fam("python_memory_swap_bytes"),
  memHolder: fam("python_memory_holder_bytes"),
  mallocUp: fam("python_malloc_up"),
  mallocArenas: fam("python_malloc_arenas"),
  mallocSystem: fam("python_malloc_system_bytes"),
  mallocInUse: fam("python_malloc_in_use_bytes"),
  mallocFree: fam("python_malloc_free_bytes"),
  mallocChunks: fam("python_malloc_chunks"),
  mallocReclaimable: fam("python_malloc_reclaimable_bytes"),
  mallocReclaimableResident: fam("python_malloc_reclaimable_resident_bytes"),
  mallocMmapped: fam("python_malloc_mmapped_chunks"),
  mallocMmappedBytes: fam("python_malloc_mmapped_bytes"),
  pinnedByTypeTime: fam("python_pymalloc_pinned_by_type_timestamp_seconds"),
  buildInfo: fam("pymem_exporter_build_info"),
  scrapes: fam("pymem_exporter_scrapes"),
  duration: fam("pymem_exporter_scrape_duration_seconds"),
  seen: fam("pymem_exporter_processes_seen"),
  mapped: fam("pymem_exporter_processes_mapped"),
  skipped: fam("pymem_exporter_processes_skipped"),
  errors: fam("pymem_exporter_errors"),
  restarts: fam("pymem_exporter_worker_restarts"),
  killed: fam("pymem_exporter_reads_killed"),
  carried: fam("pymem_exporter_processes_carried"),
  pending: fam("pymem_exporter_processes_pending"),
  budget: fam("pymem_exporter_scrape_budget_seconds"),
  up: fam("python_pymalloc_up"),
  lastSuccess: fam("python_pymalloc_last_success_timestamp_seconds"),
  unsupportedInfo: fam("python_process_unsupported_info"),
  unsupported: fam("pymem_exporter_processes_unsupported"),
  errorInfo: fam("pymem_exporter_target_error_info"),
  partial: fam("pymem_exporter_scrape_partial"),
  cpu: fam("process_cpu_seconds"),
  selfRss: fam("process_resident_memory_bytes"),
  start: fam("process_start_time_seconds"),
  workerCpu: fam("pymem_exporter_worker_cpu_seconds"),
  workerRss: fam("pymem_exporter_worker_resident_memory_bytes"),
  textfileTime: fam("pymem_exporter_textfile_timestamp_seconds"),
  textfileFailures: fam("pymem_exporter_textfile_write_failures"),
};

/** Every family of one scrape: the mapped targets' figures, then the exporter's own. */
export function buildMetrics(
  targets: (TargetFigures & { container: string; pod: string })[],
  stats: ExporterStats,
  health: { health: TargetHealth[]; unsupported: UnsupportedTarget[] } = { health: [], unsupported: [] },
): MetricSet {
  const m = new MetricSet();
  const info = m.gauge(
    N.info,
    "A CPython process pymem read: its labels, and the object allocator in use (1 per process).",
  );
  const rss = m.gauge(N.rss, "Resident set size of the process (VmRSS).", "bytes");
  const arenas = m.gauge(
    N.arenas,
    "pymalloc arenas currently allocated (sys._debugmallocstats: # arenas allocated current).",
  );
  const highwater = m.gauge(
    N.highwater,
    "Most pymalloc arenas allocated at once since the process started (narenas_highwater; CPython 3.12+).",
  );
  const allocations = m.counter(
    N.allocations,
    "pymalloc arenas allocated since the process started (ntimes_arena_allocated; CPython 3.12+).",
  );
  const arenaBytes = m.gauge(N.arenaBytes, "Bytes mapped for pymalloc arenas.", "bytes");
  const pools = m.gauge(
    N.pools,
    "pymalloc pools by state: used (at least one live block), empty (carved, no live block), untouched (never carved).",
  );
  const blocks = m.gauge(N.blocks, "pymalloc blocks in use (the sum of the size-class table's blocks in use).");
  const inUse = m.gauge(N.inUse, "Bytes in pymalloc blocks in use (# bytes in allocated blocks).", "bytes");
  const freeUsed = m.gauge(
    N.freeUsed,
    "Free bytes inside used pools: reusable only by the same size class (# bytes in available blocks).",
    "bytes",
  );
  const freeFree = m.gauge(
    N.freeFree,
    "Bytes of arenas in empty or never-used pools: reusable by any size class, still mapped.",
    "bytes",
  );
  const pinned = m.gauge(N.pinned, "Arenas kept mapped by fewer than 5 used pools each.");
  const pinnedBytes = m.gauge(N.pinnedBytes, "Bytes of the pinned arenas.", "bytes");
  const reclaimable = m.gauge(N.reclaimable, "Arenas perfect packing of the live blocks would give back to the OS.");
  const raw = m.gauge(
    N.raw,
    "Blocks over 512 bytes that pymalloc handed to the raw allocator, live (raw_allocated_blocks; CPython 3.9+).",
  );
  const inconsistent = m.gauge(
    N.inconsistent,
    "Pool headers that stayed inconsistent while the target wrote them during the read (not counted in the other figures).",
  );

  for (const t of targets) {
    const l = targetLabels(t);
    info.add({ ...l, allocator: t.allocator || "unknown" }, 1);
    if (t.rss !== null) rss.add(l, t.rss);
    const h = t.heap;
    if (!h) continue;
    if (t.pinnedByType) {
      addPinnedByType(m, l, t.pinnedByType, t.pinnedByType.length);
      if (t.pinnedByTypeAt !== undefined) {
        m.gauge(
          N.pinnedByTypeTime,
          "When this process's pinned bytes by type were computed (Unix time): they are refreshed on their own " +
            "cadence (--top-types-interval), not every scrape.",
          "seconds",
        ).add(l, t.pinnedByTypeAt);
      }
    }
    arenas.add(l, h.arenas);
    if (h.arenasHighwater !== undefined) highwater.add(l, h.arenasHighwater);
    if (h.arenaAllocations !== undefined) allocations.add(l, h.arenaAllocations);
    arenaBytes.add(l, h.arenaBytes);
    pools.add({ ...l, state: "used" }, h.poolsUsed);
    pools.add({ ...l, state: "empty" }, h.poolsEmpty);
    if (h.poolsUntouched !== undefined) pools.add({ ...l, state: "untouched" }, h.poolsUntouched);
    blocks.add(l, h.blocksInUse);
    inUse.add(l, h.bytesInUse);
    freeUsed.add(l, h.freeBytesInUsedPools);
    freeFree.add(l, h.freeBytesInFreePools);
    pinned.add(l, h.pinnedArenas);
    pinnedBytes.add(l, h.pinnedArenaBytes);
    reclaimable.add(l, h.reclaimableArenas);
    if (h.rawAllocatedBlocks !== undefined) raw.add(l, h.rawAllocatedBlocks);
    inconsistent.add(l, h.inconsistentPools);
  }
  if (targets.some((t) => t.malloc)) addMalloc(m, targets);

  m.gauge(N.buildInfo, "The pymem exporter: version and JavaScript runtime (always 1).").add({
    version: PYMEM_VERSION,
    runtime: stats.runtime,
  }, 1);
  m.counter(N.scrapes, "Scrapes (HTTP requests for /metrics, or textfile writes) since the exporter started.").add(
    {},
    stats.scrapes,
  );
  m.gauge(
    N.duration,
    "How long this scrape took, from the request to the last answer it waited for (at most its budget).",
    "seconds",
  ).add({}, stats.durationSeconds);
  if (stats.budgetSeconds !== undefined) {
    m.gauge(
      N.budget,
      "This scrape's budget: the scraper's timeout (X-Prometheus-Scrape-Timeout-Seconds) less the margin, or the " +
        "textfile interval.",
      "seconds",
    ).add({}, stats.budgetSeconds);
  }
  m.gauge(
    N.seen,
    "Python processes found in this scrape (including those left out by --match/--exclude and those that failed).",
  ).add({}, stats.seen);
  m.gauge(N.mapped, "Python processes with figures in this scrape (read in it, or carried from their last read).")
    .add({}, stats.mapped);
  m.gauge(
    N.carried,
    "Of the mapped processes, those served from a read that ended before this scrape began (the scheduler spread " +
      "the reads over scrapes, or the read was not done in time); python_pymalloc_last_success_timestamp_seconds " +
      "says when each was read.",
  ).add({}, stats.carried ?? 0);
  m.gauge(
    N.pending,
    "Processes whose read was not done by this scrape's deadline: it goes on, and the next scrape gets it.",
  ).add({}, stats.pending ?? 0);
  m.gauge(N.skipped, "Python processes left out by --match/--exclude in this scrape.").add({}, stats.skipped);
  const errors = m.counter(
    N.errors,
    "Python processes that could not be read, by reason, since the exporter started (one per process per scrape).",
  );
  for (const r of ERROR_REASONS) errors.add({ reason: r }, stats.errors[r]);
  m.counter(
    N.restarts,
    "Workers replaced: killed because a read ran into its hard limit (--timeout), or ended from outside (a crash, " +
      "the OOM killer, SIGKILL).",
  ).add({}, stats.workerRestarts);
  const killed = m.counter(
    N.killed,
    "Reads taken for hung (still running at --timeout, or 4 times their last duration if more): their worker was " +
      "killed. lane: heap (the figures) or types (pinned bytes by type).",
  );
  killed.add({ lane: "heap" }, stats.readsKilled?.heap ?? 0);
  killed.add({ lane: "types" }, stats.readsKilled?.types ?? 0);
  addHealth(m, stats, health);
  return m;
}

/** The category label of each address-space category (snake case, as Prometheus labels are written). */
const CATEGORY_LABEL: Record<string, string> = {
  pymalloc: "pymalloc",
  mimalloc: "mimalloc",
  mallocMain: "malloc_main_heap",
  mallocThreads: "malloc_thread_heaps",
  mallocMmapped: "malloc_mmapped",
  stacks: "stacks",
  executable: "executable",
  libraries: "libraries",
  files: "files",
  anonymous: "anonymous",
};
const HOLDER_LABEL: Record<string, string> = {
  pymalloc: "pymalloc",
  mimalloc: "mimalloc",
  mallocInUse: "malloc_in_use",
  mallocFree: "malloc_free",
  stacks: "stacks",
  code: "code",
  other: "other",
};

/** --malloc: RSS by category of mappings and by holder, and glibc malloc's totals, per process. */
function addMalloc(m: MetricSet, targets: (TargetFigures & { container: string; pod: string })[]): void {
  const by = (what: string) =>
    `${what} of the process's mappings by category (/proc/PID/smaps attributed: pymalloc arenas, mimalloc ` +
    "segments, glibc malloc's " +
    "main heap, thread heaps and mmapped chunks, thread stacks, executable, libraries, other files, other " +
    "anonymous memory; the categories sum to smaps_rollup).";
  const rss = m.gauge(N.memRss, by("Resident memory (Rss)"), "bytes");
  const pss = m.gauge(N.memPss, by("Proportional set size (Pss)"), "bytes");
  const dirty = m.gauge(N.memDirty, by("Private dirty memory (Private_Dirty)"), "bytes");
  const swap = m.gauge(N.memSwap, by("Swapped-out memory (Swap)"), "bytes");
  const holder = m.gauge(
    N.memHolder,
    "Resident memory by holder: pymalloc, mimalloc, malloc_in_use, malloc_free (freed by the program, held by glibc malloc), " +
      "stacks, code (executable and libraries), other; they sum to the Rss of the categories.",
    "bytes",
  );
  const up = m.gauge(
    N.mallocUp,
    "1 when glibc malloc's heap of the process was read, 0 when its malloc is not glibc's or its release is not " +
      "one pymem checked (the python_memory_* series are still published).",
  );
  const arenas = m.gauge(N.mallocArenas, "glibc malloc arenas: the main arena and the thread arenas.");
  const system = m.gauge(
    N.mallocSystem,
    "Bytes glibc malloc's arenas hold from the system (mallinfo2 arena).",
    "bytes",
  );
  const inUse = m.gauge(N.mallocInUse, "Bytes of malloc chunks allocated to the program.", "bytes");
  const free = m.gauge(
    N.mallocFree,
    "Free bytes inside glibc malloc's arenas by where they sit: tcache, fastbins, unsorted, small and large bins, " +
      "top chunks.",
    "bytes",
  );
  const chunks = m.gauge(N.mallocChunks, "glibc malloc chunks by state: in_use, free (top chunks not counted).");
  const reclaimable = m.gauge(
    N.mallocReclaimable,
    "Bytes malloc_trim(0) would give back: whole free pages inside free chunks, and the main heap's top.",
    "bytes",
  );
  const resident = m.gauge(
    N.mallocReclaimableResident,
    "The resident part of python_malloc_reclaimable_bytes: what malloc_trim(0) would take off RSS now.",
    "bytes",
  );
  const mmapped = m.gauge(
    N.mallocMmapped,
    "Chunks glibc malloc gave a mapping of their own (over the mmap threshold).",
  );
  const mmappedBytes = m.gauge(N.mallocMmappedBytes, "Bytes of the mmapped chunks.", "bytes");
  for (const t of targets) {
    const x = t.malloc;
    if (!x) continue;
    const l = targetLabels(t);
    for (const [c, f] of Object.entries(x.categories)) {
      const cl = { ...l, category: CATEGORY_LABEL[c] ?? c };
      rss.add(cl, f.rss);
      pss.add(cl, f.pss);
      dirty.add(cl, f.privateDirty);
      swap.add(cl, f.swap);
    }
    for (const [k, v] of Object.entries(x.breakdown)) {
      if (HOLDER_LABEL[k]) holder.add({ ...l, holder: HOLDER_LABEL[k] }, v);
    }
    up.add(l, x.heap ? 1 : 0);
    const h = x.heap;
    if (!h) continue;
    arenas.add(l, h.arenas);
    system.add(l, h.systemBytes);
    inUse.add(l, h.inUseBytes);
    for (const [where, v] of Object.entries(h.freeBytes)) free.add({ ...l, where }, v);
    chunks.add({ ...l, state: "in_use" }, h.inUseChunks);
    chunks.add({ ...l, state: "free" }, h.freeChunks);
    reclaimable.add(l, h.reclaimableBytes);
    resident.add(l, h.reclaimableResidentBytes);
    mmapped.add(l, h.mmappedChunks);
    mmappedBytes.add(l, h.mmappedBytes);
  }
}

/**
 * Pinned bytes by type, top N per process (the pinning view of lib/objects/), when the workers collected them
 * (`--top-types N`, N > 0).
 */
export function addPinnedByType(
  m: MetricSet,
  labels: Labels,
  rows: readonly { type: string; bytes: number }[],
  topN: number,
): void {
  m.gauge(
    N.pinnedByType,
    "Arena bytes kept mapped by the live blocks of each type: each arena's size shared among its live blocks by their size, instances charged with their __dict__s (the top N types per process, --top-types).",
    "bytes",
  )
    .addTopN(labels, "type", rows.map((r) => ({ label: r.type, value: r.bytes })), topN);
}

/** Per target up/last success, unsupported processes, the scrape's partial marker, own resources, textfile state. */
function addHealth(
  m: MetricSet,
  stats: ExporterStats,
  r: { health: TargetHealth[]; unsupported: UnsupportedTarget[] },
): void {
  const up = m.gauge(
    N.up,
    "1 when the last read of this Python process's pymalloc heap succeeded (in this scrape, or an earlier one when " +
      "it is carried: see the last success time), 0 when it failed (pymem_exporter_target_error_info says why).",
  );
  const last = m.gauge(
    N.lastSuccess,
    "When the pymalloc heap of this process was last read in full (Unix time).",
    "seconds",
  );
  const errorInfo = m.gauge(
    N.errorInfo,
    "A process that could not be read in this scrape, with the reason " +
      `(1 each; at most ${MAX_ERROR_SERIES}, lowest pids first).`,
  );
  let errors = 0;
  for (const h of r.health) {
    up.add(h.labels, h.up ? 1 : 0);
    if (h.lastSuccess !== undefined) last.add(h.labels, h.lastSuccess);
    if (!h.up && h.reason && errors++ < MAX_ERROR_SERIES) {
      errorInfo.add({ pid: h.labels.pid, exe: h.labels.exe, reason: h.reason }, 1);
    }
  }
  const info = m.gauge(
    N.unsupportedInfo,
    "A Python process pymem cannot read pymalloc figures of, for as long as it lives: reason python_version (older " +
      "than 3.8, free-threaded) or no_obmalloc (PYTHONMALLOC=malloc). 1 each.",
  );
  const byReason = new Map<string, number>(UNSUPPORTED_REASONS.map((x) => [x, 0]));
  for (const u of r.unsupported) {
    info.add({ pid: String(u.pid), exe: u.exe, python: u.python, reason: u.reason }, 1);
    byReason.set(u.reason, (byReason.get(u.reason) ?? 0) + 1);
  }
  const unsupported = m.gauge(
    N.unsupported,
    "Python processes found in this scrape whose pymalloc figures pymem cannot read, by reason (not errors).",
  );
  for (const [reason, n] of byReason) unsupported.add({ reason }, n);
  m.gauge(
    N.partial,
    "1 when some target of this scrape went unread for want of time (its read not done by the scrape's deadline, " +
      "or backed off after a read that ran into --timeout); 0 otherwise.",
  ).add({}, stats.partial ? 1 : 0);

  const self = processUsage();
  if (self) {
    m.counter(N.cpu, "CPU time (user and system) of the exporter's main process.", "seconds").add({}, self.cpuSeconds);
    if (self.residentBytes !== null) {
      m.gauge(N.selfRss, "Resident memory of the exporter's main process.", "bytes").add({}, self.residentBytes);
    }
    if (self.startTime !== undefined) {
      m.gauge(N.start, "When the exporter started (Unix time).", "seconds").add({}, self.startTime);
    }
  }
  const workerCpu = m.counter(
    N.workerCpu,
    "CPU time (user and system) of each running worker process since it started " +
      "(a restarted worker starts again from 0).",
    "seconds",
  );
  const workerRss = m.gauge(
    N.workerRss,
    "Resident memory of each running worker process (it holds the attachments of its targets).",
    "bytes",
  );
  for (const { worker, pid } of stats.workerPids ?? []) {
    const u = pid === undefined ? undefined : processUsage(pid);
    if (!u) continue;
    workerCpu.add({ worker }, u.cpuSeconds);
    if (u.residentBytes !== null) workerRss.add({ worker }, u.residentBytes);
  }
  if (stats.textfileFailures !== undefined) {
    m.gauge(
      N.textfileTime,
      "When this textfile was written (Unix time): node_exporter serves an old file as it is, so its age is time() " +
        "minus this.",
      "seconds",
    ).add({}, Date.now() / 1000);
    m.counter(N.textfileFailures, "Textfile writes that failed since the exporter started (each also on stderr).")
      .add({}, stats.textfileFailures);
  }
}
