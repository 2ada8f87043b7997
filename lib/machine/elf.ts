/**
 * A small, bounds-checked reader for 64-bit little-endian ELF files (x86-64 and aarch64 libpython builds and
 * executables).
 *
 * pymem needs a handful of facts from the libpython a process has mapped: where its segments sit (for the load bias),
 * the address of exported and hidden symbols (`usedpools`, `arenas`, …), the bytes of a few functions (to decode
 * RIP-relative loads on stripped builds) and the build id. It never needs the whole file, so nothing here reads the
 * whole file: the headers are read on open, the symbol tables on the first lookup, and everything else on demand,
 * each with a positioned `readSync`.
 *
 * Every offset, size, count and string index taken from the file is checked against the file (or the string table)
 * before it is used, so a truncated, foreign or corrupt file gives a `PymemError("ELF", "<path>: <what>")` and never
 * a `RangeError` from a `DataView` or a hang.
 *
 * The file descriptor stays open until {@link ElfFile.close}, because symbol tables and code bytes are read lazily.
 *
 * One concept (over 500 lines): an ELF64 reader — headers, sections, segments, symbol tables, hash lookup,
 * virtual-address reads — each bounds-checked against the file, so a truncated or corrupt file is an error.
 * @module
 */

import * as fs from "node:fs";
import { PymemError } from "../errors.ts";
import { lastAtOrBelow } from "./sorted.ts";

/** A section header, with its name resolved from `.shstrtab`. Numbers are file values (`addr` is a vaddr). */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  entsize: number;
  link: number;
}

/** A program header (`PT_LOAD` is type 1). */
export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

/** A defined symbol from `.symtab` or `.dynsym`. `value` is a file vaddr: add the load bias for a runtime address. */
export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  type: "notype" | "object" | "func" | "section" | "file" | "tls" | "other";
  bind: "local" | "global" | "weak" | "other";
  shndx: number;
  table: "dynsym" | "symtab";
}

// The few ELF constants this reader branches on.
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const SHN_UNDEF = 0;
const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;
const NT_GNU_BUILD_ID = 3;
const STT_OBJECT = 1;
const STT_FUNC = 2;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

const SYMBOL_TYPES: readonly ElfSymbol["type"][] = ["notype", "object", "func", "section", "file", "other", "tls"];
const SYMBOL_BINDS: readonly ElfSymbol["bind"][] = ["local", "global", "weak"];

/** Where the bytes come from: a file read with positioned reads, or an in-memory copy (tests, foreign data). */
interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `position`; the caller has already checked the range against `size`. */
  read(position: number, length: number): Uint8Array;
  close(): void;
}

