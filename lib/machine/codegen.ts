/**
 * Generated machine code (the bytes): the few dozen bytes pymem needs where a JavaScript callback would be too slow or unsafe.
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
 * What they cost per call is measured by bench/allocator_bridge.ts (figures in BENCHMARKS.md).
 *
 * This file only writes the bytes: lib/machine/exec-pages.ts maps them executable, lib/machine/threads.ts runs code
 * on a pthread, and lib/allocators/generated-functions.ts turns them into allocator functions and hook slots.
 * Each generator's assembly source is beside this file (bridges.*.s, hooks.*.s, call-loop.x86_64.s), with the patched
 * addresses as symbols; tests/machine_code_test.ts assembles them and compares (docs/architecture.md, "Generated
 * machine code"). Change the source first, then the generator to match.
 *
 * x86-64 (System V) is generated, run and tested. aarch64 (AAPCS64) encodings are checked against their sources
 * assembled with GNU as only: no aarch64 machine was available to run them, so treat that path as untested.
 * Other architectures get PymemError("UNSUPPORTED").
 * @module
 */
import process from "node:process";
import { PymemError } from "../errors.ts";
import { le32, le64 } from "./bytes.ts";

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

/** Bytes per bridge function (each starts 64-byte aligned). */
export const BRIDGE_STRIDE = 64;

/**
 * Code for four ctx-dropping bridges, in the order malloc, calloc, realloc, free, each at `i * BRIDGE_STRIDE`.
 * The targets are embedded as immediates: a bridge set is written once and never changes.
 *
 * Like CPython's own raw allocator (_PyMem_RawMalloc and friends), the bridges turn size 0 into 1: CPython expects
 * `malloc(0)` and `realloc(p, 0)` to return a unique non-NULL block, while glibc, jemalloc and tcmalloc free the
 * block and return NULL for `realloc(p, 0)` (CPython 3.11 then fails at start-up with a MemoryError).
 */
export function bridgeCode(arch: Arch, target: FunctionSet): Uint8Array {
  const code: number[] = [];
  const x64Tail = (addr: bigint) => {
    code.push(0x49, 0xbb, ...le64(addr)); //             movabs r11, <target>
    code.push(0x41, 0xff, 0xe3); //                      jmp r11             (tail call: the target returns to our caller)
  };
  const a64Tail = (start: number, addr: bigint) => {
    const ldr = code.length;
    code.push(...a64(A64.ldrLit(16, start + 56 - ldr))); // ldr x16, <literal at +56>
    code.push(...a64(A64.br(16))); //                    br x16              (tail call)
    pad(code, start + 56, 0);
    code.push(...le64(addr)); //                         .quad <target>
  };
  // malloc(ctx, n) → malloc(n ? n : 1)
  let start = code.length;
  if (arch === "x64") {
    code.push(0xf3, 0x0f, 0x1e, 0xfa); //                endbr64             (a no-op unless IBT is enforced)
    code.push(0x48, 0x83, 0xfe, 0x01); //                cmp rsi, 1          (CF = n == 0)
    code.push(0x48, 0x83, 0xd6, 0x00); //                adc rsi, 0          n += CF
    code.push(0x48, 0x89, 0xf7); //                      mov rdi, rsi
    x64Tail(target.malloc);
    pad(code, start + BRIDGE_STRIDE, X64_FILL);
  } else {
    code.push(...a64(A64.btiC)); //                      bti c               (a no-op unless BTI is enforced)
    code.push(...a64(0xf100003f)); //                    cmp x1, #0
    code.push(...a64(0x9a811420)); //                    cinc x0, x1, eq     x0 = n ? n : 1
    a64Tail(start, target.malloc);
  }
  // calloc(ctx, nelem, elsize) → calloc(nelem, elsize), or calloc(1, 1) when either is 0
  start = code.length;
  if (arch === "x64") {
    code.push(0xf3, 0x0f, 0x1e, 0xfa); //                endbr64
    code.push(0x48, 0x89, 0xf7); //                      mov rdi, rsi
    code.push(0x48, 0x89, 0xd6); //                      mov rsi, rdx
    code.push(0x48, 0x85, 0xff); //                      test rdi, rdi
    code.push(0x74, 0x05); //                            jz .fix
    code.push(0x48, 0x85, 0xf6); //                      test rsi, rsi
    code.push(0x75, 0x0a); //                            jnz .go
    code.push(0xbf, 0x01, 0x00, 0x00, 0x00); //          .fix: mov edi, 1
    code.push(0xbe, 0x01, 0x00, 0x00, 0x00); //          mov esi, 1
    x64Tail(target.calloc); //                           .go:
    pad(code, start + BRIDGE_STRIDE, X64_FILL);
  } else {
    code.push(...a64(A64.btiC)); //                      bti c
    code.push(...a64(A64.mov(0, 1))); //                 mov x0, x1
    code.push(...a64(A64.mov(1, 2))); //                 mov x1, x2
    code.push(...a64(0xf100001f)); //                    cmp x0, #0
    code.push(...a64(0xfa401824)); //                    ccmp x1, #0, #4, ne   (Z set when either is 0)
    code.push(...a64(0x9a9f1400)); //                    csinc x0, x0, xzr, ne x0 = Z ? 1 : x0
    code.push(...a64(0x9a9f1421)); //                    csinc x1, x1, xzr, ne x1 = Z ? 1 : x1
    a64Tail(start, target.calloc);
  }
  // realloc(ctx, p, n) → realloc(p, n ? n : 1)
  start = code.length;
  if (arch === "x64") {
    code.push(0xf3, 0x0f, 0x1e, 0xfa); //                endbr64
    code.push(0x48, 0x83, 0xfa, 0x01); //                cmp rdx, 1          (CF = n == 0)
    code.push(0x48, 0x83, 0xd2, 0x00); //                adc rdx, 0          n += CF
    code.push(0x48, 0x89, 0xf7); //                      mov rdi, rsi
    code.push(0x48, 0x89, 0xd6); //                      mov rsi, rdx
    x64Tail(target.realloc);
    pad(code, start + BRIDGE_STRIDE, X64_FILL);
  } else {
    code.push(...a64(A64.btiC)); //                      bti c
    code.push(...a64(A64.mov(0, 1))); //                 mov x0, x1
    code.push(...a64(0xf100005f)); //                    cmp x2, #0
    code.push(...a64(0x9a821441)); //                    cinc x1, x2, eq     x1 = n ? n : 1
    a64Tail(start, target.realloc);
  }
  // free(ctx, p) → free(p)
  start = code.length;
  if (arch === "x64") {
    code.push(0xf3, 0x0f, 0x1e, 0xfa); //                endbr64
    code.push(0x48, 0x89, 0xf7); //                      mov rdi, rsi
    x64Tail(target.free);
    pad(code, start + BRIDGE_STRIDE, X64_FILL);
  } else {
    code.push(...a64(A64.btiC)); //                      bti c
    code.push(...a64(A64.mov(0, 1))); //                 mov x0, x1
    a64Tail(start, target.free);
  }
  return new Uint8Array(code);
}

