/**
 * How a pymem command is described and parsed: its option table (the grammar is lib/command-line.ts, shared with
 * `bench` and `exporter`), the shared options, and a script's exit status.
 * @module
 */
import {
  checkDestinations,
  commandHelp,
  type CommandText,
  type Option,
  parseOptions,
  type Positionals,
  UsageError,
} from "../command-line.ts";

export { checkDestinations, commandHelp, type Option, UsageError };

export interface Command extends CommandText {
  positionals: Positionals;
  run(ctx: Context): Promise<number>;
}

export const HELP: Option = { name: "help", short: "h", help: "show this help" };
export const DEBUG: Option = { name: "debug", help: "print stack traces on errors" };
export const CODE: Option = {
  name: "code",
  short: "c",
  arg: "CODE",
  help: 'run this Python source (sys.argv is ["-c", ARGS…])',
};
export const DEMO: Option = { name: "demo", help: "run a built-in workload that fragments the heap" };
export const EMBED: Option[] = [
  {
    name: "allocator",
    arg: "NAME",
    help: "start CPython with this allocator (pymalloc, malloc, debug, pymalloc_debug, mimalloc on 3.13+, …)",
  },
  { name: "library", arg: "PATH", help: "the libpython to load (default: $PYMEM_LIBPYTHON, else discovery)" },
  {
    name: "python",
    arg: "EXE",
    help:
      "load the libpython of this interpreter, even with $PYMEM_LIBPYTHON set (default: $PYMEM_PYTHON, python3, python)",
  },
];
export const OUTPUTS: Option[] = [
  {
    name: "json",
    arg: "FILE",
    writes: "file",
    help: 'write the snapshot as JSON (schema pymem.heap, version 1; "-" for stdout)',
  },
  {
    name: "svg",
    arg: "FILE",
    writes: "file",
    help: "write the heat map as SVG (one row per arena, one cell per pool)",
  },
  {
    name: "html",
    arg: "FILE",
    writes: "file",
    help: "write a self-contained HTML report (heat map, size-class chart, tables)",
  },
  { name: "worst", arg: "N", help: "list the N emptiest arenas (default 10)" },
];

export const SCRIPT_ABOUT =
  "FILE.py runs as a script: sys.argv is [FILE, ARGS…], __file__ is set and its directory is " +
  "sys.path[0]. A Python exception prints Python's traceback and exits with status 1; SystemExit(0) continues.";

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
  /** pymem options written after the script, which went to the script (lib/command-line.ts parseOptions). */
  misplaced: string[];
}

/** Parse a command's arguments by its option table (lib/command-line.ts). */
export function parse(cmd: Command, args: string[]): Context {
  const { values, positionals, misplaced } = parseOptions(cmd.options, args, cmd.positionals);
  // No command of lib/cli/ has an option given more than once.
  return { cmd, values: values as Context["values"], positionals, misplaced };
}
