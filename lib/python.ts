/**
 * `openPython()` and the `Python` handle: finding, loading and starting a libpython (lib/core/locate.ts, loader.ts,
 * startup.ts), its lifecycle, the GIL, running code, and the features as methods.
 *
 * One concept (over 500 lines): the handle — start-up, the GIL, running code, close — with one-line methods that
 * compose the features (lib/allocators/, lib/interpreters/, lib/obmalloc/); the work is in those modules.
 * @module
 */
import { loadBackend } from "../ffi/backend.ts";
import { libc as libcSymbols } from "../ffi/symbols.ts";
import { type Candidate, candidates, type LocateOptions } from "./core/locate.ts";
import { checkViewLength, cstr, type Native, utf8 } from "./core/native.ts";
import { PyConverter, type PyValue } from "./core/convert.ts";
import { parseVersion, type PythonVersion } from "./core/version.ts";
import { type ObmallocHost, registerHost } from "./obmalloc/host.ts";
import { MemoryDomain } from "./allocators/domains.ts";
import { blocksFinalize, PymemError } from "./errors.ts";
import { checkAddress, checkOptions, checkSize, nonEmptyString, oneOf } from "./checks.ts";
import { checkLibrarySpec, installLibraryAllocator, type LibraryAllocator } from "./allocators/library-allocators.ts";
import type { ObmallocLayout } from "./obmalloc/layout.ts";
import { Symbols } from "./core/hidden-symbols.ts";
import { PyMemAllocator } from "./allocators/pymem-allocator.ts";
import {
  type AllocationTrace,
  type AllocatorFunctions,
  type AllocatorInfo,
  type ArenaAllocator,
  type ArenaAllocatorInfo,
  type Domain,
  getAllocator,
  getArenaAllocator,
  setAllocator,
  setArenaAllocator,
  setupDebugHooks,
  traceAllocations,
} from "./allocators/domain-allocators.ts";
import { type LibraryAllocatorStats, libraryAllocatorStats } from "./allocators/library-allocators.ts";
import type { HeapSnapshot } from "./objects/mod.ts";
import type { ObmallocSnapshot } from "./obmalloc/heap.ts";
import { type DebugMallocStats, parseDebugMallocStats } from "./obmalloc/stats.ts";
import { type ObmallocStateInfo, StateLocator, type StateRefs } from "./obmalloc/state.ts";
import { showInRepl } from "./core/inspect.ts";
import { type ClassifiableMallocHeap, classifyChunksLocal, withObjects } from "./objects/chunks.ts";
import type { ObjectsSnapshot } from "./objects/snapshot.ts";
import { type MimallocHeap, mimallocHeap } from "./mimalloc/mod.ts";
import { type MimallocObjects, mimallocObjectsOf } from "./objects/mimalloc.ts";
import { mallocHeap, mallocTrim, type MallocTrimResult, type MallocWalkOptions, selfProbe } from "./glibc/mod.ts";
import {
  type AddressSpace,
  type AddressSpaceOptions,
  checkAddressSpaceOptions,
  collectAddressSpace,
} from "./address-space/mod.ts";
import { initialize } from "./core/startup.ts";
import { statusError } from "./core/status.ts";
import { adoptCallStack } from "./core/stackguard.ts";
import { capabilities, cpythonIfKnown, NEWEST } from "./cpython/versions.ts";
import {
  checkDebugOffsets,
  DEBUG_OFFSETS_HEAD,
  type DebugOffsetsHead,
  freeThreadedError,
  parseDebugOffsetsHead,
} from "./core/debug-offsets.ts";
import {
  type InterpreterConfig,
  type InterpreterInfo,
  type InterpreterPreset,
  listInterpreters,
  newInterpreter,
  openSubInterpreter,
  type SubInterpreter,
} from "./interpreters/sub-interpreters.ts";
import { LIBC_NAME, type LoadFailure, loadLibrary } from "./core/loader.ts";

/** The allocator CPython uses, chosen before it starts (like PYTHONMALLOC, without touching the environment). */
export type AllocatorName =
  | "default"
  | "pymalloc"
  | "malloc"
  | "debug"
  | "pymalloc_debug"
  | "malloc_debug"
  | "mimalloc"
  | "mimalloc_debug";

/** Options of `openPython()`. */
export interface OpenOptions extends LocateOptions {
  /**
   * The allocator to start CPython with: a CPython allocator name, or a third-party library for all three domains.
   * Refused when the library is already initialized.
   */
  allocator?: AllocatorName | LibraryAllocator;
  /**
   * CPython's home (PYTHONHOME's meaning: `prefix`, or `prefix:exec_prefix`): where its standard library is. Default:
   * when the library was found through an interpreter (`executable`, PYMEM_PYTHON, python3 on PATH), that
   * interpreter's `sys.base_prefix` (and `sys.base_exec_prefix`), so relocated installs start; otherwise CPython's
   * own search (PYTHONHOME, then the prefix it was built with). Refused when the library is already initialized.
   */
  home?: string;
}

