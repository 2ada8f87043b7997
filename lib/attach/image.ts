/**
 * The CPython image of another process, from files only: which mapped file holds CPython (a libpython, or a
 * statically linked executable; through /proc/PID/root when the target lives in another mount namespace), where it
 * is mapped, where `_PyRuntime` is, and the CPython version the file carries.
 * @module
 */
import * as fs from "node:fs";
import { ElfFile } from "../machine/elf.ts";
import { PymemError } from "../errors.ts";
import { loadBias, type MapEntry } from "../machine/procmaps.ts";
import { readStat } from "../machine/proc.ts";

/** The CPython image of a process: which mapped file, where, and its symbols. */
export interface Image {
  elf: ElfFile;
  /** Gives the (shared) ElfFile back: see openShared. Idempotent. */
  release: () => void;
  path: string;
  bias: bigint;
  runtime: bigint;
  runtimeHow: string;
}

/**
 * Files mapped by the process that may hold CPython, most likely first (libpython before the executable), as the
 * maps file names them. A file deleted or replaced on disk since it was mapped is named "PATH (deleted)".
 */
function candidatePaths(maps: MapEntry[], pid: number): string[] {
  const seen = new Set<string>();
  for (const m of maps) if (m.path.startsWith("/")) seen.add(m.path);
  const all = [...seen];
  const base = (p: string) => p.slice(p.lastIndexOf("/") + 1).replace(/ \(deleted\)$/, "");
  // CPython's own remote debugging looks at mappings whose name contains "python"; so do we first, then the rest
  // of the executable (a renamed, statically linked interpreter such as uwsgi is still found through /proc/PID/exe).
  const named = all.filter((p) => /python/i.test(base(p)) && !/\.py[cw]?$/.test(base(p)));
  named.sort((a, b) => Number(/^libpython/.test(base(b))) - Number(/^libpython/.test(base(a))));
  let exe: string | undefined;
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch { /* a kernel thread, or not permitted */ }
  if (exe && !named.includes(exe) && seen.has(exe)) named.push(exe);
  return named;
}

/**
 * ELF files shared by every attachment to the same file (same device, inode, size and mtime), counted: a host
 * running fifty workers of one libpython parses its symbol tables once, not fifty times (`pymem exporter`, `ps`).
 */
const sharedElf = new Map<string, { elf: ElfFile; refs: number }>();

/** An ElfFile for `p` from the shared set, and the function that gives it back (the last one closes it). */
function openShared(p: string): { elf: ElfFile; release: () => void } {
  const st = fs.statSync(p);
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  let entry = sharedElf.get(key);
  if (!entry) {
    entry = { elf: ElfFile.open(p), refs: 0 };
    sharedElf.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    elf: e.elf,
    release: () => {
      if (released) return;
      released = true;
      if (--e.refs === 0) {
        sharedElf.delete(key);
        e.elf.close();
      }
    },
  };
}

/**
 * Open a path the target maps: the file itself (through /proc/PID/root first when it lives in another mount
 * namespace, a container: its paths are its own, and the same path on this side may hold another file), or, when it
 * was deleted or replaced on disk, the mapped file as the kernel still holds it (/proc/PID/map_files/START-END of
 * one of its mappings: the same inode, whatever the path now holds).
 */
export function openElf(
  path: string,
  pid: number,
  maps: MapEntry[],
): { elf: ElfFile; release: () => void } | undefined {
  const mapping = maps.find((m) => m.path === path);
  const deleted = path.endsWith(" (deleted)");
  const own = `/proc/${pid}/root${path}`;
  const places = deleted ? [] : otherMountNamespace(pid) ? [own, path] : [path, own];
  if (mapping) places.push(`/proc/${pid}/map_files/${mapping.start.toString(16)}-${mapping.end.toString(16)}`);
  for (const p of places) {
    try {
      const opened = openShared(p);
      // The file on disk must be the one mapped (same inode), else it was replaced: read the mapped one instead.
      if (mapping && mapping.inode !== 0 && !p.includes("/map_files/") && fs.statSync(p).ino !== mapping.inode) {
        opened.release();
        continue;
      }
      return opened;
    } catch { /* try the next */ }
  }
  return undefined;
}

/** Whether the process sees another file system tree than this one (unknown, when not permitted: false). */
function otherMountNamespace(pid: number): boolean {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== fs.readlinkSync("/proc/self/ns/mnt");
  } catch {
    return false;
  }
}

export function findImage(pid: number, maps: MapEntry[]): Image {
  const tried: string[] = [];
  let comm = "?";
  try {
    comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch { /* gone */ }
  const state = readStat(pid)?.state;
  if (state === "Z" || state === "X") {
    throw new PymemError(
      "ATTACH",
      `process ${pid} (${comm}) has exited (a zombie its parent has not reaped): it has no memory left to read`,
    );
  }
  for (const path of candidatePaths(maps, pid)) {
    const opened = openElf(path, pid, maps);
    if (!opened) {
      tried.push(
        `${path} (unreadable${
          path.endsWith(" (deleted)") ? `: deleted on disk, and /proc/${pid}/map_files cannot be read` : ""
        })`,
      );
      continue;
    }
    const elf = opened.elf;
    let keep = false;
    try {
      const sym = elf.dynamicSymbol("_PyRuntime") ?? (elf.hasSymtab ? elf.symbol("_PyRuntime") : undefined);
      const section = elf.section(".PyRuntime");
      const vaddr = sym && sym.value !== 0 ? sym.value : section?.addr;
      if (vaddr === undefined || !elf.dynamicSymbol("Py_GetVersion")) {
        tried.push(`${path} (no _PyRuntime)`);
        continue;
      }
      const bias = loadBias(maps, elf, path);
      if (bias === undefined) {
        tried.push(`${path} (cannot place its segments in /proc/${pid}/maps)`);
        continue;
      }
      keep = true;
      return {
        elf,
        release: opened.release,
        path: path.replace(/ \(deleted\)$/, ""),
        bias,
        runtime: bias + BigInt(vaddr),
        runtimeHow: sym && sym.value !== 0 ? `symbol _PyRuntime (${sym.table})` : "section .PyRuntime",
      };
    } finally {
      if (!keep) opened.release();
    }
  }
  throw new PymemError(
    "ATTACH",
    `process ${pid} (${comm}) is not a CPython process: no mapped file defines _PyRuntime` +
      (tried.length ? ` (looked at ${tried.join(", ")})` : " (no mapped file is named like python or libpython)"),
  );
}

export { fileVersion } from "../core/file-version.ts";