class FdSource implements ByteSource {
  readonly size: number;
  #fd: number;
  constructor(fd: number, size: number) {
    this.#fd = fd;
    this.size = size;
  }
  read(position: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let done = 0;
    // readSync may return short counts; a 0 means the file shrank under us, which the caller reports as truncation.
    while (done < length) {
      const n = fs.readSync(this.#fd, buf, done, length - done, position + done);
      if (n <= 0) throw new RangeError(`short read at ${position + done}`);
      done += n;
    }
    return buf;
  }
  close(): void {
    fs.closeSync(this.#fd);
  }
}

class BytesSource implements ByteSource {
  readonly size: number;
  #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.size = bytes.length;
  }
  read(position: number, length: number): Uint8Array {
    return this.#bytes.subarray(position, position + length);
  }
  close(): void {}
}

/** One loaded symbol table: the raw entries plus a name index, built once on the first lookup. */
interface SymbolTable {
  readonly table: "dynsym" | "symtab";
  readonly view: DataView;
  readonly count: number;
  /** The linked string table decoded once, one char per byte, so byte offsets are string indices. */
  readonly strings: string;
  readonly stringBytes: Uint8Array;
  /** Whether any byte of the string table is non-ASCII (then names are re-decoded as UTF-8 one by one). */
  readonly nonAscii: boolean;
  /** name → entry index, defined symbols only. */
  readonly byName: Map<string, number>;
}

/** The `symbolAt` index: the func/object symbols of one table, sorted by value. */
interface AddressIndex {
  readonly table: SymbolTable | null;
  readonly values: Float64Array;
  /** value + size */
  readonly ends: Float64Array;
  /** entry index in `table` */
  readonly entries: Uint32Array;
  /** the largest size, which bounds how far back a containing symbol can start */
  readonly maxSize: number;
}

// One decoder for every string table: latin1 (windows-1252 in some runtimes) maps each byte to exactly one UTF-16
// unit, which keeps st_name offsets valid as string indices and makes slicing names out of it cheap.
const latin1 = new TextDecoder("latin1");
const NON_ASCII = /[\u0080-\uffff]/;
const utf8 = new TextDecoder("utf-8");

/** A 64-bit little-endian ELF file opened for reading. Create with {@link ElfFile.open} or {@link ElfFile.fromBytes}. */
export class ElfFile {
  /** The path given to `open` (or the name given to `fromBytes`); used in every error message. */
  readonly path: string;
  /** `e_machine`, for the two architectures pymem knows. */
  readonly machine: "x86_64" | "aarch64" | "other";
  /** `e_type`: `exec` for non-PIE executables, `dyn` for shared libraries and PIE executables. */
  readonly type: "exec" | "dyn" | "other";
  /** Section headers in file order (empty when the file has none). */
  readonly sections: readonly ElfSection[];
  /** Program headers in file order. */
  readonly segments: readonly ElfSegment[];
  /** Whether a `.symtab` (full, non-exported symbols) is present: false for stripped files. */
  readonly hasSymtab: boolean;
  /** Whether a `.dynsym` (exported symbols) is present. */
  readonly hasDynsym: boolean;
  /**
   * `p_vaddr` of the first `PT_LOAD`, rounded down to its `p_align`: 0 for shared libraries and PIE, the link
   * address (e.g. 0x400000) for non-PIE executables.
   */
  readonly firstLoadVaddr: number;

  #source: ByteSource | undefined;
  #loads: readonly ElfSegment[];
  #symtabSection: ElfSection | undefined;
  #dynsymSection: ElfSection | undefined;
  #symtab: SymbolTable | null | undefined; // undefined = not loaded yet, null = absent
  #dynsym: SymbolTable | null | undefined;
  #addressIndex: AddressIndex | undefined;
  #buildId: string | null | undefined;

  private constructor(source: ByteSource, path: string) {
    this.path = path;
    this.#source = source;
    const fileSize = source.size;
    const fail = (what: string): never => {
      throw new PymemError("ELF", `${path}: ${what}`);
    };

    // ELF header: identify before trusting any field.
    if (fileSize < EHDR_SIZE) fail(fileSize === 0 ? "empty file" : `too short for an ELF header (${fileSize} bytes)`);
    const eh = view(source.read(0, EHDR_SIZE));
    if (eh.getUint32(0, false) !== 0x7f454c46) fail("not an ELF file (bad magic)");
    const elfClass = eh.getUint8(4);
    if (elfClass !== ELFCLASS64) fail(elfClass === 1 ? "32-bit ELF is not supported" : `bad ELF class ${elfClass}`);
    const data = eh.getUint8(5);
    if (data !== ELFDATA2LSB) fail(data === 2 ? "big-endian ELF is not supported" : `bad ELF data encoding ${data}`);
    if (eh.getUint8(6) !== 1) fail(`bad ELF version ${eh.getUint8(6)}`);

    const eType = eh.getUint16(16, true);
    this.type = eType === ET_EXEC ? "exec" : eType === ET_DYN ? "dyn" : "other";
    const eMachine = eh.getUint16(18, true);
    this.machine = eMachine === EM_X86_64 ? "x86_64" : eMachine === EM_AARCH64 ? "aarch64" : "other";
    const phoff = u64(eh, 32, "e_phoff", fail);
    const shoff = u64(eh, 40, "e_shoff", fail);
    const phentsize = eh.getUint16(54, true);
    let phnum = eh.getUint16(56, true);
    const shentsize = eh.getUint16(58, true);
    let shnum = eh.getUint16(60, true);
    let shstrndx = eh.getUint16(62, true);

    // Section header 0 carries the real counts when they overflow 16 bits (extended numbering).
    if (shoff !== 0) {
      if (shentsize < SHDR_SIZE) fail(`bad e_shentsize ${shentsize}`);
      checkRange(shoff, SHDR_SIZE, fileSize, "section header 0", fail);
      const sh0 = view(source.read(shoff, SHDR_SIZE));
      if (shnum === 0) shnum = u64(sh0, 32, "extended section count", fail);
      if (shstrndx === SHN_XINDEX) shstrndx = sh0.getUint32(40, true);
      if (phnum === PN_XNUM) phnum = sh0.getUint32(44, true);
    } else {
      shnum = 0;
    }

    // Program headers.
    const segments: ElfSegment[] = [];
    if (phnum > 0) {
      if (phentsize < PHDR_SIZE) fail(`bad e_phentsize ${phentsize}`);
      checkRange(phoff, phnum * phentsize, fileSize, `program headers (${phnum} at ${phoff})`, fail);
      const ph = view(source.read(phoff, phnum * phentsize));
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        segments.push({
          type: ph.getUint32(o, true),
          flags: ph.getUint32(o + 4, true),
          offset: u64(ph, o + 8, `segment ${i} p_offset`, fail),
          vaddr: u64(ph, o + 16, `segment ${i} p_vaddr`, fail),
          filesz: u64(ph, o + 32, `segment ${i} p_filesz`, fail),
          memsz: u64(ph, o + 40, `segment ${i} p_memsz`, fail),
          align: u64(ph, o + 48, `segment ${i} p_align`, fail),
        });
      }
    }
    // Frozen because the bounds checks below are made once, on these very objects.
    this.segments = Object.freeze(segments.map((s) => Object.freeze(s)));
    // Checked once here so vaddrToOffset/readVaddr can trust them; a truncated file fails now rather than later.
    this.#loads = this.segments.filter((s) => s.type === PT_LOAD);
    for (const s of this.#loads) {
      checkRange(s.offset, s.filesz, fileSize, `PT_LOAD at vaddr 0x${s.vaddr.toString(16)}`, fail);
      if (s.vaddr + s.memsz > Number.MAX_SAFE_INTEGER) fail(`PT_LOAD at vaddr 0x${s.vaddr.toString(16)} too large`);
    }
    const first = this.#loads[0];
    this.firstLoadVaddr = first === undefined
      ? 0
      : first.align > 1
      ? first.vaddr - (first.vaddr % first.align)
      : first.vaddr;

