/**
 * The Rust `GlobalAlloc` analogue over CPython's allocators, done properly: every `Layout.align` that is a power of
 * two is honoured (PyMem itself guarantees 16), a failed allocation throws instead of being written through, zero
 * sizes and overflow follow Rust's rules, and blocks can be handed out as buffers that cannot outlive their memory.
 *
 * Rules, as implemented here:
 * - `layout = { size, align }`: `size` a whole number 0 … 2^53−1, `align` a power of two (TypeError for a
 *   non-number, RangeError otherwise). `size + align + 8` must not exceed 2^53−1 (RangeError: overflow).
 * - Alignment: a block with `align ≤ 16` and `align ≤ size` comes straight from the domain's malloc (its natural
 *   alignment covers it, as C requires for any object of that size); anything else is over-allocated by
 *   `align + 8` bytes, the address is rounded up, and the domain's own pointer is stored in the 8 bytes just
 *   before the aligned address. If an allocator returns less alignment than expected (mimalloc's 24-byte bins are
 *   8-aligned), the block is transparently redone the over-allocated way.
 * - Zero sizes: Rust's `GlobalAlloc` forbids them and its `Allocator` returns `NonNull::dangling()`. pymem returns
 *   the dangling, aligned, non-null address `align` (nothing is allocated); `dealloc(align, { size: 0, align })` is
 *   a no-op, `realloc` from size 0 allocates, `realloc` to size 0 frees and returns the dangling address.
 * - Every live block is recorded (address → layout, per interpreter and domain), so a double free, a free of
 *   something this allocator did not hand out, or a free with a different layout is refused before anything is
 *   freed (PymemError("INVALID_STATE") / RangeError) — Rust calls those undefined behaviour.
 * - `raw` needs no GIL; `mem` and `obj` take it around each call unless the caller already holds it (withGIL).
 * @module
 */
import { checkAddress, checkSize, MAX_SIZE } from "../checks.ts";
import { checkDomain, type Domain } from "./domain-allocators.ts";
import { PymemError } from "../errors.ts";
import type { PythonHost } from "../core/host.ts";
import { hostOf, type PythonHandle } from "../obmalloc/host.ts";
import { checkViewLength } from "../core/native.ts";

/** A Rust-style memory layout: `size` bytes aligned to `align` (a power of two). */
export interface Layout {
  size: number;
  align: number;
}

/** The alignment every PyMem domain guarantees on x86-64 and aarch64 (pymalloc's ALIGNMENT, glibc's malloc). */
export const MIN_ALIGN = 16;
/** Bytes kept before an over-aligned block: the pointer the domain returned. */
const HEADER = 8;

/** Validate a layout (TypeError / RangeError), before anything native is called. */
export function checkLayout(layout: unknown): Layout {
  if (typeof layout !== "object" || layout === null) {
    throw new TypeError(`layout must be an object { size, align }, got ${layout === null ? "null" : typeof layout}`);
  }
  const { size, align } = layout as { size?: unknown; align?: unknown };
  checkSize(size, "layout.size");
  if (typeof align !== "number") {
    throw new TypeError(`layout.align must be a number, got ${align === null ? "null" : typeof align}`);
  }
  // Exactly, in integers: Math.log2 rounds, and took 2^49 + 1 for a power of two.
  if (!Number.isSafeInteger(align) || align < 1 || (BigInt(align) & BigInt(align - 1)) !== 0n) {
    throw new RangeError(`layout.align must be a power of two, got ${align}`);
  }
  if ((size as number) + align + HEADER > MAX_SIZE) {
    throw new RangeError(`layout { size: ${size}, align: ${align} } overflows: size + align must stay below 2^53`);
  }
  return { size: size as number, align };
}

/** One live block: its layout, and the pointer the domain returned (≠ address when over-aligned). */
interface Block {
  size: number;
  align: number;
  raw: bigint;
  /** Unique per allocation, so a finalizer never frees a later block that reused the address. */
  id: number;
  /** Set when the block was handed out as a buffer: only the buffer (or its finalizer) may free it. */
  buffer?: { wrapper: WeakRef<PyMemBuffer>; memory: WeakRef<ArrayBuffer> };
}

let nextId = 1;

