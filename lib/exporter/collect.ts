/**
 * One target, read: is it a CPython process, does it pass --match/--exclude, and what does its obmalloc heap look
 * like. Runs inside a worker process (lib/exporter/worker.ts) because every read here may wait on the target (its
 * maps, its argv and its memory are read under the target's mmap lock); a read past its hard limit kills the worker.
 *
 * The answer is plain JSON (numbers and strings): it crosses a pipe. A failure is classified into one of the
 * exporter's error reasons; nothing is guessed: a figure CPython does not keep (the arena counters before 3.12's
 * per-interpreter state, raw_allocated_blocks on 3.8) is left out, not made up.
 * @module
 */
import * as fs from "node:fs";
import { type AttachedPython, attachPython, type RemoteHeapSnapshot } from "../attach/attach.ts";
import type { AddressSpace } from "../address-space/mod.ts";
import { versionString } from "../core/version.ts";
import { PymemError } from "../errors.ts";
import { readMaps } from "../machine/procmaps.ts";
import type { AttachmentCache } from "./cache.ts";
import { cmdLabel, looksLikePython, parseCmdline, processKey, readStat } from "./discovery.ts";
import { residentBytes } from "../machine/proc.ts";
import { mimallocIfUsed } from "../mimalloc/mod.ts";

/**
 * Why a target could not be read. Every reason is always published (0 when it never happened). `worker_died`: the
 * worker reading it ended under the job (a crash, the OOM killer, a SIGKILL from outside); `worker_failed`: no
 * worker could be started; `read_failed`: the attachment or the heap walk raised an error the others do not name
 * (its message is logged with the pid). A CPython older than 3.8 is not an error: it is unsupported, for good.
 */
export const ERROR_REASONS = [
  "permission",
  "exited",
  "timeout",
  "worker_died",
  "worker_failed",
  "read_failed",
] as const;
export type ErrorReason = typeof ERROR_REASONS[number];

/** Why a Python process has no pymalloc figures, for as long as it lives (listed once, never an error). */
export const UNSUPPORTED_REASONS = ["python_version", "no_obmalloc"] as const;
export type UnsupportedReason = typeof UNSUPPORTED_REASONS[number];

/** One scrape's question about one process. */
export interface TargetJob {
  pid: number;
  start: number;
  comm: string;
  /** Scrape number: lets the worker's cache close entries of processes no scrape asked about lately. */
  scrape: number;
}

/** --match / --exclude, as regular expression sources (they cross the pipe to the worker as text). */
export interface TargetFilter {
  match?: string;
  exclude?: string;
  /** Pinned bytes by type for the top N types of each process (0: not collected; it classifies every block). */
  topTypes?: number;
  /** Also read glibc malloc's heap and /proc/PID/smaps (--malloc): RSS by category and malloc's figures. */
  malloc?: boolean;
}

/** glibc malloc's figures and the RSS by category of one process (--malloc). */
export interface MallocFigures {
  /** Rss/Pss/Private_Dirty/Swap of each category of mappings (lib/address-space/). */
  categories: AddressSpace["categories"];
  breakdown: AddressSpace["breakdown"];
  /** Null when malloc is not glibc's (or an unchecked release): then only the categories are known. */
  heap: {
    arenas: number;
    systemBytes: number;
    inUseBytes: number;
    inUseChunks: number;
    freeBytes: Record<"tcache" | "fastbins" | "unsorted" | "small" | "large" | "top", number>;
    freeChunks: number;
    reclaimableBytes: number;
    reclaimableResidentBytes: number;
    mmappedChunks: number;
    mmappedBytes: number;
  } | null;
}

/** The obmalloc figures of one process, summed over its obmalloc states (3.12+: sub-interpreters with their own). */
export interface HeapFigures {
  arenas: number;
  /** narenas_highwater: only where CPython keeps it in the state read (3.12+); absent otherwise. */
  arenasHighwater?: number;
  /** ntimes_arena_allocated: arenas allocated since the process started (3.12+). */
  arenaAllocations?: number;
  arenaBytes: number;
  poolsUsed: number;
  poolsEmpty: number;
  /** Absent under mimalloc (no such state of a page). */
  poolsUntouched?: number;
  blocksInUse: number;
  bytesInUse: number;
  freeBytesInUsedPools: number;
  freeBytesInFreePools: number;
  pinnedArenas: number;
  pinnedArenaBytes: number;
  reclaimableArenas: number;
  /** raw_allocated_blocks (3.9+): blocks over 512 bytes pymalloc handed to the raw allocator. */
  rawAllocatedBlocks?: number;
  /** Distinct obmalloc states summed (1 unless isolated sub-interpreters run). */
  states: number;
  /** Pool headers that stayed inconsistent while the target wrote them (not counted above). */
  inconsistentPools: number;
}

