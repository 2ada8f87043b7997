/**
 * obmalloc's geometry and where its state lives, per CPython minor version (x86-64 / aarch64 LP64, release builds).
 * Numbers come from CPython's headers and were checked against the 3.8–3.13 libraries; tests compare them with
 * CPython's own `_debugmallocstats` text on every run (tests/heap_test.ts), so a build that differs is caught.
 * @module
 */
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

/** Offsets inside `struct _obmalloc_state` for one geometry. */
export interface StateOffsets {
  usedpools: number;
  arenas: number;
  maxarenas: number;
  unusedArenaObjects: number;
  usableArenas: number;
  nfp2lasta: number;
  narenasCurrentlyAllocated: number;
  ntimesArenaAllocated: number;
  narenasHighwater: number;
  rawAllocatedBlocks: number;
  arenaMapRoot: number;
}

/** `struct _obmalloc_state` offsets for arenas of `maxPoolsInArena` pools (64 by default, 128 with 2 MiB arenas). */
export function stateOffsets(maxPoolsInArena: number): StateOffsets {
  const after = 0x220 + 8 * (maxPoolsInArena + 1); // end of nfp2lasta[MAX_POOLS_IN_ARENA + 1]
  return {
    usedpools: 0x000,
    arenas: 0x200,
    maxarenas: 0x208,
    unusedArenaObjects: 0x210,
    usableArenas: 0x218,
    nfp2lasta: 0x220,
    narenasCurrentlyAllocated: after,
    ntimesArenaAllocated: after + 8,
    narenasHighwater: after + 16,
    rawAllocatedBlocks: after + 24,
    arenaMapRoot: after + 32,
  };
}

/**
 * Offsets inside `struct _obmalloc_state` (3.12+) of the default geometry (1 MiB arenas of 16 KiB pools); the static
 * globals of 3.8–3.11 have the same roles. Code that reads a state uses `layout.offsets`, which follows the arena
 * size of the library at hand.
 */
export const STATE = {
  usedpools: 0x000, //            poolp used[64]
  arenas: 0x200, //               struct arena_object *arenas
  maxarenas: 0x208, //            unsigned int maxarenas
  unusedArenaObjects: 0x210,
  usableArenas: 0x218,
  nfp2lasta: 0x220, //            struct arena_object *nfp2lasta[65]
  narenasCurrentlyAllocated: 0x428,
  ntimesArenaAllocated: 0x430,
  narenasHighwater: 0x438,
  rawAllocatedBlocks: 0x440,
  arenaMapRoot: 0x448,
  size: 263_248,
} as const;

/** `struct pool_header` (48 bytes, every version). */
export const POOL = {
  count: 0, //        union { block *_padding; uint count; } ref
  freeblock: 8,
  nextpool: 16,
  prevpool: 24,
  arenaindex: 32,
  szidx: 36,
  nextoffset: 40,
  maxnextoffset: 44,
  size: 48,
} as const;

/** `struct arena_object` (48 bytes, every version). */
export const ARENA = {
  address: 0,
  poolAddress: 8,
  nfreepools: 16,
  ntotalpools: 20,
  freepools: 24,
  nextarena: 32,
  prevarena: 40,
  size: 48,
} as const;

/** Py_RTFLAGS_USE_MAIN_OBMALLOC in PyInterpreterState.feature_flags. */
export const USE_MAIN_OBMALLOC = 0x20n;

const COMMON = {
  poolOverhead: 48, alignment: 16, sizeClasses: 32, offsets: stateOffsets(64), arenaSizeHow: "the version's default",
} as const;

const LAYOUTS: Record<number, ObmallocLayout> = {
  8: { minor: 8, ...COMMON, poolSize: 4096, arenaSize: 256 << 10, radixTree: false, state: "static", rawAllocatedBlocks: false },
  9: { minor: 9, ...COMMON, poolSize: 4096, arenaSize: 256 << 10, radixTree: false, state: "static", rawAllocatedBlocks: true },
  10: { minor: 10, ...COMMON, poolSize: 16384, arenaSize: 1 << 20, radixTree: true, state: "static", rawAllocatedBlocks: true },
  11: { minor: 11, ...COMMON, poolSize: 16384, arenaSize: 1 << 20, radixTree: true, state: "static", rawAllocatedBlocks: true },
  12: {
    minor: 12, ...COMMON, poolSize: 16384, arenaSize: 1 << 20, radixTree: true, state: "embedded",
    interpOffset: 0xf78, featureFlagsOffset: 0x6b0, rawAllocatedBlocks: true,
  },
  13: {
    minor: 13, ...COMMON, poolSize: 16384, arenaSize: 1 << 20, radixTree: true, state: "pointer",
    interpOffset: 0x2a30, featureFlagsOffset: 0x20f8, rawAllocatedBlocks: true,
  },
  // 3.14 and 3.15: offsetof() against Debian sid's 3.14.10 and 3.15.2 headers, checked on their libraries; validated
  // at run time like every layout (a moved field falls back to the signature scan).
  14: {
    minor: 14, ...COMMON, poolSize: 16384, arenaSize: 1 << 20, radixTree: true, state: "pointer",
    interpOffset: 0x2a98, featureFlagsOffset: 0x2128, rawAllocatedBlocks: true,
  },
  // 3.15 may be built with 2 MiB arenas (PYMALLOC_USE_HUGEPAGES): the arena size is read from the heap at hand.
  15: {
    minor: 15, ...COMMON, poolSize: 16384, arenaSize: 1 << 20, radixTree: true, state: "pointer",
    interpOffset: 0x2a80, featureFlagsOffset: 0x20f8, rawAllocatedBlocks: true,
  },
};

/** The minors pymem has a layout for, for messages ("3.8–3.15"). */
export const KNOWN_MINORS = Object.keys(LAYOUTS).map(Number).sort((a, b) => a - b);

/** The layout of a CPython 3.minor, or a PymemError naming the version when pymem has none. */
export function layoutFor(minor: number, library: string): ObmallocLayout {
  const l = LAYOUTS[minor];
  if (!l) {
    throw new PymemError(
      "UNSUPPORTED",
      `pymem has no obmalloc layout for CPython 3.${minor} (${library}); known: 3.${KNOWN_MINORS[0]}–3.${KNOWN_MINORS.at(-1)}`,
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

/** Block size of size class `i`. */
export function blockSize(szidx: number, layout: ObmallocLayout): number {
  return (szidx + 1) * layout.alignment;
}

/** Blocks per pool of size class `i` (NUMBLOCKS). */
export function blocksPerPool(szidx: number, layout: ObmallocLayout): number {
  return Math.floor((layout.poolSize - layout.poolOverhead) / blockSize(szidx, layout));
}
