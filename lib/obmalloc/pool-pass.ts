/**
 * The native pass of the heap walk: generated x86-64 code that visits every carved pool header once, writes one
 * packed record per used pool (position, size class, blocks in use) and sums pools and blocks per size class, in a
 * single FFI call; on large heaps a second thread walks half the arenas at the same time.
 *
 * Why: each runtime's zero-copy view costs time proportional to its length (V8 and JSC account external memory), so
 * viewing every arena costs more than CPython's whole C walk, and a JavaScript pass over tens of thousands of pools
 * costs as much again as the memory reads (figures in BENCHMARKS.md). The walk is memory-bound: this loop reads
 * exactly what CPython's `pymalloc_print_stats` reads. All interpretation (validation, layout, per-pool arrays on
 * demand) stays in TypeScript. Other architectures use the JavaScript walk over views (correct, slower).
 * @module
 */
import { canRunSecondThread, startNativeThread } from "../machine/threads.ts";
import { hostArch } from "../machine/codegen.ts";
import { mapCode } from "../machine/exec-pages.ts";
import type { Native } from "../core/native.ts";

/*
 * void walk(const double *firsts, const uint32_t *carved, uint64_t narenas, uint64_t stride,
 *           uint32_t *records, uint32_t *arenaUsed, uint64_t *perClass)
 *   for each arena a, for each of its carved[a] pools p (k = 0.., from firsts[a], stride apart):
 *     count = p->ref.count; if count == 0: next (an empty pool)
 *     sz = p->szidx; if sz > 31 or count > 1024: perClass[32]++ (inconsistent), next
 *     *records++ = k << 24 | sz << 16 | count
 *     perClass[sz] += 1 << 32 | count            (pools in the high word, blocks in the low word)
 *   arenaUsed[a] = records written for arena a
 * SysV: rdi firsts, rsi carved, rdx narenas, rcx stride, r8 records, r9 arenaUsed, [rsp+8] perClass (zeroed by the
 * caller). An arena has at most 64 pools, so k fits in 8 bits; the caller checks that, and splits the walk so that
 * no low word can overflow (1024 is the most blocks any pool holds: 16 KiB / 16). This pass reads this process's
 * own heap with its GIL held, so it checks only the bounds that keep its writes in range; the JavaScript pass, which
 * also reads heaps that may be changing, checks every count against its size class's capacity.
 * The bytes below are assembled with GNU as from pool-pass.x86_64.s beside this file, by
 * `bun tools/assemble.ts --write`: edit the source, not the bytes.
 *
 * Why so little: the walk is bound by memory latency (every pool header is a cache and TLB miss 16 KiB from the
 * last), and how many misses overlap depends on how many instructions each pool costs. Measured against CPython's
 * own loop at 1,000 arenas (bench/heap_cost.ts heap, ratio of medians): this loop 1.03x; an earlier one that also
 * summed blocks and bytes per arena 1.14x; a loop doing only CPython's own per-class sums 0.87x. Per-arena sums are
 * therefore computed in JavaScript from the records, when first asked for. Prefetching (4 to 32 pools ahead, or the
 * next arena's pools up front) made it slower on the measured machine, and aligning the loop changed nothing.
 * What does beat CPython's single loop is a second core: each has its own miss buffers and page walkers, so two
 * threads over half the arenas each finish in ~0.6 of the time (1,000+ arenas: 0.58–0.83x CPython's walker).
 *
 * void *thunk(void *args): walk(args[0], …, args[6]); return NULL — the start routine of that second thread.
 */
export const WALK_X64 = new Uint8Array([
  // walk:
  0x53,                                           // push rbx
  0x55,                                           // push rbp
  0x41, 0x54,                                     // push r12
  0x41, 0x55,                                     // push r13
  0x41, 0x56,                                     // push r14
  0x41, 0x57,                                     // push r15
  0x4c, 0x8b, 0x7c, 0x24, 0x38,                   // mov r15,qword [rsp+0x38]
  0x49, 0xbd, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // movabs r13,0x100000000
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
  0x41, 0x81, 0xfb, 0x00, 0x04, 0x00, 0x00,       // cmp r11d,0x400
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
  // thunk:
  0x48, 0x83, 0xec, 0x10,                         // sub rsp,0x10
  0xff, 0x77, 0x30,                               // push qword [rdi+0x30]
  0x48, 0x89, 0xf8,                               // mov rax,rdi
  0x48, 0x8b, 0x38,                               // mov rdi,qword [rax]
  0x48, 0x8b, 0x70, 0x08,                         // mov rsi,qword [rax+0x8]
  0x48, 0x8b, 0x50, 0x10,                         // mov rdx,qword [rax+0x10]
  0x48, 0x8b, 0x48, 0x18,                         // mov rcx,qword [rax+0x18]
  0x4c, 0x8b, 0x40, 0x20,                         // mov r8,qword [rax+0x20]
  0x4c, 0x8b, 0x48, 0x28,                         // mov r9,qword [rax+0x28]
  0xe8, 0x33, 0xff, 0xff, 0xff,                   // call walk
  0x48, 0x83, 0xc4, 0x18,                         // add rsp,0x18
  0x31, 0xc0,                                     // xor eax,eax
  0xc3,                                           // ret
]);

