#!/usr/bin/env node
/**
 * The `pymem` command line: `info`, `heap`, `diff`, `stats` (an embedded CPython), `attach` and `ps` (other
 * processes, read-only). Runs as `bun lib/cli.ts`, `deno run -A lib/cli.ts`, and as the package's `pymem` bin under
 * Node (dist/lib/cli.js). docs/cli.md describes every command; `pymem COMMAND --help` prints the same, generated
 * from the option tables below, so the help cannot drift from what the parser accepts.
 *
 * Conventions: reports on stdout; progress (on a TTY only) and errors on stderr; colours only on a TTY and never
 * with NO_COLOR; an error is one line and exit status 1, bad usage (a bad flag, a missing file) one line and exit
 * status 2; stack traces only with --debug.
 * @module
 */
import { existsSync, fstatSync, openSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type AllocatorName, openPython, type Python } from "./python.ts";
import { PymemError, PythonError } from "./errors.ts";
import { cstr } from "./native.ts";
import type { HeapSnapshot } from "./heap.ts";
import { attachPython, listPythonProcesses } from "./attach.ts";
import { type Domain, getAllocator, getArenaAllocator } from "./allocators.ts";
import { diffToJSON, type HeapJSON, heapToJSON, PYMEM_VERSION, runtimeName } from "./report/json.ts";
import { formatBytes, formatDelta, formatInt, renderDiffText, renderHeapText, renderPsText, table } from "./report/text.ts";
import { heatMapSVG } from "./report/svg.ts";
import { renderHTML } from "./report/html.ts";
import { DEMO_WORKLOAD } from "./report/demo.ts";

// ---- option tables (the parser and the help are both generated from these) ---------------------------------------

interface Option {
  name: string;
  short?: string;
  /** Placeholder of the value; absent for a boolean flag. */
  arg?: string;
  help: string;
}

interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Paragraphs after the usage line. */
  about: string[];
  options: Option[];
  /** What positionals mean: none, a Python script with its arguments, or one pid. */
  positionals: "none" | "script" | "pid";
  run(ctx: Context): Promise<number>;
}

const HELP: Option = { name: "help", short: "h", help: "show this help" };
const DEBUG: Option = { name: "debug", help: "print stack traces on errors" };
const CODE: Option = { name: "code", short: "c", arg: "CODE", help: 'run this Python source (sys.argv is ["-c", ARGS…])' };
const DEMO: Option = { name: "demo", help: "run a built-in workload that fragments the heap" };
const EMBED: Option[] = [
  { name: "allocator", arg: "NAME", help: "start CPython with this allocator (pymalloc, malloc, debug, pymalloc_debug, mimalloc on 3.13+, …)" },
  { name: "library", arg: "PATH", help: "the libpython to load (default: $PYMEM_LIBPYTHON, else discovery)" },
  { name: "python", arg: "EXE", help: "load the libpython of this interpreter (default: $PYMEM_PYTHON, python3, python)" },
];
const OUTPUTS: Option[] = [
  { name: "json", arg: "FILE", help: 'write the snapshot as JSON (schema pymem.heap, version 1; "-" for stdout)' },
  { name: "svg", arg: "FILE", help: "write the heat map as SVG (one row per arena, one cell per pool)" },
  { name: "html", arg: "FILE", help: "write a self-contained HTML report (heat map, size-class chart, tables)" },
  { name: "worst", arg: "N", help: "list the N emptiest arenas (default 10)" },
];

const SCRIPT_ABOUT = "FILE.py runs as a script: sys.argv is [FILE, ARGS…], __file__ is set and its directory is " +
  "sys.path[0]. A Python exception prints Python's traceback and exits with status 1; SystemExit(0) continues.";

