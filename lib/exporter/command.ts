/**
 * `pymem exporter`: the command. Parses its options (one table, lib/command-line.ts, as every command's), then serves
 * /metrics over HTTP or writes `--textfile DIR` on an interval, until SIGINT/SIGTERM. lib/cli.ts hands it the
 * arguments after `exporter`; docs/exporter.md describes it.
 * @module
 */
import process from "node:process";
import { checkDestinations, commandHelp, type CommandText, parseOptions } from "../command-line.ts";
import { PymemError } from "../errors.ts";
import { PID_MAX_LIMIT } from "../machine/proc.ts";
import { printable } from "../report/printable.ts";
import { DEFAULT_TIMEOUT_MS, MAX_TIMER_MS, Scraper } from "./scrape.ts";
import { parentPid } from "./self.ts";
import { parseListen, serve } from "./server.ts";
import { runTextfile, TEXTFILE_NAME } from "./textfile.ts";

/** One line in the command list of `pymem --help`. */
export const EXPORTER_SUMMARY =
  "serve obmalloc metrics of every Python process on the host to Prometheus (or a node_exporter textfile)";

/** `pymem exporter`'s summary, usage and option table (the help and the parser are generated from it). */
export const EXPORTER_TEXT: CommandText = {
  name: "exporter",
  summary: EXPORTER_SUMMARY,
  usage: "pymem exporter [options]",
  about: [
    "Serves /metrics in the Prometheus text format (OpenMetrics when the scraper asks for it) and / (a page linking " +
    "to it). Each scrape finds the CPython processes on the host, reads their obmalloc heaps read-only (never writes " +
    "to them, never stops them) and reports arenas, pools, blocks, bytes, fragmentation and RSS per process, plus " +
    "the exporter's own scrape duration, process counts and errors by reason, per process up and last success, " +
    "and its own CPU and memory. Failures are told on stderr with the pid. Reading another user's process needs " +
    "CAP_SYS_PTRACE (or root); see docs/exporter.md.",
  ],
  options: [
    {
      name: "listen",
      arg: "HOST:PORT",
      help: 'where to serve (default 127.0.0.1:9464; ":9464" for every interface, port 0 for any free one)',
    },
    {
      name: "textfile",
      arg: "DIR",
      writes: "dir",
      help: `instead of serving, write DIR/${TEXTFILE_NAME} atomically every --interval seconds ` +
        "(node_exporter --collector.textfile.directory DIR)",
    },
    { name: "interval", arg: "SECONDS", help: "textfile interval (default 15)" },
    { name: "count", arg: "N", help: "textfile: stop after N writes (default: until interrupted)" },
    { name: "pid", arg: "PID", multiple: true, help: "only this process (repeatable, or comma-separated)" },
    { name: "match", arg: "REGEX", help: "only processes whose command line (argv joined by spaces) matches" },
    { name: "exclude", arg: "REGEX", help: "leave out processes whose command line matches" },
    {
      name: "timeout",
      arg: "SECONDS",
      help: "hard limit of one read (default 30): a read still running after this long (or 4 times its last " +
        "duration, if more) while its worker uses no CPU is taken for hung (one still working gets up to 10 limits), " +
        "its worker killed, the target counted as a timeout and left alone for 60 s. A scrape itself answers before " +
        "Prometheus's scrape_timeout with what is read by then; slower reads go on for the next scrape",
    },
    { name: "workers", arg: "N", help: "processes reading targets in parallel (default 2)" },
    {
      name: "top-types",
      arg: "N",
      help: "pinned bytes by type for each process's top N types (default 5; 0: off). It classifies every live " +
        "block (about 2-3 CPU-s per GiB of arenas), so a worker of its own computes it in the background, one " +
        "process at a time, and scrapes serve the last result with its time",
    },
    {
      name: "top-types-interval",
      arg: "SECONDS",
      help: "compute a process's pinned bytes by type again at most this often (default 60)",
    },
    {
      name: "malloc",
      help: "also read each process's glibc malloc heap and /proc/PID/smaps: python_malloc_* and RSS by category " +
        "(python_memory_*). It walks every malloc chunk: about 1 CPU-s per GiB of malloc heap, so raise --timeout " +
        "for large heaps",
    },
    {
      name: "no-cmd-label",
      help: "leave the cmd label (the shortened command line) out of every series: argv may hold secrets",
    },
    { name: "debug", help: "print stack traces on errors" },
    { name: "help", short: "h", help: "show this help" },
  ],
};

