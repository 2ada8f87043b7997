/**
 * Which pages of a range are resident, from /proc/PID/pagemap (one 64-bit entry per virtual page; bit 63 "present",
 * bit 62 "swapped"). The present bit is readable without privileges for a process one may ptrace-read (only the
 * frame numbers are hidden), so this needs no more than attach does.
 * @module
 */
import * as fs from "node:fs";

const PAGE = 4096;

/**
 * One byte per page of [start, start + length) (page-aligned): 1 when the page is resident in `pid`'s memory as a
 * page of its own, 0 when not, or null when the pagemap cannot be read. The shared zero page (mapped where an
 * untouched page was only read) is present in the pagemap but neither exclusive (bit 56) nor a file page (bit 61),
 * and is not counted in RSS. A private page still shared with a forked parent (copy-on-write: gunicorn's or
 * multiprocessing's workers) looks the same but is counted: where page frame numbers and /proc/kpageflags can be
 * read (CAP_SYS_ADMIN), such a page is resident unless its frame is the zero page; without them it counts as not
 * resident (see {@link SharedPages}).
 */
export function residentPages(pid: number | "self", start: number, length: number): Uint8Array | null {
  const states = pageStates(pid, start, length, PAGE);
  if (states) { for (let i = 0; i < states.length; i++) states[i] = states[i] === PAGE_RESIDENT ? 1 : 0; }
  return states;
}

/** Page states of {@link pageStates}. */
export const PAGE_RESIDENT = 1, PAGE_SWAPPED = 2;

/**
 * One byte per page of [start, start + length) (page-aligned): PAGE_RESIDENT for a page counted in RSS (present,
 * and exclusive or a file/shared page, or shared copy-on-write with a forked process where that can be told from the
 * zero page: the shared zero page, which only reading an untouched page maps, is none of these and is not in RSS;
 * see SharedPages in pagemap.ts), PAGE_SWAPPED, or 0; null when the pagemap cannot be read.
 */
export function pageStates(pid: number | "self", start: number, length: number, page = 4096): Uint8Array | null {
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/pagemap`, "r");
  } catch {
    return null;
  }
  const shared = new SharedPages();
  try {
    const count = Math.floor(length / page);
    const out = new Uint8Array(count);
    const buf = new Uint8Array(65536);
    const dv = new DataView(buf.buffer);
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, buf.length / 8);
      const got = fs.readSync(fd, buf, 0, n * 8, (Math.floor(start / page) + done) * 8);
      if (got !== n * 8) return null;
      for (let i = 0; i < n; i++) {
        const hi = dv.getUint32(i * 8 + 4, true);
        // bit 63 present, 62 swapped, 61 file/shared-anon, 56 exclusively mapped (hi holds bits 32..63)
        if (hi & 0x8000_0000) {
          const own = hi & (0x2000_0000 | 0x0100_0000);
          out[done + i] = own || shared.counted(dv.getUint32(i * 8, true), hi) ? PAGE_RESIDENT : 0;
        } else if (hi & 0x4000_0000) out[done + i] = PAGE_SWAPPED;
      }
      done += n;
    }
    return out;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
    shared.close();
  }
}

/**
 * Present pages that are neither exclusive nor file pages: the zero page (not in RSS) or a page shared copy-on-write
 * with a forked parent or child (in RSS). Told apart by the frame's KPF_ZERO_PAGE flag (bit 24 of /proc/kpageflags,
 * which the zero page and the huge zero page carry); that needs the frame number, which the pagemap shows only to a
 * reader with CAP_SYS_ADMIN. Without it every such page is taken for the zero page, as before.
 */
export class SharedPages {
  #fd: number | null | undefined;
  readonly #zero = new Map<number, boolean>();

  /** Whether a present, non-exclusive anonymous page (its entry's low and high words) is counted in RSS. */
  counted(lo: number, hi: number): boolean {
    const pfn = (hi & 0x7f_ffff) * 2 ** 32 + lo; // bits 0-54
    if (pfn === 0) return false;
    let zero = this.#zero.get(pfn);
    if (zero === undefined) {
      if (this.#fd === undefined) {
        try {
          this.#fd = fs.openSync("/proc/kpageflags", "r");
        } catch {
          this.#fd = null;
        }
      }
      if (this.#fd === null) return false;
      const b = new Uint8Array(8);
      try {
        if (fs.readSync(this.#fd, b, 0, 8, pfn * 8) !== 8) return false;
      } catch {
        return false;
      }
      zero = (b[3] & 0x01) !== 0; // KPF_ZERO_PAGE = 24
      this.#zero.set(pfn, zero);
    }
    return !zero;
  }

  close(): void {
    if (typeof this.#fd === "number") fs.closeSync(this.#fd);
    this.#fd = null;
  }
}
