/**
 * obmalloc's geometry and where its state lives, per CPython minor version (x86-64 / aarch64 LP64, release builds),
 * built from lib/cpython's generated rows (offsetof against each release's headers); tests compare them with
 * CPython's own `_debugmallocstats` text on every run (tests/heap_test.ts), so a build that differs is caught.
 * @module
 */
import { cpython, type CPythonLayout, KNOWN_MINORS, KNOWN_RANGE } from "../cpython/versions.ts";
import { PymemError } from "../errors.ts";

/** Where a version keeps its obmalloc state. */
export type StateKind =
  /** 3.8–3.11: file-static globals in Objects/obmalloc.c (`arenas`, `maxarenas`, `usedpools`, …). */
  | "static"
  /** 3.12: `struct _obmalloc_state` embedded in `PyInterpreterState` at `interpOffset`. */
  | "embedded"
  /** 3.13+: `PyInterpreterState.obmalloc` is a pointer at `interpOffset` (main: the static `obmalloc_state_main`). */
  | "pointer";

export interface ObmallocLayout {
  minor: number;
  /** Bytes per pool (POOL_SIZE) and per arena (ARENA_SIZE). */
  poolSize: number;
  arenaSize: number;
  /** round_up(sizeof(struct pool_header), ALIGNMENT). */
  poolOverhead: number;
  /** Block sizes are multiples of ALIGNMENT; SMALL_REQUEST_THRESHOLD / ALIGNMENT size classes. */
  alignment: number;
  sizeClasses: number;
  /** Whether the version keeps a radix tree of arenas (3.10+). */
  radixTree: boolean;
  state: StateKind;
  /** Offset in PyInterpreterState of the embedded state (3.12) or of the pointer to it (3.13+). */
  interpOffset?: number;
  /** Offset in PyInterpreterState of `feature_flags` (3.12+; bit 0x20 = use main's obmalloc). */
  featureFlagsOffset?: number;
  /** Whether `raw_allocated_blocks` exists (3.9+): blocks >512 bytes that pymalloc passed to the raw allocator. */
  rawAllocatedBlocks: boolean;
  /**
   * Offsets inside `struct _obmalloc_state` (3.12+). They follow from the arena size: `nfp2lasta` has
   * MAX_POOLS_IN_ARENA + 1 entries, so a build with 2 MiB arenas (3.15 `--with-pymalloc-hugepages`) moves every field
   * after it. See {@link stateOffsets} and {@link withArenaSize}.
   */
  offsets: StateOffsets;
  /** How `arenaSize` was established: the version's default, or read from the running heap (lib/arenasize.ts). */
  arenaSizeHow: string;
}

/** Offsets inside `struct _obmalloc_state` for one geometry (the generated row's, minus its size). */
export type StateOffsets = Omit<NonNullable<CPythonLayout["state"]>, "size">;

/** `struct _obmalloc_state` of the default geometry: the same in every version that has one (3.12+). */
const BASE_STATE = KNOWN_MINORS.map((m) => cpython(m).layout.state).find((s) => s !== undefined)!;

/**
 * `struct _obmalloc_state` offsets for arenas of `maxPoolsInArena` pools (64 by default, 128 with 2 MiB arenas): the
 * generated offsets of the default geometry, with every field after `nfp2lasta[MAX_POOLS_IN_ARENA + 1]` moved.
 */
export function stateOffsets(maxPoolsInArena: number, base = BASE_STATE): StateOffsets {
  const moved = 8 * (maxPoolsInArena + 1) - (base.narenasCurrentlyAllocated - base.nfp2lasta);
  // Spelled out field by field: a field added to the generated row must be placed here (moved or not).
  return {
    usedpools: base.usedpools,
    arenas: base.arenas,
    maxarenas: base.maxarenas,
    unusedArenaObjects: base.unusedArenaObjects,
    usableArenas: base.usableArenas,
    nfp2lasta: base.nfp2lasta,
    narenasCurrentlyAllocated: base.narenasCurrentlyAllocated + moved,
    ntimesArenaAllocated: base.ntimesArenaAllocated + moved,
    narenasHighwater: base.narenasHighwater + moved,
    rawAllocatedBlocks: base.rawAllocatedBlocks + moved,
    arenaMapRoot: base.arenaMapRoot + moved,
  };
}

/**
 * Offsets inside `struct _obmalloc_state` (3.12+) of the default geometry (1 MiB arenas of 16 KiB pools); the static
 * globals of 3.8–3.11 have the same roles. Code that reads a state uses `layout.offsets`, which follows the arena
 * size of the library at hand.
 */
export const STATE: Readonly<StateOffsets & { size: number }> = { ...stateOffsets(64), size: BASE_STATE.size };

/** `struct pool_header` (48 bytes, every version: the generated rows agree, tests/cpython_layouts_test.ts). */
export const POOL = cpython(KNOWN_MINORS[0]).layout.pool;

