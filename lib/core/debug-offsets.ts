/**
 * The head of `_Py_DebugOffsets` (3.13+), the first field of `_PyRuntime`: a cookie, the exact version, and whether
 * the build is free-threaded. It is statically initialised, so it can be read before CPython starts (in-process,
 * to refuse a free-threaded library before anything runs) and from another process (attach).
 * @module
 */
import { PymemError } from "../errors.ts";

/** `char cookie[8] = "xdebugpy"; uint64_t version; uint64_t free_threaded;` */
export const DEBUG_OFFSETS_HEAD = 24;

export interface DebugOffsetsHead {
  /** PY_VERSION_HEX of the build, e.g. 0x030f02f0 for 3.15.2. */
  version: number;
  /** `Py_GIL_DISABLED` builds (3.13t, 3.14t, 3.15t): no pymalloc, mimalloc only, another object layout. */
  freeThreaded: boolean;
}

/** Parse the first 24 bytes of `_PyRuntime`; undefined when the cookie is missing (before 3.13, or not CPython). */
export function parseDebugOffsetsHead(bytes: Uint8Array): DebugOffsetsHead | undefined {
  if (bytes.length < DEBUG_OFFSETS_HEAD) return undefined;
  if (new TextDecoder("latin1").decode(bytes.subarray(0, 8)) !== "xdebugpy") return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { version: Number(v.getBigUint64(8, true) & 0xffffffffn), freeThreaded: v.getBigUint64(16, true) !== 0n };
}

/** The error for a free-threaded build, naming it; the same words in-process and by attach. */
export function freeThreadedError(what: string, version: number): PymemError {
  const name = `${version >>> 24}.${(version >>> 16) & 0xff}t`;
  return new PymemError(
    "UNSUPPORTED",
    `${what} is a free-threaded CPython ${name} build (Py_GIL_DISABLED): it has no pymalloc (mimalloc only) and ` +
      "another object layout; pymem supports the default (GIL) builds only",
  );
}