/** @internal Per interpreter and domain: the C functions and the live blocks. */
export interface DomainState {
  py: PythonHost;
  domain: Domain;
  malloc: (n: number) => bigint;
  calloc: (n: number, s: number) => bigint;
  realloc: (p: bigint, n: number) => bigint;
  free: (p: bigint) => void;
  live: Map<bigint, Block>;
  /** Run `fn` where this domain's C functions may be called (GIL, and the owning interpreter's thread state). */
  enter: <T>(fn: () => T) => T;
  /** True once the interpreter the blocks came from is gone: nothing may be freed into it any more. */
  gone: () => boolean;
}

/**
 * @internal The interpreter a GlobalAllocator allocates from, when it is not the one current on the JS thread (a
 * sub-interpreter): `enter` makes its thread state current around each call, `closed` says when it has ended.
 */
export interface AllocatorScope {
  key: bigint;
  enter: <T>(fn: () => T) => T;
  closed: () => boolean;
}

const states = new WeakMap<PythonHost, Map<string, DomainState>>();

function stateFor(py: PythonHost, domain: Domain, scope?: AllocatorScope): DomainState {
  let byDomain = states.get(py);
  if (!byDomain) {
    states.set(py, byDomain = new Map());
    // Buffers must not outlive the interpreter: free and detach them just before it is finalized.
    py.onClose(() => {
      for (const s of byDomain!.values()) releaseBuffersOnClose(s);
    });
  }
  const key = scope ? `${domain}@${scope.key}` : domain;
  let s = byDomain.get(key);
  if (!s) {
    const api = py.native.api;
    const fns = {
      raw: [api.PyMem_RawMalloc, api.PyMem_RawCalloc, api.PyMem_RawRealloc, api.PyMem_RawFree] as const,
      mem: [api.PyMem_Malloc, api.PyMem_Calloc, api.PyMem_Realloc, api.PyMem_Free] as const,
      obj: [api.PyObject_Malloc, api.PyObject_Calloc, api.PyObject_Realloc, api.PyObject_Free] as const,
    }[domain];
    // The raw domain needs no GIL and serves every interpreter; mem/obj take the GIL (and the scope's thread state).
    const enter = domain === "raw"
      ? <T>(fn: () => T): T => fn()
      : scope
      ? scope.enter
      : <T>(fn: () => T): T => (py.holdsGil ? fn() : py.withGIL(fn));
    const gone = scope ? () => py.closed || scope.closed() : () => py.closed;
    s = { py, domain, malloc: fns[0], calloc: fns[1], realloc: fns[2], free: fns[3], live: new Map(), enter, gone };
    byDomain.set(key, s);
  }
  return s;
}

function failed(s: DomainState, what: string, layout: Layout): PymemError {
  return new PymemError(
    "ALLOCATION_FAILED",
    `${s.domain}: ${what} of ${layout.size} bytes aligned to ${layout.align} failed (out of memory)`,
  );
}

function hex(p: bigint): string {
  return `0x${p.toString(16)}`;
}

/** Whether the domain's own malloc can serve `layout` directly (before checking what it returned). */
function direct(layout: Layout): boolean {
  return layout.align <= MIN_ALIGN && layout.align <= layout.size;
}

/**
 * Allocate (GIL held or raw): directly when `direct(layout)` and the result is aligned, else over-allocated.
 * Returns 0n on failure; never writes through a NULL.
 */
function allocate(s: DomainState, layout: Layout, zeroed: boolean): bigint {
  const { size, align } = layout;
  const mask = BigInt(align - 1);
  if (direct(layout)) {
    const p = zeroed ? s.calloc(1, size) : s.malloc(size);
    if (p === 0n) return 0n;
    if ((p & mask) === 0n) {
      s.live.set(p, { size, align, raw: p, id: nextId++ });
      return p;
    }
    s.free(p); // less aligned than C promises: redo it the over-allocated way
  }
  const total = size + align + HEADER;
  const raw = zeroed ? s.calloc(1, total) : s.malloc(total);
  if (raw === 0n) return 0n;
  const aligned = (raw + BigInt(HEADER) + mask) & ~mask;
  s.py.native.setU64(aligned - BigInt(HEADER), raw);
  s.live.set(aligned, { size, align, raw, id: nextId++ });
  return aligned;
}

/** The recorded block at `ptr`, checked against `layout`; throws before anything is freed. */
function lookup(s: DomainState, ptr: bigint, layout: Layout, what: string): Block {
  const b = s.live.get(ptr);
  if (!b) {
    throw new PymemError(
      "INVALID_STATE",
      `${what}(${hex(ptr)}): not a live block of this ${s.domain} allocator (already freed, or never allocated here)`,
    );
  }
  if (b.size !== layout.size || b.align !== layout.align) {
    throw new RangeError(
      `${what}(${hex(ptr)}): layout { size: ${layout.size}, align: ${layout.align} } differs from the allocation's ` +
        `{ size: ${b.size}, align: ${b.align} }`,
    );
  }
  return b;
}

