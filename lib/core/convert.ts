/**
 * Python objects to JavaScript values, and a pending Python exception to a `PythonError`. Both run with the GIL
 * held, on the interpreter that owns the objects.
 * @module
 */
import { PythonError } from "../errors.ts";
import { cstr, type Native, utf8 } from "./native.ts";

/** What `eval()` returns: int → number (bigint beyond 2^53), float, str, bool, None → null, bytes → a copy. */
export type PyValue = number | bigint | string | boolean | null | Uint8Array;

const Py_file_input = 257;
const OB_TYPE = 8n;
const TP_FLAGS = 168n;
const Py_TPFLAGS_LONG_SUBCLASS = 1n << 24n;
const Py_TPFLAGS_BYTES_SUBCLASS = 1n << 27n;
const Py_TPFLAGS_UNICODE_SUBCLASS = 1n << 28n;

export class PyConverter {
  readonly #native: Native;
  readonly #none: bigint;
  readonly #bool: bigint;
  readonly #float: bigint;

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
      const v: bigint = api.PyLong_AsLongLongAndOverflow(o, new Uint8Array(overflow.buffer));
      if (overflow[0] !== 0) return BigInt(this.#text(api.PyObject_Str(o), globals));
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
      return this.#native.bytes(out[0], Number(out[1])).slice();
    }
    return this.#text(api.PyObject_Repr(o), globals);
  }

  /** UTF-8 text of a str object (borrowed). */
  #utf8(o: bigint, globals: bigint): string {
    const size = new BigInt64Array(1);
    const p = this.#native.api.PyUnicode_AsUTF8AndSize(o, new Uint8Array(size.buffer));
    if (p === 0n) throw this.fetchError(globals);
    return utf8(this.#native.bytes(p, Number(size[0])));
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
   * Take the pending Python exception (GIL held) and turn it into a PythonError, formatting it with the builtins
   * of `globals` (those of the interpreter that raised it: another interpreter's objects must not be touched).
   */
  fetchError(globals: bigint): PythonError {
    const api = this.#native.api;
    const slots = new BigUint64Array(3);
    const b = new Uint8Array(slots.buffer);
    const [t, v, tb] = [b.subarray(0, 8), b.subarray(8, 16), b.subarray(16, 24)];
    api.PyErr_Fetch(t, v, tb);
    if (slots[0] === 0n) return new PythonError("SystemError", "error return without exception set", "");
    api.PyErr_NormalizeException(t, v, tb);
    const scratch = api.PyDict_New();
    try {
      api.PyDict_SetItemString(scratch, cstr("__builtins__"), api.PyDict_GetItemString(globals, cstr("__builtins__")));
      api.PyDict_SetItemString(scratch, cstr("t"), slots[0]);
      api.PyDict_SetItemString(scratch, cstr("v"), slots[1] || this.#none);
      api.PyDict_SetItemString(scratch, cstr("tb"), slots[2] || this.#none);
      const script = "import traceback\nname = t.__name__\nmsg = str(v)\n" +
        "text = ''.join(traceback.format_exception(t, v, tb))\n";
      const r = api.PyRun_StringFlags(cstr(script), Py_file_input, scratch, scratch, 0n);
      if (r === 0n) {
        api.PyErr_Clear();
        return new PythonError("Exception", "(the exception could not be formatted)", "");
      }
      api.Py_DecRef(r);
      const get = (k: string) => this.#utf8(api.PyDict_GetItemString(scratch, cstr(k)), globals);
      return new PythonError(get("name"), get("msg"), get("text").trimEnd());
    } finally {
      api.Py_DecRef(scratch);
      for (const s of slots) if (s) api.Py_DecRef(s);
    }
  }
}
