/**
 * `--textfile DIR`: the same metrics written to `DIR/pymem.prom` for node_exporter's textfile collector
 * (`--collector.textfile.directory DIR`), every `--interval` seconds, instead of serving HTTP.
 *
 * Each write is atomic: the text goes to a temporary file in the same directory (node_exporter reads only `*.prom`,
 * so it never sees a half-written one), is flushed to disk, then renamed over the previous file. The text format
 * 0.0.4 is used, the only one node_exporter's collector reads.
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

/** Write one scrape to `dir/pymem.prom` atomically; returns the file's path. */
export async function writeTextfile(scraper: Scraper, dir: string, deadlineMs?: number): Promise<string> {
  const set = await scraper.scrape(deadlineMs);
  const text = encode(set, "prometheus");
  const final = join(dir, TEXTFILE_NAME);
  const tmp = join(dir, `.${TEXTFILE_NAME}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, "w", 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, final);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch { /* never created */ }
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
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new PymemError("INVALID_STATE", `--textfile: ${dir} is not a directory`);
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
