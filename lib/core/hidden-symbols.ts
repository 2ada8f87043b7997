/**
 * Finding CPython's optional and hidden symbols in the loaded library: exported ones through dlsym, hidden
 * (file-local) ones through the ELF `.symtab` at load base + st_value, and statics that a stripped library hides
 * entirely through decoding (lib/obmalloc/state.ts records those here). `py.symbols` reports all of it.
 * @module
 */
import { statSync } from "node:fs";
import type { NativeFn } from "../../ffi/types.ts";
import { hidden } from "../../ffi/symbols.ts";
import { ElfFile } from "../machine/elf.ts";
import { PymemError } from "../errors.ts";
import { type MapEntry, readMaps } from "../machine/procmaps.ts";
import type { Native } from "./native.ts";

/** How a symbol was found. */
export type SymbolSource = "exported" | "hidden" | "decoded" | "missing";

/** One row of `py.symbols.report()`. */
export interface SymbolInfo {
  name: string;
  kind: "function" | "data";
  source: SymbolSource;
  address: bigint | null;
  /** How it was found (e.g. "dlsym", ".symtab", "decoded from _Py_GetAllocatedBlocks"). */
  how: string;
}

/** The symbols pymem looks for, for the report. Functions first, then data. */
const KNOWN_FUNCTIONS = [
  "_PyObject_DebugMallocStats",
  "_PyMem_GetCurrentAllocatorName",
  "_Py_GetAllocatedBlocks",
  "_Py_GetGlobalAllocatedBlocks",
  "_PyInterpreterState_GetAllocatedBlocks",
  "_PyInterpreterState_FinalizeAllocatedBlocks",
  "_PyMem_init_obmalloc",
  "_PyMem_obmalloc_state_on_heap",
  "_PyObject_VirtualAlloc",
  "_PyObject_VirtualFree",
  "Py_NewInterpreterFromConfig",
] as const;
const KNOWN_DATA = [
  "_PyRuntime",
  "Py_Version",
  "usedpools",
  "arenas",
  "maxarenas",
  "raw_allocated_blocks",
  "_Py_AllocatedBlocks",
  "narenas_currently_allocated",
  "ntimes_arena_allocated",
  "narenas_highwater",
  "arena_map_root",
  "obmalloc_state_main",
] as const;

/** The file mapped at `base` (its offset-0 mapping), by `path` if that is still the same inode, else by map_files. */
function openMapped(path: string, base: bigint): ElfFile {
  let mapping: MapEntry | undefined;
  try {
    mapping = readMaps("self").find((m) => m.start === base && m.offset === 0n && m.inode !== 0);
  } catch { /* no /proc: the path is all there is */ }
  if (mapping) {
    let same = false;
    try {
      same = statSync(path).ino === mapping.inode;
    } catch { /* deleted */ }
    if (!same) {
      const mapped = `/proc/self/map_files/${mapping.start.toString(16)}-${mapping.end.toString(16)}`;
      try {
        return ElfFile.open(mapped);
      } catch (e) {
        throw new PymemError(
          "ELF",
          `${path} was deleted or replaced on disk since it was loaded, and ${mapped} cannot be read: ${
            (e as Error).message
          }`,
          { cause: e },
        );
      }
    }
  }
  return ElfFile.open(path);
}

export class Symbols {
  readonly #native: Native;
  #elf: ElfFile | undefined;
  readonly #decoded = new Map<string, { address: bigint; how: string }>();

  constructor(native: Native) {
    this.#native = native;
  }

  /**
   * The ELF file of the loaded library (parsed on first use): the file as mapped, read through
   * /proc/self/map_files when the path on disk no longer holds it (deleted, or replaced by another build, whose
   * .symtab would send calls to the wrong addresses).
   */
  get elf(): ElfFile {
    this.#elf ??= openMapped(this.#native.path, this.#native.base);
    return this.#elf;
  }

  /** True when the library has a `.symtab` (hidden functions and statics can be found by name). */
  get hasSymtab(): boolean {
    return this.elf.hasSymtab;
  }

  /** Runtime address of a symbol: exported (dlsym), hidden (.symtab), or recorded by a decoder; else undefined. */
  address(name: string): bigint | undefined {
    return this.lookup(name)?.address ?? undefined;
  }

  /** Full lookup with provenance. */
  lookup(name: string): SymbolInfo | undefined {
    const exported = this.#native.dlsym(name);
    const kind = (this.elf.symbol(name)?.type ?? "func") === "object" ? "data" : "function";
    if (exported !== 0n) return { name, kind, source: "exported", address: exported, how: "dlsym" };
    const sym = this.elf.hasSymtab ? this.elf.symbol(name) : undefined;
    if (sym && sym.value !== 0) {
      return { name, kind, source: "hidden", address: this.#native.base + BigInt(sym.value), how: ".symtab" };
    }
    const d = this.#decoded.get(name);
    if (d) return { name, kind: "data", source: "decoded", address: d.address, how: d.how };
    return undefined;
  }

  /** A callable for a hidden function found by `address()` (its prototype from ffi/symbols.ts), or null. */
  function<K extends keyof typeof hidden>(name: K): NativeFn<(typeof hidden)[K]> | null {
    if (!Object.hasOwn(hidden, name)) throw new TypeError(`no prototype for ${String(name)} in ffi/symbols.ts`);
    const a = this.address(name);
    return a === undefined ? null : this.#native.fn(a, hidden[name]);
  }

  /** Record a location found without a symbol (e.g. by decoding an exported function). */
  recordDecoded(name: string, address: bigint, how: string): void {
    if (!this.#decoded.has(name)) this.#decoded.set(name, { address, how });
  }

  /** Which optional and hidden symbols were found, and where. */
  report(): SymbolInfo[] {
    const rows: SymbolInfo[] = [];
    for (const name of KNOWN_FUNCTIONS) {
      rows.push(this.lookup(name) ?? { name, kind: "function", source: "missing", address: null, how: "-" });
    }
    for (const name of KNOWN_DATA) {
      const r = this.lookup(name) ??
        { name, kind: "data" as const, source: "missing" as const, address: null, how: "-" };
      rows.push({ ...r, kind: "data" });
    }
    for (const [name, d] of this.#decoded) {
      if (!rows.some((r) => r.name === name)) {
        rows.push({ name, kind: "data", source: "decoded", address: d.address, how: d.how });
      }
    }
    return rows;
  }

  /** The report as an aligned text table. */
  table(): string {
    const rows = this.report().map((r) => [
      r.name,
      r.kind,
      r.source,
      r.address === null ? "-" : "0x" + r.address.toString(16),
      r.how,
    ]);
    const head = ["symbol", "kind", "found", "address", "how"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
  }

  toString(): string {
    return this.table();
  }
}
