/**
 * The `pymem` command line: `info`, `heap`, `diff`, `stats` (an embedded CPython), `attach` and `ps` (other
 * processes, read-only), `bench` (the allocator comparison, lib/compare/). docs/cli.md describes every command;
 * `pymem COMMAND --help` prints the same, generated from each command's option table (lib/cli/command.ts).
 *
 * Conventions: reports on stdout; progress (on a TTY only) and errors on stderr; colours only on a TTY and never
 * with NO_COLOR; an error is one line and exit status 1, bad usage (a bad flag, a missing file) one line and exit
 * status 2; stack traces only with --debug.
 * @module
 */
import process from "node:process";
import { PYMEM_VERSION } from "../report/json.ts";
import { printable } from "../report/printable.ts";
import { checkDestinations, type Command, commandHelp, ExitStatus, parse, UsageError } from "./command.ts";
import { progress, write, writeError } from "./io.ts";
import { diffCommand, heapCommand, infoCommand, statsCommand } from "./commands/embedded.ts";
import { attachCommand, psCommand } from "./commands/processes.ts";
import { whyCommand } from "./commands/why.ts";

const COMMANDS: Command[] = [infoCommand, heapCommand, diffCommand, statsCommand, attachCommand, psCommand, whyCommand];

const TOP_HELP = [
  `pymem ${PYMEM_VERSION}: see CPython's memory allocator from JavaScript`,
  "",
  "Usage: pymem COMMAND [options]        pymem COMMAND --help",
  "",
  "Commands:",
  ...COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`),
  `  ${"bench".padEnd(10)}compare pymalloc, malloc, mimalloc, jemalloc and tcmalloc on the same Python workloads`,
  `  ${
    "exporter".padEnd(10)
  }serve obmalloc metrics of every Python process on the host to Prometheus (docs/exporter.md)`,
  "",
  "Options:",
  "  -h, --help      show this help",
  "  -V, --version   print the pymem version",
  "",
  "Environment: PYMEM_LIBPYTHON (libpython to load), PYMEM_PYTHON (interpreter to ask), NO_COLOR.",
  "Exit status: 0 success, 1 error, 2 bad usage.",
  "",
].join("\n");

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
    // `pymem help bench` as `pymem bench --help`: the two commands loaded only when asked for.
    if (name === "help" && (rest[0] === "bench" || rest[0] === "exporter")) return await main([rest[0], "--help"]);
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
      // The allocator benchmark has its own option table (lib/compare/runner.ts); loaded only when asked for.
      const { benchCommand } = await import("../compare/runner.ts");
      return await benchCommand(rest);
    }
    if (name === "exporter") return await (await import("../exporter/command.ts")).exporterCommand(rest); // lib/exporter/, loaded only when asked for
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) {
      cmdName = "";
      throw new UsageError(
        name.startsWith("-") ? `unknown option "${name}" before the command` : `unknown command "${name}"`,
      );
    }
    const ctx = parse(cmd, rest);
    if (ctx.values.help) {
      await write(process.stdout, commandHelp(cmd));
      return 0;
    }
    checkDestinations(cmd.options, ctx.values);
    if (ctx.misplaced.length) {
      const list = ctx.misplaced.map((a) => printable(a.split("=")[0])).join(", ");
      await writeError(
        `pymem ${cmdName}: note: ${list} after ${printable(ctx.positionals[0])} went to the script, as with python; ` +
          `pymem's options go before the script\n`,
      );
    }
    return await cmd.run(ctx);
  } catch (e) {
    progress.clear();
    if (e instanceof ExitStatus) return e.status;
    const where = cmdName ? `pymem ${cmdName}` : "pymem";
    if (e instanceof UsageError) {
      await writeError(`${where}: ${printable(e.message)} (see: ${where} --help)\n`);
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
      // Escaped: a message can name what a process calls itself (/proc/PID/comm), escape sequences included.
      await writeError(`${where}: ${printable(message)}${hint}\n`);
    }
    return 1;
  }
}