const COMMANDS: Command[] = [
  {
    name: "info",
    summary: "what pymem sees: runtime, library, version, allocators, hidden symbols",
    usage: "pymem info [options]",
    about: [
      "Loads libpython (without running anything) and prints the JavaScript runtime and FFI backend, the library " +
      "and how it was found, the CPython version, the allocator of each memory domain with the functions it " +
      "resolves to, the arena allocator, and which optional and hidden symbols were found.",
    ],
    options: [...EMBED, { name: "json", arg: "FILE", help: 'write the same as JSON ("-" for stdout)' }, DEBUG, HELP],
    positionals: "none",
    run: cmdInfo,
  },
  {
    name: "heap",
    summary: "run Python code, then map the obmalloc heap: summary, size classes, fragmentation verdict",
    usage: "pymem heap [options] [-c CODE | --demo | FILE.py [ARGS…]]",
    about: [
      "Runs the code in an embedded CPython, then reports the heap it left: arenas, pools, blocks, bytes and RSS, " +
      "the size-class table (the rows of CPython's own _debugmallocstats), fragmentation with a plain-language " +
      "verdict, and the emptiest arenas. With no code, maps the heap of a freshly started interpreter.",
      SCRIPT_ABOUT,
      'With --json -, the JSON goes to stdout and the text report to stderr; the code\'s own output to stdout (print(), sys.stdout, os.write(1, …), C printf, child processes) goes to stderr too.',
    ],
    options: [CODE, DEMO, ...OUTPUTS, ...EMBED, DEBUG, HELP],
    positionals: "script",
    run: cmdHeap,
  },
  {
    name: "diff",
    summary: "what a piece of code allocated, by size class (snapshot before and after)",
    usage: "pymem diff [options] [-c CODE | --demo | FILE.py [ARGS…]]",
    about: [
      "Takes a snapshot, runs the code (after --setup, if given), takes another, and prints the totals before and " +
      "after and the change of every size class that changed.",
      SCRIPT_ABOUT,
    ],
    options: [
      CODE,
      DEMO,
      { name: "setup", arg: "CODE", help: "run this first, before the 'before' snapshot (imports, fixtures)" },
      { name: "json", arg: "FILE", help: 'write the diff as JSON (schema pymem.diff, version 1; "-" for stdout)' },
      ...EMBED,
      DEBUG,
      HELP,
    ],
    positionals: "script",
    run: cmdDiff,
  },
  {
    name: "stats",
    summary: "CPython's own allocator statistics (sys._debugmallocstats) after running code",
    usage: "pymem stats [options] [-c CODE | --demo | FILE.py [ARGS…]]",
    about: [
      "Runs the code, then prints CPython's own statistics text exactly as _PyObject_DebugMallocStats writes it " +
      "(captured in-process, not from stderr). Its size-class rows equal those of `pymem heap` for the same code.",
      SCRIPT_ABOUT,
    ],
    options: [CODE, DEMO, ...EMBED, DEBUG, HELP],
    positionals: "script",
    run: cmdStats,
  },
  {
    name: "attach",
    summary: "map the heap of a running Python process by pid (read-only, never stops it)",
    usage: "pymem attach PID [options]",
    about: [
      "Reads another CPython process's obmalloc heap through process_vm_readv (or /proc/PID/mem): the same report " +
      "as `pymem heap`. The target is never stopped or written to. Needs permission to read its memory (same " +
      "user and ptrace_scope ≤ 1 with CAP_SYS_PTRACE, or root).",
      "--watch re-samples every SECONDS and prints the growth by size class since the previous sample, until " +
      "Ctrl-C or --count samples; the files (--json, --svg, --html) are written from the last sample.",
    ],
    options: [
      ...OUTPUTS,
      { name: "watch", arg: "SECONDS", help: "re-sample every SECONDS and show growth by size class" },
      { name: "count", arg: "N", help: "with --watch: stop after N re-samples (default: until Ctrl-C)" },
      DEBUG,
      HELP,
    ],
    positionals: "pid",
    run: cmdAttach,
  },
  {
    name: "ps",
    summary: "every Python process you may read: pid, version, RSS, arenas, pinned arenas",
    usage: "pymem ps [options]",
    about: [
      "Lists the CPython processes this user may read, with their version, resident set size, obmalloc arenas in " +
      "use and arenas pinned by fewer than 5 live pools. Processes without an obmalloc heap (PYTHONMALLOC=malloc) " +
      "show '-' and the reason.",
    ],
    options: [{ name: "json", arg: "FILE", help: 'write the list as JSON ("-" for stdout)' }, DEBUG, HELP],
    positionals: "none",
    run: cmdPs,
  },
];

/** The help text of one command. */
export function commandHelp(cmd: Command): string {
  const flags = cmd.options.map((o) => `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.arg ? ` ${o.arg}` : ""}`);
  const w = Math.max(...flags.map((f) => f.length));
  const wrap = (s: string) => s.replace(/(.{1,100})(\s+|$)/g, "$1\n").trimEnd().split("\n").map((l) => `  ${l}`).join("\n");
  return [
    `pymem ${cmd.name}: ${cmd.summary}`,
    "",
    `Usage: ${cmd.usage}`,
    "",
    ...cmd.about.flatMap((p) => [wrap(p), ""]),
    "Options:",
    ...cmd.options.map((o, i) => `  ${flags[i].padEnd(w)}  ${o.help}`),
    "",
  ].join("\n");
}

