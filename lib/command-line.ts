/**
 * The grammar of pymem's command line, one for every command (lib/cli/, `pymem bench` in lib/compare/, `pymem
 * exporter` in lib/exporter/): an option table from which both the parser (node:util parseArgs) and `--help` are
 * generated, so the help cannot drift from what the parser accepts; usage errors (exit status 2); output
 * destinations checked before any work.
 * @module
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

/** One option of a command's table. */
export interface Option {
  name: string;
  short?: string;
  /** Placeholder of the value; absent for a boolean flag. */
  arg?: string;
  help: string;
  /** The option may be given more than once (its values are a list). */
  multiple?: boolean;
  /**
   * The value is where output goes: checked before the command does any work ("-", stdout, always passes), so a
   * bad path does not cost a run and its report. "file" or "dir".
   */
  writes?: "file" | "dir";
}

/**
 * What positionals mean: none, a Python script with its arguments, one pid, either (`why`: a number is a pid), or
 * any list (`bench --compare A B`). Options may come before and after a pid; a script ends the options (what
 * follows is its argv).
 */
export type Positionals = "none" | "script" | "pid" | "pid-or-script" | "any";

/** What `--help` prints of a command, and its option table. */
export interface CommandText {
  name: string;
  summary: string;
  usage: string;
  /** Paragraphs after the usage line. */
  about: string[];
  options: Option[];
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Bad usage: exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The help text of one command. */
export function commandHelp(cmd: CommandText): string {
  const flags = cmd.options.map((o) => `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.arg ? ` ${o.arg}` : ""}`);
  const w = Math.max(...flags.map((f) => f.length));
  const wrap = (s: string) =>
    s.replace(/(.{1,100})(\s+|$)/g, "$1\n").trimEnd().split("\n").map((l) => `  ${l}`).join("\n");
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

/** "--json", "-c": the spellings of the options that take a value. */
function valueFlags(options: Option[]): Set<string> {
  return new Set(options.filter((o) => o.arg).flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]));
}

/**
 * Split the arguments of a script-running command at the script: options before it belong to pymem, everything
 * from the first positional on (or after `--`) is the script and its arguments, as with `python [opts] FILE ARGS`.
 * A pid (`why PID`: digits, with neither -c nor --demo before it) does not end the options.
 */
function splitAtScript(args: string[], options: Option[], pid: boolean): { head: string[]; tail: string[] } {
  const takesValue = valueFlags(options);
  let runsCode = false, pidSeen = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") return { head: args.slice(0, i), tail: args.slice(i + 1) };
    if (a.startsWith("-") && a !== "-") {
      if (/^(-c|--code(=|$)|--demo$)/.test(a)) runsCode = true;
      if (takesValue.has(a)) i++; // "--json FILE", "-c CODE" (not "--json=FILE" or "-cCODE")
      continue;
    }
    if (pid && !runsCode && !pidSeen && /^\d+$/.test(a)) {
      pidSeen = true;
      continue;
    }
    return { head: args.slice(0, i), tail: args.slice(i) };
  }
  return { head: args, tail: [] };
}

/** Parse `args` by the option table; bad usage throws a UsageError. */
export function parseOptions(
  options: Option[],
  args: string[],
  positionals: Positionals,
): { values: OptionValues; positionals: string[]; misplaced: string[] } {
  const scripted = positionals === "script" || positionals === "pid-or-script";
  const { head, tail } = scripted
    ? splitAtScript(args, options, positionals === "pid-or-script")
    : { head: args, tail: [] };
  const spec: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const o of options) {
    spec[o.name] = {
      type: o.arg ? "string" : "boolean",
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  // node:util calls "--worst -1" ambiguous (a value that looks like a flag): a negative number after an option that
  // takes a value is that value, and the option's own check says what is wrong with it.
  const takesValue = valueFlags(options);
  const joined: string[] = [];
  for (let i = 0; i < head.length; i++) {
    if (takesValue.has(head[i]) && /^-(\d|\.\d|Infinity$)/.test(head[i + 1] ?? "")) {
      joined.push(
        `${head[i].startsWith("--") ? head[i] : `--${options.find((o) => `-${o.short}` === head[i])!.name}`}=${
          head[++i]
        }`,
      );
    } else joined.push(head[i]);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options: spec, allowPositionals: positionals !== "none", strict: true });
  } catch (e) {
    // node:util's messages run on with advice about "--"; the first sentence is the problem, in the CLI's voice
    // ("unknown option '--x'", as every other message starts lower-case).
    const message = (e as Error).message.split(/\.\s/)[0].replace(/\.$/, "");
    throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1));
  }
  const rest = [...parsed.positionals, ...tail];
  if (positionals === "none" && rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  // `why x.py --html out.html` gives --html to the script, as python does; said, because the report it meant to
  // write silently never appears. The script's own arguments after the file are what is looked at, not the file.
  const flags = new Set(options.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]));
  const misplaced = tail.slice(1).filter((a) => flags.has(a.split("=")[0]) && a !== "-h" && a !== "--help");
  return { values: parsed.values as OptionValues, positionals: rest, misplaced };
}

/**
 * Check every output destination of the parsed options before any work: the directory exists and may be written,
 * and the path is not a directory (a file) or is one (a directory). A bad one is bad usage (exit status 2).
 */
export function checkDestinations(options: Option[], values: OptionValues): void {
  for (const o of options) {
    const path = values[o.name];
    if (!o.writes || typeof path !== "string" || path === "-") continue;
    const bad = (why: string) => new UsageError(`--${o.name} ${path}: ${why}`);
    if (path === "") throw bad("an empty path");
    const target = o.writes === "dir" ? path : dirname(resolve(path));
    let st;
    try {
      st = statSync(target);
    } catch {
      throw bad(o.writes === "dir" ? "no such directory" : `no such directory ${target}`);
    }
    if (!st.isDirectory()) throw bad(o.writes === "dir" ? "not a directory" : `${target} is not a directory`);
    try {
      accessSync(target, constants.W_OK);
    } catch {
      throw bad(`${o.writes === "dir" ? "the directory" : target} is not writable`);
    }
    if (o.writes === "file" && existsSync(path)) {
      if (statSync(path).isDirectory()) throw bad("is a directory");
      try {
        accessSync(path, constants.W_OK);
      } catch {
        throw bad("is not writable");
      }
    }
  }
}
