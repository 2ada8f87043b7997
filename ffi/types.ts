/**
 * The neutral FFI vocabulary shared by the symbol table and the three runtime adapters.
 *
 * Every adapter maps these types one-to-one onto its runtime's own (bun:ffi, Deno.dlopen, koffi) and normalises
 * values at the boundary, so the rest of pymem sees one calling convention, and each bound function's TypeScript
 * signature is derived from its `FnDef` (`NativeFn<D>`): a wrong argument count or type is a compile error.
 * What each type is in JavaScript (checked on Bun 1.4, Deno 2.9 and koffi 3.3 through libc's own functions):
 * - `ptr`: an address, a `bigint` in and out (`0n` is NULL). All three also accept a number, which cannot hold
 *   every address, so pymem's type does not;
 * - `i64` / `u64`: a `bigint` out; in, a `bigint` or a number (all three convert an integral number);
 * - `isize` / `usize` (Py_ssize_t, size_t): a `number` in and out. Beyond 2^53 Deno and koffi round and Bun would
 *   return a bigint; the Bun adapter converts too, so a result is a number everywhere (pymem never needs more);
 * - `i32` / `u32` / `f64`: a `number` (Deno refuses a bigint for an `i32`);
 * - `buffer`: argument only, a TypedArray, DataView or ArrayBuffer whose bytes C reads or writes during the call
 *   (never kept by C), or `null`; Deno refuses a number or bigint here;
 * - a struct returned by value is described by its fields and comes back as the struct's bytes (`StructBytes`);
 *   bun:ffi has no struct results, so ffi/bun.ts binds only the x86-64 ones over 16 bytes (through the hidden result
 *   pointer) and refuses the others when binding.
 * @module
 */

export type NativeType =
  | "void"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "isize"
  | "usize"
  | "f64"
  | "ptr"
  | "buffer";

/** A struct returned by value: its fields in order, with natural C alignment (x86-64 / aarch64 LP64). */
export interface StructType {
  readonly struct: readonly NativeType[];
}

/** One C function: argument types, result type, and whether the library may lack it. */
export interface FnDef {
  readonly args: readonly NativeType[];
  readonly ret: NativeType | StructType;
  /** The symbol exists only in some library versions; a missing one is `null` instead of a load error. */
  readonly optional?: boolean;
}

/** What a bound function accepts for each argument type (see the module comment). */
export interface ArgValue {
  void: never;
  i32: number;
  u32: number;
  i64: bigint | number;
  u64: bigint | number;
  isize: number;
  usize: number;
  f64: number;
  ptr: bigint;
  buffer: ArrayBufferView | ArrayBuffer | null;
}

/** What a bound function returns for each result type (see the module comment). */
export interface RetValue {
  void: undefined;
  i32: number;
  u32: number;
  i64: bigint;
  u64: bigint;
  isize: number;
  usize: number;
  f64: number;
  ptr: bigint;
  buffer: never;
}

declare const structTag: unique symbol;
/** The bytes of a struct of type `S` returned by value (a fresh copy, owned by the caller). */
export type StructBytes<S extends StructType = StructType> = Uint8Array<ArrayBuffer> & { readonly [structTag]: S };

/** The arguments of a function of type `D`, as a tuple: its length and each element's type come from `D.args`. */
export type NativeArgs<D extends FnDef> = ArgsOf<D["args"]>;
type ArgsOf<A extends readonly NativeType[]> = { -readonly [I in keyof A]: ArgValue[A[I] & NativeType] };

/** The result of a function of type `D`. */
export type NativeRet<D extends FnDef> = D["ret"] extends NativeType ? RetValue[D["ret"]]
  : D["ret"] extends StructType ? StructBytes<D["ret"]>
  : never;

/** A bound C function of type `D`, e.g. `NativeFn<{ args: ["ptr", "usize"]; ret: "ptr" }>`. */
export type NativeFn<D extends FnDef> = (...args: NativeArgs<D>) => NativeRet<D>;

/** A bound function as the adapters handle it inside, before its type is applied. */
// deno-lint-ignore no-explicit-any
export type UntypedFn = (...args: any[]) => any;

/** The bound functions of a symbol table (null where an optional symbol is missing). */
export type NativeSymbols<S extends Record<string, FnDef>> = {
  readonly [K in keyof S]: S[K]["optional"] extends true ? NativeFn<S[K]> | null : NativeFn<S[K]>;
};

/** A loaded library: its bound functions (null where an optional symbol is missing). */
export interface NativeLibrary<S extends Record<string, FnDef>> {
  readonly symbols: NativeSymbols<S>;
  close(): void;
}

/** What each runtime adapter provides: the primitives, nothing more. */
export interface Backend {
  readonly name: "bun" | "deno" | "koffi";
  /** Open a shared library and bind the named functions. Throws if the library or a required symbol is missing. */
  open<S extends Record<string, FnDef>>(path: string, symbols: S): NativeLibrary<S>;
  /** A callable for a raw function address (a hidden symbol, or a function pointer read from a struct). */
  fn<const D extends FnDef>(address: bigint, def: D): NativeFn<D>;
  /** A zero-copy view of `length` bytes of native memory at `address`. Unsafe: the memory must be mapped. */
  view(address: bigint, length: number): ArrayBuffer;
  /** The NUL-terminated UTF-8 string at `address`. */
  cstring(address: bigint): string;
  /**
   * When the adapter runs C code on a stack of its own rather than the calling thread's (koffi: its preallocated
   * synchronous-call stack), that stack's size in bytes; undefined when C runs on the thread's own stack.
   */
  readonly callStackSize?: number;
  /**
   * errno as the last foreign call left it, where the adapter saves it (koffi: the runtime makes system calls of its
   * own between a call and the next, so reading errno through a second call can see theirs). Undefined elsewhere:
   * read it through libc's `__errno_location` right after the call.
   */
  readonly errno?: () => number;
}

/** Size in bytes and alignment of each scalar type on LP64 platforms. */
export const SIZEOF: Readonly<Record<Exclude<NativeType, "void">, number>> = {
  i32: 4,
  u32: 4,
  i64: 8,
  u64: 8,
  isize: 8,
  usize: 8,
  f64: 8,
  ptr: 8,
  buffer: 8,
};

/** Byte size of a struct with natural alignment. */
export function structSize(s: StructType): number {
  let off = 0;
  let maxAlign = 1;
  for (const f of s.struct) {
    const size = f === "void" ? 0 : SIZEOF[f];
    maxAlign = Math.max(maxAlign, size);
    off = Math.ceil(off / size) * size + size;
  }
  return Math.ceil(off / maxAlign) * maxAlign;
}