function release(s: DomainState, ptr: bigint, b: Block): void {
  s.live.delete(ptr);
  s.free(b.raw);
}

function releaseBuffersOnClose(s: DomainState): void {
  const run = () => {
    for (const [ptr, b] of [...s.live]) {
      if (!b.buffer) continue;
      const wrapper = b.buffer.wrapper.deref();
      if (wrapper) wrapper._detach();
      else detach(b.buffer.memory.deref());
      release(s, ptr, b);
    }
  };
  if (!s.gone()) s.enter(run);
}

/**
 * @internal Free every block a scope's allocators handed out (buffers detached first) and forget them: called by a
 * sub-interpreter that is about to end, with its thread state current, so that nothing is later freed into a heap
 * that no longer exists.
 */
export function releaseScope(py: PythonHost, key: bigint): void {
  for (const [k, s] of states.get(py) ?? []) {
    if (!k.endsWith(`@${key}`)) continue;
    for (const [ptr, b] of [...s.live]) {
      const wrapper = b.buffer?.wrapper.deref();
      if (wrapper) wrapper._detach();
      else if (b.buffer) detach(b.buffer.memory.deref());
      release(s, ptr, b);
    }
  }
}

/** Copy `n` bytes between native blocks through views. */
function copy(s: DomainState, from: bigint, to: bigint, n: number): void {
  if (n > 0) s.py.native.bytes(to, n).set(s.py.native.bytes(from, n));
}

/**
 * Rust's `GlobalAlloc` over one CPython memory domain (default `mem`, like the Rust code it mirrors): alloc,
 * dealloc, allocZeroed, realloc with layouts, plus `allocBuffer` for a buffer over a new block.
 *
 * @example
 * ```ts
 * const a = new GlobalAllocator(py);                 // PyMem_* (GIL taken per call)
 * const p = a.alloc({ size: 100, align: 4096 });     // p % 4096n === 0n
 * const q = a.realloc(p, { size: 100, align: 4096 }, 10_000);
 * a.dealloc(q, { size: 10_000, align: 4096 });
 * ```
 */
export class GlobalAllocator {
  /** The domain every block comes from. */
  readonly domain: Domain;
  readonly #py: PythonHost;
  readonly #state: DomainState;

  /** `scope` is internal: the sub-interpreter to allocate from (default: the interpreter current on this thread). */
  constructor(handle: PythonHandle, domain: Domain = "mem", scope?: AllocatorScope) {
    const py = hostOf(handle, "new GlobalAllocator");
    this.domain = checkDomain(domain);
    py.assertOpen();
    this.#py = py;
    this.#state = stateFor(py, this.domain, scope);
  }

  /** Blocks this domain's GlobalAllocators have handed out and not yet freed (any instance). */
  get liveBlocks(): number {
    return this.#state.live.size;
  }