export const EXPORTER_HELP: string = commandHelp(EXPORTER_TEXT);

/** Parsed `pymem exporter` options. */
export interface ExporterOptions {
  listen: { host: string; port: number };
  textfile?: string;
  interval: number;
  count?: number;
  pids?: number[];
  match?: string;
  exclude?: string;
  timeoutMs: number;
  workers: number;
  /** Pinned bytes by type for the top N types of each process (0: off). */
  topTypes: number;
  /** How often one process's pinned bytes by type are computed again. */
  typesIntervalMs: number;
  /** Publish the `cmd` label (default true; --no-cmd-label). */
  cmdLabel: boolean;
  /** Read glibc malloc's heap and smaps too (--malloc). */
  malloc?: boolean;
  help: boolean;
}

/** Parse the arguments after `pymem exporter`; a string is a usage error. */
export function parseExporterArgs(argv: string[]): ExporterOptions | string {
  let parsed;
  try {
    parsed = parseOptions(EXPORTER_TEXT.options, argv, "none");
  } catch (e) {
    return (e as Error).message;
  }
  const values = parsed.values as {
    listen?: string;
    textfile?: string;
    interval?: string;
    count?: string;
    pid?: string[];
    match?: string;
    exclude?: string;
    timeout?: string;
    workers?: string;
    "top-types"?: string;
    "top-types-interval"?: string;
    "no-cmd-label"?: boolean;
    malloc?: boolean;
    debug?: boolean;
    help?: boolean;
  };
  // --help answers whatever else the line says, as with every command.
  if (values.help) {
    const listen = { host: "127.0.0.1", port: 9464 };
    return {
      listen,
      interval: 15,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      workers: 2,
      topTypes: 5,
      typesIntervalMs: 60_000,
      cmdLabel: true,
      help: true,
    };
  }
  const num = (v: string | undefined, flag: string, min: number, integer: boolean): number | string | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      return `--${flag} needs ${integer ? "a whole number" : "a number"} ≥ ${min}, got "${v}"`;
    }
    return n;
  };
  const interval = num(values.interval, "interval", 0.1, false);
  const count = num(values.count, "count", 1, true);
  const timeout = num(values.timeout, "timeout", 0.001, false);
  const workers = num(values.workers, "workers", 1, true);
  const topTypes = num(values["top-types"], "top-types", 0, true);
  const typesInterval = num(values["top-types-interval"], "top-types-interval", 0, false);
  for (const v of [interval, count, timeout, workers, topTypes, typesInterval]) if (typeof v === "string") return v;
  if (typeof topTypes === "number" && topTypes > 100) {
    return `--top-types: at most 100 (each type is a series), got ${topTypes}`;
  }
  if (typeof workers === "number" && workers > 64) return `--workers: at most 64, got ${workers}`;
  // Timers take at most 2^31-1 ms; a longer one fires at once (every write 1 ms apart, every read past its deadline).
  for (
    const [flag, v] of [["interval", interval], ["timeout", timeout], ["top-types-interval", typesInterval]] as const
  ) {
    if (typeof v === "number" && v * 1000 > MAX_TIMER_MS) {
      return `--${flag}: at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (the timer range), got ${v}`;
    }
  }
  let listen;
  try {
    listen = parseListen(values.listen ?? "127.0.0.1:9464");
  } catch (e) {
    return (e as Error).message;
  }
  if (values.textfile !== undefined && values.listen !== undefined) {
    return "give either --textfile DIR or --listen HOST:PORT, not both";
  }
  if (values.textfile === undefined && (values.interval !== undefined || values.count !== undefined)) {
    return "--interval and --count go with --textfile DIR";
  }
  let pids: number[] | undefined;
  if (values.pid) {
    pids = [];
    for (const p of values.pid.flatMap((s) => s.split(","))) {
      if (!/^\d+$/.test(p.trim()) || Number(p) <= 0 || Number(p) > PID_MAX_LIMIT) return `not a process id: "${p}"`;
      pids.push(Number(p));
    }
  }
  for (const [k, v] of [["match", values.match], ["exclude", values.exclude]] as const) {
    if (v === undefined) continue;
    try {
      new RegExp(v);
    } catch (e) {
      return `--${k}: not a regular expression: ${(e as Error).message}`;
    }
  }
  try {
    checkDestinations(EXPORTER_TEXT.options, parsed.values);
  } catch (e) {
    return (e as Error).message;
  }
  return {
    listen,
    textfile: values.textfile,
    interval: (interval as number | undefined) ?? 15,
    count: count as number | undefined,
    pids,
    match: values.match,
    exclude: values.exclude,
    timeoutMs: timeout === undefined ? DEFAULT_TIMEOUT_MS : (timeout as number) * 1000,
    workers: (workers as number | undefined) ?? 2,
    topTypes: (topTypes as number | undefined) ?? 5,
    typesIntervalMs: ((typesInterval as number | undefined) ?? 60) * 1000,
    cmdLabel: !values["no-cmd-label"],
    malloc: !!values.malloc,
    help: !!values.help,
  };
}

