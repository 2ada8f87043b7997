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
export { PyMemAllocator } from "./allocator.ts";
export { ArenaObject, PoolHeader } from "./structs.ts";
export { HeapSnapshot } from "./heap.ts";
export type { ArenaSummary, Fragmentation, HeapTotals, PoolSummary, SizeClassDiff, SizeClassRow, SnapshotInfo } from "./heap.ts";
export type { DebugMallocStats } from "./stats.ts";
export type { SymbolInfo, SymbolSource } from "./symbols.ts";
export { layoutFor } from "./layout.ts";
export type { ObmallocLayout } from "./layout.ts";
