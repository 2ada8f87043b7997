/**
 * The exporter's own resource use, for the standard `process_*` metrics (as every Prometheus client library
 * publishes them) and the same figures for its workers: CPU seconds, resident memory, start time. Read from /proc
 * (stat and status) so that Bun, Deno and Node give the same figures, children included.
 * @module
 */
import * as fs from "node:fs";
import { residentBytes } from "../machine/proc.ts";

/**
 * Clock ticks per second of /proc/PID/stat's times: USER_HZ, which Linux fixes at 100 for user space on every
 * architecture pymem runs on (x86-64, arm64), whatever the kernel's own HZ.
 */
const USER_HZ = 100;

/** Boot time, Unix seconds (`btime` of /proc/stat), read once: it does not change while the host runs. */
let bootTime: number | undefined;
function boot(): number | undefined {
  if (bootTime === undefined) {
    try {
      const m = /^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "latin1"));
      if (m) bootTime = Number(m[1]);
    } catch { /* no /proc/stat: no start time */ }
  }
  return bootTime;
}

/** CPU (user + system), resident memory and start time of one process; undefined when it is gone. */
export interface ProcessUsage {
  cpuSeconds: number;
  residentBytes: number | null;
  /** Unix seconds. */
  startTime: number | undefined;
}

/** The usage of `pid` (or this process). */
export function processUsage(pid: number | "self" = "self"): ProcessUsage | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // Fields after the name (which may hold spaces and parentheses): rest[0] is field 3; utime and stime are 14 and
  // 15, starttime 22.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (rest.length < 20) return undefined;
  const b = boot();
  return {
    cpuSeconds: (Number(rest[11]) + Number(rest[12])) / USER_HZ,
    residentBytes: residentBytes(pid),
    startTime: b === undefined ? undefined : b + Number(rest[19]) / USER_HZ,
  };
}

/** The parent of this process now (field 4 of /proc/self/stat): it changes when the parent ends (reparenting). */
export function parentPid(): number | undefined {
  try {
    const text = fs.readFileSync("/proc/self/stat", "latin1");
    return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}
