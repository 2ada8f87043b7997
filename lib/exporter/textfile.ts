/**
 * `--textfile DIR`: the same metrics written to `DIR/pymem.prom` for node_exporter's textfile collector
 * (`--collector.textfile.directory DIR`), every `--interval` seconds, instead of serving HTTP.
 *
 * Each write is atomic: the text goes to a temporary file in the same directory (node_exporter reads only `*.prom`,
 * so it never sees a half-written one), is flushed to disk, then renamed over the previous file. The temporary name
 * is random and created exclusively (never through a planted symlink), and DIR must be one no other user controls.
 * The text format 0.0.4 is used, the only one node_exporter's collector reads.
 * @module
 */
import * as fs from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { PymemError } from "../errors.ts";
import { encode } from "./metrics.ts";
import type { Scraper } from "./scrape.ts";

/** The file name written in DIR. */
export const TEXTFILE_NAME = "pymem.prom";

/**
 * Throw PymemError("PERMISSION") unless `dir` is a directory no one else can plant files in: owned by this user or
 * root, and not writable by others unless it has the sticky bit (as /tmp), where no one can remove or replace
 * another user's file. The exporter often runs as root: a directory someone else controls would let them aim its
 * writes (symlinks, hard links, a renamed directory).
 */
export function checkTextfileDir(dir: string): void {
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new PymemError("INVALID_STATE", `--textfile: ${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid === undefined) return; // no owners to compare (not POSIX)
  if (st.uid !== uid && st.uid !== 0) {
    throw new PymemError(
      "PERMISSION",
      `--textfile: ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid}) or root: its owner could redirect ` +
        "the writes; use a directory of your own",
    );
  }
  const sticky = (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o002) !== 0 && !sticky) {
    throw new PymemError(
      "PERMISSION",
      `--textfile: ${dir} is writable by every user (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit: ` +
        `anyone could replace what is written there; use a directory only you can write (chmod o-w ${dir})`,
    );
  }
}

/** A name no one can guess ahead of the write, so none can be planted (node_exporter ignores names not *.prom). */
function tempName(): string {
  const random = crypto.getRandomValues(new Uint8Array(12));
  return `.${TEXTFILE_NAME}.${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}.tmp`;
}

/** Write one scrape to `dir/pymem.prom` atomically; returns the file's path. */
export async function writeTextfile(scraper: Scraper, dir: string, deadlineMs?: number): Promise<string> {
  checkTextfileDir(dir);
  const set = await scraper.scrape(deadlineMs);
  const text = encode(set, "prometheus");
  const final = join(dir, TEXTFILE_NAME);
  const tmp = join(dir, tempName());
  let created = false;
  try {
    // Exclusive, and never through a symlink: whatever already has this name is not ours to write.
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    created = true;
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // rename replaces the name pymem.prom (a symlink there included), never what it points to.
    fs.renameSync(tmp, final);
  } catch (e) {
    if (created) {
      try {
        fs.unlinkSync(tmp);
      } catch { /* renamed already */ }
    }
    throw new PymemError("INVALID_STATE", `cannot write ${final}: ${(e as Error).message}`);
  }
  return final;
}

/**
 * Write every `intervalS` seconds until `signal` aborts (or `count` writes are done). A scrape may take at most the
 * interval. A failed write is reported through `log`, counted in the next file that is written
 * (`pymem_exporter_textfile_write_failures_total`), and retried at the next interval. `started` is called once DIR
 * has been checked, before the first write.
 */
export async function runTextfile(
  scraper: Scraper,
  dir: string,
  intervalS: number,
  options: { count?: number; signal?: AbortSignal; log?: (line: string) => void; started?: () => void } = {},
): Promise<number> {
  checkTextfileDir(dir);
  options.started?.();
  // From now on every file written says when it was written and how many writes failed before it.
  scraper.textfileFailures ??= 0;
  let written = 0, failed = 0;
  while (!options.signal?.aborted && (options.count === undefined || written + failed < options.count)) {
    const t0 = performance.now();
    try {
      await writeTextfile(scraper, dir, intervalS * 1000);
      written++;
    } catch (e) {
      failed++;
      scraper.textfileFailures++;
      options.log?.(`textfile write failed: ${(e as Error).message}`);
    }
    if (options.count !== undefined && written + failed >= options.count) break;
    const wait = Math.max(0, intervalS * 1000 - (performance.now() - t0));
    await new Promise<void>((r) => {
      const t = setTimeout(r, wait);
      options.signal?.addEventListener("abort", () => {
        clearTimeout(t);
        r();
      }, { once: true });
    });
  }
  return failed;
}
