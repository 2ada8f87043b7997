import { assert, python, test } from "./_harness.ts";
import { PymemError } from "../lib/mod.ts";
import { buffer, GlobalAllocator, type Layout, PyMemBuffer } from "../lib/allocators/global-alloc.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const py = await python();
const host = hostOf(py);
const ALIGNS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
const SIZES = [0, 1, 7, 16, 511, 512, 513, 4096, 1 << 20];
const DOMAINS = ["raw", "mem", "obj"] as const;

/**
 * CPython's own count of allocated blocks (pymalloc blocks, plus raw fallbacks from 3.9), once it is steady: the
 * first evaluations warm caches, and a collection clears garbage left by earlier tests.
 */
function blocks(): number {
  py.run("import gc, sys\ngc.collect()");
  let last = -1;
  for (let i = 0; i < 10; i++) {
    const n = py.eval("sys.getallocatedblocks()") as number;
    if (n === last) return n;
    last = n;
  }
  return last;
}

/** A byte pattern that differs per offset and per block. */
function fill(bytes: Uint8Array, seed: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed) & 0xff;
}
function check(bytes: Uint8Array, seed: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (bytes[i] !== ((i * 31 + seed) & 0xff)) return false;
  return true;
}

test("layouts are validated before anything is allocated", () => {
  const a = new GlobalAllocator(py);
  assert.throws(() => a.alloc({ size: 8, align: 3 }), RangeError);
  assert.throws(() => a.alloc({ size: 8, align: 0 }), RangeError);
  assert.throws(() => a.alloc({ size: 8, align: 0.5 }), RangeError);
  assert.throws(() => a.alloc({ size: 8, align: "8" } as never), TypeError);
  assert.throws(() => a.alloc({ size: -1, align: 8 }), RangeError);
  assert.throws(() => a.alloc({ size: 1.5, align: 8 }), RangeError);
  assert.throws(() => a.alloc({ size: 8n, align: 8 } as never), TypeError);
  assert.throws(() => a.alloc(null as never), TypeError);
  // size + align overflow (beyond 2^53): RangeError, not a wrapped-around small allocation
  assert.throws(() => a.alloc({ size: Number.MAX_SAFE_INTEGER - 10, align: 4096 }), RangeError);
  assert.throws(() => a.alloc({ size: 1, align: 2 ** 53 }), RangeError);
  assert.throws(() => new GlobalAllocator(py, "heap" as never), RangeError);
  assert.throws(() => new GlobalAllocator(py, 2 as never), TypeError);
  assert.equal(new GlobalAllocator(py).domain, "mem");
});

for (const domain of DOMAINS) {
  test(`${domain}: alloc honours every alignment 1…4096 for sizes 0…1 MiB, content survives realloc, no leak`, () => {
    const a = new GlobalAllocator(py, domain);
    const before = blocks();
    const live0 = a.liveBlocks;
    let seed = 0;
    for (const align of ALIGNS) {
      for (const size of SIZES) {
        const layout: Layout = { size, align };
        const p = a.alloc(layout);
        assert.ok(p !== 0n);
        assert.equal(p % BigInt(align), 0n, `alloc(${size}, ${align}) = 0x${p.toString(16)}`);
        if (size === 0) {
          assert.equal(p, BigInt(align), "size 0 is the dangling address `align`");
        } else {
          fill(py.view(p, size), ++seed);
        }
        // Grow and shrink: content up to the smaller size is kept, alignment too.
        const grown = size * 2 + 100;
        const q = a.realloc(p, layout, grown);
        assert.equal(q % BigInt(align), 0n);
        if (size > 0) assert.ok(check(py.view(q, grown), seed, size), `grow ${size}/${align}`);
        const small = Math.max(1, size >> 1);
        const r = a.realloc(q, { size: grown, align }, small);
        assert.equal(r % BigInt(align), 0n);
        if (size > 0) assert.ok(check(py.view(r, small), seed, Math.min(small, size)), `shrink ${size}/${align}`);
        a.dealloc(r, { size: small, align });
      }
    }
    assert.equal(a.liveBlocks, live0);
    assert.equal(blocks(), before, "allocated blocks back to where they were");
  });

  test(`${domain}: allocZeroed memory is zero, at every alignment`, () => {
    const a = new GlobalAllocator(py, domain);
    // Dirty some memory first so that zeroes are not a coincidence of fresh pages.
    const dirty = SIZES.filter((s) => s > 0).map((s) => {
      const p = a.alloc({ size: s, align: 1 });
      py.view(p, s).fill(0xa5);
      return [p, s] as const;
    });
    for (const [p, s] of dirty) a.dealloc(p, { size: s, align: 1 });
    for (const align of ALIGNS) {
      for (const size of SIZES) {
        const p = a.allocZeroed({ size, align });
        assert.equal(p % BigInt(align), 0n);
        if (size > 0) assert.ok(py.view(p, size).every((b) => b === 0), `allocZeroed(${size}, ${align})`);
        a.dealloc(p, { size, align });
      }
    }
  });
}

