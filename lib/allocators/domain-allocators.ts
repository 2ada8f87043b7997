/**
 * Domain control: reading and replacing the allocator of each memory domain (PyMem_GetAllocator /
 * PyMem_SetAllocator), the arena allocator, the debug hooks, and `traceAllocations`, which wraps all three domains
 * with generated counting hooks (lib/machine/codegen.ts) while a function runs.
 *
 * These are functions over a `Python` so the `Python` class can expose them as methods (py.getAllocator(…) etc.).
 * @module
 */
import { realpathSync } from "node:fs";
import { ElfFile } from "../machine/elf.ts";
import { PymemError } from "../errors.ts";
import { checkAddress } from "../checks.ts";
import type { FunctionSet, HookCounts } from "../machine/codegen.ts";
import { generatedName } from "../machine/exec-pages.ts";
import { hookPool, type HookSlot } from "./generated-functions.ts";
import type { Native } from "../core/native.ts";
import type { PythonHost } from "../core/host.ts";
import { hostOf, type PythonHandle } from "../obmalloc/host.ts";
import { readMaps } from "../machine/procmaps.ts";

/** A memory domain: `raw` (PyMem_Raw*, no GIL), `mem` (PyMem_*), `obj` (PyObject_*). */
export type Domain = "raw" | "mem" | "obj";

/** PyMemAllocatorDomain values (Include/cpython/pymem.h). */
export const DOMAIN_IDS: Readonly<Record<Domain, number>> = { raw: 0, mem: 1, obj: 2 };

/** Validate a domain name: TypeError for a non-string, RangeError for an unknown one. */
export function checkDomain(value: unknown): Domain {
  if (typeof value !== "string") {
    throw new TypeError(`domain must be "raw", "mem" or "obj", got ${value === null ? "null" : typeof value}`);
  }
  if (!Object.hasOwn(DOMAIN_IDS, value)) {
    throw new RangeError(`Unknown memory domain "${value}": expected "raw", "mem" or "obj"`);
  }
  return value as Domain;
}

/** A PyMemAllocatorEx: `ctx` and four function addresses, as CPython stores them. */
export interface AllocatorFunctions {
  ctx: bigint;
  malloc: bigint;
  calloc: bigint;
  realloc: bigint;
  free: bigint;
}

/** The symbol (or pymem-generated function) each address resolves to; null when nothing names it. */
export interface AllocatorNames {
  ctx: string | null;
  malloc: string | null;
  calloc: string | null;
  realloc: string | null;
  free: string | null;
}

/** A domain's allocator as `getAllocator()` reports it. */
export interface AllocatorInfo extends AllocatorFunctions {
  domain: Domain;
  names: AllocatorNames;
}

/** A PyObjectArenaAllocator: `alloc(ctx, size)` and `free(ctx, ptr, size)` for pymalloc's arenas. */
export interface ArenaAllocator {
  ctx: bigint;
  alloc: bigint;
  free: bigint;
}

/** The arena allocator as `getArenaAllocator()` reports it. */
export interface ArenaAllocatorInfo extends ArenaAllocator {
  names: { ctx: string | null; alloc: string | null; free: string | null };
}

const FIELDS = ["ctx", "malloc", "calloc", "realloc", "free"] as const;

// ---- naming addresses through the ELF symbol tables -----------------------------------------------------------

// One ElfFile per object file, its symbol index built once; null when the file cannot be read.
const elfCache = new Map<string, ElfFile | null>();

function elfFor(path: string): ElfFile | null {
  let elf = elfCache.get(path);
  if (elf === undefined) {
    try {
      elf = ElfFile.open(path);
      elf.symbolAt(0); // builds the address index now, so the descriptor can be closed
      elf.close();
    } catch {
      elf = null;
    }
    elfCache.set(path, elf);
  }
  return elf;
}

/**
 * The name of the symbol at `address`: a function pymem generated, else the ELF symbol containing it in whichever
 * object dladdr places it in (`name` when it starts there, `name+0xN` inside it), else dladdr's own exact match.
 * Null when nothing names it (e.g. a hidden function of a stripped library, or anonymous memory).
 */
export function nameAddress(py: PythonHandle, address: bigint): string | null {
  return symbolName(hostOf(py).native, address);
}

