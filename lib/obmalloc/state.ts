/**
 * Where an interpreter's obmalloc state is, on every version, with or without symbols:
 * - 3.8–3.11: file statics. By name from `.symtab`; on a stripped library by decoding the exported
 *   `_Py_GetAllocatedBlocks` (3.9–3.11: it loads maxarenas, raw_allocated_blocks and arenas RIP-relative) or
 *   `_PyObject_DebugMallocStats` (3.8).
 * - 3.12: embedded in PyInterpreterState; 3.13+: pointed to from it. A known offset, validated by the `usedpools`
 *   signature, with a scan of the interpreter struct as fallback.
 * Every location is validated before it is trusted, with reads that cannot fault (Native.safeRead).
 * @module
 */
import { PymemError } from "../errors.ts";
import { ARENA, layoutFor, type ObmallocLayout, STATE, USE_MAIN_OBMALLOC } from "./layout.ts";
import { detectArenaSize } from "./arenasize.ts";
import type { PythonHost } from "../core/host.ts";
import type { ElfFile } from "../machine/elf.ts";
import type { Native } from "../core/native.ts";
import type { Symbols } from "../core/hidden-symbols.ts";
import { ripRelativeRefs } from "../machine/x86.ts";
import { u32le, u64le } from "../machine/bytes.ts";

/** Addresses of the obmalloc variables of one state (each the address of the variable, not its value). */
export interface StateRefs {
  /** `struct _obmalloc_state *` for 3.12+; undefined for the static 3.8–3.11 state. */
  state?: bigint;
  arenas: bigint;
  maxarenas: bigint;
  usedpools?: bigint;
  rawAllocatedBlocks?: bigint;
  /** 3.8 only: `_Py_AllocatedBlocks`, the counter that also counts raw fallbacks. */
  allocatedBlocksCounter?: bigint;
  narenasCurrentlyAllocated?: bigint;
  ntimesArenaAllocated?: bigint;
  narenasHighwater?: bigint;
  /** How the state was found, for `debugInfo` and the symbol report. */
  how: string;
  /** True when the interpreter allocates from the main interpreter's state (shared obmalloc). */
  sharedWithMain: boolean;
}

/**
 * Reads that fail instead of faulting: all the state locators need of memory. `Native` is one (process_vm_readv on
 * this process); lib/attach/attach.ts supplies another process's reader. Nothing here trusts an address before it is
 * read this way.
 */
export interface MemoryProbe {
  safeRead(address: bigint, length: number): Uint8Array | null;
}

/**
 * Check the `usedpools` signature of a 3.12+ state: each size class's list head is either empty (both entries point
 * at the fake header 16 bytes before the entry) or a POOL_SIZE-aligned pool of that class whose prevpool is the fake
 * header. Reads go through safeRead, so any candidate address is safe to test.
 */
export function looksLikeState(native: MemoryProbe, state: bigint, layout: ObmallocLayout, tornAllowed = 0): boolean {
  const used = native.safeRead(state, 512);
  const mgmt = native.safeRead(state + BigInt(STATE.arenas), 16);
  if (!used || !mgmt) return false;
  const maxarenas = u32le(mgmt, 8);
  if (maxarenas > 1 << 24) return false;
  let nonEmpty = 0;
  let torn = 0;
  for (let i = 0; i < layout.sizeClasses; i++) {
    const fake = state + BigInt(16 * i - 16);
    const next = u64le(used, 16 * i);
    const prev = u64le(used, 16 * i + 8);
    if (next === fake && prev === fake) continue;
    if (next % BigInt(layout.poolSize) !== 0n) return false;
    const hdr = native.safeRead(next, 48);
    if (!hdr) return false;
    // A process that keeps allocating can move a pool off its list between our two reads (torn): tolerated in small
    // numbers when the caller says so (a known offset in a live process), never when scanning for candidates.
    if (u32le(hdr, 36) !== i || u64le(hdr, 24) !== fake) {
      if (++torn > tornAllowed) return false;
      continue;
    }
    nonEmpty++;
  }
  // An initialized, used state has at least one partially used pool; an all-empty one is valid only when fresh.
  return nonEmpty > 0 || maxarenas === 0;
}

/** Main interpreter's PyInterpreterState*. */
function mainInterp(native: Native): bigint {
  return native.api.PyInterpreterState_Main();
}

/** Scan `length` bytes of an interpreter struct for an embedded state (3.12) or a pointer to one (3.13+). */
function scanInterp(native: MemoryProbe, interp: bigint, length: number, layout: ObmallocLayout): bigint | undefined {
  const bytes = native.safeRead(interp, length);
  if (!bytes) return undefined;
  for (let off = 0; off + 512 <= length; off += 8) {
    if (layout.state === "embedded") {
      if (looksLikeState(native, interp + BigInt(off), layout)) return interp + BigInt(off);
    } else {
      const p = u64le(bytes, off);
      if (p !== 0n && p % 8n === 0n && looksLikeState(native, p, layout)) return p;
    }
  }
  return undefined;
}

