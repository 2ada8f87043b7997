/**
 * Live attach: the obmalloc heap map of another, running Python process, by pid.
 *
 * Read-only and non-stopping: the target is never written to, never ptrace-attached, never paused. Everything comes
 * from files and reads of its memory (lib/machine/remote.ts):
 * 1. `/proc/PID/maps` names the ELF that holds CPython (a libpython, or a statically linked python executable); its
 *    `.dynsym`/`.symtab`/`.PyRuntime` section give `_PyRuntime` and the statics, `loadBias` where they are mapped.
 * 2. The version comes from the file, not the process: `Py_Version` (3.11+, a const in .rodata), else the
 *    `PY_VERSION` literal that `Py_GetVersion` formats (found by decoding its `lea`s); 3.13+ cross-checks it against
 *    `_Py_DebugOffsets.version` read from the target, which also validates `_PyRuntime`.
 * 3. The obmalloc state is located with the in-process tables (lib/obmalloc/layout.ts, lib/obmalloc/state.ts) and validated the
 *    same way (usedpools signature, arena-array checks), with remote reads.
 * 4. Arenas and pools are read in batches (up to IOV_MAX pool headers per system call), then validated: a torn or
 *    inconsistent pool header is re-read, and what stays inconsistent is counted and reported, never guessed.
 *
 * One concept (over 500 lines): the AttachedPython handle — locating the state, the allocator name and the heap
 * read of one target; the image is found in image.ts and processes are listed in processes.ts.
 * @module
 */
import * as fs from "node:fs";
import { checkAddress, checkOptions, integerIn, oneOf } from "../checks.ts";
import { PymemError } from "../errors.ts";
import { type MemoryReader, type SnapshotInfo, walkHeap, type WalkResult } from "../obmalloc/heap.ts";
import {
  type AddressSpace,
  type AddressSpaceOptions,
  checkAddressSpaceOptions,
  collectAddressSpace,
} from "../address-space/mod.ts";
import {
  ARENA,
  carvedPools,
  layoutFor,
  type ObmallocLayout,
  POOL,
  poolHeaderSane,
  USE_MAIN_OBMALLOC,
} from "../obmalloc/layout.ts";
import { detectArenaSize } from "../obmalloc/arenasize.ts";
import {
  DEBUG_OFFSETS_HEAD,
  debugOffsetsMismatches,
  freeThreadedError,
  parseDebugOffsetsHead,
  readDebugOffsets,
} from "../core/debug-offsets.ts";
import { capabilities, cpython, cpythonIfKnown } from "../cpython/versions.ts";
import {
  arenaLooksSane,
  decodeStatics,
  type InterpreterRef,
  type MemoryProbe,
  ownState,
  requireOwnState,
  staticsNotFound,
} from "../obmalloc/state.ts";
import { readMaps } from "../machine/procmaps.ts";
import { PID_MAX_LIMIT, readStat } from "../machine/proc.ts";
import { residentPages } from "../machine/pagemap.ts";
import { type ReadMode, RemoteMemory } from "../machine/remote.ts";
import { u32le, u64le, u64leNumber } from "../machine/bytes.ts";
import { fileVersion, findImage, type Image, openElf } from "./image.ts";
import { nameAllocator } from "./allocator-name.ts";
import {
  type GlibcMallocState,
  locateGlibcMalloc,
  type MallocHeap,
  type MallocWalkOptions,
  walkMallocHeap,
} from "../glibc/mod.ts";
import { type MimallocHeap, mimallocIfUsed, mimallocLayout, requireMimalloc, walkMimalloc } from "../mimalloc/mod.ts";
import { showInRepl } from "../core/inspect.ts";
import { parseVersion, type PythonVersion, versionFromHex, versionString } from "../core/version.ts";
import { classifyHeap, HeapSnapshot, type SnapshotClassifier } from "../objects/mod.ts";
import { remoteObjectMemory } from "../objects/memory.ts";
import { type ClassifiableMallocHeap, classifyChunks, withObjects } from "../objects/chunks.ts";
import type { ObjectsSnapshot } from "../objects/snapshot.ts";
import { classifyMimalloc, type MimallocObjects } from "../objects/mimalloc.ts";

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
/** An interpreter of the target: the same shape as `py.interpreters()` rows (InterpreterRef). */
export type RemoteInterpreter = InterpreterRef;

