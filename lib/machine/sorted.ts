/**
 * Searching sorted numbers: which range of a sorted list of starts holds a value (an arena, a pool, a mapping, an
 * ELF symbol).
 * @module
 */

/**
 * The index of the last of `sorted[0 .. length)` (ascending) that is at or below `x`, or -1 when every one is above
 * it.
 */
export function lastAtOrBelow(sorted: ArrayLike<number>, x: number, length = sorted.length): number {
  let lo = 0, hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