// ---- counting hooks --------------------------------------------------------------------------------------------

/**
 * Hook data slot layout (one per hooked domain). Data lives in its own read-write mapping; the code holds the
 * slot's absolute address, so code and data need not share a page (aarch64 kernels may use 16 or 64 KiB pages).
 *   0  old malloc, 8 old calloc, 16 old realloc, 24 old free     (the previous allocator's functions)
 *   64 n_malloc, 72 n_calloc, 80 n_realloc, 88 n_free, 96 bytes  (counters, on their own cache lines)
 *   128 histogram[33]                                            (u64 each)
 * The previous allocator's ctx is not stored: a hook is installed with the previous ctx as its own ctx and passes
 * its first argument through unchanged. So a thread that reads a half-copied PyMemAllocatorEx while
 * PyMem_SetAllocator runs (raw-domain callers take no lock) still pairs every function with a ctx it accepts.
 */
export const SLOT = {
  size: 512,
  oldMalloc: 0,
  oldCalloc: 8,
  oldRealloc: 16,
  oldFree: 24,
  nMalloc: 64,
  nCalloc: 72,
  nRealloc: 80,
  nFree: 88,
  bytes: 96,
  histogram: 128,
} as const;

/** Bytes per hook function: 64 on x86-64, 128 on aarch64 (its atomic loops are longer). */
export function hookStride(arch: Arch): number {
  return arch === "x64" ? 64 : 128;
}
/** Hook slots made per mapping. */
export const SLOTS_PER_MAPPING = 16;

/**
 * x86-64 code of one hook slot: malloc, calloc, realloc and free hooks at 0, 64, 128, 192. r11 = slot + 64 (the
 * counters; old functions at −64…−40, so every displacement fits a byte), rax/rcx scratch; rdi, rsi, rdx (the
 * arguments) are never touched, so the tail call forwards them as they came.
 */
