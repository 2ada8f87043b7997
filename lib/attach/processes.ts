/**
 * Every CPython process this user may read (what `pymem ps` shows): found through /proc, each attached read-only
 * and mapped once.
 * @module
 */
import * as fs from "node:fs";
import process from "node:process";
import type { PymemError } from "../errors.ts";
import { type MapEntry, readMaps } from "../machine/procmaps.ts";
import { versionString } from "../core/version.ts";
import { type AttachedPython, attachPython } from "./attach.ts";
import { residentBytes } from "../machine/proc.ts";
import { SUPPORTED_VERSIONS } from "../core/locate.ts";
import { mimallocIfUsed } from "../mimalloc/mod.ts";

/** One row of {@link listPythonProcesses}. */
export interface PythonProcessInfo {
  pid: number;
  /** "3.12.1"; the minor ("3.6") when only the image's name tells it; "?" when nothing does. */
  version: string;
  /** Resident set size in bytes (VmRSS); null when unreadable. */
  rss: number | null;
  /** Arenas of the main obmalloc state; null when it could not be mapped (see `error`). */
  arenas: number | null;
  /** Arenas kept mapped by a handful of live pools (fragmentation.pinnedArenas); null as above. */
  pinned: number | null;
  /** The image holding CPython. */
  image: string;
  /** Why the heap could not be mapped (e.g. PYTHONMALLOC=malloc, a CPython older than 3.8). */
  error?: string;
  /**
   * A process allocating with CPython's mimalloc (PYTHONMALLOC=mimalloc, 3.13+; `arenas` and `pinned` are null): its
   * segments (32 MiB each) and those kept by fewer than 4 pages with live blocks (fragmentation.pinnedSegments).
   */
  mimalloc?: { segments: number; pinned: number };
}

/**
 * The CPython minor a process's mapped files are named for (libpython3.6m.so.1.0, python2.7): enough to say
 * "CPython 3.6, not supported" when the process cannot be attached to.
 */
function minorOfImages(maps: MapEntry[]): string | undefined {
  for (const m of maps) {
    const hit = /^(?:lib)?python(\d+\.\d+)/.exec(m.path.slice(m.path.lastIndexOf("/") + 1));
    if (hit) return hit[1];
  }
  return undefined;
}

/**
 * Every CPython process this user may read, with its version, RSS and arena figures: what `pymem ps` shows.
 * Processes that cannot be read (another user's, no permission) are left out; those without an obmalloc heap
 * (PYTHONMALLOC=malloc) are listed with `arenas: null` and the reason in `error`; those allocating with mimalloc
 * with their segments in `mimalloc`.
 */
export async function listPythonProcesses(): Promise<PythonProcessInfo[]> {
  const out: PythonProcessInfo[] = [];
  const self = typeof process !== "undefined" ? process.pid : -1;
  // readdir's order is the kernel's (and sorting its names would put 13194 before 4234): by number.
  const pids = fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  for (const pid of pids) {
    let maps: MapEntry[];
    try {
      maps = readMaps(pid);
    } catch {
      continue;
    }
    if (!maps.some((m) => /python/i.test(m.path.slice(m.path.lastIndexOf("/") + 1)))) continue;
    let py: AttachedPython;
    try {
      py = await attachPython(pid);
    } catch (e) {
      // Unreadable (another user, ptrace_scope) or gone: not a process this user may read. Anything else is a
      // Python-looking process pymem could not map: list it with the reason rather than hide it.
      const err = e as PymemError;
      if (err?.code === "PERMISSION" || /exited|no such process/i.test(String(err?.message))) continue;
      const image = maps.find((m) => /python/i.test(m.path.slice(m.path.lastIndexOf("/") + 1)))!.path;
      const minor = minorOfImages(maps);
      const unsupported = minor !== undefined && !(SUPPORTED_VERSIONS as readonly string[]).includes(minor);
      const range = `${SUPPORTED_VERSIONS.at(-1)}–${SUPPORTED_VERSIONS[0]}`;
      const error = unsupported
        ? `CPython ${minor} is not supported (pymem reads CPython ${range})`
        : String(err?.message ?? e).split("\n")[0];
      out.push({ pid, version: minor ?? "?", rss: residentBytes(pid), arenas: null, pinned: null, image, error });
      continue;
    }
    try {
      const row: PythonProcessInfo = {
        pid,
        version: versionString(py.version),
        rss: residentBytes(pid),
        arenas: null,
        pinned: null,
        image: py.library,
      };
      try {
        const s = py.heap();
        row.arenas = s.totals.arenas;
        row.pinned = s.fragmentation.pinnedArenas;
      } catch (e) {
        row.error = (e as Error).message;
        try {
          const m = mimallocIfUsed(py);
          if (m) {
            row.mimalloc = { segments: m.totals.segments, pinned: m.fragmentation.pinnedSegments };
            delete row.error;
          }
        } catch { /* obmalloc's reason stands */ }
      }
      if (pid !== self || row.arenas !== null) out.push(row);
    } finally {
      py.close();
    }
  }
  return out;
}
