/**
 * Benchmark baselines only: the same C calls bound directly with this runtime's own FFI, using each runtime's
 * natural pointer type (bun: number, Deno: PointerObject, koffi: bigint). Never used by the library.
 * @module
 */
export interface RawCalls {
  runtime: string;
  objMalloc(n: number): unknown;
  objFree(p: unknown): void;
  rawMalloc(n: number): unknown;
  rawFree(p: unknown): void;
  gilEnsure(): number;
  gilRelease(s: number): void;
}

export async function rawCalls(library: string): Promise<RawCalls> {
  const g = globalThis as { Bun?: unknown; Deno?: any };
  if (g.Bun) {
    const { dlopen, FFIType } = await import("bun:ffi");
    const { symbols: s } = dlopen(library, {
      PyObject_Malloc: { args: [FFIType.u64], returns: FFIType.ptr },
      PyObject_Free: { args: [FFIType.ptr], returns: FFIType.void },
      PyMem_RawMalloc: { args: [FFIType.u64], returns: FFIType.ptr },
      PyMem_RawFree: { args: [FFIType.ptr], returns: FFIType.void },
      PyGILState_Ensure: { args: [], returns: FFIType.i32 },
      PyGILState_Release: { args: [FFIType.i32], returns: FFIType.void },
    });
    return {
      runtime: "bun",
      objMalloc: s.PyObject_Malloc as any, objFree: s.PyObject_Free as any,
      rawMalloc: s.PyMem_RawMalloc as any, rawFree: s.PyMem_RawFree as any,
      gilEnsure: s.PyGILState_Ensure as any, gilRelease: s.PyGILState_Release as any,
    };
  }
  if (g.Deno) {
    const { symbols: s } = g.Deno.dlopen(library, {
      PyObject_Malloc: { parameters: ["usize"], result: "pointer" },
      PyObject_Free: { parameters: ["pointer"], result: "void" },
      PyMem_RawMalloc: { parameters: ["usize"], result: "pointer" },
      PyMem_RawFree: { parameters: ["pointer"], result: "void" },
      PyGILState_Ensure: { parameters: [], result: "i32" },
      PyGILState_Release: { parameters: ["i32"], result: "void" },
    });
    return {
      runtime: "deno",
      objMalloc: s.PyObject_Malloc, objFree: s.PyObject_Free, rawMalloc: s.PyMem_RawMalloc, rawFree: s.PyMem_RawFree,
      gilEnsure: s.PyGILState_Ensure, gilRelease: s.PyGILState_Release,
    };
  }
  const koffi = (await import("koffi")).default;
  const lib = koffi.load(library);
  return {
    runtime: "koffi",
    objMalloc: lib.func("PyObject_Malloc", "void *", ["size_t"]),
    objFree: lib.func("PyObject_Free", "void", ["void *"]),
    rawMalloc: lib.func("PyMem_RawMalloc", "void *", ["size_t"]),
    rawFree: lib.func("PyMem_RawFree", "void", ["void *"]),
    gilEnsure: lib.func("PyGILState_Ensure", "int", []),
    gilRelease: lib.func("PyGILState_Release", "void", ["int"]),
  };
}
