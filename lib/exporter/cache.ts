/**
 * The attachment cache of one exporter worker: an {@link AttachedPython} per live target, keyed by pid + start
 * time, so a scrape re-reads the heap of a known process without finding its CPython image, version and obmalloc
 * state again. An entry that was not used in the current or the previous scrape belongs to a process that is gone
 * (or no longer matches): it is closed, releasing the image file and the reader.
 * @module
 */
import type { AttachedPython } from "../attach/attach.ts";

/** What is cached about one target besides the attachment: the labels, fixed for the process's life. */
export interface CachedTarget {
  py: AttachedPython;
  /** readlink of /proc/PID/exe when attached: a process that execs another program is attached again. */
  exe: string;
  cmd: string;
  lastScrape: number;
}

export class AttachmentCache {
  readonly #entries = new Map<string, CachedTarget>();
  #scrape = 0;

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): CachedTarget | undefined {
    const e = this.#entries.get(key);
    if (e) e.lastScrape = this.#scrape;
    return e;
  }

  set(key: string, entry: Omit<CachedTarget, "lastScrape">): void {
    this.drop(key);
    this.#entries.set(key, { ...entry, lastScrape: this.#scrape });
  }

  /** Close and forget one entry (its process exec'd, or a read failed). */
  drop(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    e.py.close();
  }

  /** A new scrape began: close the entries that neither this one nor the previous one used. */
  beginScrape(scrape: number): void {
    if (scrape <= this.#scrape) return;
    this.#scrape = scrape;
    for (const [key, e] of this.#entries) if (e.lastScrape < scrape - 1) this.drop(key);
  }

  close(): void {
    for (const key of [...this.#entries.keys()]) this.drop(key);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