// PyMemAllocatorName, the PyPreConfig.allocator field (Include/cpython/pymem.h).
const ALLOCATOR_IDS: Record<AllocatorName, number> = {
  default: 1,
  debug: 2,
  malloc: 3,
  malloc_debug: 4,
  pymalloc: 5,
  pymalloc_debug: 6,
  mimalloc: 7,
  mimalloc_debug: 8,
};

const Py_file_input = 257;
const Py_eval_input = 258;
// Open handles per JavaScript thread (its OS thread id), kept in the interpreter's `sys` so that every module
// instance in the process (one per worker) sees them. A thread that ended (a terminated worker) no longer counts.
const REGISTER_HANDLE = "import sys, _thread\nd = sys.__dict__.setdefault('_pymem_handles', {})\n" +
  "t = _thread.get_native_id()\nd[t] = d.get(t, 0) + 1\n";
const UNREGISTER_HANDLE = "import sys, _thread\nd = sys.__dict__.get('_pymem_handles', {})\n" +
  "t = _thread.get_native_id()\nif d.get(t, 0) > 0: d[t] -= 1\n";
const OTHER_THREADS_HANDLES = "import sys, _thread, os\nd = sys.__dict__.get('_pymem_handles', {})\n" +
  "me = _thread.get_native_id()\n" +
  "result = sum(n for t, n in d.items() if t != me and n > 0 and os.path.exists('/proc/self/task/%d' % t))\n";

// One libpython per process: two would fight over the global symbols they export (RTLD_GLOBAL).
let processLibrary: { path: string; handles: Set<Python>; finalized: boolean; failedStart?: string } | undefined;

/** Open a libpython, found as the README describes, and start (or attach to) its interpreter. */
export async function openPython(options?: OpenOptions): Promise<Python> {
  options = checkOptions<OpenOptions>(options, "openPython", {
    library: nonEmptyString,
    executable: nonEmptyString,
    home: nonEmptyString,
    // Internal (lib/core/startup.ts): which start-up API to use; the tests drive both.
    startVia: oneOf(["PyConfig", "PyInitConfig"]),
    allocator: (v, name) => {
      if (typeof v === "object" && v !== null) return void checkLibrarySpec(v);
      if (typeof v !== "string") {
        throw new TypeError(
          `${name} must be an allocator name or { library, malloc?, calloc?, realloc?, free? }, got ${
            v === null ? "null" : typeof v
          }`,
        );
      }
      if (!Object.hasOwn(ALLOCATOR_IDS, v)) {
        throw new RangeError(`Unknown allocator "${v}": expected one of ${Object.keys(ALLOCATOR_IDS).join(", ")}`);
      }
    },
  });
  const backend = await loadBackend();
  const libc = backend.open(LIBC_NAME, libcSymbols).symbols;
  const failures: LoadFailure[] = [];
  for (const c of candidates(options, failures)) {
    const native = loadLibrary(backend, libc, c, failures, processLibrary?.path);
    if (native) return new Python(native, options, c);
  }
  const lines = failures.map((f) => `  - ${f.path} [${f.source}]: ${f.error}`).join("\n");
  const cause = new AggregateError(failures.map((f) => new Error(`${f.path}: ${f.error}`)));
  // A library that was found and refused says so first, with its own code: that is the reason, not "cannot find".
  const refused = failures.find((f) => f.code === "LIBRARY_CONFLICT") ?? failures.find((f) => f.code !== undefined);
  if (refused) {
    throw new PymemError(refused.code!, `${refused.path} [${refused.source}]: ${refused.error}\nTried:\n${lines}`, {
      cause,
    });
  }
  throw new PymemError(
    "LIBRARY_NOT_FOUND",
    `Cannot find a CPython 3.8+ shared library (libpython). Tried:\n${lines}\n` +
      "Set PYMEM_LIBPYTHON to the path of a libpython shared library, or PYMEM_PYTHON to a python executable " +
      "built with --enable-shared (or pass { library } / { executable } to openPython)",
    { cause },
  );
}

/** An embedded (or attached) CPython. Create with `openPython()`; dispose with `close()` or `using`. */
export type { LibraryAllocator, PythonVersion, PyValue };

// withGIL calls its callback through Reflect.apply, which V8's mid tier (Maglev) does not inline: where it inlined
// `fn()`, a caller's loop ran inside withGIL's Maglev code, which has no fast path for FFI calls and is seldom
// tiered up, since withGIL itself runs once per batch (bench/call_shapes.ts; figures in BENCHMARKS.md). Turbofan
// still inlines it. Taken once, at load, so that a program's own Reflect cannot intercept every callback.
const apply = Reflect.apply;
const NO_ARGS: [] = [];

