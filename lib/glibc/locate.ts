/**
 * Where glibc malloc's state lives in a process: the libc image it maps, its release, and the two statics that hold
 * everything else, `main_arena` (struct malloc_state) and `mp_` (struct malloc_par).
 *
 * Both statics are file-local, so `.dynsym` does not have them and Debian's libc has no `.symtab`. They are decoded
 * from exported functions that use them: `mallinfo2` loads `&main_arena` with a RIP-relative `lea` first thing, and
 * `malloc_stats` loads `mp_.mmapped_mem`, `mp_.max_n_mmaps` and `mp_.max_mmapped_mem` RIP-relatively (three loads
 * whose distances are the layout's). A debug file (libc6-dbg, by build-id) or a `.symtab` is used to cross-check
 * when present, never instead: the stripped path is the one that must work. Every candidate is then verified by
 * reading the process (the arena ring returns to main_arena, `mp_.sbrk_base` and the top chunk lie in `[heap]`).
 *
 * Written once for this process and another one: memory is read through a `MemoryProbe`.
 * @module
 */
import * as fs from "node:fs";
import { PymemError } from "../errors.ts";
import { ElfFile } from "../machine/elf.ts";
import { loadBias, type MapEntry } from "../machine/procmaps.ts";
import { ripRelativeRefs } from "../machine/x86.ts";
import { u32le, u64leNumber } from "../machine/bytes.ts";
import type { MemoryProbe } from "../obmalloc/state.ts";
import { glibcLayout, type GlibcMallocLayout, SUPPORTED_RELEASES } from "./layout.ts";

/** What the locator needs of the process: its maps, reads of its memory, and a way to open the files it maps. */
export interface GlibcTarget {
  /** For messages. */
  pid: number;
  maps: MapEntry[];
  probe: MemoryProbe;
  /** Open a file the process maps (its path as in maps); undefined when it cannot be read. */
  open(path: string): { elf: ElfFile; release(): void } | undefined;
  /**
   * In-process only: the address `malloc` resolves to for the whole process (dlsym(RTLD_DEFAULT)), which decides
   * exactly whether libc's malloc is the one in use. Another process is judged by the files it maps.
   */
  resolvedMalloc?: number;
  /** The maps read again (for the checks made after the image was opened). */
  remaps?(): MapEntry[];
}

/** malloc_state.flags: the main arena gave up on a contiguous sbrk heap. */
const NONCONTIGUOUS = 2;

/** The located and verified malloc state of one process. */
export interface GlibcMallocState {
  /** The libc file, as mapped. */
  libc: string;
  /** glibc's release, from the image (`gnu_get_libc_version`). */
  release: string;
  layout: GlibcMallocLayout;
  mainArena: number;
  mp: number;
  /** How the statics were found and checked. */
  how: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The libc the process maps: glibc's libc.so.6 (or an old-style libc-2.NN.so), musl refused by name. */
function findLibc(target: GlibcTarget): string {
  const paths = [...new Set(target.maps.map((m) => m.path).filter((p) => p.startsWith("/")))];
  const musl = paths.find((p) => /\/(ld-musl-[^/]*|libc\.musl-[^/]*)$/.test(p));
  if (musl) {
    throw new PymemError(
      "UNSUPPORTED",
      `process ${target.pid} uses musl (${musl}), not glibc: its malloc heap is not readable by pymem`,
    );
  }
  const libc = paths.find((p) => /\/libc(\.so\.6|-\d+\.\d+\.so)( \(deleted\))?$/.test(p));
  if (!libc) {
    throw new PymemError(
      "UNSUPPORTED",
      `process ${target.pid} maps no glibc libc.so.6: its malloc heap is not readable by pymem`,
    );
  }
  return libc;
}

/** Which allocator a file is, for the refusal message. */
function allocatorName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  for (const name of ["jemalloc", "tcmalloc", "mimalloc", "hoard", "snmalloc", "rpmalloc"]) {
    if (base.includes(name)) return name;
  }
  return base;
}

