/**
 * `pymem why [PID | -c CODE | --demo | FILE.py]`: what holds the memory (lib/objects, rendered by lib/report/why.ts).
 * @module
 */
import process from "node:process";
import { attachPython } from "../../attach/attach.ts";
import { PID_MAX_LIMIT } from "../../machine/proc.ts";
import { heldToJSON, renderHeldText, renderWhyText, whyToJSON, whyWithoutObmalloc } from "../../report/why.ts";
import { PymemError } from "../../errors.ts";
import { versionString } from "../../core/version.ts";
import { addressSpaceFor } from "../heap-report.ts";
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
    const source = pid === undefined
      ? { kind: "embedded" as const, library: py.library, workload: w?.label }
      : { kind: "attached" as const, pid, library: py.library };
    const mimalloc = mimallocMapOf(py, pid !== undefined);
    if (mimalloc) return await whyMimalloc(ctx, py, mimalloc, source, limit);
    // glibc's heap is walked once, for the RSS by holder and for the objects in its chunks (a malloc that is not
    // glibc's is refused here and named by the address space's own attempt).
    let malloc: ReturnType<typeof py.mallocHeap> | undefined;
    try {
      progress.say("walking the malloc heap");
      malloc = py.mallocHeap();
    } catch (e) {
      if (!(e instanceof PymemError && e.code === "UNSUPPORTED")) throw e;
    }
    let doc;
    try {
      const heap = py.heap();
      const space = addressSpaceFor(() => py.addressSpace({ heap, malloc }));
      progress.say("classifying the heap's blocks");
      doc = whyToJSON(heap.objects(), source, limit, space);
    } catch (e) {
      // No obmalloc heap (PYTHONMALLOC=malloc, a custom allocator): the RSS by holder is the answer.
      if (!(e instanceof PymemError && e.code === "UNSUPPORTED" && /obmalloc/.test(e.message))) throw e;
      const space = addressSpaceFor(() => py.addressSpace({ malloc }));
      const python = { version: versionString(py.version), allocator: py.allocatorName() };
      doc = whyWithoutObmalloc(python, source, e.message, space);
    }
    // The objects in glibc's chunks as well, where malloc is glibc's (else the report is pymalloc's alone).
    if (malloc) {
      progress.say("classifying the malloc heap's chunks");
      doc.held = heldToJSON(malloc.objects().held({ owners: true, limit }));
    }
    if (ctx.values.json !== undefined) await output(ctx.values.json as string, JSON.stringify(doc) + "\n", "the JSON");
    progress.clear();
    await write(ctx.values.json === "-" ? process.stderr : process.stdout, renderWhyText(doc) + renderHeldText(doc));
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
    "Leads with the process's RSS by holder (/proc/PID/smaps attributed to pymalloc's arenas, glibc malloc's " +
    "memory in use and free but held, thread stacks, code and the rest) and names the biggest holder with what " +
    "applies to it (malloc_trim, MALLOC_ARENA_MAX, or what pins pymalloc's arenas). " +
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