/** {@link nameAddress} through a loaded library. */
export function symbolName(native: Native, address: bigint): string | null {
  if (address === 0n) return null;
  const generated = generatedName(address);
  if (generated) return generated;
  // Dl_info { const char *dli_fname; void *dli_fbase; const char *dli_sname; void *dli_saddr; }
  const info = new BigUint64Array(4);
  if (native.libc.dladdr(address, new Uint8Array(info.buffer)) === 0) return null;
  const [fname, fbase, sname, saddr] = info as unknown as [bigint, bigint, bigint, bigint];
  const file = fname ? native.cstring(fname) : "";
  let path: string | null = null;
  if (file.startsWith("/")) {
    try {
      path = realpathSync(file);
    } catch {
      path = null;
    }
  }
  const elf = path ? elfFor(path) : null;
  if (elf) {
    const vaddr = Number(address - fbase) + elf.firstLoadVaddr;
    const sym = elf.symbolAt(vaddr);
    if (sym) return sym.value === vaddr ? sym.name : `${sym.name}+0x${(vaddr - sym.value).toString(16)}`;
  }
  return sname && saddr === address ? native.cstring(sname) : null;
}

// ---- reading and writing allocators ---------------------------------------------------------------------------

function readAllocator(native: Native, domain: Domain): AllocatorFunctions {
  const buf = new BigUint64Array(5);
  native.api.PyMem_GetAllocator(DOMAIN_IDS[domain], new Uint8Array(buf.buffer));
  return { ctx: buf[0]!, malloc: buf[1]!, calloc: buf[2]!, realloc: buf[3]!, free: buf[4]! };
}

function writeAllocator(native: Native, domain: Domain, a: AllocatorFunctions): void {
  // PyMemAllocatorEx { void *ctx; malloc; calloc; realloc; free } — CPython copies it, so a temporary is fine.
  const buf = new BigUint64Array([a.ctx, a.malloc, a.calloc, a.realloc, a.free]);
  native.api.PyMem_SetAllocator(DOMAIN_IDS[domain], new Uint8Array(buf.buffer));
}

/**
 * Allocator calls are made holding the GIL: before 3.12 PyMem_SetAllocator takes no lock, and the GIL is what keeps
 * mem/obj callers out while the struct is copied.
 */
function locked<T>(py: PythonHost, fn: () => T): T {
  py.assertOpen();
  return py.withGIL(fn);
}

/**
 * The allocator of one domain: `ctx` and the four function addresses, plus the symbol each resolves to
 * (`_PyObject_Malloc`, `_PyMem_RawMalloc`, `_PyMem_DebugMalloc`, `pymem:hook.malloc`, …; null when unknown, e.g.
 * on a stripped libpython whose allocator functions are file-local).
 */
export function getAllocator(py: PythonHost, domain: Domain): AllocatorInfo {
  const d = checkDomain(domain);
  const a = locked(py, () => readAllocator(py.native, d));
  const names = {} as AllocatorNames;
  for (const f of FIELDS) names[f] = symbolName(py.native, a[f]);
  return { domain: d, ...a, names };
}

/**
 * The function-pointer fields of an allocator, checked as far as is cheap: bigints, not NULL, and inside an
 * executable mapping of this process (/proc/self/maps), so a stray number is refused instead of being jumped to.
 * Whether the code there has the right prototype and semantics cannot be known: that part stays unsafe.
 */
function checkFunctions<K extends string>(value: unknown, fields: readonly K[], what: string): Record<K, bigint> {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`${what} must be an object with ${fields.join(", ")} addresses`);
  }
  const out = {} as Record<K, bigint>;
  for (const f of fields) {
    const v = (value as Record<string, unknown>)[f];
    out[f] = checkAddress(v, `${what}.${f}`);
    if (f !== "ctx" && v === 0n) throw new RangeError(`${what}.${f} is NULL: CPython would call it`);
  }
  let executable: { start: bigint; end: bigint }[] | undefined;
  for (const f of fields) {
    if (f === "ctx") continue;
    executable ??= readMaps("self").filter((m) => m.perms[2] === "x");
    const p = out[f];
    if (!executable.some((m) => p >= m.start && p < m.end)) {
      throw new RangeError(
        `${what}.${f} (0x${p.toString(16)}) is not in executable memory of this process: CPython would jump there`,
      );
    }
  }
  return out;
}