/** Whether a 3.12+ interpreter allocates from main's state (Py_RTFLAGS_USE_MAIN_OBMALLOC). */
export function usesMainObmalloc(native: Native, interp: bigint, layout: ObmallocLayout): boolean {
  if (layout.state === "static") return true;
  if (interp === mainInterp(native)) return false;
  const flags = native.u64(interp + BigInt(layout.featureFlagsOffset!));
  return (flags & USE_MAIN_OBMALLOC) !== 0n;
}

function stateRefs(state: bigint, how: string, sharedWithMain: boolean, layout: ObmallocLayout): StateRefs {
  const o = layout.offsets; // the fields after nfp2lasta move with the arena size (arenasize.ts)
  return {
    state,
    arenas: state + BigInt(o.arenas),
    maxarenas: state + BigInt(o.maxarenas),
    usedpools: state + BigInt(o.usedpools),
    rawAllocatedBlocks: state + BigInt(o.rawAllocatedBlocks),
    narenasCurrentlyAllocated: state + BigInt(o.narenasCurrentlyAllocated),
    ntimesArenaAllocated: state + BigInt(o.ntimesArenaAllocated),
    narenasHighwater: state + BigInt(o.narenasHighwater),
    how,
    sharedWithMain,
  };
}

/** The state a 3.12+ interpreter owns (not the one it allocates from, if it shares main's). */
export function ownState(
  native: MemoryProbe,
  interp: bigint,
  layout: ObmallocLayout,
  tornAllowed = 0,
): { state: bigint; how: string } | undefined {
  const at = interp + BigInt(layout.interpOffset!);
  const where = `PyInterpreterState+0x${layout.interpOffset!.toString(16)}`;
  if (layout.state === "embedded") {
    if (looksLikeState(native, at, layout, tornAllowed)) return { state: at, how: `embedded at ${where}` };
  } else {
    const p = native.safeRead(at, 8);
    const state = p ? u64le(p) : 0n;
    if (state === 0n) return undefined; // not initialized (yet)
    if (looksLikeState(native, state, layout, tornAllowed)) return { state, how: `pointer at ${where}` };
  }
  // A patch release may have moved the field: look for the signature in the struct itself.
  const span = layout.state === "embedded" ? 400_000 : 240_000;
  const found = scanInterp(native, interp, span, layout);
  if (found !== undefined) {
    return {
      state: found,
      how: `found by signature scan at PyInterpreterState+0x${
        (layout.state === "embedded" ? found - interp : 0n).toString(16)
      }`,
    };
  }
  return undefined;
}

/**
 * The state `owner` (3.12+) owns, or the one error in-process and attach give when neither its known offset nor a
 * signature scan finds it. `where` names the Python ("CPython 3.12.1 (/usr/lib/…)", "process 42 (CPython 3.12.1)");
 * `tries` reads again (a running target can tear a read), `tornAllowed` as in {@link looksLikeState}.
 */
export function requireOwnState(
  probe: MemoryProbe,
  owner: bigint,
  layout: ObmallocLayout,
  where: string,
  { tornAllowed = 0, tries = 1 }: { tornAllowed?: number; tries?: number } = {},
): { state: bigint; how: string } {
  for (let i = 0; i < tries; i++) {
    const found = ownState(probe, owner, layout, tornAllowed);
    if (found) return found;
  }
  throw new PymemError(
    "UNSUPPORTED",
    `Cannot find the obmalloc state of interpreter 0x${owner.toString(16)} in ${where}: neither its known offset ` +
      `(PyInterpreterState+0x${layout.interpOffset!.toString(16)}) nor a signature scan matched (is obmalloc in use? ` +
      "a running process may also have torn the read)",
  );
}

/** The one error in-process and attach give when a 3.8–3.11 library's statics cannot be found. */
export function staticsNotFound(where: string, layout: ObmallocLayout, note = ""): PymemError {
  const fn = layout.rawAllocatedBlocks ? "_Py_GetAllocatedBlocks" : "_PyObject_DebugMallocStats";
  return new PymemError(
    "UNSUPPORTED",
    `Cannot find obmalloc's arenas in ${where}: the library has no .symtab, and decoding ${fn} found no valid ` +
      `candidate${note}`,
  );
}

