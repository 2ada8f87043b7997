/**
 * Generated machine code: the few dozen bytes pymem needs where a JavaScript callback would be too slow or unsafe.
 *
 * CPython calls an allocator as `malloc(ctx, size)` from any thread (raw-domain calls need no GIL), millions of
 * times a second. A JS callback per call would cost microseconds and cannot run off the JS thread, so pymem writes
 * small functions into executable pages instead, as libffi closures do:
 *
 * - **bridges** drop the `ctx` argument: `bridge_malloc(ctx, n) → malloc(n)`, so a library with plain
 *   malloc/calloc/realloc/free functions (jemalloc, tcmalloc, mimalloc) can serve a PyMemAllocatorEx;
 * - **counting hooks** count a call (atomically, so any thread may call them), add the requested size to a byte
 *   counter and to a log2 size histogram, then tail-call the previous allocator's function;
 * - **call loops** call an allocator pair N times from native code, so a benchmark measures the call, not the FFI.
 *
 * Pages are mapped read-write, filled, then switched to read-execute (never writable and executable at once). Code
 * that CPython may still call is never unmapped: a thread can be inside a hook or bridge at any moment (raw-domain
 * calls run without the GIL), and CPython keeps calling an installed allocator until the process exits.
 *
 * x86-64 (System V) is generated, run and tested. aarch64 (AAPCS64) encodings are written and checked against
 * binutils' disassembler only: no aarch64 machine was available to run them, so treat that path as untested.
 * Other architectures get PymemError("UNSUPPORTED").
 * @module
 */
import process from "node:process";
import { PymemError } from "./errors.ts";
import type { Native } from "./native.ts";

/** The instruction sets pymem can generate code for. */
export type Arch = "x64" | "arm64";

/** Four allocator-shaped function addresses. */
export interface FunctionSet {
  malloc: bigint;
  calloc: bigint;
  realloc: bigint;
  free: bigint;
}

/** Counters of one hook slot: calls per function, bytes requested, and the log2 size histogram. */
export interface HookCounts {
  malloc: number;
  calloc: number;
  realloc: number;
  free: number;
  /** Sum of the sizes requested by malloc (n), calloc (nelem × elsize) and realloc (the new size). */
  bytes: number;
  /**
   * `HISTOGRAM_BUCKETS` counts of requested sizes: bucket 0 holds sizes 0 and 1, bucket k (1 ≤ k < 32) holds
   * [2^k, 2^(k+1)), bucket 32 holds 2^32 and above.
   */
  histogram: number[];
}

/** Number of histogram buckets: 0–1, 2–3, 4–7, …, 2^31–(2^32−1), ≥ 2^32. */
export const HISTOGRAM_BUCKETS = 33;

/** Lower bound (inclusive) of a histogram bucket, for labelling. */
export function bucketFloor(k: number): number {
  return k === 0 ? 0 : 2 ** k;
}

const PAGE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20; // Linux value; other systems are refused in hostArch()
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** The architecture of this process, or PymemError("UNSUPPORTED"). */
export function hostArch(): Arch {
  if (process.platform !== "linux") {
    throw new PymemError(
      "UNSUPPORTED",
      `Generated allocator code is implemented for Linux only (this is ${process.platform}/${process.arch})`,
    );
  }
  if (process.arch === "x64") return "x64";
  if (process.arch === "arm64") return "arm64";
  throw new PymemError(
    "UNSUPPORTED",
    `Generated allocator code exists for x86-64 and aarch64 only (this is ${process.arch})`,
  );
}

// ---- little helpers for writing code -------------------------------------------------------------------------

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function le64(v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0n; i < 64n; i += 8n) out.push(Number((v >> i) & 0xffn));
  return out;
}

/** One aarch64 instruction word as its four little-endian bytes. */
function a64(word: number): number[] {
  return le32(word >>> 0);
}

function pad(code: number[], to: number, fill: number): void {
  if (code.length > to) throw new Error(`codegen: ${code.length} bytes do not fit in ${to}`);
  while (code.length < to) code.push(fill);
}

// x86-64 fill: int3, so a stray jump into padding traps instead of sliding.
const X64_FILL = 0xcc;

// ---- bridges: allocator(ctx, …) → plain function(…) ------------------------------------------------------------

/** Bytes per bridge function (each starts 16-byte aligned). */
const BRIDGE_STRIDE = 32;

/**
 * Code for four ctx-dropping bridges, in the order malloc, calloc, realloc, free, each at `i * BRIDGE_STRIDE`.
 * The targets are embedded as immediates: a bridge set is written once and never changes.
 */
export function bridgeCode(arch: Arch, target: FunctionSet): Uint8Array {
  const code: number[] = [];
  const fns: [bigint, number][] = [
    [target.malloc, 1], // malloc(ctx, n)           → malloc(n)            one argument moves down
    [target.calloc, 2], // calloc(ctx, nelem, el)   → calloc(nelem, el)    two
    [target.realloc, 2], // realloc(ctx, p, n)      → realloc(p, n)        two
    [target.free, 1], //   free(ctx, p)             → free(p)              one
  ];
  fns.forEach(([addr, shift], i) => {
    const start = i * BRIDGE_STRIDE;
    if (arch === "x64") {
      code.push(0xf3, 0x0f, 0x1e, 0xfa); //              endbr64             (a no-op unless IBT is enforced)
      code.push(0x48, 0x89, 0xf7); //                    mov rdi, rsi
      if (shift === 2) code.push(0x48, 0x89, 0xd6); //   mov rsi, rdx
      code.push(0x49, 0xbb, ...le64(addr)); //           movabs r11, <target>
      code.push(0x41, 0xff, 0xe3); //                    jmp r11             (tail call: the target returns to our caller)
      pad(code, start + BRIDGE_STRIDE, X64_FILL);
    } else {
      code.push(...a64(0xd503245f)); //                  bti c               (a no-op unless BTI is enforced)
      code.push(...a64(0xaa0103e0)); //                  mov x0, x1
      code.push(...a64(shift === 2 ? 0xaa0203e1 : 0xd503201f)); // mov x1, x2  |  nop
      code.push(...a64(0x58000050)); //                  ldr x16, .+8        (the literal two words below)
      code.push(...a64(0xd61f0200)); //                  br x16
      code.push(...a64(0xd503201f)); //                  nop                 (8-byte alignment for the literal)
      code.push(...le64(addr)); //                       .quad <target>
      pad(code, start + BRIDGE_STRIDE, 0);
    }
  });
  return new Uint8Array(code);
}