/** Offset of `void *thunk(void *args)`: loads walk's 7 arguments from `args` (7 words) and calls it. */
export const THUNK_OFFSET = 0xa7;

/** How a pass may run; tests lower the thresholds to exercise every path on a small heap. */
/** What one pass over the pool headers yields (the shape of lib/obmalloc/pool-pass.ts's native pass). */
export interface PoolPassResult {
  /**
   * One u32 per used pool, arena by arena in pool order: `k << 24 | szidx << 16 | ref.count`, where k is the pool's
   * position among its arena's carved pools.
   */
  records: Uint32Array;
  /** Records per arena (its used pools). */
  arenaUsed: Uint32Array;
  /** Per size class: used pools, and blocks in use. */
  classPools: Float64Array;
  classBlocks: Float64Array;
  /**
   * Used pools whose header made no sense: a size class out of range, or more blocks than a pool can hold (the
   * JavaScript pass checks each count against its class's capacity; the native pass, which reads only this
   * process's heap under its GIL, against 1024).
   */
  inconsistent: number;
  /** Threads that read the pool headers: 1, or 2 when a second thread walked half the arenas. */
  threads: number;
}

export interface PoolPassOptions {
  /** Most pools one native call visits (default 4,194,303: as many as keep its 32-bit block sums exact). */
  poolsPerCall?: number;
  /**
   * Fewest carved pools for which half the arenas are walked on a second thread (default 24,576 when this process
   * may run two threads at once and libc has pthread_create, else never). Below that, creating and joining the
   * thread and copying its results cost more than they save (measured break-even: ~300 arenas of 64 pools).
   */
  parallelFrom?: number;
}

/** Null when the heap does not fit the packed records (the caller walks in JavaScript). */
export type PoolPass = (firsts: Float64Array, carved: Uint32Array, poolSize: number, options?: PoolPassOptions) => PoolPassResult | null;

const cache = new WeakMap<Native, PoolPass | null>();

/** The native pool pass for this process, or null where none can be generated (not x86-64, no executable memory). */
export function poolPassFor(native: Native): PoolPass | null {
  if (cache.has(native)) return cache.get(native)!;
  let pass: PoolPass | null = null;
  try {
    if (hostArch() === "x64") pass = nativePoolPass(native);
  } catch {
    pass = null;
  }
  cache.set(native, pass);
  return pass;
}

