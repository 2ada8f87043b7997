/**
 * Deno.dlopen adapter. Pointers are declared as `u64` so they cross as bigint with no PointerObject wrapping;
 * Py_ssize_t / size_t results, which Deno returns as bigint, are narrowed to numbers.
 *
 * Deno's fast call path (V8 fast API calls, ~10 ns a call) takes a 64-bit parameter only as a bigint: a number
 * passed for a `usize` falls to the slow path (~150-200 ns a call, bench/call_cost.ts). pymem's vocabulary has
 * `usize`/`isize` arguments as numbers, so each symbol with such parameters gets a wrapper of its exact arity
 * that widens them with `BigInt()` (cheap for the small integers sizes are) before the call.
 * @module
 */
import type {
  Backend,
  FnDef,
  NativeFn,
  NativeLibrary,
  NativeSymbols,
  NativeType,
  StructType,
  UntypedFn,
} from "./types.ts";

// The subset of Deno's FFI API this adapter uses, typed here so the file type-checks outside Deno too.
type DenoType = string | { struct: DenoType[] };
interface DenoDef {
  parameters: DenoType[];
  result: DenoType;
  optional?: boolean;
}
interface DenoFFI {
  dlopen(path: string, defs: Record<string, DenoDef>): { symbols: Record<string, UntypedFn | null>; close(): void };
  UnsafePointer: { create(value: bigint): unknown };
  UnsafeFnPointer: new (pointer: unknown, def: DenoDef) => { call: UntypedFn };
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

const isSize = (t: NativeType) => t === "usize" || t === "isize";

/**
 * Number sizes in, as bigint, so the call stays on the fast path. Fixed-arity closures: a rest-parameter wrapper
 * would cost more than the call. Any arity works; 1-3 cover every hot symbol.
 */
function widen(f: UntypedFn, args: readonly NativeType[]): UntypedFn {
  const w = args.map(isSize);
  if (!w.some(Boolean)) return f;
  const B = (x: unknown) => BigInt(x as number);
  switch (args.length) {
    case 1:
      return (a: unknown) => f(B(a));
    case 2:
      return w[0] && w[1]
        ? (a: unknown, b: unknown) => f(B(a), B(b))
        : w[0]
        ? (a: unknown, b: unknown) => f(B(a), b)
        : (a: unknown, b: unknown) => f(a, B(b));
    case 3:
      return (a: unknown, b: unknown, c: unknown) => f(w[0] ? B(a) : a, w[1] ? B(b) : b, w[2] ? B(c) : c);
    default:
      return (...a: unknown[]) => f(...a.map((x, i) => (w[i] ? B(x) : x)));
  }
}

/** Deno returns 64-bit sizes as bigint; pymem promises numbers for isize/usize. */
function adapt(f: UntypedFn, def: FnDef): UntypedFn {
  const g = widen(f, def.args);
  if (def.ret !== "isize" && def.ret !== "usize") return g;
  return (...args: unknown[]) => Number(g(...args));
}

export const backend: Backend = {
  name: "deno",
  open<S extends Record<string, FnDef>>(path: string, symbols: S): NativeLibrary<S> {
    const defs: Record<string, DenoDef> = {};
    for (const [name, def] of Object.entries(symbols)) defs[name] = lower(def);
    const lib = Deno.dlopen(path, defs);
    const bound: Record<string, UntypedFn | null> = {};
    for (const [name, def] of Object.entries(symbols)) {
      const f = lib.symbols[name];
      bound[name] = f ? adapt(f, def) : null;
    }
    return { symbols: bound as NativeSymbols<S>, close: () => lib.close() };
  },
  fn<const D extends FnDef>(address: bigint, def: D): NativeFn<D> {
    const p = new Deno.UnsafeFnPointer(Deno.UnsafePointer.create(address), lower(def));
    return adapt((...args: unknown[]) => p.call(...args), def) as NativeFn<D>;
  },
  view(address: bigint, length: number): ArrayBuffer {
    if (length === 0) return new ArrayBuffer(0);
    return Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(address), length);
  },
  cstring(address: bigint): string {
    return Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(address));
  },
};
