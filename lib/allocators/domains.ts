/**
 * The three memory domains of CPython's allocator API as bigint-address functions: `raw` (PyMem_Raw*, no GIL),
 * `mem` (PyMem_*) and `obj` (PyObject_*), each with checked sizes and a buffer factory.
 * @module
 */
import { checkAddress, checkSize, isAddress } from "../checks.ts";
import { PymemError } from "../errors.ts";
import type { PythonHost } from "../core/host.ts";
import type { Native } from "../core/native.ts";
import { buffer, type PyMemBuffer } from "./global-alloc.ts";

/**
 * One memory domain: `raw` (PyMem_Raw*, no GIL needed), `mem` (PyMem_*) or `obj` (PyObject_*), as C functions over
 * bigint addresses. Sizes are validated before anything is called; a failed allocation throws.
 *
 * The methods are closures over the bound C functions rather than prototype methods reading private fields: this
 * is the hot path, and it keeps the wrapper within a few nanoseconds of the bare FFI call (bench/call_cost.ts).
 */
export class MemoryDomain {
  readonly name: "raw" | "mem" | "obj";
  /** Allocate `size` bytes. Throws PymemError("ALLOCATION_FAILED") instead of returning NULL. */
  readonly malloc: (size: number) => bigint;
  /** Allocate `count * size` zeroed bytes. */
  readonly calloc: (count: number, size: number) => bigint;
  /**
   * Resize a block; on failure the old block is untouched and still owned by the caller. **Unsafe** for a pointer
   * this domain did not hand out, or already freed: it crashes as in C. Safe path: `buffer()`, or
   * `py.allocator().realloc`, which knows its blocks.
   */
  readonly realloc: (address: bigint, size: number) => bigint;
  /**
   * Free a block of this domain. `free(0n)` does nothing, as in C. **Unsafe** for a pointer this domain did not hand
   * out, or already freed: it crashes as in C. Safe path: `buffer()` (`PyMemBuffer.free()`), or
   * `py.allocator().dealloc`, which refuses double and foreign frees.
   */
  readonly free: (address: bigint) => void;
  /**
   * `n` bytes of this domain as a `PyMemBuffer` (`.bytes` is a Uint8Array over the block), freed by `free()`,
   * `using`, or as a backstop when garbage collected. After `free()` the view can no longer reach the memory.
   */
  readonly buffer: (n: number) => PyMemBuffer;

  constructor(py: PythonHost, name: "raw" | "mem" | "obj", api: Native["api"]) {
    this.name = name;
    const [m, c, r, f] = {
      raw: [api.PyMem_RawMalloc, api.PyMem_RawCalloc, api.PyMem_RawRealloc, api.PyMem_RawFree] as const,
      mem: [api.PyMem_Malloc, api.PyMem_Calloc, api.PyMem_Realloc, api.PyMem_Free] as const,
      obj: [api.PyObject_Malloc, api.PyObject_Calloc, api.PyObject_Realloc, api.PyObject_Free] as const,
    }[name];
    // PyMem_* and PyObject_* need the GIL: taken per call unless the caller holds it through withGIL.
    const gil = name === "raw" ? null : py;
    // Outside withGIL the GIL is taken around the one C call right here rather than through withGIL(() => …), in a
    // function of its own so that the hot closures stay small: V8 inlined the withGIL path into callers' loops, and a
    // pair with the GIL taken per call cost three times the same raw calls on Deno (BENCHMARKS.md).
    // The finally is for the adapter's own wrapper (a stack overflow entering it): the C call itself cannot throw.
    const ensure = api.PyGILState_Ensure, release = api.PyGILState_Release;
    const mallocUnheld = (size: number): bigint => {
      // Both the raw domain (which takes no GIL) and a call that takes it must notice a closed handle.
      if (py.closed) py.assertOpen();
      if (gil === null) return m(size);
      const s = ensure();
      try {
        return m(size);
      } finally {
        release(s);
      }
    };
    this.malloc = (size) => {
      if (!(Number.isSafeInteger(size) && size >= 0)) checkSize(size, "size");
      const p = gil !== null && gil.holdsGil ? m(size) : mallocUnheld(size);
      if (p === 0n) throw allocationFailed(name, "malloc", size);
      return p;
    };
    this.calloc = (count, size) => {
      py.assertOpen();
      checkSize(count, "count");
      checkSize(size, "size");
      if (count * size > Number.MAX_SAFE_INTEGER) throw new RangeError(`calloc(${count}, ${size}) overflows`);
      const p = gil === null || gil.holdsGil ? c(count, size) : gil.withGIL(() => c(count, size));
      if (p === 0n) throw allocationFailed(name, "calloc", count * size);
      return p;
    };
    this.realloc = (address, size) => {
      py.assertOpen();
      checkAddress(address, "address");
      checkSize(size, "size");
      const p = gil === null || gil.holdsGil ? r(address, size) : gil.withGIL(() => r(address, size));
      if (p === 0n) throw allocationFailed(name, "realloc", size);
      return p;
    };
    this.buffer = (n) => buffer(py, name, n);
    const freeUnheld = (address: bigint): void => {
      if (py.closed) py.assertOpen();
      if (gil === null) return f(address);
      const s = ensure();
      try {
        f(address);
      } finally {
        release(s);
      }
    };
    this.free = (address) => {
      if (!isAddress(address)) checkAddress(address, "address");
      if (gil !== null && gil.holdsGil) f(address);
      else freeUnheld(address);
    };
  }
}

function allocationFailed(domain: string, fn: string, size: number): PymemError {
  return new PymemError("ALLOCATION_FAILED", `${domain}.${fn} could not allocate ${size} bytes`);
}