const TOP_HELP = [
  `pymem ${PYMEM_VERSION}: see CPython's memory allocator from JavaScript`,
  "",
  "Usage: pymem COMMAND [options]        pymem COMMAND --help",
  "",
  "Commands:",
  ...COMMANDS.map((c) => `  ${c.name.padEnd(8)}${c.summary}`),
  `  ${"bench".padEnd(8)}compare pymalloc, malloc, mimalloc, jemalloc and tcmalloc on the same Python workloads`,
  "",
  "Options:",
  "  -h, --help      show this help",
  "  -V, --version   print the pymem version",
  "",
  "Environment: PYMEM_LIBPYTHON (libpython to load), PYMEM_PYTHON (interpreter to ask), NO_COLOR.",
  "Exit status: 0 success, 1 error, 2 bad usage.",
  "",
].join("\n");

// ---- plumbing ----------------------------------------------------------------------------------------------------

/** Bad usage: exit status 2. */
class UsageError extends Error {
  override name = "UsageError";
}

/** A Python script ended with SystemExit(n), n ≠ 0, or raised: its status, its output already printed. */
class ExitStatus extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit status ${status}`);
    this.status = status;
  }
}

interface Context {
  cmd: Command;
  values: Record<string, string | boolean | undefined>;
  /** Positionals: the script and its arguments, or the pid. */
  positionals: string[];
}

const stdoutTTY = (): boolean => !!process.stdout.isTTY;
const stderrTTY = (): boolean => !!process.stderr.isTTY;
/** NO_COLOR (https://no-color.org): any non-empty value turns colour off. */
const colorAllowed = (): boolean => !process.env.NO_COLOR;

/** Write text to a stream and wait until it is handed to the OS. */
/** Standard descriptors the user's code closed (now /dev/null, see runWorkload). */
const closedByCode = new Set<number>();

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  // A stream whose descriptor Python code closed also emits "error" (after the callback): unheard, that event would
  // end the process. The callback reports the failure; the event is only acknowledged.
  if (stream.listenerCount("error") === 0) stream.on("error", () => {});
  // Deno drops writes to a closed descriptor silently: ask first, so a lost report is an error everywhere.
  const fd = stream === process.stdout ? 1 : stream === process.stderr ? 2 : (stream as { fd?: number }).fd;
  if (typeof fd === "number" && closedByCode.has(fd)) {
    return Promise.reject(new Error(`cannot write to ${fd === 1 ? "stdout" : "stderr"}: the code closed it`));
  }
  if (typeof fd === "number") {
    try {
      fstatSync(fd);
    } catch {
      return Promise.reject(new Error(`cannot write to ${fd === 1 ? "stdout" : fd === 2 ? "stderr" : `fd ${fd}`}: it was closed`));
    }
  }
  return new Promise((done, fail) => stream.write(text, (e) => (e ? fail(e) : done())));
}

/** `write`, for the error path: a stderr that cannot be written to loses the message, nothing more. */
async function writeError(text: string): Promise<void> {
  try {
    await write(process.stderr, text);
  } catch { /* stderr closed: the exit status still says it */ }
}

/** A one-line status on stderr, only on a TTY, overwritten by the next and erased by `clear`. */
const progress = {
  shown: false,
  say(text: string): void {
    if (!stderrTTY()) return;
    process.stderr.write(`\r\x1b[2K${colorAllowed() ? "\x1b[2m" : ""}pymem: ${text}…${colorAllowed() ? "\x1b[0m" : ""}`);
    this.shown = true;
  },
  clear(): void {
    if (this.shown) process.stderr.write("\r\x1b[2K");
    this.shown = false;
  },
};

/** Write a report file ("-": stdout) and note it on stderr. */
async function output(path: string, text: string, what: string): Promise<void> {
  if (path === "-") return write(process.stdout, text);
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new PymemError("INVALID_STATE", `cannot write ${what} to ${path}: ${(e as Error).message}`);
  }
  progress.clear();
  await write(process.stderr, `pymem: wrote ${what} to ${path} (${formatBytes(Buffer.byteLength(text))})\n`);
}

/** VmRSS of a process, in bytes; null when unreadable. */
function rssOf(pid: number | "self" = "self"): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function positiveNumber(value: string | boolean | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} needs ${integer ? "a whole number" : "a number"} ≥ 0, got "${value}"`);
  }
  return n;
}

/** A Python string literal for any JavaScript string (non-ASCII escaped, so the source stays ASCII). */
function pyString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\" || ch === "'") out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return out + "'";
}

/** What to run: -c CODE, --demo, or FILE.py with its arguments. */
interface Workload {
  code?: string;
  file?: string;
  args: string[];
  /** Shown in reports: "-c", the file, "demo". */
  label?: string;
}

