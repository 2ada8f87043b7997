/**
 * How a pymem command is described and parsed: the option table that both the parser (node:util parseArgs) and
 * `--help` are generated from, so the help cannot drift from what the parser accepts; the shared options; usage
 * errors (exit status 2) and a script's exit status.
 * @module
 */
import { parseArgs } from "node:util";

interface Option {
  name: string;
  short?: string;
  /** Placeholder of the value; absent for a boolean flag. */
  arg?: string;
  help: string;
}

export interface Command {
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

export const HELP: Option = { name: "help", short: "h", help: "show this help" };
export const DEBUG: Option = { name: "debug", help: "print stack traces on errors" };
export const CODE: Option = { name: "code", short: "c", arg: "CODE", help: 'run this Python source (sys.argv is ["-c", ARGS…])' };
export const DEMO: Option = { name: "demo", help: "run a built-in workload that fragments the heap" };
export const EMBED: Option[] = [
  { name: "allocator", arg: "NAME", help: "start CPython with this allocator (pymalloc, malloc, debug, pymalloc_debug, mimalloc on 3.13+, …)" },
  { name: "library", arg: "PATH", help: "the libpython to load (default: $PYMEM_LIBPYTHON, else discovery)" },
  { name: "python", arg: "EXE", help: "load the libpython of this interpreter, even with $PYMEM_LIBPYTHON set (default: $PYMEM_PYTHON, python3, python)" },
];
export const OUTPUTS: Option[] = [
  { name: "json", arg: "FILE", help: 'write the snapshot as JSON (schema pymem.heap, version 1; "-" for stdout)' },
  { name: "svg", arg: "FILE", help: "write the heat map as SVG (one row per arena, one cell per pool)" },
  { name: "html", arg: "FILE", help: "write a self-contained HTML report (heat map, size-class chart, tables)" },
  { name: "worst", arg: "N", help: "list the N emptiest arenas (default 10)" },
];

export const SCRIPT_ABOUT = "FILE.py runs as a script: sys.argv is [FILE, ARGS…], __file__ is set and its directory is " +
  "sys.path[0]. A Python exception prints Python's traceback and exits with status 1; SystemExit(0) continues.";

/** Bad usage: exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A Python script ended with SystemExit(n), n ≠ 0, or raised: its status, its output already printed. */
export class ExitStatus extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit status ${status}`);
    this.status = status;
  }
}

export interface Context {
  cmd: Command;
  values: Record<string, string | boolean | undefined>;
  /** Positionals: the script and its arguments, or the pid. */
  positionals: string[];
}

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

export function parse(cmd: Command, args: string[]): Context {
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

