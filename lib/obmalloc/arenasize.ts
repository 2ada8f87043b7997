/**
 * The arena size of the library at hand, read from its running heap rather than assumed from its version.
 *
 * CPython 3.15 can be configured with 2 MiB arenas (`--with-pymalloc-hugepages`, PYMALLOC_USE_HUGEPAGES): that
 * doubles MAX_POOLS_IN_ARENA, so `nfp2lasta` grows and every later field of `struct _obmalloc_state` moves. Nothing
 * exported says which way a library was built, but its heap does: each used `arena_object` records how many pools
 * the arena holds (`ntotalpools`: MAX_POOLS_IN_ARENA, or one less when the mapping was not pool-aligned), and the
 * state's own `narenas_currently_allocated`, which sits right after `nfp2lasta`, must then equal the number of used
 * arena slots. Both facts are checked, for the default geometry as much as for a larger one, so a state pymem cannot
 * read is refused instead of being read at the wrong offsets. Used in-process (lib/python.ts) and by attach.
 * @module
 */
import { PymemError } from "../errors.ts";
import { ARENA, type ObmallocLayout, STATE, withArenaSize } from "./layout.ts";

/** Reads that fail instead of faulting (state.ts's MemoryProbe: this process, or an attached one). */
interface MemoryProbe {
  safeRead(address: bigint, length: number): Uint8Array | null;
}

const u64 = (b: Uint8Array, o = 0): bigint => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(o, true);
const u32 = (b: Uint8Array, o = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);

/** The largest arena pymem accepts (ARENA_BITS 21 is the largest CPython configures; one more for headroom). */
const MAX_ARENA = 4 << 20;

/** What one read of the arena table says. */
interface Reading {
  used: number;
  maxTotal: number;
  /** The furthest any arena has carved pools past its base address. */
  maxSpan: number;
}

function readTable(probe: MemoryProbe, state: bigint): Reading | string {
  const vars = probe.safeRead(state + BigInt(STATE.arenas), 12);
  if (!vars) return "its arenas/maxarenas fields are unreadable";
  const arenas = u64(vars, 0);
  const maxarenas = u32(vars, 8);
  if (maxarenas === 0) return { used: 0, maxTotal: 0, maxSpan: 0 };
  if (maxarenas > 1 << 24 || arenas === 0n) return `implausible arenas=0x${arenas.toString(16)} maxarenas=${maxarenas}`;
  const table = probe.safeRead(arenas, maxarenas * ARENA.size);
  if (!table) return "its arena table is unreadable";
  let used = 0, maxTotal = 0, maxSpan = 0;
  for (let i = 0; i < maxarenas; i++) {
    const o = i * ARENA.size;
    const address = u64(table, o + ARENA.address);
    if (address === 0n) continue;
    used++;
    maxTotal = Math.max(maxTotal, u32(table, o + ARENA.ntotalpools));
    const span = u64(table, o + ARENA.poolAddress) - address;
    maxSpan = Math.max(maxSpan, span < 0n || span > BigInt(MAX_ARENA) ? Infinity : Number(span));
  }
  return { used, maxTotal, maxSpan };
}

/**
 * The layout of the state at `state` with its arena size read from the heap. `exact`: the state cannot change while
 * it is read (this process, GIL held); otherwise (another process) a disagreement is read again a few times first.
 * Returns `layout` unchanged, marked as unchecked, when no arena is in use; throws PymemError("UNSUPPORTED") when
 * the heap fits no geometry pymem can read.
 */
export function detectArenaSize(
  probe: MemoryProbe,
  state: bigint,
  layout: ObmallocLayout,
  exact: boolean,
  what: string,
): ObmallocLayout {
  let last = "";
  for (let attempt = 0; attempt < (exact ? 1 : 4); attempt++) {
    const r = readTable(probe, state);
    if (typeof r === "string") {
      last = r;
      continue;
    }
    if (r.used === 0) return { ...layout, arenaSizeHow: "the version's default (no arena in use to check it against)" };
    // ntotalpools is MAX_POOLS_IN_ARENA, or one less for an arena that lost a pool to alignment: the arena size is the
    // power of two that holds that many pools.
    let arenaSize = layout.poolSize;
    while (arenaSize < r.maxTotal * layout.poolSize) arenaSize *= 2;
    if (r.maxTotal === 0 || arenaSize > MAX_ARENA || r.maxSpan > arenaSize) {
      last =
        `its arenas hold up to ${r.maxTotal} pools of ${layout.poolSize} bytes and span up to ${r.maxSpan} bytes, ` +
        "which fits no arena size pymem knows";
      continue;
    }
    const candidate = arenaSize === layout.arenaSize
      ? layout
      : withArenaSize(layout, arenaSize, `read from the heap: ${r.maxTotal} pools per arena`);
    const counter = probe.safeRead(state + BigInt(candidate.offsets.narenasCurrentlyAllocated), 8);
    const counted = counter ? u64(counter) : -1n;
    if (counted === BigInt(r.used)) {
      return arenaSize === layout.arenaSize
        ? { ...layout, arenaSizeHow: `the version's default, checked against the heap (${r.maxTotal} pools per arena)` }
        : candidate;
    }
    last = `with ${arenaSize >> 10} KiB arenas, narenas_currently_allocated (state+0x` +
      `${
        candidate.offsets.narenasCurrentlyAllocated.toString(16)
      }) reads ${counted}, but ${r.used} arena slots are in use`;
  }
  throw new PymemError(
    "UNSUPPORTED",
    `Cannot read the obmalloc state of ${what}: ${last}. The library was built with an obmalloc geometry pymem ` +
      "cannot read (or the state changed on every read)",
  );
}
