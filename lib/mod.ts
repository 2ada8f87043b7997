/**
 * pymem: see and steer CPython's memory allocator from Bun, Deno and Node, through FFI, with no compile step.
 *
 * @example
 * ```ts
 * import { openPython } from "./lib/mod.ts";
 * using py = await openPython();
 * const p = py.obj.malloc(64);
 * py.obj.free(p);
 * ```
 * @module
 */
export { openPython, parseVersion, MemoryDomain, Python } from "./python.ts";
export type { AllocatorName, OpenOptions, PythonVersion, PyValue } from "./python.ts";
export { PymemError, PythonError } from "./errors.ts";
export type { PymemErrorCode } from "./errors.ts";
