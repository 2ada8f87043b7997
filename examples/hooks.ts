/**
 * Allocator hooks: count every allocation CPython makes in each domain while a piece of code runs, with native
 * counting hooks that wrap (and forward to) the running allocators, then are removed.
 *
 *   bun examples/hooks.ts      deno run -A examples/hooks.ts      node dist/examples/hooks.js
 * @module
 */
import { openPython } from "../lib/mod.ts";

using py = await openPython();
console.log(`obj allocator before: ${py.getAllocator("obj").names.malloc ?? "(unnamed: stripped library)"}`);

const trace = py.traceAllocations(() => {
  py.run("import json\ndoc = json.dumps({str(i): [i, float(i)] for i in range(20_000)})\nback = json.loads(doc)\n");
  // While the hooks are installed, each domain's allocator is a pymem-generated function.
  console.log(`obj allocator during: ${py.getAllocator("obj").names.malloc}`);
});

console.log(`obj allocator after:  ${py.getAllocator("obj").names.malloc ?? "(unnamed: stripped library)"}`);
console.log("\ndomain     malloc     calloc    realloc       free   bytes requested");
for (const domain of ["raw", "mem", "obj"] as const) {
  const t = trace[domain];
  const cells = [t.malloc, t.calloc, t.realloc, t.free].map((n) => n.toLocaleString("en-US").padStart(10));
  console.log(`${domain.padEnd(6)} ${cells.join(" ")}   ${t.bytes.toLocaleString("en-US").padStart(15)}`);
}

// The size histogram of the object domain: bucket k holds requests of [2^k, 2^(k+1)) bytes.
console.log("\nobj requests by size:");
trace.obj.histogram.forEach((n, k) => {
  if (n > 0) console.log(`  ${String(k === 0 ? 0 : 2 ** k).padStart(6)} B+  ${n.toLocaleString("en-US")}`);
});
