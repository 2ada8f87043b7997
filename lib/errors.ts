/**
 * The one error family of pymem.
 *
 * `PymemError` is thrown for everything pymem itself refuses or cannot do (a missing library, a symbol the loaded
 * libpython lacks, a use after close, a corrupt ELF file). `PythonError` is a Python exception raised by code pymem
 * ran. Plain `RangeError` / `TypeError` are used for bad arguments, as the platform does.
 * @module
 */

/**
 * What went wrong, in a form a program can branch on. `UNSUPPORTED`: this build, version, platform or runtime cannot
 * do it (the message names which and what is missing); `INVALID_STATE`: not now (e.g. a handle is in use, or a
 * close could not finish: `cause` then holds every error met).
 */
export type PymemErrorCode =
  | "LIBRARY_NOT_FOUND"
  /** Another libpython is already loaded in this process (one per process: their global symbols clash). */
  | "LIBRARY_CONFLICT"
  | "UNSUPPORTED"
  | "CLOSED"
  | "ALLOCATION_FAILED"
  | "INVALID_STATE"
  | "ELF"
  | "ATTACH"
  | "PERMISSION"
  /** CPython failed to start (its own message is in the error): a bad home, a standard library it cannot find. */
  | "INIT_FAILED";

/** An error raised by pymem itself. `code` names the kind; `cause` keeps the underlying error where there is one. */
export class PymemError extends Error {
  override name = "PymemError";
  readonly code: PymemErrorCode;
  constructor(code: PymemErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A Python exception, carried into JavaScript with its type, message and formatted traceback. */
export class PythonError extends Error {
  override name = "PythonError";
  /** The exception's type name, e.g. `"ZeroDivisionError"`. */
  readonly type: string;
  /** `str(exception)`. */
  readonly value: string;
  /** The formatted traceback (`traceback.format_exception`), empty when none could be produced. */
  readonly traceback: string;
  /**
   * For a `SystemExit` only: its `code` attribute as Python's own exit reads it — `null` for None, a number for an
   * int (bool included), otherwise the code's `str()` (Python prints that and exits with status 1).
   */
  readonly exitCode?: number | string | null;
  constructor(type: string, value: string, traceback: string, exitCode?: number | string | null) {
    const head = value ? `${type}: ${value}` : type;
    const body = withoutExceptionLine(traceback, type, value);
    super(body ? `${head}\n${body}` : head);
    this.type = type;
    this.value = value;
    this.traceback = traceback;
    if (exitCode !== undefined) this.exitCode = exitCode;
  }
}

/**
 * The traceback without its last line when that is the exception line the message already starts with (Python ends
 * a formatted traceback with it, the type perhaps qualified by its module); unchanged otherwise (a SyntaxError's
 * caret lines, notes after it).
 */
function withoutExceptionLine(traceback: string, type: string, value: string): string {
  const tb = traceback.replace(/\n+$/, "");
  const tail = value ? `: ${value}` : "";
  if (!tb.endsWith(tail)) return traceback;
  const cut = tb.lastIndexOf("\n", tb.length - tail.length - 1) + 1;
  const name = tb.slice(cut, tb.length - tail.length);
  if (name !== type && !name.endsWith(`.${type}`)) return traceback;
  return tb.slice(0, cut).replace(/\n+$/, "");
}

/**
 * Marks an error thrown while closing that means "finalizing now would abort the process" (a sub-interpreter that
 * could not end): Python.close() then stays open instead of calling Py_FinalizeEx. Internal.
 */
export const FINALIZE_BLOCKED = Symbol("pymem.finalizeBlocked");

/** Whether `e`, or an error it aggregates, carries FINALIZE_BLOCKED. */
export function blocksFinalize(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  if ((e as Record<symbol, unknown>)[FINALIZE_BLOCKED]) return true;
  if (e instanceof AggregateError) return e.errors.some(blocksFinalize);
  return e instanceof PymemError && blocksFinalize(e.cause);
}
