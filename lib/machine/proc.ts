/**
 * Small facts about a process from /proc: its stat line (state, start time, kernel thread) and its resident set
 * size. One reader each for the CLI, attach and the exporter.
 * @module
 */
import * as fs from "node:fs";

/** No process id is larger: the kernel's PID_MAX_LIMIT (2^22 on 64-bit Linux), the most pid_max can be raised to. */
export const PID_MAX_LIMIT = 4_194_304;

/** One process as /proc/PID/stat shows it. */
export interface ProcStat {
  pid: number;
  /** Start time in clock ticks since boot: with the pid, the process's identity. */
  start: number;
  /** The thread name of the main thread (at most 15 bytes), e.g. "python3.12". */
  comm: string;
  /** R, S, D, Z, T, … */
  state: string;
  /** Kernel thread (PF_KTHREAD): never a Python process. */
  kernelThread: boolean;
}

const PF_KTHREAD = 0x00200000;

/** Parse the text of /proc/PID/stat (comm may hold spaces and parentheses: it ends at the last ')'). */
export function parseStat(pid: number, text: string): ProcStat | undefined {
  const open = text.indexOf("("), close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field 9 (flags) is rest[6], field 22 (starttime) is rest[19].
  if (rest.length < 20) return undefined;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0],
    kernelThread: (Number(rest[6]) & PF_KTHREAD) !== 0,
    start: Number(rest[19]),
  };
}

/** /proc/PID/stat of one process; undefined when it is gone. */
export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, fs.readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return undefined;
  }
}

/** Resident set size (VmRSS) of a process in bytes; null when unreadable (gone, or not permitted). */
export function residentBytes(pid: number | "self" = "self"): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
