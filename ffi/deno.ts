/**
 * Deno.dlopen adapter. Pointers are declared as `u64` so they cross as bigint with no PointerObject wrapping;
 * Py_ssize_t / size_t results, which Deno returns as bigint, are narrowed to numbers.
 * @module
 */
import type { Backend, FnDef, NativeFn, NativeLibrary, NativeType, StructType } from "./types.ts";

// The subset of Deno's FFI API this adapter uses, typed here so the file type-checks outside Deno too.
type DenoType = string | { struct: DenoType[] };
interface DenoDef { parameters: DenoType[]; result: DenoType; optional?: boolean }
interface DenoFFI {
  dlopen(path: string, defs: Record<string, DenoDef>): { symbols: Record<string, NativeFn | null>; close(): void };
  UnsafePointer: { create(value: bigint): unknown };
  UnsafeFnPointer: new (pointer: unknown, def: DenoDef) => { call: NativeFn };
  UnsafePointerView: {
    getArrayBuffer(pointer: unknown, length: number): ArrayBuffer;
    getCString(pointer: unknown): string;
  };
}
const Deno = (globalThis as unknown as { Deno: DenoFFI }).Deno;

const TYPES: Record<NativeType, string> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  isize: "isize",
  usize: "usize",
  f64: "f64",
  ptr: "u64",
  buffer: "buffer",
};

function lower(def: FnDef): DenoDef {
  const result: DenoType = typeof def.ret === "string"
    ? TYPES[def.ret]
    : { struct: (def.ret as StructType).struct.map((t) => TYPES[t]) };
  return { parameters: def.args.map((t) => TYPES[t]), result, optional: def.optional };
}

/** Deno returns 64-bit sizes as bigint; pymem promises numbers for isize/usize. */
function adapt(f: NativeFn, def: FnDef): NativeFn {
  if (def.ret !== "isize" && def.ret !== "usize") return f;
  return (...args: unknown[]) => Number(f(...args));
}

export const backend: Backend = {
  name: "deno",
  open<S extends Record<string, FnDef>>(path: string, symbols: S): NativeLibrary<S> {
    const defs: Record<string, DenoDef> = {};
    for (const [name, def] of Object.entries(symbols)) defs[name] = lower(def);
    const lib = Deno.dlopen(path, defs);
    const bound: Record<string, NativeFn | null> = {};
    for (const [name, def] of Object.entries(symbols)) {
      const f = lib.symbols[name];
      bound[name] = f ? adapt(f, def) : null;
    }
    return { symbols: bound as NativeLibrary<S>["symbols"], close: () => lib.close() };
  },
  fn(address: bigint, def: FnDef): NativeFn {
    const p = new Deno.UnsafeFnPointer(Deno.UnsafePointer.create(address), lower(def));
    return adapt((...args: unknown[]) => p.call(...args), def);
  },
  view(address: bigint, length: number): ArrayBuffer {
    if (length === 0) return new ArrayBuffer(0);
    return Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(address), length);
  },
  cstring(address: bigint): string {
    return Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(address));
  },
};
