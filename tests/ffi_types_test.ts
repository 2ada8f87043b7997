/**
 * The FFI's types, both ways. At compile time: every bound C function's TypeScript signature comes from its entry in
 * ffi/symbols.ts, so each line of `misuse` below is an error that `tsc -p .` (part of `npm test`) must report; an
 * unused `@ts-expect-error` is itself an error, so a signature that stopped catching its misuse fails the build.
 * At run time: each type's values are what ffi/types.ts says they are on this runtime (through libc's own
 * functions: no Python needed), so the types describe what really crosses on Bun, Deno and Node.
 * @module
 */
import { loadBackend } from "../ffi/backend.ts";
import { callbacks, generated, libc as libcTable } from "../ffi/symbols.ts";
import type { LibcApi, PythonApi } from "../ffi/symbols.ts";
import type { FnDef, StructType } from "../ffi/types.ts";
import type { StructBytes } from "../ffi/types.ts";
import type { Native } from "../lib/core/native.ts";
import type { Symbols } from "../lib/core/hidden-symbols.ts";
import { assert, test } from "./_harness.ts";

/** Never called: it exists for tsc. Each `@ts-expect-error` marks one misuse the types must reject. */
export function misuse(api: PythonApi, libc: LibcApi, native: Native, symbols: Symbols): void {
  const c = new Uint8Array(8);
  // --- wrong argument count
  // @ts-expect-error: PyGILState_Ensure takes no arguments
  api.PyGILState_Ensure("wrong", 1, 2, 3);
  // @ts-expect-error: PyMem_RawMalloc takes a size
  api.PyMem_RawMalloc();
  // @ts-expect-error: PyMem_RawCalloc takes two sizes
  api.PyMem_RawCalloc(1, 2, 3);
  // --- wrong argument type
  // @ts-expect-error: a pointer is a bigint, not a number
  api.PyMem_RawFree(5);
  // @ts-expect-error: an i32 is a number (Deno refuses a bigint)
  api.PyGILState_Release(1n);
  // @ts-expect-error: a `buffer` is bytes, not a string (C needs a NUL-terminated copy: cstr)
  api.PyRun_StringFlags("1 + 1", 258, 0n, 0n, 0n);
  // @ts-expect-error: a `ptr` argument is an address, not a buffer
  api.Py_IncRef(c);
  // @ts-expect-error: a size is a number
  libc.write(1, c, 8n);
  // --- an optional symbol (null where the library lacks it) called without a check
  // @ts-expect-error: PyInitConfig_Create exists only on 3.14+
  api.PyInitConfig_Create();
  // @ts-expect-error: memfd_create only in glibc 2.27+
  libc.memfd_create(c, 0);
  // --- a result used as what it is not
  // @ts-expect-error: a pointer comes back as a bigint
  const n: number = api.PyMem_RawMalloc(8);
  // @ts-expect-error: an int comes back as a number, never equal to a bigint
  if (api.Py_IsInitialized() === 0n) return;
  // @ts-expect-error: a void function returns nothing
  const s: string = api.PyMem_RawFree(0n);
  // @ts-expect-error: a size (Py_ssize_t) comes back as a number
  const b: bigint = libc.write(1, c, 8);
  // @ts-expect-error: a struct comes back as its bytes, not decoded
  api.Py_InitializeFromConfig(0n)._type;
  const other: StructType = { struct: ["i32"] };
  // @ts-expect-error: a PyStatus's bytes are not another struct's
  const wrong: StructBytes<{ readonly struct: readonly ["u64"] }> = api.Py_InitializeFromConfig(0n);
  // --- functions called by address get the same typing
  // @ts-expect-error: the call loop takes five arguments
  native.fn(0n, generated.callLoop)(0n, 0n, 0n, 1);
  // @ts-expect-error: an allocator's malloc takes its ctx first
  native.fn(0n, callbacks.malloc)(64);
  // @ts-expect-error: a prototype written inline is typed too: ptr, not number
  native.fn(0n, { args: ["ptr"], ret: "void" })(1);
  // @ts-expect-error: a hidden function is null where the library lacks it
  symbols.function("_PyMem_init_obmalloc")(0n);
  // @ts-expect-error: only the hidden functions ffi/symbols.ts lists, each with its one prototype
  symbols.function("_PyNo_SuchFunction");
  // @ts-expect-error: a table entry must use the vocabulary
  const bad: FnDef = { args: ["int"], ret: "void" };
  void [n, s, b, other, wrong, bad];
}

