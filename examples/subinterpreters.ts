/**
 * Sub-interpreters with their own obmalloc state: create one, fill it, compare its heap with main's, close it.
 *
 *   PYMEM_LIBPYTHON=/path/to/libpython3.13.so bun examples/subinterpreters.ts
 *   deno run -A examples/subinterpreters.ts            node dist/examples/subinterpreters.js  (after `tsc -p .`)
 * @module
 */
import { openPython, PymemError } from "../lib/mod.ts";

using py = await openPython();
if (py.version.minor < 12) {
  // 3.8–3.11 have one obmalloc state for every interpreter: only the "legacy" preset exists there.
  using legacy = py.newInterpreter("legacy");
  console.log(`${legacy}`);
} else {
  using iso = py.newInterpreter(); // "isolated": own obmalloc state, own GIL
  using shared = py.newInterpreter("legacy"); // main's obmalloc state and GIL
  iso.run("data = [str(i) for i in range(200_000)]");
  shared.run("data = [str(i) for i in range(50_000)]");
  for (const row of py.interpreters()) {
    const who = row.isMain ? "main" : String(row.subInterpreter ?? `interpreter ${row.id}`);
    console.log(
      `#${row.id} ${row.ownObmalloc ? "own state " : "main's    "} ${
        row.blocksInUse.toLocaleString("en-US").padStart(9)
      } blocks  ${who}`,
    );
  }
  const mainHeap = py.heap();
  const isoHeap = iso.heap();
  console.log(
    `main: ${mainHeap.totals.arenas} arenas; isolated: ${isoHeap.totals.arenas} arenas, state on the heap: ${iso.allocator().isObmallocStateOnHeap()}`,
  );
  try {
    py.newInterpreter({
      useMainObmalloc: true,
      allowFork: false,
      allowExec: false,
      allowThreads: true,
      allowDaemonThreads: false,
      checkMultiInterpExtensions: true,
      gil: "own",
    });
  } catch (e) {
    console.log(`refused: ${(e as Error).message}`);
  }
  const report = iso.close();
  // Blocks still allocated in the interpreter's own heap when it ends are what CPython's finalization did not free
  // (interned and immortal objects, caches): CPython adds them to its leak counter, and keeps counting them in
  // sys.getallocatedblocks(). Nothing the example did was lost.
  const n = report.leakedBlocks === null ? "an unknown number of" : report.leakedBlocks.toLocaleString("en-US");
  console.log(
    `closed #${report.id}: ${n} blocks were still allocated in its heap when it ended; CPython counts ` +
      `them as leaked (${report.source}): objects its finalization does not free, not a leak of this program`,
  );
  try {
    iso.eval("len(data)");
  } catch (e) {
    if (e instanceof PymemError) console.log(`after close: ${e.code}`);
  }
}