function x64Hooks(slot: bigint): number[] {
  const code: number[] = [];
  const start = () => {
    code.push(0xf3, 0x0f, 0x1e, 0xfa); //                 endbr64
    code.push(0x49, 0xbb, ...le64(slot + 64n)); //        movabs r11, <slot + 64>
  };
  // The histogram bucket of the size in rax: min(bsr(rax | 1), 32), then one atomic increment.
  const histogram = () =>
    code.push(
      0x48,
      0x83,
      0xc8,
      0x01, //                          or rax, 1            (bsr(0) is undefined; 0 and 1 share bucket 0)
      0x48,
      0x0f,
      0xbd,
      0xc0, //                          bsr rax, rax         (index of the highest set bit = floor(log2))
      0xb9,
      0x20,
      0x00,
      0x00,
      0x00, //                    mov ecx, 32
      0x48,
      0x39,
      0xc8, //                                cmp rax, rcx
      0x48,
      0x0f,
      0x47,
      0xc1, //                          cmova rax, rcx       (sizes ≥ 2^32 share the last bucket)
      0xf0,
      0x49,
      0xff,
      0x44,
      0xc3,
      0x40, //              lock inc qword [r11 + rax*8 + 64]   (histogram, slot + 128)
    );
  // malloc(ctx = rdi, n = rsi)
  start();
  code.push(0xf0, 0x49, 0xff, 0x43, 0x00); //             lock inc qword [r11 + 0]          n_malloc++
  code.push(0xf0, 0x49, 0x01, 0x73, 0x20); //             lock add qword [r11 + 32], rsi    bytes += n
  code.push(0x48, 0x89, 0xf0); //                         mov rax, rsi
  histogram();
  code.push(0x41, 0xff, 0x63, 0xc0); //                   jmp qword [r11 - 64]              → old malloc(ctx, n)
  pad(code, 64, X64_FILL);
  // calloc(ctx = rdi, nelem = rsi, elsize = rdx); CPython refuses nelem * elsize overflows before calling.
  start();
  code.push(0xf0, 0x49, 0xff, 0x43, 0x08); //             lock inc qword [r11 + 8]          n_calloc++
  code.push(0x48, 0x89, 0xf0); //                         mov rax, rsi
  code.push(0x48, 0x0f, 0xaf, 0xc2); //                   imul rax, rdx                     rax = nelem * elsize
  code.push(0xf0, 0x49, 0x01, 0x43, 0x20); //             lock add qword [r11 + 32], rax    bytes += rax
  histogram();
  code.push(0x41, 0xff, 0x63, 0xc8); //                   jmp qword [r11 - 56]              → old calloc(ctx, nelem, elsize)
  pad(code, 128, X64_FILL);
  // realloc(ctx = rdi, p = rsi, n = rdx)
  start();
  code.push(0xf0, 0x49, 0xff, 0x43, 0x10); //             lock inc qword [r11 + 16]         n_realloc++
  code.push(0xf0, 0x49, 0x01, 0x53, 0x20); //             lock add qword [r11 + 32], rdx    bytes += n
  code.push(0x48, 0x89, 0xd0); //                         mov rax, rdx
  histogram();
  code.push(0x41, 0xff, 0x63, 0xd0); //                   jmp qword [r11 - 48]              → old realloc(ctx, p, n)
  pad(code, 192, X64_FILL);
  // free(ctx = rdi, p = rsi)
  start();
  code.push(0xf0, 0x49, 0xff, 0x43, 0x18); //             lock inc qword [r11 + 24]         n_free++
  code.push(0x41, 0xff, 0x63, 0xd8); //                   jmp qword [r11 - 40]              → old free(ctx, p)
  pad(code, 256, X64_FILL);
  return code;
}

