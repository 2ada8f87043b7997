/**
 * Benchmark baselines only: the same C calls bound directly with this runtime's own FFI, in the fastest form each
 * runtime offers for them (measured side by side on this machine; `form` names it in the output). Never used by
 * the library.
 *
 * - Bun: every 64-bit argument and result as `ptr`, i.e. a JavaScript number (the size too: Bun converts a number
 *   for a `ptr` parameter inline, ~4 ns a call cheaper than for `u64`/`u64_fast`).
 * - Deno: `usize` sizes passed as bigint and addresses as `u64` bigints: both stay on V8's fast-call path (a number
 *   for a 64-bit parameter drops every call to the slow path, ~15x slower; `pointer` objects cost ~2 ns more).
 * - koffi: `uintptr_t` in and out, i.e. numbers (~10% cheaper than `void *` bigints).
 * @module
 */
export interface RawCalls {
  runtime: string;
  /** How the calls are declared and what crosses: printed beside the figures. */
  form: string;
  /** The size to pass to `objMalloc`/`rawMalloc` (16), already in the form the binding takes fastest. */
  size16: unknown;
  objMalloc(n: unknown): unknown;
  objFree(p: unknown): void;
  rawMalloc(n: unknown): unknown;
  rawFree(p: unknown): void;
  gilEnsure(): number;
  gilRelease(s: number): void;
}

export async function rawCalls(library: string): Promise<RawCalls> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as { Bun?: unknown; Deno?: any };
  if (g.Bun) {
    const { dlopen, FFIType } = await import("bun:ffi");
    const { symbols: s } = dlopen(library, {
      PyObject_Malloc: { args: [FFIType.ptr], returns: FFIType.ptr },
      PyObject_Free: { args: [FFIType.ptr], returns: FFIType.void },
      PyMem_RawMalloc: { args: [FFIType.ptr], returns: FFIType.ptr },
      PyMem_RawFree: { args: [FFIType.ptr], returns: FFIType.void },
      PyGILState_Ensure: { args: [], returns: FFIType.i32 },
      PyGILState_Release: { args: [FFIType.i32], returns: FFIType.void },
    });
    return {
      runtime: "bun",
      form: "bun:ffi, size and addresses as `ptr` (numbers)",
      size16: 16,
      // deno-lint-ignore no-explicit-any
      objMalloc: s.PyObject_Malloc as any,
      // deno-lint-ignore no-explicit-any
      objFree: s.PyObject_Free as any,
      // deno-lint-ignore no-explicit-any
      rawMalloc: s.PyMem_RawMalloc as any,
      // deno-lint-ignore no-explicit-any
      rawFree: s.PyMem_RawFree as any,
      // deno-lint-ignore no-explicit-any
      gilEnsure: s.PyGILState_Ensure as any,
      // deno-lint-ignore no-explicit-any
      gilRelease: s.PyGILState_Release as any,
    };
  }
  if (g.Deno) {
    const { symbols: s } = g.Deno.dlopen(library, {
      PyObject_Malloc: { parameters: ["usize"], result: "u64" },
      PyObject_Free: { parameters: ["u64"], result: "void" },
      PyMem_RawMalloc: { parameters: ["usize"], result: "u64" },
      PyMem_RawFree: { parameters: ["u64"], result: "void" },
      PyGILState_Ensure: { parameters: [], result: "i32" },
      PyGILState_Release: { parameters: ["i32"], result: "void" },
    });
    return {
      runtime: "deno",
      form: "Deno.dlopen, `usize` size as bigint, addresses as `u64` bigints (fast-call path)",
      size16: 16n,
      objMalloc: s.PyObject_Malloc,
      objFree: s.PyObject_Free,
      rawMalloc: s.PyMem_RawMalloc,
      rawFree: s.PyMem_RawFree,
      gilEnsure: s.PyGILState_Ensure,
      gilRelease: s.PyGILState_Release,
    };
  }
  const koffi = (await import("koffi")).default;
  const lib = koffi.load(library);
  return {
    runtime: "koffi",
    form: "koffi, `size_t` size, addresses as `uintptr_t` (numbers)",
    size16: 16,
    objMalloc: lib.func("PyObject_Malloc", "uintptr_t", ["size_t"]),
    objFree: lib.func("PyObject_Free", "void", ["uintptr_t"]),
    rawMalloc: lib.func("PyMem_RawMalloc", "uintptr_t", ["size_t"]),
    rawFree: lib.func("PyMem_RawFree", "void", ["uintptr_t"]),
    gilEnsure: lib.func("PyGILState_Ensure", "int", []),
    gilRelease: lib.func("PyGILState_Release", "void", ["int"]),
  };
}