function nativePoolPass(native: Native): PoolPass {
  const code = mapCode(native, WALK_X64);
  const walk = native.fn(code, { args: ["buffer", "buffer", "usize", "usize", "buffer", "buffer", "buffer"], ret: "void" });
  const worker = secondThread(native, code + BigInt(THUNK_OFFSET));
  let scratch = new Uint32Array(1024); // reused: a fresh array per walk costs page faults on large heaps
  const perClass = new Uint32Array(2 * 33);

  return (firsts, carved, poolSize, options = {}) => {
    const narenas = firsts.length;
    const poolsPerCall = options.poolsPerCall ?? Math.floor(0xffff_ffff / 1024);
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
    const addClasses = (sums: Uint32Array) => {
      for (let c = 0; c < 32; c++) {
        classBlocks[c] += sums[2 * c];
        classPools[c] += sums[2 * c + 1];
      }
      inconsistent += sums[64];
    };
    const walkRange = (start: number, end: number) => {
      perClass.fill(0);
      walk(firsts.subarray(start, end), carved.subarray(start, end), end - start, poolSize,
        scratch.subarray(used), arenaUsed.subarray(start, end), perClass);
      addClasses(perClass);
      for (let a = start; a < end; a++) used += arenaUsed[a];
    };

    if (worker && narenas >= 2 && total >= (options.parallelFrom ?? worker.defaultFrom) && total <= poolsPerCall) {
      // Two halves by pools: the second thread walks arenas [mid, n) into native memory while this one walks [0, mid).
      let mid = 0;
      for (let half = 0; mid < narenas - 1 && half + carved[mid] <= total / 2; mid++) half += carved[mid];
      mid = Math.max(1, mid);
      let job: WorkerJob | null = null;
      try {
        job = worker.start(firsts.subarray(mid), carved.subarray(mid), poolSize);
      } catch {
        job = null; // no view of the native block, say: this thread walks everything
      }
      try {
        walkRange(0, mid);
      } finally {
        job?.join();
      }
      if (job) {
        const out = job.results();
        arenaUsed.set(out.arenaUsed, mid);
        addClasses(out.perClass);
        scratch.set(out.records, used);
        used += out.records.length;
        return { records: scratch.slice(0, used), arenaUsed, classPools, classBlocks, inconsistent, threads: 2 };
      }
      // The thread could not be created: walk the rest here.
      walkRange(mid, narenas);
      return { records: scratch.slice(0, used), arenaUsed, classPools, classBlocks, inconsistent, threads: 1 };
    }
    // Each call sums blocks per class in 32 bits (at most 1024 blocks a pool): long walks are split.
    for (let start = 0; start < narenas;) {
      let end = start, pools = 0;
      while (end < narenas && (end === start || pools + carved[end] <= poolsPerCall)) pools += carved[end++];
      walkRange(start, end);
      start = end;
    }
    return { records: scratch.slice(0, used), arenaUsed, classPools, classBlocks, inconsistent, threads: 1 };
  };
}

interface WorkerJob {
  join(): void;
  results(): { arenaUsed: Uint32Array; perClass: Uint32Array; records: Uint32Array };
}

/**
 * A second thread that runs the walk over some arenas: pthread_create on the thunk, with every input and output in
 * one native block (the thread must not touch JavaScript memory, which the runtime may move or free). Null when
 * libc lacks pthread_create or the process may use only one CPU.
 */
function secondThread(native: Native, thunk: bigint): { defaultFrom: number; start(firsts: Float64Array, carved: Uint32Array, poolSize: number): WorkerJob | null } | null {
  const { libc } = native;
  if (!canRunSecondThread(libc)) return null;
  let block = 0n, capacity = 0;
  return {
    defaultFrom: 24_576,
    start(firsts, carved, poolSize) {
      const n = firsts.length;
      let pools = 0;
      for (let a = 0; a < n; a++) pools += carved[a];
      // args (7 words) | firsts f64[n] | perClass u64[33] | carved u32[n] | arenaUsed u32[n] | records u32[pools]
      const oFirsts = 64, oClass = oFirsts + 8 * n, oCarved = oClass + 8 * 33, oUsed = oCarved + 4 * n, oRecords = oUsed + 4 * n;
      const size = oRecords + 4 * pools;
      if (size > capacity) {
        const grown = libc.malloc(Math.max(size, 2 * capacity));
        if (grown === 0n) return null;
        if (block) libc.free(block);
        block = grown;
        capacity = Math.max(size, 2 * capacity);
      }
      const head = native.bytes(block, oRecords);
      const words = new BigUint64Array(head.buffer, head.byteOffset, 7);
      words.set([block + BigInt(oFirsts), block + BigInt(oCarved), BigInt(n), BigInt(poolSize), block + BigInt(oRecords), block + BigInt(oUsed), block + BigInt(oClass)]);
      new Float64Array(head.buffer, head.byteOffset + oFirsts, n).set(firsts);
      new Uint32Array(head.buffer, head.byteOffset + oCarved, n).set(carved);
      head.fill(0, oClass, oCarved);
      const thread = startNativeThread(libc, thunk, block);
      if (!thread) return null;
      return {
        join: () => {
          try {
            thread.join();
          } catch (e) {
            block = 0n; // never reuse (or read) memory a live thread may write
            capacity = 0;
            throw e;
          }
        },
        results: () => {
          const arenaUsed = new Uint32Array(head.buffer, head.byteOffset + oUsed, n);
          let used = 0;
          for (let a = 0; a < n; a++) used += arenaUsed[a];
          return {
            arenaUsed,
            perClass: new Uint32Array(head.buffer, head.byteOffset + oClass, 66),
            records: new Uint32Array(native.bytes(block + BigInt(oRecords), 4 * used).buffer, 0, used),
          };
        },
      };
    },
  };
}
