/**
 * Live attach: the obmalloc heap map of another, running Python process, by pid.
 *
 * Read-only and non-stopping: the target is never written to, never ptrace-attached, never paused. Everything comes
 * from files and reads of its memory (lib/remote.ts):
 * 1. `/proc/PID/maps` names the ELF that holds CPython (a libpython, or a statically linked python executable); its
 *    `.dynsym`/`.symtab`/`.PyRuntime` section give `_PyRuntime` and the statics, `loadBias` where they are mapped.
 * 2. The version comes from the file, not the process: `Py_Version` (3.11+, a const in .rodata), else the
 *    `PY_VERSION` literal that `Py_GetVersion` formats (found by decoding its `lea`s); 3.13+ cross-checks it against
 *    `_Py_DebugOffsets.version` read from the target, which also validates `_PyRuntime`.
 * 3. The obmalloc state is located with the in-process tables (lib/layout.ts, lib/obmalloc.ts) and validated the
 *    same way (usedpools signature, arena-array checks), with remote reads.
 * 4. Arenas and pools are read in batches (up to IOV_MAX pool headers per system call), then validated: a torn or
 *    inconsistent pool header is re-read, and what stays inconsistent is counted and reported, never guessed.
 * @module
 */
import * as fs from "node:fs";
import { checkAddress, checkOptions, integerIn, oneOf } from "./checks.ts";
import { ElfFile } from "./elf.ts";
import { PymemError } from "./errors.ts";
import { HeapSnapshot, type MemoryReader, type SnapshotInfo, walkHeap } from "./heap.ts";
import { ARENA, blockSize, blocksPerPool, layoutFor, type ObmallocLayout, POOL, STATE, USE_MAIN_OBMALLOC } from "./layout.ts";
import { arenaLooksSane, decodeStatics, type MemoryProbe, ownState } from "./obmalloc.ts";
import { loadBias, type MapEntry, readMaps } from "./procmaps.ts";
import { type ReadMode, RemoteMemory } from "./remote.ts";
import { ripRelativeRefs } from "./x86.ts";

/** Options of {@link attachPython}. */
export interface AttachOptions {
  /** Force a read path (default: process_vm_readv, falling back to /proc/PID/mem when the system call is refused). */
  readMode?: ReadMode;
  /** How many times an inconsistent pool header or a moving arena table is re-read (default 3). */
  retries?: number;
}

/** How one fact about the target was established, for `debugInfo`. */
export interface AttachDebugInfo {
  pid: number;
  /** The ELF file that holds CPython, as mapped in the target. */
  image: string;
  /** "shared library" or "executable (statically linked CPython)". */
  imageKind: string;
  stripped: boolean;
  /** Load bias of the image (runtime address − file vaddr). */
  loadBias: bigint;
  runtime: { address: bigint; how: string };
  version: { value: string; how: string };
  /** 3.8–3.11: the statics; 3.12+: one entry per interpreter. */
  state: { interp: bigint; address: bigint | null; how: string }[];
  allocator: { name: string | null; how: string };
  readMode: ReadMode;
  /** System calls made so far (process_vm_readv or pread). */
  readCalls: number;
}

/** An interpreter of the target (3.12+; 3.8–3.11 share one static state and list none). */
export interface RemoteInterpreter {
  id: number;
  address: bigint;
  /** True when it allocates from the main interpreter's state (Py_RTFLAGS_USE_MAIN_OBMALLOC, or it is main). */
  sharesMainObmalloc: boolean;
  isMain: boolean;
}

/** A heap snapshot read from another process, with what could not be read. */
export class RemoteHeapSnapshot extends HeapSnapshot {
  /** Problems met while reading (torn pools that stayed inconsistent, arenas freed meanwhile, …). */
  readonly warnings: string[];
  /** Pool headers that could not be read at all (their arena was unmapped while reading). */
  readonly unreadablePools: number;
  /** System calls this walk made. */
  readonly readCalls: number;
  constructor(walk: ConstructorParameters<typeof HeapSnapshot>[0], layout: ObmallocLayout, info: SnapshotInfo, extra: { warnings: string[]; unreadablePools: number; readCalls: number }) {
    super(walk, layout, info);
    this.warnings = extra.warnings;
    this.unreadablePools = extra.unreadablePools;
    this.readCalls = extra.readCalls;
  }
}

/** One row of {@link listPythonProcesses}. */
export interface PythonProcessInfo {
  pid: number;
  /** "3.12.1" */
  version: string;
  /** Resident set size in bytes (VmRSS). */
  rss: number;
  /** Arenas of the main obmalloc state; null when it could not be mapped (see `error`). */
  arenas: number | null;
  /** Arenas kept mapped by a handful of live pools (fragmentation.pinnedArenas); null as above. */
  pinned: number | null;
  /** The image holding CPython. */
  image: string;
  /** Why the heap could not be mapped (e.g. PYTHONMALLOC=malloc). */
  error?: string;
}

