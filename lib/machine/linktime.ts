/**
 * The value a pointer-sized word of an ELF file has before the program runs: what a static initializer put there,
 * as the dynamic loader will relocate it. Attach uses it to recognise CPython's allocator functions in a stripped
 * image: the static allocator tables (`_PyObject`, `_PyMem_Raw` in 3.8–3.11; `_PyRuntime.allocators.standard` in
 * 3.12+) are initialised with the compiled-in defaults, so the file itself says where `_PyObject_Malloc` is even
 * when no symbol names it.
 * - An executable that is not position-independent (ET_EXEC, e.g. Debian's statically linked /usr/bin/python3.X)
 *   holds the absolute address in its data.
 * - A shared library or PIE (ET_DYN) gets it from a RELATIVE relocation whose addend is the link-time address (the
 *   file bytes there are not reliable: linkers may leave them zero).
 * @module
 */
import type { ElfFile } from "./elf.ts";

const SHT_RELA = 4;
const R_X86_64_RELATIVE = 8;
const R_AARCH64_RELATIVE = 1027;

/** RELATIVE relocations of a file, by the vaddr they patch: built once per file. */
const relocCache = new WeakMap<ElfFile, Map<number, number>>();

function relativeRelocs(elf: ElfFile): Map<number, number> {
  const cached = relocCache.get(elf);
  if (cached) return cached;
  const out = new Map<number, number>();
  const want = elf.machine === "aarch64" ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
  for (const s of elf.sections) {
    // Only the loader's relocations: SHF_ALLOC (0x2) sections of type RELA with 24-byte entries.
    if (s.type !== SHT_RELA || (s.flags & 0x2) === 0 || s.entsize !== 24 || s.size === 0) continue;
    let bytes: Uint8Array;
    try {
      bytes = elf.readVaddr(s.addr, s.size);
    } catch {
      continue; // not file-backed as one range: ignore this table rather than guess
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let o = 0; o + 24 <= bytes.length; o += 24) {
      if (Number(v.getBigUint64(o + 8, true) & 0xffffffffn) !== want) continue;
      out.set(Number(v.getBigUint64(o, true)), Number(v.getBigInt64(o + 16, true)));
    }
  }
  relocCache.set(elf, out);
  return out;
}

/**
 * The link-time value of the 8-byte word at file vaddr `vaddr`: a file vaddr when it holds an address (add the load
 * bias for the runtime address), 0 for NULL, undefined when the file cannot say (not file-backed: .bss).
 */
export function linkTimeWord(elf: ElfFile, vaddr: number): number | undefined {
  if (elf.type === "dyn") {
    const addend = relativeRelocs(elf).get(vaddr);
    if (addend !== undefined) return addend;
  }
  let bytes: Uint8Array;
  try {
    bytes = elf.readVaddr(vaddr, 8);
  } catch {
    return undefined;
  }
  const word = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  // In an ET_DYN file a non-zero word without a RELATIVE relocation is not an address the loader fixes up.
  if (elf.type === "dyn" && word !== 0n) return undefined;
  return Number(word);
}
