/**
 * Which allocator an attached process's object domain uses ("pymalloc", "pymalloc_debug", "malloc", "mimalloc", …),
 * read from its `PyMemAllocatorEx` tables: by the symbol its malloc points at, by the image's compiled-in defaults
 * (stripped images), or by comparing it with the raw domain.
 * @module
 */
import { cpythonIfKnown } from "../cpython/versions.ts";
import { u64le } from "../machine/bytes.ts";
import { linkTimeWord } from "../machine/linktime.ts";
import type { RemoteMemory } from "../machine/remote.ts";
import { ripRelativeRefs } from "../machine/x86.ts";
import type { Image } from "./image.ts";

const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/**
 * Name the allocator from the object domain's PyMemAllocatorEx {ctx, malloc, …}: by the symbol its malloc points
 * at (needs .symtab), else by the image's compiled-in defaults (a stripped image), else by comparing it with the
 * raw domain (PYTHONMALLOC=malloc makes them identical).
 */
export function nameAllocator(img: Image, mem: RemoteMemory, minor: number): { name: string | null; how: string } {
  const { elf, bias } = img;
  let obj: bigint | undefined, raw: bigint | undefined, how = "";
  // _PyRuntime.allocators.standard.{raw,obj} (3.12+, lib/cpython).
  const offs = cpythonIfKnown(minor)?.layout.runtime;
  if (offs) {
    obj = img.runtime + BigInt(offs.allocatorsObj);
    raw = img.runtime + BigInt(offs.allocatorsRaw);
    how = `_PyRuntime+${hex(offs.allocatorsObj)}`;
  } else {
    const named = (n: string) => (elf.hasSymtab ? elf.symbol(n) : undefined);
    const o = named("_PyObject"), r = named("_PyMem_Raw");
    if (o && r) {
      obj = bias + BigInt(o.value);
      raw = bias + BigInt(r.value);
      how = "_PyObject (.symtab)";
    } else {
      obj = decodeTable(img, "PyObject_Malloc");
      raw = decodeTable(img, "PyMem_RawMalloc");
      how = "decoded from PyObject_Malloc";
    }
  }
  if (obj === undefined) return { name: null, how: "allocator table not found" };
  const objT = mem.tryRead(Number(obj), 40);
  const rawT = raw === undefined ? null : mem.tryRead(Number(raw), 40);
  if (!objT) return { name: null, how: `${how}: unreadable` };
  const nameOf = (fn: bigint): string | undefined => {
    const v = Number(fn - bias);
    const s = v > 0 ? elf.symbolAt(v) : undefined;
    return s && s.value === v ? s.name : undefined;
  };
  // Without symbols (a stripped image), the tables' static initializers in the file name the compiled-in defaults:
  // the object domain's is _PyObject_Malloc (pymalloc) unless the build has no pymalloc (then it equals the raw
  // domain's, malloc) or is a debug build (then its ctx is set). lib/machine/linktime.ts reads them.
  const word = (table: bigint | undefined, i: number): bigint | undefined => {
    if (table === undefined) return undefined;
    const w = linkTimeWord(elf, Number(table - bias) + 8 * i);
    return w === undefined || w === 0 ? undefined : bias + BigInt(w);
  };
  const defaultObjMalloc = word(obj, 1), defaultRawMalloc = word(raw, 1);
  const defaultPymalloc = defaultObjMalloc !== undefined && linkTimeWord(elf, Number(obj - bias)) === 0 &&
      defaultObjMalloc !== defaultRawMalloc
    ? defaultObjMalloc
    : undefined;
  const base = (fn: bigint): { name: string; why: string } | null => {
    const sym = nameOf(fn);
    if (sym !== undefined) {
      if (/^_PyObject_Malloc$/.test(sym)) return { name: "pymalloc", why: `malloc = ${sym}` };
      if (/^_PyMem_RawMalloc$/.test(sym)) return { name: "malloc", why: `malloc = ${sym}` };
      if (/MiMalloc/.test(sym)) return { name: "mimalloc", why: `malloc = ${sym}` };
      return null;
    }
    const compiledIn = `malloc ${hex(fn)} is the image's compiled-in`;
    if (fn === defaultPymalloc) {
      return { name: "pymalloc", why: `${compiledIn} object allocator, _PyObject_Malloc (no symbol: stripped)` };
    }
    if (fn === defaultRawMalloc) return { name: "malloc", why: `${compiledIn} raw allocator (no symbol: stripped)` };
    return null;
  };
  const malloc = u64le(objT, 8), ctx = u64le(objT, 0);
  const debugInner = (): bigint | undefined => {
    // _PyMem_Debug.obj is { char api_id = 'o'; PyMemAllocatorEx alloc; }: the wrapped malloc is at ctx+16.
    if (ctx === 0n) return undefined;
    const d = mem.tryRead(Number(ctx), 24);
    return d && d[0] === 0x6f ? u64le(d, 16) : undefined;
  };
  const fnName = nameOf(malloc);
  const inner = fnName === "_PyMem_DebugMalloc" || fnName === undefined ? debugInner() : undefined;
  if (inner !== undefined) {
    const b = base(inner);
    const hooks = fnName ?? "debug hooks (ctx points at the 'o' debug table; stripped)";
    return { name: b ? `${b.name}_debug` : null, how: `${how}: malloc = ${hooks}${b ? `, wrapping ${b.why}` : ""}` };
  }
  const b = ctx === 0n ? base(malloc) : null;
  if (b) return { name: b.name, how: `${how}: ${b.why}` };
  if (rawT && u64le(objT, 8) === u64le(rawT, 8) && u64le(objT, 0) === u64le(rawT, 0)) {
    return { name: "malloc", how: `${how}: the object domain uses the raw domain's allocator` };
  }
  return {
    name: null,
    how: `${how}: malloc at ${hex(malloc)} is neither a known symbol nor one of the image's compiled-in allocators`,
  };
}

/** Address of the PyMemAllocatorEx an exported `fn` reads first: `mov rdi,[rip+ctx]; jmp [rip+ctx+8]`. */
function decodeTable(img: Image, fn: string): bigint | undefined {
  const { elf, bias } = img;
  const sym = elf.dynamicSymbol(fn);
  if (!sym || elf.machine !== "x86_64") return undefined;
  const code = elf.readVaddr(sym.value, Math.min(sym.size || 64, 128));
  const refs = ripRelativeRefs(code, sym.value, 32)
    .filter((r) => r.width === 8 && r.op !== "call" && r.op !== "jmp" && r.op !== "lea");
  for (const a of refs) if (refs.some((b) => b.target === a.target + 8)) return bias + BigInt(a.target);
  return undefined;
}
