/**
 * `PythonHost`: the narrow view of an open interpreter that feature modules (allocators, sub-interpreters, …) work
 * through. Each `Python` (lib/python.ts) keeps an object that implements it (lib/obmalloc/host.ts: `hostOf`), so the
 * plumbing stays out of the class's public type; features import this type, never the class, so the handle can
 * compose them without an import cycle (docs/architecture.md).
 * @module
 */
import type { PyValue } from "./convert.ts";
import type { Symbols } from "./hidden-symbols.ts";
import type { Native } from "./native.ts";
import type { PythonVersion } from "./version.ts";

export interface PythonHost {
  /** The bound C API and memory access. */
  readonly native: Native;
  readonly version: PythonVersion;
  /** Resolved path of the loaded libpython. */
  readonly library: string;
  readonly backend: "bun" | "deno" | "koffi";
  readonly closed: boolean;
  /** True while this JavaScript thread holds the GIL through withGIL. */
  readonly holdsGil: boolean;
  /** The optional and hidden symbols of the loaded library. */
  readonly symbols: Symbols;
  /** Throw PymemError("CLOSED") unless the handle is open. */
  assertOpen(): void;
  /** Run a synchronous `fn` holding the GIL (nestable). */
  withGIL<T>(fn: () => T): T;
  run(code: string): void;
  eval(expression: string): PyValue;
  /** `run()` against a borrowed globals dict of the interpreter current when it runs. */
  runIn(globals: bigint, code: string): void;
  /** `eval()` against a borrowed globals dict, as runIn. */
  evalIn(globals: bigint, expression: string): PyValue;
  /** CPython's name for the running allocator, null if custom. */
  allocatorName(): string | null;
  /** PyInterpreterState* current on this thread. */
  currentInterp(): bigint;
  /** Every live PyInterpreterState*, main first. */
  liveInterpreters(): bigint[];
  /** Cleanup to run (in reverse order) before the interpreter is finalized. */
  onClose(fn: () => void): void;
  /** A check that may refuse close() (by throwing) before anything is closed. */
  onCloseCheck(fn: () => void): void;
}
