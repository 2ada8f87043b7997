/**
 * The loaded libpython as pymem's internals see it: the bound API, libc, and typed access to raw memory.
 * One `Native` exists per opened library; everything above it (Python, PyMemAllocator, the heap walker) goes
 * through it rather than through a runtime adapter.
 * @module
 */
import { constants as bufferConstants } from "node:buffer";
import type { Backend, FnDef, NativeFn, UntypedFn } from "../../ffi/types.ts";
import type { LibcApi, PythonApi } from "../../ffi/symbols.ts";
import { setIovec } from "../machine/bytes.ts";

export type { LibcApi, PythonApi };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A NUL-terminated UTF-8 copy of `s`, sized in bytes (not UTF-16 units). */
export function cstr(s: string): Uint8Array {
  return encoder.encode(s + "\0");
}

/** UTF-8 decoding of native bytes. */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * The longest ArrayBuffer this runtime can make: 2^32 on Bun and Node 20 (beyond it Bun throws "Out of memory" and
 * koffi aborts Node with a fatal N-API error), 2^53−1 on Deno and Node 22+. Every view of native memory is checked
 * against it first.
 */
export const MAX_VIEW: number = bufferConstants.MAX_LENGTH;

/** Throw a RangeError naming the limit when `length` bytes cannot be viewed on this runtime. */
export function checkViewLength(length: number, what: string): void {
  if (length > MAX_VIEW) {
    throw new RangeError(
      `${what} of ${length} bytes is larger than this runtime can view (${MAX_VIEW} bytes, its largest ArrayBuffer)`,
    );
  }
}

export class Native {
  readonly backend: Backend;
  readonly api: PythonApi;
  readonly libc: LibcApi;
  /** dlopen handle of libpython (RTLD_GLOBAL). */
  readonly handle: bigint;
  /** Resolved path of the loaded file. */
  readonly path: string;
  /** Address at which the file's vaddr 0 is mapped (dladdr's dli_fbase). */
  readonly base: bigint;
  readonly #fns = new Map<bigint, UntypedFn>();
  readonly #closeBinding: () => void;

  constructor(
    backend: Backend,
    api: PythonApi,
    libc: LibcApi,
    handle: bigint,
    path: string,
    base: bigint,
    closeBinding: () => void = () => {},
  ) {
    this.backend = backend;
    this.api = api;
    this.libc = libc;
    this.handle = handle;
    this.path = path;
    this.base = base;
    this.#closeBinding = closeBinding;
  }

  /**
   * Unload a library refused after loading (nothing of it ran): the runtime's binding and the RTLD_GLOBAL dlopen
   * both dropped, so that its symbols leave the global scope. Left there, they interpose on the next libpython's
   * own calls (a refused free-threaded 3.13t, then the default 3.13: SIGSEGV on every runtime).
   */
  unload(): void {
    this.#fns.clear();
    try {
      this.#closeBinding();
    } catch { /* the runtime's handle: best effort */ }
    this.libc.dlclose(this.handle);
  }

  /** Address of an exported symbol (function or data), or 0n. */
  dlsym(name: string): bigint {
    return this.libc.dlsym(this.handle, cstr(name));
  }

  /**
   * A callable for a function address, typed by `def` (cached per address: a function has one prototype, so every
   * caller of an address must pass the same `def`, which the tables in ffi/symbols.ts name once).
   */
  fn<const D extends FnDef>(address: bigint, def: D): NativeFn<D> {
    let f = this.#fns.get(address);
    if (!f) this.#fns.set(address, f = this.backend.fn(address, def) as UntypedFn);
    return f as NativeFn<D>;
  }

  /** A Uint8Array over native memory (zero-copy). */
  bytes(address: bigint, length: number): Uint8Array {
    if (length > MAX_VIEW) checkViewLength(length, "a view");
    return new Uint8Array(this.backend.view(address, length));
  }

  /** A DataView over native memory (zero-copy). */
  dataView(address: bigint, length: number): DataView {
    return new DataView(this.backend.view(address, length));
  }

  u32(address: bigint): number {
    return this.dataView(address, 4).getUint32(0, true);
  }

  u64(address: bigint): bigint {
    return this.dataView(address, 8).getBigUint64(0, true);
  }

  i64(address: bigint): bigint {
    return this.dataView(address, 8).getBigInt64(0, true);
  }

  setU64(address: bigint, value: bigint): void {
    this.dataView(address, 8).setBigUint64(0, value, true);
  }

  cstring(address: bigint): string {
    return this.backend.cstring(address);
  }

  #pid = 0;
  /**
   * Copy memory that may not be mapped, without risking a crash: process_vm_readv on our own pid fails with EFAULT
   * instead of faulting. Used where an address is not yet trusted (signature scans, validation). Null if unreadable.
   */
  safeRead(address: bigint, length: number): Uint8Array | null {
    if (length === 0) return new Uint8Array(0);
    // Beyond 2^53 is beyond every user-space address (x86-64 and aarch64 stop below 2^57) and beyond an exact number.
    if (address <= 0n || address + BigInt(length) >= 1n << 53n) return null;
    this.#pid ||= this.libc.getpid();
    const out = new Uint8Array(length);
    const local = new Uint32Array(4);
    const remote = new Uint32Array(4);
    setIovec(remote, 0, Number(address), length);
    // iovec { void *iov_base; size_t iov_len; } holds raw addresses, and a JavaScript buffer has no stable one to
    // put there: read into native scratch memory, then copy.
    const scratch = this.libc.malloc(length);
    if (scratch === 0n) return null;
    try {
      setIovec(local, 0, Number(scratch), length);
      const n = this.libc.process_vm_readv(
        this.#pid,
        new Uint8Array(local.buffer),
        1,
        new Uint8Array(remote.buffer),
        1,
        0,
      );
      if (n !== length) return null;
      out.set(this.bytes(scratch, length));
      return out;
    } finally {
      this.libc.free(scratch);
    }
  }
}