test("zero sizes follow Rust: a dangling aligned pointer, recognised by dealloc and realloc", () => {
  const a = new GlobalAllocator(py, "raw");
  const p = a.alloc({ size: 0, align: 64 });
  assert.equal(p, 64n);
  a.dealloc(p, { size: 0, align: 64 }); // no-op
  assert.throws(() => a.dealloc(128n, { size: 0, align: 64 }), RangeError);
  const q = a.realloc(p, { size: 0, align: 64 }, 100); // from size 0: a real allocation
  assert.equal(q % 64n, 0n);
  assert.ok(q !== 64n);
  const z = a.realloc(q, { size: 100, align: 64 }, 0); // to size 0: freed, dangling
  assert.equal(z, 64n);
  assert.throws(() => a.dealloc(q, { size: 100, align: 64 }), PymemError); // already freed by realloc(…, 0)
});

test("double free, foreign pointers and layout mismatches are refused without freeing anything", () => {
  const a = new GlobalAllocator(py, "mem");
  const p = a.alloc({ size: 100, align: 256 });
  assert.throws(() => a.dealloc(p, { size: 100, align: 128 }), RangeError);
  assert.throws(() => a.dealloc(p, { size: 99, align: 256 }), RangeError);
  assert.throws(() => a.realloc(p, { size: 100, align: 64 }, 10), RangeError);
  a.dealloc(p, { size: 100, align: 256 });
  assert.throws(
    () => a.dealloc(p, { size: 100, align: 256 }),
    (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE",
  );
  const other = py.mem.malloc(32);
  assert.throws(() => a.dealloc(other, { size: 32, align: 1 }), PymemError);
  py.mem.free(other);
  assert.throws(() => a.dealloc(0n, { size: 8, align: 8 }), PymemError);
  assert.throws(() => a.dealloc(-1n, { size: 8, align: 8 }), RangeError);
  assert.throws(() => a.dealloc(5 as never, { size: 8, align: 8 }), TypeError);
  // Another instance over the same domain shares the record of live blocks.
  const b = new GlobalAllocator(py, "mem");
  const q = a.alloc({ size: 10, align: 8 });
  b.dealloc(q, { size: 10, align: 8 });
});

test("a failed allocation throws ALLOCATION_FAILED and never writes through NULL", () => {
  for (const domain of DOMAINS) {
    const a = new GlobalAllocator(py, domain);
    const huge = { size: 2 ** 52, align: 4096 };
    for (const f of [() => a.alloc(huge), () => a.allocZeroed(huge), () => a.alloc({ size: 2 ** 52, align: 8 })]) {
      assert.throws(f, (e: unknown) => e instanceof PymemError && e.code === "ALLOCATION_FAILED");
    }
    // realloc failure leaves the old block intact and owned.
    const p = a.alloc({ size: 64, align: 32 });
    py.view(p, 64).fill(9);
    assert.throws(() => a.realloc(p, { size: 64, align: 32 }, 2 ** 52), PymemError);
    assert.ok(py.view(p, 64).every((x) => x === 9));
    a.dealloc(p, { size: 64, align: 32 });
  }
  assert.equal(py.eval("1 + 1"), 2);
});

test("the raw domain needs no GIL; mem/obj work inside withGIL too", () => {
  const raw = new GlobalAllocator(py, "raw");
  const p = raw.alloc({ size: 10, align: 2048 });
  raw.dealloc(p, { size: 10, align: 2048 });
  py.withGIL(() => {
    const obj = new GlobalAllocator(py, "obj");
    const q = obj.alloc({ size: 10, align: 2048 });
    obj.dealloc(q, { size: 10, align: 2048 });
  });
});

const canDetach = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === "function";

test("allocBuffer(): a view over the block, freed once; afterwards the memory is out of reach", () => {
  const a = new GlobalAllocator(py, "mem");
  const buf = a.allocBuffer({ size: 256, align: 4096 });
  assert.ok(buf instanceof PyMemBuffer);
  assert.equal(buf.address % 4096n, 0n);
  assert.equal(buf.bytes.length, 256);
  buf.bytes.set([1, 2, 3]);
  assert.deepEqual([...py.view(buf.address, 3)], [1, 2, 3]); // the same memory
  const early = buf.bytes.subarray(0, 16);
  assert.throws(() => a.dealloc(buf.address, { size: 256, align: 4096 }), PymemError); // only the buffer frees it
  buf.free();
  assert.equal(buf.freed, true);
  assert.throws(() => buf.bytes, PymemError);
  assert.throws(() => buf.address, PymemError);
  assert.throws(() => buf.free(), (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE");
  buf[Symbol.dispose](); // dispose after free: nothing to do
  if (canDetach) {
    // Bun, Deno, Node ≥ 21: views taken before free() are detached too.
    assert.equal(early.length, 0);
    assert.equal(early[0], undefined);
  }
});

test("buffers are disposable (using) and py.mem.buffer-style helpers work per domain", () => {
  const before = blocks();
  for (const d of DOMAINS) {
    const b = buffer(host, d, 100);
    b.bytes.fill(0x5a);
    assert.equal(b.domain, d);
    assert.ok(py.view(b.address, 100).every((x) => x === 0x5a));
    b[Symbol.dispose]();
    assert.equal(b.freed, true);
  }
  {
    using b = buffer(host, "obj", 48);
    b.bytes[0] = 1;
  }
  const empty = buffer(host, "raw", 0);
  assert.equal(empty.bytes.length, 0);
  empty.free();
  assert.throws(() => buffer(host, "raw", -1), RangeError);
  assert.throws(() => buffer(host, "nope" as never, 1), RangeError);
  assert.equal(blocks(), before);
});

const gc = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc;
test("a forgotten buffer is freed by the FinalizationRegistry backstop", async () => {
  const a = new GlobalAllocator(py, "raw");
  const live = a.liveBlocks;
  (() => {
    for (let i = 0; i < 50; i++) a.allocBuffer({ size: 1024, align: 64 }).bytes.fill(1);
  })();
  assert.equal(a.liveBlocks, live + 50);
  // JavaScriptCore scans the native stack conservatively, so a stale word can keep a buffer or two alive for a while;
  // the backstop is working when (almost) all of them go, and it is broken when they all stay.
  for (let i = 0; i < 100 && a.liveBlocks > live; i++) {
    gc!(true);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(a.liveBlocks - live <= 5, `${a.liveBlocks - live} of 50 forgotten buffers still allocated after 100 GCs`);
}, { skip: gc ? false : "needs a forced GC (Bun.gc); Deno and Node expose none without flags" });

test("closing Python frees and detaches the buffers still alive (last test: closes the interpreter)", () => {
  const b = buffer(host, "raw", 64);
  const m = buffer(host, "mem", 64);
  py.close();
  assert.equal(b.freed, true);
  assert.equal(m.freed, true);
  assert.throws(() => m.bytes, PymemError);
  assert.throws(() => new GlobalAllocator(py), PymemError);
});
