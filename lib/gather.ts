/**
 * The native pass of the heap walk: generated x86-64 code that visits every carved pool header once, writes one
 * packed record per used pool (position, size class, blocks in use) and sums pools and blocks per size class, in a
 * single FFI call.
 *
 * Why: each runtime's zero-copy view costs time proportional to its length (V8 and JSC account external memory), so
 * viewing each 1 MiB arena costs 7–35 µs, more than CPython's whole C walk per arena; and a JavaScript pass over
 * tens of thousands of pools costs as much again as the memory reads. The walk is memory-bound: this loop reads
 * exactly what CPython's `pymalloc_print_stats` reads. All interpretation (validation, layout, per-pool arrays on
 * demand) stays in TypeScript. Other architectures use the JavaScript walk over views (correct, slower).
 * @module
 */
import { hostArch, mapCode } from "./codegen.ts";
import type { PoolPassResult } from "./heap.ts";
import type { Native } from "./native.ts";

/*
 * void walk(const double *firsts, const uint32_t *carved, uint64_t narenas, uint64_t stride,
 *           uint32_t *records, uint32_t *arenaUsed, uint64_t *perClass)
 *   for each arena a, for each of its carved[a] pools p (k = 0.., from firsts[a], stride apart):
 *     count = p->ref.count; if count == 0: next (an empty pool)
 *     sz = p->szidx; if sz > 31 or count > 0xffff: perClass[32]++ (inconsistent), next
 *     *records++ = k << 24 | sz << 16 | count
 *     perClass[sz] += 1 << 32 | count            (pools in the high word, blocks in the low word)
 *   arenaUsed[a] = records written for arena a
 * SysV: rdi firsts, rsi carved, rdx narenas, rcx stride, r8 records, r9 arenaUsed, [rsp+8] perClass (zeroed by the
 * caller). An arena has at most 64 pools, so k fits in 8 bits; the caller checks that, and splits the walk so that
 * no low word can overflow. Assembled with GNU as, bytes below.
 *
 * Why so little: the walk is bound by memory latency (every pool header is a cache and TLB miss 16 KiB from the
 * last), and how many misses overlap depends on how many instructions each pool costs. Measured against CPython's
 * own loop at 1,000 arenas (bench/heap_cost.ts heap, ratio of medians): this loop 1.03x; an earlier one that also
 * summed blocks and bytes per arena 1.14x; a loop doing only CPython's own per-class sums 0.87x. Per-arena sums are
 * therefore computed in JavaScript from the records, when first asked for. Prefetching (4 to 32 pools ahead, or the
 * next arena's pools up front) made it slower on the measured machine, and aligning the loop changed nothing.
 */