/** A heap snapshot read from another process, with what could not be read. */
export class RemoteHeapSnapshot extends HeapSnapshot {
  /** Problems met while reading (torn pools that stayed inconsistent, arenas freed meanwhile, …). */
  readonly warnings: string[];
  /** Pool headers that could not be read at all (their arena was unmapped while reading). */
  readonly unreadablePools: number;
  /** System calls this walk made. */
  readonly readCalls: number;
  constructor(
    walk: WalkResult,
    layout: ObmallocLayout,
    info: SnapshotInfo,
    extra: { warnings: string[]; unreadablePools: number; readCalls: number },
    classify?: SnapshotClassifier,
  ) {
    super(walk, layout, info, classify);
    this.warnings = extra.warnings;
    this.unreadablePools = extra.unreadablePools;
    this.readCalls = extra.readCalls;
  }
}

const num = u64leNumber;
const hex = (n: bigint | number): string => `0x${n.toString(16)}`;

/** `_PyRuntime.interpreters.{head,main}` and PyInterpreterState.{next,id,size}. */
type InterpOffsets = { head: number; main: number; next: number; id: number; size: number };

/**
 * A read-only handle on a running CPython process. Create with {@link attachPython}.
 */
export class AttachedPython {
  readonly pid: number;
  /** The target's CPython version (the same type as `py.version`). */
  readonly version: PythonVersion;
  /** The file holding CPython as the target maps it (a libpython, or the statically linked executable). */
  readonly library: string;
  /** The target's executable (/proc/PID/exe). */
  readonly executable: string;
  /** obmalloc's geometry; 3.12+: its arena size read from the target's heap (lib/obmalloc/arenasize.ts). */
  readonly layout: ObmallocLayout;
  /** Why the target's obmalloc state cannot be read, when the geometry check refused it (thrown by heap()). */
  #geometryError?: PymemError;
  readonly #mem: RemoteMemory;
  readonly #img: Image;
  readonly #retries: number;
  readonly #info: AttachDebugInfo;
  #closed = false;
  /** The target's start time when attached: with the pid, its identity. */
  readonly #start: number | undefined;
  #interpOffsets?: InterpOffsets;