function workloadOf(ctx: Context): Workload {
  const code = ctx.values.code as string | undefined;
  const demo = !!ctx.values.demo;
  const [first, ...rest] = ctx.positionals;
  if (code !== undefined && demo) throw new UsageError("give either -c CODE or --demo, not both");
  if (code !== undefined) return { code, args: ctx.positionals, label: "-c" };
  if (demo) {
    if (first !== undefined) throw new UsageError(`--demo takes no script (got "${first}")`);
    return { code: DEMO_WORKLOAD, args: [], label: "built-in demo (fragmenting)" };
  }
  if (first === undefined) return { args: [] };
  if (!existsSync(first)) throw new UsageError(`no such file: ${first}`);
  if (!statSync(first).isFile()) throw new UsageError(`not a file: ${first}`);
  return { file: resolve(first), args: rest, label: first };
}

/** fcntl command: duplicate a descriptor, close-on-exec (Linux <fcntl.h>). */
const F_DUPFD_CLOEXEC = 1030;
/** fcntl command: the descriptor's flags; -1 (EBADF) when it is not open. */
const F_GETFD = 1;
const O_RDONLY = 0;
const O_WRONLY = 1;

/**
 * Run the workload in `__main__` as python would: sys.argv, __file__ and sys.path[0] for a file. `quiet` sends the
 * code's stdout to stderr (stdout then carries JSON).
 */
function runWorkload(py: Python, w: Workload, quiet: boolean): void {
  if (w.code === undefined && w.file === undefined) return;
  const argv = w.file !== undefined ? [w.file, ...w.args] : ["-c", ...w.args];
  const setup = ["import sys as _pymem_sys", `_pymem_sys.argv = [${argv.map(pyString).join(", ")}]`];
  if (w.file !== undefined) {
    setup.push(`__file__ = ${pyString(w.file)}`, `_pymem_sys.path.insert(0, ${pyString(dirname(w.file))})`);
  } else {
    setup.push("_pymem_sys.path.insert(0, '')");
  }
  if (quiet) setup.push("_pymem_stdout, _pymem_sys.stdout = _pymem_sys.stdout, _pymem_sys.stderr");
  setup.push("del _pymem_sys");
  py.run(setup.join("\n"));
  // Quiet: file descriptor 1 itself points at stderr while the code runs, so os.write(1, …), C extensions' printf
  // and child processes cannot interleave with the JSON either; it is restored (stdio flushed first) afterwards.
  const { libc } = py.native;
  // The saved descriptor is close-on-exec: a child process must not inherit (and hold open) the real stdout.
  const savedStdout = quiet ? libc.fcntl(1, F_DUPFD_CLOEXEC, 3) : -1;
  if (savedStdout >= 0) libc.dup2(2, 1);
  try {
    if (w.file !== undefined) {
      py.run(`exec(compile(open(${pyString(w.file)}, 'rb').read(), ${pyString(w.file)}, 'exec'))`);
    } else {
      py.run(w.code!);
    }
  } catch (e) {
    if (e instanceof PythonError && e.exitCode !== undefined) {
      // As Python exits: code None or 0 ends the script normally, an int is the status, anything else (a str
      // "0", a float 3.0) is printed and the status is 1.
      const code = e.exitCode;
      if (code === null || code === 0) return;
      if (typeof code === "string") process.stderr.write(`${code}\n`);
      throw new ExitStatus(typeof code === "number" ? code & 0xff : 1);
    }
    if (e instanceof PythonError) {
      progress.clear();
      process.stderr.write(`${e.traceback || `${e.type}: ${e.value}`}\n`);
      throw new ExitStatus(1);
    }
    throw e;
  } finally {
    const restore = quiet ? "import sys as _s\n_s.stdout = _pymem_stdout\ndel _pymem_stdout\n" : "import sys as _s\n";
    try {
      py.run(`${restore}_s.stdout.flush()\n_s.stderr.flush()\ndel _s`);
    } catch { /* the script may have closed or replaced its streams */ }
    if (savedStdout >= 0) {
      libc.fflush(0n);
      libc.dup2(savedStdout, 1);
      libc.close(savedStdout);
    }
    // The code may have closed fd 0, 1 or 2: /dev/null goes there now, natively, before the runtime opens any file
    // (Deno's node:fs takes a file that lands on fd 2 for its own closed stderr, and the heap walk reads ELF files).
    // A report for a closed stdout is still an error (write() says so), not a silent /dev/null.
    for (let fd = 0; fd <= 2; fd++) {
      if (libc.fcntl(fd, F_GETFD, 0) !== -1) continue;
      libc.open(cstr("/dev/null"), fd === 0 ? O_RDONLY : O_WRONLY);
      closedByCode.add(fd);
    }
  }
}

