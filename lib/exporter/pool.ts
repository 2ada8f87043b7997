/**
 * The exporter's workers: child processes of the same runtime (Bun, Deno or Node) that read targets
 * (lib/exporter/worker.ts). A target's reads are synchronous system calls that a hung or huge target can stretch
 * without bound, and a thread blocked in one cannot be stopped; a process can. A job that runs past a scrape's
 * deadline is not stopped: its answer is kept for the next scrape (lib/exporter/scrape.ts). Only a job still running
 * at its hard limit (`limitMs`, far beyond any scrape) without its worker using the CPU is taken for hung: its worker
 * is killed (SIGKILL) and replaced, that target counts as a timeout, and the kill is counted.
 *
 * A process is always sent to the same worker (pid modulo the pool size) so that one worker holds its attachment;
 * each worker runs one job at a time and its hard limit starts when the job is sent. Each job carries its expected
 * duration, so the scraper can ask how much work a worker still has queued before it sends more.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeKind } from "../core/runtime.ts";
import { PymemError } from "../errors.ts";
import type { TargetFilter, TargetJob, TargetResult } from "./collect.ts";
import { processUsage } from "./self.ts";

/** The command that runs a module of this package under the current runtime. */
export function runtimeCommand(modulePath: string): { cmd: string; args: string[] } {
  const kind = runtimeKind();
  if (kind === "deno") return { cmd: process.execPath, args: ["run", "--allow-all", "--quiet", modulePath] };
  if (kind === "bun") return { cmd: process.execPath, args: [modulePath] };
  // Not process.execArgv: under `node --test` or `--inspect` those flags would turn the worker into something else.
  return { cmd: process.execPath, args: [modulePath] };
}

/** lib/exporter/worker.ts, or dist/lib/exporter/worker.js next to this compiled file. */
function workerPath(): string {
  const here = import.meta.url;
  if (!here.startsWith("file:")) {
    throw new PymemError("INVALID_STATE", `pymem exporter runs from a local copy of pymem, not from ${here}`);
  }
  const ext = here.endsWith(".js") ? ".js" : ".ts";
  return fileURLToPath(new URL(`./worker${ext}`, here));
}

/**
 * A job past its hard limit whose worker used at least this share of a core since the last look is still working
 * (a big heap on a busy host), not hung: a read blocked in the kernel (the target's memory map locked, a page that
 * never arrives) uses none. On a 2-core host loaded 15 times over, a 1 GiB classification took longer than 30 s.
 */
const MIN_PROGRESS = 0.01;

/** CPU time is counted in 10 ms ticks: over a shorter limit than this it tells nothing, and the job is killed. */
const PROGRESS_MIN_LIMIT_MS = 1000;

/** However busy, a job is killed after this many hard limits. */
const MAX_EXTENSIONS = 10;

/** What a job is expected to cost and how long it may run before its worker is taken for hung. */
export interface JobLimits {
  /** Expected duration (the last read's), for the queue estimate. */
  estimateMs: number;
  /** Hard limit: past it the worker is killed. */
  limitMs: number;
}

/** A job's answer and how long the worker spent on it (from the job's sending to its answer). */
export interface JobAnswer {
  result: TargetResult;
  ranMs: number;
  /** The worker was killed at the job's hard limit. */
  killed?: boolean;
}

interface Pending {
  id: number;
  job: TargetJob;
  limits: JobLimits;
  resolve(r: JobAnswer): void;
}

/** One worker process and its queue. */
class Worker {
  readonly #filter: TargetFilter;
  readonly #onRestart: (why: string) => void;
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #buffered = "";
  #queue: Pending[] = [];
  #current: (Pending & { timer: ReturnType<typeof setTimeout>; sent: number }) | undefined;
  #closed = false;

  constructor(filter: TargetFilter, onRestart: (why: string) => void) {
    this.#filter = filter;
    this.#onRestart = onRestart;
  }

