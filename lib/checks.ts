/**
 * Argument checks shared by every public entry point. They run before anything native is called, so bad input
 * can never reach C.
 * @module
 */

/** Largest size pymem accepts: beyond 2^53 a JavaScript number cannot hold every integer. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** A byte count: a non-negative integer number (TypeError if not a number, RangeError otherwise). */
export function checkSize(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be a number, got ${value === null ? "null" : typeof value}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_SIZE) {
    throw new RangeError(`${what} must be a whole number from 0 to 2^53-1, got ${value}`);
  }
  return value;
}

/** A native address: a bigint in [0, 2^64). */
export function checkAddress(value: unknown, what: string): bigint {
  if (typeof value !== "bigint") {
    throw new TypeError(`${what} must be a bigint address, got ${value === null ? "null" : typeof value}`);
  }
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`${what} is not a 64-bit address: ${value}`);
  return value;
}