async function open(ctx: Context): Promise<Python> {
  const allocator = ctx.values.allocator as AllocatorName | undefined;
  progress.say("loading libpython");
  try {
    return await openPython({
      library: ctx.values.library as string | undefined,
      executable: ctx.values.python as string | undefined,
      allocator,
    });
  } catch (e) {
    // An unknown allocator name is bad usage, not a failure.
    if (e instanceof RangeError && /allocator/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
}

// ---- commands ----------------------------------------------------------------------------------------------------

async function cmdInfo(ctx: Context): Promise<number> {
  const py = await open(ctx);
  try {
    progress.say("resolving allocator functions");
    const v = py.version;
    const domains = (["raw", "mem", "obj"] as Domain[]).map((d) => getAllocator(py, d));
    const arena = getArenaAllocator(py);
    const symbols = py.symbols.report();
    const name = (n: string | null, addr: bigint) => n ?? (addr === 0n ? "NULL" : `0x${addr.toString(16)} (unnamed)`);
    let layout: string;
    try {
      const l = py.layout;
      layout = `${formatBytes(l.arenaSize)} arenas, ${formatBytes(l.poolSize)} pools, ${l.sizeClasses} size classes; state: ${l.state}`;
    } catch (e) {
      layout = (e as Error).message;
    }
    progress.clear();
    if (ctx.values.json !== undefined) {
      const hex = (b: bigint) => `0x${b.toString(16)}`;
      const doc = {
        pymemVersion: PYMEM_VERSION,
        runtime: runtimeName(),
        backend: py.backend,
        library: py.library,
        source: py.source,
        version: py.version,
        allocator: py.allocatorName(),
        domains: Object.fromEntries(domains.map((d) => [d.domain, {
          ctx: hex(d.ctx), malloc: hex(d.malloc), calloc: hex(d.calloc), realloc: hex(d.realloc), free: hex(d.free), names: d.names,
        }])),
        arenaAllocator: { ctx: hex(arena.ctx), alloc: hex(arena.alloc), free: hex(arena.free), names: arena.names },
        symbols: symbols.map((s) => ({ ...s, address: s.address === null ? null : hex(s.address) })),
      };
      await output(ctx.values.json as string, JSON.stringify(doc, null, 2) + "\n", "info JSON");
      if (ctx.values.json === "-") return 0;
    }
    const bold = stdoutTTY() && colorAllowed() ? (s: string) => `\x1b[1m${s}\x1b[0m` : (s: string) => s;
    const lines = [
      `${bold("runtime")}    ${runtimeName()} (FFI backend: ${py.backend})`,
      `${bold("library")}    ${py.library}  [found via ${py.source}]`,
      `${bold("version")}    CPython ${v.major}.${v.minor}.${v.micro} (${v.releaseLevel}), hex 0x${v.hex.toString(16)}`,
      `${bold("allocator")}  ${py.allocatorName() ?? "custom (CPython has no name for it)"}`,
      `${bold("obmalloc")}   ${layout}`,
      "",
      bold("Domains"),
      table(
        ["domain", "malloc", "calloc", "realloc", "free", "ctx"],
        domains.map((d) => [d.domain, name(d.names.malloc, d.malloc), name(d.names.calloc, d.calloc), name(d.names.realloc, d.realloc), name(d.names.free, d.free), name(d.names.ctx, d.ctx)]),
      ),
      "",
      bold("Arena allocator"),
      table(["alloc", "free", "ctx"], [[name(arena.names.alloc, arena.alloc), name(arena.names.free, arena.free), name(arena.names.ctx, arena.ctx)]]),
      "",
      bold(`Optional and hidden symbols (${py.symbols.hasSymtab ? "library has .symtab" : "stripped library: exported symbols and decoding only"})`),
      py.symbols.table(),
      "",
    ];
    await write(process.stdout, lines.join("\n"));
    return 0;
  } finally {
    py.close();
  }
}

/** Text report, JSON, SVG and HTML of one snapshot, as the options ask. */
async function report(ctx: Context, doc: HeapJSON): Promise<void> {
  const jsonToStdout = ctx.values.json === "-";
  const worst = positiveNumber(ctx.values.worst, "worst", true) ?? 10;
  const stream = jsonToStdout ? process.stderr : process.stdout;
  const color = !!stream.isTTY && colorAllowed();
  if (ctx.values.svg !== undefined) {
    progress.say("drawing the heat map");
    await output(ctx.values.svg as string, heatMapSVG(doc), "the heat map");
  }
  if (ctx.values.html !== undefined) {
    progress.say("writing the HTML report");
    await output(ctx.values.html as string, renderHTML(doc, { worstArenas: Math.max(worst, 25) }), "the HTML report");
  }
  if (ctx.values.json !== undefined) await output(ctx.values.json as string, JSON.stringify(doc) + "\n", "the JSON snapshot");
  progress.clear();
  await write(stream, renderHeapText(doc, { color, worstArenas: worst }));
}

async function cmdHeap(ctx: Context): Promise<number> {
  const w = workloadOf(ctx);
  positiveNumber(ctx.values.worst, "worst", true); // bad usage is reported before Python starts
  const py = await open(ctx);
  try {
    progress.say(w.label ? `running ${w.label}` : "starting");
    runWorkload(py, w, ctx.values.json === "-");
    progress.say("mapping the heap");
    const snap = py.heap();
    const doc = heapToJSON(snap, { rss: rssOf(), source: { library: py.library, workload: w.label } });
    await report(ctx, doc);
    return 0;
  } finally {
    py.close();
  }
}

async function cmdDiff(ctx: Context): Promise<number> {
  const w = workloadOf(ctx);
  const py = await open(ctx);
  try {
    const quiet = ctx.values.json === "-";
    if (ctx.values.setup !== undefined) {
      progress.say("running --setup");
      runWorkload(py, { code: ctx.values.setup as string, args: [] }, quiet);
    }
    progress.say("mapping the heap (before)");
    const before = py.heap();
    progress.say(w.label ? `running ${w.label}` : "running nothing");
    runWorkload(py, w, quiet);
    progress.say("mapping the heap (after)");
    const after = py.heap();
    const diff = diffToJSON(before, after, { library: py.library, workload: w.label });
    if (ctx.values.json !== undefined) await output(ctx.values.json as string, JSON.stringify(diff, null, 1) + "\n", "the diff JSON");
    const stream = quiet ? process.stderr : process.stdout;
    progress.clear();
    await write(stream, renderDiffText(diff, { color: !!stream.isTTY && colorAllowed() }));
    return 0;
  } finally {
    py.close();
  }
}

async function cmdStats(ctx: Context): Promise<number> {
  const w = workloadOf(ctx);
  const py = await open(ctx);
  try {
    progress.say(w.label ? `running ${w.label}` : "starting");
    runWorkload(py, w, false);
    const stats = py.debugMallocStats();
    progress.clear();
    if (!stats.pymalloc) process.stderr.write(`pymem: no pymalloc statistics: ${stats.reason}\n`);
    await write(process.stdout, stats.text);
    return 0;
  } finally {
    py.close();
  }
}

function pidOf(ctx: Context): number {
  const [pid, extra] = ctx.positionals;
  if (pid === undefined) throw new UsageError("attach needs a PID");
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  // PID_MAX_LIMIT (2^22 on 64-bit Linux) bounds every process id.
  if (!/^\d+$/.test(pid) || Number(pid) <= 0 || Number(pid) > 4_194_304) throw new UsageError(`not a process id: "${pid}"`);
  return Number(pid);
}

async function cmdAttach(ctx: Context): Promise<number> {
  const pid = pidOf(ctx);
  const every = positiveNumber(ctx.values.watch, "watch", false);
  if (every !== undefined && every < 0.1) throw new UsageError(`--watch needs at least 0.1 seconds, got "${ctx.values.watch}"`);
  // Timers hold at most 2^31−1 ms (about 24.8 days); beyond that they fire at once.
  if (every !== undefined && every * 1000 > 2 ** 31 - 1) {
    throw new UsageError(`--watch can wait at most ${Math.floor((2 ** 31 - 1) / 1000)} seconds, got "${ctx.values.watch}"`);
  }
  const count = positiveNumber(ctx.values.count, "count", true);
  positiveNumber(ctx.values.worst, "worst", true);
  if (count !== undefined && every === undefined) throw new UsageError("--count needs --watch SECONDS");
  if (!existsSync(`/proc/${pid}`)) throw new PymemError("ATTACH", `no process ${pid}`);
  progress.say(`attaching to process ${pid}`);
  const target = await attachPython(pid);
  try {
    const sample = (): { snap: HeapSnapshot; doc: HeapJSON } => {
      const snap = target.heap();
      const doc = heapToJSON(snap, { rss: rssOf(pid), source: { kind: "attached", pid, library: target.library } });
      return { snap, doc };
    };
    progress.say("mapping the heap");
    const first = sample();
    if (every === undefined) {
      await report(ctx, first.doc);
      return 0;
    }
    // Watch: the first report, then one line per re-sample, then the growth since the first sample.
    const stream = ctx.values.json === "-" ? process.stderr : process.stdout;
    const color = !!stream.isTTY && colorAllowed();
    await write(stream, renderHeapText(first.doc, { color, worstArenas: 5 }));
    let stop = false;
    let wake: (() => void) | undefined;
    const onSigint = () => {
      stop = true;
      wake?.();
    };
    process.on("SIGINT", onSigint);
    let prev = first, last = first;
    const t0 = Date.now();
    try {
      for (let i = 0; !stop && (count === undefined || i < count); i++) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, every * 1000);
        });
        if (stop) break;
        last = sample();
        await write(stream, growthLine(prev.snap, last.snap, (Date.now() - t0) / 1000) + "\n");
        prev = last;
      }
    } finally {
      process.off("SIGINT", onSigint);
    }
    const rows = last.snap.diff(first.snap).filter((r) => r.blocksInUse || r.pools);
    const growth = rows.length
      ? table(
        ["class", "size", "pools", "blocks", "bytes"],
        rows.map((r) => [String(r.index), String(r.size), formatDelta(r.pools), formatDelta(r.blocksInUse), (r.bytesInUse >= 0 ? "+" : "-") + formatBytes(Math.abs(r.bytesInUse))]),
        [true, true, true, true, true],
      )
      : "(no size class changed)";
    await write(stream, `\nGrowth since the first sample (${((Date.now() - t0) / 1000).toFixed(1)} s), by size class\n${growth}\n`);
    if (ctx.values.svg !== undefined) await output(ctx.values.svg as string, heatMapSVG(last.doc), "the heat map");
    if (ctx.values.html !== undefined) await output(ctx.values.html as string, renderHTML(last.doc), "the HTML report");
    if (ctx.values.json !== undefined) await output(ctx.values.json as string, JSON.stringify(last.doc) + "\n", "the JSON snapshot");
    return 0;
  } finally {
    target.close();
  }
}

