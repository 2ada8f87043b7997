/**
 * pymem: see and steer CPython's memory allocator from Bun, Deno and Node, through FFI, with no compile step.
 * This module is the library's public API (re-exports only); CHANGELOG.md lists what changed between versions.
 * The apps built on it (`pymem bench`, `pymem exporter`, the CLI) are not exported: their internals may change.
 *
 * @example
 * ```ts
 * import { openPython } from "./lib/mod.ts";
 * const py = await openPython();
 * try {
 *   const p = py.obj.malloc(64);
 *   py.obj.free(p);
 * } finally {
 *   py.close();
 * }
 * ```
 * @module
 */
export { openPython, Python } from "./python.ts";
export { parseVersion, PYMEM_VERSION, versionString } from "./core/version.ts";
export { MemoryDomain } from "./allocators/domains.ts";
export type { AllocatorName, OpenOptions, PythonVersion, PyValue } from "./python.ts";
export { PymemError, PythonError } from "./errors.ts";
export type { PymemErrorCode } from "./errors.ts";
export { PyMemAllocator } from "./allocators/pymem-allocator.ts";
export { ArenaObject } from "./obmalloc/structs.ts";
export { PoolHeader } from "./objects/pool-blocks.ts";
export { HeapSnapshot } from "./objects/mod.ts";
export { ObjectsSnapshot } from "./objects/mod.ts";
export type {
  BlockInfo,
  ClassifyOptions,
  ObjectsTotals,
  PinningOptions,
  PinningRow,
  TypeInfo,
  TypeRow,
} from "./objects/mod.ts";
export type {
  ArenaSummary,
  Fragmentation,
  HeapTotals,
  PoolSummary,
  SizeClassDiff,
  SizeClassRow,
  SnapshotInfo,
} from "./obmalloc/heap.ts";
export type { DebugMallocStats } from "./obmalloc/stats.ts";
export type { SymbolInfo, SymbolSource } from "./core/hidden-symbols.ts";
export { layoutFor } from "./obmalloc/layout.ts";
export type { ObmallocLayout } from "./obmalloc/layout.ts";
export type {
  ArenaMallinfo,
  ChunkTally,
  FreeChunks,
  InUseChunks,
  Mallinfo2,
  MallocArena,
  MallocHeap,
  MallocWalkOptions,
} from "./glibc/mod.ts";
export { MallocObjects } from "./objects/chunks.ts";
export type {
  ChunkClassifyOptions,
  ChunkInfo,
  ChunkTotals,
  ChunkTypeRow,
  ClassifiableMallocHeap,
  HeldRow,
} from "./objects/chunks.ts";
export type {
  MimallocHeap,
  MimallocPage,
  MimallocPageKind,
  MimallocSegment,
  MimallocSizeClass,
  MimallocThreadHeap,
} from "./mimalloc/mod.ts";
export type {
  MimallocObjects,
  MimallocPinningOptions,
  MimallocPinningRow,
  MimallocTypeRow,
} from "./objects/mimalloc.ts";
export type { MallocTrimResult } from "./glibc/mod.ts";
export { RSS_CATEGORIES } from "./address-space/mod.ts";
export type {
  AddressSpace,
  AddressSpaceOptions,
  CategoryFigures,
  RssBreakdown,
  RssCategory,
} from "./address-space/mod.ts";
export type { SmapsFigures } from "./machine/smaps.ts";
export { AttachedPython, attachPython, RemoteHeapSnapshot } from "./attach/attach.ts";
export { listPythonProcesses } from "./attach/processes.ts";
export type { PythonProcessInfo } from "./attach/processes.ts";
export type { AttachDebugInfo, AttachOptions, RemoteInterpreter } from "./attach/attach.ts";
export { INTERPRETER_PRESETS, resolveInterpreterConfig, SubInterpreter } from "./interpreters/sub-interpreters.ts";
export type {
  CreationPath,
  GilMode,
  InterpreterCloseReport,
  InterpreterConfig,
  InterpreterInfo,
  InterpreterPreset,
} from "./interpreters/sub-interpreters.ts";
export { nameAddress } from "./allocators/domain-allocators.ts";
export type {
  AllocationTrace,
  AllocatorFunctions,
  AllocatorInfo,
  AllocatorNames,
  ArenaAllocator,
  ArenaAllocatorInfo,
  Domain,
  DomainTrace,
} from "./allocators/domain-allocators.ts";
export { GlobalAllocator, MIN_ALIGN, PyMemBuffer } from "./allocators/global-alloc.ts";
export type { Layout } from "./allocators/global-alloc.ts";
export { libraryAllocator } from "./allocators/library-allocators.ts";
export type { InstalledLibraryAllocator, LibraryAllocatorStats, LibraryKind } from "./allocators/library-allocators.ts";
export { diffToJSON, heapToJSON, parseHeapJSON, SCHEMA_VERSION } from "./report/json.ts";
export type { ArenaJSON, DiffJSON, HeapJSON, HeapJSONOptions, PoolsJSON, SourceJSON } from "./report/json.ts";
export { formatBytes, renderDiffText, renderHeapText, verdict } from "./report/text.ts";
export { MIMALLOC_SCHEMA, type MimallocJSON, mimallocToJSON, renderMimallocText } from "./report/mimalloc.ts";
export type { TextOptions, Verdict } from "./report/text.ts";
export { renderWhyText, WHY_SCHEMA_VERSION, whyToJSON } from "./report/why.ts";
export type { PinningJSON, WhyJSON } from "./report/why.ts";
export { addressSpaceToJSON, rssText, rssVerdict } from "./report/rss.ts";
export type { AddressSpaceJSON, MallocArenaJSON } from "./report/rss.ts";
export { heatMapSVG, sizeClassChartSVG } from "./report/svg.ts";
export type { HeatMapOptions } from "./report/svg.ts";
export { renderHTML } from "./report/html.ts";
export type { HtmlOptions } from "./report/html.ts";