/** What a worker answers for one job. */
export type TargetResult =
  | { kind: "not-python" }
  /** The process ended before it could be told Python or not: not counted anywhere. */
  | { kind: "gone" }
  | { kind: "excluded" }
  /** `backoff`: the target itself missed its deadline (not the scrape's), so it is not asked again for a while. */
  | { kind: "error"; reason: ErrorReason; message: string; backoff?: boolean }
  /** A CPython pymem cannot read (older than 3.8, free-threaded): it stays so while the process lives. */
  | { kind: "unsupported"; reason: UnsupportedReason; python: string; exe: string; message: string }
  | { kind: "mapped"; target: TargetFigures };

/** A mapped target: its labels and figures. `heap` is null when it has no obmalloc heap (PYTHONMALLOC=malloc). */
export interface TargetFigures {
  pid: number;
  python: string;
  exe: string;
  cmd: string;
  allocator: string;
  rss: number | null;
  heap: HeapFigures | null;
  /** Why `heap` is null. */
  noHeap?: string;
  /** The top `topTypes` types by pinned bytes (lib/objects pinning, instances charged with their __dict__s). */
  pinnedByType?: { type: string; bytes: number }[];
  /** --malloc: glibc malloc's figures and the RSS by category; absent when not asked for, or not readable. */
  malloc?: MallocFigures;
  /** When `pinnedByType` was computed (Unix seconds): it is refreshed less often than the figures. */
  pinnedByTypeAt?: number;
  /** Seconds this worker spent on the target. */
  seconds: number;
}

/** The reason a failure counts under. A process that is gone, or a zombie now, "exited", whatever the error said. */
export function classify(e: unknown, job: { pid: number; start: number }): ErrorReason {
  const now = readStat(job.pid);
  if (!now || now.start !== job.start || now.state === "Z" || now.state === "X") return "exited";
  if (e instanceof PymemError) {
    if (e.code === "PERMISSION") return "permission";
    if (e.code === "ATTACH" && /exited|no such process/i.test(e.message)) return "exited";
  }
  return "read_failed";
}

/** UNSUPPORTED names the build: no obmalloc layout for this minor, or a free-threaded build (mimalloc only). */
const unsupportedBuild = (e: unknown): boolean =>
  e instanceof PymemError && e.code === "UNSUPPORTED" && /no obmalloc layout|free-threaded/.test(e.message);

/** A CPython older than pymem's oldest (no _PyRuntime before 3.7), from the names of the files it maps. */
function oldPython(paths: string[]): string | undefined {
  for (const p of paths) {
    const m = /(?:^|\/)(?:lib)?python(\d)\.(\d+)/.exec(p);
    if (m && (Number(m[1]) < 3 || Number(m[2]) < 8)) return `${m[1]}.${m[2]}`;
  }
  return undefined;
}

function readArgv(pid: number): string[] {
  try {
    return parseCmdline(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
  } catch {
    return [];
  }
}

function readExe(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return "";
  }
}

function passes(argv: string[], filter: TargetFilter, re: { match?: RegExp; exclude?: RegExp }): boolean {
  if (!filter.match && !filter.exclude) return true;
  const line = argv.join(" ");
  if (re.match && !re.match.test(line)) return false;
  if (re.exclude && re.exclude.test(line)) return false;
  return true;
}

/** Compiled filters, once per worker. */
export function compileFilter(filter: TargetFilter): { match?: RegExp; exclude?: RegExp } {
  return {
    match: filter.match ? new RegExp(filter.match) : undefined,
    exclude: filter.exclude ? new RegExp(filter.exclude) : undefined,
  };
}

/**
 * Read one target: classify it, filter it, attach (or reuse the cached attachment) and map its heap. Never throws:
 * a failure is a `{ kind: "error" }` answer with its reason.
 */
