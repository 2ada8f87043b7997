/**
 * The quick start (`npm start`): open the system's CPython, show what pymem sees, make the heap fragment, and
 * map it.
 *
 *   bun examples/quickstart.ts | deno run -A examples/quickstart.ts | node dist/examples/quickstart.js
 */
import process from "node:process";
import { openPython } from "../lib/mod.ts";

using py = await openPython();
const v = py.version;
const runtime = process.versions.bun
  ? `Bun ${process.versions.bun}`
  : (globalThis as { Deno?: { version: { deno: string } } }).Deno
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `Node ${process.version}`;
console.log(`runtime     ${runtime} (FFI backend: ${py.backend})`);
console.log(`library     ${py.library}  [found via ${py.source}]`);
console.log(`CPython     ${v.major}.${v.minor}.${v.micro} (${v.releaseLevel}), hex 0x${v.hex.toString(16)}`);
console.log(`allocator   ${py.allocatorName()}`);

// An allocation round trip in each domain.
for (const domain of [py.raw, py.mem, py.obj]) {
  const p = domain.malloc(64);
  const view = py.view(p, 64);
  view.fill(0xab);
  const q = domain.realloc(p, 4096);
  const ok = py.view(q, 64).every((b) => b === 0xab);
  domain.free(q);
  console.log(`${domain.name.padEnd(4)}        malloc(64) → 0x${p.toString(16)}, realloc(4096) kept the bytes: ${ok}`);
}

// The "RSS never goes down" pattern: many small objects, most freed, a few survivors pinning arenas.
py.run(
  "keep = []\nfor i in range(400_000):\n    x = (i, float(i), str(i))\n    if i % 97 == 0:\n        keep.append(x)\n",
);
py.run("big = [str(i) * 3 for i in range(300_000)]\nsurvivors = big[::500]\ndel big\n");
const heap = py.heap();
const t = heap.totals, f = heap.fragmentation;
const MiB = (n: number) => (n / 1048576).toFixed(1) + " MiB";
const int = (n: number) => n.toLocaleString("en-US");
console.log(
  `\nheap        ${int(t.arenas)} arenas (${MiB(t.arenaBytes)}), ${int(t.pools)} pools in use, ${
    int(t.blocksInUse)
  } blocks = ${MiB(t.bytesInUse)} live`,
);
console.log(
  `fragments   ${MiB(f.freeBytesInUsedPools)} free inside used pools; ${
    (f.utilization * 100).toFixed(0)
  }% of arena memory holds live blocks`,
);
console.log(
  `pinned      ${
    int(f.pinnedArenas)
  } arenas kept mapped by fewer than ${f.pinnedThreshold} live pools each; packed, the live blocks would need ${
    int(f.arenasIfPacked)
  } arenas`,
);
console.log("\nclass  size  pools  blocks in use  avail blocks");
for (const r of heap.sizeClasses) {
  console.log(
    `${String(r.index).padStart(5)} ${String(r.size).padStart(5)} ${int(r.pools).padStart(6)} ${
      int(r.blocksInUse).padStart(14)
    } ${int(r.availBlocks).padStart(13)}`,
  );
}
