/**
 * The generated functions pymem installs into CPython's allocator tables: ctx-dropping bridges to a library's
 * malloc family, counting hooks (a pool of slots, retired rather than unmapped), and native call loops for
 * benchmarks. The bytes come from lib/machine/codegen.ts; the pages from lib/machine/exec-pages.ts.
 * @module
 */
import { generated } from "../../ffi/symbols.ts";
import type { Native } from "../core/native.ts";
import {
  type Arch,
  BRIDGE_STRIDE,
  bridgeCode,
  callLoopCode,
  type FunctionSet,
  HISTOGRAM_BUCKETS,
  hookCode,
  type HookCounts,
  hookStride,
  hostArch,
  SLOT,
  SLOTS_PER_MAPPING,
} from "../machine/codegen.ts";
import { labelGenerated, mapCode, mapData } from "../machine/exec-pages.ts";

/**
 * Permanent ctx-dropping bridges to `target` (see {@link bridgeCode}). `names` labels them for getAllocator().
 * Bridges are cheap (128 bytes) and never freed.
 */
export function makeBridges(
  native: Native,
  target: FunctionSet,
  names?: Partial<Record<keyof FunctionSet, string>>,
): FunctionSet {
  const arch = hostArch();
  const base = mapCode(native, bridgeCode(arch, target));
  const out: FunctionSet = {
    malloc: base,
    calloc: base + BigInt(BRIDGE_STRIDE),
    realloc: base + BigInt(2 * BRIDGE_STRIDE),
    free: base + BigInt(3 * BRIDGE_STRIDE),
  };
  for (const k of ["malloc", "calloc", "realloc", "free"] as const) {
    labelGenerated(out[k], `pymem:bridge→${names?.[k] ?? `0x${target[k].toString(16)}`}`);
  }
  return out;
}

/** A native call loop (see {@link callLoopCode}): `(alloc, free, ctx, n, size) → void`. Never freed. */
export function makeCallLoop(
  native: Native,
  kind: "ctx" | "plain",
): (alloc: bigint, free: bigint, ctx: bigint, n: number, size: number) => void {
  const address = mapCode(native, callLoopCode(hostArch(), kind));
  return native.fn(address, generated.callLoop);
}

/** One counting hook set and its data slot. */
export interface HookSlot {
  /** Address of the data slot (see {@link SLOT}). */
  readonly data: bigint;
  /** The hook functions, to install with the previous allocator's ctx. */
  readonly code: FunctionSet;
  /** The functions the hooks forward to. */
  readonly old: FunctionSet;
}

function sameSet(a: FunctionSet, b: FunctionSet): boolean {
  return a.malloc === b.malloc && a.calloc === b.calloc && a.realloc === b.realloc && a.free === b.free;
}

/**
 * Hook slots of one process. A slot is handed out with its counters zeroed and its forwarding targets set. After
 * use it is retired, not unmapped, and reused only for the *same* forwarding targets: a thread that was still inside
 * the old hook when it was uninstalled keeps forwarding to the right allocator, and at worst adds a stray count.
 */
export class HookPool {
  readonly #native: Native;
  readonly #arch: Arch;
  readonly #fresh: HookSlot[] = [];
  readonly #retired: HookSlot[] = [];

  constructor(native: Native) {
    this.#native = native;
    this.#arch = hostArch();
  }

  /** A slot forwarding to `old`, counters zeroed. */
  acquire(old: FunctionSet): HookSlot {
    const i = this.#retired.findIndex((s) => sameSet(s.old, old));
    let slot: HookSlot;
    if (i >= 0) {
      slot = this.#retired.splice(i, 1)[0] as HookSlot;
    } else {
      if (this.#fresh.length === 0) this.#grow();
      const blank = this.#fresh.pop() as HookSlot;
      slot = { data: blank.data, code: blank.code, old: { ...old } };
      const v = this.#native.dataView(slot.data, 32);
      v.setBigUint64(SLOT.oldMalloc, old.malloc, true);
      v.setBigUint64(SLOT.oldCalloc, old.calloc, true);
      v.setBigUint64(SLOT.oldRealloc, old.realloc, true);
      v.setBigUint64(SLOT.oldFree, old.free, true);
    }
    this.#native.bytes(slot.data + BigInt(SLOT.nMalloc), SLOT.size - SLOT.nMalloc).fill(0);
    return slot;
  }

  /** Give a slot back once its hooks are no longer installed. */
  release(slot: HookSlot): void {
    this.#retired.push(slot);
  }

  /** The slot's counters now. Counts by other threads land atomically; this read is a snapshot. */
  read(slot: HookSlot): HookCounts {
    const v = this.#native.dataView(slot.data, SLOT.size);
    const n = (off: number) => Number(v.getBigUint64(off, true));
    const histogram: number[] = [];
    for (let k = 0; k < HISTOGRAM_BUCKETS; k++) histogram.push(n(SLOT.histogram + 8 * k));
    return {
      malloc: n(SLOT.nMalloc),
      calloc: n(SLOT.nCalloc),
      realloc: n(SLOT.nRealloc),
      free: n(SLOT.nFree),
      bytes: n(SLOT.bytes),
      histogram,
    };
  }

  #grow(): void {
    const stride = BigInt(hookStride(this.#arch));
    const data = mapData(this.#native, SLOTS_PER_MAPPING * SLOT.size);
    const code = new Uint8Array(SLOTS_PER_MAPPING * 4 * Number(stride));
    for (let i = 0; i < SLOTS_PER_MAPPING; i++) {
      code.set(hookCode(this.#arch, data + BigInt(i * SLOT.size)), i * 4 * Number(stride));
    }
    const base = mapCode(this.#native, code);
    for (let i = SLOTS_PER_MAPPING - 1; i >= 0; i--) {
      const c = base + BigInt(i) * 4n * stride;
      const set = { malloc: c, calloc: c + stride, realloc: c + 2n * stride, free: c + 3n * stride };
      for (const k of ["malloc", "calloc", "realloc", "free"] as const) labelGenerated(set[k], `pymem:hook.${k}`);
      this.#fresh.push({ data: data + BigInt(i * SLOT.size), code: set, old: set });
    }
  }
}

const pools = new WeakMap<Native, HookPool>();

/** The hook pool of a loaded library (one per process in practice). */
export function hookPool(native: Native): HookPool {
  let p = pools.get(native);
  if (!p) pools.set(native, p = new HookPool(native));
  return p;
}