export async function collectTarget(
  job: TargetJob,
  cache: AttachmentCache,
  filter: TargetFilter,
  re = compileFilter(filter),
): Promise<TargetResult> {
  const t0 = performance.now();
  const key = processKey(job);
  cache.beginScrape(job.scrape);
  let cached = cache.get(key);
  if (cached && readExe(job.pid) !== cached.exe) {
    cache.drop(key); // exec'd into something else: look again
    cached = undefined;
  }
  try {
    if (!cached) {
      // Python or not: the files it maps (as `pymem ps` decides), else, when those are not ours to read, its name.
      let paths: string[] | undefined;
      try {
        paths = readMaps(job.pid).map((m) => m.path);
      } catch (e) {
        // Until it is known to be Python, a process that fails is not one of ours to count: it is "gone".
        if (!(e instanceof PymemError && e.code === "PERMISSION")) return { kind: "gone" };
      }
      const argv = readArgv(job.pid);
      if (paths === undefined) {
        if (!looksLikePython(job.comm, argv[0])) return { kind: "not-python" };
        if (!passes(argv, filter, re)) return { kind: "excluded" };
        return {
          kind: "error",
          reason: "permission",
          message:
            `process ${job.pid} (${job.comm}) looks like Python, but its memory map is not readable by this user`,
        };
      }
      if (!paths.some((p) => /python/i.test(p.slice(p.lastIndexOf("/") + 1)))) return { kind: "not-python" };
      if (!passes(argv, filter, re)) return { kind: "excluded" };
      let py: AttachedPython;
      try {
        py = await attachPython(job.pid);
      } catch (e) {
        const old = e instanceof PymemError && e.code === "ATTACH" && /not a CPython process/.test(e.message)
          ? oldPython(paths)
          : undefined;
        if (old) {
          const exe = readExe(job.pid);
          return {
            kind: "unsupported",
            reason: "python_version",
            python: old,
            exe: exe.slice(exe.lastIndexOf("/") + 1),
            message: `process ${job.pid} runs Python ${old}: pymem reads CPython 3.8 and later`,
          };
        }
        if (
          e instanceof PymemError && e.code === "ATTACH" && /not a CPython process/.test(e.message) &&
          classify(e, job) !== "exited"
        ) return { kind: "not-python" };
        throw e;
      }
      cache.set(key, { py, exe: py.executable || readExe(job.pid), cmd: cmdLabel(argv) });
      cached = cache.get(key)!;
    }
    const py = cached.py;
    let heap: HeapFigures | null = null;
    let noHeap: string | undefined;
    let pinnedByType: { type: string; bytes: number }[] | undefined;
    let main: RemoteHeapSnapshot | undefined;
    try {
      const snaps = py.heaps().map((h) => h.snapshot);
      main = snaps[0];
      heap = sumHeaps(snaps);
      if ((filter.topTypes ?? 0) > 0) pinnedByType = topPinned(snaps, filter.topTypes!);
    } catch (e) {
      if (!(e instanceof PymemError && e.code === "UNSUPPORTED" && /does not use obmalloc/.test(e.message))) throw e;
      const mm = mimallocFigures(py, filter.topTypes ?? 0);
      if (mm) ({ heap, pinnedByType } = mm);
      else noHeap = e.message;
    }
    const malloc = filter.malloc ? mallocFigures(py, main) : undefined;
    const exe = cached.exe;
    return {
      kind: "mapped",
      target: {
        pid: job.pid,
        python: versionString(py.version),
        exe: exe.slice(exe.lastIndexOf("/") + 1).replace(/ \(deleted\)$/, ""),
        cmd: cached.cmd,
        allocator: py.allocatorName() ?? "",
        rss: residentBytes(job.pid),
        heap,
        noHeap,
        pinnedByType,
        malloc,
        seconds: (performance.now() - t0) / 1000,
      },
    };
  } catch (e) {
    cache.drop(key);
    const message = String((e as Error)?.message ?? e).split("\n")[0];
    if (unsupportedBuild(e) && classify(e, job) !== "exited") {
      const exe = readExe(job.pid);
      const python = /CPython (\d+\.\d+(?:\.\d+)?)/.exec(message)?.[1] ?? "";
      const name = exe.slice(exe.lastIndexOf("/") + 1);
      return { kind: "unsupported", reason: "python_version", python, exe: name, message };
    }
    return { kind: "error", reason: classify(e, job), message };
  }
}

/**
 * --malloc: RSS by category (lib/address-space/; main's arenas as pymalloc's) and glibc malloc's totals. A malloc
 * that is not glibc's leaves `heap` null (the categories are still known); a failure to read smaps leaves the whole
 * part out (the pymalloc figures stand).
 */
function mallocFigures(py: AttachedPython, main?: RemoteHeapSnapshot): MallocFigures | undefined {
  let s: AddressSpace;
  try {
    s = py.addressSpace(main ? { heap: main } : undefined);
  } catch (e) {
    if (e instanceof PymemError) return undefined;
    throw e;
  }
  const h = s.malloc.heap;
  return {
    categories: s.categories,
    breakdown: s.breakdown,
    heap: h && {
      arenas: h.arenas.length,
      systemBytes: h.totals.systemBytes,
      inUseBytes: h.totals.inUse.bytes,
      inUseChunks: h.totals.inUse.chunks,
      freeBytes: {
        tcache: h.totals.free.tcache.bytes,
        fastbins: h.totals.free.fastbins.bytes,
        unsorted: h.totals.free.unsorted.bytes,
        small: h.totals.free.small.bytes,
        large: h.totals.free.large.bytes,
        top: h.totals.topBytes,
      },
      freeChunks: Object.values(h.totals.free).reduce((n, t) => n + t.chunks, 0),
      reclaimableBytes: h.totals.reclaimableBytes,
      reclaimableResidentBytes: s.breakdown.mallocReclaimable,
      mmappedChunks: h.mmapped.chunks,
      mmappedBytes: h.mmapped.bytes,
    },
  };
}