    // Section headers, then their names.
    const sections: ElfSection[] = [];
    if (shnum > 0) {
      checkRange(shoff, shnum * shentsize, fileSize, `section headers (${shnum} at ${shoff})`, fail);
      const sh = view(source.read(shoff, shnum * shentsize));
      const nameOffsets: number[] = [];
      for (let i = 0; i < shnum; i++) {
        const o = i * shentsize;
        nameOffsets.push(sh.getUint32(o, true));
        const section: ElfSection = {
          index: i,
          name: "",
          type: sh.getUint32(o + 4, true),
          // Every flag ELF defines lives in the low 32 bits.
          flags: sh.getUint32(o + 8, true),
          addr: u64(sh, o + 16, `section ${i} sh_addr`, fail),
          offset: u64(sh, o + 24, `section ${i} sh_offset`, fail),
          size: u64(sh, o + 32, `section ${i} sh_size`, fail),
          entsize: u64(sh, o + 56, `section ${i} sh_entsize`, fail),
          link: sh.getUint32(o + 40, true),
        };
        if (i > 0 && section.type !== SHT_NOBITS && section.size > 0) {
          checkRange(section.offset, section.size, fileSize, `section ${i} data`, fail);
        }
        sections.push(section);
      }
      if (shstrndx !== 0) {
        const strSection = sections[shstrndx];
        if (strSection === undefined) fail(`e_shstrndx ${shstrndx} out of range (${shnum} sections)`);
        else if (strSection.type !== SHT_STRTAB) fail(`e_shstrndx ${shstrndx} is not a string table`);
        else {
          const bytes = source.read(strSection.offset, strSection.size);
          const strings = latin1.decode(bytes);
          for (const section of sections) {
            section.name = cString(strings, nameOffsets[section.index] ?? 0, `section ${section.index} name`, fail);
          }
        }
      }
    }
    this.sections = Object.freeze(sections.map((s) => Object.freeze(s)));

