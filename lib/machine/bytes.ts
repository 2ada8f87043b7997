/**
 * Little-endian integers in byte arrays: the one reader and writer every layer uses for native structs, ELF data,
 * instruction immediates and another process's memory (all little-endian on the machines pymem runs on).
 * @module
 */

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Unsigned 64-bit at `offset`. */
export function u64le(b: Uint8Array, offset = 0): bigint {
  return view(b).getBigUint64(offset, true);
}

/** Unsigned 64-bit at `offset` as a number (exact below 2^53: addresses and sizes). */
export function u64leNumber(b: Uint8Array, offset = 0): number {
  return u32le(b, offset) + u32le(b, offset + 4) * 0x1_0000_0000;
}

/** Unsigned 32-bit at `offset`. */
export function u32le(b: Uint8Array, offset = 0): number {
  return view(b).getUint32(offset, true);
}

/** Signed 32-bit at `offset`. */
export function i32le(b: Uint8Array, offset = 0): number {
  return view(b).getInt32(offset, true);
}

/** The four bytes of a 32-bit value. */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** The eight bytes of a 64-bit value. */
export function le64(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0n; i < 64n; i += 8n) out.push(Number((v >> i) & 0xffn));
  return out;
}

/**
 * Write `struct iovec { void *iov_base; size_t iov_len; }` number `i` into an array of them viewed as u32 words
 * (little-endian halves: addresses and lengths below 2^53 are exact as numbers).
 */
export function setIovec(words: Uint32Array, i: number, base: number, length: number): void {
  const k = 4 * i;
  words[k] = base >>> 0;
  words[k + 1] = Math.floor(base / 0x1_0000_0000);
  words[k + 2] = length >>> 0;
  words[k + 3] = Math.floor(length / 0x1_0000_0000);
}
