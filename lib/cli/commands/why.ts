/**
 * `pymem why [PID | -c CODE | --demo | FILE.py]`: what holds the memory (lib/objects, rendered by lib/report/why.ts).
 * @module
 */
import process from "node:process";
import { attachPython } from "../../attach/attach.ts";
import { PID_MAX_LIMIT } from "../../machine/proc.ts";
import { renderWhyText, whyToJSON } from "../../report/why.ts";
import { CODE, type Command, type Context, DEBUG, DEMO, EMBED, HELP, UsageError } from "../command.ts";
import { output, positiveNumber, progress, write } from "../io.ts";
import { open, runWorkload, workloadOf } from "../workload.ts";
import { mimallocMapOf, whyMimalloc } from "./why-mimalloc.ts";

async function cmdWhy(ctx: Context): Promise<number> {
  const limit = positiveNumber(ctx.values.limit, "limit", true) ?? 15;
  const [first, extra] = ctx.positionals;
  // A number is a pid (a script is a file name); -c or --demo always run code.
  const pid = /^\d+$/.test(first ?? "") && ctx.values.code === undefined && !ctx.values.demo
    ? Number(first)
    : undefined;
  if (pid !== undefined && extra !== undefined) throw new UsageError(`unexpected argument "${extra}" after the PID`);
  if (pid !== undefined && (pid === 0 || pid > PID_MAX_LIMIT)) throw new UsageError(`not a process id: "${first}"`);
  const w = pid === undefined ? workloadOf(ctx) : undefined;
  const py = pid === undefined ? await open(ctx) : await attachPython(pid);
  try {
    if (w) runWorkload(py as Awaited<ReturnType<typeof open>>, w, ctx.values.json === "-");
    progress.say("classifying the heap's blocks");
    const source = pid === undefined
      ? { kind: "embedded" as const, library: py.library, workload: w?.label }
      : { kind: "attached" as const, pid, library: py.library };
    const mimalloc = mimallocMapOf(py, pid !== undefined);
    if (mimalloc) return await whyMimalloc(ctx, py, mimalloc, source, limit);
    const doc = whyToJSON(py.heap().objects(), source, limit);
    if (ctx.values.json !== undefined) await output(ctx.values.json as string, JSON.stringify(doc) + "\n", "the JSON");
    progress.clear();
    await write(ctx.values.json === "-" ? process.stderr : process.stdout, renderWhyText(doc));
    return 0;
  } finally {
    py.close();
  }
}

export const whyCommand: Command = {
  name: "why",
  summary: "what holds the memory: live blocks by Python type, and the arenas each type keeps mapped",
  usage: "pymem why [options] [PID | -c CODE | --demo | FILE.py [ARGS…]]",
  about: [
    "Classifies every live pymalloc block (the Python object in it, or the buffer it is) and prints the kinds by " +
    "pinned bytes: each arena's size shared among its live blocks by their size (an instance's __dict__ counts for " +
    "the instance's type). A PID reads that process " +
    "(read-only, like attach; options may come before or after the PID); otherwise the code runs in an embedded " +
    "CPython first.",
    "Under mimalloc (PYTHONMALLOC=mimalloc, --allocator mimalloc; CPython 3.13+) it classifies mimalloc's blocks " +
    "and charges each page with live blocks to the kinds on it (JSON schema pymem.mimalloc.why).",
  ],
  options: [
    CODE,
    DEMO,
    {
      name: "json",
      arg: "FILE",
      writes: "file",
      help: 'write the result as JSON (schema pymem.why, version 1; "-" for stdout)',
    },
    { name: "limit", arg: "N", help: "rows of the pinning table (default 15)" },
    ...EMBED,
    DEBUG,
    HELP,
  ],
  positionals: "pid-or-script",
  run: cmdWhy,
};
