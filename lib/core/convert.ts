/**
 * Python objects to JavaScript values, and a pending Python exception to a `PythonError`. Both run with the GIL
 * held, on the interpreter that owns the objects.
 * @module
 */
import { PythonError } from "../errors.ts";
import { checkViewLength, cstr, type Native, utf8 } from "./native.ts";

/** What `eval()` returns: int → number (bigint beyond 2^53), float, str, bool, None → null, bytes → a copy. */
export type PyValue = number | bigint | string | boolean | null | Uint8Array;

const Py_file_input = 257;
// PyTypeObject.tp_flags sits at offset 168 and tp_name at 24 in every release build since 3.0; ob_type at 8 in
// PyObject.
const OB_TYPE = 8n;
const TP_FLAGS = 168n;
const TP_NAME = 24n;
const Py_TPFLAGS_LONG_SUBCLASS = 1n << 24n;
const Py_TPFLAGS_BYTES_SUBCLASS = 1n << 27n;
const Py_TPFLAGS_UNICODE_SUBCLASS = 1n << 28n;

export class PyConverter {
  readonly #native: Native;
  readonly #none: bigint;
  readonly #bool: bigint;
  readonly #float: bigint;
  #systemExit = 0n;

  constructor(native: Native) {
    this.#native = native;
    this.#none = native.dlsym("_Py_NoneStruct");
    this.#bool = native.dlsym("PyBool_Type");
    this.#float = native.dlsym("PyFloat_Type");
  }