/** One `--watch` line: time, arenas, blocks and bytes change, and the three classes that grew most. */
function growthLine(before: HeapSnapshot, after: HeapSnapshot, seconds: number): string {
  const rows = after.diff(before).filter((r) => r.blocksInUse !== 0).sort((a, b) => Math.abs(b.bytesInUse) - Math.abs(a.bytesInUse));
  const a0 = before.totals.arenas, a1 = after.totals.arenas;
  const db = after.totals.bytesInUse - before.totals.bytesInUse;
  const top = rows.slice(0, 3).map((r) => `${r.size} B ${formatDelta(r.blocksInUse)}`).join(", ");
  return `+${seconds.toFixed(1)}s  arenas ${formatInt(a1)} (${formatDelta(a1 - a0)})  blocks ${formatDelta(after.totals.blocksInUse - before.totals.blocksInUse)} ` +
    `(${db >= 0 ? "+" : "-"}${formatBytes(Math.abs(db))})${top ? `  top: ${top}` : ""}`;
}

async function cmdPs(ctx: Context): Promise<number> {
  progress.say("looking for Python processes");
  const rows = await listPythonProcesses();
  progress.clear();
  if (ctx.values.json !== undefined) {
    await output(ctx.values.json as string, JSON.stringify(rows, null, 1) + "\n", "the process list");
    if (ctx.values.json === "-") return 0;
  }
  await write(process.stdout, renderPsText(rows));
  return 0;
}

