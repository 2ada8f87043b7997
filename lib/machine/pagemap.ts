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
 * and is not counted in RSS: it counts as not resident, as does a private page shared with a forked parent.
 */
export function residentPages(pid: number | "self", start: number, length: number): Uint8Array | null {
  let fd: number;
  try {
    fd = fs.openSync(`/proc/${pid}/pagemap`, "r");
  } catch {
    return null;
  }
  try {
    const count = Math.floor(length / PAGE);
    const out = new Uint8Array(count);
    const buf = new Uint8Array(65536);
    const dv = new DataView(buf.buffer);
    for (let done = 0; done < count;) {
      const n = Math.min(count - done, buf.length / 8);
      const got = fs.readSync(fd, buf, 0, n * 8, (Math.floor(start / PAGE) + done) * 8);
      if (got !== n * 8) return null;
      for (let i = 0; i < n; i++) {
        const hi = dv.getUint32(i * 8 + 4, true);
        // bit 63 present, bit 61 file/shared-anon, bit 56 exclusively mapped (bits 32.. of the entry: hi >> (b - 32))
        if (hi & 0x8000_0000 && hi & (0x2000_0000 | 0x0100_0000)) out[done + i] = 1;
      }
      done += n;
    }
    return out;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
