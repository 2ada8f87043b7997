/**
 * koffi 3 adapter (Node). koffi already uses bigint for pointers, but returns NULL as `null` and 64-bit integers
 * as numbers when they fit; results are normalised to pymem's vocabulary here.
 * @module
 */
import { fstatSync, openSync } from "node:fs";
import process from "node:process";
import koffi from "koffi";
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

const TYPES: Record<NativeType, string> = {
  void: "void",
  i32: "int32_t",
  u32: "uint32_t",
  i64: "int64_t",
  u64: "uint64_t",
  isize: "intptr_t",
  usize: "size_t",
  f64: "double",
  ptr: "void *",
  buffer: "void *",
};

/**
 * Put /dev/null where fd 0, 1 or 2 was closed (Python code may close them). koffi (3.3.4) syncs stdout and stderr
 * in an atexit handler and reports a failure on stderr under a lock it already holds: with fd 2 closed, Node never
 * exits. Run on Node's "exit" event, before the native atexit handlers, for every program that loads this adapter.
 */
export function refillStandardFds(): void {
  for (let fd = 0; fd <= 2; fd++) {
    try {
      fstatSync(fd);
    } catch {
      try {
        // open() returns the lowest free descriptor: this one, or a lower closed one (refilled first by the loop).
        openSync("/dev/null", fd === 0 ? "r" : "w");
      } catch { /* nothing more to do on the way out */ }
    }
  }
}
process.on("exit", refillStandardFds);

let structCount = 0;
function returnType(def: FnDef): string | ReturnType<typeof koffi.struct> {
  if (typeof def.ret === "string") return TYPES[def.ret];
  const fields: Record<string, string> = {};
  (def.ret as StructType).struct.forEach((t, i) => (fields[`f${i}`] = TYPES[t]));
  return koffi.struct(`pymem_struct_${structCount++}`, fields);
}

/** Wrap a koffi function so its result follows pymem's conventions (fixed arity keeps the hot path cheap). */
function adapt(f: UntypedFn, def: FnDef): UntypedFn {
  const ret = def.ret;
  if (ret === "ptr") {
    switch (def.args.length) {
      case 0:
        return () => f() ?? 0n;
      case 1:
        return (a: unknown) => f(a) ?? 0n;
      case 2:
        return (a: unknown, b: unknown) => f(a, b) ?? 0n;
      default:
        return (...a: unknown[]) => f(...a) ?? 0n;
    }
  }
  if (ret === "i64" || ret === "u64") return (...a: unknown[]) => BigInt(f(...a));
  if (ret === "isize" || ret === "usize") return (...a: unknown[]) => Number(f(...a));
  if (typeof ret !== "string") {
    // koffi decodes a returned struct into an object; hand back its bytes like the other adapters.
    const type = returnType(def);
    return (...a: unknown[]) => {
      const out = new Uint8Array(koffi.sizeof(type));
      koffi.encode(out, type, f(...a));
      return out;
    };
  }
  return f;
}

export const backend: Backend = {
  name: "koffi",
  // koffi switches to its own preallocated stack for synchronous calls (koffi.config().sync_stack_size).
  get callStackSize(): number | undefined {
    const size = (koffi.config() as { sync_stack_size?: number }).sync_stack_size;
    return typeof size === "number" && size > 0 ? size : undefined;
  },
  open<S extends Record<string, FnDef>>(path: string, symbols: S): NativeLibrary<S> {
    const lib = koffi.load(path);
    const bound: Record<string, UntypedFn | null> = {};
    for (const [name, def] of Object.entries(symbols)) {
      try {
        bound[name] = adapt(lib.func(name, returnType(def), def.args.map((t) => TYPES[t])), def);
      } catch (e) {
        if (!def.optional) throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
        bound[name] = null;
      }
    }
    return { symbols: bound as NativeSymbols<S>, close: () => lib.unload() };
  },
  fn<const D extends FnDef>(address: bigint, def: D): NativeFn<D> {
    const proto = koffi.proto(returnType(def), def.args.map((t) => TYPES[t]));
    return adapt(koffi.decode(address, proto), def) as NativeFn<D>;
  },
  view(address: bigint, length: number): ArrayBuffer {
    if (length === 0) return new ArrayBuffer(0);
    return koffi.view(address, length);
  },
  cstring(address: bigint): string {
    return koffi.decode.string(address);
  },
  errno(): number {
    return koffi.errno();
  },
};
