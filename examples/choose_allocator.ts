/**
 * Choosing CPython's allocator before it starts, as PYTHONMALLOC does, without touching the environment. The choice
 * is made once per process (CPython cannot change it once running), so this example takes it from the command line.
 *
 *   bun examples/choose_allocator.ts [malloc|pymalloc|pymalloc_debug|malloc_debug|mimalloc]   (default: malloc)
 *   deno run -A examples/choose_allocator.ts malloc              node dist/examples/choose_allocator.js malloc
 * @module
 */
import process from "node:process";
import { type AllocatorName, openPython, PymemError, verdict, heapToJSON } from "../lib/mod.ts";

const wanted = (process.argv[2] ?? "malloc") as AllocatorName;
let py;
try {
  py = await openPython({ allocator: wanted });
} catch (e) {
  // mimalloc needs CPython 3.13+: the refusal names the version.
  if (e instanceof PymemError && e.code === "UNSUPPORTED") {
    console.log(`refused: ${e.message}`);
    process.exit(0);
  }
  throw e;
}
try {
  console.log(`asked for ${wanted}; CPython runs ${py.allocatorName()}`);
  for (const domain of ["raw", "mem", "obj"] as const) {
    const names = py.getAllocator(domain).names;
    console.log(`  ${domain}: malloc = ${names.malloc ?? "(unnamed: stripped library)"}`);
  }
  py.run("data = [str(i) for i in range(100_000)]");
  // Under malloc, pymalloc's arenas are never used: the heap map is empty and sys.getallocatedblocks() is 0.
  const heap = py.heap();
  console.log(`arenas: ${heap.totals.arenas}, sys.getallocatedblocks() = ${py.eval("__import__('sys').getallocatedblocks()")}`);
  console.log(verdict(heapToJSON(heap)).lines[0]);
} finally {
  py.close();
}