/**
 * **Unsafe.** Replace a domain's allocator (PyMem_SetAllocator). CPython is already running, so the new allocator
 * must *wrap* the current one (forward to it, as a hook does): blocks allocated so far must still be freed by the
 * allocator that made them. Replacing it outright is only supported before start-up (see openPython's `allocator`).
 * Checked: each function pointer lies in an executable mapping (else RangeError). Not checkable: its prototype and
 * behaviour. Safe path: `traceAllocations(fn)`.
 */
export function setAllocator(py: PythonHost, domain: Domain, allocator: AllocatorFunctions): void {
  const d = checkDomain(domain);
  const a = checkFunctions(allocator, FIELDS, "allocator") as AllocatorFunctions;
  locked(py, () => writeAllocator(py.native, d, a));
}

/** The arena allocator pymalloc takes its arenas from (PyObject_GetArenaAllocator), with names. */
export function getArenaAllocator(py: PythonHost): ArenaAllocatorInfo {
  const buf = new BigUint64Array(3);
  locked(py, () => py.native.api.PyObject_GetArenaAllocator(new Uint8Array(buf.buffer)));
  const a = { ctx: buf[0]!, alloc: buf[1]!, free: buf[2]! };
  const n = (x: bigint) => symbolName(py.native, x);
  return { ...a, names: { ctx: n(a.ctx), alloc: n(a.alloc), free: n(a.free) } };
}

/**
 * **Unsafe.** Replace the arena allocator (PyObject_SetArenaAllocator): `alloc(ctx, size)` must return memory
 * aligned as mmap's, and `free(ctx, ptr, size)` must accept every arena the previous allocator handed out.
 */
export function setArenaAllocator(py: PythonHost, allocator: ArenaAllocator): void {
  const a = checkFunctions(allocator, ["ctx", "alloc", "free"] as const, "arena allocator");
  const buf = new BigUint64Array([a.ctx, a.alloc, a.free]);
  locked(py, () => py.native.api.PyObject_SetArenaAllocator(new Uint8Array(buf.buffer)));
}

/** Whether a domain's allocator is (or ends in) one of CPython's debug hooks. */
function isDebugHook(native: Native, a: AllocatorFunctions): boolean {
  // The debug hooks keep their ctx in the static _PyMem_Debug (one entry per domain); on a stripped library the
  // name is unknown, so also trust CPython's own allocator name.
  const ctxName = symbolName(native, a.ctx);
  return ctxName !== null && ctxName.startsWith("_PyMem_Debug");
}

/**
 * Install CPython's debug hooks (PyMem_SetupDebugHooks) on every domain. CPython's debug free checks a header that
 * only debug malloc writes, so once Python has allocated anything, adding the hooks makes the next free of an older
 * block a fatal error. pymem therefore accepts this call only when the hooks are already installed (then it is a
 * no-op, as in CPython); choose them at start-up instead: `openPython({ allocator: "debug" })`
 * (or "pymalloc_debug", "malloc_debug", "mimalloc_debug").
 */
export function setupDebugHooks(py: PythonHost): void {
  py.assertOpen();
  const name = py.allocatorName();
  const installed = name !== null
    ? name.endsWith("_debug")
    : locked(py, () =>
      (["raw", "mem", "obj"] as const).every((d) => isDebugHook(py.native, readAllocator(py.native, d))));
  if (!installed) {
    throw new PymemError(
      "INVALID_STATE",
      `Cannot add CPython's debug hooks to a running interpreter (allocator "${name ?? "custom"}"): blocks ` +
        "allocated without them would fail the debug checks when freed, which is fatal. Choose them at start-up: " +
        'openPython({ allocator: "debug" }) (or "pymalloc_debug", "malloc_debug")',
    );
  }
  locked(py, () => py.native.api.PyMem_SetupDebugHooks());
}

// ---- traceAllocations -----------------------------------------------------------------------------------------

/** What one domain saw during a trace: call counts, bytes requested, and a log2 size histogram. */
export type DomainTrace = HookCounts;

/** The result of `traceAllocations`: one {@link DomainTrace} per domain. */
export interface AllocationTrace {
  raw: DomainTrace;
  mem: DomainTrace;
  obj: DomainTrace;
}

interface Installed {
  domain: Domain;
  old: AllocatorFunctions;
  slot: HookSlot;
}