// aarch64 encoders for the few instruction forms the hooks use (Arm ARM, A64 base instructions). x16/x17 are the
// intra-procedure-call scratch registers and x9–x12 caller-saved temporaries, so x0–x2 (the arguments) reach the
// tail call untouched.
const A64 = {
  btiC: 0xd503245f, //                                                                 bti c
  nop: 0xd503201f, //                                                                  nop
  ldrLit: (rt: number, bytes: number) => 0x58000000 | (((bytes >> 2) & 0x7ffff) << 5) | rt, // ldr xt, .+bytes
  addImm: (rd: number, rn: number, imm12: number) => 0x91000000 | (imm12 << 10) | (rn << 5) | rd, // add xd, xn, #imm
  addReg: (rd: number, rn: number, rm: number, lsl = 0) => 0x8b000000 | (rm << 16) | (lsl << 10) | (rn << 5) | rd,
  mov: (rd: number, rm: number) => 0xaa0003e0 | (rm << 16) | rd, //                   orr xd, xzr, xm
  ldxr: (rt: number, rn: number) => 0xc85f7c00 | (rn << 5) | rt, //                   ldxr xt, [xn]
  stxr: (rs: number, rt: number, rn: number) => 0xc8007c00 | (rs << 16) | (rn << 5) | rt, // stxr ws, xt, [xn]
  cbnzBack3: (rt: number) => 0x35000000 | ((-3 & 0x7ffff) << 5) | rt, //               cbnz wt, .-12
  orr1: (rd: number, rn: number) => 0xb2400000 | (rn << 5) | rd, //                   orr xd, xn, #1
  clz: (rd: number, rn: number) => 0xdac01000 | (rn << 5) | rd, //                    clz xd, xn
  movz: (rd: number, imm16: number) => 0xd2800000 | (imm16 << 5) | rd, //             mov xd, #imm16
  sub: (rd: number, rn: number, rm: number) => 0xcb000000 | (rm << 16) | (rn << 5) | rd, // sub xd, xn, xm
  cmp: (rn: number, rm: number) => 0xeb00001f | (rm << 16) | (rn << 5), //            cmp xn, xm
  cselHi: (rd: number, rn: number, rm: number) => 0x9a808000 | (rm << 16) | (rn << 5) | rd, // csel xd, xn, xm, hi
  mul: (rd: number, rn: number, rm: number) => 0x9b007c00 | (rm << 16) | (rn << 5) | rd, // mul xd, xn, xm
  ldr: (rt: number, rn: number, imm: number) => 0xf9400000 | ((imm >> 3) << 10) | (rn << 5) | rt, // ldr xt, [xn, #imm]
  br: (rn: number) => 0xd61f0000 | (rn << 5), //                                       br xn
} as const;

/**
 * aarch64 code of one hook slot: functions at 0, 128, 256, 384, each ending with the slot address as a literal at
 * +120. UNTESTED on hardware (checked against hooks.aarch64.s assembled with GNU as only). Exclusive load/store
 * loops rather than LSE atomics, so ARMv8.0 cores run it too. x16 = slot, x17 = counter address, x9/x10 = loop
 * value/status, x11/x12 = histogram bucket.
 */
function a64Hooks(slot: bigint): number[] {
  const code: number[] = [];
  const emit = (...words: number[]) => words.forEach((w) => code.push(...a64(w)));
  let fnStart = 0;
  const start = () => {
    fnStart = code.length;
    emit(A64.btiC); //                                     bti c
    emit(A64.ldrLit(16, 120 - 4)); //                      ldr x16, <slot literal at fn + 120>
  };
  // Atomically add register `addend` (1 when null) to the u64 at x16 + off.
  const atomicAdd = (off: number, addend: number | null) => {
    emit(A64.addImm(17, 16, off)); //                      add x17, x16, #off
    emit(A64.ldxr(9, 17)); //                              1: ldxr x9, [x17]
    emit(addend === null ? A64.addImm(9, 9, 1) : A64.addReg(9, 9, addend)); // add x9, x9, #1 | add x9, x9, x<addend>
    emit(A64.stxr(10, 9, 17)); //                          stxr w10, x9, [x17]
    emit(A64.cbnzBack3(10)); //                            cbnz w10, 1b
  };
  // Histogram bucket of the size in x11: min(63 - clz(x11 | 1), 32); one atomic increment.
  const histogram = () => {
    emit(A64.orr1(11, 11)); //                             orr x11, x11, #1
    emit(A64.clz(11, 11)); //                              clz x11, x11
    emit(A64.movz(12, 63)); //                             mov x12, #63
    emit(A64.sub(11, 12, 11)); //                          sub x11, x12, x11        floor(log2(size))
    emit(A64.movz(12, 32)); //                             mov x12, #32
    emit(A64.cmp(11, 12)); //                              cmp x11, x12
    emit(A64.cselHi(11, 12, 11)); //                       csel x11, x12, x11, hi
    emit(A64.addImm(17, 16, SLOT.histogram)); //           add x17, x16, #128
    emit(A64.addReg(17, 17, 11, 3)); //                    add x17, x17, x11, lsl #3
    emit(A64.ldxr(9, 17)); //                              1: ldxr x9, [x17]
    emit(A64.addImm(9, 9, 1)); //                          add x9, x9, #1
    emit(A64.stxr(10, 9, 17)); //                          stxr w10, x9, [x17]
    emit(A64.cbnzBack3(10)); //                            cbnz w10, 1b
  };
  const tail = (old: number) => {
    emit(A64.ldr(16, 16, old)); //                         ldr x16, [x16, #old]
    emit(A64.br(16)); //                                   br x16                   → old fn(x0 = ctx, x1, x2)
    pad(code, fnStart + 120, 0);
    code.push(...le64(slot)); //                           .quad <slot>
  };
  start(); //                                              malloc(x0 = ctx, x1 = n)
  atomicAdd(SLOT.nMalloc, null);
  atomicAdd(SLOT.bytes, 1);
  emit(A64.mov(11, 1)); //                                 mov x11, x1
  histogram();
  tail(SLOT.oldMalloc);
  start(); //                                              calloc(x0 = ctx, x1 = nelem, x2 = elsize)
  atomicAdd(SLOT.nCalloc, null);
  emit(A64.mul(11, 1, 2)); //                              mul x11, x1, x2
  atomicAdd(SLOT.bytes, 11);
  histogram();
  tail(SLOT.oldCalloc);
  start(); //                                              realloc(x0 = ctx, x1 = p, x2 = n)
  atomicAdd(SLOT.nRealloc, null);
  atomicAdd(SLOT.bytes, 2);
  emit(A64.mov(11, 2)); //                                 mov x11, x2
  histogram();
  tail(SLOT.oldRealloc);
  start(); //                                              free(x0 = ctx, x1 = p)
  atomicAdd(SLOT.nFree, null);
  tail(SLOT.oldFree);
  return code;
}