/**
 * Refuse a process whose `malloc` is not glibc's. In-process the resolved address says it exactly; for another
 * process, any other mapped object that defines `malloc` in `.dynsym` is taken to replace it (LD_PRELOAD, or a
 * program linked against jemalloc/tcmalloc/mimalloc): glibc's heap is then not where the program's memory is.
 */
function checkMallocIsGlibc(target: GlibcTarget, libc: string, libcElf: ElfFile, bias: bigint): void {
  if (target.resolvedMalloc !== undefined) {
    const own = libcElf.dynamicSymbol("malloc");
    if (own && Number(bias) + own.value === target.resolvedMalloc) {
      // glibc's malloc-debug library (LD_PRELOAD only) wraps malloc although dlsym gives libc's: with MALLOC_CHECK_
      // set, its checking malloc keeps the program's memory where this walk does not look (seen: 66 KB in use after
      // 50 MB allocated). Refused as by attach.
      const debug = target.maps.find((e) => /\/libc_malloc_debug\.so[^/]*$/.test(e.path));
      if (!debug) return;
      throw new PymemError(
        "UNSUPPORTED",
        `malloc in this process is wrapped by ${debug.path} (LD_PRELOAD): the glibc malloc heap read here may not ` +
          `hold the program's memory`,
      );
    }
    const at = BigInt(target.resolvedMalloc);
    const where = target.maps.find((e) => at >= e.start && at < e.end)?.path || "an anonymous mapping";
    const opened = where.startsWith("/") ? target.open(where) : undefined;
    let defines = true;
    try {
      defines = !opened || opened.elf.dynamicSymbol("malloc") !== undefined;
    } catch {
      /* unreadable: taken as defining it */
    } finally {
      opened?.release();
    }
    if (defines) {
      throw new PymemError(
        "UNSUPPORTED",
        `malloc in this process is ${
          allocatorName(where)
        } (${where}), not glibc's: the glibc malloc heap does not hold the program's memory`,
      );
    }
    // A non-PIE executable that takes malloc's address gets a canonical PLT entry, which dlsym returns: it jumps to
    // whichever malloc the loader bound, so judge by the mapped files as for another process.
  }
  const seen = new Set<string>();
  for (const m of target.maps) {
    const p = m.path;
    if (!p.startsWith("/") || p === libc || seen.has(p) || m.perms[2] !== "x") continue;
    seen.add(p);
    if (/\/ld-linux[^/]*\.so/.test(p)) continue;
    const opened = target.open(p);
    if (!opened) continue;
    try {
      const s = opened.elf.dynamicSymbol("malloc");
      if (s && s.value !== 0) {
        throw new PymemError(
          "UNSUPPORTED",
          `process ${target.pid}: malloc is replaced by ${
            allocatorName(p)
          } (${p} defines malloc, e.g. through LD_PRELOAD): ` +
            `the glibc malloc heap does not hold the program's memory`,
        );
      }
    } catch (e) {
      if (e instanceof PymemError && e.code === "UNSUPPORTED") throw e;
    } finally {
      opened.release();
    }
  }
}

/** The code of an exported function (its `.dynsym` size, capped). */
function functionCode(elf: ElfFile, name: string, cap = 2048): { vaddr: number; code: Uint8Array } | undefined {
  const s = elf.dynamicSymbol(name);
  if (!s || s.value === 0) return undefined;
  return { vaddr: s.value, code: elf.readVaddr(s.value, Math.min(s.size || cap, cap)) };
}

/** glibc's version string, as `gnu_get_libc_version` returns it: the string its first `lea` loads. */
export function glibcRelease(elf: ElfFile): string | undefined {
  const fn = functionCode(elf, "gnu_get_libc_version", 64);
  if (!fn) return undefined;
  const lea = ripRelativeRefs(fn.code, fn.vaddr, 8).find((r) => r.op === "lea");
  if (!lea) return undefined;
  const bytes = elf.readVaddr(lea.target, 16);
  const end = bytes.indexOf(0);
  const s = new TextDecoder("latin1").decode(bytes.subarray(0, end < 0 ? 16 : end));
  const m = /^(\d+\.\d+)(\.\d+)?$/.exec(s);
  return m ? m[1] : undefined;
}

