/**
 * One scrape: find the processes (lib/exporter/discovery.ts), have the workers read them under deadlines
 * (lib/exporter/pool.ts), and build the metric families (lib/exporter/families.ts). Shared by the HTTP server and
 * the textfile writer.
 *
 * Two phases, so that each can be observed on its own: `discover()` lists the candidates, `collect()` reads them.
 * Verdicts that cannot change while a process lives (not Python; left out by the filters; a CPython too old) are
 * remembered by pid + start time + name, so a host's other processes cost one stat read per scrape. A target that
 * missed its own deadline is backed off for {@link TIMEOUT_BACKOFF_MS} (counted as a timeout, not read).
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
import { WorkerPool } from "./pool.ts";

/** Options of a {@link Scraper}. */
export interface ScraperOptions {
  /** Only these pids (default: every process on the host). */
  pids?: number[];
  /** Only processes whose command line (argv joined by spaces) matches this regular expression. */
  match?: string;
  /** Leave out processes whose command line matches this regular expression. */
  exclude?: string;
  /** Deadline of one target, in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Worker processes (default 2). */
  workers?: number;
  /** Pinned bytes by type for the top N types of each process (default 0: not collected). */
  topTypes?: number;
  /** Also read glibc malloc's heap and smaps: RSS by category and python_malloc_* (default false). */
  malloc?: boolean;
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
  targets: (TargetFigures & { container: string; pod: string })[];
  errors: { pid: number; reason: ErrorReason; message: string }[];
  unsupported: UnsupportedTarget[];
  /** Every process of this scrape that is read (or should have been), up or not, by pid. */
  health: TargetHealth[];
  /** Some target went unread for want of time (its own deadline, a backoff, or the scrape's deadline). */
  partial: boolean;
  seen: number;
  skipped: number;
  seconds: number;
}

type Verdict = "not-python" | "excluded" | { unsupported: UnsupportedTarget };

/** The longest delay a timer takes (2^31-1 ms, about 24.8 days): a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A target that missed its deadline is not read again for this long: each scrape meanwhile counts it as a timeout
 * without sending it to a worker. A target hung in the kernel would otherwise cost a killed worker every scrape (and
 * a worker blocked in an uninterruptible read lingers until the read ends).
 */
export const TIMEOUT_BACKOFF_MS = 60_000;