  private constructor(pid: number, img: Image, mem: RemoteMemory, v: ReturnType<typeof fileVersion>, retries: number) {
    this.pid = pid;
    this.#img = img;
    this.#mem = mem;
    this.#retries = retries;
    this.version = parseVersion(v.text);
    this.library = img.path;
    let exe = "";
    try {
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
    } catch { /* not permitted */ }
    this.executable = exe;
    this.#start = readStat(pid)?.start;
    this.layout = layoutFor(v.minor, img.path);
    this.#info = {
      pid,
      image: img.path,
      imageKind: img.elf.type === "dyn" && /\.so(\.|$)/.test(img.path)
        ? "shared library"
        : "executable (statically linked CPython)",
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
      py.#info.allocator = nameAllocator(img, mem, py.version.minor);
      py.#readGeometry();
      return py;
    } catch (e) {
      mem?.close();
      img.release();
      throw e;
    }
  }

  /**
   * 3.13+: `_Py_DebugOffsets` at `_PyRuntime` must carry the cookie and the same version, and agree with the row
   * pymem generated from the minor's headers on the object layout (the interpreter list is read at its offsets).
   */
  #checkDebugOffsets(v: ReturnType<typeof fileVersion>): void {
    const known = cpythonIfKnown(v.minor);
    const fields = known?.layout.debugOffsets;
    if (!(capabilities(v.minor)?.debugOffsets)) return;
    const bytes = this.#mem.read(Number(this.#img.runtime), fields?.size ?? DEBUG_OFFSETS_HEAD);
    const head = parseDebugOffsetsHead(bytes);
    if (!head) {
      throw new PymemError(
        "ATTACH",
        `process ${this.pid}: no _Py_DebugOffsets cookie at _PyRuntime (${
          hex(this.#img.runtime)
        }); not CPython ${v.text}?`,
      );
    }
    const hexv = head.version;
    const minor = (hexv >>> 16) & 0xff;
    if (minor !== v.minor) {
      throw new PymemError("ATTACH", `process ${this.pid}: _Py_DebugOffsets says 3.${minor}, the file says ${v.text}`);
    }
    if (head.freeThreaded) throw freeThreadedError(`process ${this.pid} (${this.library})`, head.version);
    (this as { version: PythonVersion }).version = versionFromHex(hexv);
    this.#info.version = {
      value: versionString(this.version),
      how: `${v.how}; _Py_DebugOffsets.version = ${hex(hexv)} (target)`,
    };
    const d = fields && readDebugOffsets(bytes, fields);
    if (!d || !known) return; // a minor newer than every row: the version checks above are all there is
    const wrong = debugOffsetsMismatches(d, known.layout, "objects");
    if (wrong.length) {
      throw new PymemError(
        "UNSUPPORTED",
        `process ${this.pid} (${this.library}): its _Py_DebugOffsets disagree with pymem's CPython 3.${minor} layout ` +
          `(a patched build?): ${wrong.join("; ")}`,
      );
    }
    this.#interpOffsets = {
      head: d.interpretersHead,
      main: known.layout.runtime!.interpretersMain,
      next: d.interp.next,
      id: d.interp.id,
      size: d.interp.size,
    };
  }

  /**
   * 3.12+: read the arena size from main's state (2 MiB arenas move every field after nfp2lasta). A state that fits
   * no geometry is remembered and refused by heap(); attaching itself still works (version, allocator, interpreters).
   */
  #readGeometry(): void {
    if (this.layout.state === "static") return;
    try {
      const main = this.interpreters()[0];
      const found = ownState(this.#probe(), main.interp, this.layout, 4);
      if (!found) return; // heap() explains what it cannot find
      (this as { layout: ObmallocLayout }).layout = detectArenaSize(
        this.#probe(),
        found.state,
        this.layout,
        false,
        `process ${this.pid} (CPython ${versionString(this.version)})`,
      );
    } catch (e) {
      if (!(e instanceof PymemError)) throw e;
      this.#geometryError = e;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new PymemError("CLOSED", `the handle on process ${this.pid} is closed`);
    this.#assertSameProgram();
  }

  /**
   * The target is still the process and the program attached to: one that exec'd another program keeps its pid
   * and start time but none of the memory pymem located, which read as "8 bytes at 0x… are not readable".
   */
  #assertSameProgram(): void {
    const now = readStat(this.pid);
    const reused = now !== undefined && this.#start !== undefined && now.start !== this.#start;
    // A process that exited but is not reaped yet (a zombie, "Z"; "X" while it goes) keeps its pid and start time,
    // and has no memory left to read.
    if (now === undefined || reused || now.state === "Z" || now.state === "X") {
      throw new PymemError(
        "ATTACH",
        `process ${this.pid} has exited since it was attached${
          reused ? " (its pid belongs to another process now)" : ""
        }`,
      );
    }
    if (!this.executable) return;
    let exe: string | undefined;
    try {
      exe = fs.readlinkSync(`/proc/${this.pid}/exe`);
    } catch { /* not permitted any more: the reads will say */ }
    // A binary replaced on disk (a package upgrade) reads as "PATH (deleted)": the same program still runs.
    const same = (x: string) => x.replace(/ \(deleted\)$/, "");
    if (exe !== undefined && same(exe) !== same(this.executable)) {
      throw new PymemError(
        "ATTACH",
        `process ${this.pid} exec'd another program since it was attached: it runs ${exe} now, not ${this.executable}; attach to it again if it is Python`,
      );
    }
  }

  /** How each address was found: image, load bias, _PyRuntime, version, states, allocator, read path and calls. */
  get debugInfo(): AttachDebugInfo {
    return { ...this.#info, readCalls: this.#mem.readCalls, state: [...this.#info.state] };
  }

  /**
   * CPython's name for the object allocator in use ("pymalloc", "pymalloc_debug", "malloc", "malloc_debug",
   * "mimalloc…"), null if custom: the same question as `py.allocatorName()`.
   */
  allocatorName(): string | null {
    return this.#info.allocator.name;
  }

  #ptr(address: bigint | number): bigint {
    return u64le(this.#mem.read(Number(address), 8));
  }

  /** `_PyRuntime.interpreters` offsets (3.13+: the target's _Py_DebugOffsets; 3.12: lib/cpython's row). */
  #offsets(): InterpOffsets {
    if (this.#interpOffsets) return this.#interpOffsets;
    const { runtime, interp } = cpython(this.version.minor, this.library).layout;
    if (!runtime || !interp) {
      throw new PymemError("UNSUPPORTED", `CPython 3.${this.version.minor} has no interpreter list`);
    }
    const { interpretersHead: head, interpretersMain: main } = runtime;
    return { head, main, next: interp.next, id: interp.id, size: interp.size };
  }

  /** The interpreters of the target (3.12+), main first. 3.8–3.11 share one static state: an empty list. */
  interpreters(): RemoteInterpreter[] {
    this.#assertOpen();
    if (this.layout.state === "static") return [];
    const o = this.#offsets();
    const main = this.#ptr(this.#img.runtime + BigInt(o.main));
    if (main === 0n && this.#ptr(this.#img.runtime + BigInt(o.head)) === 0n) {
      // A program that loaded libpython and has not called Py_Initialize yet, or has finalized it (an embedding
      // application after close()): it was reported as a torn read or wrong offsets.
      throw new PymemError(
        "INVALID_STATE",
        `process ${this.pid}: CPython ${
          versionString(this.version)
        } is loaded but not running (not initialized yet, or finalized): it has no interpreter to read`,
      );
    }
    const out: RemoteInterpreter[] = [];
    const seen = new Set<bigint>();
    for (
      let p = this.#ptr(this.#img.runtime + BigInt(o.head));
      p !== 0n && !seen.has(p) && seen.size < 10_000;
      p = this.#ptr(p + BigInt(o.next))
    ) {
      seen.add(p);
      const id = Number(u64le(this.#mem.read(Number(p) + o.id, 8)));
      const isMain = p === main;
      const flags = isMain ? 0n : u64le(this.#mem.read(Number(p) + this.layout.featureFlagsOffset!, 8));
      out.push({ id, interp: p, isMain, ownObmalloc: isMain || (flags & USE_MAIN_OBMALLOC) === 0n });
    }
    if (!seen.has(main)) {
      throw new PymemError(
        "ATTACH",
        `process ${this.pid}: the main interpreter ${
          hex(main)
        } is not in the interpreter list (torn read or wrong offsets)`,
      );
    }
    return out.sort((a, b) => Number(b.isMain) - Number(a.isMain) || a.id - b.id);
  }

  /** Addresses of the state variables for `interp` (undefined: main), validated. */
  #locate(
    interp?: bigint,
  ): {
    arenas: number;
    maxarenas: number;
    raw?: number;
    counters?: number;
    state: bigint | null;
    interp: bigint;
    how: string;
  } {
    if (interp !== undefined) checkAddress(interp, "interp (a PyInterpreterState address or an interpreter id)");
    if (this.layout.state === "static") return this.#statics();
    if (this.#geometryError) throw this.#geometryError;
    const list = this.interpreters();
    const target = interp === undefined ? list[0] : list.find((i) => i.interp === interp || BigInt(i.id) === interp);
    if (!target) throw new RangeError(`${hex(interp!)} is not an interpreter of process ${this.pid}`);
    const owner = target.ownObmalloc ? target : list[0];
    // The target keeps running: tolerate a few torn list heads at the known offset, and retry a torn read.
    const found = requireOwnState(this.#probe(), owner.interp, this.layout, this.#where(), {
      tornAllowed: 4,
      tries: 4,
    });
    const s = Number(found.state);
    const how = found.how + (owner !== target ? " (main interpreter's state, shared)" : "");
    this.#record(target.interp, found.state, how);
    const o = this.layout.offsets; // the fields after nfp2lasta move with the arena size
    return {
      arenas: s + o.arenas,
      maxarenas: s + o.maxarenas,
      raw: s + o.rawAllocatedBlocks,
      counters: s + o.narenasCurrentlyAllocated,
      state: found.state,
      interp: target.interp,
      how,
    };
  }

  #record(interp: bigint, address: bigint | null, how: string): void {
    const st = this.#info.state;
    const i = st.findIndex((x) => x.interp === interp);
    if (i >= 0) st[i] = { interp, address, how };
    else st.push({ interp, address, how });
  }

  /** 3.8–3.11: the file statics, by .symtab name, else by decoding the exported function that reads them. */
  #statics(): {
    arenas: number;
    maxarenas: number;
    raw?: number;
    counters?: number;
    state: null;
    interp: bigint;
    how: string;
  } {
    const { elf, bias } = this.#img;
    const at = (v: number) => Number(bias) + v;
    if (elf.hasSymtab) {
      const a = elf.symbol("arenas"), m = elf.symbol("maxarenas");
      if (a && m && a.value && m.value) {
        const r = elf.symbol("raw_allocated_blocks");
        const how = ".symtab statics";
        this.#record(0n, null, how);
        return {
          arenas: at(a.value),
          maxarenas: at(m.value),
          raw: r ? at(r.value) : undefined,
          state: null,
          interp: 0n,
          how,
        };
      }
    }
    const decoded = decodeStatics(this.#probe(), elf, bias, this.layout);
    if (decoded) {
      this.#record(0n, null, decoded.how);
      const raw = decoded.rawAllocatedBlocks;
      return {
        arenas: Number(decoded.arenas),
        maxarenas: Number(decoded.maxarenas),
        raw: raw === undefined ? undefined : Number(raw),
        state: null,
        interp: 0n,
        how: decoded.how,
      };
    }
    const name = this.#info.allocator.name;
    throw staticsNotFound(this.#where(), this.layout, name && name !== "pymalloc" ? ` (allocator: ${name})` : "");
  }

  /** The target, for messages: "process 42 (CPython 3.11.2, /usr/lib/…/libpython3.11.so.1.0)". */
  #where(): string {
    return `process ${this.pid} (CPython ${versionString(this.version)}, ${this.library})`;
  }

  /** The remote reader as the state locators of lib/obmalloc/state.ts want it: reads that fail instead of faulting. */
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
    const { arenas, maxarenas, table } = this.#readArenaTable(loc);
    this.#dropTornArenas(table, maxarenas, warnings);
    const { words, firstOf, W, unreadable, inconsistent } = this.#readPoolHeaders(table, maxarenas, warnings);
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

    const { rawBlocks, counters } = this.#readCounters(loc);
    const info: SnapshotInfo = {
      version: versionString(this.version),
      allocator: this.#info.allocator.name,
      interp: loc.interp,
      source: `${loc.how}; read from process ${this.pid} via ${mem.mode}`,
      rawAllocatedBlocks: rawBlocks,
      counters,
    };
    const extra = { warnings, unreadablePools: unreadable, readCalls: mem.readCalls - calls0 };
    return new RemoteHeapSnapshot(walk, layout, info, extra, (snap, o) => {
      this.#assertOpen();
      return classifyHeap(snap, layout, remoteObjectMemory(mem, (name) => this.#symbol(name)), {
        allocator: this.#info.allocator.name,
        retries: this.#retries,
        ...o,
      });
    });
  }

  #glibc: GlibcMallocState | undefined;

  /**
   * The target's glibc malloc heap: every arena with its in-use and free chunks, the top chunks, the mmapped chunks
   * and what malloc_trim(0) would give back (lib/glibc/). Throws PymemError("UNSUPPORTED") naming the reason when the
   * target's malloc is not glibc's (a jemalloc/tcmalloc/mimalloc preloaded, musl) or its glibc release has not been
   * checked.
   */
  mallocHeap(options?: MallocWalkOptions): ClassifiableMallocHeap {
    this.#assertOpen();
    options = checkOptions<MallocWalkOptions>(options, "mallocHeap", { retries: integerIn(0, 100) });
    const probe = this.#probe();
    if (!this.#glibc) {
      const maps = readMaps(this.pid);
      this.#glibc = locateGlibcMalloc({
        pid: this.pid,
        maps,
        probe,
        open: (p) => openElf(p, this.pid, maps),
        remaps: () => readMaps(this.pid),
      });
    }
    let heap: MallocHeap;
    try {
      const mem = this.#mem;
      heap = walkMallocHeap({ ...probe, view: (a, l) => mem.readView(Number(a), l) }, this.#glibc, {
        retries: this.#retries,
        ...options,
        residentPages: (s, l) => residentPages(this.pid, s, l),
        mappings: () => readMaps(this.pid),
      });
    } catch (e) {
      this.#assertSameProgram(); // the reason, when the target exited or exec'd during the walk
      throw e;
    }
    // A target that exec'd during the walk leaves most reads failing but some landing in the new program's memory:
    // what was read is then neither program's heap.
    this.#assertSameProgram();
    return withObjects(heap, (h, o) => {
      this.#assertOpen();
      let pymalloc: ObjectsSnapshot | null = null;
      try {
        pymalloc = this.heap().objects();
      } catch (e) {
        if (!(e instanceof PymemError && e.code === "UNSUPPORTED")) throw e;
      }
      const mem = remoteObjectMemory(this.#mem, (name) => this.#symbol(name));
      const objects = classifyChunks(h, { mem, version: versionString(this.version), pymalloc }, {
        allocator: this.#info.allocator.name,
        ...o,
      });
      this.#assertSameProgram(); // unread chunks of a target gone meanwhile would all be "C allocation"
      return objects;
    });
  }

  /**
   * The target's mimalloc heap (PYTHONMALLOC=mimalloc, CPython 3.13+): segments, pages, blocks per size and per
   * thread heap, abandoned pages (lib/mimalloc/). Read without stopping the target. Throws PymemError("UNSUPPORTED")
   * when the target allocates with something else or carries a mimalloc release pymem has not checked.
   */
  mimallocHeap(): MimallocHeap {
    this.#assertOpen();
    requireMimalloc(this.#info.allocator.name, this.#where());
    // _Py_GetRefTotal is exported by Py_REF_DEBUG builds only, which every Py_DEBUG build is (MI_DEBUG 2 there).
    const layout = mimallocLayout(this.version.minor, { debugBuild: this.#symbol("_Py_GetRefTotal") !== 0 });
    let heap: MimallocHeap;
    try {
      const mimallocNamed = this.#info.allocator.name?.startsWith("mimalloc") ?? false;
      heap = walkMimalloc({ maps: readMaps(this.pid), probe: this.#probe(), mimallocNamed }, layout);
    } catch (e) {
      this.#assertSameProgram();
      throw e;
    }
    this.#assertSameProgram();
    return heap;
  }

  /** What the live blocks of the target's mimalloc map are (`map` defaults to a new `mimallocHeap()`). */
  mimallocObjects(map?: MimallocHeap): MimallocObjects {
    this.#assertOpen();
    const m = map ?? this.mimallocHeap();
    const mem = remoteObjectMemory(this.#mem, (name) => this.#symbol(name));
    const objects = classifyMimalloc(m, mem, this.version.minor, this.#info.allocator.name);
    // A target gone during the reads leaves every page unread: that is no classification of it.
    this.#assertSameProgram();
    return objects;
  }

  /**
   * Every mapping of the target (/proc/PID/smaps) attributed to one category — pymalloc's arenas, glibc's heaps and
   * mmapped chunks, thread stacks, the executable, libraries, other files, other anonymous memory — and the RSS
   * breakdown (lib/address-space/). Walks main's obmalloc heap and glibc's heap (or uses `heap`, `malloc`); a
   * malloc that is not glibc's is named in `malloc.refused` and its memory counted as anonymous.
   */
  addressSpace(options?: AddressSpaceOptions): AddressSpace {
    this.#assertOpen();
    options = checkAddressSpaceOptions(options, "addressSpace");
    const space = collectAddressSpace({
      pid: this.pid,
      probe: this.#probe(),
      obmalloc: () => {
        if (options?.heap) return options.heap;
        try {
          return this.heap();
        } catch (e) {
          if (e instanceof PymemError && e.code === "UNSUPPORTED") return null;
          throw e;
        }
      },
      malloc: () => options?.malloc ?? this.mallocHeap(),
      // A mimalloc map pymem refuses (a debug build, an unchecked release) leaves its segments as anonymous memory.
      mimalloc: () => unsupportedAsUndefined(() => mimallocIfUsed(this)),
    });
    this.#assertSameProgram();
    return space;
  }

  /** Runtime address of an exported symbol of the target's CPython image (.dynsym, else .symtab), 0 when absent. */
  #symbol(name: string): number {
    const { elf, bias } = this.#img;
    const s = elf.dynamicSymbol(name) ?? (elf.hasSymtab ? elf.symbol(name) : undefined);
    return s && s.value ? Number(bias) + s.value : 0;
  }

  /**
   * The arena table, read between two reads of (arenas, maxarenas): if either moved (the table was realloc'ed to
   * grow), read again.
   */
  #readArenaTable(
    loc: { arenas: number; maxarenas: number },
  ): { arenas: number; maxarenas: number; table: Uint8Array } {
    const mem = this.#mem;
    let arenas = 0, maxarenas = 0;
    let table: Uint8Array = new Uint8Array(0);
    for (let attempt = 0;; attempt++) {
      const vars = mem.readMany([{ address: loc.arenas, length: 8 }, { address: loc.maxarenas, length: 4 }]);
      if (!vars.ok[0] || !vars.ok[1]) {
        throw new PymemError("ATTACH", `process ${this.pid}: obmalloc's arenas/maxarenas are unreadable`);
      }
      arenas = num(vars.bytes, 0);
      maxarenas = u32le(vars.bytes, 8);
      if (maxarenas > 1 << 24 || (maxarenas > 0 && arenas === 0)) {
        throw new PymemError("ATTACH", `process ${this.pid}: implausible arenas=${hex(arenas)} maxarenas=${maxarenas}`);
      }
      const t = maxarenas ? mem.tryRead(arenas, maxarenas * ARENA.size) : new Uint8Array(0);
      const again = mem.readMany([{ address: loc.arenas, length: 8 }, { address: loc.maxarenas, length: 4 }]);
      if (t && again.ok[0] && again.ok[1] && num(again.bytes, 0) === arenas && u32le(again.bytes, 8) === maxarenas) {
        table = t;
        break;
      }
      if (attempt >= this.#retries) {
        throw new PymemError(
          "ATTACH",
          `process ${this.pid}: the arena table kept moving while it was read (${attempt + 1} attempts)`,
        );
      }
    }

    return { arenas, maxarenas, table };
  }

  /** Zero arena entries that make no sense (torn while the target updated them); refuse a heap that is not obmalloc's. */
  #dropTornArenas(table: Uint8Array, maxarenas: number, warnings: string[]): void {
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
          `process ${this.pid} (CPython ${
            versionString(this.version)
          }) does not use obmalloc: its object allocator is ` +
            `${name ?? "not pymalloc"} (${this.#info.allocator.how}) and it has no arenas; PYTHONMALLOC=${
              name?.startsWith("mimalloc") ? "mimalloc" : "malloc"
            } ` +
            "(or a custom allocator) leaves no obmalloc heap to map",
        );
      }
    }
  }

  /**
   * Every carved pool's header, in as few system calls as possible (IOV_MAX headers per call); torn headers are
   * read again, and the ones that never settle are zeroed (counted, never walked) and reported.
   */
  #readPoolHeaders(table: Uint8Array, maxarenas: number, warnings: string[]): {
    words: Uint32Array;
    firstOf: Map<number, number>;
    W: number;
    unreadable: number;
    inconsistent: number;
  } {
    const mem = this.#mem;
    const { poolSize } = this.layout;
    const arenas: { i: number; first: number; carved: number }[] = [];
    let nPools = 0;
    for (let i = 0; i < maxarenas; i++) {
      const o = i * ARENA.size;
      const address = num(table, o);
      if (address === 0) continue;
      const pools = carvedPools(address, num(table, o + ARENA.poolAddress), poolSize);
      arenas.push({ i, ...pools });
      nPools += pools.carved;
    }
    const addresses = new Float64Array(nPools);
    const arenaOfRange = new Uint32Array(nPools);
    const firstOf = new Map<number, number>(); // first pool address → index of its first header
    let r = 0;
    for (const { i, first, carved } of arenas) {
      firstOf.set(first, r);
      for (let k = 0; k < carved; k++, r++) {
        addresses[r] = first + k * poolSize;
        arenaOfRange[r] = i;
      }
    }
    const got = mem.readUniform(addresses, POOL.size);
    const words = new Uint32Array(got.bytes.buffer, got.bytes.byteOffset, got.bytes.byteLength / 4);
    const W = POOL.size / 4;
    const bad = (r: number) => !got.ok[r] || !poolHeaderSane(words, r * W, this.layout, arenaOfRange[r]);
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
    if (unreadable) {
      warnings.push(`${unreadable} pool header(s) unreadable (their arena was unmapped while reading); not counted`);
    }
    if (inconsistent) {
      warnings.push(
        `${inconsistent} pool header(s) stayed inconsistent after ${this.#retries} re-reads (the target was writing them); not counted`,
      );
    }

    return { words, firstOf, W, unreadable, inconsistent };
  }

  /** raw_allocated_blocks and the arena counters, where the version has them. */
  #readCounters(
    loc: { raw?: number; counters?: number },
  ): { rawBlocks: number | null; counters: SnapshotInfo["counters"] } {
    const mem = this.#mem;
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
    return { rawBlocks, counters };
  }

  /** One snapshot per distinct obmalloc state: main's, then each interpreter with its own (3.12+). */
  heaps(): { interp: RemoteInterpreter | null; snapshot: RemoteHeapSnapshot }[] {
    if (this.layout.state === "static") return [{ interp: null, snapshot: this.heap() }];
    return this.interpreters().filter((i) => i.ownObmalloc).map((i) => ({ interp: i, snapshot: this.heap(i.interp) }));
  }

  /** Release the reader and the image file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mem.close();
    this.#img.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `AttachedPython(pid ${this.pid}, CPython ${versionString(this.version)}, ${this.library})`;
  }
}
showInRepl(AttachedPython);

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
 * the message), "UNSUPPORTED" (no obmalloc heap, or a free-threaded build).
 */
export async function attachPython(pid: number, options?: AttachOptions): Promise<AttachedPython> {
  if (typeof pid !== "number") {
    throw new TypeError(`attachPython: pid must be a number, got ${pid === null ? "null" : typeof pid}`);
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > PID_MAX_LIMIT) {
    throw new RangeError(
      `attachPython: pid must be a whole number from 1 to ${PID_MAX_LIMIT} (the kernel's PID_MAX_LIMIT), got ${pid}`,
    );
  }
  options = checkOptions<AttachOptions>(options, "attachPython", {
    readMode: oneOf(["process_vm_readv", "/proc/PID/mem"] satisfies ReadMode[]),
    retries: integerIn(0, 1000),
  });
  return await AttachedPython.create(pid, options);
}

/** `f()`, or undefined when it is refused as UNSUPPORTED. */
function unsupportedAsUndefined<T>(f: () => T | undefined): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof PymemError && e.code === "UNSUPPORTED") return undefined;
    throw e;
  }
}
