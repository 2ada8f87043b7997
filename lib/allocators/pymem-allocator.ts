/**
 * `PyMemAllocator`: the interface to one interpreter's obmalloc that the Rust PyMemAllocator offers, on every
 * CPython 3.8–3.13 with that version's semantics. Each method uses CPython's own function where the library has
 * it (exported, or hidden and found through `.symtab`), an exported equivalent otherwise, and a computation from
 * the obmalloc state where neither exists. What truly can't be served throws a PymemError naming the version,
 * the library and what is missing.
 * @module
 */
import { checkAddress, checkSize } from "../checks.ts";
import { callbacks } from "../../ffi/symbols.ts";
import { cstr } from "../core/native.ts";
import { PymemError } from "../errors.ts";
import { type MemoryReader, walkHeap } from "../obmalloc/heap.ts";
import { ownState, type StateRefs, usesMainObmalloc } from "../obmalloc/state.ts";
import { hostOf, type ObmallocHost, type PythonHandle } from "../obmalloc/host.ts";
import { poolPassFor, stopPoolPass } from "../obmalloc/pool-pass.ts";
import { RemoteMemory } from "../machine/remote.ts";
import { type AllocatorScope, GlobalAllocator, type Layout, type PyMemBuffer } from "./global-alloc.ts";
import { adoptCallStack } from "../core/stackguard.ts";
import { getArenaAllocator } from "./domain-allocators.ts";
import { showInRepl } from "../core/inspect.ts";
import { classifyLocal, HeapSnapshot, type SampleSources } from "../objects/mod.ts";
import { capabilities } from "../cpython/versions.ts";

// Every mapping virtualAlloc handed out and not yet freed, process-wide (one libpython per process): virtualFree
// unmaps only these, with their own size. Anything else (a pymalloc arena, a code page, a double free, a size larger
// than allocated) would unmap memory someone else uses and crash later, far from the cause.
const virtualBlocks = new Map<bigint, number>();

// Handles whose close() ends the pool pass's parked thread (registered once per handle).
const stopsOnClose = new WeakSet<ObmallocHost>();

/** The in-process memory reader: zero-copy views. */
export function inProcessReader(py: ObmallocHost): MemoryReader {
  const { backend } = py.native;
  const pass = poolPassFor(py.native);
  if (pass && !stopsOnClose.has(py)) {
    stopsOnClose.add(py);
    py.onClose(() => stopPoolPass(py.native));
  }
  return {
    poolPass: pass ?? undefined,
    read: (address, length) => new Uint8Array(backend.view(BigInt(address), length)),
    poolHeaders: (first, count, poolSize) => ({
      words: new Uint32Array(backend.view(BigInt(first), count * poolSize)),
      stride: poolSize / 4,
    }),
  };
}

/**
 * A reader that copies through process_vm_readv on this process instead of viewing memory: used for the heap of a
 * sub-interpreter other than main, whose own GIL lets its threads unmap arenas while the walk runs. Unreadable
 * pool headers read as empty; a torn header is counted as inconsistent by the walk, never trusted.
 */
export function faultSafeReader(py: ObmallocHost): MemoryReader {
  const mem = RemoteMemory.ofSelf(py.native.backend, py.native.libc);
  return {
    read: (address, length) => mem.read(address, length),
    poolHeaders: (first, count, poolSize) => {
      const addresses = new Float64Array(count);
      for (let k = 0; k < count; k++) addresses[k] = first + k * poolSize;
      const { bytes, ok } = mem.readUniform(addresses, 48);
      for (let k = 0; k < count; k++) if (!ok[k]) bytes.fill(0, k * 48, k * 48 + 48);
      return { words: new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), stride: 12 };
    },
  };
}

export class PyMemAllocator {
  /** The PyInterpreterState* this allocator describes. */
  readonly interp: bigint;
  readonly #py: ObmallocHost;
  /** Set by SubInterpreter while CPython is ending the interpreter; internal. */
  ending = false;

  /**
   * For an interpreter that was not current when this allocator was made: its id, which tells it from a later
   * interpreter at the same address, and how alloc/dealloc enter it.
   */
  readonly #foreign: { id: bigint; scope: AllocatorScope } | undefined;