    // Found by type, not name: the name is convention, the type is what the linker and loader go by.
    this.#symtabSection = this.sections.find((s) => s.type === SHT_SYMTAB);
    this.#dynsymSection = this.sections.find((s) => s.type === SHT_DYNSYM);
    this.hasSymtab = this.#symtabSection !== undefined;
    this.hasDynsym = this.#dynsymSection !== undefined;
    this.#symtab = this.hasSymtab ? undefined : null;
    this.#dynsym = this.hasDynsym ? undefined : null;
  }

  /**
   * Open an ELF file and read its headers (not its symbols: those are read on the first lookup).
   * @throws PymemError("ELF") naming the path when it cannot be opened or is not a valid ELF64 LE file.
   */
  static open(path: string): ElfFile {
    // stat first: opening a FIFO for reading would block until a writer appears.
    let fd: number;
    let size: number;
    try {
      const st = fs.statSync(path);
      if (!st.isFile()) throw new PymemError("ELF", `${path}: not a regular file`);
      fd = fs.openSync(path, "r");
      size = fs.fstatSync(fd).size;
    } catch (e) {
      if (e instanceof PymemError) throw e;
      throw new PymemError("ELF", `${path}: cannot open (${errnoText(e)})`, { cause: e });
    }
    const source = new FdSource(fd, size);
    try {
      return new ElfFile(source, path);
    } catch (e) {
      source.close();
      throw wrapReadError(e, path);
    }
  }

  /** Parse an ELF image already in memory (tests, or bytes read from elsewhere). `name` is used in error messages. */
  static fromBytes(bytes: Uint8Array, name = "<bytes>"): ElfFile {
    return new ElfFile(new BytesSource(bytes), name);
  }

  /** The first section with this name (e.g. `".text"`), or undefined. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /**
   * A defined symbol by name. A `.symtab` entry wins when it has a nonzero value (it sees hidden and static symbols
   * such as `usedpools`), otherwise the `.dynsym` entry. Undefined (imported) symbols are never returned. When a
   * table defines a name more than once, a global or weak definition beats a local one (among locals, the last).
   */
  symbol(name: string): ElfSymbol | undefined {
    const full = this.#lookup(this.#loadSymtab(), name);
    if (full !== undefined && full.value !== 0) return full;
    return this.#lookup(this.#loadDynsym(), name) ?? full;
  }

  /** A defined symbol from `.dynsym` only: what the dynamic loader (and `dlsym`) can see. */
  dynamicSymbol(name: string): ElfSymbol | undefined {
    return this.#lookup(this.#loadDynsym(), name);
  }

