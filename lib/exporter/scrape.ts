/**
 * One scrape: find the processes (lib/exporter/discovery.ts), have the workers read them (lib/exporter/pool.ts), and
 * build the metric families (lib/exporter/families.ts). Shared by the HTTP server and the textfile writer.
 *
 * Two phases, so that each can be observed on its own: `discover()` lists the candidates, `collect()` reads them.
 * Verdicts that cannot change while a process lives (not Python; left out by the filters; a CPython too old) are
 * remembered by pid + start time + name, so a host's other processes cost one stat read per scrape.
 *
 * Deadlines. A scrape answers by its deadline with what it has; nothing is stopped for it. Each target keeps its
 * last read (figures, when, what it cost), so:
 * - a read still running at the deadline goes on in its worker, and the next scrape gets it; this scrape serves the
 *   target's previous figures (their time in `python_pymalloc_last_success_timestamp_seconds`) and says it is
 *   partial;
 * - a read in flight when a scrape starts (sent by another scraper) is joined, not sent again; a read that ended
 *   before a scrape started is never taken as that scrape's fresh answer, so each scraper gets its own deadline and
 *   figures read within it, or the last ones, marked with their time;
 * - the scheduler sends each worker no more than it can read within the budget by the last read's cost, the targets
 *   never read and then the stalest first; the others are served from their last read (carried) and read in a later
 *   scrape, at the latest once their figures are {@link CARRY_BUDGETS} budgets old;
 * - only a read still running at its hard limit (`--timeout`, or {@link HANG_FACTOR} times its last cost if more) is
 *   taken for hung: its worker is killed and counted, and the target is backed off for {@link TIMEOUT_BACKOFF_MS}.
 *
 * Pinned bytes by type (`--top-types`) classify every live block, seconds per GiB: they are computed by a worker of
 * their own (so they never hold up the figures), one target at a time, each at most every `typesIntervalMs`, and
 * served from the last result with its age.
 * @module
 */
import process from "node:process";
import { PID_MAX_LIMIT } from "../machine/proc.ts";
import { runtimeName } from "../core/runtime.ts";
import { ERROR_REASONS, type ErrorReason, type TargetFigures, type TargetResult } from "./collect.ts";
import { containerOf, listProcesses, looksLikePython, processKey, type ProcStat } from "./discovery.ts";
import {
  buildMetrics,
  type ExporterStats,
  type TargetHealth,
  targetLabels,
  type UnsupportedTarget,
} from "./families.ts";
import type { Labels as TargetLabels, MetricSet } from "./metrics.ts";
import { type JobAnswer, WorkerPool } from "./pool.ts";

/** Options of a {@link Scraper}. */
export interface ScraperOptions {
  /** Only these pids (default: every process on the host). */
  pids?: number[];
  /** Only processes whose command line (argv joined by spaces) matches this regular expression. */
  match?: string;
  /** Leave out processes whose command line matches this regular expression. */
  exclude?: string;
  /**
   * Hard limit of one read, in milliseconds (default {@link DEFAULT_TIMEOUT_MS}): a read still running after this long
   * (or {@link HANG_FACTOR} times its last duration, if more) is taken for hung and its worker killed.
   */
  timeoutMs?: number;
  /** Worker processes (default 2). */
  workers?: number;
  /** Pinned bytes by type for the top N types of each process (default 0: not collected). */
  topTypes?: number;
  /** Also read glibc malloc's heap and smaps: RSS by category and python_malloc_* (default false). */
  malloc?: boolean;
  /** How often one process's pinned bytes by type are computed again, in milliseconds (default 60000). */
  typesIntervalMs?: number;
  /**
   * Where failures are told, one line each: a target that starts failing (pid, exe, reason, cause; again only when
   * its reason changes), an unsupported process (once), a worker restart. Default: nowhere.
   */
  log?: (line: string) => void;
  /** Publish the `cmd` label (default true): it shows argv, and secrets passed there, to whoever reads /metrics. */
  cmdLabel?: boolean;
}