/**
 * The figures of a process that allocates with CPython's mimalloc (PYTHONMALLOC=mimalloc, 3.13+), in the same series
 * as obmalloc's: segments for arenas, pages for pools (no "untouched" state: a segment's free slices are not pages
 * yet), mimalloc's free bytes inside used pages and in free spans; pinned by type per segment (the arena's analogue,
 * so that the types add up to the bytes of the segments holding live blocks). Undefined when the process does not
 * allocate with mimalloc: named otherwise, or unnamed (a stripped image) and no mimalloc segment found.
 */
export function mimallocFigures(
  py: AttachedPython,
  topTypes: number,
): { heap: HeapFigures; pinnedByType?: { type: string; bytes: number }[] } | undefined {
  const map = mimallocIfUsed(py);
  if (!map) return undefined;
  const t = map.totals, f = map.fragmentation;
  const heap: HeapFigures = {
    arenas: t.segments,
    arenaBytes: t.segmentBytes,
    poolsUsed: t.pages,
    poolsEmpty: t.emptyPages,
    blocksInUse: t.blocksInUse,
    bytesInUse: t.bytesInUse,
    freeBytesInUsedPools: f.freeBytesInUsedPages,
    freeBytesInFreePools: f.freeBytesInFreeSlices,
    pinnedArenas: f.pinnedSegments,
    pinnedArenaBytes: f.pinnedBytes,
    reclaimableArenas: f.reclaimableSegments,
    states: 1,
    inconsistentPools: map.inconsistentPages,
  };
  if (topTypes <= 0) return { heap };
  const rows = py.mimallocObjects(map).pinning({ unit: "segment", limit: topTypes });
  return { heap, pinnedByType: rows.map((r) => ({ type: r.name, bytes: r.pinnedBytes })) };
}

/** Pinned bytes by type over every obmalloc state of a process, the `n` largest. */
export function topPinned(snaps: RemoteHeapSnapshot[], n: number): { type: string; bytes: number }[] {
  const sum = new Map<string, number>();
  for (const s of snaps) {
    for (const r of s.pinning({ owners: true })) sum.set(r.name, (sum.get(r.name) ?? 0) + r.pinnedBytes);
  }
  return [...sum].map(([type, bytes]) => ({ type, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, n);
}

/** The figures of a process: its snapshots (one per obmalloc state) summed. */
export function sumHeaps(snaps: RemoteHeapSnapshot[]): HeapFigures {
  const h: HeapFigures = {
    arenas: 0,
    arenaBytes: 0,
    poolsUsed: 0,
    poolsEmpty: 0,
    poolsUntouched: 0,
    blocksInUse: 0,
    bytesInUse: 0,
    freeBytesInUsedPools: 0,
    freeBytesInFreePools: 0,
    pinnedArenas: 0,
    pinnedArenaBytes: 0,
    reclaimableArenas: 0,
    states: snaps.length,
    inconsistentPools: 0,
  };
  let highwater: number | undefined = 0, allocations: number | undefined = 0, raw: number | undefined = 0;
  for (const s of snaps) {
    const t = s.totals, f = s.fragmentation, c = s.info.counters;
    h.arenas += t.arenas;
    h.arenaBytes += t.arenaBytes;
    h.poolsUsed += t.pools;
    h.poolsEmpty += t.emptyPools;
    h.poolsUntouched = (h.poolsUntouched ?? 0) + t.untouchedPools;
    h.blocksInUse += t.blocksInUse;
    h.bytesInUse += t.bytesInUse;
    h.freeBytesInUsedPools += f.freeBytesInUsedPools;
    h.freeBytesInFreePools += f.freeBytesInFreePools;
    h.pinnedArenas += f.pinnedArenas;
    h.pinnedArenaBytes += f.pinnedBytes;
    h.reclaimableArenas += f.reclaimableArenas;
    h.inconsistentPools += s.walk.inconsistentPools;
    highwater = highwater === undefined || c.narenasHighwater === undefined
      ? undefined
      : highwater + c.narenasHighwater;
    allocations = allocations === undefined || c.ntimesArenaAllocated === undefined
      ? undefined
      : allocations + c.ntimesArenaAllocated;
    raw = raw === undefined || s.info.rawAllocatedBlocks === null ? undefined : raw + s.info.rawAllocatedBlocks;
  }
  if (highwater !== undefined && snaps.length) h.arenasHighwater = highwater;
  if (allocations !== undefined && snaps.length) h.arenaAllocations = allocations;
  if (raw !== undefined && snaps.length) h.rawAllocatedBlocks = raw;
  return h;
}
