/**
 * The runtime adapters (ffi/bun.ts, deno.ts, koffi.ts) keep one calling convention (ffi/types.ts): each scalar type
 * at its limits, NULL, 64-bit integers as bigint, sizes as numbers, buffers shared with C, stack arguments, structs
 * returned by value. The model is Bun's own FFI tests: values go through tiny identity functions and must come back
 * exactly. The functions are x86-64 machine code mapped read-execute (lib/machine/exec-pages.ts, as pymem maps its
 * own generated code), called through each runtime's `fn(address, def)`: no C compiler, no Python.
 *
 * Each function's Intel-syntax source sits beside its bytes; where GNU as is installed, the last test assembles the
 * sources and compares (tests/machine_code_test.ts covers the code in lib/ only).
 *
 * Where the adapters truly differ, the test asserts what each one does (callers must not depend on it):
 * - a `void` result: undefined, but null under Deno (fn() goes through Deno's UnsafeFnPointer);
 * - a struct of 16 bytes or less returned by value: Deno and koffi return its bytes; bun:ffi cannot (an Error at
 *   fn(), ffi/bun.ts), so pymem only binds such functions where another path exists;
 * - a struct over 16 bytes: every adapter returns its bytes (Bun through the hidden result pointer of x86-64 SysV).
 * @module
 */
import process from "node:process";
import { loadBackend } from "../ffi/backend.ts";
import { libc } from "../ffi/symbols.ts";
import type { FnDef, NativeType } from "../ffi/types.ts";
import { mapCode } from "../lib/machine/exec-pages.ts";
import { assembleText, toolchain } from "../tools/machine-code.ts";
import { assert, test } from "./_harness.ts";

/** [Intel-syntax source given to GNU as, its bytes]. */
type Code = readonly [string[], string];
const CODE = {
  // The first integer argument back (rdi → rax): every integer and pointer type.
  int: [["mov rax, rdi", "ret"], "48 89 f8 c3"],
  // The first f64 argument back: it arrives in xmm0, where the result goes.
  f64: [["ret"], "c3"],
  // The second f64 argument (xmm1), with integers between them in the integer registers.
  f64Second: [["movapd xmm0, xmm1", "ret"], "66 0f 28 c1 c3"],
  // The 8th integer argument: the 7th and 8th are on the stack, above the return address.
  int8th: [["mov rax, QWORD PTR [rsp+16]", "ret"], "48 8b 44 24 10 c3"],
  // A u32/i32 result whose register's upper half holds garbage: only eax is the result.
  int32Dirty: [
    ["mov eax, edi", "movabs rcx, 0xdeadbeef00000000", "or rax, rcx", "ret"],
    "89 f8 48 b9 00 00 00 00 ef be ad de 48 09 c8 c3",
  ],
  // The 8 bytes at a buffer's start, read by C.
  load: [["mov rax, QWORD PTR [rdi]", "ret"], "48 8b 07 c3"],
  // C writes the second argument into the buffer.
  store: [["mov QWORD PTR [rdi], rsi", "ret"], "48 89 37 c3"],
  // struct { u64 a, b } in rax:rdx, from the first two arguments.
  pair: [["mov rax, rdi", "mov rdx, rsi", "ret"], "48 89 f8 48 89 f2 c3"],
  // struct { u64 a, b, c } through the hidden result pointer (rdi, echoed in rax); the arguments start at rsi.
  triple: [
    ["mov rax, rdi", "mov QWORD PTR [rdi], rsi", "mov QWORD PTR [rdi+8], rdx", "mov QWORD PTR [rdi+16], rcx", "ret"],
    "48 89 f8 48 89 37 48 89 57 08 48 89 4f 10 c3",
  ],
} as const satisfies Record<string, Code>;

const x64Linux = process.arch === "x64" && process.platform === "linux";
const skip = !x64Linux && `the identity functions are x86-64 Linux code (this is ${process.platform}/${process.arch})`;

const backend = await loadBackend();
const bytesOf = (hex: string) => Uint8Array.from(hex.split(" "), (h) => parseInt(h, 16));
const address = (() => {
  if (!x64Linux) return undefined;
  const c = backend.open("libc.so.6", { mmap: libc.mmap, mprotect: libc.mprotect, munmap: libc.munmap }).symbols;
  const host = { libc: c, bytes: (p: bigint, n: number) => new Uint8Array(backend.view(p, n)) };
  const all = Object.fromEntries(Object.entries(CODE).map(([name, [, hex]]) => [name, mapCode(host, bytesOf(hex))]));
  return (name: keyof typeof CODE) => all[name];
})();
// deno-lint-ignore no-explicit-any
const bind = (name: keyof typeof CODE, def: FnDef): (...args: any[]) => any => backend.fn(address!(name), def);
const identity = (t: NativeType) => bind(t === "f64" ? "f64" : "int", { args: [t], ret: t });

