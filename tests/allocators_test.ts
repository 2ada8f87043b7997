import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { PymemError } from "../lib/mod.ts";
import {
  type AllocationTrace,
  type AllocatorFunctions,
  type DomainTrace,
  getAllocator,
  getArenaAllocator,
  nameAddress,
  setAllocator,
  setArenaAllocator,
  setupDebugHooks,
  traceAllocations,
} from "../lib/allocators/domain-allocators.ts";
import { bridgeCode, bucketFloor, HISTOGRAM_BUCKETS, hookCode } from "../lib/machine/codegen.ts";
import { hookPool, makeBridges, makeCallLoop } from "../lib/allocators/generated-functions.ts";
import { ElfFile } from "../lib/machine/elf.ts";
import { cstr } from "../lib/core/native.ts";
import { callbacks } from "../ffi/symbols.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const py = await python();
const host = hostOf(py);
const minor = py.version.minor;
const elf = ElfFile.open(py.library);
const hasSymtab = elf.hasSymtab;
elf.close();
const DOMAINS = ["raw", "mem", "obj"] as const;
const x64 = process.arch === "x64" && process.platform === "linux";

function empty(): DomainTrace {
  return { malloc: 0, calloc: 0, realloc: 0, free: 0, bytes: 0, histogram: [] };
}

function fns(a: AllocatorFunctions): bigint[] {
  return [a.ctx, a.malloc, a.calloc, a.realloc, a.free];
}

test("getAllocator() validates the domain before calling CPython", () => {
  assert.throws(() => getAllocator(host, "heap" as never), RangeError);
  assert.throws(() => getAllocator(host, 1 as never), TypeError);
  assert.throws(() => setAllocator(host, "x" as never, getAllocator(host, "raw")), RangeError);
});

test("getAllocator() names CPython's default allocators through the ELF tables", () => {
  const raw = getAllocator(host, "raw");
  const obj = getAllocator(host, "obj");
  const mem = getAllocator(host, "mem");
  for (const a of [raw, mem, obj]) {
    for (const f of ["malloc", "calloc", "realloc", "free"] as const) assert.ok(a[f] !== 0n, `${a.domain}.${f}`);
  }
  // A debug build (Py_DEBUG) starts with the debug hooks installed: each domain's ctx is its _PyMem_Debug entry.
  const hooked = py.allocatorName()?.endsWith("_debug");
  if (hooked) { for (const a of [raw, mem, obj]) assert.notEqual(a.ctx, 0n, a.domain); }
  else assert.equal(raw.ctx, 0n);
  if (!hasSymtab) {
    // A stripped libpython has no names for its file-local allocator functions: null, never a guess.
    assert.equal(raw.names.malloc, null);
    assert.equal(obj.names.malloc, null);
    return;
  }
  if (hooked) {
    const names = (a: typeof raw) => [a.names.ctx, a.names.malloc, a.names.calloc, a.names.realloc, a.names.free];
    assert.deepEqual(names(raw), [
      "_PyMem_Debug",
      "_PyMem_DebugRawMalloc",
      "_PyMem_DebugRawCalloc",
      "_PyMem_DebugRawRealloc",
      "_PyMem_DebugRawFree",
    ]);
    for (const [a, at] of [[mem, "+0x30"], [obj, "+0x60"]] as const) {
      assert.deepEqual(names(a), [
        `_PyMem_Debug${at}`,
        "_PyMem_DebugMalloc",
        "_PyMem_DebugCalloc",
        "_PyMem_DebugRealloc",
        "_PyMem_DebugFree",
      ]);
    }
    return;
  }
  assert.deepEqual(
    [raw.names.malloc, raw.names.calloc, raw.names.realloc, raw.names.free],
    ["_PyMem_RawMalloc", "_PyMem_RawCalloc", "_PyMem_RawRealloc", "_PyMem_RawFree"],
  );
  if (py.allocatorName() === "pymalloc") {
    for (const a of [mem, obj]) {
      assert.deepEqual(
        [a.names.malloc, a.names.calloc, a.names.realloc, a.names.free],
        ["_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyObject_Free"],
      );
    }
  }
});

