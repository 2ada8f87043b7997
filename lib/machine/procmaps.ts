/**
 * `/proc/PID/maps`: which files a process has mapped where, and from that the load bias of an ELF file in it.
 *
 * Addresses are bigints because they are whole 64-bit values (kernel-side entries such as `[vsyscall]` sit at
 * 0xffffffffff600000, past 2^53).
 * @module
 */

import * as fs from "node:fs";
import { PymemError } from "../errors.ts";
import type { ElfFile } from "./elf.ts";

/** One line of `/proc/PID/maps`. */
export interface MapEntry {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** e.g. `"r-xp"`. */
  perms: string;
  /** File offset of `start`. */
  offset: bigint;
  /** `"major:minor"` in hex, as the kernel prints it, e.g. `"fd:01"`. */
  dev: string;
  inode: number;
  /** The mapped file, a pseudo-name such as `[heap]`, or `""` for anonymous memory. May end in `" (deleted)"`. */
  path: string;
}

// start-end perms offset dev inode [path]; the path may contain spaces, so it is everything after the inode's padding.
const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) *(.*)$/;

/**
 * Parse the text of a maps file. Blank lines are skipped.
 * @throws PymemError("ATTACH") on a line that does not have the maps format.
 */
export function parseMaps(text: string): MapEntry[] {
  const entries: MapEntry[] = [];
  let lineNo = 0;
  for (const line of text.split("\n")) {
    lineNo++;
    if (line === "") continue;
    const m = LINE.exec(line);
    if (m === null) throw new PymemError("ATTACH", `unexpected /proc maps line ${lineNo}: ${JSON.stringify(line)}`);
    const [, start, end, perms, offset, dev, inode, path] = m as unknown as string[];
    entries.push({
      start: BigInt(`0x${start}`),
      end: BigInt(`0x${end}`),
      perms: perms as string,
      offset: BigInt(`0x${offset}`),
      dev: dev as string,
      inode: Number(inode),
      path: path as string,
    });
  }
  return entries;
}

/**
 * Read and parse `/proc/<pid>/maps` (or `/proc/self/maps`).
 * @throws PymemError("ATTACH") when the process does not exist (ENOENT/ESRCH), ("PERMISSION") when its maps may not
 * be read (EACCES/EPERM: another user's process, or ptrace restrictions).
 */
export function readMaps(pid: number | "self"): MapEntry[] {
  if (pid !== "self" && !(Number.isSafeInteger(pid) && pid > 0)) {
    throw new RangeError(`readMaps: pid must be a positive integer or "self", got ${pid}`);
  }
  const file = `/proc/${pid}/maps`;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ESRCH") {
      throw new PymemError("ATTACH", `cannot read ${file}: no such process (${code})`, { cause: e });
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new PymemError(
        "PERMISSION",
        `cannot read ${file}: permission denied (${code}); reading another user's process needs the same uid or ` +
          "CAP_SYS_PTRACE, and /proc/sys/kernel/yama/ptrace_scope may forbid it",
        { cause: e },
      );
    }
    throw new PymemError("ATTACH", `cannot read ${file}: ${String((e as Error)?.message ?? e)}`, { cause: e });
  }
  return parseMaps(text);
}

/**
 * The load bias of an ELF file mapped in a process: the amount added to a file vaddr to get the runtime address,
 * so `bias + BigInt(elf.symbol(name).value)` is where the symbol lives. It is 0 for a non-PIE executable and the
 * base address for shared libraries and PIE executables.
 *
 * The file's mappings are found by path (`matchPath`, default `elf.path`; both sides resolved with `realpath`) or,
 * failing that, by the file's device and inode, which also works when the process sees the file under another path
 * (a container, a chroot, a symlinked prefix).
 *
 * The math: the loader maps the first `PT_LOAD` (lowest `p_offset`) at `bias + pagedown(p_vaddr)` from file offset
 * `pagedown(p_offset)`, and never unmaps it, so it is the file's mapping with the lowest offset. `p_vaddr` and
 * `p_offset` are congruent modulo the page size, hence `bias = start - offset - (p_vaddr - p_offset)`. Using that
 * one segment avoids guessing the page size, which would be needed to tell which segment a later mapping (whose
 * offset was rounded down into the previous segment's last page) belongs to.
 *
 * Returns undefined when the file is not mapped, or its lowest mapping does not fit its first `PT_LOAD`. When the
 * file is mapped more than once at its lowest offset (say, also `mmap`ed for reading), the mapping followed by the
 * most other mappings of the file within the image's span is taken: that is the loaded image.
 */
export function loadBias(maps: MapEntry[], elf: ElfFile, matchPath?: string): bigint | undefined {
  const mine = mappingsOf(maps, matchPath ?? elf.path);
  const loads = elf.segments.filter((s) => s.type === 1 /* PT_LOAD */);
  if (mine.length === 0 || loads.length === 0) return undefined;
  const first = loads.reduce((a, b) => (b.offset < a.offset ? b : a));
  let lowest = (mine[0] as MapEntry).offset;
  for (const m of mine) if (m.offset < lowest) lowest = m.offset;
  // The mapping offset is p_offset rounded down to a page: at most 64 KiB (the largest page size in use) below it.
  const gap = BigInt(first.offset) - lowest;
  if (gap < 0n || gap >= 0x10000n) return undefined;

  let imageSpan = 0n;
  for (const s of loads) {
    const end = BigInt(s.vaddr + s.memsz) - BigInt(first.vaddr);
    if (end > imageSpan) imageSpan = end;
  }
  let best: MapEntry | undefined;
  let bestScore = -1;
  for (const m of mine) {
    if (m.offset !== lowest) continue;
    let score = 0;
    for (const other of mine) if (other.start >= m.start && other.start < m.start + imageSpan) score++;
    if (score > bestScore) {
      best = m;
      bestScore = score;
    }
  }
  const m = best as MapEntry;
  return m.start - m.offset - (BigInt(first.vaddr) - BigInt(first.offset));
}

/** The entries that map `path`: equal realpaths, else the same device and inode. */
function mappingsOf(maps: MapEntry[], path: string): MapEntry[] {
  const target = realpathOrSelf(path);
  const byPath = maps.filter((m) => m.path !== "" && (m.path === path || m.path === target));
  if (byPath.length > 0) return byPath;

  // Entries under another name (a symlink) still match once resolved; resolve each distinct name once.
  const resolved = new Map<string, string>();
  const byRealpath = maps.filter((m) => {
    if (!m.path.startsWith("/")) return false;
    let r = resolved.get(m.path);
    if (r === undefined) resolved.set(m.path, r = realpathOrSelf(m.path));
    return r === target;
  });
  if (byRealpath.length > 0) return byRealpath;

  let st: fs.BigIntStats;
  try {
    st = fs.statSync(path, { bigint: true });
  } catch {
    return [];
  }
  const dev = devString(st.dev);
  const inode = Number(st.ino);
  return maps.filter((m) => m.inode === inode && m.inode !== 0 && m.dev === dev);
}

function realpathOrSelf(path: string): string {
  try {
    return fs.realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * st_dev in the `"major:minor"` hex form of the maps file. Linux (glibc's makedev) splits major and minor across
 * the 64 bits: minor = bits 0–7 and 20–43, major = bits 8–19 and 44–63.
 */
function devString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}