export class Scraper {
  readonly #pids?: number[];
  readonly #pool: WorkerPool;
  readonly #timeoutMs: number;
  #verdicts = new Map<string, Verdict>();
  /** Processes (pid:start) known to be Python and not filtered out: their timeouts count even before a first read. */
  #python = new Set<string>();
  /** pid:start → when a target that timed out may be read again. */
  #backoff = new Map<string, number>();
  readonly #filtered: boolean;
  #scrape = 0;
  #inflight: Promise<MetricSet> | undefined;
  readonly #errors = Object.fromEntries(ERROR_REASONS.map((r) => [r, 0])) as Record<ErrorReason, number>;
  #closed = false;
  readonly #log: (line: string) => void;
  readonly #cmdLabel: boolean;
  /** pid:start → the labels and time of its last full read, for the processes still present. */
  #success = new Map<string, { labels: TargetLabels; at: number }>();
  /** pid:start → the reason last logged for it, so a lasting failure is told once, not every scrape. */
  #told = new Map<string, string>();
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
    const timeoutMs = options.timeoutMs ?? 2000;
    if (!(timeoutMs > 0) || !(timeoutMs <= MAX_TIMER_MS)) {
      throw new RangeError(`timeout must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${timeoutMs}`);
    }
    this.#pids = options.pids;
    this.#filtered = options.match !== undefined || options.exclude !== undefined;
    this.#timeoutMs = timeoutMs;
    this.#log = options.log ?? (() => {});
    this.#cmdLabel = options.cmdLabel ?? true;
    const filter = {
      match: options.match,
      exclude: options.exclude,
      topTypes: options.topTypes ?? 0,
      malloc: options.malloc ?? false,
    };
    this.#pool = new WorkerPool(options.workers ?? 2, filter, timeoutMs, this.#log);
  }

  /** Start the workers now rather than on the first scrape. */
  async start(): Promise<void> {
    await this.#pool.start();
  }

  /** Errors by reason since start (what `pymem_exporter_errors_total` publishes). */
  get errors(): Readonly<Record<ErrorReason, number>> {
    return { ...this.#errors };
  }

  /** The candidate processes: every live process (or the --pid ones), minus this exporter and its workers. */
  discover(): ProcStat[] {
    const ignore = this.#pool.pids();
    ignore.add(process.pid);
    return listProcesses(this.#pids, ignore);
  }

  /**
   * Read the candidates. `deadlineMs` bounds the whole scrape (Prometheus's scrape timeout): what is not answered by
   * then counts as a timeout. Never rejects because of a target.
   */
  async collect(procs: ProcStat[], deadlineMs?: number): Promise<ScrapeResult> {
    if (deadlineMs !== undefined && !(deadlineMs > 0)) {
      throw new RangeError(`deadline must be a positive number of milliseconds, got ${deadlineMs}`);
    }
    // A longer delay than the timer range fires at once: every target would be a timeout, every worker killed.
    if (deadlineMs !== undefined && deadlineMs !== Infinity) deadlineMs = Math.min(deadlineMs, MAX_TIMER_MS);
    const t0 = performance.now();
    const scrape = ++this.#scrape;
    const verdicts = new Map<string, Verdict>();
    const python = new Set<string>();
    const backoff = new Map<string, number>();
    const now = Date.now();
    const out: ScrapeResult = {
      targets: [],
      errors: [],
      unsupported: [],
      health: [],
      partial: false,
      seen: 0,
      skipped: 0,
      seconds: 0,
    };
    const success = new Map<string, { labels: TargetLabels; at: number }>();
    const told = new Map<string, string>();
    const tell = (key: string, what: string, line: string) => {
      told.set(key, what);
      if (this.#told.get(key) !== what) this.#log(line);
    };
    const fail = (p: ProcStat, reason: ErrorReason, message: string) => {
      const key = processKey(p);
      out.seen++;
      out.errors.push({ pid: p.pid, reason, message });
      this.#errors[reason]++;
      if (reason === "timeout") out.partial = true;
      const last = this.#success.get(key);
      if (last) success.set(key, last);
      const labels = last?.labels ?? { pid: String(p.pid), exe: p.comm };
      out.health.push({ labels, up: false, lastSuccess: last?.at, reason });
      tell(key, reason, `process ${p.pid} (${p.comm}) not read: ${reason}: ${message}`);
    };
    const unsupported = (p: ProcStat, u: UnsupportedTarget, message: string) => {
      out.seen++;
      out.unsupported.push(u);
      const line = `process ${p.pid} (${u.exe || p.comm}) is not supported (${u.reason}): ${message}`;
      tell(processKey(p), `unsupported ${u.reason}`, line);
    };
    const jobs: Promise<void>[] = [];
    for (const p of procs) {
      const vkey = `${processKey(p)}:${p.comm}`;
      const known = this.#verdicts.get(vkey);
      if (known !== undefined) {
        verdicts.set(vkey, known);
        if (known === "excluded") {
          out.seen++;
          out.skipped++;
        } else if (known !== "not-python") {
          unsupported(p, known.unsupported, "");
        }
        continue;
      }
      const key = processKey(p);
      // A process that ended or timed out before it was known to be Python (and to pass the filters) is not
      // counted; one known from an earlier scrape, or named like Python when no filter applies, is.
      const ours = this.#python.has(key) || (!this.#filtered && looksLikePython(p.comm));
      const until = this.#backoff.get(key);
      if (until !== undefined && now < until) {
        backoff.set(key, until);
        if (ours) {
          python.add(key);
          const again = new Date(until).toISOString();
          fail(p, "timeout", `missed its deadline in an earlier scrape; read again after ${again}`);
        }
        continue;
      }
      jobs.push(
        this.#pool.run({ pid: p.pid, start: p.start, comm: p.comm, scrape }).then((r: TargetResult) => {
          if (r.kind === "error" && r.backoff) backoff.set(key, Date.now() + TIMEOUT_BACKOFF_MS);
          if (r.kind === "gone") {
            if (ours) {
              python.add(key);
              fail(p, "exited", "exited during the scrape");
            }
            return;
          }
          if (r.kind === "not-python") verdicts.set(vkey, r.kind);
          else if (r.kind === "error" && r.reason === "timeout" && !ours) return;
          else if (r.kind === "excluded") {
            verdicts.set(vkey, r.kind);
            out.seen++;
            out.skipped++;
          } else if (r.kind === "unsupported") {
            const u: UnsupportedTarget = { pid: p.pid, exe: r.exe, python: r.python, reason: r.reason };
            verdicts.set(vkey, { unsupported: u });
            unsupported(p, u, r.message);
          } else if (r.kind === "error") {
            python.add(key);
            fail(p, r.reason, r.message);
          } else {
            python.add(key);
            const target = { ...r.target, ...containerOf(p.pid) };
            if (!this.#cmdLabel) target.cmd = ""; // an empty label is left out of the encoding
            out.targets.push(target);
            if (target.heap === null) {
              // No obmalloc heap (PYTHONMALLOC=malloc, mimalloc): read, but there is nothing of pymalloc's to be up.
              out.seen--;
              const u: UnsupportedTarget = {
                pid: p.pid,
                exe: target.exe,
                python: target.python,
                reason: "no_obmalloc",
              };
              unsupported(p, u, target.noHeap ?? "");
              return;
            }
            out.seen++;
            const labels = targetLabels(target);
            const at = Date.now() / 1000;
            success.set(key, { labels, at });
            out.health.push({ labels, up: true, lastSuccess: at });
            told.delete(key);
          }
        }),
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (deadlineMs !== undefined && deadlineMs !== Infinity && jobs.length) {
      timer = setTimeout(() => {
        out.partial = true;
        this.#pool.abandon(`the scrape's deadline (${(deadlineMs / 1000).toFixed(1)} s) passed first`);
      }, deadlineMs);
    }
    try {
      await Promise.all(jobs);
    } finally {
      clearTimeout(timer);
    }
    // Only the verdicts of processes still present are kept.
    this.#verdicts = verdicts;
    this.#python = python;
    this.#backoff = backoff;
    this.#success = success;
    this.#told = told;
    out.targets.sort((a, b) => a.pid - b.pid);
    out.unsupported.sort((a, b) => a.pid - b.pid);
    out.health.sort((a, b) => Number(a.labels.pid) - Number(b.labels.pid));
    out.seconds = (performance.now() - t0) / 1000;
    return out;
  }

  /**
   * Discover, collect, and build the metrics. Concurrent calls share one scrape. `deadlineMs` (positive; Infinity
   * or undefined: none) is cut to the timer range, {@link MAX_TIMER_MS}.
   */
  scrape(deadlineMs?: number): Promise<MetricSet> {
    if (this.#closed) return Promise.reject(new Error("the scraper is closed"));
    this.#inflight ??= (async () => {
      try {
        const t0 = performance.now();
        const r = await this.collect(this.discover(), deadlineMs);
        const stats: ExporterStats = {
          runtime: runtimeName(),
          scrapes: this.#scrape,
          errors: { ...this.#errors },
          workerRestarts: this.#pool.restarts,
          seen: r.seen,
          mapped: r.targets.length,
          partial: r.partial,
          workerPids: this.#pool.workerPids(),
          textfileFailures: this.textfileFailures,
          skipped: r.skipped,
          durationSeconds: (performance.now() - t0) / 1000,
        };
        return buildMetrics(r.targets, stats, r);
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  /** The default per-target deadline, for the server's scrape budget. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  close(): void {
    this.#closed = true;
    this.#pool.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
