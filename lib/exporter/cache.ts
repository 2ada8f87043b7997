/**
 * The attachment cache of one exporter worker: an {@link AttachedPython} per live target, keyed by pid + start
 * time, so a scrape re-reads the heap of a known process without finding its CPython image, version and obmalloc
 * state again. At each new scrape, an entry whose process is gone (no such pid, or another start time) is closed,
 * releasing the image file and the reader; so is one no scrape asked about for {@link IDLE_SCRAPES} scrapes (a
 * process now filtered out, or read by another worker). A live target the scheduler leaves unread for a few scrapes
 * (its figures served from its last read) keeps its attachment.
 * @module
 */
import type { AttachedPython } from "../attach/attach.ts";
import { readStat } from "./discovery.ts";

/** Scrapes an entry of a live process may go unused before it is closed. */
export const IDLE_SCRAPES = 10;

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

  /** A new scrape began: close the entries of processes that are gone, or unused for {@link IDLE_SCRAPES}. */
  beginScrape(scrape: number): void {
    if (scrape <= this.#scrape) return;
    this.#scrape = scrape;
    for (const [key, e] of this.#entries) {
      const [pid, start] = key.split(":").map(Number);
      if (e.lastScrape < scrape - IDLE_SCRAPES || readStat(pid)?.start !== start) this.drop(key);
    }
  }

  close(): void {
    for (const key of [...this.#entries.keys()]) this.drop(key);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
