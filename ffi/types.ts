/**
 * The neutral FFI vocabulary shared by the symbol table and the three runtime adapters.
 *
 * Every adapter maps these types one-to-one onto its runtime's own (bun:ffi, Deno.dlopen, koffi) and normalises
 * values at the boundary, so the rest of pymem sees one calling convention:
 * - `ptr`: an address, always a `bigint` in JavaScript (`0n` is NULL), in and out;
 * - `i64` / `u64`: `bigint`; `isize` / `usize` (Py_ssize_t, size_t): `number` (pymem never needs more than 2^53);
 * - `buffer`: argument only, a TypedArray whose bytes C reads or writes during the call (never kept by C);
 * - a struct returned by value is described by its fields and comes back as the struct's bytes.
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

// deno-lint-ignore no-explicit-any
export type NativeFn = (...args: any[]) => any;

/** A loaded library: its bound functions (null where an optional symbol is missing). */
export interface NativeLibrary<S extends Record<string, FnDef>> {
  readonly symbols: { [K in keyof S]: S[K]["optional"] extends true ? NativeFn | null : NativeFn };
  close(): void;
}

/** What each runtime adapter provides: the primitives, nothing more. */
export interface Backend {
  readonly name: "bun" | "deno" | "koffi";
  /** Open a shared library and bind the named functions. Throws if the library or a required symbol is missing. */
  open<S extends Record<string, FnDef>>(path: string, symbols: S): NativeLibrary<S>;
  /** A callable for a raw function address (a hidden symbol, or a function pointer read from a struct). */
  fn(address: bigint, def: FnDef): NativeFn;
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
