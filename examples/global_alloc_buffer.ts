/**
 * A Rust-style global allocator over CPython's allocators: `alloc`/`dealloc` with a layout `{ size, align }`
 * (every power-of-two alignment honoured), `realloc`, and blocks handed out as buffers that free themselves with
 * `using` and cannot be used after free. Mistakes Rust calls undefined behaviour are refused before anything is freed.
 *
 *   bun examples/global_alloc_buffer.ts   deno run -A examples/global_alloc_buffer.ts   node dist/examples/global_alloc_buffer.js
 * @module
 */
import { GlobalAllocator, openPython, type PymemError } from "../lib/mod.ts";

using py = await openPython();
const a = new GlobalAllocator(py, "mem"); // PyMem_Malloc & co (the GIL is taken per call)

// An over-aligned block: PyMem guarantees 16 bytes; 4096 is honoured by over-allocating.
const layout = { size: 100, align: 4096 };
const p = a.alloc(layout);
console.log(`alloc(${JSON.stringify(layout)}) → 0x${p.toString(16)} (aligned: ${p % 4096n === 0n})`);
const q = a.realloc(p, layout, 10_000);
console.log(
  `realloc to 10,000 bytes → 0x${q.toString(16)} (aligned: ${q % 4096n === 0n}); live blocks: ${a.liveBlocks}`,
);
a.dealloc(q, { size: 10_000, align: 4096 });

// Mistakes are refused, not undefined behaviour.
try {
  a.dealloc(q, { size: 10_000, align: 4096 });
} catch (e) {
  console.log(`double free refused: ${(e as PymemError).code}`);
}

// A buffer: a Uint8Array over the block, freed at the end of the scope.
{
  using buf = a.allocBuffer({ size: 64, align: 64 });
  buf.bytes.set(new TextEncoder().encode("hello from PyMem_Malloc"));
  console.log(`buffer @0x${buf.address.toString(16)}: "${new TextDecoder().decode(buf.bytes.subarray(0, 23))}"`);
}
// Zero-size layouts follow Rust: a dangling, aligned, non-null address and nothing allocated.
console.log(
  `alloc({ size: 0, align: 8 }) → ${a.alloc({ size: 0, align: 8 })}; live blocks at the end: ${a.liveBlocks}`,
);