// One line each, whatever a process named itself (/proc/PID/comm holds any byte but NUL: a newline would start a
// line of its choosing, an escape sequence reach the terminal or journal).
const say = (line: string, keep = "") => process.stderr.write(`pymem exporter: ${printable(line, keep)}\n`);

/** How often an exporter started by npm (npx, npm exec, npm run) checks that its launcher still runs. */
const LAUNCHER_POLL_MS = 500;

/**
 * Under npm (`npx pymem exporter`, `npm exec`, `npm run`: npm sets npm_command), the exporter is a grandchild:
 * npm → `sh -c pymem …` → the runtime. npm passes SIGTERM/SIGINT on to the shell, which dies of it without
 * passing it further, and the exporter was left running, orphaned, on its port. So under npm the exporter stops
 * when its parent goes away (it is then reparented: its parent pid changes). Not otherwise: an exporter started
 * with nohup or `&` from a shell rightly outlives that shell.
 */
function followLauncher(stop: () => void): ReturnType<typeof setInterval> | undefined {
  if (process.env.npm_command === undefined) return undefined;
  const parent = parentPid();
  if (parent === undefined || parent <= 1) return undefined;
  const timer = setInterval(() => {
    const now = parentPid();
    if (now === parent) return;
    say(`its launcher (pid ${parent}) ended: stopping`);
    clearInterval(timer);
    stop();
  }, LAUNCHER_POLL_MS);
  return timer;
}

/**
 * Run `pymem exporter` with `argv` (the arguments after `exporter`) and return the exit status: 0 after a clean stop
 * (SIGINT/SIGTERM, or `--count` writes), 1 on an error, 2 on bad usage.
 */
export async function exporterCommand(argv: string[]): Promise<number> {
  const opts = parseExporterArgs(argv);
  if (typeof opts === "string") {
    say(`${opts} (see: pymem exporter --help)`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(EXPORTER_HELP);
    return 0;
  }
  const debug = argv.includes("--debug");
  const scraper = new Scraper({
    pids: opts.pids,
    match: opts.match,
    exclude: opts.exclude,
    timeoutMs: opts.timeoutMs,
    workers: opts.workers,
    topTypes: opts.topTypes,
    typesIntervalMs: opts.typesIntervalMs,
    cmdLabel: opts.cmdLabel,
    malloc: opts.malloc,
    log: say,
  });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const launcher = followLauncher(() => stop.abort());
  try {
    await scraper.start();
    if (opts.textfile !== undefined) {
      const failed = await runTextfile(scraper, opts.textfile, opts.interval, {
        count: opts.count,
        signal: stop.signal,
        log: say,
        started: () => say(`writing ${opts.textfile}/${TEXTFILE_NAME} every ${opts.interval} s`),
      });
      return failed && opts.count !== undefined ? 1 : 0;
    }
    const server = await serve(scraper, opts.listen, { log: say });
    say(`listening on ${server.url}`);
    if (!stop.signal.aborted) {
      await new Promise<void>((r) => stop.signal.addEventListener("abort", () => r(), { once: true }));
    }
    await server.close();
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (debug) say(String(err?.stack ?? err), "\n"); // a stack trace is laid out in lines
    else say(err instanceof PymemError || err?.code ? String(err.message).split("\n")[0] : String(err?.message ?? err));
    return 1;
  } finally {
    clearInterval(launcher);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    scraper.close();
  }
}