  /** Run `fn` holding what the domain needs: nothing for raw, the GIL for mem/obj. */
  #enter<T>(fn: () => T): T {
    this.#py.assertOpen();
    return this.#state.enter(fn);
  }

  /**
   * A block of `layout.size` bytes aligned to `layout.align`. Size 0 gives the dangling address `align` (nothing
   * allocated). Throws PymemError("ALLOCATION_FAILED") when the domain is out of memory.
   */
  alloc(layout: Layout): bigint {
    const l = checkLayout(layout);
    if (l.size === 0) return BigInt(l.align);
    const p = this.#enter(() => allocate(this.#state, l, false));
    if (p === 0n) throw failed(this.#state, "alloc", l);
    return p;
  }

  /** As `alloc`, with the block's bytes zeroed (by the domain's calloc; nothing is written on failure). */
  allocZeroed(layout: Layout): bigint {
    const l = checkLayout(layout);
    if (l.size === 0) return BigInt(l.align);
    const p = this.#enter(() => allocate(this.#state, l, true));
    if (p === 0n) throw failed(this.#state, "allocZeroed", l);
    return p;
  }

  /**
   * Free a block from `alloc`/`allocZeroed`/`realloc`, with the layout it was allocated with. A double free or a
   * foreign pointer is refused (PymemError("INVALID_STATE")), a different layout too (RangeError); nothing is freed
   * then. The dangling address of a size-0 layout is accepted and ignored.
   */
  dealloc(ptr: bigint, layout: Layout): void {
    checkAddress(ptr, "ptr");
    const l = checkLayout(layout);
    if (l.size === 0) {
      if (ptr !== BigInt(l.align)) {
        throw new RangeError(`dealloc(${hex(ptr)}, size 0): a size-0 block is the dangling address ${l.align}`);
      }
      return;
    }
    const b = lookup(this.#state, ptr, l, "dealloc");
    if (b.buffer) {
      throw new PymemError("INVALID_STATE", `dealloc(${hex(ptr)}): the block belongs to a buffer; free the buffer`);
    }
    this.#enter(() => release(this.#state, ptr, b));
  }

  /**
   * Resize a block to `newSize` bytes with the same alignment; the content up to the smaller size is kept. On
   * failure the old block is untouched and still yours (PymemError("ALLOCATION_FAILED")). From size 0 it
   * allocates; to size 0 it frees and returns the dangling address.
   */
  realloc(ptr: bigint, layout: Layout, newSize: number): bigint {
    checkAddress(ptr, "ptr");
    const l = checkLayout(layout);
    const n = checkSize(newSize, "newSize");
    const next = checkLayout({ size: n, align: l.align });
    if (l.size === 0) {
      this.dealloc(ptr, l); // checks the dangling address
      return this.alloc(next);
    }
    const s = this.#state;
    const b = lookup(s, ptr, l, "realloc");
    if (b.buffer) {
      throw new PymemError("INVALID_STATE", `realloc(${hex(ptr)}): the block belongs to a buffer`);
    }
    if (n === 0) {
      this.#enter(() => release(s, ptr, b));
      return BigInt(l.align);
    }
    const p = this.#enter(() => {
      const mask = BigInt(l.align - 1);
      // In place only where no allocator can hand back less alignment (every malloc aligns to 8); a 16-aligned
      // block is moved by hand below, so that a failure leaves it intact.
      if (b.raw === ptr && direct(next) && l.align <= 8) {
        const q = s.realloc(ptr, n);
        if (q === 0n) return 0n; // the old block is intact
        s.live.delete(ptr);
        if ((q & mask) === 0n) {
          s.live.set(q, { size: n, align: l.align, raw: q, id: nextId++ });
          return q;
        }
        // Not expected from any real allocator: move the bytes into an aligned block.
        const r = allocate(s, next, false);
        if (r !== 0n) copy(s, q, r, n);
        s.free(q);
        return r === 0n ? -1n : r;
      }
      // Over-aligned (or becoming so): a fresh aligned block, copy, free the old one (as Rust's default realloc).
      const r = allocate(s, next, false);
      if (r === 0n) return 0n;
      copy(s, ptr, r, Math.min(l.size, n));
      release(s, ptr, b);
      return r;
    });
    if (p === 0n) throw failed(s, "realloc", next);
    if (p === -1n) {
      throw new PymemError(
        "ALLOCATION_FAILED",
        `${s.domain}: realloc to ${n} bytes aligned to ${l.align}: the block moved to a misaligned address and no ` +
          "aligned block could be allocated; the block was freed",
      );
    }
    return p;
  }

  /**
   * A new block wrapped as a {@link PyMemBuffer}: its `bytes` view, freed by `free()` / `using`, or by a
   * FinalizationRegistry once neither the buffer nor any view of it is reachable.
   */
  allocBuffer(layout: Layout): PyMemBuffer {
    const l = checkLayout(layout);
    checkViewLength(l.size, "a buffer"); // before allocating: a block nothing could view would leak
    const address = this.alloc(l);
    const s = this.#state;
    const b = s.live.get(address);
    const buf = new PyMemBuffer(s, address, l, b?.id ?? 0);
    if (b) b.buffer = { wrapper: new WeakRef(buf), memory: new WeakRef(buf.bytes.buffer as ArrayBuffer) };
    return buf;
  }
}

/** What the finalizer needs to free a forgotten buffer; must not reference the buffer or its memory. */
interface Held {
  state: DomainState;
  address: bigint;
  id: number;
}

// The backstop: a buffer whose views are all unreachable is freed here (on the JS thread, GIL taken for mem/obj).
const finalizer = new FinalizationRegistry<Held>(({ state, address, id }) => {
  const b = state.live.get(address);
  if (!b || b.id !== id || state.gone()) return;
  state.live.delete(address);
  state.enter(() => state.free(b.raw));
});

