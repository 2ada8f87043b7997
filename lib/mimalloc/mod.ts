/**
 * The mimalloc heap of this process (`py.mimallocHeap()`), through the same walk as attach's
 * `attached.mimallocHeap()`: only the reader differs (process_vm_readv on our own pid, as for glibc's heap).
 * @module
 */
import { readMaps } from "../machine/procmaps.ts";
import type { PythonHost } from "../core/host.ts";
import { PymemError } from "../errors.ts";
import { selfProbe } from "../glibc/mod.ts";
import { mimallocLayout } from "./layout.ts";
import { cpythonIfKnown } from "../cpython/versions.ts";
import { type MimallocHeap, walkMimalloc } from "./heap.ts";

export type {
  MimallocHeap,
  MimallocPage,
  MimallocPageKind,
  MimallocSegment,
  MimallocSizeClass,
  MimallocTarget,
  MimallocThreadHeap,
} from "./heap.ts";
export { walkMimalloc } from "./heap.ts";
export { type MimallocLayout, mimallocLayout } from "./layout.ts";

/**
 * Refuse a process whose allocator is known and is not mimalloc, naming it: the walk would find no segment, and "no
 * segment" should not read as "an empty heap". An allocator pymem could not name (a stripped image, whose
 * `_PyObject_MiMalloc` has no symbol) is let through: the walk itself then finds mimalloc's segments or says none.
 */
export function requireMimalloc(allocator: string | null, where: string): void {
  if (allocator !== null && !allocator.startsWith("mimalloc")) {
    throw new PymemError(
      "UNSUPPORTED",
      `mimalloc heap map: ${where} allocates with ${allocator}, not mimalloc (PYTHONMALLOC=mimalloc on CPython 3.13+)`,
    );
  }
}

/**
 * The mimalloc map of an attached process that allocates with CPython's mimalloc, or undefined when it does not:
 * named otherwise, or unnamed (a stripped image, whose `_PyObject_MiMalloc` has no symbol) with no mimalloc segment
 * found (INVALID_STATE) or a CPython that carries no mimalloc. For `pymem why`, `pymem ps` and the exporter, which
 * ask only after obmalloc's heap is not there (or in the order they need).
 */
export function mimallocIfUsed(
  py: { allocatorName(): string | null; version: { minor: number }; mimallocHeap(): MimallocHeap },
): MimallocHeap | undefined {
  const name = py.allocatorName();
  if (name?.startsWith("mimalloc")) return py.mimallocHeap();
  if (name !== null || !cpythonIfKnown(py.version.minor)?.layout.mimalloc) return undefined;
  try {
    return py.mimallocHeap();
  } catch (e) {
    if (e instanceof PymemError && e.code === "INVALID_STATE") return undefined;
    throw e;
  }
}

/** Map this process's mimalloc heap. `allocator` is the running allocator's name (`py.allocatorName()`). */
export function mimallocHeap(host: PythonHost, allocator: string | null): MimallocHeap {
  host.assertOpen();
  requireMimalloc(allocator, "this process");
  // _Py_GetRefTotal is exported by Py_REF_DEBUG builds only, which every Py_DEBUG build is (MI_DEBUG 2 there).
  const layout = mimallocLayout(host.version.minor, { debugBuild: host.native.dlsym("_Py_GetRefTotal") !== 0n });
  const named = allocator?.startsWith("mimalloc") ?? false;
  return walkMimalloc({ maps: readMaps("self"), probe: selfProbe(host), mimallocNamed: named }, layout);
}
