/**
 * Terminal and file output of the CLI: reports on stdout, progress (on a TTY only) and notes on stderr, colour only
 * on a TTY and never with NO_COLOR.
 * @module
 */
import { fstatSync, writeFileSync } from "node:fs";
import process from "node:process";
import { PymemError } from "../errors.ts";
import { formatBytes } from "../report/text.ts";
import { UsageError } from "./command.ts";
import { residentBytes } from "../machine/proc.ts";

export const stdoutTTY = (): boolean => !!process.stdout.isTTY;
const stderrTTY = (): boolean => !!process.stderr.isTTY;
/** NO_COLOR (https://no-color.org): any non-empty value turns colour off. */
export const colorAllowed = (): boolean => !process.env.NO_COLOR;

/** Write text to a stream and wait until it is handed to the OS. */
/** Standard descriptors the user's code closed (now /dev/null, see runWorkload). */
export const closedByCode = new Set<number>();

export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  // A stream whose descriptor Python code closed also emits "error" (after the callback): unheard, that event would
  // end the process. The callback reports the failure; the event is only acknowledged.
  if (stream.listenerCount("error") === 0) stream.on("error", () => {});
  // Deno drops writes to a closed descriptor silently: ask first, so a lost report is an error everywhere.
  const fd = stream === process.stdout ? 1 : stream === process.stderr ? 2 : (stream as { fd?: number }).fd;
  if (typeof fd === "number" && closedByCode.has(fd)) {
    return Promise.reject(new Error(`cannot write to ${fd === 1 ? "stdout" : "stderr"}: the code closed it`));
  }
  if (typeof fd === "number") {
    try {
      fstatSync(fd);
    } catch {
      return Promise.reject(
        new Error(`cannot write to ${fd === 1 ? "stdout" : fd === 2 ? "stderr" : `fd ${fd}`}: it was closed`),
      );
    }
  }
  return new Promise((done, fail) => stream.write(text, (e) => (e ? fail(e) : done())));
}

/** `write`, for the error path: a stderr that cannot be written to loses the message, nothing more. */
export async function writeError(text: string): Promise<void> {
  try {
    await write(process.stderr, text);
  } catch { /* stderr closed: the exit status still says it */ }
}

/** A one-line status on stderr, only on a TTY, overwritten by the next and erased by `clear`. */
export const progress = {
  shown: false,
  say(text: string): void {
    if (!stderrTTY()) return;
    process.stderr.write(
      `\r\x1b[2K${colorAllowed() ? "\x1b[2m" : ""}pymem: ${text}…${colorAllowed() ? "\x1b[0m" : ""}`,
    );
    this.shown = true;
  },
  clear(): void {
    if (this.shown) process.stderr.write("\r\x1b[2K");
    this.shown = false;
  },
};

/** Write a report file ("-": stdout) and note it on stderr. */
export async function output(path: string, text: string, what: string): Promise<void> {
  if (path === "-") return write(process.stdout, text);
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new PymemError("INVALID_STATE", `cannot write ${what} to ${path}: ${(e as Error).message}`);
  }
  progress.clear();
  await write(process.stderr, `pymem: wrote ${what} to ${path} (${formatBytes(Buffer.byteLength(text))})\n`);
}

/** VmRSS of a process, in bytes; null when unreadable. */
export const rssOf = residentBytes;

export function positiveNumber(
  value: string | boolean | undefined,
  flag: string,
  integer: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (
    typeof value !== "string" || value.trim() === "" || !Number.isFinite(n) || n < 0 ||
    (integer && !Number.isInteger(n))
  ) {
    throw new UsageError(`--${flag} needs ${integer ? "a whole number" : "a number"} ≥ 0, got "${value}"`);
  }
  // Beyond 2^53 a whole number is not exact any more (1e300 passed here, and the library refused it: exit 1, not 2).
  if (integer && n > Number.MAX_SAFE_INTEGER) {
    throw new UsageError(`--${flag}: at most 2^53-1 (${Number.MAX_SAFE_INTEGER}), got "${value}"`);
  }
  return n;
}

/**
 * `attach --watch`'s loop: every `every` seconds (until Ctrl-C, or `count` re-samples) take a new sample and write
 * the line `line` makes of it and the one before. Returns the last sample and the seconds since the loop began.
 */
export async function resample<T>(
  stream: NodeJS.WriteStream,
  first: T,
  every: number,
  count: number | undefined,
  sample: () => T,
  line: (prev: T, last: T, seconds: number) => string,
): Promise<{ last: T; seconds: number }> {
  let stop = false;
  let wake: (() => void) | undefined;
  const onSigint = () => {
    stop = true;
    wake?.();
  };
  process.on("SIGINT", onSigint);
  let prev = first, last = first;
  const t0 = Date.now();
  try {
    for (let i = 0; !stop && (count === undefined || i < count); i++) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, every * 1000);
      });
      if (stop) break;
      last = sample();
      await write(stream, line(prev, last, (Date.now() - t0) / 1000) + "\n");
      prev = last;
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  return { last, seconds: (Date.now() - t0) / 1000 };
}
