/**
 * `PyStatus`, which PEP 587's functions return by value (ffi/: the adapter hands back the struct's bytes), decoded
 * once for every caller: start-up, pre-initialization and Py_NewInterpreterFromConfig.
 * @module
 */
import { cpythonIfKnown, NEWEST } from "../cpython/versions.ts";
import type { Native } from "./native.ts";

/** A failed PyStatus: the C function that failed ("" when unnamed) and what went wrong, as one line. */
export interface StatusError {
  func: string;
  message: string;
}

/**
 * The error a PyStatus carries, or null when it is OK. Its layout is lib/cpython's row for `minor` (a minor newer
 * than every row is assumed to keep the newest one's: PyStatus has not changed since 3.8).
 */
export function statusError(native: Native, bytes: Uint8Array, minor: number): StatusError | null {
  const o = (cpythonIfKnown(minor) ?? NEWEST).layout.status;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = v.getInt32(o.type, true);
  if (type === 0) return null;
  const func = v.getBigUint64(o.func, true);
  const msg = v.getBigUint64(o.errMsg, true);
  const message = type === o.typeExit // CPython asked to exit (e.g. a --help it parsed)
    ? `it asked to exit with status ${v.getInt32(o.exitcode, true)}`
    : msg !== 0n
    ? native.cstring(msg)
    : "unknown error";
  return { message, func: func !== 0n ? native.cstring(func) : "" };
}