// ---- argument parsing --------------------------------------------------------------------------------------------

/**
 * Split the arguments of a script-running command at the script: options before it belong to pymem, everything
 * from the first positional on (or after `--`) is the script and its arguments, as with `python [opts] FILE ARGS`.
 */
function splitAtScript(args: string[], options: Option[]): { head: string[]; tail: string[] } {
  const takesValue = new Set<string>();
  for (const o of options) {
    if (o.arg) {
      takesValue.add(`--${o.name}`);
      if (o.short) takesValue.add(`-${o.short}`);
    }
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return { head: args.slice(0, i), tail: args.slice(i + 1) };
    if (a.startsWith("-") && a !== "-") {
      if (takesValue.has(a)) i++; // "--json FILE", "-c CODE" (not "--json=FILE" or "-cCODE")
      continue;
    }
    return { head: args.slice(0, i), tail: args.slice(i) };
  }
  return { head: args, tail: [] };
}

function parse(cmd: Command, args: string[]): Context {
  const { head, tail } = cmd.positionals === "script" ? splitAtScript(args, cmd.options) : { head: args, tail: [] };
  const spec: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const o of cmd.options) spec[o.name] = { type: o.arg ? "string" : "boolean", ...(o.short ? { short: o.short } : {}) };
  // node:util calls "--worst -1" ambiguous (a value that looks like a flag): a negative number after an option that
  // takes a value is that value, and the option's own check says what is wrong with it.
  const takesValue = new Set(cmd.options.filter((o) => o.arg).flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]));
  const joined: string[] = [];
  for (let i = 0; i < head.length; i++) {
    if (takesValue.has(head[i]) && /^-(\d|\.\d|Infinity$)/.test(head[i + 1] ?? "")) {
      joined.push(`${head[i].startsWith("--") ? head[i] : `--${cmd.options.find((o) => `-${o.short}` === head[i])!.name}`}=${head[++i]}`);
    } else joined.push(head[i]);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options: spec, allowPositionals: cmd.positionals !== "none", strict: true });
  } catch (e) {
    // node:util's messages run on with advice about "--"; the first sentence is the problem.
    const message = (e as Error).message.split(/\.\s/)[0].replace(/\.$/, "");
    throw new UsageError(message);
  }
  return { cmd, values: parsed.values as Context["values"], positionals: [...parsed.positionals, ...tail] };
}