  /**
   * The func/object symbol whose `[value, value + size)` contains `vaddr` (or whose value equals it, for size-0
   * symbols), from `.symtab` when present (it includes every `.dynsym` definition), else `.dynsym`. The nearest
   * start wins, then global over weak over local. Used to name a function pointer. The sorted index is built on the
   * first call.
   */
  symbolAt(vaddr: number): ElfSymbol | undefined {
    const index = (this.#addressIndex ??= this.#buildAddressIndex());
    const { table, values, ends, entries } = index;
    if (table === null) return undefined;
    // Just past the rightmost candidate starting at or below vaddr.
    const lo = lastAtOrBelow(values, vaddr) + 1;
    let best = -1;
    let bestRank = -1;
    // Symbols may nest (an alias inside a bigger object), so walk back while a start could still reach vaddr,
    // but no further than the nearest start that contains it.
    for (let k = lo - 1; k >= 0; k--) {
      const value = values[k] as number;
      if (value + index.maxSize <= vaddr && value !== vaddr) break;
      if (best >= 0 && value < (values[best] as number)) break;
      const end = ends[k] as number;
      if (vaddr < end || (end === value && value === vaddr)) {
        const rank = bindRank(table.view.getUint8((entries[k] as number) * SYM_SIZE + 4) >> 4);
        if (rank > bestRank) {
          best = k;
          bestRank = rank;
        }
      }
    }
    return best < 0 ? undefined : this.#entry(table, entries[best] as number);
  }

  /** The file offset backing `vaddr`, via the `PT_LOAD` segments' file-backed ranges; undefined outside them. */
  vaddrToOffset(vaddr: number): number | undefined {
    const s = this.#loadFor(vaddr, 0);
    return s === undefined ? undefined : s.offset + (vaddr - s.vaddr);
  }

  /**
   * The file bytes backing `[vaddr, vaddr + length)`, which must lie within one `PT_LOAD`'s file-backed range
   * (so not `.bss`). For a file from `fromBytes` the result is a view of the bytes given, not a copy.
   * @throws PymemError("ELF") when the range is not file-backed, or "CLOSED" after close().
   */
  readVaddr(vaddr: number, length: number): Uint8Array {
    if (!Number.isSafeInteger(vaddr) || !Number.isSafeInteger(length) || vaddr < 0 || length < 0) {
      throw new RangeError(`readVaddr(${vaddr}, ${length}): expected non-negative integers`);
    }
    const s = this.#loadFor(vaddr, length);
    if (s === undefined) {
      throw new PymemError(
        "ELF",
        `${this.path}: vaddr range 0x${vaddr.toString(16)}+${length} is not backed by file data in one PT_LOAD segment`,
      );
    }
    return this.#read(s.offset + (vaddr - s.vaddr), length);
  }

  /** Hex of the `NT_GNU_BUILD_ID` note (from `.note.gnu.build-id`, else any note section or `PT_NOTE`), if any. */
  get buildId(): string | undefined {
    if (this.#buildId === undefined) this.#buildId = this.#findBuildId() ?? null;
    return this.#buildId ?? undefined;
  }

  /** Release the file descriptor. Headers and already-loaded symbol tables stay usable; reading more throws CLOSED. */
  close(): void {
    const source = this.#source;
    this.#source = undefined;
    source?.close();
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  #fail(what: string, cause?: unknown): never {
    throw new PymemError("ELF", `${this.path}: ${what}`, cause === undefined ? undefined : { cause });
  }

  /** Read a range already checked against the file size. */
  #read(position: number, length: number): Uint8Array {
    const source = this.#source;
    if (source === undefined) throw new PymemError("CLOSED", `${this.path}: ElfFile is closed`);
    try {
      return source.read(position, length);
    } catch (e) {
      throw wrapReadError(e, this.path);
    }
  }

  #loadFor(vaddr: number, length: number): ElfSegment | undefined {
    for (const s of this.#loads) {
      if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz && vaddr + length <= s.vaddr + s.filesz) return s;
    }
    // A zero-length read at the very end of a segment is still "inside" it.
    if (length === 0) return this.#loads.find((s) => vaddr === s.vaddr + s.filesz && s.filesz > 0);
    return undefined;
  }

  #loadSymtab(): SymbolTable | null {
    if (this.#symtab === undefined) this.#symtab = this.#loadTable(this.#symtabSection as ElfSection, "symtab");
    return this.#symtab;
  }

  #loadDynsym(): SymbolTable | null {
    if (this.#dynsym === undefined) this.#dynsym = this.#loadTable(this.#dynsymSection as ElfSection, "dynsym");
    return this.#dynsym;
  }

  #loadTable(section: ElfSection, table: "dynsym" | "symtab"): SymbolTable {
    const what = `.${table} (section ${section.index})`;
    if (section.entsize !== SYM_SIZE && section.entsize !== 0) this.#fail(`${what} has entry size ${section.entsize}`);
    const strSection = this.sections[section.link];
    if (section.link === 0 || strSection === undefined || strSection.type !== SHT_STRTAB) {
      this.#fail(`${what} links to section ${section.link}, which is not a string table`);
    }
    // Section ranges were checked against the file size in the constructor.
    const bytes = this.#read(section.offset, section.size);
    const stringBytes = this.#read(strSection.offset, strSection.size);
    const strings = latin1.decode(stringBytes);
    const count = Math.floor(section.size / SYM_SIZE);
    const dv = view(bytes);
    const byName = new Map<string, number>();
    const length = strings.length;
    // One forward pass with plain sets: the gABI puts every local before the globals and weaks, and a linked
    // file defines each non-local name once, so "last one wins" makes a non-local beat a local of the same name
    // (`__func__.1`-style locals are the only real duplicates; among them the last wins, which is as good as any).
    // The loop is written out flat because it runs once, cold, over ~15k entries: no helper calls, no allocations
    // beyond the name slice.
    for (let i = 1; i < count; i++) {
      const o = i * SYM_SIZE;
      // Undefined symbols are never returned; values past 2^53 are no user-space address (nor a safe number).
      if (dv.getUint16(o + 6, true) === SHN_UNDEF || dv.getUint32(o + 12, true) >= 0x200000) continue;
      const offset = dv.getUint32(o, true);
      if (offset === 0) continue;
      const end = offset < length ? strings.indexOf("\0", offset) : -1;
      if (end < 0) this.#fail(`${what} symbol ${i}: name offset ${offset} is outside its string table or unterminated`);
      byName.set(strings.slice(offset, end), i);
    }
    // latin1 made non-ASCII names wrong; rebuild just those keys as UTF-8 (never the case for libpython).
    const nonAscii = NON_ASCII.test(strings);
    if (nonAscii) {
      for (const [name, i] of [...byName]) {
        if (!NON_ASCII.test(name)) continue;
        byName.delete(name);
        byName.set(this.#utf8Name(stringBytes, dv.getUint32(i * SYM_SIZE, true)), i);
      }
    }
    return { table, view: dv, count, strings, stringBytes, nonAscii, byName };
  }

  #utf8Name(stringBytes: Uint8Array, offset: number): string {
    const end = stringBytes.indexOf(0, offset);
    return utf8.decode(stringBytes.subarray(offset, end < 0 ? stringBytes.length : end));
  }

  #lookup(table: SymbolTable | null, name: string): ElfSymbol | undefined {
    if (table === null) return undefined;
    const i = table.byName.get(name);
    return i === undefined ? undefined : this.#entry(table, i);
  }

  #entry(t: SymbolTable, i: number): ElfSymbol {
    const o = i * SYM_SIZE;
    const info = t.view.getUint8(o + 4);
    const nameOffset = t.view.getUint32(o, true);
    // Offsets were validated when the name index was built.
    let name = t.strings.slice(nameOffset, t.strings.indexOf("\0", nameOffset));
    if (t.nonAscii && NON_ASCII.test(name)) name = this.#utf8Name(t.stringBytes, nameOffset);
    return {
      name,
      value: t.view.getUint32(o + 8, true) + t.view.getUint32(o + 12, true) * 0x1_0000_0000,
      size: u64(t.view, o + 16, `.${t.table} symbol ${i} size`, (m) => this.#fail(m)),
      type: SYMBOL_TYPES[info & 0xf] ?? "other",
      bind: SYMBOL_BINDS[info >> 4] ?? "other",
      shndx: t.view.getUint16(o + 6, true),
      table: t.table,
    };
  }

  #buildAddressIndex(): AddressIndex {
    // .symtab holds every .dynsym definition too, so one table is enough.
    const table = this.#loadSymtab() ?? this.#loadDynsym();
    if (table === null) {
      return { table, values: new Float64Array(0), ends: new Float64Array(0), entries: new Uint32Array(0), maxSize: 0 };
    }
    const dv = table.view;
    const values = new Float64Array(table.count);
    const sizes = new Float64Array(table.count);
    const picked = new Uint32Array(table.count);
    let n = 0;
    let maxSize = 0;
    let maxValue = 0;
    for (let i = 1; i < table.count; i++) {
      const o = i * SYM_SIZE;
      const type = dv.getUint8(o + 4) & 0xf;
      if ((type !== STT_FUNC && type !== STT_OBJECT) || dv.getUint16(o + 6, true) === SHN_UNDEF) continue;
      if (dv.getUint32(o + 12, true) >= 0x200000 || dv.getUint32(o + 20, true) >= 0x200000) continue;
      if (dv.getUint32(o, true) >= table.strings.length) continue; // not in the name index either
      const value = dv.getUint32(o + 8, true) + dv.getUint32(o + 12, true) * 0x1_0000_0000;
      const size = dv.getUint32(o + 16, true) + dv.getUint32(o + 20, true) * 0x1_0000_0000;
      values[n] = value;
      sizes[n] = size;
      picked[n] = i;
      n++;
      if (size > maxSize) maxSize = size;
      if (value > maxValue) maxValue = value;
    }
    // Sort by value. A comparator sort runs cold and slow in JS, so when value and position fit together in a
    // double's 53 bits (always, for real libraries) pack them and use the native numeric sort instead.
    const order = new Uint32Array(n);
    const shift = 2 ** Math.ceil(Math.log2(n + 1));
    if (maxValue * shift + shift < Number.MAX_SAFE_INTEGER) {
      const keys = new Float64Array(n);
      for (let k = 0; k < n; k++) keys[k] = (values[k] as number) * shift + k;
      keys.sort();
      for (let k = 0; k < n; k++) order[k] = (keys[k] as number) % shift;
    } else {
      for (let k = 0; k < n; k++) order[k] = k;
      order.sort((a, b) => (values[a] as number) - (values[b] as number));
    }
    const sortedValues = new Float64Array(n);
    const ends = new Float64Array(n);
    const entries = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const j = order[k] as number;
      sortedValues[k] = values[j] as number;
      ends[k] = (values[j] as number) + (sizes[j] as number);
      entries[k] = picked[j] as number;
    }
    return { table, values: sortedValues, ends, entries, maxSize };
  }

  #findBuildId(): string | undefined {
    const areas: { offset: number; size: number }[] = [];
    const named = this.section(".note.gnu.build-id");
    if (named !== undefined && named.type !== SHT_NOBITS) areas.push(named);
    for (const s of this.sections) if (s.type === 7 /* SHT_NOTE */ && s !== named) areas.push(s);
    // Files without section headers still have PT_NOTE; its range is checked here since only PT_LOAD was earlier.
    for (const p of this.segments) {
      if (p.type === PT_NOTE && p.offset + p.filesz <= (this.#source?.size ?? 0)) {
        areas.push({ offset: p.offset, size: p.filesz });
      }
    }
    for (const area of areas) {
      if (area.size === 0 || area.size > 1 << 20) continue;
      const dv = view(this.#read(area.offset, area.size));
      // Each note is 12 header bytes + name + desc, each padded to 4; every step advances, so this ends.
      for (let p = 0; p + 12 <= area.size;) {
        const namesz = dv.getUint32(p, true);
        const descsz = dv.getUint32(p + 4, true);
        const type = dv.getUint32(p + 8, true);
        const nameAt = p + 12;
        const descAt = nameAt + align4(namesz);
        const next = descAt + align4(descsz);
        if (next > area.size) break;
        const isGnu = namesz === 4 && dv.getUint32(nameAt, false) === 0x474e5500; // "GNU\0"
        if (isGnu && type === NT_GNU_BUILD_ID && descsz > 0) {
          let hex = "";
          for (let i = 0; i < descsz; i++) hex += dv.getUint8(descAt + i).toString(16).padStart(2, "0");
          return hex;
        }
        p = next;
      }
    }
    return undefined;
  }
}