  /** An allocator for `interp` (default: the current interpreter). The pointer is checked against the live list. */
  constructor(handle: PythonHandle, interp?: bigint) {
    const py = hostOf(handle, "new PyMemAllocator");
    py.assertOpen();
    this.#py = py;
    if (interp === undefined) {
      this.interp = py.currentInterp();
    } else {
      checkAddress(interp, "interp");
      if (!py.liveInterpreters().includes(interp)) {
        throw new RangeError(`0x${interp.toString(16)} is not a live PyInterpreterState of this Python`);
      }
      this.interp = interp;
      if (interp !== py.currentInterp()) {
        const id = py.withGIL(() => py.native.api.PyInterpreterState_GetID(interp));
        this.#foreign = {
          id,
          // Keyed by id too: blocks handed out for an ended interpreter are never freed into a new one at its address.
          scope: { key: (id << 64n) | interp, enter: (fn) => this.#inInterp(fn), closed: () => !this.#alive() },
        };
      }
    }
  }

  /** Whether the interpreter still exists (for another interpreter: the same one, by id). */
  #alive(): boolean {
    const py = this.#py;
    if (py.closed) return false;
    return py.withGIL(() =>
      py.liveInterpreters().includes(this.interp) &&
      (!this.#foreign || py.native.api.PyInterpreterState_GetID(this.interp) === this.#foreign.id)
    );
  }

