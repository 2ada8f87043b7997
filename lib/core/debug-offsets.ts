/**
 * The head of `_Py_DebugOffsets` (3.13+), the first field of `_PyRuntime`: a cookie, the exact version, and whether
 * the build is free-threaded. It is statically initialised, so it can be read before CPython starts (in-process,
 * to refuse a free-threaded library before anything runs) and from another process (attach).
 * @module
 */
import { cpythonIfKnown, type CPythonLayout } from "../cpython/versions.ts";
import type { Native } from "./native.ts";
import { PymemError } from "../errors.ts";

/**
 * `char cookie[8] = "xdebugpy"; uint64_t version; uint64_t free_threaded;`, the same in every minor (the generated
 * rows agree: tests/cpython_layouts_test.ts), so it can be read before the version is known.
 */
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

/** The fields of `_Py_DebugOffsets` pymem reads, as the target's CPython published them. */
export interface DebugOffsets extends DebugOffsetsHead {
  /** `_PyRuntime.interpreters.head`. */
  interpretersHead: number;
  /** PyInterpreterState: its size, `id` and `next`. */
  interp: { size: number; id: number; next: number };
  /** PyTypeObject.tp_name and tp_flags. */
  tpName: number;
  tpFlags: number;
  /** PyListObject.ob_item, PyDictObject.ma_keys / ma_values, sizeof(PyASCIIObject). */
  listItems: number;
  dictKeys: number;
  dictValues: number;
  asciiObject: number;
}

/** Where each field lies in `_Py_DebugOffsets` for one minor (lib/cpython's generated row). */
export type DebugOffsetsFields = NonNullable<CPythonLayout["debugOffsets"]>;

/**
 * Read `_Py_DebugOffsets` as a struct, at the field offsets generated from the minor's headers (`fields.size` bytes
 * from `_PyRuntime`); undefined without the cookie.
 */
export function readDebugOffsets(bytes: Uint8Array, fields: DebugOffsetsFields): DebugOffsets | undefined {
  const head = bytes.length >= fields.size ? parseDebugOffsetsHead(bytes) : undefined;
  if (!head) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u = (off: number) => Number(v.getBigUint64(off, true));
  return {
    ...head,
    interpretersHead: u(fields.runtimeInterpretersHead),
    interp: { size: u(fields.interpSize), id: u(fields.interpId), next: u(fields.interpNext) },
    tpName: u(fields.tpName),
    tpFlags: u(fields.tpFlags),
    listItems: u(fields.listItems),
    dictKeys: u(fields.dictKeys),
    dictValues: u(fields.dictValues),
    asciiObject: u(fields.asciiObject),
  };
}

/**
 * Where a library's own `_Py_DebugOffsets` disagrees with the row generated from its minor's headers, one line per
 * field ("tp_flags: the library says 176, the 3.14.10 headers 168"); empty when they agree. `only: "objects"` keeps
 * the fields pymem reads at the row's offsets whatever the library says (the object layout: classification); the
 * interpreter list is read at the library's own offsets, and a struct's size is not read at all.
 */
export function debugOffsetsMismatches(d: DebugOffsets, layout: CPythonLayout, only?: "objects"): string[] {
  const all: [string, number, number | undefined][] = [
    ["_PyRuntime.interpreters.head", d.interpretersHead, layout.runtime?.interpretersHead],
    ["sizeof(PyInterpreterState)", d.interp.size, layout.interp?.size],
    ["PyInterpreterState.id", d.interp.id, layout.interp?.id],
    ["PyInterpreterState.next", d.interp.next, layout.interp?.next],
    ["PyTypeObject.tp_name", d.tpName, layout.object.tpName],
    ["PyTypeObject.tp_flags", d.tpFlags, layout.object.tpFlags],
    ["PyListObject.ob_item", d.listItems, layout.object.listItems],
    ["PyDictObject.ma_keys", d.dictKeys, layout.object.dictKeys],
    ["PyDictObject.ma_values", d.dictValues, layout.object.dictValues],
    ["sizeof(PyASCIIObject)", d.asciiObject, layout.object.asciiObject],
  ];
  const pairs = only === "objects" ? all.filter(([name]) => /Object/.test(name)) : all;
  return pairs.filter(([, got, want]) => got !== want)
    .map(([name, got, want]) => `${name}: the library says ${got}, the ${layout.release} headers ${want}`);
}

/**
 * 3.13+: refuse a library whose own `_Py_DebugOffsets` (statically initialised: readable before it starts) disagree
 * with pymem's row for its minor on the object layout (a patched or unusually configured build): blocks would be
 * classified at the wrong offsets. Nothing to check for a minor without the struct or without a row.
 */
export function checkDebugOffsets(native: Native, minor: number): void {
  const known = cpythonIfKnown(minor);
  const fields = known?.layout.debugOffsets;
  if (!known || !fields) return;
  const runtime = native.dlsym("_PyRuntime");
  const bytes = runtime === 0n ? null : native.safeRead(runtime, fields.size);
  const d = bytes ? readDebugOffsets(bytes, fields) : undefined;
  if (!d) return; // no cookie: debugOffsets() reports none, as before
  const wrong = debugOffsetsMismatches(d, known.layout, "objects");
  if (wrong.length) {
    throw new PymemError(
      "UNSUPPORTED",
      `${native.path}: its _Py_DebugOffsets disagree with pymem's CPython 3.${minor} layout (a patched build?): ` +
        wrong.join("; "),
    );
  }
}