/** Locate the state the given interpreter allocates from. */
export function locateState(
  native: Native,
  symbols: Symbols,
  layout: ObmallocLayout,
  interp: bigint,
  version: string,
): StateRefs {
  if (layout.state === "static") return locateStatics(native, symbols, layout, version);
  const shared = usesMainObmalloc(native, interp, layout);
  const owner = shared ? mainInterp(native) : interp;
  // Another interpreter's threads may run under their own GIL while we look: allow a few torn list heads there.
  const tornAllowed = owner === mainInterp(native) ? 0 : 4;
  const found = requireOwnState(native, owner, layout, `CPython ${version} (${native.path})`, { tornAllowed });
  return stateRefs(found.state, found.how + (shared ? " (main interpreter's state, shared)" : ""), shared, layout);
}

/** 3.8–3.11: the file statics, by name or by decoding. */
function locateStatics(native: Native, symbols: Symbols, layout: ObmallocLayout, version: string): StateRefs {
  const named = (n: string) => symbols.elf.hasSymtab ? symbols.address(n) : undefined;
  const arenas = named("arenas");
  const maxarenas = named("maxarenas");
  if (arenas !== undefined && maxarenas !== undefined) {
    return {
      arenas,
      maxarenas,
      usedpools: named("usedpools"),
      rawAllocatedBlocks: named("raw_allocated_blocks"),
      allocatedBlocksCounter: named("_Py_AllocatedBlocks"),
      narenasCurrentlyAllocated: named("narenas_currently_allocated"),
      ntimesArenaAllocated: named("ntimes_arena_allocated"),
      narenasHighwater: named("narenas_highwater"),
      how: ".symtab statics",
      sharedWithMain: true,
    };
  }
  const found = decodeStatics(native, symbols.elf, native.base, layout);
  const decoded: StateRefs | undefined = found && { ...found, sharedWithMain: true };
  if (!decoded) throw staticsNotFound(`CPython ${version} (${native.path})`, layout);
  symbols.recordDecoded("arenas", decoded.arenas, decoded.how);
  symbols.recordDecoded("maxarenas", decoded.maxarenas, decoded.how);
  if (decoded.rawAllocatedBlocks) {
    symbols.recordDecoded("raw_allocated_blocks", decoded.rawAllocatedBlocks, decoded.how);
  }
  return decoded;
}

/**
 * A stripped 3.8–3.11: read the RIP-relative loads at the start of an exported function that touches the statics.
 * 3.9–3.11 `_Py_GetAllocatedBlocks` loads maxarenas (4 bytes), raw_allocated_blocks and arenas (8 bytes each);
 * 3.8 `_PyObject_DebugMallocStats` loads maxarenas then arenas first. Load order differs between builds, so
 * candidates are told apart by validation (arenas must point at an array of arena objects that look like arenas),
 * never by position. `base` is the file's load bias in the process `probe` reads (this one, or an attached one).
 */
export function decodeStatics(
  probe: MemoryProbe,
  elf: ElfFile,
  base: bigint,
  layout: ObmallocLayout,
): { arenas: bigint; maxarenas: bigint; rawAllocatedBlocks?: bigint; how: string } | undefined {
  if (elf.machine !== "x86_64") return undefined;
  const fnName = layout.rawAllocatedBlocks ? "_Py_GetAllocatedBlocks" : "_PyObject_DebugMallocStats";
  const sym = elf.dynamicSymbol(fnName);
  if (!sym) return undefined;
  const code = elf.readVaddr(sym.value, Math.min(sym.size || 256, 512));
  const refs = ripRelativeRefs(code, sym.value, 64).filter((r) => r.op === "mov-load" || r.op === "cmp");
  const at = (vaddr: number) => base + BigInt(vaddr);
  const four = refs.filter((r) => r.width === 4).map((r) => at(r.target));
  const eight = [...new Set(refs.filter((r) => r.width === 8 && r.op === "mov-load").map((r) => r.target))].map(at);
  for (const maxarenas of four.slice(0, 2)) {
    for (const arenas of eight.slice(0, 3)) {
      if (!validArenaArray(probe, arenas, maxarenas, layout)) continue;
      const rawAllocatedBlocks = layout.rawAllocatedBlocks ? eight.find((e) => e !== arenas) : undefined;
      return { arenas, maxarenas, rawAllocatedBlocks, how: `decoded from ${fnName} (stripped library)` };
    }
  }
  return undefined;
}

/** Does the arena_object at `offset` of a copied arena table look like a used arena of this layout? */
export function arenaLooksSane(table: Uint8Array, offset: number, layout: ObmallocLayout): boolean {
  const address = u64le(table, offset + ARENA.address);
  const poolAddress = u64le(table, offset + ARENA.poolAddress);
  const nfree = u32le(table, offset + ARENA.nfreepools);
  const ntotal = u32le(table, offset + ARENA.ntotalpools);
  return address % 4096n === 0n && poolAddress >= address && poolAddress <= address + BigInt(layout.arenaSize) &&
    ntotal > 0 && ntotal <= layout.arenaSize / layout.poolSize && nfree <= ntotal;
}