  /** Convert a Python object (borrowed; GIL held) to a JavaScript value. */
  toJS(o: bigint, globals: bigint): PyValue {
    const { api } = this.#native;
    if (o === this.#none) return null;
    const type = this.#native.u64(o + OB_TYPE);
    if (type === this.#bool) return api.PyObject_IsTrue(o) === 1;
    const flags = this.#native.u64(type + TP_FLAGS);
    if (flags & Py_TPFLAGS_LONG_SUBCLASS) {
      const overflow = new Int32Array(2);
      const v = api.PyLong_AsLongLongAndOverflow(o, new Uint8Array(overflow.buffer));
      // Beyond 64 bits: through hex, which CPython's 4,300-digit limit on decimal text does not cover, and which
      // reads the int's value, not what a subclass's __str__ says.
      if (overflow[0] !== 0) {
        const hex = this.#text(api.PyNumber_ToBase(o, 16), globals);
        return hex.startsWith("-") ? -BigInt(hex.slice(1)) : BigInt(hex);
      }
      if (v === -1n && api.PyErr_Occurred() !== 0n) throw this.fetchError(globals);
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    }
    if (type === this.#float || api.PyType_IsSubtype(type, this.#float)) {
      return api.PyFloat_AsDouble(o);
    }
    if (flags & Py_TPFLAGS_UNICODE_SUBCLASS) return this.#utf8(o, globals);
    if (flags & Py_TPFLAGS_BYTES_SUBCLASS) {
      const out = new BigUint64Array(2);
      const outBytes = new Uint8Array(out.buffer);
      if (api.PyBytes_AsStringAndSize(o, outBytes.subarray(0, 8), outBytes.subarray(8, 16)) !== 0) {
        throw this.fetchError(globals);
      }
      checkViewLength(Number(out[1]), "a bytes object");
      return this.#native.bytes(out[0], Number(out[1])).slice();
    }
    return this.#text(api.PyObject_Repr(o), globals);
  }

  /** UTF-8 text of a str object (borrowed). */
  #utf8(o: bigint, globals: bigint): string {
    const size = new BigInt64Array(1);
    const p = this.#native.api.PyUnicode_AsUTF8AndSize(o, new Uint8Array(size.buffer));
    if (p === 0n) throw this.fetchError(globals);
    const n = Number(size[0]);
    checkViewLength(n, "a str");
    try {
      return utf8(this.#native.bytes(p, n));
    } catch (e) {
      // Each engine has its own longest string (V8: 2^29−24 characters) and its own error type for it.
      throw new RangeError(`a str of ${n} UTF-8 bytes is longer than this runtime's longest string`, { cause: e });
    }
  }

  /** Text of a new reference to a str (consumed), e.g. the result of PyObject_Repr. */
  #text(o: bigint, globals: bigint): string {
    if (o === 0n) throw this.fetchError(globals);
    try {
      return this.#utf8(o, globals);
    } finally {
      this.#native.api.Py_DecRef(o);
    }
  }

  /**
   * Take the pending Python exception (GIL held) and turn it into a PythonError. The type name is read from the type
   * object itself and `str(v)` is taken on its own, so the error keeps what can be read when `__str__` raises, or
   * when `traceback` cannot be imported (no builtins, a broken sys.path): only the traceback is lost then. The
   * traceback is formatted with the builtins of the interpreter that raised it (another interpreter's objects must
   * not be touched), not the globals' `__builtins__`, which user code may have deleted or replaced.
   */
  fetchError(_globals: bigint): PythonError {
    const api = this.#native.api;
    const slots = new BigUint64Array(3);
    const b = new Uint8Array(slots.buffer);
    const [t, v, tb] = [b.subarray(0, 8), b.subarray(8, 16), b.subarray(16, 24)];
    api.PyErr_Fetch(t, v, tb);
    if (slots[0] === 0n) return new PythonError("SystemError", "error return without exception set", "");
    api.PyErr_NormalizeException(t, v, tb);
    try {
      // PyTypeObject.tp_name (offset 24 in every version): "module.Name" for static types, "Name" for classes.
      const name = this.#native.cstring(this.#native.u64(slots[0] + TP_NAME)).split(".").pop()!;
      const msg = slots[1] ? this.#strOrNull(api.PyObject_Str(slots[1])) ?? `<exception str() failed>` : "";
      return new PythonError(name, msg, this.#formatTraceback(slots), this.#exitCode(slots[0], slots[1]));
    } finally {
      for (const s of slots) if (s) api.Py_DecRef(s);
    }
  }

  /** SystemExit's `code` (see PythonError.exitCode), undefined for any other exception (GIL held). */
  #exitCode(type: bigint, value: bigint): number | string | null | undefined {
    const api = this.#native.api;
    this.#systemExit ||= this.#native.u64(this.#native.dlsym("PyExc_SystemExit"));
    if (!value || api.PyErr_GivenExceptionMatches(type, this.#systemExit) !== 1) return undefined;
    const code = api.PyObject_GetAttrString(value, cstr("code"));
    if (code === 0n) {
      api.PyErr_Clear();
      return undefined;
    }
    try {
      if (code === this.#none) return null;
      const flags = this.#native.u64(this.#native.u64(code + OB_TYPE) + TP_FLAGS);
      if (flags & Py_TPFLAGS_LONG_SUBCLASS) {
        const overflow = new Int32Array(2);
        const v = api.PyLong_AsLongLongAndOverflow(code, new Uint8Array(overflow.buffer));
        if (overflow[0] === 0 && !(v === -1n && api.PyErr_Occurred() !== 0n)) return Number(BigInt.asIntN(32, v));
        api.PyErr_Clear();
        return -1; // C's (int)PyLong_AsLong fails for Python too: -1, i.e. status 255
      }
      return this.#strOrNull(api.PyObject_Str(code)) ?? "";
    } finally {
      api.Py_DecRef(code);
    }
  }

  /** `traceback.format_exception(t, v, tb)` as text, "" when it cannot be produced (GIL held, no error pending). */
  #formatTraceback(slots: BigUint64Array): string {
    const api = this.#native.api;
    const builtins = api.PyEval_GetBuiltins();
    const scratch = api.PyDict_New();
    if (scratch === 0n || builtins === 0n) {
      api.PyErr_Clear();
      if (scratch) api.Py_DecRef(scratch);
      return "";
    }
    try {
      api.PyDict_SetItemString(scratch, cstr("__builtins__"), builtins);
      api.PyDict_SetItemString(scratch, cstr("t"), slots[0]);
      api.PyDict_SetItemString(scratch, cstr("v"), slots[1] || this.#none);
      api.PyDict_SetItemString(scratch, cstr("tb"), slots[2] || this.#none);
      const script = "import traceback\ntext = ''.join(traceback.format_exception(t, v, tb))\n";
      const r = api.PyRun_StringFlags(cstr(script), Py_file_input, scratch, scratch, 0n);
      if (r === 0n) {
        api.PyErr_Clear();
        return "";
      }
      api.Py_DecRef(r);
      const text = api.PyDict_GetItemString(scratch, cstr("text"));
      if (text === 0n) return "";
      api.Py_IncRef(text);
      return (this.#strOrNull(text) ?? "").trimEnd();
    } finally {
      api.Py_DecRef(scratch);
    }
  }

  /** UTF-8 text of a new reference to a str (consumed); null, with the error cleared, if there is none. */
  #strOrNull(o: bigint): string | null {
    const api = this.#native.api;
    if (o === 0n) {
      api.PyErr_Clear();
      return null;
    }
    try {
      const size = new BigInt64Array(1);
      const p = api.PyUnicode_AsUTF8AndSize(o, new Uint8Array(size.buffer));
      if (p === 0n) {
        api.PyErr_Clear();
        return null;
      }
      return utf8(this.#native.bytes(p, Number(size[0])));
    } finally {
      api.Py_DecRef(o);
    }
  }
}
