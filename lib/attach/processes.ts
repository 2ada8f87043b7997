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

/** One row of {@link listPythonProcesses}. */
export interface PythonProcessInfo {
  pid: number;
  /** "3.12.1" */
  version: string;
  /** Resident set size in bytes (VmRSS). */
  rss: number;
  /** Arenas of the main obmalloc state; null when it could not be mapped (see `error`). */
  arenas: number | null;
  /** Arenas kept mapped by a handful of live pools (fragmentation.pinnedArenas); null as above. */
  pinned: number | null;
  /** The image holding CPython. */
  image: string;
  /** Why the heap could not be mapped (e.g. PYTHONMALLOC=malloc). */
  error?: string;
}

/**
 * Every CPython process this user may read, with its version, RSS and arena figures: what `pymem ps` shows.
 * Processes that cannot be read (another user's, no permission) are left out; those without an obmalloc heap
 * (PYTHONMALLOC=malloc) are listed with `arenas: null` and the reason in `error`.
 */
export async function listPythonProcesses(): Promise<PythonProcessInfo[]> {
  const out: PythonProcessInfo[] = [];
  const self = typeof process !== "undefined" ? process.pid : -1;
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
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
      out.push({ pid, version: "?", rss: 0, arenas: null, pinned: null, image, error: String(err?.message ?? e).split("\n")[0] });
      continue;
    }
    try {
      const rss = residentBytes(pid) ?? 0;
      const row: PythonProcessInfo = { pid, version: versionString(py.version), rss, arenas: null, pinned: null, image: py.library };
      try {
        const s = py.heap();
        row.arenas = s.totals.arenas;
        row.pinned = s.fragmentation.pinnedArenas;
      } catch (e) {
        row.error = (e as Error).message;
      }
      if (pid !== self || row.arenas !== null) out.push(row);
    } finally {
      py.close();
    }
  }
  return out;
}
