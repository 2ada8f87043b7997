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
export { attachPython, AttachedPython, listPythonProcesses, RemoteHeapSnapshot } from "./attach.ts";
export type { AttachDebugInfo, AttachOptions, PythonProcessInfo, RemoteInterpreter } from "./attach.ts";
export { INTERPRETER_PRESETS, resolveInterpreterConfig, SubInterpreter } from "./interpreters.ts";
export type { CreationPath, GilMode, InterpreterCloseReport, InterpreterConfig, InterpreterInfo, InterpreterPreset } from "./interpreters.ts";
export { getAllocator, getArenaAllocator, nameAddress, setAllocator, setArenaAllocator, setupDebugHooks, traceAllocations } from "./allocators.ts";
export type { AllocationTrace, AllocatorFunctions, AllocatorInfo, AllocatorNames, ArenaAllocator, ArenaAllocatorInfo, Domain, DomainTrace } from "./allocators.ts";
export { buffer as domainBuffer, GlobalAllocator, MIN_ALIGN, PyMemBuffer } from "./globalalloc.ts";
export type { Layout } from "./globalalloc.ts";
export { libraryAllocator, libraryAllocatorStats } from "./thirdparty.ts";
export type { InstalledLibraryAllocator, LibraryAllocatorStats, LibraryKind } from "./thirdparty.ts";
export { diffToJSON, heapToJSON, parseHeapJSON, PYMEM_VERSION, SCHEMA_VERSION } from "./report/json.ts";
export type { ArenaJSON, DiffJSON, HeapJSON, HeapJSONOptions, PoolsJSON, SourceJSON } from "./report/json.ts";
export { formatBytes, renderDiffText, renderHeapText, verdict } from "./report/text.ts";
export type { TextOptions, Verdict } from "./report/text.ts";
export { heatMapSVG, sizeClassChartSVG } from "./report/svg.ts";
export type { HeatMapOptions } from "./report/svg.ts";
export { renderHTML } from "./report/html.ts";
export type { HtmlOptions } from "./report/html.ts";
export { benchCommand, parseBenchArgs, resolveAllocators, runBench, WORKLOADS } from "./bench/runner.ts";
export type { AllocatorVariant, BenchDocument, BenchOptions, CellResult, CellSummary, Comparison, Spread, Workload } from "./bench/runner.ts";