export class Python {
  readonly version: PythonVersion;
  /** Resolved path of the loaded libpython. */
  readonly library: string;
  /** Which FFI backend runs the calls. */
  readonly backend: "bun" | "deno" | "koffi";
  /** True when pymem initialized this interpreter (and so finalizes it on close). */
  readonly owned: boolean;
  /** Discovery step that produced the library, e.g. "PYMEM_LIBPYTHON". */
  readonly source: string;
  /** PyMem_Raw* (no GIL needed). */
  readonly raw: MemoryDomain;
  /** PyMem_* (GIL taken per call unless held with withGIL). */
  readonly mem: MemoryDomain;
  /** PyObject_* (GIL taken per call unless held with withGIL). */
  readonly obj: MemoryDomain;

  /** The bound C API and memory access. */
  readonly #native: Native;
  /**
   * What features work through (lib/obmalloc/host.ts): the plumbing, kept out of this class's public type. It holds
   * `closed`, which the handle sets and every memory-domain call reads.
   */
  readonly #host: ObmallocHost & { closed: boolean };
  #gilDepth = 0;
  #mainThreadState = 0n;
  #globals = 0n;
  readonly #convert: PyConverter;
  readonly #states: StateLocator;
  readonly #closeHooks: (() => void)[] = [];
  readonly #closeChecks: (() => void)[] = [];