/** What one scrape found, before it becomes metrics. */
export interface ScrapeResult {
  targets: Target[];
  errors: { pid: number; reason: ErrorReason; message: string }[];
  unsupported: UnsupportedTarget[];
  /** Every process of this scrape that is read (or should have been), up or not, by pid. */
  health: TargetHealth[];
  /**
   * Some target went unread for want of time: a read this scrape sent or joined was not done by its deadline, or a
   * target is backed off after a read that ran into its hard limit.
   */
  partial: boolean;
  /** Targets whose read was not done by the deadline (served from their last read, or not at all yet). */
  pending: number;
  /** Targets served from a read that ended before this scrape began (deferred by the scheduler, or pending). */
  carried: number;
  seen: number;
  skipped: number;
  seconds: number;
}

/** A mapped target with its container ids. */
export type Target = TargetFigures & { container: string; pod: string };

type Verdict = "not-python" | "excluded" | { unsupported: UnsupportedTarget };

/** The longest delay a timer takes (2^31-1 ms, about 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A target whose read ran into its hard limit is not read again for this long: each scrape meanwhile shows it down
 * (reason timeout) without sending it to a worker. A target hung in the kernel would otherwise cost a killed worker
 * every scrape (and a worker blocked in an uninterruptible read lingers until the read ends).
 */
export const TIMEOUT_BACKOFF_MS = 60_000;

/** Default hard limit of one read (`--timeout`). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A read is taken for hung after this many times its last duration, when that is more than `--timeout`. */
export const HANG_FACTOR = 4;

/** The share of a scrape's budget the scheduler fills with reads, by their expected cost (the rest is slack). */
export const BUDGET_FILL = 0.7;

/** Figures older than this many scrape budgets are read again whatever the budget left. */
export const CARRY_BUDGETS = 3;

/** Expected cost of a target never read (an attachment and a small heap). */
const FIRST_READ_MS = 100;

/** Expected cost of pinned bytes by type before the first: CPU-s per GiB of arenas measured on a busy host. */
const TYPES_MS_PER_GIB = 3000;

interface Read {
  result: TargetResult;
  /** performance.now() when it was sent, and when its answer came. */
  startedAt: number;
  finishedAt: number;
}

/** What the exporter knows of one process (pid + start time) while it lives. */
interface TargetState {
  proc: ProcStat;
  /** Known to be Python and to pass the filters: its failures count. */
  python: boolean;
  inflight?: { done: Promise<void>; startedAt: number };
  last?: Read;
  /** The last successful read: its figures, labels and end (Unix seconds). */
  good?: { target: Target; labels: TargetLabels; at: number };
  /** Duration of the last read that ended, milliseconds. */
  costMs?: number;
  /** Date.now() until which it is not read (its read ran into the hard limit). */
  backoffUntil?: number;
  /** The reason last told on stderr, so a lasting failure is told once. */
  told?: string;
  /** Pinned bytes by type, from the types worker, and when they were computed (Unix seconds). */
  types?: { rows: { type: string; bytes: number }[]; at: number };
  typesCostMs?: number;
  typesNotBefore?: number;
}

export class Scraper {
  readonly #pids?: number[];
  readonly #pool: WorkerPool;
  /** The worker that computes pinned bytes by type (only with topTypes > 0). */
  readonly #typesPool: WorkerPool | undefined;
  readonly #typesIntervalMs: number;
  #typesBusy = false;
  readonly #timeoutMs: number;
  readonly #workers: number;
  #verdicts = new Map<string, Verdict>();
  #states = new Map<string, TargetState>();
  readonly #filtered: boolean;
  #scrape = 0;
  readonly #errors = Object.fromEntries(ERROR_REASONS.map((r) => [r, 0])) as Record<ErrorReason, number>;
  #closed = false;
  readonly #log: (line: string) => void;
  readonly #cmdLabel: boolean;
  /** Textfile writes that failed since start, when writing a textfile (the textfile then carries it). */
  textfileFailures: number | undefined;

