/**
 * Number formats every report shares.
 * @module
 */

/** "412 MiB", "3.1 MiB", "512 KiB", "48 B" (binary units; one decimal below 100). */
export function formatBytes(n: number): string {
  const sign = n < 0 ? "-" : "";
  let v = Math.abs(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 || v >= 100 || Number.isInteger(v) ? 0 : 1;
  return `${sign}${v.toFixed(digits)} ${units[u]}`;
}

/** An integer with thousands separators ("1,234,567"). */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