// ArrayBuffer.prototype.transfer (Bun, Deno, Node ≥ 21) detaches a buffer, external ones included: every view of
// it then has length 0. Node 20 lacks it (and structuredClone/postMessage copy external buffers instead of
// detaching them), so there the `bytes` getter is the guard.
const canDetach = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === "function";

/** Detach an ArrayBuffer where the runtime can (every view of it then has length 0). */
function detach(memory: ArrayBuffer | undefined): void {
  if (memory && canDetach && memory.byteLength > 0) {
    (memory as unknown as { transfer(n: number): ArrayBuffer }).transfer(0);
  }
}

/**
 * A block of Python memory with a Uint8Array view. Dispose with `free()` or `using`; as a backstop, the block is
 * freed when the buffer and every view of it have been garbage-collected.
 *
 * After `free()` the memory cannot be reached through the buffer: `bytes` and `address` throw PymemError, and where
 * the runtime can detach an ArrayBuffer (Bun, Deno, Node ≥ 21) every view taken earlier has length 0. On Node 20
 * views taken earlier are not detached: do not keep them past `free()`.
 */
export class PyMemBuffer {
  /** Bytes in the block. */
  readonly size: number;
  /** Alignment of the block's address. */
  readonly align: number;
  /** The domain that owns the memory. */
  readonly domain: Domain;
  #state: DomainState | null;
  #address: bigint;
  #bytes: Uint8Array | null;

  /** @internal Created by GlobalAllocator.allocBuffer() and buffer(). */
  constructor(state: DomainState, address: bigint, layout: Layout, id: number) {
    this.#state = state;
    this.#address = address;
    this.size = layout.size;
    this.align = layout.align;
    this.domain = state.domain;
    this.#bytes = state.py.native.bytes(address, layout.size);
    // The target is the ArrayBuffer, not this wrapper: a view kept after the wrapper is dropped keeps it alive.
    if (layout.size > 0) finalizer.register(this.#bytes.buffer, { state, address, id }, this);
  }

  /** True once freed (explicitly, by dispose, or because the interpreter closed). */
  get freed(): boolean {
    return this.#state === null;
  }

  /** The block's bytes (the same view every time). Throws PymemError("INVALID_STATE") after free. */
  get bytes(): Uint8Array {
    if (this.#bytes === null) throw this.#gone("bytes");
    return this.#bytes;
  }

  /** The block's address. Throws after free. */
  get address(): bigint {
    if (this.#state === null) throw this.#gone("address");
    return this.#address;
  }

  /** Free the block. A second free throws PymemError("INVALID_STATE") and frees nothing. */
  free(): void {
    const s = this.#state;
    if (s === null) throw this.#gone("free");
    const b = s.live.get(this.#address);
    this._detach();
    finalizer.unregister(this);
    if (this.size === 0 || !b) return;
    s.live.delete(this.#address);
    s.enter(() => s.free(b.raw));
  }

  /** `using` support: frees the block unless already freed (dispose is idempotent, free() is not). */
  [Symbol.dispose](): void {
    if (this.#state !== null) this.free();
  }

  /** @internal Cut every path to the memory (the caller frees it). */
  _detach(): void {
    const bytes = this.#bytes;
    this.#bytes = null;
    this.#state = null;
    detach(bytes?.buffer as ArrayBuffer | undefined);
  }

  #gone(what: string): PymemError {
    return new PymemError(
      "INVALID_STATE",
      `PyMemBuffer.${what}: the ${this.size}-byte ${this.domain} buffer was freed`,
    );
  }
}

const defaults = new WeakMap<PythonHost, Map<Domain, GlobalAllocator>>();

/**
 * `n` bytes of a domain's memory as a {@link PyMemBuffer} (what `py.mem.buffer(n)` returns). Natural alignment of
 * the domain (16 bytes for n ≥ 16).
 */
export function buffer(py: PythonHost, domain: Domain, n: number): PyMemBuffer {
  const d = checkDomain(domain);
  checkSize(n, "n");
  checkViewLength(n, "a buffer");
  let byDomain = defaults.get(py);
  if (!byDomain) defaults.set(py, byDomain = new Map());
  let a = byDomain.get(d);
  if (!a) byDomain.set(d, a = new GlobalAllocator(py, d));
  return a.allocBuffer({ size: n, align: 1 });
}