test("getArenaAllocator() reports mmap-based arena functions", () => {
  const a = getArenaAllocator(host);
  assert.ok(a.alloc !== 0n && a.free !== 0n);
  if (hasSymtab) {
    const expected = minor >= 12
      ? ["_PyMem_ArenaAlloc", "_PyMem_ArenaFree"]
      : ["_PyObject_ArenaMmap", "_PyObject_ArenaMunmap"];
    assert.deepEqual([a.names.alloc, a.names.free], expected);
  }
  // Setting it back to itself is allowed and changes nothing.
  setArenaAllocator(host, a);
  const b = getArenaAllocator(host);
  assert.deepEqual([b.ctx, b.alloc, b.free], [a.ctx, a.alloc, a.free]);
  assert.throws(() => setArenaAllocator(host, { ctx: 0n, alloc: 0n, free: a.free }), RangeError);
  assert.throws(() => setArenaAllocator(host, { ctx: 0n, alloc: 1 as never, free: a.free }), TypeError);
});

test("setAllocator() writes exactly what it is given, and validates first", () => {
  for (const d of DOMAINS) {
    const a = getAllocator(host, d);
    setAllocator(host, d, a);
    assert.deepEqual(fns(getAllocator(host, d)), fns(a));
  }
  const raw = getAllocator(host, "raw");
  assert.throws(() => setAllocator(host, "raw", { ...raw, malloc: 0n }), RangeError);
  assert.throws(() => setAllocator(host, "raw", { ...raw, free: 5 as never }), TypeError);
  assert.throws(() => setAllocator(host, "raw", null as never), TypeError);
  assert.deepEqual(fns(getAllocator(host, "raw")), fns(raw));
});