  /**
   * Run `fn` in this allocator's interpreter: PyMem_* serve the interpreter whose thread state is current, so a
   * temporary one is made for the call (and deleted after it: an idle thread state left in an interpreter would make
   * its Py_EndInterpreter abort with "not the last thread"). On 3.12+ the swap takes that interpreter's GIL.
   */
  #inInterp<T>(fn: () => T): T {
    const py = this.#py;
    const api = py.native.api;
    return py.withGIL(() => {
      this.#interpAlive();
      const tstate = api.PyThreadState_New(this.interp);
      if (tstate === 0n) throw new PymemError("ALLOCATION_FAILED", "PyThreadState_New failed");
      adoptCallStack(py.native, tstate);
      const caller = api.PyThreadState_Swap(tstate);
      try {
        return fn();
      } finally {
        api.PyThreadState_Clear(tstate);
        api.PyThreadState_Swap(caller);
        api.PyThreadState_Delete(tstate);
      }
    });
  }

  /** The Python handle this allocator belongs to (for subclasses). */
  protected get py(): ObmallocHost {
    return this.#py;
  }

  get #minor(): number {
    return this.#py.version.minor;
  }

  #unsupported(what: string, missing: string): PymemError {
    const v = this.#py.version;
    return new PymemError(
      "UNSUPPORTED",
      `${what} is not available on CPython ${v.major}.${v.minor}.${v.micro} (${this.#py.library}): ${missing}`,
    );
  }

  #interpAlive(): void {
    if (!this.#alive()) {
      throw new PymemError("CLOSED", `Interpreter 0x${this.interp.toString(16)} no longer exists (it was ended)`);
    }
  }

  /**
   * Make sure the interpreter has an obmalloc state. Never re-initializes a live state (that would orphan its
   * arenas). Returns true only if it initialized one (3.13+, an interpreter whose state pointer is still NULL).
   */
  initObmalloc(): boolean {
    const py = this.#py;
    return py.withGIL(() => {
      this.#interpAlive();
      const layout = py.layout;
      if (layout.state === "static") return false; // 3.8–3.11: statics, initialized when the library loaded
      if (layout.state === "embedded") {
        if (ownState(py.native, this.interp, layout)) return false;
        throw new PymemError(
          "INVALID_STATE",
          `The obmalloc state embedded in interpreter 0x${
            this.interp.toString(16)
          } is not initialized, and CPython 3.12 has no function to initialize it`,
        );
      }
      const pointer = py.native.u64(this.interp + BigInt(layout.interpOffset!));
      if (pointer !== 0n) return false;
      const init = py.symbols.function("_PyMem_init_obmalloc");
      if (!init) {
        throw this.#unsupported("initObmalloc()", "the hidden _PyMem_init_obmalloc needs a library with .symtab");
      }
      if (init(this.interp) < 0) throw new PymemError("ALLOCATION_FAILED", "_PyMem_init_obmalloc failed");
      return true;
    });
  }

  /** Whether the state this interpreter allocates from lives on the heap (3.12+ isolated interpreters). */
  isObmallocStateOnHeap(): boolean {
    const py = this.#py;
    return py.withGIL(() => {
      this.#interpAlive();
      const layout = py.layout;
      if (layout.state === "static") return false;
      const native = py.native;
      if (layout.state === "embedded") {
        // 3.12 embeds the state in PyInterpreterState: main's is inside _PyRuntime (static storage), a
        // sub-interpreter's struct comes from PyMem_RawCalloc, so its own state is on the heap.
        return !usesMainObmalloc(native, this.interp, layout) && this.interp !== native.api.PyInterpreterState_Main();
      }
      const onHeap = py.symbols.function("_PyMem_obmalloc_state_on_heap");
      if (onHeap) return (onHeap(this.interp) & 0xff) !== 0;
      const off = BigInt(layout.interpOffset!);
      const mine = native.u64(this.interp + off);
      return mine !== 0n && mine !== native.u64(native.api.PyInterpreterState_Main() + off);
    });
  }

  /** Blocks allocated in the whole runtime: what `sys.getallocatedblocks()` returns. */
  getAllocatedBlocks(): number {
    const py = this.#py;
    return py.withGIL(() => {
      if (this.#foreign) this.#interpAlive(); // as a sub-interpreter's own allocator: CLOSED once it has ended
      const exported = py.native.api._Py_GetAllocatedBlocks;
      if (exported) return exported();
      const hidden = py.symbols.function("_Py_GetGlobalAllocatedBlocks");
      if (hidden) return hidden();
      // A stripped 3.12+: the documented Python-level call computes the same sum. Called as a function object, not
      // through py.eval, whose compiled expression would itself be counted (38 blocks on 3.14). PySys_GetObject
      // allocates only a temporary key (PyImport_AddModule("sys") kept one block per call on 3.15 under Node).
      const api = py.native.api;
      const fn = api.PySys_GetObject(cstr("getallocatedblocks"));
      if (fn === 0n) {
        api.PyErr_Clear();
        throw new PymemError(
          "UNSUPPORTED",
          "getAllocatedBlocks(): sys.getallocatedblocks is missing and the library has no .symtab",
        );
      }
      const r = api.PyObject_CallObject(fn, 0n);
      if (r === 0n) {
        api.PyErr_Clear();
        throw new PymemError("UNSUPPORTED", "getAllocatedBlocks(): sys.getallocatedblocks() raised");
      }
      const overflow = new Int32Array(1);
      const n = api.PyLong_AsLongLongAndOverflow(r, new Uint8Array(overflow.buffer));
      api.Py_DecRef(r);
      return Number(n);
    });
  }

  /**
   * Blocks allocated from this interpreter's obmalloc state (3.12+); on 3.8–3.11, where all interpreters share
   * one state, the runtime total. An interpreter that shares main's state reports main's.
   */
  getInterpreterAllocatedBlocks(): number {
    const py = this.#py;
    if (!capabilities(this.#minor)?.perInterpreterObmalloc) return this.getAllocatedBlocks();
    return py.withGIL(() => {
      this.#interpAlive();
      const owner = usesMainObmalloc(py.native, this.interp, py.layout)
        ? py.native.api.PyInterpreterState_Main()
        : this.interp;
      const hidden = py.symbols.function("_PyInterpreterState_GetAllocatedBlocks");
      // (CPython aborts if asked about an interpreter that shares main's state: `owner` avoids that.) Only main's
      // state is walked by CPython's function: another interpreter's threads may run under their own GIL now.
      if (hidden && owner === py.native.api.PyInterpreterState_Main()) return hidden(owner);
      const snap = this.heap();
      return snap.totals.blocksInUse + (snap.info.rawAllocatedBlocks ?? 0);
    });
  }

  /**
   * CPython's end-of-interpreter accounting (3.12+): moves the blocks an ending interpreter leaked into the
   * runtime's leak counter. CPython calls it itself in Py_EndInterpreter; on a live interpreter it is refused,
   * because it would corrupt those counters.
   */
  finalizeAllocatedBlocks(): void {
    const py = this.#py;
    if (!capabilities(this.#minor)?.perInterpreterObmalloc) {
      throw this.#unsupported("finalizeAllocatedBlocks()", "per-interpreter block accounting arrived in CPython 3.12");
    }
    if (!this.ending) {
      throw new PymemError(
        "INVALID_STATE",
        `Refusing to finalize the allocated blocks of interpreter 0x${this.interp.toString(16)}: it is alive and ` +
          "not ending (CPython does this itself in Py_EndInterpreter; doing it now would corrupt its leak counters)",
      );
    }
    const fn = py.symbols.function("_PyInterpreterState_FinalizeAllocatedBlocks");
    if (!fn) {
      throw this.#unsupported(
        "finalizeAllocatedBlocks()",
        "the hidden _PyInterpreterState_FinalizeAllocatedBlocks needs a library with .symtab",
      );
    }
    py.withGIL(() => fn(this.interp));
  }

  /** Page-aligned memory from obmalloc's arena allocator (mmap by default), as `_PyObject_VirtualAlloc`. */
  virtualAlloc(size: number): bigint {
    checkSize(size, "size");
    if (size === 0) throw new RangeError("virtualAlloc() size must be at least 1 byte");
    if (this.#foreign) this.#interpAlive();
    const py = this.#py;
    py.assertOpen();
    const hidden = py.symbols.function("_PyObject_VirtualAlloc");
    // With the GIL: 3.15's arena allocator reads the interpreter's config (pymalloc_hugepages), which aborts without it.
    const p: bigint = py.withGIL(() =>
      hidden ? hidden(size) : (() => {
        const a = getArenaAllocator(py);
        return py.native.fn(a.alloc, callbacks.arenaAlloc)(a.ctx, size);
      })()
    );
    if (p === 0n) throw new PymemError("ALLOCATION_FAILED", `virtualAlloc could not map ${size} bytes`);
    virtualBlocks.set(p, size);
    return p;
  }

  /**
   * Release memory from virtualAlloc; `size` must be the size it was allocated with. Only a live mapping from
   * virtualAlloc is released: anything else (already freed, an arena of the heap, an address inside a mapping) is
   * refused with PymemError("INVALID_STATE"), a different size with a RangeError, and nothing is unmapped.
   */
  virtualFree(address: bigint, size: number): void {
    checkAddress(address, "address");
    checkSize(size, "size");
    if (this.#foreign) this.#interpAlive();
    if (address === 0n) return;
    const py = this.#py;
    py.assertOpen();
    const allocated = virtualBlocks.get(address);
    if (allocated === undefined) {
      throw new PymemError(
        "INVALID_STATE",
        `virtualFree(0x${
          address.toString(16)
        }): not a live mapping from virtualAlloc (already freed, or never allocated there)`,
      );
    }
    if (allocated !== size) {
      throw new RangeError(`virtualFree(0x${address.toString(16)}, ${size}): it was allocated with ${allocated} bytes`);
    }
    virtualBlocks.delete(address);
    const hidden = py.symbols.function("_PyObject_VirtualFree");
    py.withGIL(() => {
      if (hidden) return hidden(address, size);
      const a = getArenaAllocator(py);
      py.native.fn(a.free, callbacks.arenaFree)(a.ctx, address, size);
    });
  }

  /** Where this interpreter's state is (addresses of its variables), validated. */
  stateRefs(): StateRefs {
    const py = this.#py;
    return py.withGIL(() => {
      this.#interpAlive();
      return py.stateRefs(this.interp);
    });
  }

  /** Walk the heap this interpreter allocates from. */
  heap(): HeapSnapshot {
    const py = this.#py;
    return py.withGIL(() => {
      const main = py.native.api.PyInterpreterState_Main();
      // A cached allocator may outlive its interpreter: never read a freed PyInterpreterState.
      if (this.interp !== main) this.#interpAlive();
      const refs = py.stateRefs(this.interp);
      const n = py.native;
      const arenas = Number(n.u64(refs.arenas));
      const maxarenas = n.u32(refs.maxarenas);
      // Main's heap is walked under main's GIL with zero-copy views; any other interpreter's own heap with copies
      // that cannot fault (its threads may be running under its own GIL).
      const foreign = py.layout.state !== "static" && !refs.sharedWithMain && this.interp !== main;
      const walk = walkHeap(foreign ? faultSafeReader(py) : inProcessReader(py), arenas, maxarenas, py.layout);
      const num = (a?: bigint) => (a === undefined ? undefined : Number(n.i64(a)));
      const allocator = py.allocatorName();
      // As attach does: no arena under an allocator that is not pymalloc is no obmalloc heap, not an empty one.
      if (walk.arenaIndex.length === 0 && allocator !== "pymalloc" && allocator !== "pymalloc_debug") {
        throw new PymemError(
          "UNSUPPORTED",
          `CPython ${versionText(py)} (${py.library}) does not use obmalloc here: its object allocator is ` +
            `${allocator ?? "a custom one, not pymalloc"} and it has no arenas, so there is no obmalloc heap to map`,
        );
      }
      // Classification (lib/objects): under the GIL; main's pools viewed in place, a foreign heap copied fault-safe.
      // A snapshot outlives its interpreter, whose arenas are freed at its end: refused then (CLOSED).
      const ask = this.sampleSources(refs.sharedWithMain, main);
      return new HeapSnapshot(
        walk,
        py.layout,
        {
          version: versionText(py),
          allocator,
          interp: py.layout.state === "static" ? 0n : this.interp,
          source: refs.how + (foreign ? "; read with fault-safe copies" : ""),
          rawAllocatedBlocks: num(refs.rawAllocatedBlocks) ?? null,
          counters: {
            narenasCurrentlyAllocated: num(refs.narenasCurrentlyAllocated),
            ntimesArenaAllocated: num(refs.ntimesArenaAllocated),
            narenasHighwater: num(refs.narenasHighwater),
          },
        },
        (snap, o) =>
          py.withGIL(() =>
            classifyLocal(py, snap, py.layout, refs, !foreign, { allocator: py.allocatorName(), ...o }, ask)
          ),
      );
    });
  }

  /**
   * @internal Of whom a snapshot's samples are asked, and whether its interpreter is still there: this interpreter
   * when it is main; another one is gone once no live interpreter at its address has the id it had at the snapshot.
   * A sub-interpreter's allocator overrides it.
   */
  protected sampleSources(_sharedWithMain: boolean, main: bigint): SampleSources {
    const py = this.#py, interp = this.interp;
    if (interp === main) return { assertOpen: () => py.assertOpen() };
    const id = py.native.api.PyInterpreterState_GetID(interp);
    return {
      assertOpen: () => {
        py.assertOpen();
        if (!py.liveInterpreters().includes(interp) || py.native.api.PyInterpreterState_GetID(interp) !== id) {
          throw new PymemError("CLOSED", `Interpreter 0x${interp.toString(16)} (id ${id}) is closed: its heap is gone`);
        }
      },
    };
  }

  #global: GlobalAllocator | undefined;
  /** The Rust-GlobalAlloc-like allocator behind alloc/dealloc/…: the `mem` domain, as the Rust code uses. */
  get global(): GlobalAllocator {
    this.#global ??= new GlobalAllocator(this.#py, "mem", this.#foreign?.scope);
    return this.#global;
  }

  /** A block of `layout.size` bytes aligned to `layout.align` (any power of two); see GlobalAllocator. */
  alloc(layout: Layout): bigint {
    return this.global.alloc(layout);
  }

  /** Like alloc, zero-filled; throws on failure (never writes through NULL). */
  allocZeroed(layout: Layout): bigint {
    return this.global.allocZeroed(layout);
  }

  /** Free a block from alloc with the layout it was allocated with. */
  dealloc(ptr: bigint, layout: Layout): void {
    this.global.dealloc(ptr, layout);
  }

  /** Resize a block, keeping its alignment and its content up to the smaller size. */
  realloc(ptr: bigint, layout: Layout, newSize: number): bigint {
    return this.global.realloc(ptr, layout, newSize);
  }

  /** A PyMemBuffer over a fresh aligned block. */
  allocBuffer(layout: Layout): PyMemBuffer {
    return this.global.allocBuffer(layout);
  }

  toString(): string {
    return `PyMemAllocator(interp 0x${this.interp.toString(16)}, CPython ${versionText(this.#py)})`;
  }
}
showInRepl(PyMemAllocator);

export function versionText(py: ObmallocHost): string {
  const v = py.version;
  return `${v.major}.${v.minor}.${v.micro}`;
}