  constructor(native: Native, options: OpenOptions, candidate: Candidate) {
    this.#native = native;
    this.#host = new Python.#Host(this, native);
    this.#states = new StateLocator(this.#host);
    registerHost(this, this.#host);
    this.library = native.path;
    this.backend = native.backend.name;
    this.source = candidate.source;
    const api = native.api;
    try {
      this.version = this.#readVersion();
      // 3.13+: a free-threaded build is refused before anything runs (its objects are laid out differently).
      const head = this.debugOffsets();
      if (head?.freeThreaded) throw freeThreadedError(this.library, head.version);
      checkDebugOffsets(native, this.version.minor); // and the object layout agrees with pymem's row
    } catch (e) {
      // Refused: unloaded unless this process already uses it, so that another libpython can be opened.
      if (processLibrary?.path !== native.path) native.unload();
      throw e;
    }
    const initialized = api.Py_IsInitialized() !== 0;
    const allocator = options.allocator;
    // After a finalize, blocks CPython never freed are still owned by the first allocator: another one would be
    // asked to free them later (seen: pymalloc_debug aborting on a pymalloc block).
    if (!initialized && processLibrary?.finalized && allocator && allocator !== "default") {
      throw new PymemError(
        "INVALID_STATE",
        `Cannot choose the allocator ${
          JSON.stringify(allocator)
        }: ${this.library} was already started and finalized in this process; start a new process`,
      );
    }
    if (initialized && allocator && allocator !== "default") {
      throw new PymemError(
        "INVALID_STATE",
        `Cannot choose the allocator ${
          JSON.stringify(allocator)
        }: ${this.library} is already initialized in this process`,
      );
    }
    if (initialized && options.home !== undefined) {
      throw new PymemError("INVALID_STATE", `Cannot set home: ${this.library} is already initialized in this process`);
    }
    if (!initialized) {
      if (processLibrary?.failedStart) {
        // CPython keeps what a failed start set up (a half-initialized runtime): starting it again is not supported.
        throw new PymemError(
          "INIT_FAILED",
          `CPython already failed to start in this process and cannot be started again after a failed start; start a new process. The first failure: ${processLibrary.failedStart}`,
        );
      }
      this.#preInitialize(typeof allocator === "string" ? allocator : "default");
      // PyMem_SetAllocator may replace (not just wrap) the allocators only between pre-initialization and
      // initialization, before Python has allocated anything it will later free.
      if (typeof allocator === "object") installLibraryAllocator(native, allocator);
      // From here on this process belongs to this library, started or not (its global symbols are loaded).
      processLibrary ??= { path: native.path, handles: new Set(), finalized: false };
      try {
        // Through the configuration API, so a failure is an error (Py_InitializeEx aborts the process); no signal
        // handlers: the JavaScript host owns them. The home: options.home, else the interpreter that named the library.
        const where = options.home !== undefined
          ? { home: options.home }
          : candidate.prefix !== undefined
          ? { prefix: candidate.prefix, execPrefix: candidate.execPrefix ?? candidate.prefix }
          : undefined;
        initialize(native, this.version.minor, where, (options as { startVia?: "PyConfig" | "PyInitConfig" }).startVia);
      } catch (e) {
        if (e instanceof PymemError && e.code === "INIT_FAILED") processLibrary.failedStart = e.message;
        throw e;
      }
      // koffi calls on a stack of its own: tell 3.14+'s stack guard, which otherwise defers every deallocation.
      adoptCallStack(native, api.PyThreadState_Get());
      // Initialization leaves this thread holding the GIL; give it back so Python threads run while JS is idle.
      this.#mainThreadState = api.PyEval_SaveThread();
    }
    this.owned = !initialized;
    processLibrary ??= { path: native.path, handles: new Set(), finalized: false };
    processLibrary.handles.add(this);
    this.#convert = new PyConverter(native);
    this.withGIL(() => {
      this.#globals = api.PyModule_GetDict(api.PyImport_AddModule(cstr("__main__")));
      this.#scratch(REGISTER_HANDLE);
    });
    this.raw = new MemoryDomain(this.#host, "raw", api);
    this.mem = new MemoryDomain(this.#host, "mem", api);
    this.obj = new MemoryDomain(this.#host, "obj", api);
  }

  /**
   * The host features get for a handle (lib/obmalloc/host.ts): PythonHost and ObmallocHost over the handle's private
   * state. A class rather than an object literal: V8 made the memory domains, which read `closed` and `holdsGil` on
   * every call, twice as slow through a literal's getters (bench/call_cost.ts on Deno: 19 ns a raw pair, not 9).
   */
  static readonly #Host = class implements ObmallocHost {
    readonly native: Native;
    readonly #py: Python;
    constructor(py: Python, native: Native) {
      this.#py = py;
      this.native = native;
    }
    get version(): PythonVersion {
      return this.#py.version;
    }
    get library(): string {
      return this.#py.library;
    }
    get backend(): "bun" | "deno" | "koffi" {
      return this.#py.backend;
    }
    /** True after close(): a field, not a getter, since the memory domains read it on every call. */
    closed = false;
    get holdsGil(): boolean {
      return this.#py.#gilDepth > 0;
    }
    get symbols(): Symbols {
      return this.#py.symbols;
    }
    get layout(): ObmallocLayout {
      return this.#py.#states.layout;
    }
    assertOpen(): void {
      this.#py.#assertOpen();
    }
    withGIL<T>(fn: () => T): T {
      return this.#py.withGIL(fn);
    }
    run(code: string): void {
      this.#py.run(code);
    }
    eval(expression: string): PyValue {
      return this.#py.eval(expression);
    }
    runIn(globals: bigint, code: string): void {
      this.#py.#runIn(globals, code);
    }
    evalIn(globals: bigint, expression: string): PyValue {
      return this.#py.#evalIn(globals, expression);
    }
    allocatorName(): string | null {
      return this.#py.allocatorName();
    }
    currentInterp(): bigint {
      return this.#py.#currentInterp();
    }
    liveInterpreters(): bigint[] {
      return this.#py.#liveInterpreters();
    }
    onClose(fn: () => void): void {
      this.#py.#closeHooks.push(fn);
    }
    onCloseCheck(fn: () => void): void {
      this.#py.#closeChecks.push(fn);
    }
    stateRefs(interp: bigint): StateRefs {
      return this.#py.#states.stateRefs(interp);
    }
    obmallocStates(): ObmallocStateInfo[] {
      return this.#py.#states.obmallocStates();
    }
  };

  /**
   * The head of `_Py_DebugOffsets` at `_PyRuntime` (3.13+: exact version, free-threaded or not); undefined before
   * 3.13. Read safely: it is statically initialised, so valid before CPython starts.
   */
  debugOffsets(): DebugOffsetsHead | undefined {
    if (!capabilities(this.version.minor)?.debugOffsets) return undefined;
    const runtime = this.#native.dlsym("_PyRuntime");
    const bytes = runtime === 0n ? null : this.#native.safeRead(runtime, DEBUG_OFFSETS_HEAD);
    return bytes ? parseDebugOffsetsHead(bytes) : undefined;
  }

  #readVersion(): PythonVersion {
    const v = parseVersion(this.#native.cstring(this.#native.api.Py_GetVersion()));
    // 3.11+ exports Py_Version (PY_VERSION_HEX), which knows the release level exactly.
    const sym = this.#native.dlsym("Py_Version");
    if (sym !== 0n) v.hex = this.#native.u32(sym);
    return v;
  }

  #preInitialize(name: AllocatorName): void {
    const { major, minor } = this.version;
    if (name === "default") {
      // fall through: pre-initialize with CPython's default allocator
    } else if (name.startsWith("mimalloc") && !capabilities(minor)?.mimalloc) {
      throw new PymemError(
        "UNSUPPORTED",
        `The allocator "${name}" needs CPython 3.13 or newer; ${this.library} is ${major}.${minor}`,
      );
    }
    // PyPreConfig and PyStatus per version (lib/cpython); a minor newer than every row is assumed to keep them.
    const { preConfig: pre, config: cfg } = (cpythonIfKnown(minor) ?? NEWEST).layout;
    const config = new Uint8Array(pre.size);
    this.#native.api.PyPreConfig_InitPythonConfig(config);
    const view = new DataView(config.buffer);
    // What PyPreConfig_InitPythonConfig puts there: the Python configuration, C locale coercion "not set" (-1).
    if (
      view.getInt32(pre.configInit, true) !== cfg.initPython || view.getInt32(pre.coerceCLocale, true) !== -1 ||
      view.getInt32(pre.coerceCLocaleWarn, true) !== -1
    ) {
      throw new PymemError(
        "UNSUPPORTED",
        `pymem cannot start CPython ${major}.${minor} (${this.library}): PyPreConfig_InitPythonConfig did not ` +
          `lay out PyPreConfig as the ${major}.${minor} headers do (is this a build with a patched PyPreConfig?)`,
      );
    }
    view.setInt32(pre.allocator, ALLOCATOR_IDS[name], true);
    // As Py_InitializeEx did: never coerce the C locale (it would set LC_CTYPE in the host process's environment).
    view.setInt32(pre.coerceCLocale, 0, true);
    view.setInt32(pre.coerceCLocaleWarn, 0, true);
    const status = statusError(this.#native, this.#native.api.Py_PreInitialize(config), minor);
    if (status) {
      const text = status.message;
      if (name === "default") {
        throw new PymemError("INIT_FAILED", `CPython could not start (${this.library}): ${text} [Py_PreInitialize]`);
      }
      throw new PymemError("INVALID_STATE", `Py_PreInitialize refused the allocator "${name}": ${text}`);
    }
  }

  /** True after close(). */
  get closed(): boolean {
    return this.#host.closed;
  }

  /** Throw unless the handle is open. */
  #assertOpen(): void {
    if (this.#host.closed) throw new PymemError("CLOSED", "This Python handle is closed");
  }

  /**
   * Run `fn` holding the GIL, so a batch of calls pays for it once. Nested use is fine. `fn` must be synchronous:
   * holding the GIL across an `await` would stall every Python thread.
   */
  withGIL<T>(fn: () => T): T {
    if (typeof fn !== "function") {
      throw new TypeError(`withGIL() takes a function, got ${fn === null ? "null" : typeof fn}`);
    }
    if (this.#gilDepth > 0) {
      this.#gilDepth++;
      try {
        return apply(fn, undefined, NO_ARGS);
      } finally {
        this.#gilDepth--;
      }
    }
    this.#assertOpen();
    const api = this.#native.api;
    const state = api.PyGILState_Ensure();
    this.#gilDepth = 1;
    let result: T;
    try {
      result = apply(fn, undefined, NO_ARGS);
    } finally {
      this.#gilDepth = 0;
      api.PyGILState_Release(state);
    }
    if (result && typeof (result as { then?: unknown }).then === "function") {
      throw new TypeError("withGIL() takes a synchronous function: the GIL was released before the promise settled");
    }
    return result;
  }

  /** CPython's name for the running allocator ("pymalloc", "malloc", "pymalloc_debug", …), null if custom. */
  allocatorName(): string | null {
    this.#assertOpen();
    const p = this.#native.api._PyMem_GetCurrentAllocatorName();
    return p === 0n ? null : this.#native.cstring(p);
  }

  /** Execute Python source in `__main__`. A Python exception is thrown as PythonError. */
  run(code: string): void {
    this.#runIn(this.#globals, code);
  }

  /**
   * The value of a Python expression evaluated in `__main__`: int → number (bigint beyond 2^53), float → number,
   * str → string, bool → boolean, None → null, bytes → Uint8Array (a copy), anything else → its repr.
   */
  eval(expression: string): PyValue {
    return this.#evalIn(this.#globals, expression);
  }

  /**
   * `run()` against another globals dict (borrowed), e.g. a sub-interpreter's `__main__` while that interpreter is
   * current. The dict must belong to the interpreter current when this runs.
   */
  #runIn(globals: bigint, code: string): void {
    const source = sourceBytes(code);
    this.withGIL(() => {
      const r = this.#native.api.PyRun_StringFlags(source, Py_file_input, globals, globals, 0n);
      if (r === 0n) throw this.#convert.fetchError(globals);
      this.#native.api.Py_DecRef(r);
    });
  }

  /** `eval()` against another globals dict, as #runIn. */
  #evalIn(globals: bigint, expression: string): PyValue {
    const source = sourceBytes(expression);
    return this.withGIL(() => {
      const api = this.#native.api;
      const r = api.PyRun_StringFlags(source, Py_eval_input, globals, globals, 0n);
      if (r === 0n) throw this.#convert.fetchError(globals);
      try {
        return this.#convert.toJS(r, globals);
      } finally {
        api.Py_DecRef(r);
      }
    });
  }

  /**
   * Run pymem's own bookkeeping code (GIL held) in a fresh namespace with the interpreter's builtins, never in
   * `__main__`; returns its integer `result` (0 when it sets none). Errors are cleared and read as 0.
   */
  #scratch(code: string): number {
    const api = this.#native.api;
    const ns = api.PyDict_New();
    if (ns === 0n) return 0;
    try {
      api.PyDict_SetItemString(ns, cstr("__builtins__"), api.PyEval_GetBuiltins());
      const r = api.PyRun_StringFlags(cstr(code), Py_file_input, ns, ns, 0n);
      if (r === 0n) {
        api.PyErr_Clear();
        return 0;
      }
      api.Py_DecRef(r);
      const v = api.PyDict_GetItemString(ns, cstr("result"));
      return v === 0n ? 0 : Number(api.PyLong_AsLongLongAndOverflow(v, new Uint8Array(8)));
    } finally {
      api.Py_DecRef(ns);
    }
  }

