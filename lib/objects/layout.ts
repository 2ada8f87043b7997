/**
 * What an object looks like inside a pymalloc block, per CPython minor version (x86-64 / aarch64 LP64, GIL builds):
 * the pre-header before the object, the PyTypeObject fields a candidate type is checked with, and the fields of
 * the built-in containers whose buffers can be named. One row per version, built from lib/cpython's generated rows
 * (offsetof against each release's Include/object.h, Include/internal/pycore_object.h and Include/cpython/*object.h);
 * tests/objects_test.ts checks the type fields against `type.__flags__` / `__basicsize__` / `__itemsize__` on every
 * run, and on 3.13+ tests/cpython_layouts_test.ts checks them against the library's own `_Py_DebugOffsets`.
 * @module
 */
import { cpython, KNOWN_MINORS, KNOWN_RANGE } from "../cpython/versions.ts";
import { PymemError } from "../errors.ts";

export interface ObjectLayout {
  minor: number;
  /** sizeof(PyGC_Head): before every object of a Py_TPFLAGS_HAVE_GC type. */
  gcHead: number;
  /**
   * Type flags that add two more words of pre-header (3.11: MANAGED_DICT; 3.12+: MANAGED_DICT | MANAGED_WEAKREF,
   * i.e. Py_TPFLAGS_PREHEADER); 0 before 3.11.
   */
  preHeaderFlags: number;
  /** 3.14+: the top 16 bits of ob_refcnt are ob_flags (the 32-bit refcount and a 16-bit overflow are below). */
  refcntHasFlags: boolean;
  /** PyTypeObject field offsets. */
  tpName: number;
  tpBasicsize: number;
  tpItemsize: number;
  tpFlags: number;
  /** tp_base: the chain a subclass is followed up to the built-in container whose layout its instances share. */
  tpBase: number;
  tpDictoffset: number;
  /** sizeof(PyASCIIObject): the smallest str (a compact ASCII one is this plus its characters and a NUL). */
  asciiObject: number;
  /** Offsets of the pointers to the buffers of the built-in containers (PyListObject.ob_item, …). */
  listItems: number;
  dictKeys: number;
  dictValues: number;
  setTable: number;
  /** PyODictObject.od_fast_nodes (od_fast_nodes_size follows it): after the PyDictObject and od_first, od_last. */
  odictFastNodes: number;
  /**
   * 3.11/3.12: where an instance of a MANAGED_DICT type keeps the pointer to its values array (a buffer of its own),
   * relative to the object: 3.11 `obj - 32` (`_PyObject_ValuesPointer`); 3.12 `obj - 24`, tagged (a values pointer
   * is stored minus 1, with the low bit set; an untagged word is the dict). 3.13+ keep the values inline.
   */
  instanceValues?: { offset: number; tagged: boolean };
  /**
   * 3.11+: where an instance of a MANAGED_DICT type keeps its materialized __dict__, relative to the object (-24:
   * 3.11 `_PyObject_ManagedDictPointer`; 3.12 the untagged word of `_PyObject_DictOrValuesPointer`; 3.13+
   * `MANAGED_DICT_OFFSET`).
   */
  managedDict?: number;
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
  const row: ObjectLayout = { minor, ...o, refcntHasFlags: caps.refcntHasFlags };
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
