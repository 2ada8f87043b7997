/**
 * bun:ffi adapter. Bun hands pointers around as numbers; pymem's `ptr` is declared as `u64` so that Bun's own
 * trampoline converts to and from bigint (cheaper than converting in JavaScript).
 *
 * A `usize` argument (a number in pymem's vocabulary, at most 2^53-1) is declared to Bun as `ptr`: the same 64-bit
 * integer register in the C ABI, and Bun converts a number to a pointer faster than to a `u64` (~4 ns less per
 * call, measured with a PyObject_Malloc/PyObject_Free pair in bench/call_cost.ts). `isize`/`usize` results are
 * `i64_fast`/`u64_fast`, which Bun returns as a bigint beyond 2^53: those few functions (none hot) convert to a
 * number, as Deno and koffi do, so a size is a number on every runtime.
 * @module
 */
import { CFunction, CString, dlopen, FFIType, toArrayBuffer } from "bun:ffi";
import {
  type Backend,
  type FnDef,
  type NativeFn,
  type NativeLibrary,
  type NativeSymbols,
  type NativeType,
  structSize,
  type UntypedFn,
} from "./types.ts";

const TYPES: Record<NativeType, FFIType> = {
  void: FFIType.void,
  i32: FFIType.i32,
  u32: FFIType.u32,
  i64: FFIType.i64,
  u64: FFIType.u64,
  isize: FFIType.i64_fast,
  usize: FFIType.u64_fast,
  f64: FFIType.f64,
  ptr: FFIType.u64,
  buffer: FFIType.ptr,
};

/**
 * bun:ffi cannot return a struct by value. On x86-64 SysV a struct larger than 16 bytes is returned through a
 * hidden pointer passed as the first argument (and echoed in RAX), so the call is declared with that pointer made
 * explicit. Other ABIs (aarch64 passes it in x8) cannot be expressed: callers get an error and use another path.
 */
function lower(def: FnDef): { args: FFIType[]; returns: FFIType; sret: number } {
  const args = def.args.map((t) => (t === "usize" ? FFIType.ptr : TYPES[t]));
  if (typeof def.ret === "string") return { args, returns: TYPES[def.ret], sret: 0 };
  const size = structSize(def.ret);
  if (process.arch !== "x64" || size <= 16) {
    throw new Error(`bun:ffi cannot return a ${size}-byte struct by value on ${process.arch}`);
  }
  return { args: [FFIType.ptr, ...args], returns: FFIType.ptr, sret: size };
}

/** The adapted callable: struct results as bytes, sizes as numbers. */
function adapt(f: UntypedFn, def: FnDef, sret: number): UntypedFn {
  if (sret) return withStructReturn(f, sret);
  if (def.ret === "isize" || def.ret === "usize") return (...args: unknown[]) => Number(f(...args));
  return f;
}

function withStructReturn(call: UntypedFn, size: number): UntypedFn {
  return (...args: unknown[]) => {
    const out = new Uint8Array(size);
    call(out, ...args);
    return out;
  };
}

export const backend: Backend = {
  name: "bun",
  open<S extends Record<string, FnDef>>(path: string, symbols: S): NativeLibrary<S> {
    const lowered: Record<string, { args: FFIType[]; returns: FFIType }> = {};
    const sret: Record<string, number> = {};
    const bound: Record<string, UntypedFn | null> = {};
    const optional: string[] = [];
    for (const [name, def] of Object.entries(symbols)) {
      // bun:ffi fails the whole dlopen on a missing symbol, so optional ones are bound one at a time below.
      if (def.optional) {
        optional.push(name);
        continue;
      }
      const l = lower(def);
      lowered[name] = { args: l.args, returns: l.returns };
      sret[name] = l.sret;
    }
    // bun:ffi refuses an empty symbol table: with only optional symbols, open the library for its handle alone.
    const lib = Object.keys(lowered).length ? dlopen(path, lowered) : { symbols: {}, close() {} };
    for (const [name, f] of Object.entries(lib.symbols)) {
      bound[name] = adapt(f as UntypedFn, symbols[name], sret[name]);
    }
    const extra: { close(): void }[] = [];
    for (const name of optional) {
      try {
        const l = lower(symbols[name]);
        const one = dlopen(path, { [name]: { args: l.args, returns: l.returns } });
        extra.push(one);
        const f = one.symbols[name] as UntypedFn;
        bound[name] = adapt(f, symbols[name], l.sret);
      } catch {
        bound[name] = null;
      }
    }
    return {
      symbols: bound as NativeSymbols<S>,
      close() {
        for (const e of extra) e.close();
        lib.close();
      },
    };
  },
  fn<const D extends FnDef>(address: bigint, def: D): NativeFn<D> {
    const l = lower(def);
    // deno-lint-ignore no-explicit-any
    const f = CFunction({ ptr: Number(address) as any, args: l.args, returns: l.returns }) as unknown as UntypedFn;
    return adapt(f, def, l.sret) as NativeFn<D>;
  },
  view(address: bigint, length: number): ArrayBuffer {
    if (length === 0) return new ArrayBuffer(0);
    // deno-lint-ignore no-explicit-any
    return toArrayBuffer(Number(address) as any, 0, length) as ArrayBuffer;
  },
  cstring(address: bigint): string {
    // deno-lint-ignore no-explicit-any
    return new CString(Number(address) as any).toString();
  },
};
