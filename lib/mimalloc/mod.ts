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

/** Map this process's mimalloc heap. `allocator` is the running allocator's name (`py.allocatorName()`). */
export function mimallocHeap(host: PythonHost, allocator: string | null): MimallocHeap {
  host.assertOpen();
  requireMimalloc(allocator, "this process");
  // _Py_GetRefTotal is exported by Py_REF_DEBUG builds only, which every Py_DEBUG build is (MI_DEBUG 2 there).
  const layout = mimallocLayout(host.version.minor, { debugBuild: host.native.dlsym("_Py_GetRefTotal") !== 0n });
  const named = allocator?.startsWith("mimalloc") ?? false;
  return walkMimalloc({ maps: readMaps("self"), probe: selfProbe(host), mimallocNamed: named }, layout);
}