  constructor(options: ScraperOptions = {}) {
    for (const [k, v] of [["match", options.match], ["exclude", options.exclude]] as const) {
      if (v === undefined) continue;
      try {
        new RegExp(v);
      } catch (e) {
        throw new RangeError(`--${k}: not a regular expression: ${(e as Error).message}`);
      }
    }
    if (options.pids) {
      for (const p of options.pids) {
        if (!Number.isSafeInteger(p) || p <= 0 || p > PID_MAX_LIMIT) throw new RangeError(`not a process id: ${p}`);
      }
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0) || !(timeoutMs <= MAX_TIMER_MS)) {
      throw new RangeError(`timeout must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${timeoutMs}`);
    }
    const typesIntervalMs = options.typesIntervalMs ?? 60_000;
    if (!(typesIntervalMs >= 0) || !(typesIntervalMs <= MAX_TIMER_MS)) {
      throw new RangeError(`the types interval must be 0 to ${MAX_TIMER_MS} milliseconds, got ${typesIntervalMs}`);
    }
    this.#pids = options.pids;
    this.#filtered = options.match !== undefined || options.exclude !== undefined;
    this.#timeoutMs = timeoutMs;
    this.#typesIntervalMs = typesIntervalMs;
    this.#log = options.log ?? (() => {});
    this.#cmdLabel = options.cmdLabel ?? true;
    this.#workers = options.workers ?? 2;
    const filter = { match: options.match, exclude: options.exclude };
    this.#pool = new WorkerPool(this.#workers, { ...filter, topTypes: 0, malloc: options.malloc ?? false }, this.#log);
    const topTypes = options.topTypes ?? 0;
    this.#typesPool = topTypes > 0 ? new WorkerPool(1, { ...filter, topTypes }, this.#log) : undefined;
  }

  /** Start the workers now rather than on the first scrape. */
  async start(): Promise<void> {
    await Promise.all([this.#pool.start(), this.#typesPool?.start()]);
  }

  /** Errors by reason since start (what `pymem_exporter_errors_total` publishes). */
  get errors(): Readonly<Record<ErrorReason, number>> {
    return { ...this.#errors };
  }

  /** The candidate processes: every live process (or the --pid ones), minus this exporter and its workers. */
  discover(): ProcStat[] {
    const ignore = this.#pool.pids();
    for (const pid of this.#typesPool?.pids() ?? []) ignore.add(pid);
    ignore.add(process.pid);
    return listProcesses(this.#pids, ignore);
  }

  /** Send one read of `st` to its worker; its answer updates `st` whenever it comes. */
  #read(st: TargetState, scrape: number): { done: Promise<void>; startedAt: number } {
    const p = st.proc;
    const startedAt = performance.now();
    const estimateMs = st.costMs ?? FIRST_READ_MS;
    // A first read has no cost of its own to scale the limit by: --timeout alone.
    const limitMs = Math.min(MAX_TIMER_MS, Math.max(this.#timeoutMs, HANG_FACTOR * (st.costMs ?? 0)));
    const job = { pid: p.pid, start: p.start, comm: p.comm, scrape };
    const inflight = {
      startedAt,
      done: this.#pool.run(job, { estimateMs, limitMs }).then((a) => {
        if (st.inflight === inflight) st.inflight = undefined;
        this.#settle(st, a, startedAt);
      }),
    };
    st.inflight = inflight;
    return inflight;
  }

  /** A read's answer: remember it, count and tell a failure once, remember verdicts. */
  #settle(st: TargetState, a: JobAnswer, startedAt: number): void {
    const r = a.result, p = st.proc, key = processKey(p), vkey = `${key}:${p.comm}`;
    if (!a.killed && r.kind !== "error") st.costMs = a.ranMs;
    if (a.killed) st.costMs = Math.max(st.costMs ?? 0, a.ranMs);
    if (r.kind === "error" && r.backoff) st.backoffUntil = Date.now() + TIMEOUT_BACKOFF_MS;
    const tell = (what: string, line: string) => {
      if (st.told !== what) this.#log(line);
      st.told = what;
    };
    // A process that ended or hung before it was known to be Python (and to pass the filters) is not counted; one
    // known from an earlier read, or named like Python when no filter applies, is.
    const ours = st.python || (!this.#filtered && looksLikePython(p.comm));
    const read: Read = { result: r, startedAt, finishedAt: performance.now() };
    if (r.kind === "not-python" || r.kind === "excluded") {
      this.#verdicts.set(vkey, r.kind);
    } else if (r.kind === "unsupported") {
      const u: UnsupportedTarget = { pid: p.pid, exe: r.exe, python: r.python, reason: r.reason };
      this.#verdicts.set(vkey, { unsupported: u });
      tell(
        `unsupported ${r.reason}`,
        `process ${p.pid} (${r.exe || p.comm}) is not supported (${r.reason}): ${r.message}`,
      );
    } else if (r.kind === "gone" || r.kind === "error") {
      // An end or a hang before it was known to be Python is not ours to count; a refusal (its maps unreadable,
      // named like Python and passing the filters) is.
      if (!ours && (r.kind === "gone" || r.reason === "timeout")) return;
      st.python = true;
      const reason = r.kind === "gone" ? "exited" : r.reason;
      const message = r.kind === "gone" ? "exited during the scrape" : r.message;
      st.last = { ...read, result: { kind: "error", reason, message } };
      this.#errors[reason]++;
      tell(reason, `process ${p.pid} (${p.comm}) not read: ${reason}: ${message}`);
      return;
    } else {
      st.python = true;
      const target: Target = { ...r.target, ...containerOf(p.pid) };
      if (!this.#cmdLabel) target.cmd = ""; // an empty label is left out of the encoding
      st.good = { target, labels: targetLabels(target), at: Date.now() / 1000 };
      if (target.heap === null) {
        const u = `unsupported no_obmalloc`;
        tell(u, `process ${p.pid} (${target.exe || p.comm}) is not supported (no_obmalloc): ${target.noHeap ?? ""}`);
      } else st.told = undefined;
    }
    st.last = read;
  }

  /**
   * Read the candidates. `deadlineMs` bounds the whole scrape (Prometheus's scrape timeout less a margin), counted
   * from `t0` (performance.now(); default: now): what is not read by then is served from its last read, and its
   * read goes on for the next scrape. Never rejects because of a target.
   */
  async collect(procs: ProcStat[], deadlineMs?: number, t0: number = performance.now()): Promise<ScrapeResult> {
    if (deadlineMs !== undefined && !(deadlineMs > 0)) {
      throw new RangeError(`deadline must be a positive number of milliseconds, got ${deadlineMs}`);
    }
    // A longer delay than the timer range fires at once.
    const budget = deadlineMs === undefined || deadlineMs === Infinity ? Infinity : Math.min(deadlineMs, MAX_TIMER_MS);
    const scrape = ++this.#scrape;
    const out: ScrapeResult = {
      targets: [],
      errors: [],
      unsupported: [],
      health: [],
      partial: false,
      pending: 0,
      carried: 0,
      seen: 0,
      skipped: 0,
      seconds: 0,
    };
    // Only what is known of processes still present is kept.
    const present = new Set(procs.map(processKey));
    for (const key of this.#states.keys()) if (!present.has(key)) this.#states.delete(key);
    const vpresent = new Set(procs.map((p) => `${processKey(p)}:${p.comm}`));
    for (const key of this.#verdicts.keys()) if (!vpresent.has(key)) this.#verdicts.delete(key);

    const now = Date.now();
    // The reads this scrape waits for, by target.
    const awaited = new Map<TargetState, { done: Promise<void>; startedAt: number }>();
    const candidates: TargetState[] = [];
    for (const p of procs) {
      if (this.#verdicts.has(`${processKey(p)}:${p.comm}`)) continue;
      const key = processKey(p);
      let st = this.#states.get(key);
      if (!st) this.#states.set(key, st = { proc: p, python: false });
      if (st.backoffUntil !== undefined && now < st.backoffUntil) continue;
      if (st.inflight) awaited.set(st, st.inflight);
      else if (!st.last || st.last.startedAt < t0) candidates.push(st);
    }
    // Never read first, then the stalest.
    candidates.sort((a, b) =>
      (a.last ? 1 : 0) - (b.last ? 1 : 0) || (a.last?.finishedAt ?? 0) - (b.last?.finishedAt ?? 0) ||
      a.proc.pid - b.proc.pid
    );
    const load = new Map<number, number>();
    const tNow = performance.now();
    for (const st of candidates) {
      const w = st.proc.pid % this.#workers;
      const l = load.get(w) ?? this.#pool.pendingMs(st.proc.pid);
      const cost = st.costMs ?? FIRST_READ_MS;
      const fits = l + cost <= (budget - (tNow - t0)) * BUDGET_FILL;
      if (!fits && st.last && tNow - st.last.finishedAt < CARRY_BUDGETS * budget) continue;
      load.set(w, l + cost);
      awaited.set(st, this.#read(st, scrape));
    }
    this.#feedTypes();

    if (awaited.size) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const all = Promise.all([...awaited.values()].map((a) => a.done));
      if (budget === Infinity) await all;
      else {
        const left = Math.max(0, t0 + budget - performance.now());
        await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
      }
    }

    for (const p of procs) {
      const key = processKey(p);
      const verdict = this.#verdicts.get(`${key}:${p.comm}`);
      if (verdict === "not-python") continue;
      if (verdict === "excluded") {
        out.seen++;
        out.skipped++;
        continue;
      }
      if (verdict !== undefined) {
        out.seen++;
        out.unsupported.push(verdict.unsupported);
        continue;
      }
      const st = this.#states.get(key);
      if (!st) continue;
      const waited = awaited.get(st);
      if (waited && st.inflight === waited) {
        out.pending++;
        out.partial = true;
      }
      const last = st.last;
      if (!last) continue;
      const fresh = last.startedAt >= (waited?.startedAt ?? t0);
      if (last.result.kind === "error") {
        const { reason, message } = last.result;
        out.seen++;
        out.errors.push({ pid: p.pid, reason, message });
        if (reason === "timeout") out.partial = true;
        const labels = st.good?.labels ?? { pid: String(p.pid), exe: p.comm };
        out.health.push({ labels, up: false, lastSuccess: st.good?.at, reason });
        continue;
      }
      const good = st.good;
      if (last.result.kind !== "mapped" || !good) continue;
      const target = st.types
        ? { ...good.target, pinnedByType: st.types.rows, pinnedByTypeAt: st.types.at }
        : good.target;
      out.targets.push(target);
      out.seen++;
      if (!fresh) out.carried++;
      if (target.heap === null) {
        // No obmalloc heap (PYTHONMALLOC=malloc, an allocator pymem cannot map): read, but there is nothing of pymalloc's to be up.
        out.unsupported.push({ pid: p.pid, exe: target.exe, python: target.python, reason: "no_obmalloc" });
        continue;
      }
      out.health.push({ labels: good.labels, up: true, lastSuccess: good.at });
    }
    out.targets.sort((a, b) => a.pid - b.pid);
    out.unsupported.sort((a, b) => a.pid - b.pid);
    out.health.sort((a, b) => Number(a.labels.pid) - Number(b.labels.pid));
    out.seconds = (performance.now() - t0) / 1000;
    return out;
  }

  /**
   * Keep the types worker busy while some target's pinned bytes by type are due: never computed first (the smallest
   * heap first, so a fleet's small processes get theirs soon), then the oldest, each at most every typesIntervalMs.
   */
  #feedTypes(): void {
    const pool = this.#typesPool;
    if (!pool || this.#typesBusy || this.#closed) return;
    const now = Date.now();
    let best: TargetState | undefined, bestRank: [number, number] | undefined;
    for (const st of this.#states.values()) {
      const heap = st.good?.target.heap;
      if (!heap || st.last?.result.kind !== "mapped") continue;
      if (st.typesNotBefore !== undefined && now < st.typesNotBefore) continue;
      if (st.types && now - st.types.at * 1000 < this.#typesIntervalMs) continue;
      const rank: [number, number] = st.types ? [1, st.types.at] : [0, heap.arenaBytes];
      if (!bestRank || rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
        best = st;
        bestRank = rank;
      }
    }
    if (!best) return;
    const st = best, p = st.proc;
    const estimateMs = st.typesCostMs ?? (st.good!.target.heap!.arenaBytes / 2 ** 30) * TYPES_MS_PER_GIB;
    const limitMs = Math.min(MAX_TIMER_MS, Math.max(this.#timeoutMs, HANG_FACTOR * estimateMs));
    this.#typesBusy = true;
    const job = { pid: p.pid, start: p.start, comm: p.comm, scrape: this.#scrape };
    void pool.run(job, { estimateMs, limitMs }).then((a) => {
      this.#typesBusy = false;
      const r = a.result;
      if (r.kind === "mapped" && r.target.pinnedByType) {
        st.types = { rows: r.target.pinnedByType, at: Date.now() / 1000 };
        st.typesCostMs = a.ranMs;
      } else {
        // Failed (the process ended, or hung: its worker was killed): not asked again before the next interval.
        st.typesNotBefore = Date.now() + Math.max(this.#typesIntervalMs, a.killed ? TIMEOUT_BACKOFF_MS : 0);
        if (a.killed) st.typesCostMs = Math.max(st.typesCostMs ?? 0, a.ranMs);
      }
      this.#feedTypes();
    });
  }

  /**
   * Discover, collect, and build the metrics. Each call has its own deadline and answers by it; concurrent calls
   * share the reads in flight. `deadlineMs` (positive; Infinity or undefined: none) is counted from `t0`
   * (performance.now() when the request came; default now) and cut to the timer range, {@link MAX_TIMER_MS}.
   */
  async scrape(deadlineMs?: number, t0: number = performance.now()): Promise<MetricSet> {
    if (this.#closed) throw new Error("the scraper is closed");
    const r = await this.collect(this.discover(), deadlineMs, t0);
    const stats: ExporterStats = {
      runtime: runtimeName(),
      scrapes: this.#scrape,
      errors: { ...this.#errors },
      workerRestarts: this.#pool.restarts + (this.#typesPool?.restarts ?? 0),
      readsKilled: { heap: this.#pool.kills, types: this.#typesPool?.kills ?? 0 },
      seen: r.seen,
      mapped: r.targets.length,
      carried: r.carried,
      pending: r.pending,
      partial: r.partial,
      workerPids: [
        ...this.#pool.workerPids().map((pid, i) => ({ worker: String(i), pid })),
        ...(this.#typesPool?.workerPids().map((pid) => ({ worker: "types", pid })) ?? []),
      ],
      textfileFailures: this.textfileFailures,
      skipped: r.skipped,
      budgetSeconds: deadlineMs === undefined || deadlineMs === Infinity ? undefined : deadlineMs / 1000,
      durationSeconds: (performance.now() - t0) / 1000,
    };
    return buildMetrics(r.targets, stats, r);
  }

  /** The hard limit of one read. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  close(): void {
    this.#closed = true;
    this.#pool.close();
    this.#typesPool?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
