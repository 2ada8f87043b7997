/**
 * Choosing CPython's allocator before it starts, as PYTHONMALLOC does, without touching the environment. The choice
 * is made once per process (CPython cannot change it once running), so this example takes it from the command line.
 *
 *   bun examples/choose_allocator.ts [malloc|pymalloc|pymalloc_debug|malloc_debug|mimalloc]   (default: malloc)
 *   deno run -A examples/choose_allocator.ts malloc              node dist/examples/choose_allocator.js malloc
 * @module
 */
import process from "node:process";
import { type AllocatorName, heapToJSON, openPython, PymemError, verdict } from "../lib/mod.ts";

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
  console.log(`sys.getallocatedblocks() = ${py.eval("__import__('sys').getallocatedblocks()")}`);
  // Under malloc or mimalloc, pymalloc's arenas are never used: there is no obmalloc heap to map.
  try {
    const heap = py.heap();
    console.log(`arenas: ${heap.totals.arenas}`);
    console.log(verdict(heapToJSON(heap)).lines[0]);
  } catch (e) {
    if (!(e instanceof PymemError && e.code === "UNSUPPORTED")) throw e;
    console.log(`no heap map: ${e.message}`);
  }
} finally {
  py.close();
}
