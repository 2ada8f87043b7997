/**
 * Type objects seen from memory: is the pointer at a candidate object's `ob_type` a real type, and what does it say
 * about the block around it. Candidates are checked in batches (one readMany per round, not one read per pointer)
 * and remembered per address: a static type never moves; a heap type is re-checked by each classification.
 * @module
 */
import type { ObjectMemory, Range } from "./memory.ts";
import { type ObjectLayout, preHeaderSize, TPFLAGS, TYPE_BYTES } from "./layout.ts";

/** A validated type object. */
export interface TypeInfo {
  address: number;
  /** `tp_name` as stored: "dict", "collections.OrderedDict", "Session". */
  name: string;
  /** Low 32 bits of tp_flags (every flag this module uses is there). */
  flags: number;
  basicsize: number;
  itemsize: number;
  /** Bytes before the object in its block: PyGC_Head, and the 3.11+ pre-header. */
  preHeader: number;
  /** Fewest bytes an instance can occupy after its pre-header. */
  minSize: number;
  /** Py_TPFLAGS_HEAPTYPE: a class made at run time (its address may be reused once it is freed). */
  heapType: boolean;
  /** tp_dictoffset: where an instance keeps its __dict__ pointer (> 0: from the object's start; 0: none or managed). */
  dictoffset: number;
  /** tp_base: the type it derives from (0 for `object`). */
  base: number;
  /**
   * For a type whose tp_alloc makes some instances smaller than tp_basicsize (a naive `datetime.time` or
   * `datetime.datetime`), the offset from the object of the byte that is 0 in exactly those (`hastzinfo`); else 0.
   */
  shortFlagAt: number;
}

/** Longest tp_name read, in bytes; longer names are cut here. */
export const NAME_MAX = 200;
/** A metatype's own type is checked to this depth before giving up (type → metatype → its metatype …). */
const META_DEPTH = 4;
/**
 * Static types whose tp_alloc gives a naive instance (hastzinfo 0) only the struct without its trailing tzinfo
 * pointer (Modules/_datetimemodule.c, time_alloc / datetime_alloc: sizeof(_PyDateTime_BaseTime) = 32 of
 * PyDateTime_Time's 40, sizeof(_PyDateTime_BaseDateTime) = 40 of PyDateTime_DateTime's 48; 3.8–3.15): bytes a naive
 * instance lacks. A subclass allocates tp_basicsize (PyType_GenericAlloc) and is not listed.
 */
const NAIVE_DATETIME = new Map([["datetime.time", 8], ["datetime.datetime", 8]]);
/** Offset of `hastzinfo` (after PyObject_HEAD and the cached hash, `_PyTZINFO_HEAD`). */
const DATETIME_HASTZINFO = 24;
/** Longest `__module__` read (characters), and most entries of a class's namespace searched for it. */
const MODULE_MAX = 120;
const MODULE_ENTRIES = 4096;
/** Entries of a namespace searched first (a class body's begins with __module__). */
const MODULE_FIRST = 2;
/** Longest tp_base chain followed (a class hierarchy deeper than this is not taken for a container's subclass). */
const BASE_DEPTH = 64;

const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const ptr = (b: Uint8Array, o: number) => (u32(b, o) >>> 0) + (u32(b, o + 4) >>> 0) * 0x1_0000_0000;
const i64 = (b: Uint8Array, o: number) => {
  const hi = u32(b, o + 4) | 0;
  return hi * 0x1_0000_0000 + (u32(b, o) >>> 0);
};

/**
 * A type's name from its bytes; `cut` when they stop at the bound rather than at a NUL. A cut name ends in "…"
 * instead of the part of a character the bound split (so it never ends in U+FFFD); other invalid UTF-8 reads as
 * U+FFFD, as Python's own "replace" does.
 */
export function decodeName(bytes: Uint8Array, cut: boolean): string {
  let end = bytes.length;
  if (cut) {
    // Back over continuation bytes to the lead byte of the last character; drop it if its sequence is incomplete.
    let lead = end - 1;
    while (lead >= 0 && end - lead < 4 && (bytes[lead] & 0xc0) === 0x80) lead--;
    if (lead >= 0) {
      const b = bytes[lead];
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (end - lead < need) end = lead;
    }
  }
  const text = new TextDecoder("utf-8").decode(bytes.subarray(0, end));
  return cut ? `${text}…` : text;
}