/**
 * Run the command line `argv` (without the runtime and script) and return the exit status. Output goes to the
 * process's stdout and stderr.
 */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  const [name, ...rest] = argv;
  let cmdName = name ?? "";
  try {
    if (name === undefined) {
      await write(process.stderr, TOP_HELP);
      return 2;
    }
    if (name === "-h" || name === "--help" || name === "help") {
      const sub = name === "help" ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      if (name === "help" && rest[0] !== undefined && !sub) throw new UsageError(`unknown command "${rest[0]}"`);
      await write(process.stdout, sub ? commandHelp(sub) : TOP_HELP);
      return 0;
    }
    if (name === "-V" || name === "--version") {
      await write(process.stdout, `pymem ${PYMEM_VERSION}\n`);
      return 0;
    }
    if (name === "bench") {
      // The allocator benchmark has its own option table (lib/bench/runner.ts); loaded only when asked for.
      const { benchCommand } = await import("./bench/runner.ts");
      return await benchCommand(rest);
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) {
      cmdName = "";
      throw new UsageError(name.startsWith("-") ? `unknown option "${name}" before the command` : `unknown command "${name}"`);
    }
    const ctx = parse(cmd, rest);
    if (ctx.values.help) {
      await write(process.stdout, commandHelp(cmd));
      return 0;
    }
    if (cmd.positionals === "none" && ctx.positionals.length) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
    return await cmd.run(ctx);
  } catch (e) {
    progress.clear();
    if (e instanceof ExitStatus) return e.status;
    const where = cmdName ? `pymem ${cmdName}` : "pymem";
    if (e instanceof UsageError) {
      await writeError(`${where}: ${e.message} (see: ${where} --help)\n`);
      return 2;
    }
    if (debug) {
      await writeError(`${(e as Error)?.stack ?? e}\n`);
      const cause = (e as Error)?.cause;
      if (cause) await writeError(`caused by: ${(cause as Error)?.stack ?? cause}\n`);
    } else {
      const lines = String((e as Error)?.message ?? e).split("\n");
      // "Tried:" and the like end their first line with a colon: keep the first item it introduces.
      const message = lines[0].endsWith(":") && lines[1] ? `${lines[0]} ${lines[1].trim()}` : lines[0];
      const hint = String((e as Error)?.message ?? "").includes("\n") ? " (--debug for details)" : "";
      await writeError(`${where}: ${message}${hint}\n`);
    }
    return 1;
  }
}

/** True when this module is the program (not imported): Bun and Deno say so; Node compares paths. */
function isMain(): boolean {
  const m = (import.meta as { main?: boolean }).main;
  if (typeof m === "boolean") return m;
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Put /dev/null where Python code closed fd 0, 1 or 2. koffi (3.3.4) syncs stdout and stderr in an atexit handler
 * and reports a failure on stderr under a lock it already holds: with fd 2 closed, Node never exits.
 */
function refillStandardFds(): void {
  for (let fd = 0; fd <= 2; fd++) {
    try {
      fstatSync(fd);
    } catch {
      try {
        // open() returns the lowest free descriptor: this one, or a lower closed one (refilled first by the loop).
        openSync("/dev/null", fd === 0 ? "r" : "w");
      } catch { /* nothing more to do on the way out */ }
    }
  }
}

if (isMain()) {
  const status = await main(process.argv.slice(2));
  refillStandardFds();
  // Exit explicitly: the interpreter was finalized, and nothing else should keep the process alive.
  process.exit(status);
}
