/**
 * A heap map of a fragmenting workload: most of a few hundred thousand small objects are freed, the survivors pin
 * their arenas, and the report says so — then the same snapshot is drawn as an SVG heat map and a self-contained
 * HTML page, and saved as versioned JSON.
 *
 *   bun examples/heap_map.ts [OUT_DIR]      deno run -A examples/heap_map.ts      node dist/examples/heap_map.js
 *
 * Writes OUT_DIR/heap-map.svg, heap-map.html and heap-map.json (OUT_DIR defaults to the current directory).
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { heapToJSON, heatMapSVG, openPython, renderHeapText, renderHTML, verdict } from "../lib/mod.ts";

const outDir = process.argv[2] ?? ".";
using py = await openPython();

// "RSS never goes down": 300,000 records of three objects each, one in 400 kept.
py.run(
  "records = [(i, float(i), str(i) * 3) for i in range(300_000)]\n" +
    "survivors = records[::400]\n" +
    "del records\n",
);
const heap = py.heap();
console.log(heap); // HeapSnapshot prints as a one-line summary (as in a REPL)

// Everything below is a pure function of the JSON document: it could have come from a file or from CI. The document
// records RSS only when given it (an attached process's is not this one's): here the embedded Python is this process.
const doc = heapToJSON(heap, { rss: process.memoryUsage().rss, source: { workload: "examples/heap_map.ts" } });
console.log(renderHeapText(doc, { worstArenas: 5 }));
console.log(`verdict: ${verdict(doc).level}`);

for (
  const [name, text] of [
    ["heap-map.svg", heatMapSVG(doc)],
    ["heap-map.html", renderHTML(doc)],
    ["heap-map.json", JSON.stringify(doc)],
  ] as const
) {
  writeFileSync(join(outDir, name), text);
  console.log(`wrote ${join(outDir, name)} (${text.length.toLocaleString("en-US")} bytes)`);
}
