/**
 * `/proc/PID/smaps` and `smaps_rollup`: every mapping of a process with what of it is resident, and the process's
 * totals; the stack pointer of each of its threads (`/proc/PID/task/TID/syscall`); the state of each page of a range
 * (`/proc/PID/pagemap`). No CPython or malloc knowledge: lib/address-space/ gives the mappings their meaning.
 * @module
 */
import * as fs from "node:fs";
import { PymemError } from "../errors.ts";
import { type MapEntry, parseMaps } from "./procmaps.ts";

/** The fields of one mapping (or of the rollup) that pymem reads, in bytes. */
export interface SmapsFigures {
  rss: number;
  pss: number;
  privateDirty: number;
  swap: number;
  /** Anonymous pages (private file pages written to count too: a library's relocated data). */
  anonymous: number;
}

/** One mapping of `/proc/PID/smaps`: its maps line and its figures. */
export interface SmapsEntry extends MapEntry, SmapsFigures {
  /** Virtual size in bytes (end − start). */
  size: number;
}

const FIELDS: Record<string, keyof SmapsFigures> = {
  Rss: "rss",
  Pss: "pss",
  Private_Dirty: "privateDirty",
  Swap: "swap",
  Anonymous: "anonymous",
};
const FIELD = /^([A-Za-z_]+):\s+(\d+) kB$/;

/** Parse the text of a smaps file (each maps line followed by its `Name: N kB` lines and `VmFlags`). */
export function parseSmaps(text: string): SmapsEntry[] {
  const out: SmapsEntry[] = [];
  let cur: SmapsEntry | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const f = FIELD.exec(line);
    if (f) {
      const k = FIELDS[f[1]];
      if (k && cur) cur[k] = Number(f[2]) * 1024;
      continue;
    }
    if (/^[A-Z][A-Za-z_]*:/.test(line)) continue; // VmFlags, THPeligible, ProtectionKey
    const [m] = parseMaps(line);
    cur = { ...m, size: Number(m.end - m.start), rss: 0, pss: 0, privateDirty: 0, swap: 0, anonymous: 0 };
    out.push(cur);
  }
  return out;
}

/** Parse the text of smaps_rollup: the same figures summed over every mapping. */
export function parseSmapsRollup(text: string): SmapsFigures {
  const out: SmapsFigures = { rss: 0, pss: 0, privateDirty: 0, swap: 0, anonymous: 0 };
  for (const line of text.split("\n")) {
    const f = FIELD.exec(line);
    const k = f && FIELDS[f[1]];
    if (k) out[k] = Number(f[2]) * 1024;
  }
  return out;
}

function readProc(pid: number | "self", name: string): string {
  const file = `/proc/${pid}/${name}`;
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "EACCES" || code === "EPERM") {
      throw new PymemError(
        "PERMISSION",
        `cannot read ${file}: permission denied (${code}); another user's process needs the same uid or CAP_SYS_PTRACE`,
        { cause: e },
      );
    }
    throw new PymemError("ATTACH", `cannot read ${file}: ${String((e as Error)?.message ?? e)}`, { cause: e });
  }
}

/** `/proc/PID/smaps` and, read right after it, `smaps_rollup` (the kernel's own sums at nearly the same moment). */
export function readSmaps(pid: number | "self"): { mappings: SmapsEntry[]; rollup: SmapsFigures } {
  // A live process moves while its smaps is read (a runtime's collector can map or drop tens of MiB): smaps and the
  // rollup are read again (up to 4 times) until the mappings' Rss sums to the rollup's within 0.5%. Both texts are
  // read before either is parsed (parsing allocates, and in-process that moves the RSS being measured). Each read
  // walks the process's page tables: on a 1.1 GiB target about 60-100 ms each, so the rollup is read once a try.
  let best: { mappings: SmapsEntry[]; rollup: SmapsFigures; drift: number } | undefined;
  for (let i = 0; i < 4 && !(best && best.drift <= 0.005); i++) {
    const smaps = readProc(pid, "smaps");
    const rollupText = readProc(pid, "smaps_rollup");
    const mappings = parseSmaps(smaps), rollup = parseSmapsRollup(rollupText);
    const sum = mappings.reduce((n, m) => n + m.rss, 0);
    const drift = Math.abs(sum - rollup.rss) / Math.max(1, rollup.rss);
    if (!best || drift < best.drift) best = { mappings, rollup, drift };
  }
  return { mappings: best!.mappings, rollup: best!.rollup };
}

/** The thread ids of a process (`/proc/PID/task`); empty when unreadable. */
export function threadIds(pid: number | "self"): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/**
 * A thread's user stack pointer from `/proc/PID/task/TID/syscall` (the same permission as reading its memory), or
 * null while the thread runs (the kernel only knows it for a thread blocked in the kernel) or when unreadable.
 * (`stat`'s kstkesp field is 0 on every kernel since 4.x, outside a core dump.)
 */
export function threadStackPointer(pid: number | "self", tid: number): number | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, "utf8").trim();
  } catch {
    return null;
  }
  if (text === "running") return null;
  // "nr a1 … a6 sp pc" in a syscall, "-1 sp pc" blocked elsewhere: the stack pointer is the next-to-last field.
  const f = text.split(" ");
  if (f.length < 3) return null;
  const sp = Number(f[f.length - 2]);
  return Number.isSafeInteger(sp) && sp > 0 ? sp : null;
}