const I64_MIN = -(2n ** 63n), I64_MAX = 2n ** 63n - 1n, U64_MAX = 2n ** 64n - 1n;

test("i32 and u32: limits and zero, as numbers, in and out", () => {
  const i32 = identity("i32"), u32 = identity("u32");
  for (const v of [0, 1, -1, -(2 ** 31), 2 ** 31 - 1, 0x1234_5678]) assert.equal(i32(v), v, `i32 ${v}`);
  for (const v of [0, 1, 2 ** 31, 2 ** 32 - 1, 0xdead_beef]) assert.equal(u32(v), v, `u32 ${v}`);
  assert.equal(typeof i32(-1), "number");
  assert.equal(typeof u32(2 ** 32 - 1), "number");
}, { skip });

test("i32 and u32 results come from the low 32 bits only, sign- or zero-extended", () => {
  const i32 = bind("int32Dirty", { args: ["i32"], ret: "i32" });
  const u32 = bind("int32Dirty", { args: ["u32"], ret: "u32" });
  for (const v of [0, -1, -(2 ** 31), 2 ** 31 - 1, 42]) assert.equal(i32(v), v, `i32 ${v}`);
  for (const v of [0, 2 ** 32 - 1, 2 ** 31, 42]) assert.equal(u32(v), v, `u32 ${v}`);
}, { skip });

test("i64 and u64: limits as bigint, in and out; small numbers are accepted as input", () => {
  const i64 = identity("i64"), u64 = identity("u64");
  for (const v of [0n, 1n, -1n, I64_MIN, I64_MAX, -(2n ** 53n) - 1n, 2n ** 53n + 1n]) {
    assert.equal(i64(v), v, `i64 ${v}`);
  }
  for (const v of [0n, 1n, 2n ** 63n, U64_MAX, 2n ** 53n + 1n, 0xdead_beef_cafe_f00dn]) {
    assert.equal(u64(v), v, `u64 ${v}`);
  }
  // Results are bigint even when they would fit a number (koffi's numbers are widened, ffi/koffi.ts).
  assert.equal(typeof i64(5n), "bigint");
  assert.equal(typeof u64(0n), "bigint");
  // A safe-integer number is converted by every runtime.
  assert.equal(i64(-7), -7n);
  assert.equal(u64(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER));
}, { skip });

test("isize and usize (Py_ssize_t, size_t): numbers over the safe-integer range, in and out", () => {
  const isize = identity("isize"), usize = identity("usize");
  for (const v of [0, 1, -1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 2 ** 32, -(2 ** 32)]) {
    assert.equal(isize(v), v, `isize ${v}`);
  }
  for (const v of [0, 1, 2 ** 32, 2 ** 52, Number.MAX_SAFE_INTEGER - 1]) assert.equal(usize(v), v, `usize ${v}`);
  assert.equal(typeof isize(-1), "number");
  assert.equal(typeof usize(2 ** 40), "number");
  // Bun's u64_fast gives a bigint from 2^53 − 1 up; ffi/bun.ts turns a size back into a number, as Deno and koffi give.
  const top = Number.MAX_SAFE_INTEGER;
  assert.equal(usize(top), top);
}, { skip });

test("f64: limits, NaN, ±Infinity and -0 come back bit for bit", () => {
  const f64 = identity("f64");
  for (
    const v of [
      0,
      -0,
      1.5,
      -1e-300,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.EPSILON,
      Infinity,
      -Infinity,
      NaN,
      Math.PI,
    ]
  ) {
    assert.ok(Object.is(f64(v), v), `f64 ${Object.is(v, -0) ? "-0" : v} came back as ${f64(v)}`);
  }
}, { skip });

test("ptr: NULL is 0n (never null), any 64-bit address is a bigint, in and out", () => {
  const ptr = identity("ptr");
  assert.equal(ptr(0n), 0n);
  for (const v of [1n, 0x7fff_ffff_f000n, 0xffff_8000_0000_0000n, U64_MAX, address!("int")]) assert.equal(ptr(v), v);
  // The address of generated code is one too: the function returns its own entry point.
  assert.equal(typeof ptr(0n), "bigint");
}, { skip });