// ---- helpers ----------------------------------------------------------------------------------------------------

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A u64 field as a number; larger than 2^53 is corruption for every field this reader keeps. */
function u64(dv: DataView, offset: number, what: string, fail: (what: string) => never): number {
  const hi = dv.getUint32(offset + 4, true);
  if (hi >= 0x200000) fail(`${what} too large`);
  return dv.getUint32(offset, true) + hi * 0x1_0000_0000;
}

function checkRange(offset: number, size: number, fileSize: number, what: string, fail: (what: string) => never): void {
  if (!Number.isSafeInteger(offset + size) || offset + size > fileSize) {
    fail(
      `${what} extends past the end of the file (offset ${offset}, size ${size}, file size ${fileSize}): truncated or corrupt`,
    );
  }
}

/** The NUL-terminated string at `offset` of a decoded string table. */
function cString(strings: string, offset: number, what: string, fail: (what: string) => never): string {
  if (offset >= strings.length) fail(`${what} offset ${offset} outside its string table (${strings.length} bytes)`);
  const end = strings.indexOf("\0", offset);
  if (end < 0) fail(`${what} at ${offset} is not NUL-terminated`);
  return strings.slice(offset, end);
}

function bindRank(bind: number): number {
  // global (and GNU_UNIQUE, a global the loader dedups) > weak > local > anything else
  return bind === 1 || bind === 10 ? 3 : bind === 2 ? 2 : bind === 0 ? 1 : 0;
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function errnoText(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  if (err?.code === "ENOENT") return "ENOENT: no such file";
  if (err?.code === "EACCES") return "EACCES: permission denied";
  return typeof err?.code === "string" ? err.code : String(err?.message ?? e);
}

/** Reader failures (a short read from a shrinking file, EIO) become ELF errors; pymem's own errors pass through. */
function wrapReadError(e: unknown, path: string): unknown {
  if (e instanceof PymemError) return e;
  return new PymemError("ELF", `${path}: read failed (${errnoText(e)}): truncated or unreadable`, { cause: e });
}