/** Code for one hook slot whose data slot is at `slot`: malloc, calloc, realloc, free at `i * hookStride(arch)`. */
export function hookCode(arch: Arch, slot: bigint): Uint8Array {
  return new Uint8Array(arch === "x64" ? x64Hooks(slot) : a64Hooks(slot));
}

// ---- call loops (benchmarks and tests) -----------------------------------------------------------------------

/**
 * x86-64 code of `loop(alloc, free, ctx, n, size)`: n times `p = alloc(ctx, size); free(ctx, p)` (kind "ctx", the
 * PyMemAllocatorEx shape) or `p = alloc(size); free(p)` (kind "plain", libc's shape). Lets a benchmark time native
 * calls without paying an FFI crossing for each.
 */
export function callLoopCode(arch: Arch, kind: "ctx" | "plain"): Uint8Array {
  if (arch !== "x64") throw new PymemError("UNSUPPORTED", "call loops are generated for x86-64 only");
  const body = kind === "ctx"
    ? [
      0x4c,
      0x89,
      0xe7, //       mov rdi, r12          ctx
      0x4c,
      0x89,
      0xf6, //       mov rsi, r14          size
      0xff,
      0xd3, //             call rbx              p = alloc(ctx, size)
      0x4c,
      0x89,
      0xe7, //       mov rdi, r12          ctx
      0x48,
      0x89,
      0xc6, //       mov rsi, rax          p
      0xff,
      0xd5, //             call rbp              free(ctx, p)
    ]
    : [
      0x4c,
      0x89,
      0xf7, //       mov rdi, r14          size
      0xff,
      0xd3, //             call rbx              p = alloc(size)
      0x48,
      0x89,
      0xc7, //       mov rdi, rax          p
      0xff,
      0xd5, //             call rbp              free(p)
    ];
  const loopBody = [...body, 0x49, 0xff, 0xcd]; //     dec r13
  const back = -(3 + 2 + loopBody.length + 2); //      to `test` from after the jmp
  return new Uint8Array([
    0xf3,
    0x0f,
    0x1e,
    0xfa, //   endbr64
    0x53, //                     push rbx              (five pushes: rsp is 16-byte aligned for the calls)
    0x55, //                     push rbp
    0x41,
    0x54, //               push r12
    0x41,
    0x55, //               push r13
    0x41,
    0x56, //               push r14
    0x48,
    0x89,
    0xfb, //         mov rbx, rdi          alloc
    0x48,
    0x89,
    0xf5, //         mov rbp, rsi          free
    0x49,
    0x89,
    0xd4, //         mov r12, rdx          ctx
    0x49,
    0x89,
    0xcd, //         mov r13, rcx          n
    0x4d,
    0x89,
    0xc6, //         mov r14, r8           size
    0x4d,
    0x85,
    0xed, //         loop: test r13, r13
    0x74,
    loopBody.length + 2, // jz done
    ...loopBody,
    0xeb,
    back & 0xff, //        jmp loop
    0x41,
    0x5e, //               done: pop r14
    0x41,
    0x5d, //               pop r13
    0x41,
    0x5c, //               pop r12
    0x5d, //                     pop rbp
    0x5b, //                     pop rbx
    0xc3, //                     ret
  ]);
}