const u64 = (b: Uint8Array, o = 0): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(o, true);
const u32 = (b: Uint8Array, o = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
const num = (b: Uint8Array, o = 0): number => u32(b, o) + u32(b, o + 4) * 0x1_0000_0000;
const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/** The CPython image of a process: which mapped file, where, and its symbols. */
interface Image {
  elf: ElfFile;
  path: string;
  bias: bigint;
  runtime: bigint;
  runtimeHow: string;
}

/**
 * Files mapped by the process that may hold CPython, most likely first (libpython before the executable), as the
 * maps file names them. A file deleted or replaced on disk since it was mapped is named "PATH (deleted)".
 */
function candidatePaths(maps: MapEntry[], pid: number): string[] {
  const seen = new Set<string>();
  for (const m of maps) if (m.path.startsWith("/")) seen.add(m.path);
  const all = [...seen];
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1).replace(/ \(deleted\)$/, "");
  // CPython's own remote debugging looks at mappings whose name contains "python"; so do we first, then the rest
  // of the executable (a renamed, statically linked interpreter such as uwsgi is still found through /proc/PID/exe).
  const named = all.filter((p) => /python/i.test(base(p)) && !/\.py[cw]?$/.test(base(p)));
  named.sort((a, b) => Number(/^libpython/.test(base(b))) - Number(/^libpython/.test(base(a))));
  let exe: string | undefined;
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch { /* a kernel thread, or not permitted */ }
  if (exe && !named.includes(exe) && seen.has(exe)) named.push(exe);
  return named;
}

/**
 * Open a path the target maps: the file itself (through /proc/PID/root when it lives in another mount namespace,
 * a container), or, when it was deleted or replaced on disk, the mapped file as the kernel still holds it
 * (/proc/PID/map_files/START-END of one of its mappings: the same inode, whatever the path now holds).
 */
function openElf(path: string, pid: number, maps: MapEntry[]): ElfFile | undefined {
  const mapping = maps.find((m) => m.path === path);
  const deleted = path.endsWith(" (deleted)");
  const places = deleted ? [] : [path, `/proc/${pid}/root${path}`];
  if (mapping) places.push(`/proc/${pid}/map_files/${mapping.start.toString(16)}-${mapping.end.toString(16)}`);
  for (const p of places) {
    try {
      const elf = ElfFile.open(p);
      // The file on disk must be the one mapped (same inode), else it was replaced: read the mapped one instead.
      if (mapping && mapping.inode !== 0 && !p.includes("/map_files/") && fs.statSync(p).ino !== mapping.inode) {
        elf.close();
        continue;
      }
      return elf;
    } catch { /* try the next */ }
  }
  return undefined;
}

/** The process's state letter from /proc/PID/stat ("R", "S", "Z" for a zombie…), or undefined. */
function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