/** What correct calls infer: these compile, and the assignments check the result types. */
export function correct(api: PythonApi, libc: LibcApi, native: Native, symbols: Symbols): void {
  const p: bigint = api.PyMem_RawMalloc(8);
  api.PyMem_RawFree(p);
  const state: number = api.PyGILState_Ensure();
  api.PyGILState_Release(state);
  const id: bigint = api.PyInterpreterState_GetID(0n);
  const status: Uint8Array = api.Py_InitializeFromConfig(0n);
  const create = api.PyInitConfig_Create;
  const config: bigint | null = create ? create() : null;
  const init = symbols.function("_PyMem_init_obmalloc");
  const ok: number | null = init ? init(0n) : null;
  const q: bigint = native.fn(0n, callbacks.malloc)(0n, 64);
  const read: number = libc.pread(3, null, 0, 0);
  void [id, status, config, ok, q, read];
}

// Functions of libc whose results cover every scalar type (not in ffi/symbols.ts: pymem calls none of them).
const probes = {
  getpid: libcTable.getpid, //                                   i32
  malloc: libcTable.malloc, //                                   ptr
  free: libcTable.free, //                                       void
  write: libcTable.write, //                                     isize (-1 here: fd -1)
  strtoll: { args: ["buffer", "ptr", "i32"], ret: "i64" }, //    long long strtoll(const char *, char **, int)
  strtoull: { args: ["buffer", "ptr", "i32"], ret: "u64" }, //   unsigned long long strtoull(const char *, char **, int)
  strtoul: { args: ["buffer", "ptr", "i32"], ret: "usize" }, //  unsigned long strtoul(const char *, char **, int)
  strtod: { args: ["buffer", "ptr"], ret: "f64" }, //            double strtod(const char *, char **)
  getenv: { args: ["buffer"], ret: "ptr" }, //                   char *getenv(const char *)
} as const satisfies Record<string, FnDef>;

test("each FFI type crosses as ffi/types.ts says, on this runtime", async () => {
  const backend = await loadBackend();
  const lib = backend.open("libc.so.6", probes);
  try {
    const f = lib.symbols;
    const c = (s: string) => new TextEncoder().encode(s + "\0");
    assert.equal(typeof f.getpid(), "number");
    const p = f.malloc(16);
    assert.equal(typeof p, "bigint");
    assert.ok(p !== 0n);
    assert.equal(f.free(p), undefined);
    assert.equal(f.getenv(c("PYMEM_NO_SUCH_VARIABLE")), 0n, "NULL is 0n");
    assert.equal(f.write(-1, c("x"), 1), -1);
    assert.equal(f.strtoll(c("-5"), 0n, 10), -5n, "an i64 is a bigint even when small");
    assert.equal(f.strtoll(c("9007199254740993"), 0n, 10), 9007199254740993n);
    assert.equal(f.strtoull(c("18446744073709551615"), 0n, 10), 18446744073709551615n);
    assert.equal(f.strtoll(c("7"), 0n, 10 as number), 7n);
    assert.equal(f.strtoul(c("4096"), 0n, 10), 4096, "a size is a number");
    assert.equal(typeof f.strtoul(c("18446744073709551615"), 0n, 10), "number", "a size is a number beyond 2^53 too");
    assert.equal(f.strtod(c("1.5"), 0n), 1.5);
    // `buffer` takes any view of bytes (the pointer is its first byte) and null.
    const bytes = new Uint8Array(24);
    bytes.set(c("xxxxxxxx12"));
    assert.equal(f.strtoull(bytes.subarray(8), 0n, 10), 12n);
    assert.equal(f.strtoull(new DataView(bytes.buffer, 8), 0n, 10), 12n);
    assert.equal(f.strtoull(new BigUint64Array(bytes.buffer).subarray(1), 0n, 10), 12n);
    assert.equal(f.write(-1, null, 0), -1);
  } finally {
    lib.close();
  }
});

test("a struct returned by value comes back as its bytes (through a function called by address)", async () => {
  // div_t div(int, int) returns { int quot; int rem; }: 8 bytes, in registers. bun:ffi cannot return a struct of
  // 16 bytes or less (see ffi/bun.ts), so there the adapter refuses the prototype instead.
  const backend = await loadBackend();
  const lib = backend.open("libc.so.6", { dlsym: libcTable.dlsym });
  try {
    const address = lib.symbols.dlsym(0n, new TextEncoder().encode("div\0"));
    assert.ok(address !== 0n);
    const def = { args: ["i32", "i32"], ret: { struct: ["i32", "i32"] } } as const;
    if (backend.name === "bun") {
      assert.throws(() => backend.fn(address, def), /cannot return a 8-byte struct/);
      return;
    }
    const bytes = backend.fn(address, def)(17, 5);
    assert.ok(bytes instanceof Uint8Array);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.deepEqual([bytes.byteLength, view.getInt32(0, true), view.getInt32(4, true)], [8, 3, 2]);
  } finally {
    lib.close();
  }
});