/** A user-space pointer that could be an object's (aligned, non-null, below 2^47). */
export function plausiblePointer(p: number): boolean {
  return p > 4096 && p < 0x8000_0000_0000 && p % 8 === 0;
}

/**
 * The type objects of one target. `byAddress` maps a candidate address to its id in `types`, or -1 when it is not a
 * type. `inHeap(p)` tells whether p lies in an obmalloc arena: a type object never does (a heap type is larger than
 * 512 bytes, so PyObject_Malloc hands it to the raw allocator), which rejects most non-pointers without a read.
 */
export class TypeTable {
  readonly types: TypeInfo[] = [];
  readonly byAddress = new Map<number, number>();
  readonly #mem: ObjectMemory;
  readonly #layout: ObjectLayout;
  readonly #typeType: number;
  readonly #unicodeType: number;
  /** Metatypes known to be valid (their type chain ends at PyType_Type). */
  readonly #metas = new Map<number, boolean>();
  /** tp_base of every type read (validated types, and the bases met on their chains). */
  readonly #bases = new Map<number, number>();

  constructor(mem: ObjectMemory, layout: ObjectLayout) {
    this.#mem = mem;
    this.#layout = layout;
    this.#typeType = mem.symbol("PyType_Type");
    this.#unicodeType = mem.symbol("PyUnicode_Type");
    if (this.#typeType) this.#metas.set(this.#typeType, true);
  }

  /** Whether PyType_Type was found (without it no candidate can be validated). */
  get usable(): boolean {
    return this.#typeType !== 0;
  }

  /** Address of an exported type object (PyList_Type, …), 0 when absent. */
  symbol(name: string): number {
    return this.#mem.symbol(name);
  }

  /** Validate every address in `candidates` not decided yet; afterwards each has an entry in `byAddress`. */
  resolve(candidates: Iterable<number>, inHeap: (p: number) => boolean): void {
    const todo: number[] = [];
    for (const c of candidates) {
      if (this.byAddress.has(c)) continue;
      if (!this.#typeType || !plausiblePointer(c) || inHeap(c) || !this.#mem.readable(c, TYPE_BYTES)) {
        this.byAddress.set(c, -1);
      } else todo.push(c);
    }
    if (todo.length === 0) return;
    const got = this.#mem.readMany(todo.map((address): Range => ({ address, length: TYPE_BYTES })));
    // Round 1: each candidate's header; the metatypes not known yet are read in further rounds.
    const heads = new Map<number, Uint8Array>();
    todo.forEach((address, i) => {
      if (!got.ok[i]) return void this.byAddress.set(address, -1);
      heads.set(address, got.bytes.subarray(got.offsets[i], got.offsets[i] + TYPE_BYTES));
    });
    this.#resolveMetas([...heads.values()].map((h) => ptr(h, 8)), inHeap);
    const named: { address: number; head: Uint8Array; name: number }[] = [];
    for (const [address, head] of heads) {
      const info = this.#check(head);
      if (!info) {
        this.byAddress.set(address, -1);
        continue;
      }
      named.push({ address, head, name: info });
    }
    const names = this.#readNames(named.map((n) => n.name));
    named.forEach((n, i) => {
      const name = names[i];
      if (name === null) return void this.byAddress.set(n.address, -1);
      const flags = u32(n.head, this.#layout.tpFlags) >>> 0;
      const basicsize = i64(n.head, this.#layout.tpBasicsize);
      const preHeader = preHeaderSize(flags, this.#layout);
      const naive = (flags & TPFLAGS.HEAPTYPE) === 0 ? NAIVE_DATETIME.get(name) : undefined;
      const minSize = n.address === this.#unicodeType
        ? this.#layout.asciiObject + 1
        : naive
        ? basicsize - naive
        : basicsize;
      const id = this.types.length;
      this.types.push({
        address: n.address,
        name,
        flags,
        basicsize,
        itemsize: i64(n.head, this.#layout.tpItemsize),
        preHeader,
        minSize,
        heapType: (flags & TPFLAGS.HEAPTYPE) !== 0,
        dictoffset: i64(n.head, this.#layout.tpDictoffset),
        base: ptr(n.head, this.#layout.tpBase),
        shortFlagAt: naive ? DATETIME_HASTZINFO : 0,
      });
      this.byAddress.set(n.address, id);
      this.#bases.set(n.address, this.types[id].base);
    });
  }

  /** The fields of a candidate type that must make sense; the tp_name pointer when they do, else 0. */
  #check(head: Uint8Array): number {
    const l = this.#layout;
    if (this.#metas.get(ptr(head, 8)) !== true) return 0;
    const refLo = u32(head, 0) >>> 0, refHi = u32(head, 4) >>> 0;
    if (refLo === 0 || (l.refcntHasFlags ? (refHi & 0xffff) !== 0 : refHi !== 0)) return 0;
    const flags = u32(head, l.tpFlags) >>> 0;
    // A static type is used unreadied by its own module at times (3.8's functools._lru_list_elem, made with
    // PyObject_New and never given to PyType_Ready): its ob_type is PyType_Type from the C initializer already.
    if ((flags & TPFLAGS.READY) === 0 && ((flags & TPFLAGS.HEAPTYPE) !== 0 || ptr(head, 8) !== this.#typeType)) {
      return 0;
    }
    const basicsize = i64(head, l.tpBasicsize), itemsize = i64(head, l.tpItemsize);
    if (basicsize < 16 || basicsize > 1 << 24 || itemsize < 0 || itemsize > 1 << 16) return 0;
    const name = ptr(head, l.tpName);
    return name > 4096 && name < 0x8000_0000_0000 ? name : 0;
  }

  /**
   * For each type id in `ids`, the first of `roots` on its tp_base chain (the type itself included), or 0: which
   * built-in container a subclass (OrderedDict, Counter, a user's `class Rows(list)`) shares its layout with. The
   * bases not met as an object's type are read a round at a time; a chain that leaves plausible memory ends there.
   */
  baseAmong(ids: number[], roots: ReadonlySet<number>, inHeap: (p: number) => boolean): number[] {
    const out = ids.map(() => 0);
    const at = ids.map((id) => this.types[id].address);
    let todo = ids.map((_, i) => i);
    for (let depth = 0; depth < BASE_DEPTH && todo.length; depth++) {
      const unread = new Set<number>();
      for (const i of todo) if (!roots.has(at[i]) && !this.#bases.has(at[i])) unread.add(at[i]);
      const readable = [...unread].filter((a) =>
        plausiblePointer(a) && !inHeap(a) && this.#mem.readable(a, TYPE_BYTES)
      );
      const got = this.#mem.readMany(readable.map((a) => ({ address: a + this.#layout.tpBase, length: 8 })));
      readable.forEach((a, k) => this.#bases.set(a, got.ok[k] ? ptr(got.bytes, got.offsets[k]) : 0));
      const next: number[] = [];
      for (const i of todo) {
        if (roots.has(at[i])) {
          out[i] = at[i];
          continue;
        }
        const b = this.#bases.get(at[i]) ?? 0;
        if (b === 0) continue;
        at[i] = b;
        next.push(i);
      }
      todo = next;
    }
    return out;
  }

  /**
   * The `__module__` of each class in `ids`, read from its namespace (tp_dict: the dict, its keys object, the
   * entries up to dk_nentries, the one whose key is the str "__module__"), or null where that cannot be read or is
   * not an ASCII str of at most MODULE_MAX characters. Every step is a batch over all the classes.
   */
  modules(ids: number[]): (string | null)[] {
    const l = this.#layout, dictType = this.#mem.symbol("PyDict_Type");
    const out = ids.map((): string | null => null);
    if (!dictType || !this.#unicodeType) return out;
    const dicts = this.#readAll(ids.map((id) => ({ address: this.types[id].address + l.tpDict, length: 8 })))
      .map((b) => (b ? ptr(b, 0) : 0));
    const heads = this.#readAll(dicts.map((d) => ({ address: d, length: l.dictKeys + 8 })));
    const keys = heads.map((h) => (h && ptr(h, 8) === dictType ? ptr(h, l.dictKeys) : 0));
    const kh = this.#readAll(keys.map((k) => ({ address: k, length: l.dictKeysIndices })));
    // Where each namespace's entries are, their size, and the offset of the key in one.
    const tables = kh.map((h, i) => {
      if (!h) return null;
      const n = i64(h, l.dictKeysNentries);
      let size: number, index: number, entry = l.dictEntry, key = 8;
      if (l.dictKeysLog2) {
        const log2 = h[l.dictKeysSize];
        size = 2 ** log2;
        index = 2 ** h[l.dictKeysIndexBytes];
        if (log2 > 30 || index !== size * (log2 < 8 ? 1 : log2 < 16 ? 2 : log2 < 32 ? 4 : 8)) return null;
        if (h[l.dictKeysKind] !== 0) [entry, key] = [l.dictUnicodeEntry, 0];
      } else {
        size = i64(h, l.dictKeysSize);
        if (size < 8 || (size & (size - 1)) !== 0 || size > 1 << 30) return null;
        index = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
      }
      if (n <= 0 || n > MODULE_ENTRIES || n > size) return null;
      return { address: keys[i] + l.dictKeysIndices + index, n, entry, key };
    });
    // A class body's namespace starts with __module__ (then __qualname__): the first entries are searched first, the
    // rest only for the classes whose first entries did not have it.
    const search = (first: number, last: (n: number) => number) => {
      const ranges = tables.map((t, i) =>
        t && out[i] === null && last(t.n) > first
          ? { address: t.address + first * t.entry, length: (last(t.n) - first) * t.entry }
          : null
      );
      const entries = this.#readAll(ranges);
      // Every key read, as a str "__module__" would be (compact ASCII: its characters after the struct, then a NUL).
      const pairs: { i: number; key: number; value: number }[] = [];
      entries.forEach((b, i) => {
        const t = tables[i];
        if (!b || !t) return;
        for (let e = 0; e < b.length / t.entry; e++) {
          const key = ptr(b, e * t.entry + t.key);
          if (key) pairs.push({ i, key, value: ptr(b, e * t.entry + t.key + 8) });
        }
      });
      const wanted = new TextEncoder().encode("__module__\0");
      const names = this.#readAll(pairs.map((p) => ({ address: p.key, length: l.asciiObject + wanted.length })));
      const found = pairs.filter((_p, k) => {
        const b = names[k];
        return b && this.#isStr(b, wanted.length - 1) && wanted.every((c, j) => b[l.asciiObject + j] === c);
      });
      const values = this.#readAll(found.map((p) => ({ address: p.value, length: l.asciiObject + MODULE_MAX + 1 })));
      found.forEach((p, k) => {
        const b = values[k];
        if (!b || out[p.i] !== null) return;
        const n = i64(b, 16);
        if (n < 1 || n > MODULE_MAX || !this.#isStr(b, n) || b[l.asciiObject + n] !== 0) return;
        const chars = b.subarray(l.asciiObject, l.asciiObject + n);
        if (chars.every((c) => c >= 0x20 && c < 0x7f)) out[p.i] = String.fromCharCode(...chars);
      });
    };
    search(0, (n) => Math.min(n, MODULE_FIRST));
    search(MODULE_FIRST, (n) => n);
    return out;
  }

  /** Whether `b` starts with a str object (its type is `str`) of `length` characters. */
  #isStr(b: Uint8Array, length: number): boolean {
    return ptr(b, 8) === this.#unicodeType && i64(b, 16) === length;
  }

  /** Each range's bytes, or null where it is absent, implausible, unreadable or failed. */
  #readAll(ranges: (Range | null)[]): (Uint8Array | null)[] {
    const todo: number[] = [];
    ranges.forEach((r, i) => {
      if (r && plausiblePointer(r.address) && this.#mem.readable(r.address, r.length)) todo.push(i);
    });
    const out = ranges.map((): Uint8Array | null => null);
    if (todo.length === 0) return out;
    const got = this.#mem.readMany(todo.map((i) => ranges[i]!));
    todo.forEach((i, k) => {
      if (got.ok[k]) out[i] = got.bytes.subarray(got.offsets[k], got.offsets[k] + ranges[i]!.length);
    });
    return out;
  }

  /** Decide every metatype in `metas`: valid when it is a type (TYPE_SUBCLASS) whose own type is a valid metatype. */
  #resolveMetas(metas: number[], inHeap: (p: number) => boolean): void {
    let pending = [...new Set(metas)].filter((m) => !this.#metas.has(m));
    const chain = new Map<number, number>(); // metatype → its own type, for the ones read
    for (let depth = 0; depth < META_DEPTH && pending.length; depth++) {
      const readable = pending.filter((m) => plausiblePointer(m) && !inHeap(m) && this.#mem.readable(m, TYPE_BYTES));
      for (const m of pending) if (!readable.includes(m)) this.#metas.set(m, false);
      const got = this.#mem.readMany(readable.map((address) => ({ address, length: TYPE_BYTES })));
      const next: number[] = [];
      readable.forEach((m, i) => {
        if (!got.ok[i]) return void this.#metas.set(m, false);
        const h = got.bytes.subarray(got.offsets[i], got.offsets[i] + TYPE_BYTES);
        const flags = u32(h, this.#layout.tpFlags) >>> 0;
        if ((flags & TPFLAGS.TYPE_SUBCLASS) === 0 || (flags & TPFLAGS.READY) === 0) {
          return void this.#metas.set(m, false);
        }
        const own = ptr(h, 8);
        chain.set(m, own);
        if (!this.#metas.has(own)) next.push(own);
      });
      pending = [...new Set(next)];
    }
    for (const m of pending) this.#metas.set(m, false);
    // Settle the chains read: a metatype is valid when its own type is.
    for (let changed = true; changed;) {
      changed = false;
      for (const [m, own] of chain) {
        if (this.#metas.has(m)) continue;
        const v = this.#metas.get(own);
        if (v === undefined) continue;
        this.#metas.set(m, v);
        changed = true;
      }
    }
    for (const m of chain.keys()) if (!this.#metas.has(m)) this.#metas.set(m, false);
  }

  /**
   * NUL-terminated names, bounded by NAME_MAX bytes (a longer one is cut there, and ends in "…"); null for an
   * unreadable one. Reads stop at page ends. Any bytes are a name: a class's is its __name__ in UTF-8, which may hold
   * tabs, newlines, escape sequences or nothing at all, and a C type's is whatever its author wrote.
   */
  #readNames(addresses: number[]): (string | null)[] {
    const out: (string | null)[] = addresses.map(() => null);
    const parts: number[][] = addresses.map(() => []);
    let todo = addresses.map((a, i) => ({ i, at: a })).filter(({ at }) => this.#mem.readable(at, 1));
    while (todo.length) {
      // One byte past the bound: a name of exactly NAME_MAX bytes is seen with its NUL, not taken for a cut one.
      todo = todo.filter(({ at }) => this.#mem.readable(at, Math.min(NAME_MAX + 1, 4096 - (at % 4096))));
      if (!todo.length) break;
      const ranges = todo.map(({ at }) => ({ address: at, length: Math.min(NAME_MAX + 1, 4096 - (at % 4096)) }));
      const got = this.#mem.readMany(ranges);
      const next: typeof todo = [];
      todo.forEach(({ i, at }, k) => {
        if (!got.ok[k]) return;
        const chunk = got.bytes.subarray(got.offsets[k], got.offsets[k] + ranges[k].length);
        const nul = chunk.indexOf(0);
        const acc = parts[i];
        for (const b of nul < 0 ? chunk : chunk.subarray(0, nul)) acc.push(b);
        if (nul < 0 && acc.length <= NAME_MAX) return void next.push({ i, at: at + chunk.length });
        out[i] = decodeName(Uint8Array.from(acc.slice(0, NAME_MAX)), acc.length > NAME_MAX);
      });
      todo = next;
    }
    return out;
  }
}