const ORDER: readonly Domain[] = ["raw", "mem", "obj"];

function install(py: PythonHost): Installed[] {
  const pool = hookPool(py.native);
  return locked(py, () => {
    const done: Installed[] = [];
    for (const domain of ORDER) {
      const old = readAllocator(py.native, domain);
      const slot = pool.acquire({ malloc: old.malloc, calloc: old.calloc, realloc: old.realloc, free: old.free });
      // The hook keeps the previous ctx as its own and forwards it unchanged (see SLOT in lib/machine/codegen.ts).
      writeAllocator(py.native, domain, { ctx: old.ctx, ...slot.code });
      done.push({ domain, old, slot });
    }
    return done;
  });
}

function same(a: AllocatorFunctions, ctx: bigint, f: FunctionSet): boolean {
  return a.ctx === ctx && a.malloc === f.malloc && a.calloc === f.calloc && a.realloc === f.realloc &&
    a.free === f.free;
}

/** Put back the previous allocators (LIFO); a hook someone else has wrapped since is left in place. */
function uninstall(py: PythonHost, hooks: Installed[]): AllocationTrace {
  const pool = hookPool(py.native);
  const displaced: Domain[] = [];
  if (!py.closed) {
    py.withGIL(() => {
      for (const h of [...hooks].reverse()) {
        const now = readAllocator(py.native, h.domain);
        if (same(now, h.old.ctx, h.slot.code)) {
          writeAllocator(py.native, h.domain, h.old);
          pool.release(h.slot);
        } else {
          // Another allocator was installed on top of (wrapping) the hook: removing the hook would cut that chain.
          // The hook stays installed and keeps forwarding; its slot is never reused.
          displaced.push(h.domain);
        }
      }
    });
  }
  const result = {} as AllocationTrace;
  for (const h of hooks) result[h.domain] = pool.read(h.slot);
  if (displaced.length) {
    throw new PymemError(
      "INVALID_STATE",
      `The ${displaced.join(", ")} allocator was replaced while traceAllocations() ran; its counting hook was left ` +
        "installed (it forwards every call) because removing it would break the allocator that now wraps it",
    );
  }
  return result;
}

/**
 * Run `fn` with all three domains wrapped by native counting hooks and report what each domain was asked for.
 *
 * The hooks are generated machine code, not JavaScript: they count with atomic instructions and forward to the
 * previous allocator, so calls from every thread are counted (raw-domain calls arrive without the GIL from any
 * Python or C thread, and other Python threads keep running while `fn` runs). The malloc hook does three atomic adds
 * and the histogram, free one add; their cost is measured by bench/allocator_bridge.ts (BENCHMARKS.md). Afterwards each domain's allocator is exactly the one before.
 *
 * If `fn` returns a promise, the hooks stay installed until it settles (everything Python does meanwhile, on any
 * thread, is counted) and the trace is returned as a promise. Traces nest; overlapping asynchronous traces must
 * settle in reverse order of starting, or the later one's restore finds a foreign allocator and throws
 * PymemError("INVALID_STATE") (leaving its hook installed, which is harmless).
 *
 * @example
 * ```ts
 * const t = traceAllocations(py, () => py.run("x = [float(i) for i in range(10000)]"));
 * t.obj.malloc; // ≥ 10000
 * ```
 */
export function traceAllocations(py: PythonHost, fn: () => Promise<unknown>): Promise<AllocationTrace>;
export function traceAllocations(py: PythonHost, fn: () => void): AllocationTrace;
export function traceAllocations(py: PythonHost, fn: () => unknown): AllocationTrace | Promise<AllocationTrace>;
export function traceAllocations(py: PythonHost, fn: () => unknown): AllocationTrace | Promise<AllocationTrace> {
  if (typeof fn !== "function") throw new TypeError(`traceAllocations() takes a function, got ${typeof fn}`);
  const hooks = install(py);
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    try {
      uninstall(py, hooks);
    } catch {
      // fn's own error is the one to report; the restore problem is described by INVALID_STATE next time.
    }
    throw e;
  }
  if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
    return Promise.resolve(result).then(
      () => uninstall(py, hooks),
      (e) => {
        try {
          uninstall(py, hooks);
        } catch {
          // as above: fn's rejection wins
        }
        throw e;
      },
    );
  }
  return uninstall(py, hooks);
}