/** `&main_arena`: the first `lea` of `mallinfo2` (it starts its walk of the arena ring there). */
function decodeMainArena(elf: ElfFile): number | undefined {
  const fn = functionCode(elf, "mallinfo2", 256);
  if (!fn) return undefined;
  return ripRelativeRefs(fn.code, fn.vaddr, 48).find((r) => r.op === "lea" && r.width === 8)?.target;
}

/** `&mp_`: in `malloc_stats`, the loads of mp_.max_n_mmaps (4 bytes), mp_.mmapped_mem and mp_.max_mmapped_mem. */
function decodeMp(elf: ElfFile, layout: GlibcMallocLayout): number | undefined {
  const fn = functionCode(elf, "malloc_stats", 1024);
  if (!fn) return undefined;
  const refs = ripRelativeRefs(fn.code, fn.vaddr, 400).filter((r) => r.op === "mov-load" || r.op === "other");
  const p = layout.par;
  const found = new Set<number>();
  for (const r of refs) {
    if (r.width !== 8) continue;
    const mp = r.target - p.mmappedMem;
    const hasMax = refs.some((o) => o.target === mp + p.maxMmappedMem);
    const hasCount = refs.some((o) => o.target === mp + p.maxNMmaps);
    if (hasMax && hasCount) found.add(mp);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** The debug file of `elf` by build-id (libc6-dbg), when installed. */
function debugFile(elf: ElfFile): ElfFile | undefined {
  const id = elf.buildId;
  if (!id || id.length < 4) return undefined;
  const path = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
  if (!fs.existsSync(path)) return undefined;
  try {
    return ElfFile.open(path);
  } catch {
    return undefined;
  }
}

/** Symbol addresses from `.symtab` (the file itself, else its debug file), for the cross-check. */
function symtabStatics(elf: ElfFile): { mainArena: number; mp: number; where: string } | undefined {
  const from = (f: ElfFile, where: string) => {
    if (!f.hasSymtab) return undefined;
    const a = f.symbol("main_arena"), m = f.symbol("mp_");
    return a && m && a.value && m.value ? { mainArena: a.value, mp: m.value, where } : undefined;
  };
  const own = from(elf, ".symtab");
  if (own) return own;
  const dbg = debugFile(elf);
  if (!dbg) return undefined;
  try {
    return from(dbg, `the debug file ${dbg.path}`);
  } finally {
    dbg.close();
  }
}

/**
 * Read back what was decoded: main_arena's ring of arenas returns to it, `mp_.sbrk_base` and main_arena's top chunk
 * lie in the `[heap]` mapping (when the process has one), and main_arena's system_mem fits in it. Returns what is
 * wrong, or undefined when all holds.
 */
function verify(target: GlibcTarget, layout: GlibcMallocLayout, mainArena: number, mp: number): string | undefined {
  const { probe, maps } = target;
  const a = probe.safeRead(BigInt(mainArena), layout.arena.size);
  const par = probe.safeRead(BigInt(mp), layout.par.size);
  if (!a || !par) return `main_arena ${hex(mainArena)} or mp_ ${hex(mp)} is unreadable`;
  let next = u64leNumber(a, layout.arena.next);
  for (let n = 0; next !== mainArena; n++) {
    if (next === 0 || n > 4096) return `main_arena.next does not lead back to main_arena`;
    const b = probe.safeRead(BigInt(next + layout.arena.next), 8);
    if (!b) return `arena ${hex(next)} on main_arena's ring is unreadable`;
    next = u64leNumber(b, 0);
  }
  const sbrk = u64leNumber(par, layout.par.sbrkBase);
  const top = u64leNumber(a, layout.arena.top);
  const system = u64leNumber(a, layout.arena.systemMem);
  if (u32le(par, layout.par.nMmaps) > u32le(par, layout.par.nMmapsMax)) return `mp_.n_mmaps exceeds mp_.n_mmaps_max`;
  if (u32le(a, 4) & NONCONTIGUOUS) {
    return `the main arena is non-contiguous (sbrk failed and malloc fell back to mmap), which pymem does not read yet`;
  }
  // The maps were read before the libc image was opened; a process that allocates meanwhile grows its heap, so the
  // facts are checked against maps read now. [heap] may be split into several mappings: they are one range.
  const fresh = target.remaps?.() ?? maps;
  let heap: { start: bigint; end: bigint } | undefined;
  for (const m of fresh) {
    if (m.path !== "[heap]") continue;
    if (heap && heap.end === m.start) heap.end = m.end;
    else if (!heap) heap = { start: m.start, end: m.end };
  }
  if (!heap) return sbrk === 0 ? undefined : `mp_.sbrk_base ${hex(sbrk)} but the process has no [heap] mapping`;
  const h = heap;
  const inHeap = (p: number) => BigInt(p) >= h.start && BigInt(p) < h.end;
  if (!inHeap(sbrk)) return `mp_.sbrk_base ${hex(sbrk)} is outside [heap]`;
  if (!inHeap(top)) return `main_arena.top ${hex(top)} is outside [heap]`;
  if (BigInt(sbrk + system) > h.end) return `main_arena.system_mem ${system} runs past the end of [heap]`;
  return undefined;
}

/**
 * Locate and verify glibc malloc's state in a process. Throws PymemError("UNSUPPORTED") naming the reason when the
 * process's malloc is not glibc's, when glibc is a release whose layout has not been checked, or when the statics
 * cannot be found and verified: never a guessed layout.
 */
export function locateGlibcMalloc(target: GlibcTarget): GlibcMallocState {
  const libc = findLibc(target);
  const opened = target.open(libc);
  if (!opened) throw new PymemError("UNSUPPORTED", `process ${target.pid}: cannot read its libc (${libc})`);
  try {
    const elf = opened.elf;
    if (elf.machine !== "x86_64") {
      throw new PymemError("UNSUPPORTED", `glibc malloc reading is x86-64 only (${libc} is ${elf.machine})`);
    }
    const bias = loadBias(target.maps, elf, libc);
    if (bias === undefined) {
      throw new PymemError("UNSUPPORTED", `process ${target.pid}: cannot place ${libc}'s segments in its maps`);
    }
    checkMallocIsGlibc(target, libc, elf, bias);
    const release = glibcRelease(elf);
    if (!release) throw new PymemError("UNSUPPORTED", `${libc}: cannot read glibc's version from gnu_get_libc_version`);
    const layout = glibcLayout(release);
    if (!layout) {
      throw new PymemError(
        "UNSUPPORTED",
        `glibc ${release} (${libc}): its malloc layout has not been checked (pymem knows ${
          SUPPORTED_RELEASES.join(", ")
        }); refusing to read it with a guess`,
      );
    }
    const arenaV = decodeMainArena(elf), mpV = decodeMp(elf, layout);
    if (arenaV === undefined || mpV === undefined) {
      throw new PymemError(
        "UNSUPPORTED",
        `glibc ${release} (${libc}): cannot decode main_arena/mp_ from mallinfo2/malloc_stats`,
      );
    }
    let how = `decoded from mallinfo2 (main_arena) and malloc_stats (mp_) of glibc ${release}`;
    const sym = symtabStatics(elf);
    if (sym) {
      if (sym.mainArena !== arenaV || sym.mp !== mpV) {
        throw new PymemError(
          "UNSUPPORTED",
          `glibc ${release} (${libc}): decoded main_arena ${hex(arenaV)} / mp_ ${
            hex(mpV)
          } disagree with ${sym.where} ` +
            `(${hex(sym.mainArena)} / ${hex(sym.mp)})`,
        );
      }
      how += `; agrees with ${sym.where}`;
    }
    const mainArena = Number(bias) + arenaV, mp = Number(bias) + mpV;
    const wrong = verify(target, layout, mainArena, mp);
    if (wrong) {
      throw new PymemError(
        "UNSUPPORTED",
        `process ${target.pid}, glibc ${release}: the decoded malloc state does not check out: ${wrong}`,
      );
    }
    return {
      libc: libc.replace(/ \(deleted\)$/, ""),
      release,
      layout,
      mainArena,
      mp,
      how: how + "; verified by reading back",
    };
  } finally {
    opened.release();
  }
}
