/**
 * What an object looks like inside a pymalloc block, per CPython minor version (x86-64 / aarch64 LP64, GIL builds):
 * the pre-header before the object, the PyTypeObject fields a candidate type is checked with, and the fields of
 * the built-in containers whose buffers can be named. One row per version, built from lib/cpython's generated rows
 * (offsetof against each release's Include/object.h, Include/internal/pycore_object.h and Include/cpython/*object.h);
 * tests/objects_test.ts checks the type fields against `type.__flags__` / `__basicsize__` / `__itemsize__` on every
 * run, and on 3.13+ tests/cpython_layouts_test.ts checks them against the library's own `_Py_DebugOffsets`.
 * @module
 */
import type { CPythonLayout } from "../cpython/types.ts";
import { cpython, KNOWN_MINORS, KNOWN_RANGE } from "../cpython/versions.ts";
import { PymemError } from "../errors.ts";

/**
 * One version's row: the generated object fields (lib/cpython/types.ts says what each is), the minor, whether the
 * refcount word carries flags, and the values pointer of a managed dict as an offset with its tagging.
 */
export interface ObjectLayout extends Omit<CPythonLayout["object"], "instanceValues" | "instanceValuesTagged"> {
  minor: number;
  /** 3.14+: the top 16 bits of ob_refcnt are ob_flags (the 32-bit refcount and a 16-bit overflow are below). */
  refcntHasFlags: boolean;
  /** 3.12+: immortal objects' counts sit at 2^31 and above. */
  immortalRefcounts: boolean;
  /** 3.11/3.12: `CPythonLayout["object"].instanceValues` with its tagging (3.12: tagged). */
  instanceValues?: { offset: number; tagged: boolean };
}

/** Py_TPFLAGS_* bits used here (unchanged 3.8–3.15). */
export const TPFLAGS = {
  MANAGED_WEAKREF: 1 << 3,
  MANAGED_DICT: 1 << 4,
  HEAPTYPE: 1 << 9,
  READY: 1 << 12,
  HAVE_GC: 1 << 14,
  /** Bit 31 (Py_TPFLAGS_TYPE_SUBCLASS): set on `type` and every metatype. */
  TYPE_SUBCLASS: 0x8000_0000,
} as const;

/** The object row of a generated layout. */
function objectRow(minor: number): ObjectLayout {
  const { layout, caps } = cpython(minor);
  const { managedDict, instanceValues, instanceValuesTagged, ...o } = layout.object;
  const row: ObjectLayout = {
    minor,
    ...o,
    refcntHasFlags: caps.refcntHasFlags,
    immortalRefcounts: caps.immortalRefcounts,
  };
  if (managedDict !== undefined) row.managedDict = managedDict;
  if (instanceValues !== undefined) row.instanceValues = { offset: instanceValues, tagged: instanceValuesTagged === 1 };
  return row;
}

const ROWS: Record<number, ObjectLayout> = Object.fromEntries(KNOWN_MINORS.map((m) => [m, objectRow(m)]));

/** The object layout of CPython 3.minor, or a PymemError naming the version. */
export function objectLayoutFor(minor: number): ObjectLayout {
  const row = ROWS[minor];
  if (!row) {
    throw new PymemError(
      "UNSUPPORTED",
      `pymem has no object layout for CPython 3.${minor} (block classification knows ${KNOWN_RANGE})`,
    );
  }
  return row;
}

/**
 * Bytes of a PyTypeObject that classification reads: up to and including `tp_dictoffset`, the last field it uses,
 * in the version where that lies furthest.
 */
export const TYPE_BYTES = Math.max(...Object.values(ROWS).map((r) => r.tpDictoffset + 8));

/** Bytes before the object in its block, for a type with these flags (`_PyType_PreHeaderSize`). */
export function preHeaderSize(flags: number, layout: ObjectLayout): number {
  return ((flags & TPFLAGS.HAVE_GC) !== 0 ? layout.gcHead : 0) + ((flags & layout.preHeaderFlags) !== 0 ? 16 : 0);
}