/** Is `*arenasVar` an array of `*maxarenasVar` arena objects whose used entries look like arenas? */
function validArenaArray(probe: MemoryProbe, arenasVar: bigint, maxarenasVar: bigint, layout: ObmallocLayout): boolean {
  const a = probe.safeRead(arenasVar, 8);
  const m = probe.safeRead(maxarenasVar, 4);
  if (!a || !m) return false;
  const arenas = u64le(a);
  const maxarenas = u32le(m);
  if (maxarenas === 0) return arenas === 0n;
  if (arenas === 0n || arenas % 8n !== 0n || maxarenas > 1 << 24) return false;
  const arr = probe.safeRead(arenas, maxarenas * ARENA.size);
  if (!arr) return false;
  let used = 0;
  for (let i = 0; i < maxarenas; i++) {
    if (u64le(arr, i * ARENA.size) === 0n) continue;
    if (!arenaLooksSane(arr, i * ARENA.size, layout)) return false;
    used++;
  }
  return used > 0;
}

/**
 * One interpreter of a Python, in-process (`py.interpreters()`) or attached (`AttachedPython.interpreters()`): the
 * same fields either way.
 */
export interface InterpreterRef {
  /** The interpreter's id (0 for main). */
  id: number;
  /** Its PyInterpreterState*. */
  interp: bigint;
  isMain: boolean;
  /** Whether it allocates from an obmalloc state of its own (main: true; a sub that shares main's state: false). */
  ownObmalloc: boolean;
}

/** One obmalloc state of the process: the interpreter that owns it and its `arenas`/`maxarenas` variables. */
export interface ObmallocStateInfo {
  interp: bigint;
  arenas: bigint;
  maxarenas: bigint;
}

/**
 * The obmalloc state of each interpreter of an open Python, located once and cached: the statics never move, an
 * embedded state moves with its interpreter, and a 3.13+ state pointer is re-read and compared on every use.
 */
export class StateLocator {
  readonly #host: PythonHost;
  readonly #cache = new Map<bigint, StateRefs>();
  #layout: ObmallocLayout | undefined;

  constructor(host: PythonHost) {
    this.#host = host;
  }

  /** obmalloc's geometry and state location for this version (throws for a version pymem has no table for). */
  get layout(): ObmallocLayout {
    if (this.#layout) return this.#layout;
    const host = this.#host;
    const base = layoutFor(host.version.minor, host.library);
    if (base.state === "static") return (this.#layout = base);
    // 3.12+: the arena size (and with it every field after nfp2lasta) is read from main's heap, not assumed.
    return (this.#layout = host.withGIL(() => {
      const own = ownState(host.native, host.native.api.PyInterpreterState_Main(), base);
      const v = host.version;
      return own
        ? detectArenaSize(
          host.native,
          own.state,
          base,
          true,
          `CPython ${v.major}.${v.minor}.${v.micro} (${host.library})`,
        )
        : base;
    }));
  }

  /** Where `interp`'s state is (validated). GIL held by the caller. */
  stateRefs(interp: bigint): StateRefs {
    const { native, version } = this.#host;
    const cached = this.#cache.get(interp);
    const layout = this.layout;
    if (cached) {
      if (layout.state === "static") return cached;
      const shared = usesMainObmalloc(native, interp, layout);
      const fresh = layout.state === "embedded" ||
        native.u64((shared ? native.api.PyInterpreterState_Main() : interp) + BigInt(layout.interpOffset!)) ===
          cached.state;
      if (shared === cached.sharedWithMain && fresh) return cached;
    }
    const refs = locateState(
      native,
      this.#host.symbols,
      layout,
      interp,
      `${version.major}.${version.minor}.${version.micro}`,
    );
    if (this.#cache.size > 64) this.#cache.clear();
    this.#cache.set(interp, refs);
    return refs;
  }

  /** The distinct obmalloc states of the process (one on 3.8–3.11; main plus each isolated interpreter on 3.12+). */
  obmallocStates(): ObmallocStateInfo[] {
    return this.#host.withGIL(() => {
      const seen = new Set<bigint>();
      const out: ObmallocStateInfo[] = [];
      for (const interp of this.#host.liveInterpreters()) {
        const refs = this.stateRefs(interp);
        if (seen.has(refs.arenas)) continue;
        seen.add(refs.arenas);
        out.push({ interp, arenas: refs.arenas, maxarenas: refs.maxarenas });
      }
      return out;
    });
  }
}
