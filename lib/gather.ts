/**
 * The native pass of the heap walk: generated x86-64 code that visits every carved pool header once, copies its
 * `ref.count` and `szidx` into a packed array, and sums used pools / blocks / bytes per arena and pools / blocks per
 * size class, in a single FFI call.
 *
 * Why: each runtime's zero-copy view costs time proportional to its length (V8 and JSC account external memory), so
 * viewing each 1 MiB arena costs 7–35 µs, more than CPython's whole C walk per arena; and a JavaScript pass over
 * tens of thousands of pools costs as much again as the memory reads. The walk is memory-bound: this loop reads
 * exactly what CPython's `pymalloc_print_stats` reads. All interpretation (validation, layout, per-pool arrays on
 * demand) stays in TypeScript. Other architectures use the JavaScript walk over views (correct, slower).
 * @module
 */
import { hostArch, mapCode } from "./codegen.ts";
import type { Native } from "./native.ts";

/*
 * void walk(const double *firsts, const uint32_t *carved, uint64_t narenas, uint64_t stride,
 *           uint32_t *pairs, uint32_t *perArena, uint32_t *perClass)
 *   for each arena a, for each of its carved[a] pools p (from firsts[a], stride apart):
 *     *pairs++ = {p->ref.count, p->szidx}
 *     if count > 0: if szidx > 31: perClass[64]++ (inconsistent) else
 *       used++, blocks += count, bytes += count * (szidx + 1) * 16, perClass[2*szidx] += 1, perClass[2*szidx+1] += count
 *   perArena[3a..3a+2] = {used, blocks, bytes}
 * SysV: rdi firsts, rsi carved, rdx narenas, rcx stride, r8 pairs, r9 perArena, [rsp+8] perClass (zeroed by caller).
 * Block sizes are (szidx + 1) * 16 in every CPython 3.8–3.14 (ALIGNMENT 16). Assembled with GNU as, bytes below.
 * (A prefetch four pools ahead was tried: no gain, the hardware already overlaps these misses.)
 */
const WALK_X64 = new Uint8Array([
  0x53,                                     // push rbx
  0x41, 0x54,                               // push r12
  0x41, 0x55,                               // push r13
  0x41, 0x56,                               // push r14
  0x41, 0x57,                               // push r15
  0x4c, 0x8b, 0x7c, 0x24, 0x30,             // mov r15,qword [rsp+0x30]
  0x48, 0x85, 0xd2,                         // test rdx,rdx
  0x74, 0x7a,                               // je done
  // outer:
  0xf2, 0x48, 0x0f, 0x2c, 0x07,             // cvttsd2si rax,qword [rdi]
  0x44, 0x8b, 0x16,                         // mov r10d,dword [rsi]
  0x45, 0x31, 0xe4,                         // xor r12d,r12d
  0x45, 0x31, 0xed,                         // xor r13d,r13d
  0x45, 0x31, 0xf6,                         // xor r14d,r14d
  0x4d, 0x85, 0xd2,                         // test r10,r10
  0x74, 0x48,                               // je store
  // inner:
  0x44, 0x8b, 0x18,                         // mov r11d,dword [rax]
  0x8b, 0x58, 0x24,                         // mov ebx,dword [rax+0x24]
  0x45, 0x89, 0x18,                         // mov dword [r8],r11d
  0x41, 0x89, 0x58, 0x04,                   // mov dword [r8+0x4],ebx
  0x49, 0x83, 0xc0, 0x08,                   // add r8,0x8
  0x45, 0x85, 0xdb,                         // test r11d,r11d
  0x74, 0x2a,                               // je skip
  0x83, 0xfb, 0x1f,                         // cmp ebx,0x1f
  0x76, 0x09,                               // jbe good
  0x41, 0xff, 0x87, 0x00, 0x01, 0x00, 0x00, // inc dword [r15+0x100]
  0xeb, 0x1c,                               // jmp skip
  // good:
  0x41, 0xff, 0xc4,                         // inc r12d
  0x45, 0x01, 0xdd,                         // add r13d,r11d
  0x41, 0xff, 0x04, 0xdf,                   // inc dword [r15+rbx*8]
  0x45, 0x01, 0x5c, 0xdf, 0x04,             // add dword [r15+rbx*8+0x4],r11d
  0x8d, 0x5b, 0x01,                         // lea ebx,[rbx+0x1]
  0xc1, 0xe3, 0x04,                         // shl ebx,0x4
  0x41, 0x0f, 0xaf, 0xdb,                   // imul ebx,r11d
  0x41, 0x01, 0xde,                         // add r14d,ebx
  // skip:
  0x48, 0x01, 0xc8,                         // add rax,rcx
  0x49, 0xff, 0xca,                         // dec r10
  0x75, 0xb8,                               // jne inner
  // store:
  0x45, 0x89, 0x21,                         // mov dword [r9],r12d
  0x45, 0x89, 0x69, 0x04,                   // mov dword [r9+0x4],r13d
  0x45, 0x89, 0x71, 0x08,                   // mov dword [r9+0x8],r14d
  0x49, 0x83, 0xc1, 0x0c,                   // add r9,0xc
  0x48, 0x83, 0xc7, 0x08,                   // add rdi,0x8
  0x48, 0x83, 0xc6, 0x04,                   // add rsi,0x4
  0x48, 0xff, 0xca,                         // dec rdx
  0x75, 0x86,                               // jne outer
  // done:
  0x41, 0x5f,                               // pop r15
  0x41, 0x5e,                               // pop r14
  0x41, 0x5d,                               // pop r13
  0x41, 0x5c,                               // pop r12
  0x5b,                                     // pop rbx
  0xc3,                                     // ret
]);

/** The native pass's outputs. */
export interface NativePoolPass {
  /** `[ref.count, szidx]` of every carved pool, arena by arena. */
  pairs: Uint32Array;
  /** `[used pools, blocks in use, bytes in use]` per arena. */
  perArena: Uint32Array;
  /** `[pools, blocks]` per size class (32 pairs), then the count of pools with an impossible size class. */
  perClass: Uint32Array;
}

export type PoolPass = (firsts: Float64Array, carved: Uint32Array, poolSize: number) => NativePoolPass;

const cache = new WeakMap<Native, PoolPass | null>();

/** The native pool pass for this process, or null where none can be generated (not x86-64, no executable memory). */
export function poolPassFor(native: Native): PoolPass | null {
  if (cache.has(native)) return cache.get(native)!;
  let pass: PoolPass | null = null;
  try {
    if (hostArch() === "x64") {
      const fn = native.fn(mapCode(native, WALK_X64), {
        args: ["buffer", "buffer", "usize", "usize", "buffer", "buffer", "buffer"],
        ret: "void",
      });
      pass = (firsts, carved, poolSize) => {
        let total = 0;
        for (let i = 0; i < carved.length; i++) total += carved[i];
        const out = {
          pairs: new Uint32Array(Math.max(2, 2 * total)),
          perArena: new Uint32Array(Math.max(3, 3 * firsts.length)),
          perClass: new Uint32Array(65),
        };
        if (firsts.length) fn(firsts, carved, firsts.length, poolSize, out.pairs, out.perArena, out.perClass);
        return out;
      };
    }
  } catch {
    pass = null;
  }
  cache.set(native, pass);
  return pass;
}