test("void results are nothing: undefined, or null under Deno (its UnsafeFnPointer's)", () => {
  const store = bind("store", { args: ["buffer", "u64"], ret: "void" });
  assert.equal(store(new BigUint64Array(1), 1n), backend.name === "deno" ? null : undefined);
}, { skip });

test("buffers: C reads and writes the JavaScript bytes in place, from the view's own offset", () => {
  const load = bind("load", { args: ["buffer"], ret: "u64" });
  const store = bind("store", { args: ["buffer", "u64"], ret: "void" });
  const words = new BigUint64Array([0x0102_0304_0506_0708n, U64_MAX, 0n]);
  assert.equal(load(words), 0x0102_0304_0506_0708n);
  // A view into the middle of a larger buffer passes its own start, not the ArrayBuffer's.
  assert.equal(load(words.subarray(1)), U64_MAX);
  const bytes = new Uint8Array(words.buffer);
  assert.equal(load(bytes.subarray(3)), 0xff_ff_ff_01_02_03_04_05n);
  store(words.subarray(2), 0xfeed_face_dead_beefn);
  assert.equal(words[2], 0xfeed_face_dead_beefn);
  store(new Uint8Array(words.buffer, 8, 8), 42n);
  assert.deepEqual([...words], [0x0102_0304_0506_0708n, 42n, 0xfeed_face_dead_beefn]);
  // Other element types pass the same way: a Float64Array's bits, an Int32Array written by C.
  assert.equal(load(new Float64Array([1])), 0x3ff0_0000_0000_0000n);
  const ints = new Int32Array(2);
  store(ints, 0xffff_fffe_0000_0007n);
  assert.deepEqual([...ints], [7, -2]);
}, { skip });

test("arguments past the sixth go on the stack; f64 and integers use their own registers", () => {
  const eighth = bind("int8th", { args: ["u64", "i32", "ptr", "usize", "i64", "u32", "isize", "u64"], ret: "u64" });
  assert.equal(eighth(1n, -2, 3n, 4, -5n, 6, -7, U64_MAX), U64_MAX);
  assert.equal(eighth(0n, 0, 0n, 0, 0n, 0, 0, 0x8000_0000_0000_0001n), 0x8000_0000_0000_0001n);
  const second = bind("f64Second", { args: ["i64", "f64", "ptr", "f64", "u32"], ret: "f64" });
  assert.ok(Object.is(second(I64_MIN, 1.25, U64_MAX, -0, 7), -0));
  assert.equal(second(1n, NaN, 0n, -Infinity, 0), -Infinity);
}, { skip });

test("a struct over 16 bytes returned by value comes back as its bytes (every adapter)", () => {
  const triple = bind("triple", { args: ["u64", "u64", "u64"], ret: { struct: ["u64", "u64", "u64"] } });
  const out = triple(1n, U64_MAX, 0x1122_3344_5566_7788n);
  assert.ok(out instanceof Uint8Array);
  assert.equal(out.length, 24);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  assert.deepEqual([v.getBigUint64(0, true), v.getBigUint64(8, true), v.getBigUint64(16, true)], [
    1n,
    U64_MAX,
    0x1122_3344_5566_7788n,
  ]);
}, { skip });

test("a 16-byte struct returned in registers: its bytes under Deno and koffi; bun:ffi refuses it at fn()", () => {
  const def: FnDef = { args: ["u64", "u64"], ret: { struct: ["u64", "u64"] } };
  if (backend.name === "bun") {
    assert.throws(() => bind("pair", def), /cannot return a 16-byte struct by value/);
    return;
  }
  const out = bind("pair", def)(U64_MAX, 0x0102_0304_0506_0708n);
  assert.ok(out instanceof Uint8Array);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  assert.deepEqual([out.length, v.getBigUint64(0, true), v.getBigUint64(8, true)], [
    16,
    U64_MAX,
    0x0102_0304_0506_0708n,
  ]);
}, { skip });

const gas = toolchain("x86_64");
test("the identity functions are what GNU as makes of their sources", () => {
  if (typeof gas === "string") return;
  for (const [name, [source, hex]] of Object.entries(CODE)) {
    const made = assembleText(gas, `.intel_syntax noprefix\n.text\n${source.join("\n")}\n`);
    assert.equal([...made].map((b) => b.toString(16).padStart(2, "0")).join(" "), hex, name);
  }
}, { skip: typeof gas === "string" ? gas : false });