  /** Expected milliseconds until this worker has answered everything sent to it so far. */
  pendingMs(): number {
    let ms = 0;
    for (const p of this.#queue) ms += p.limits.estimateMs;
    const cur = this.#current;
    if (cur) ms += Math.max(0, cur.limits.estimateMs - (cur.sent ? performance.now() - cur.sent : 0));
    return ms;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start the process (if it is not running) and wait for its ready line. */
  start(): Promise<void> {
    if (this.#ready) return this.#ready;
    const { cmd, args } = runtimeCommand(workerPath());
    const child = spawn(cmd, [...args, JSON.stringify(this.#filter)], { stdio: ["pipe", "pipe", "inherit"] });
    this.#child = child;
    this.#buffered = "";
    // A job written just as the worker died (killed from outside) fails with EPIPE here; its exit is handled below.
    child.stdin!.on("error", () => {});
    this.#ready = new Promise<void>((ready, fail) => {
      let started = false;
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        this.#buffered += chunk;
        for (let nl = this.#buffered.indexOf("\n"); nl >= 0; nl = this.#buffered.indexOf("\n")) {
          const line = this.#buffered.slice(0, nl);
          this.#buffered = this.#buffered.slice(nl + 1);
          let msg: { ready?: boolean; id?: number; result?: TargetResult };
          try {
            msg = JSON.parse(line);
          } catch {
            continue;
          }
          if (msg.ready) {
            started = true;
            ready();
          } else if (this.#current && msg.id === this.#current.id && msg.result) {
            const cur = this.#current;
            clearTimeout(cur.timer);
            this.#current = undefined;
            cur.resolve({ result: msg.result, ranMs: performance.now() - cur.sent });
            this.#next();
          }
        }
      });
      child.on("error", (e) => {
        if (!started) fail(new PymemError("INVALID_STATE", `cannot start an exporter worker (${cmd}): ${e.message}`));
      });
      child.on("exit", (code, signal) => {
        if (this.#child !== child) return;
        this.#child = undefined;
        this.#ready = undefined;
        if (!started) {
          fail(
            new PymemError(
              "INVALID_STATE",
              `an exporter worker (${cmd} ${args.join(" ")}) exited before it was ready (${
                signal ?? `status ${code}`
              })`,
            ),
          );
          return;
        }
        // It died on its own or was killed from outside (a crash, the OOM killer, kill -9): the next job starts a
        // new one, so it counts as a restart like a deadline's kill; the job it was running failed.
        const how = signal ?? `status ${code}`;
        if (!this.#closed) this.#onRestart(`worker ${child.pid} ended unexpectedly (${how})`);
        const cur = this.#current;
        if (cur) {
          clearTimeout(cur.timer);
          this.#current = undefined;
          const message = `the worker reading process ${cur.job.pid} died (${how})`;
          cur.resolve({ result: { kind: "error", reason: "worker_died", message }, ranMs: 0 });
        }
        if (!this.#closed && this.#queue.length) this.#next();
      });
    });
    // A rejected start is reported through run(); don't let it count as unhandled here.
    this.#ready.catch(() => {});
    return this.#ready;
  }

  /** Queue a job; resolves with the worker's answer, or a timeout / failure, never rejects. */
  run(id: number, job: TargetJob, limits: JobLimits): Promise<JobAnswer> {
    return new Promise((resolve) => {
      this.#queue.push({ id, job, limits, resolve });
      if (!this.#current) this.#next();
    });
  }

  /** Fail every queued job and the running one with `message` (the exporter is stopping). */
  abandon(message: string): void {
    const all = [...(this.#current ? [this.#current] : []), ...this.#queue];
    this.#queue = [];
    if (this.#current) {
      clearTimeout(this.#current.timer);
      this.#current = undefined;
      this.#kill(message);
    }
    for (const p of all) {
      p.resolve({
        result: { kind: "error", reason: "timeout", message: `process ${p.job.pid}: ${message}` },
        ranMs: 0,
      });
    }
  }

  #next(): void {
    if (this.#current || this.#closed) return;
    const p = this.#queue.shift();
    if (!p) return;
    const cur = { ...p, timer: undefined as unknown as ReturnType<typeof setTimeout>, sent: 0 };
    this.#current = cur;
    this.start().then(() => {
      if (this.#current !== cur) return;
      const limit = cur.limits.limitMs;
      cur.sent = performance.now();
      const pid = this.#child!.pid;
      let cpu = pid === undefined ? undefined : processUsage(pid)?.cpuSeconds;
      let checked = cur.sent;
      const check = () => {
        if (this.#current !== cur) return;
        // Still working (its CPU time moved by at least MIN_PROGRESS of the time since the last look): a big heap
        // on a busy host, not a hang. Looked at again a limit later, up to MAX_EXTENSIONS limits in all.
        const now = performance.now();
        const used = pid === undefined ? undefined : processUsage(pid)?.cpuSeconds;
        const busy = limit >= PROGRESS_MIN_LIMIT_MS && cpu !== undefined && used !== undefined &&
          used - cpu >= MIN_PROGRESS * (now - checked) / 1000;
        if (busy && now - cur.sent < limit * MAX_EXTENSIONS) {
          cpu = used;
          checked = now;
          cur.timer = setTimeout(check, limit);
          return;
        }
        const waited = ((now - cur.sent) / 1000).toFixed(1);
        this.#current = undefined;
        this.#kill(`process ${cur.job.pid} gave no answer within ${waited} s`);
        cur.resolve({
          result: {
            kind: "error",
            reason: "timeout",
            message: `process ${cur.job.pid}: no answer within ${waited} s (taken for hung); its worker was killed`,
            backoff: true,
          },
          ranMs: now - cur.sent,
          killed: true,
        });
        this.#next();
      };
      cur.timer = setTimeout(check, limit);
      this.#child!.stdin!.write(JSON.stringify({ id: cur.id, job: cur.job }) + "\n");
    }, (e: Error) => {
      // The worker could not start: this job and the queue fail with the reason, without a retry storm.
      const all = [cur, ...this.#queue];
      this.#queue = [];
      this.#current = undefined;
      for (const q of all) {
        q.resolve({ result: { kind: "error", reason: "worker_failed", message: e.message }, ranMs: 0 });
      }
    });
  }

  #kill(why: string): void {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    this.#ready = undefined;
    child.stdout?.removeAllListeners("data");
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    if (!this.#closed) this.#onRestart(`worker ${child.pid} killed: ${why}`);
  }

  close(): void {
    this.#closed = true;
    this.abandon("the exporter is stopping");
    const child = this.#child;
    this.#child = undefined;
    this.#ready = undefined;
    if (child) {
      child.stdin?.end();
      const t = setTimeout(() => child.kill("SIGKILL"), 2000);
      child.once("exit", () => clearTimeout(t));
      (t as { unref?: () => void }).unref?.();
    }
  }
}

/** A fixed number of workers; a job goes to worker pid % size. */
export class WorkerPool {
  readonly #workers: Worker[];
  #nextId = 1;
  /** Workers killed at a job's hard limit, or ended from outside, so far. */
  restarts = 0;
  /** Jobs that ran into their hard limit (their worker was killed), so far. */
  kills = 0;

  constructor(size: number, filter: TargetFilter, log: (line: string) => void = () => {}) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`WorkerPool: size must be a whole number ≥ 1, got ${size}`);
    }
    this.#workers = Array.from({ length: size }, () =>
      new Worker(filter, (why) => {
        this.restarts++;
        log(why);
      }));
  }

  /** Expected milliseconds until the worker that reads `pid` has answered what it was sent. */
  pendingMs(pid: number): number {
    return this.#workers[pid % this.#workers.length].pendingMs();
  }

  /** Start every worker (a scrape would start them anyway; this moves the start-up cost before the first one). */
  async start(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.start()));
  }

  /** Each worker's process id by its place in the pool, undefined while one is not running. */
  workerPids(): (number | undefined)[] {
    return this.#workers.map((w) => w.pid);
  }

  /** The workers' process ids (a scrape leaves them out). */
  pids(): Set<number> {
    const out = new Set<number>();
    for (const w of this.#workers) if (w.pid !== undefined) out.add(w.pid);
    return out;
  }

  async run(job: TargetJob, limits: JobLimits): Promise<JobAnswer> {
    const a = await this.#workers[job.pid % this.#workers.length].run(this.#nextId++, job, limits);
    if (a.killed) this.kills++;
    return a;
  }

  close(): void {
    for (const w of this.#workers) w.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