/** `struct arena_object` (48 bytes, every version). */
export const ARENA = cpython(KNOWN_MINORS[0]).layout.arena;

/** Py_RTFLAGS_USE_MAIN_OBMALLOC in PyInterpreterState.feature_flags. */
export const USE_MAIN_OBMALLOC = BigInt(
  KNOWN_MINORS.map((m) => cpython(m).layout.interpreterConfig).find((c) => c !== undefined)!.useMainObmallocFlag,
);

/** The obmalloc row of a generated layout: everything the allocator's geometry needs. */
function obmallocLayout(minor: number): ObmallocLayout {
  const { layout: l, caps } = cpython(minor);
  const o = l.obmalloc;
  const base: ObmallocLayout = {
    minor,
    poolSize: o.poolSize,
    arenaSize: o.arenaSize,
    poolOverhead: o.poolOverhead,
    alignment: o.alignment,
    sizeClasses: o.sizeClasses,
    radixTree: o.radixTree === 1,
    state: caps.obmallocState,
    rawAllocatedBlocks: o.rawAllocatedBlocks === 1,
    offsets: stateOffsets(o.arenaSize / o.poolSize, l.state),
    arenaSizeHow: "the version's default",
  };
  // 3.15 may be built with 2 MiB arenas (PYMALLOC_USE_HUGEPAGES): the arena size is read from the heap at hand.
  return l.interp ? { ...base, interpOffset: l.interp.obmalloc, featureFlagsOffset: l.interp.featureFlags } : base;
}

const LAYOUTS: Record<number, ObmallocLayout> = Object.fromEntries(KNOWN_MINORS.map((m) => [m, obmallocLayout(m)]));

export { KNOWN_MINORS };

/** The layout of a CPython 3.minor, or a PymemError naming the version when pymem has none. */
export function layoutFor(minor: number, library: string): ObmallocLayout {
  const l = LAYOUTS[minor];
  if (!l) {
    throw new PymemError(
      "UNSUPPORTED",
      `pymem has no obmalloc layout for CPython 3.${minor} (${library}); known: ${KNOWN_RANGE}`,
    );
  }
  return l;
}

/**
 * The layout with another arena size (pools stay the same size): MAX_POOLS_IN_ARENA and every `_obmalloc_state`
 * field after `nfp2lasta` follow. `how` says where the size came from.
 */
export function withArenaSize(layout: ObmallocLayout, arenaSize: number, how: string): ObmallocLayout {
  if (!Number.isSafeInteger(arenaSize) || arenaSize < layout.poolSize || (arenaSize & (arenaSize - 1)) !== 0) {
    throw new RangeError(`arena size ${arenaSize} is not a power of two of at least one pool (${layout.poolSize})`);
  }
  return { ...layout, arenaSize, offsets: stateOffsets(arenaSize / layout.poolSize), arenaSizeHow: how };
}

/**
 * An arena's carved pools: the first pool (an arena from malloc is not pool-aligned; the slack before the first pool
 * holds none) and how many pools lie below `pool_address`, the next one never carved. The one count of them for the
 * walk in-process and by attach.
 */
export function carvedPools(address: number, poolAddress: number, poolSize: number): { first: number; carved: number } {
  const first = Math.ceil(address / poolSize) * poolSize;
  return { first, carved: Math.max(0, Math.floor((poolAddress - first) / poolSize)) };
}

/** Block size of size class `i`. */
export function blockSize(szidx: number, layout: ObmallocLayout): number {
  return (szidx + 1) * layout.alignment;
}

/** Blocks per pool of size class `i` (NUMBLOCKS). */
export function blocksPerPool(szidx: number, layout: ObmallocLayout): number {
  return Math.floor((layout.poolSize - layout.poolOverhead) / blockSize(szidx, layout));
}

/**
 * Does the used pool header at u32 word `w` of `words` agree with its own geometry: its class exists and it holds no
 * more blocks than such a pool can (the check the native pool pass makes too, lib/obmalloc/pool-pass.x86_64.s)?
 * With `arenaIndex`, also with its arena and its carving: `arenaindex`, `maxnextoffset` and `nextoffset` (attach,
 * whose reads of a running target can be torn). An empty header (count 0) is sane: it is not walked.
 */
export function poolHeaderSane(words: Uint32Array, w: number, layout: ObmallocLayout, arenaIndex?: number): boolean {
  const count = words[w + POOL.count / 4];
  if (count === 0) return true;
  const sz = words[w + POOL.szidx / 4];
  if (sz >= layout.sizeClasses || count > blocksPerPool(sz, layout)) return false;
  if (arenaIndex === undefined) return true;
  const size = blockSize(sz, layout);
  if (words[w + POOL.arenaindex / 4] !== arenaIndex) return false;
  if (words[w + POOL.maxnextoffset / 4] !== layout.poolSize - size) return false;
  const next = words[w + POOL.nextoffset / 4];
  return next >= layout.poolOverhead + size && next <= layout.poolSize && count <= (next - layout.poolOverhead) / size;
}