const WALK_X64 = new Uint8Array([
  0x53,                                           // push rbx
  0x55,                                           // push rbp
  0x41, 0x54,                                     // push r12
  0x41, 0x55,                                     // push r13
  0x41, 0x56,                                     // push r14
  0x41, 0x57,                                     // push r15
  0x4c, 0x8b, 0x7c, 0x24, 0x38,                   // mov r15,qword [rsp+0x38]
  0x49, 0xbd, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // movabs r13,0x100000000
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x74, 0x75,                                     // je done
  // outer:
  0xf2, 0x48, 0x0f, 0x2c, 0x07,                   // cvttsd2si rax,qword [rdi]
  0x44, 0x8b, 0x16,                               // mov r10d,dword [rsi]
  0x45, 0x31, 0xe4,                               // xor r12d,r12d
  0x4d, 0x89, 0xc6,                               // mov r14,r8
  0x45, 0x85, 0xd2,                               // test r10d,r10d
  0x74, 0x44,                                     // je store
  // inner:
  0x44, 0x8b, 0x18,                               // mov r11d,dword [rax]
  0x45, 0x85, 0xdb,                               // test r11d,r11d
  0x74, 0x2d,                                     // je skip
  0x8b, 0x58, 0x24,                               // mov ebx,dword [rax+0x24]
  0x83, 0xfb, 0x1f,                               // cmp ebx,0x1f
  0x77, 0x5d,                                     // ja bad
  0x41, 0x81, 0xfb, 0xff, 0xff, 0x00, 0x00,       // cmp r11d,0xffff
  0x77, 0x54,                                     // ja bad
  0x89, 0xdd,                                     // mov ebp,ebx
  0xc1, 0xe5, 0x10,                               // shl ebp,0x10
  0x44, 0x09, 0xdd,                               // or ebp,r11d
  0x44, 0x09, 0xe5,                               // or ebp,r12d
  0x41, 0x89, 0x28,                               // mov dword [r8],ebp
  0x49, 0x83, 0xc0, 0x04,                         // add r8,0x4
  0x4c, 0x89, 0xdd,                               // mov rbp,r11
  0x4c, 0x09, 0xed,                               // or rbp,r13
  0x49, 0x01, 0x2c, 0xdf,                         // add qword [r15+rbx*8],rbp
  // skip:
  0x48, 0x01, 0xc8,                               // add rax,rcx
  0x41, 0x81, 0xc4, 0x00, 0x00, 0x00, 0x01,       // add r12d,0x1000000
  0x41, 0xff, 0xca,                               // dec r10d
  0x75, 0xbc,                                     // jne inner
  // store:
  0x4c, 0x89, 0xc5,                               // mov rbp,r8
  0x4c, 0x29, 0xf5,                               // sub rbp,r14
  0x48, 0xc1, 0xed, 0x02,                         // shr rbp,0x2
  0x41, 0x89, 0x29,                               // mov dword [r9],ebp
  0x49, 0x83, 0xc1, 0x04,                         // add r9,0x4
  0x48, 0x83, 0xc7, 0x08,                         // add rdi,0x8
  0x48, 0x83, 0xc6, 0x04,                         // add rsi,0x4
  0x48, 0xff, 0xca,                               // dec rdx
  0x75, 0x8b,                                     // jne outer
  // done:
  0x41, 0x5f,                                     // pop r15
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5c,                                     // pop r12
  0x5d,                                           // pop rbp
  0x5b,                                           // pop rbx
  0xc3,                                           // ret
  // bad:
  0x49, 0xff, 0x87, 0x00, 0x01, 0x00, 0x00,       // inc qword [r15+0x100]
  0xeb, 0xbf,                                     // jmp skip

]);

/**
 * Null when the heap does not fit the packed records (the caller walks in JavaScript). `poolsPerCall` bounds the
 * pools one native call visits (default: as many as keep the 32-bit block sums exact); tests lower it.
 */
export type PoolPass = (firsts: Float64Array, carved: Uint32Array, poolSize: number, poolsPerCall?: number) => PoolPassResult | null;

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
      let scratch = new Uint32Array(1024); // reused: a fresh array per walk costs page faults on large heaps
      const perClass = new Uint32Array(2 * 33);
      pass = (firsts, carved, poolSize, poolsPerCall = Math.floor(0xffff_ffff / (poolSize / 16))) => {
        const narenas = firsts.length;
        let total = 0, most = 0;
        for (let a = 0; a < narenas; a++) {
          total += carved[a];
          if (carved[a] > most) most = carved[a];
        }
        if (most > 0xff) return null; // k would not fit its 8 bits: no CPython has such arenas, but do not guess
        if (scratch.length < total) scratch = new Uint32Array(Math.max(total, 2 * scratch.length));
        const arenaUsed = new Uint32Array(narenas);
        const classPools = new Float64Array(32), classBlocks = new Float64Array(32);
        let inconsistent = 0, used = 0;
        // Each call sums blocks per class in 32 bits (at most poolSize / 16 blocks a pool): long walks are split.
        for (let start = 0; start < narenas;) {
          let end = start, pools = 0;
          while (end < narenas && (end === start || pools + carved[end] <= poolsPerCall)) pools += carved[end++];
          perClass.fill(0);
          fn(firsts.subarray(start, end), carved.subarray(start, end), end - start, poolSize,
            scratch.subarray(used), arenaUsed.subarray(start, end), perClass);
          for (let c = 0; c < 32; c++) {
            classBlocks[c] += perClass[2 * c];
            classPools[c] += perClass[2 * c + 1];
          }
          inconsistent += perClass[64];
          for (let a = start; a < end; a++) used += arenaUsed[a];
          start = end;
        }
        return { records: scratch.slice(0, used), arenaUsed, classPools, classBlocks, inconsistent };
      };
    }
  } catch {
    pass = null;
  }
  cache.set(native, pass);
  return pass;
}