function findImage(pid: number, maps: MapEntry[]): Image {
  const tried: string[] = [];
  let comm = "?";
  try {
    comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch { /* gone */ }
  const state = processState(pid);
  if (state === "Z" || state === "X") {
    throw new PymemError("ATTACH", `process ${pid} (${comm}) has exited (a zombie its parent has not reaped): it has no memory left to read`);
  }
  for (const path of candidatePaths(maps, pid)) {
    const elf = openElf(path, pid, maps);
    if (!elf) {
      tried.push(`${path} (unreadable${path.endsWith(" (deleted)") ? `: deleted on disk, and /proc/${pid}/map_files cannot be read` : ""})`);
      continue;
    }
    let keep = false;
    try {
      const sym = elf.dynamicSymbol("_PyRuntime") ?? (elf.hasSymtab ? elf.symbol("_PyRuntime") : undefined);
      const section = elf.section(".PyRuntime");
      const vaddr = sym && sym.value !== 0 ? sym.value : section?.addr;
      if (vaddr === undefined || !elf.dynamicSymbol("Py_GetVersion")) {
        tried.push(`${path} (no _PyRuntime)`);
        continue;
      }
      const bias = loadBias(maps, elf, path);
      if (bias === undefined) {
        tried.push(`${path} (cannot place its segments in /proc/${pid}/maps)`);
        continue;
      }
      keep = true;
      return {
        elf,
        path: path.replace(/ \(deleted\)$/, ""),
        bias,
        runtime: bias + BigInt(vaddr),
        runtimeHow: sym && sym.value !== 0 ? `symbol _PyRuntime (${sym.table})` : "section .PyRuntime",
      };
    } finally {
      if (!keep) elf.close();
    }
  }
  throw new PymemError(
    "ATTACH",
    `process ${pid} (${comm}) is not a CPython process: no mapped file defines _PyRuntime` +
      (tried.length ? ` (looked at ${tried.join(", ")})` : " (no mapped file is named like python or libpython)"),
  );
}

/** The version from the image file: Py_Version (3.11+) or the PY_VERSION literal Py_GetVersion formats. */
function fileVersion(elf: ElfFile, path: string): { major: number; minor: number; micro: number; text: string; how: string } {
  const pv = elf.dynamicSymbol("Py_Version");
  if (pv) {
    try {
      const hexv = u32(elf.readVaddr(pv.value, 4));
      const major = hexv >>> 24, minor = (hexv >>> 16) & 0xff, micro = (hexv >>> 8) & 0xff;
      if (major === 3) return { major, minor, micro, text: `${major}.${minor}.${micro}`, how: `Py_Version = ${hex(hexv)} (file)` };
    } catch { /* fall through */ }
  }
  const gv = elf.dynamicSymbol("Py_GetVersion");
  if (gv && elf.machine === "x86_64") {
    const code = elf.readVaddr(gv.value, Math.min(gv.size || 128, 256));
    for (const r of ripRelativeRefs(code, gv.value, 64)) {
      if (r.op !== "lea") continue;
      let s: Uint8Array;
      try {
        s = elf.readVaddr(r.target, 16);
      } catch {
        continue;
      }
      const m = /^(\d+)\.(\d+)\.(\d+)([a-z0-9+]*)\0/.exec(new TextDecoder("latin1").decode(s));
      if (m) {
        return { major: +m[1], minor: +m[2], micro: +m[3], text: `${m[1]}.${m[2]}.${m[3]}${m[4]}`, how: "PY_VERSION literal referenced by Py_GetVersion (file)" };
      }
    }
  }
  const m = /python(\d)\.(\d+)/.exec(path.slice(path.lastIndexOf("/") + 1));
  if (m) return { major: +m[1], minor: +m[2], micro: 0, text: `${m[1]}.${m[2]}`, how: "file name (micro version unknown)" };
  throw new PymemError("ATTACH", `cannot tell the CPython version of ${path}`);
}

/** PyObjectArenaAllocator-style allocator table offsets of `_PyRuntime.allocators.standard.{raw,obj}` (3.12+). */
const RUNTIME_ALLOCATORS: Record<number, { raw: number; obj: number }> = {
  12: { raw: 0x60, obj: 0xb0 },
  13: { raw: 0x2c0, obj: 0x310 },
  14: { raw: 0x370, obj: 0x3c0 },
};

/** `_PyRuntime.interpreters.{head,main}` and PyInterpreterState.{next,id} of 3.12 (3.13+ read _Py_DebugOffsets). */
const RUNTIME_312 = { head: 0x28, main: 0x30, next: 0x0, id: 0x8, size: 383_552 };

/**
 * A read-only handle on a running CPython process. Create with {@link attachPython}.
 */
export class AttachedPython {
  readonly pid: number;
  /** "3.12.1" */
  readonly version: string;
  readonly minor: number;
  /** The file holding CPython as the target maps it (a libpython, or the statically linked executable). */
  readonly library: string;
  /** The target's executable (/proc/PID/exe). */
  readonly executable: string;
  readonly layout: ObmallocLayout;
  readonly #mem: RemoteMemory;
  readonly #img: Image;
  readonly #retries: number;
  readonly #info: AttachDebugInfo;
  #closed = false;
  #interpOffsets?: { head: number; main: number; next: number; id: number; size: number };

  private constructor(pid: number, img: Image, mem: RemoteMemory, v: ReturnType<typeof fileVersion>, retries: number) {
    this.pid = pid;
    this.#img = img;
    this.#mem = mem;
    this.#retries = retries;
    this.version = v.text;
    this.minor = v.minor;
    this.library = img.path;
    let exe = "";
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
    } catch { /* not permitted */ }
    this.executable = exe;
    this.layout = layoutFor(v.minor, img.path);
    this.#info = {
      pid,
      image: img.path,
      imageKind: img.elf.type === "dyn" && /\.so(\.|$)/.test(img.path) ? "shared library" : "executable (statically linked CPython)",
      stripped: !img.elf.hasSymtab,
      loadBias: img.bias,
      runtime: { address: img.runtime, how: img.runtimeHow },
      version: { value: v.text, how: v.how },
      state: [],
      allocator: { name: null, how: "not determined yet" },
      readMode: mem.mode,
      readCalls: 0,
    };
  }

  /** @internal use attachPython() */
  static async create(pid: number, options: AttachOptions): Promise<AttachedPython> {
    const maps = readMaps(pid);
    const img = findImage(pid, maps);
    let mem: RemoteMemory | undefined;
    try {
      const v = fileVersion(img.elf, img.path);
      mem = await RemoteMemory.open(pid, Number(img.runtime), options.readMode);
      const py = new AttachedPython(pid, img, mem, v, options.retries ?? 3);
      py.#checkDebugOffsets(v);
      py.#info.allocator = py.#allocator();
      return py;
    } catch (e) {
      mem?.close();
      img.elf.close();
      throw e;
    }
  }

  /** 3.13+: `_Py_DebugOffsets` at `_PyRuntime` must carry the cookie and the same version. */
  #checkDebugOffsets(v: ReturnType<typeof fileVersion>): void {
    if (v.minor < 13) return;
    const head = this.#mem.read(Number(this.#img.runtime), 80);
    const cookie = new TextDecoder("latin1").decode(head.subarray(0, 8));
    if (cookie !== "xdebugpy") {
      throw new PymemError("ATTACH", `process ${this.pid}: no _Py_DebugOffsets cookie at _PyRuntime (${hex(this.#img.runtime)}); not CPython ${v.text}?`);
    }
    const hexv = num(head, 8);
    const minor = (hexv >>> 16) & 0xff;
    if (minor !== v.minor) throw new PymemError("ATTACH", `process ${this.pid}: _Py_DebugOffsets says 3.${minor}, the file says ${v.text}`);
    const micro = (hexv >>> 8) & 0xff;
    if (num(head, 16) !== 0) {
      throw new PymemError("UNSUPPORTED", `process ${this.pid} runs a free-threaded CPython ${v.text}: it has no obmalloc (mimalloc only)`);
    }
    (this as { version: string }).version = `3.${minor}.${micro}`;
    this.#info.version = { value: this.version, how: `${v.how}; _Py_DebugOffsets.version = ${hex(hexv)} (target)` };
    this.#interpOffsets = { head: num(head, 40), main: num(head, 40) + 8, next: num(head, 64), id: num(head, 56), size: num(head, 48) };
  }

  #assertOpen(): void {
    if (this.#closed) throw new PymemError("CLOSED", `the handle on process ${this.pid} is closed`);
  }

  /** How each address was found: image, load bias, _PyRuntime, version, states, allocator, read path and calls. */
  get debugInfo(): AttachDebugInfo {
    return { ...this.#info, readCalls: this.#mem.readCalls, state: [...this.#info.state] };
  }

  /** The object allocator in use: "pymalloc", "pymalloc_debug", "malloc", "malloc_debug", "mimalloc…", or null. */
  get allocator(): string | null {
    return this.#info.allocator.name;
  }

  #ptr(address: bigint | number): bigint {
    return u64(this.#mem.read(Number(address), 8));
  }

  /**
   * Name the allocator from the object domain's PyMemAllocatorEx {ctx, malloc, …}: by the symbol its malloc points
   * at (needs .symtab), else by comparing it with the raw domain (PYTHONMALLOC=malloc makes them identical).
   */
  #allocator(): { name: string | null; how: string } {
    const { elf, bias } = this.#img;
    let obj: bigint | undefined, raw: bigint | undefined, how = "";
    const offs = RUNTIME_ALLOCATORS[this.minor];
    if (offs) {
      obj = this.#img.runtime + BigInt(offs.obj);
      raw = this.#img.runtime + BigInt(offs.raw);
      how = `_PyRuntime+${hex(offs.obj)}`;
    } else {
      const named = (n: string) => (elf.hasSymtab ? elf.symbol(n) : undefined);
      const o = named("_PyObject"), r = named("_PyMem_Raw");
      if (o && r) {
        obj = bias + BigInt(o.value);
        raw = bias + BigInt(r.value);
        how = "_PyObject (.symtab)";
      } else {
        obj = this.#decodeTable("PyObject_Malloc");
        raw = this.#decodeTable("PyMem_RawMalloc");
        how = "decoded from PyObject_Malloc";
      }
    }
    if (obj === undefined) return { name: null, how: "allocator table not found" };
    const objT = this.#mem.tryRead(Number(obj), 40);
    const rawT = raw === undefined ? null : this.#mem.tryRead(Number(raw), 40);
    if (!objT) return { name: null, how: `${how}: unreadable` };
    const nameOf = (fn: bigint): string | undefined => {
      const v = Number(fn - bias);
      const s = v > 0 ? elf.symbolAt(v) : undefined;
      return s && s.value === v ? s.name : undefined;
    };
    const base = (fn: string | undefined): string | null => {
      if (fn === undefined) return null;
      if (/^_PyObject_Malloc$/.test(fn)) return "pymalloc";
      if (/^_PyMem_RawMalloc$/.test(fn)) return "malloc";
      if (/MiMalloc/.test(fn)) return "mimalloc";
      return null;
    };
    const fnName = nameOf(u64(objT, 8));
    if (fnName === "_PyMem_DebugMalloc") {
      // ctx = &_PyMem_Debug.obj, a { char api_id; PyMemAllocatorEx alloc; }: the wrapped malloc is at ctx+16.
      const inner = this.#mem.tryRead(Number(u64(objT, 0)) + 16, 8);
      const b = inner ? base(nameOf(u64(inner))) : null;
      return { name: b ? `${b}_debug` : null, how: `${how}: malloc = _PyMem_DebugMalloc` };
    }
    const b = base(fnName);
    if (b) return { name: b, how: `${how}: malloc = ${fnName}` };
    if (rawT && u64(objT, 8) === u64(rawT, 8) && u64(objT, 0) === u64(rawT, 0)) {
      return { name: "malloc", how: `${how}: the object domain uses the raw domain's allocator` };
    }
    return { name: null, how: `${how}: malloc at ${hex(u64(objT, 8))} has no symbol (stripped)` };
  }

  /** Address of the PyMemAllocatorEx an exported `fn` reads first: `mov rdi,[rip+ctx]; jmp [rip+ctx+8]`. */
  #decodeTable(fn: string): bigint | undefined {
    const { elf, bias } = this.#img;
    const sym = elf.dynamicSymbol(fn);
    if (!sym || elf.machine !== "x86_64") return undefined;
    const refs = ripRelativeRefs(elf.readVaddr(sym.value, Math.min(sym.size || 64, 128)), sym.value, 32).filter((r) => r.width === 8 && r.op !== "call" && r.op !== "jmp" && r.op !== "lea");
    for (const a of refs) if (refs.some((b) => b.target === a.target + 8)) return bias + BigInt(a.target);
    return undefined;
  }

  /** `_PyRuntime.interpreters` offsets (3.12 table, 3.13+ _Py_DebugOffsets). */
  #offsets(): { head: number; main: number; next: number; id: number; size: number } {
    return this.#interpOffsets ?? RUNTIME_312;
  }

  /** The interpreters of the target (3.12+), main first. 3.8–3.11 share one static state: an empty list. */
  interpreters(): RemoteInterpreter[] {
    this.#assertOpen();
    if (this.layout.state === "static") return [];
    const o = this.#offsets();
    const main = this.#ptr(this.#img.runtime + BigInt(o.main));
    const out: RemoteInterpreter[] = [];
    const seen = new Set<bigint>();
    for (let p = this.#ptr(this.#img.runtime + BigInt(o.head)); p !== 0n && !seen.has(p) && seen.size < 10_000; p = this.#ptr(p + BigInt(o.next))) {
      seen.add(p);
      const id = Number(u64(this.#mem.read(Number(p) + o.id, 8)));
      const isMain = p === main;
      const flags = isMain ? 0n : u64(this.#mem.read(Number(p) + this.layout.featureFlagsOffset!, 8));
      out.push({ id, address: p, isMain, sharesMainObmalloc: isMain || (flags & USE_MAIN_OBMALLOC) !== 0n });
    }
    if (!seen.has(main)) throw new PymemError("ATTACH", `process ${this.pid}: the main interpreter ${hex(main)} is not in the interpreter list (torn read or wrong offsets)`);
    return out.sort((a, b) => Number(b.isMain) - Number(a.isMain) || a.id - b.id);
  }

  /** Addresses of the state variables for `interp` (undefined: main), validated. */
  #locate(interp?: bigint): { arenas: number; maxarenas: number; raw?: number; counters?: number; state: bigint | null; interp: bigint; how: string } {
    if (interp !== undefined) checkAddress(interp, "interp (a PyInterpreterState address or an interpreter id)");
    if (this.layout.state === "static") return this.#statics();
    const list = this.interpreters();
    const target = interp === undefined ? list[0] : list.find((i) => i.address === interp || BigInt(i.id) === interp);
    if (!target) throw new RangeError(`${hex(interp!)} is not an interpreter of process ${this.pid}`);
    const owner = target.sharesMainObmalloc ? list[0] : target;
    const probe = this.#probe();
    // The target keeps running: tolerate a few torn list heads at the known offset, and retry a torn read.
    let found = ownState(probe, owner.address, this.layout, 4);
    for (let attempt = 0; !found && attempt < 3; attempt++) found = ownState(probe, owner.address, this.layout, 4);
    if (!found) {
      throw new PymemError(
        "UNSUPPORTED",
        `process ${this.pid}: cannot find the obmalloc state of interpreter ${hex(owner.address)} (CPython ${this.version}): ` +
          "neither the known offset nor a signature scan matched (torn read, or obmalloc not in use)",
      );
    }
    const s = Number(found.state);
    const how = found.how + (owner !== target ? " (main interpreter's state, shared)" : "");
    this.#record(target.address, found.state, how);
    return { arenas: s + STATE.arenas, maxarenas: s + STATE.maxarenas, raw: s + STATE.rawAllocatedBlocks, counters: s + STATE.narenasCurrentlyAllocated, state: found.state, interp: target.address, how };
  }

  #record(interp: bigint, address: bigint | null, how: string): void {
    const st = this.#info.state;
    const i = st.findIndex((x) => x.interp === interp);
    if (i >= 0) st[i] = { interp, address, how };
    else st.push({ interp, address, how });
  }

  /** 3.8–3.11: the file statics, by .symtab name, else by decoding the exported function that reads them. */
  #statics(): { arenas: number; maxarenas: number; raw?: number; counters?: number; state: null; interp: bigint; how: string } {
    const { elf, bias } = this.#img;
    const at = (v: number) => Number(bias) + v;
    if (elf.hasSymtab) {
      const a = elf.symbol("arenas"), m = elf.symbol("maxarenas");
      if (a && m && a.value && m.value) {
        const r = elf.symbol("raw_allocated_blocks");
        const how = ".symtab statics";
        this.#record(0n, null, how);
        return { arenas: at(a.value), maxarenas: at(m.value), raw: r ? at(r.value) : undefined, state: null, interp: 0n, how };
      }
    }
    const decoded = decodeStatics(this.#probe(), elf, bias, this.layout);
    if (decoded) {
      this.#record(0n, null, decoded.how);
      const raw = decoded.rawAllocatedBlocks;
      return { arenas: Number(decoded.arenas), maxarenas: Number(decoded.maxarenas), raw: raw === undefined ? undefined : Number(raw), state: null, interp: 0n, how: decoded.how };
    }
    const fnName = this.layout.rawAllocatedBlocks ? "_Py_GetAllocatedBlocks" : "_PyObject_DebugMallocStats";
    throw new PymemError(
      "UNSUPPORTED",
      `process ${this.pid}: cannot find obmalloc's arenas in CPython ${this.version} (${this.library}): no .symtab, and ` +
        `decoding ${fnName} found no valid candidate` + (this.#info.allocator.name && this.#info.allocator.name !== "pymalloc" ? ` (allocator: ${this.#info.allocator.name})` : ""),
    );
  }

  /** The remote reader as the state locators of lib/obmalloc.ts want it: reads that fail instead of faulting. */
  #probe(): MemoryProbe {
    return { safeRead: (a: bigint, l: number) => this.#mem.tryRead(Number(a), l) };
  }

  /**
   * Map the heap of one interpreter (default: main; pass its address or id). 3.8–3.11 have one heap for all.
   * Throws PymemError("UNSUPPORTED") when the target does not use obmalloc (PYTHONMALLOC=malloc, mimalloc).
   */
  heap(interp?: bigint): RemoteHeapSnapshot {
    this.#assertOpen();
    const calls0 = this.#mem.readCalls;
    const warnings: string[] = [];
    const loc = this.#locate(interp);
    const layout = this.layout;
    const mem = this.#mem;

    // The arena table, read between two reads of (arenas, maxarenas): if either moved (the table was realloc'ed
    // to grow), read again.
    let arenas = 0, maxarenas = 0;
    let table: Uint8Array = new Uint8Array(0);
    for (let attempt = 0; ; attempt++) {
      const vars = mem.readMany([{ address: loc.arenas, length: 8 }, { address: loc.maxarenas, length: 4 }]);
      if (!vars.ok[0] || !vars.ok[1]) throw new PymemError("ATTACH", `process ${this.pid}: obmalloc's arenas/maxarenas are unreadable`);
      arenas = num(vars.bytes, 0);
      maxarenas = u32(vars.bytes, 8);
      if (maxarenas > 1 << 24 || (maxarenas > 0 && arenas === 0)) throw new PymemError("ATTACH", `process ${this.pid}: implausible arenas=${hex(arenas)} maxarenas=${maxarenas}`);
      const t = maxarenas ? mem.tryRead(arenas, maxarenas * ARENA.size) : new Uint8Array(0);
      const again = mem.readMany([{ address: loc.arenas, length: 8 }, { address: loc.maxarenas, length: 4 }]);
      if (t && again.ok[0] && again.ok[1] && num(again.bytes, 0) === arenas && u32(again.bytes, 8) === maxarenas) {
        table = t;
        break;
      }
      if (attempt >= this.#retries) throw new PymemError("ATTACH", `process ${this.pid}: the arena table kept moving while it was read (${attempt + 1} attempts)`);
    }

    // Drop arena entries that make no sense (torn while the target updated them).
    for (let i = 0; i < maxarenas; i++) {
      const o = i * ARENA.size;
      if (num(table, o) !== 0 && !arenaLooksSane(table, o, this.layout)) {
        warnings.push(`arena slot ${i}: inconsistent arena_object (address ${hex(num(table, o))}); skipped`);
        table.fill(0, o, o + 8);
      }
    }
    if (maxarenas === 0 || !hasArena(table, maxarenas)) {
      const name = this.#info.allocator.name;
      if (name !== "pymalloc" && name !== "pymalloc_debug") {
        throw new PymemError(
          "UNSUPPORTED",
          `process ${this.pid} (CPython ${this.version}) does not use obmalloc: its object allocator is ` +
            `${name ?? "not pymalloc"} (${this.#info.allocator.how}) and it has no arenas; PYTHONMALLOC=${name?.startsWith("mimalloc") ? "mimalloc" : "malloc"} ` +
            "(or a custom allocator) leaves no obmalloc heap to map",
        );
      }
    }

    // Every carved pool's header, in as few system calls as possible (IOV_MAX headers per call).
    const { poolSize } = layout;
    let nPools = 0;
    for (let i = 0; i < maxarenas; i++) {
      const o = i * ARENA.size;
      const address = num(table, o);
      if (address === 0) continue;
      const first = Math.ceil(address / poolSize) * poolSize;
      nPools += Math.max(0, Math.floor((num(table, o + ARENA.poolAddress) - first) / poolSize));
    }
    const addresses = new Float64Array(nPools);
    const arenaOfRange = new Uint32Array(nPools);
    const firstOf = new Map<number, number>(); // first pool address → index of its first header
    for (let i = 0, r = 0; i < maxarenas; i++) {
      const o = i * ARENA.size;
      const address = num(table, o);
      if (address === 0) continue;
      const first = Math.ceil(address / poolSize) * poolSize;
      const carved = Math.max(0, Math.floor((num(table, o + ARENA.poolAddress) - first) / poolSize));
      firstOf.set(first, r);
      for (let k = 0; k < carved; k++, r++) {
        addresses[r] = first + k * poolSize;
        arenaOfRange[r] = i;
      }
    }
    const got = mem.readUniform(addresses, POOL.size);
    const words = new Uint32Array(got.bytes.buffer, got.bytes.byteOffset, got.bytes.byteLength / 4);
    const W = POOL.size / 4;
    const bad = (r: number) => !got.ok[r] || !this.#poolSane(words, r * W, arenaOfRange[r]);
    let suspects: number[] = [];
    for (let r = 0; r < nPools; r++) if (bad(r)) suspects.push(r);
    // Torn headers: read them again; a header that settles is taken, the rest are reported.
    for (let attempt = 0; attempt < this.#retries && suspects.length > 0; attempt++) {
      const again = mem.readUniform(Float64Array.from(suspects, (r) => addresses[r]), POOL.size);
      const next: number[] = [];
      suspects.forEach((r, j) => {
        if (again.ok[j]) {
          got.bytes.set(again.bytes.subarray(j * POOL.size, (j + 1) * POOL.size), r * POOL.size);
          got.ok[r] = 1;
        }
        if (bad(r)) next.push(r);
      });
      suspects = next;
    }
    let unreadable = 0, inconsistent = 0;
    for (const r of suspects) {
      if (!got.ok[r]) unreadable++;
      else inconsistent++;
      words[r * W] = 0; // counted below, never walked as if it were a used pool
      words[r * W + 1] = 0;
    }
    if (unreadable) warnings.push(`${unreadable} pool header(s) unreadable (their arena was unmapped while reading); not counted`);
    if (inconsistent) warnings.push(`${inconsistent} pool header(s) stayed inconsistent after ${this.#retries} re-reads (the target was writing them); not counted`);

    const reader: MemoryReader = {
      read: (address, length) => {
        if (address === arenas && length === table.length) return table;
        return mem.read(address, length);
      },
      poolHeaders: (first, count) => {
        const at = firstOf.get(first);
        if (at === undefined) throw new PymemError("ATTACH", `internal: pool headers of ${hex(first)} were not read`);
        return { words: words.subarray(at * W, (at + count) * W), stride: W };
      },
    };
    const walk = walkHeap(reader, arenas, maxarenas, layout);
    walk.inconsistentPools += inconsistent + unreadable;

    const extraVars = mem.readMany([
      ...(loc.raw !== undefined ? [{ address: loc.raw, length: 8 }] : []),
      ...(loc.counters !== undefined ? [{ address: loc.counters, length: 24 }] : []),
    ]);
    let rawBlocks: number | null = null;
    const counters: SnapshotInfo["counters"] = {};
    let k = 0;
    if (loc.raw !== undefined) {
      if (extraVars.ok[k]) rawBlocks = num(extraVars.bytes, extraVars.offsets[k]);
      k++;
    }
    if (loc.counters !== undefined && extraVars.ok[k]) {
      const o = extraVars.offsets[k];
      counters.narenasCurrentlyAllocated = num(extraVars.bytes, o);
      counters.ntimesArenaAllocated = num(extraVars.bytes, o + 8);
      counters.narenasHighwater = num(extraVars.bytes, o + 16);
    }
    const info: SnapshotInfo = {
      version: this.version,
      allocator: this.#info.allocator.name,
      interp: loc.interp,
      source: `${loc.how}; read from process ${this.pid} via ${mem.mode}`,
      rawAllocatedBlocks: rawBlocks,
      counters,
    };
    return new RemoteHeapSnapshot(walk, layout, info, { warnings, unreadablePools: unreadable, readCalls: mem.readCalls - calls0 });
  }

  /** One snapshot per distinct obmalloc state: main's, then each interpreter with its own (3.12+). */
  heaps(): { interp: RemoteInterpreter | null; snapshot: RemoteHeapSnapshot }[] {
    if (this.layout.state === "static") return [{ interp: null, snapshot: this.heap() }];
    return this.interpreters().filter((i) => i.isMain || !i.sharesMainObmalloc).map((i) => ({ interp: i, snapshot: this.heap(i.address) }));
  }

  /** A used pool header must agree with its arena and its own geometry. */
  #poolSane(words: Uint32Array, w: number, arenaIndex: number): boolean {
    const count = words[w + POOL.count / 4];
    if (count === 0) return true; // empty (on the arena's free list): not walked
    const sz = words[w + POOL.szidx / 4];
    const layout = this.layout;
    if (sz >= layout.sizeClasses) return false;
    const size = blockSize(sz, layout);
    if (count > blocksPerPool(sz, layout)) return false;
    if (words[w + POOL.arenaindex / 4] !== arenaIndex) return false;
    if (words[w + POOL.maxnextoffset / 4] !== layout.poolSize - size) return false;
    const next = words[w + POOL.nextoffset / 4];
    return next >= layout.poolOverhead + size && next <= layout.poolSize && count <= (next - layout.poolOverhead) / size;
  }

  /** Release the reader and the image file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mem.close();
    this.#img.elf.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `AttachedPython(pid ${this.pid}, CPython ${this.version}, ${this.library})`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

function hasArena(table: Uint8Array, maxarenas: number): boolean {
  for (let i = 0; i < maxarenas; i++) if (num(table, i * ARENA.size) !== 0) return true;
  return false;
}

/**
 * Attach, read-only, to the running CPython process `pid`: find its CPython image and version, and get ready to map
 * its obmalloc heap. The target is never stopped or written to.
 *
 * @example
 * ```ts
 * using py = await attachPython(1234);
 * const snap = py.heap();
 * console.log(py.version, snap.totals.arenas, snap.fragmentation.pinnedArenas, snap.warnings);
 * ```
 * @throws PymemError "ATTACH" (no such process, not CPython, exited mid-read), "PERMISSION" (what to change is in
 * the message), "UNSUPPORTED_VERSION", "UNSUPPORTED" (free-threaded build).
 */
export async function attachPython(pid: number, options?: AttachOptions): Promise<AttachedPython> {
  if (typeof pid !== "number") throw new TypeError(`attachPython: pid must be a number, got ${pid === null ? "null" : typeof pid}`);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 4_194_304) {
    throw new RangeError(`attachPython: pid must be a whole number from 1 to 4194304 (the kernel's PID_MAX_LIMIT), got ${pid}`);
  }
  options = checkOptions<AttachOptions>(options, "attachPython", {
    readMode: oneOf(["process_vm_readv", "/proc/PID/mem"] satisfies ReadMode[]),
    retries: integerIn(0, 1000),
  });
  return await AttachedPython.create(pid, options);
}

/**
 * Every CPython process this user may read, with its version, RSS and arena figures: what `pymem ps` shows.
 * Processes that cannot be read (another user's, no permission) are left out; those without an obmalloc heap
 * (PYTHONMALLOC=malloc) are listed with `arenas: null` and the reason in `error`.
 */
export async function listPythonProcesses(): Promise<PythonProcessInfo[]> {
  const out: PythonProcessInfo[] = [];
  const self = typeof process !== "undefined" ? process.pid : -1;
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    let maps: MapEntry[];
    try {
      maps = readMaps(pid);
    } catch {
      continue;
    }
    if (!maps.some((m) => /python/i.test(m.path.slice(m.path.lastIndexOf("/") + 1)))) continue;
    let py: AttachedPython;
    try {
      py = await attachPython(pid);
    } catch (e) {
      // Unreadable (another user, ptrace_scope) or gone: not a process this user may read. Anything else is a
      // Python-looking process pymem could not map: list it with the reason rather than hide it.
      const err = e as PymemError;
      if (err?.code === "PERMISSION" || /exited|no such process/i.test(String(err?.message))) continue;
      const image = maps.find((m) => /python/i.test(m.path.slice(m.path.lastIndexOf("/") + 1)))!.path;
      out.push({ pid, version: "?", rss: 0, arenas: null, pinned: null, image, error: String(err?.message ?? e).split("\n")[0] });
      continue;
    }
    try {
      let rss = 0;
      try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        rss = m ? Number(m[1]) * 1024 : 0;
      } catch { /* exited */ }
      const row: PythonProcessInfo = { pid, version: py.version, rss, arenas: null, pinned: null, image: py.library };
      try {
        const s = py.heap();
        row.arenas = s.totals.arenas;
        row.pinned = s.fragmentation.pinnedArenas;
      } catch (e) {
        row.error = (e as Error).message;
      }
      if (pid !== self || row.arenas !== null) out.push(row);
    } finally {
      py.close();
    }
  }
  return out;
}