test("setupDebugHooks() refuses a running interpreter without them (CPython would abort on the next free)", () => {
  assert.throws(() => setupDebugHooks(host), (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE");
  assert.equal(py.eval("sum(range(10))"), 45);
}, {
  skip: py.allocatorName()?.endsWith("_debug") &&
    `the running allocator (${py.allocatorName()}) has the debug hooks already`,
});

test("traceAllocations() counts ≥ 9900 object mallocs for 10000 floats and restores every domain exactly", () => {
  const before = DOMAINS.map((d) => fns(getAllocator(host, d)));
  const t = traceAllocations(host, () => py.run("x = [float(i) for i in range(10000)]"));
  // Up to 100 floats may come from the float free list (Py_floats_MAXFREELIST) instead of malloc.
  assert.ok(t.obj.malloc >= 10000 - 100, `obj.malloc = ${t.obj.malloc}`);
  assert.ok(t.obj.bytes >= 10000 * 24, `obj.bytes = ${t.obj.bytes}`);
  for (const d of DOMAINS) {
    const c = t[d];
    assert.equal(c.histogram.length, HISTOGRAM_BUCKETS);
    // Every malloc, calloc and realloc lands in exactly one bucket (free has no size).
    const sum = c.histogram.reduce((a, b) => a + b, 0);
    assert.equal(sum, c.malloc + c.calloc + c.realloc, `${d} histogram`);
  }
  // A float object is 24 bytes: bucket 4 ([16, 32)); the float free list may serve a few.
  assert.ok(t.obj.histogram[4]! >= 9900, `bucket 4 = ${t.obj.histogram[4]}`);
  assert.deepEqual(DOMAINS.map((d) => fns(getAllocator(host, d))), before);
  py.run("del x");
});

test("traceAllocations() restores the allocators when fn throws, and rethrows", () => {
  const before = DOMAINS.map((d) => fns(getAllocator(host, d)));
  assert.throws(() => traceAllocations(host, () => py.run("raise ValueError('inside')")), /inside/);
  assert.deepEqual(DOMAINS.map((d) => fns(getAllocator(host, d))), before);
  assert.throws(() => traceAllocations(host, 5 as never), TypeError);
});

test("traceAllocations() nests: the outer trace sees what the inner one forwarded", () => {
  const before = DOMAINS.map((d) => fns(getAllocator(host, d)));
  let inner: AllocationTrace = { raw: empty(), mem: empty(), obj: empty() };
  const outer = traceAllocations(host, () => {
    const hooked = getAllocator(host, "obj");
    assert.equal(hooked.names.malloc, "pymem:hook.malloc");
    inner = traceAllocations(host, () => py.run("y = [str(i) for i in range(2000)]"));
  });
  assert.ok(inner.obj.malloc >= 2000);
  assert.ok(outer.obj.malloc >= inner.obj.malloc);
  assert.deepEqual(DOMAINS.map((d) => fns(getAllocator(host, d))), before);
  py.run("del y");
});

test("traceAllocations() keeps the hooks installed until an async fn settles", async () => {
  const before = DOMAINS.map((d) => fns(getAllocator(host, d)));
  const pending = traceAllocations(host, async () => {
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(getAllocator(host, "obj").names.malloc, "pymem:hook.malloc");
    py.run("z = [str(i) + 'x' for i in range(3000)]");
  });
  assert.ok(pending instanceof Promise);
  const t = await pending;
  assert.ok(t.obj.malloc >= 3000, `obj.malloc = ${t.obj.malloc}`);
  assert.deepEqual(DOMAINS.map((d) => fns(getAllocator(host, d))), before);
  await assert.rejects(
    // deno-lint-ignore require-await
    traceAllocations(host, async () => {
      throw new Error("async boom");
    }),
    /async boom/,
  );
  assert.deepEqual(DOMAINS.map((d) => fns(getAllocator(host, d))), before);
  py.run("del z");
});

test("traceAllocations() counts calls from other Python threads, including raw calls made without the GIL", () => {
  const before = DOMAINS.map((d) => fns(getAllocator(host, d)));
  const t = traceAllocations(host, () =>
    py.run(
      "import threading\ndone = []\n" +
        "def work():\n    l = [bytes(700) for i in range(5000)]\n    done.append(len(l))\n" +
        "ts = [threading.Thread(target=work) for _ in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n",
    ));
  assert.equal(py.eval("len(done)"), 4);
  // bytes(700) exceeds pymalloc's 512-byte limit, so pymalloc hands each to the raw domain: 4 × 5000 raw mallocs.
  assert.ok(t.raw.malloc + t.raw.calloc >= 20000, `raw = ${t.raw.malloc} + ${t.raw.calloc}`);
  // bytes(n) zero-fills: PyObject_Calloc (3.8–3.11) or PyObject_Malloc + memset (newer).
  assert.ok(t.obj.malloc + t.obj.calloc >= 20000, `obj = ${t.obj.malloc} + ${t.obj.calloc}`);
  assert.deepEqual(DOMAINS.map((d) => fns(getAllocator(host, d))), before);
  py.run("del done, ts");
});

test("the generated hooks count exactly, bucket sizes by log2, and forward (native call loop)", () => {
  const raw = getAllocator(host, "raw");
  const pool = hookPool(host.native);
  const slot = pool.acquire(raw);
  try {
    const loop = makeCallLoop(host.native, "ctx");
    const sizes = [0, 1, 2, 3, 4, 7, 8, 1000, 1024, 65536, (1 << 20) + 1];
    for (const s of sizes) loop(slot.code.malloc, slot.code.free, raw.ctx, 1000, s);
    const c = pool.read(slot);
    assert.equal(c.malloc, 1000 * sizes.length);
    assert.equal(c.free, 1000 * sizes.length);
    assert.equal(c.bytes, 1000 * sizes.reduce((a, b) => a + b, 0));
    const expected = new Array(HISTOGRAM_BUCKETS).fill(0);
    for (const s of sizes) expected[s <= 1 ? 0 : Math.min(Math.floor(Math.log2(s)), 32)] += 1000;
    assert.deepEqual(c.histogram, expected);
    assert.equal(bucketFloor(0), 0);
    assert.equal(bucketFloor(10), 1024);
  } finally {
    pool.release(slot);
  }
}, { skip: x64 ? false : "call loops are generated for x86-64 only" });

test("a ctx-dropping bridge calls the plain function with the arguments shifted", () => {
  const n = host.native;
  const libc = n.libc;
  const h = libc.dlopen(cstr("libc.so.6"), 2);
  const sym = (s: string) => libc.dlsym(h, cstr(s));
  const b = makeBridges(n, {
    malloc: sym("malloc"),
    calloc: sym("calloc"),
    realloc: sym("realloc"),
    free: sym("free"),
  });
  const malloc = n.fn(b.malloc, callbacks.malloc);
  const calloc = n.fn(b.calloc, callbacks.calloc);
  const realloc = n.fn(b.realloc, callbacks.realloc);
  const free = n.fn(b.free, callbacks.free);
  const ctx = 0xdeadbeefn; // ignored by the bridges
  const p: bigint = malloc(ctx, 64);
  assert.ok(p !== 0n);
  n.bytes(p, 64).fill(7);
  const q: bigint = realloc(ctx, p, 100_000);
  assert.ok(n.bytes(q, 64).every((x) => x === 7));
  const z: bigint = calloc(ctx, 100, 10);
  assert.ok(n.bytes(z, 1000).every((x) => x === 0));
  // Size 0 becomes 1, as in CPython's own raw allocator: never NULL, even where realloc(p, 0) would free.
  const zero: bigint = malloc(ctx, 0);
  const zero2: bigint = realloc(ctx, zero, 0);
  const zero3: bigint = calloc(ctx, 0, 8);
  assert.ok(zero !== 0n && zero2 !== 0n && zero3 !== 0n);
  free(ctx, zero2);
  free(ctx, zero3);
  free(ctx, q);
  free(ctx, z);
  assert.match(nameAddress(py, b.malloc) ?? "", /^pymem:bridge→/);
}, { skip: x64 ? false : "bridges are only exercised on x86-64 Linux here" });

test("generated code matches the encodings checked with binutils (x86-64 and aarch64; aarch64 is not run here)", () => {
  const words = (b: Uint8Array, from: number, n: number) =>
    Array.from(
      { length: n },
      (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(from + 4 * i, true).toString(16).padStart(8, "0"),
    );
  const target = { malloc: 0x1111111111n, calloc: 0x2222222222n, realloc: 0x3333333333n, free: 0x4444444444n };
  // aarch64 bridges: malloc = bti c; cmp x1, #0; cinc x0, x1, eq; ldr x16, <literal at +56>; br x16
  const ab = bridgeCode("arm64", target);
  assert.deepEqual(words(ab, 0, 5), ["d503245f", "f100003f", "9a811420", "58000170", "d61f0200"]);
  assert.equal(new DataView(ab.buffer).getBigUint64(56, true), target.malloc);
  // calloc: mov x0, x1; mov x1, x2; cmp x0, #0; ccmp x1, #0, #4, ne; csinc x0, x0, xzr, ne; csinc x1, x1, xzr, ne
  assert.deepEqual(words(ab, 64, 9), [
    "d503245f",
    "aa0103e0",
    "aa0203e1",
    "f100001f",
    "fa401824",
    "9a9f1400",
    "9a9f1421",
    "580000f0",
    "d61f0200",
  ]);
  // realloc: mov x0, x1; cmp x2, #0; cinc x1, x2, eq
  assert.deepEqual(words(ab, 128, 6), ["d503245f", "aa0103e0", "f100005f", "9a821441", "58000150", "d61f0200"]);
  assert.equal(new DataView(ab.buffer).getBigUint64(192 + 56, true), target.free);
  // aarch64 malloc hook, word for word as `aarch64-linux-gnu-objdump -D -b binary -maarch64` printed it.
  const ah = hookCode("arm64", 0x7f0000001000n);
  assert.deepEqual(words(ah, 0, 28), [
    "d503245f",
    "580003b0",
    "91010211",
    "c85f7e29",
    "91000529",
    "c80a7e29",
    "35ffffaa",
    "91018211",
    "c85f7e29",
    "8b010129",
    "c80a7e29",
    "35ffffaa",
    "aa0103eb",
    "b240016b",
    "dac0116b",
    "d28007ec",
    "cb0b018b",
    "d280040c",
    "eb0c017f",
    "9a8b818b",
    "91020211",
    "8b0b0e31",
    "c85f7e29",
    "91000529",
    "c80a7e29",
    "35ffffaa",
    "f9400210",
    "d61f0200",
  ]);
  assert.equal(new DataView(ah.buffer).getBigUint64(120, true), 0x7f0000001000n);
  assert.deepEqual(words(ah, 384 + 24, 4), ["35ffffaa", "f9400e10", "d61f0200", "00000000"]); // free → old free
  // x86-64 malloc hook (objdump -M intel): endbr64; movabs r11, slot+64; lock inc [r11]; lock add [r11+0x20], rsi; …
  const xh = hookCode("x64", 0x7f0000001000n);
  assert.deepEqual([...xh.subarray(0, 24)], [
    0xf3,
    0x0f,
    0x1e,
    0xfa,
    0x49,
    0xbb,
    0x40,
    0x10,
    0x00,
    0x00,
    0x00,
    0x7f,
    0x00,
    0x00,
    0xf0,
    0x49,
    0xff,
    0x43,
    0x00,
    0xf0,
    0x49,
    0x01,
    0x73,
    0x20,
  ]);
  assert.deepEqual([...xh.subarray(0x35, 0x39)], [0x41, 0xff, 0x63, 0xc0]); // jmp [r11-0x40]
});