  /**
   * A Uint8Array over `length` bytes of native memory at `address`. **Unsafe**: reading or writing memory that is
   * not mapped, or not yours, crashes or corrupts the process. Use it on blocks you allocated; the safe path is a
   * `PyMemBuffer` (`py.mem.buffer(n).bytes`), whose view cannot outlive its block. A length beyond the runtime's
   * largest ArrayBuffer is a RangeError.
   */
  view(address: bigint, length: number): Uint8Array {
    checkAddress(address, "address");
    checkSize(length, "length");
    checkViewLength(length, "py.view()");
    if (address === 0n) throw new RangeError("Cannot view address 0 (NULL)");
    this.#assertOpen();
    return this.#native.bytes(address, length);
  }

  #symbols: Symbols | undefined;

  /** obmalloc's geometry and state location for this version (throws for a version pymem has no table for). */
  get layout(): ObmallocLayout {
    return this.#states.layout;
  }

  /** The optional and hidden symbols of the loaded library: where each was found (`py.symbols.table()`). */
  get symbols(): Symbols {
    this.#symbols ??= new Symbols(this.#native);
    return this.#symbols;
  }

  /** PyInterpreterState* of the interpreter current on this thread (main, unless a sub-interpreter is entered). */
  #currentInterp(): bigint {
    const api = this.#native.api;
    const get = api.PyInterpreterState_Get ?? api._PyInterpreterState_Get;
    return this.withGIL(() => get!());
  }

  /** Every live PyInterpreterState*, main first. */
  #liveInterpreters(): bigint[] {
    const api = this.#native.api;
    return this.withGIL(() => {
      const out: bigint[] = [];
      for (let i = api.PyInterpreterState_Head(); i !== 0n && out.length < 10_000; i = api.PyInterpreterState_Next(i)) {
        out.push(i);
      }
      return out.reverse();
    });
  }

  /**
   * A PyMemAllocator for `interp` (default: the current interpreter). Another interpreter's allocator allocates in
   * that interpreter (its thread state current) and is CLOSED once that interpreter has ended; for a
   * sub-interpreter this handle created, it is `sub.allocator()`.
   */
  allocator(interp?: bigint): PyMemAllocator {
    if (interp !== undefined) {
      this.#host.assertOpen();
      const sub = typeof interp === "bigint" ? openSubInterpreter(this.#host, interp) : undefined;
      if (sub) return sub.allocator();
    }
    return new PyMemAllocator(this.#host, interp);
  }

  /** Walk the obmalloc heap of `interp` (default: the current interpreter) into a HeapSnapshot. */
  heap(interp?: bigint): HeapSnapshot {
    return this.allocator(interp).heap();
  }

  /**
   * CPython's own statistics text (`_PyObject_DebugMallocStats`, what `sys._debugmallocstats()` prints first),
   * captured in-process through open_memstream and parsed. Describes the current interpreter's state.
   */
  debugMallocStats(): DebugMallocStats {
    this.#assertOpen();
    const { api, libc } = this.#native;
    // open_memstream stores the buffer pointer and size into these two words at fflush/fclose: native memory.
    const cell = libc.malloc(16);
    if (cell === 0n) throw new PymemError("ALLOCATION_FAILED", "malloc(16) failed");
    try {
      this.#native.bytes(cell, 16).fill(0);
      const file = libc.open_memstream(cell, cell + 8n);
      if (file === 0n) throw new PymemError("ALLOCATION_FAILED", "open_memstream failed");
      let printed = 0;
      try {
        printed = this.withGIL(() => api._PyObject_DebugMallocStats(file));
      } finally {
        libc.fclose(file);
      }
      const buf = this.#native.u64(cell);
      const len = Number(this.#native.u64(cell + 8n));
      const text = buf && len ? utf8(this.#native.bytes(buf, len)) : "";
      if (buf) libc.free(buf);
      return parseDebugMallocStats(text, printed === 1);
    } finally {
      libc.free(cell);
    }
  }

  // --- sub-interpreters: the work is in lib/interpreters/sub-interpreters.ts
  /**
   * Create a sub-interpreter: a preset ("isolated", the default: own obmalloc and own GIL; or "legacy": shares
   * main's) or a full {@link InterpreterConfig}. Invalid or unsafe configurations are refused before CPython is
   * called. Needs CPython 3.12+, except "legacy", which 3.8–3.11 serve with Py_NewInterpreter. Closed with this
   * handle if still open.
   */
  newInterpreter(config?: InterpreterPreset | InterpreterConfig): SubInterpreter {
    return newInterpreter(this.#host, config);
  }

  /** Every live interpreter, main first: id, whether it has its own obmalloc state, blocks in use. */
  interpreters(): InterpreterInfo[] {
    return listInterpreters(this.#host);
  }

  /**
   * Walk this process's glibc malloc heap (every arena, its chunks in use and free by kind, the top chunks, the
   * mmapped chunks, what malloc_trim(0) would give back). Throws PymemError("UNSUPPORTED") when malloc here is not
   * glibc's or its release has not been checked. See lib/glibc/.
   */
  mallocHeap(options?: MallocWalkOptions): ClassifiableMallocHeap {
    const v = this.version;
    return withObjects(
      mallocHeap(this.#host, options),
      (h, o) => {
        this.#assertOpen();
        return classifyChunksLocal(this.#host, h, `${v.major}.${v.minor}.${v.micro}`, () => this.#pymallocObjects(), o);
      },
    );
  }

  /** The pymalloc side of `mallocHeap().objects()`: null when this process has no pymalloc heap to classify. */
  #pymallocObjects(): ObjectsSnapshot | null {
    try {
      return this.heap().objects();
    } catch (e) {
      if (e instanceof PymemError && e.code === "UNSUPPORTED") return null;
      throw e;
    }
  }

  /**
   * Map this process's mimalloc heap (PYTHONMALLOC=mimalloc, CPython 3.13+): segments, pages, their blocks per size
   * and per thread heap, and what exited threads abandoned. Throws PymemError("UNSUPPORTED") under another allocator
   * or a mimalloc release pymem has not checked. See lib/mimalloc/.
   */
  mimallocHeap(): MimallocHeap {
    return mimallocHeap(this.#host, this.allocatorName());
  }

  /**
   * What the live blocks of a mimalloc map are: the Python object in each (validated type), by type. `map` defaults
   * to a new `mimallocHeap()`. See lib/objects/mimalloc.ts.
   */
  mimallocObjects(map?: MimallocHeap): MimallocObjects {
    return mimallocObjectsOf(this.#host, map ?? this.mimallocHeap(), this.allocatorName());
  }

  /**
   * Every mapping of this process (/proc/self/smaps) attributed to one category — pymalloc's arenas, glibc's heaps
   * and mmapped chunks, thread stacks, the executable, libraries, other files, other anonymous memory — and the RSS
   * breakdown (pymalloc / malloc in use / malloc free but held / stacks / code / other). Walks the main
   * interpreter's obmalloc heap and glibc's heap (or uses `heap`, `malloc`); a malloc that is not glibc's is named in
   * `malloc.refused` and its memory counted as anonymous. See lib/address-space/.
   */
  addressSpace(options?: AddressSpaceOptions): AddressSpace {
    this.#host.assertOpen();
    options = checkAddressSpaceOptions(options, "addressSpace");
    return collectAddressSpace({
      pid: "self",
      probe: selfProbe(this.#host),
      obmalloc: () => options?.heap ?? pymallocHeapOrNull(() => this.heap()),
      malloc: () => options?.malloc ?? mallocHeap(this.#host),
      mimalloc: () => {
        if (!this.allocatorName()?.startsWith("mimalloc")) return undefined;
        try {
          return this.mimallocHeap();
        } catch (e) {
          // A map pymem refuses (a debug build, an unchecked release): its segments stay anonymous memory.
          if (e instanceof PymemError && e.code === "UNSUPPORTED") return undefined;
          throw e;
        }
      },
    });
  }

  /**
   * Call glibc's malloc_trim(0) here and measure what it gave back (VmRSS before and after). Refused with
   * PymemError("UNSUPPORTED") when malloc is not glibc's.
   */
  mallocTrim(): MallocTrimResult {
    return mallocTrim(this.#host);
  }

  /** A domain's allocator: `{ ctx, malloc, calloc, realloc, free }` addresses and the symbol each resolves to. */
  getAllocator(domain: Domain): AllocatorInfo {
    return getAllocator(this.#host, domain);
  }

  /**
   * **Unsafe.** Install an allocator for a domain (after start-up it must wrap the current one, as CPython requires).
   * Each function pointer must lie in executable memory (else RangeError); what the code there does cannot be
   * checked. Safe path: `traceAllocations(fn)`, or `openPython({ allocator })` before start-up.
   */
  setAllocator(domain: Domain, allocator: AllocatorFunctions): void {
    setAllocator(this.#host, domain, allocator);
  }

  /** The arena allocator obmalloc maps its arenas with. */
  getArenaAllocator(): ArenaAllocatorInfo {
    return getArenaAllocator(this.#host);
  }

  /** **Unsafe**, as setAllocator: install an arena allocator (function pointers checked against executable memory). */
  setArenaAllocator(allocator: ArenaAllocator): void {
    setArenaAllocator(this.#host, allocator);
  }

  /** Install CPython's debug hooks (refused on a running interpreter with live blocks; a no-op when present). */
  setupDebugHooks(): void {
    setupDebugHooks(this.#host);
  }

  /**
   * Run `fn` with all three domains wrapped by native counting hooks and return per-domain counts, bytes and a size
   * histogram; afterwards every domain's allocator is exactly what it was. An async `fn` keeps the hooks until it
   * settles.
   */
  traceAllocations(fn: () => Promise<unknown>): Promise<AllocationTrace>;
  traceAllocations(fn: () => void): AllocationTrace;
  traceAllocations(fn: () => unknown): AllocationTrace | Promise<AllocationTrace> {
    return traceAllocations(this.#host, fn);
  }

  /** The in-process third-party allocator's own statistics (and RSS), when one was chosen at start-up. */
  libraryAllocatorStats(): LibraryAllocatorStats {
    return libraryAllocatorStats(this.#native);
  }

  /**
   * Finalize the interpreter if pymem started it (an attached one is left running). Idempotent; any later use
   * throws PymemError("CLOSED").
   */
  close(): void {
    if (this.#host.closed) return;
    // Any handle's withGIL counts: this thread holds the same GIL through it, and finalizing would wait for it
    // forever (3.8–3.12) or abort ("non-NULL old thread state", 3.13).
    if (this.#gilDepth > 0 || [...(processLibrary?.handles ?? [])].some((h) => h.#gilDepth > 0)) {
      throw new PymemError(
        "INVALID_STATE",
        "close() cannot run inside withGIL(): finalizing needs the GIL released first",
      );
    }
    // Handles opened by other JavaScript threads (workers) live in other module instances, which this one cannot
    // close: finalizing under them would crash their next call. They are counted in the interpreter itself.
    if (this.owned) {
      const others = this.withGIL(() => this.#scratch(OTHER_THREADS_HANDLES));
      if (others > 0) {
        throw new PymemError(
          "INVALID_STATE",
          `close() refused: ${others} handle(s) opened on other JavaScript threads (workers) still use this interpreter; close them first`,
        );
      }
    }
    // A refusal leaves everything open: e.g. a sub-interpreter whose threads would make finalizing abort. The owner
    // asks for the other handles on the same runtime too, since it closes them.
    const others = this.owned && processLibrary ? [...processLibrary.handles].filter((h) => h !== this) : [];
    for (const handle of [this, ...others]) for (const check of handle.#closeChecks) check();
    const hooks = this.#closeHooks.splice(0).reverse();
    const errors: unknown[] = [];
    for (const hook of hooks) {
      try {
        hook();
      } catch (e) {
        errors.push(e);
      }
    }
    for (const other of others) {
      try {
        other.close();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.some(blocksFinalize)) {
      // Something that must end first refused after all (a thread started since the check): finalizing now would
      // abort the process. Stay open; the hooks, which are idempotent, run again on the next close().
      this.#closeHooks.push(...hooks.reverse());
      throw closeError("close() refused: a sub-interpreter could not end; Python is still open", errors);
    }
    processLibrary?.handles.delete(this);
    if (!this.owned) this.withGIL(() => this.#scratch(UNREGISTER_HANDLE));
    this.#host.closed = true;
    if (this.owned) {
      this.#native.api.PyEval_RestoreThread(this.#mainThreadState);
      this.#native.api.Py_FinalizeEx();
      if (processLibrary) processLibrary.finalized = true;
    }
    if (errors.length) throw closeError("Errors while closing Python", errors);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * A compact summary for the Node and Bun REPLs (and console.log), e.g. `Python(CPython 3.11.7, pymalloc, koffi
   * backend, /usr/lib/libpython3.11.so.1.0)`. Never throws, also after close().
   */
  toString(): string {
    const v = this.version;
    let allocator = "closed";
    if (!this.#host.closed) {
      try {
        allocator = this.allocatorName() ?? "custom allocator";
      } catch {
        allocator = "allocator unknown";
      }
    }
    return `Python(CPython ${v.major}.${v.minor}.${v.micro}, ${allocator}, ${this.backend} backend, ${this.library})`;
  }
}
showInRepl(Python);

function sourceBytes(code: string): Uint8Array {
  if (typeof code !== "string") throw new TypeError(`Python source must be a string, got ${typeof code}`);
  if (code.includes("\0")) throw new RangeError("Python source cannot contain a NUL character");
  return cstr(code);
}

/** One PymemError for what went wrong while closing: the first error's message, every error in `cause`. */
export function closeError(what: string, errors: unknown[]): PymemError {
  const first = errors[0] as Error | undefined;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more: see cause)` : "";
  return new PymemError("INVALID_STATE", `${what}: ${first?.message ?? String(first)}${more}`, {
    cause: new AggregateError(errors, what),
  });
}

/** The obmalloc walk, or null when this interpreter does not use pymalloc (PYTHONMALLOC=malloc, mimalloc). */
function pymallocHeapOrNull(walk: () => ObmallocSnapshot): ObmallocSnapshot | null {
  try {
    return walk();
  } catch (e) {
    if (e instanceof PymemError && e.code === "UNSUPPORTED") return null;
    throw e;
  }
}
