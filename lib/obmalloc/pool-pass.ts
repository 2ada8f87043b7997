/**
 * The native pass of the heap walk: generated x86-64 code that visits every carved pool header once, writes one
 * packed record per used pool (position, size class, blocks in use) and sums pools and blocks per size class, in a
 * single FFI call; on large heaps a second thread shares the arenas with the calling thread, chunk by chunk.
 *
 * Why: each runtime's zero-copy view costs time proportional to its length (V8 and JSC account external memory), so
 * viewing every arena costs more than CPython's whole C walk, and a JavaScript pass over tens of thousands of pools
 * costs as much again as the memory reads (figures in BENCHMARKS.md). The walk is memory-bound: this loop reads
 * exactly what CPython's `pymalloc_print_stats` reads. All interpretation (validation, layout, per-pool arrays on
 * demand) stays in TypeScript. Other architectures use the JavaScript walk over views (correct, slower).
 * @module
 */
import { generated } from "../../ffi/symbols.ts";
import { canRunSecondThread, machineBusy, type NativeThread, startNativeThread } from "../machine/threads.ts";
import { hostArch } from "../machine/codegen.ts";
import { mapCode, mapData } from "../machine/exec-pages.ts";
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
 * threads over half the arenas each finish in ~0.6 of the time (measured on a quiet machine with fixed halves,
 * 1,000+ arenas: 0.58–0.83x CPython's walker).
 *
 * void chunks(Team *t, uint64_t who)   (who: 1 the calling thread, 2 the second thread)
 *   while ((i = atomic_fetch_add(&t->next, 1)) < t->nchunks):
 *     a = t->chunk[i].start, b = t->chunk[i + 1].start, perClass = t->perClass + 34 * i
 *     walk(t->firsts + a, t->carved + a, b - a, t->stride, t->records + t->chunk[i].recordAt, t->arenaUsed + a,
 *          perClass); perClass[33] = who       (a plain store: x86 makes it visible after the walk's stores)
 * void *worker(Control *c), void post(Control *c, Team *t), uint32_t settle(Control *c), uint32_t finish(Control *c):
 *   the second thread, parked on a futex between walks, and how the calling thread hands it a walk and takes it
 *   back (the protocol is in the source: exactly one of the two takes a posted job).
 * Team: firsts, carved, nchunks, stride, records, arenaUsed, chunk table, (u64 words at 0..48), next (u32 at 56),
 * perClass base (u64 at 64; 34 words per chunk). Both threads run `chunks`, so they share the arenas chunk by chunk
 * instead of in fixed halves, and a thread that starts late (on a busy machine a thread waited 0.2 ms and more for a
 * CPU, longer than the whole walk of 500 arenas; an idle virtual CPU must first be woken) takes only what is left.
 * Once no chunk is left to take, the calling thread revokes the job if the worker has not taken it yet, and else
 * waits only for the chunk it is still walking (it reads the heap, which stays still only while the caller holds
 * the GIL). A parked thread rather than one created per walk: waking it costs the caller a fraction of a
 * pthread_create, and it runs sooner (bench/thread_start.ts).
 */
// deno-fmt-ignore: one instruction a line, as `bun tools/assemble.ts --write` writes it
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
  // chunks:
  0x53,                                           // push rbx
  0x55,                                           // push rbp
  0x41, 0x54,                                     // push r12
  0x41, 0x55,                                     // push r13
  0x41, 0x56,                                     // push r14
  0x41, 0x57,                                     // push r15
  0x48, 0x89, 0xfb,                               // mov rbx,rdi
  0x49, 0x89, 0xf4,                               // mov r12,rsi
  // next:
  0xb8, 0x01, 0x00, 0x00, 0x00,                   // mov eax,0x1
  0xf0, 0x0f, 0xc1, 0x43, 0x38,                   // lock xadd dword [rbx+0x38],eax
  0x48, 0x3b, 0x43, 0x10,                         // cmp rax,qword [rbx+0x10]
  0x73, 0x57,                                     // jae finished
  0x4c, 0x8b, 0x6b, 0x30,                         // mov r13,qword [rbx+0x30]
  0x41, 0x8b, 0x4c, 0xc5, 0x00,                   // mov ecx,dword [r13+rax*8+0x0]
  0x45, 0x8b, 0x74, 0xc5, 0x04,                   // mov r14d,dword [r13+rax*8+0x4]
  0x41, 0x8b, 0x54, 0xc5, 0x08,                   // mov edx,dword [r13+rax*8+0x8]
  0x29, 0xca,                                     // sub edx,ecx
  0x4c, 0x69, 0xf8, 0x10, 0x01, 0x00, 0x00,       // imul r15,rax,0x110
  0x4c, 0x03, 0x7b, 0x40,                         // add r15,qword [rbx+0x40]
  0x48, 0x8b, 0x3b,                               // mov rdi,qword [rbx]
  0x48, 0x8d, 0x3c, 0xcf,                         // lea rdi,[rdi+rcx*8]
  0x48, 0x8b, 0x73, 0x08,                         // mov rsi,qword [rbx+0x8]
  0x48, 0x8d, 0x34, 0x8e,                         // lea rsi,[rsi+rcx*4]
  0x4c, 0x8b, 0x4b, 0x28,                         // mov r9,qword [rbx+0x28]
  0x4d, 0x8d, 0x0c, 0x89,                         // lea r9,[r9+rcx*4]
  0x4c, 0x8b, 0x43, 0x20,                         // mov r8,qword [rbx+0x20]
  0x4f, 0x8d, 0x04, 0xb0,                         // lea r8,[r8+r14*4]
  0x48, 0x8b, 0x4b, 0x18,                         // mov rcx,qword [rbx+0x18]
  0x41, 0x57,                                     // push r15
  0xe8, 0xef, 0xfe, 0xff, 0xff,                   // call walk
  0x48, 0x83, 0xc4, 0x08,                         // add rsp,0x8
  0x4d, 0x89, 0xa7, 0x08, 0x01, 0x00, 0x00,       // mov qword [r15+0x108],r12
  0xeb, 0x99,                                     // jmp next
  // finished:
  0x41, 0x5f,                                     // pop r15
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5c,                                     // pop r12
  0x5d,                                           // pop rbp
  0x5b,                                           // pop rbx
  0xc3,                                           // ret
  // worker:
  0x53,                                           // push rbx
  0x41, 0x54,                                     // push r12
  0x48, 0x83, 0xec, 0x08,                         // sub rsp,0x8
  0x49, 0x89, 0xfc,                               // mov r12,rdi
  0x48, 0xb8, 0x37, 0xfb, 0xff, 0x7f, 0xfe, 0xff, 0xff, 0xff,  // movabs rax,0xfffffffe7ffffb37
  0x48, 0x89, 0x04, 0x24,                         // mov qword [rsp],rax
  0x31, 0xff,                                     // xor edi,edi
  0x48, 0x89, 0xe6,                               // mov rsi,rsp
  0x31, 0xd2,                                     // xor edx,edx
  0x41, 0xba, 0x08, 0x00, 0x00, 0x00,             // mov r10d,0x8
  0xb8, 0x0e, 0x00, 0x00, 0x00,                   // mov eax,0xe
  0x0f, 0x05,                                     // syscall
  0x31, 0xdb,                                     // xor ebx,ebx
  // idle:
  0x41, 0x8b, 0x04, 0x24,                         // mov eax,dword [r12]
  0x39, 0xd8,                                     // cmp eax,ebx
  0x75, 0x16,                                     // jne take
  0x4c, 0x89, 0xe7,                               // mov rdi,r12
  0xbe, 0x80, 0x00, 0x00, 0x00,                   // mov esi,0x80
  0x89, 0xda,                                     // mov edx,ebx
  0x45, 0x31, 0xd2,                               // xor r10d,r10d
  0xb8, 0xca, 0x00, 0x00, 0x00,                   // mov eax,0xca
  0x0f, 0x05,                                     // syscall
  0xeb, 0xe2,                                     // jmp idle
  // take:
  0x89, 0xc3,                                     // mov ebx,eax
  0x41, 0x83, 0x7c, 0x24, 0x10, 0x00,             // cmp dword [r12+0x10],0x0
  0x75, 0x2d,                                     // jne quit
  0xb8, 0x01, 0x00, 0x00, 0x00,                   // mov eax,0x1
  0xb9, 0x02, 0x00, 0x00, 0x00,                   // mov ecx,0x2
  0xf0, 0x41, 0x0f, 0xb1, 0x4c, 0x24, 0x04,       // lock cmpxchg dword [r12+0x4],ecx
  0x75, 0xc5,                                     // jne idle
  0x49, 0x8b, 0x7c, 0x24, 0x08,                   // mov rdi,qword [r12+0x8]
  0xbe, 0x02, 0x00, 0x00, 0x00,                   // mov esi,0x2
  0xe8, 0x06, 0xff, 0xff, 0xff,                   // call chunks
  0x41, 0xc7, 0x44, 0x24, 0x04, 0x03, 0x00, 0x00, 0x00,  // mov dword [r12+0x4],0x3
  0xeb, 0xab,                                     // jmp idle
  // quit:
  0x48, 0x83, 0xc4, 0x08,                         // add rsp,0x8
  0x41, 0x5c,                                     // pop r12
  0x5b,                                           // pop rbx
  0x31, 0xc0,                                     // xor eax,eax
  0xc3,                                           // ret
  // post:
  0x48, 0x89, 0x77, 0x08,                         // mov qword [rdi+0x8],rsi
  0xc7, 0x47, 0x04, 0x01, 0x00, 0x00, 0x00,       // mov dword [rdi+0x4],0x1
  0xf0, 0xff, 0x07,                               // lock inc dword [rdi]
  0xbe, 0x81, 0x00, 0x00, 0x00,                   // mov esi,0x81
  0xba, 0x01, 0x00, 0x00, 0x00,                   // mov edx,0x1
  0xb8, 0xca, 0x00, 0x00, 0x00,                   // mov eax,0xca
  0x0f, 0x05,                                     // syscall
  0xc3,                                           // ret
  // settle:
  0xb8, 0x01, 0x00, 0x00, 0x00,                   // mov eax,0x1
  0x31, 0xc9,                                     // xor ecx,ecx
  0xf0, 0x0f, 0xb1, 0x4f, 0x04,                   // lock cmpxchg dword [rdi+0x4],ecx
  0x75, 0x03,                                     // jne finish
  0x31, 0xc0,                                     // xor eax,eax
  0xc3,                                           // ret
  // finish:
  0x31, 0xf6,                                     // xor esi,esi
  // spin:
  0x83, 0x7f, 0x04, 0x03,                         // cmp dword [rdi+0x4],0x3
  0x74, 0x2c,                                     // je settled
  0xf3, 0x90,                                     // pause
  0xff, 0xc6,                                     // inc esi
  0xf7, 0xc6, 0xff, 0x0f, 0x00, 0x00,             // test esi,0xfff
  0x75, 0xee,                                     // jne spin
  0xb8, 0x18, 0x00, 0x00, 0x00,                   // mov eax,0x18
  0x0f, 0x05,                                     // syscall
  0xf7, 0xc6, 0xff, 0xff, 0xff, 0x7f,             // test esi,0x7fffffff
  0x75, 0xdf,                                     // jne spin
  0xb8, 0x01, 0x00, 0x00, 0x00,                   // mov eax,0x1
  0x31, 0xc9,                                     // xor ecx,ecx
  0xf0, 0x0f, 0xb1, 0x4f, 0x04,                   // lock cmpxchg dword [rdi+0x4],ecx
  0x75, 0xd1,                                     // jne spin
  0x31, 0xc0,                                     // xor eax,eax
  0xc3,                                           // ret
  // settled:
  0xb8, 0x03, 0x00, 0x00, 0x00,                   // mov eax,0x3
  0xc3,                                           // ret
  // stop:
  0xc7, 0x47, 0x10, 0x01, 0x00, 0x00, 0x00,       // mov dword [rdi+0x10],0x1
  0xf0, 0xff, 0x07,                               // lock inc dword [rdi]
  0xbe, 0x81, 0x00, 0x00, 0x00,                   // mov esi,0x81
  0xba, 0x01, 0x00, 0x00, 0x00,                   // mov edx,0x1
  0xb8, 0xca, 0x00, 0x00, 0x00,                   // mov eax,0xca
  0x0f, 0x05,                                     // syscall
  0xc3,                                           // ret
]);

/** Offsets of `chunks(team, who)`, the second thread's start routine `worker(control)`, and `post`, `settle`, `finish`, `stop`. */
export const CHUNKS_OFFSET = 0xa7;
export const WORKER_OFFSET = 0x129;
export const POST_OFFSET = 0x1b6;
export const SETTLE_OFFSET = 0x1d6;
export const FINISH_OFFSET = 0x1e7;
export const STOP_OFFSET = 0x221;

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
  /** Threads that read the pool headers: 1, or 2 when a second thread walked some of the arenas (chunks). */
  threads: number;
}

/** How a pass may run; tests lower the thresholds to exercise every path on a small heap. */
export interface PoolPassOptions {
  /** Most pools one native call visits (default 4,194,303: as many as keep its 32-bit block sums exact). */
  poolsPerCall?: number;
  /**
   * Fewest carved pools for which a second thread shares the walk (default 24,576 when this process may run two
   * threads at once, libc has pthread_create and the load average leaves a CPU free, else never). Below that,
   * waking the thread and gathering its results cost more than they save (measured break-even: ~300 arenas of 64
   * pools). A value given here is used whatever the load.
   */
  parallelFrom?: number;
  /**
   * Tests only: the calling thread walks no chunk and waits for the second thread, so that the second thread's walk
   * is what the test checks (otherwise either thread may take any chunk, or all of them).
   */
  secondThreadOnly?: boolean;
}

/** Null when the heap does not fit the packed records (the caller walks in JavaScript). */
export type PoolPass = (
  firsts: Float64Array,
  carved: Uint32Array,
  poolSize: number,
  options?: PoolPassOptions,
) => PoolPassResult | null;

/** Per loaded library: its pass (null where none can be generated), and how to end the pass's second thread. */
const cache = new WeakMap<Native, { pass: PoolPass; stop(): void } | null>();

/**
 * End the second thread of `native`'s pool pass, if one is parked (the handle is closing); a later walk starts
 * another. Must not run during a walk (walks are synchronous, under the GIL).
 */
export function stopPoolPass(native: Native): void {
  cache.get(native)?.stop();
}

/** The native pool pass for this process, or null where none can be generated (not x86-64, no executable memory). */
export function poolPassFor(native: Native): PoolPass | null {
  if (!cache.has(native)) {
    let entry: { pass: PoolPass; stop(): void } | null = null;
    try {
      if (hostArch() === "x64") entry = nativePoolPass(native);
    } catch {
      entry = null;
    }
    cache.set(native, entry);
  }
  return cache.get(native)?.pass ?? null;
}

function nativePoolPass(native: Native): { pass: PoolPass; stop(): void } {
  const code = mapCode(native, WALK_X64);
  const walk = native.fn(code, generated.poolWalk);
  const team = secondThread(native, code);
  let scratch = new Uint32Array(1024); // reused: a fresh array per walk costs page faults on large heaps
  const perClass = new Uint32Array(2 * 33);

  const pass: PoolPass = (firsts, carved, poolSize, options = {}) => {
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
      walk(
        firsts.subarray(start, end),
        carved.subarray(start, end),
        end - start,
        poolSize,
        scratch.subarray(used),
        arenaUsed.subarray(start, end),
        perClass,
      );
      addClasses(perClass);
      for (let a = start; a < end; a++) used += arenaUsed[a];
    };

    // The default threshold also asks whether a CPU is free (machineBusy); an explicit one (tests) does not.
    if (
      team && narenas >= 2 && total <= poolsPerCall &&
      (options.parallelFrom === undefined ? total >= team.defaultFrom && !machineBusy() : total >= options.parallelFrom)
    ) {
      let out: TeamResult | null = null;
      try {
        out = team.run(firsts, carved, poolSize, total, options.secondThreadOnly === true);
      } catch {
        out = null; // no view of the native block, say (the job is settled by then): this thread walks everything, below
      }
      if (out) {
        addClasses(out.perClass);
        arenaUsed.set(out.arenaUsed);
        return { records: out.records, arenaUsed, classPools, classBlocks, inconsistent, threads: out.threads };
      }
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
  return { pass, stop: () => team?.stop() };
}

interface TeamResult {
  records: Uint32Array;
  arenaUsed: Uint32Array;
  /** Both threads' sums, added (the layout of the walk's perClass, 33 words). */
  perClass: Uint32Array;
  threads: number;
}

/** The worker's control block: seq, job, team, quit (pool-pass.x86_64.s). */
const CONTROL_BYTES = 24;

/** Most chunks a walk is cut into: small enough to cost nothing, enough for a late thread to still take a share. */
const CHUNKS = 32;

/**
 * The calling thread and a second one walking chunks of arenas (see `chunks` above), every input and output in one
 * native block (the second thread must not touch JavaScript memory, which the runtime may move or free). The second
 * thread is started at the first two-thread walk and then parked on a futex between walks (`worker`), until `stop()`
 * (the handle's close) ends and joins it; a later walk starts another. A forked child, where it is absent, forgets
 * it and starts its own (a job posted to an absent worker is revoked: the calling thread walks it alone). Null when
 * libc lacks pthread_create or the process may use only one CPU.
 */
function secondThread(native: Native, code: bigint): {
  defaultFrom: number;
  run(
    firsts: Float64Array,
    carved: Uint32Array,
    poolSize: number,
    total: number,
    secondOnly: boolean,
  ): TeamResult | null;
  stop(): void;
} | null {
  const { libc } = native;
  if (!canRunSecondThread(libc)) return null;
  const label = (offset: number) => code + BigInt(offset);
  const chunks = native.fn(label(CHUNKS_OFFSET), generated.poolChunks);
  const post = native.fn(label(POST_OFFSET), generated.poolPost);
  const settle = native.fn(label(SETTLE_OFFSET), generated.poolSettle);
  const finish = native.fn(label(FINISH_OFFSET), generated.poolFinish);
  const stopWorker = native.fn(label(STOP_OFFSET), generated.poolStop);
  // The worker's control block: a page of its own, kept for the process's life (a late worker may still read it).
  let control = 0n;
  let worker: NativeThread | null = null, workerPid = 0, failedAt = -Infinity;
  let block = 0n, capacity = 0;
  let blockView: Uint8Array | null = null; // over the whole block: a new view per walk costs more than the small heaps' walk
  // In a forked child the worker is not there (only the forking thread is): forget it, never join it (its pthread_t
  // names nothing, or a thread the child started since), and start the child's own at its next walk.
  const forgetIfForked = () => {
    if (worker && native.libc.getpid() !== workerPid) {
      worker = null;
      native.bytes(control, CONTROL_BYTES).fill(0);
    }
  };
  return {
    defaultFrom: 24_576,
    stop() {
      forgetIfForked();
      if (!worker) return;
      stopWorker(control);
      const w = worker;
      worker = null;
      try {
        w.join(); // ends at once: between walks it is parked, and quit wakes it to return
      } finally {
        native.bytes(control, CONTROL_BYTES).fill(0); // for the next worker, which starts from seq 0
      }
      if (block) libc.free(block);
      block = 0n;
      capacity = 0;
      blockView = null;
    },
    run(firsts, carved, poolSize, total, secondOnly) {
      forgetIfForked();
      if (!worker) {
        // A failed pthread_create (EAGAIN: a thread limit) is tried again ten seconds later, not at every walk.
        if (Date.now() - failedAt < 10_000) return null;
        try {
          if (!control) control = mapData(native, CONTROL_BYTES);
          worker = startNativeThread(libc, label(WORKER_OFFSET), control);
          workerPid = native.libc.getpid();
        } catch {
          worker = null;
        }
        if (!worker) {
          failedAt = Date.now();
          return null;
        }
      }
      const n = firsts.length;
      // Chunk boundaries by pools, so that chunks cost about the same.
      const starts: number[] = [0];
      const want = Math.min(CHUNKS, n);
      for (let a = 0, sum = 0; a < n; a++) {
        if (sum >= (starts.length * total) / want && a > starts[starts.length - 1]) starts.push(a);
        sum += carved[a];
      }
      const nchunks = starts.length;
      // team (72, padded to 80) | perClass u64[34] per chunk | firsts f64[n] | carved u32[n] | arenaUsed u32[n] |
      // chunk table u32[2 (nchunks + 1)] | records u32[total] (each chunk's from its first carved pool's position)
      const oClass = 80, oFirsts = oClass + 272 * nchunks, oCarved = oFirsts + 8 * n, oUsed = oCarved + 4 * n;
      const oTable = oUsed + 4 * n, oRecords = oTable + 8 * (nchunks + 1);
      const size = oRecords + 4 * total;
      if (size > capacity) {
        const grown = libc.malloc(Math.max(size, 2 * capacity));
        if (grown === 0n) return null;
        if (block) libc.free(block);
        block = grown;
        capacity = Math.max(size, 2 * capacity);
        blockView = null;
      }
      const base = block;
      const all = (blockView ??= native.bytes(base, capacity));
      const at = (o: number) => base + BigInt(o);
      new BigUint64Array(all.buffer, all.byteOffset, 9).set([
        at(oFirsts),
        at(oCarved),
        BigInt(nchunks),
        BigInt(poolSize),
        at(oRecords),
        at(oUsed),
        at(oTable),
        0n,
        at(oClass),
      ]);
      all.fill(0, oClass, oFirsts); // every chunk's sums and its done word
      new Float64Array(all.buffer, all.byteOffset + oFirsts, n).set(firsts);
      new Uint32Array(all.buffer, all.byteOffset + oCarved, n).set(carved);
      const table = new Uint32Array(all.buffer, all.byteOffset + oTable, 2 * (nchunks + 1));
      for (let c = 0, a = 0, recordAt = 0; c <= nchunks; c++) {
        const end = c < nchunks ? starts[c] : n;
        for (; a < end; a++) recordAt += carved[a];
        table[2 * c] = end;
        table[2 * c + 1] = recordAt;
      }
      const doneBy = new Int32Array(all.buffer, all.byteOffset + oClass, 68 * nchunks); // word 33 of each chunk's sums
      post(control, base);
      try {
        if (!secondOnly) chunks(base, 1n);
      } finally {
        // Every chunk is taken now. Revoke the job if the worker has not taken it; if it has, wait until it is done:
        // it may be walking a chunk, reading the heap, which stays still only while the caller holds the GIL. After
        // this the worker no longer touches the block, so the next walk may rewrite, grow or free it.
        // finish (tests: the worker walks everything) revokes a job still untaken after seconds (no worker): walk it.
        if (secondOnly) {
          if (finish(control) === 0) chunks(base, 1n);
        } else settle(control);
      }
      const sums = new Uint32Array(all.buffer, all.byteOffset + oClass, 68 * nchunks);
      const records = new Uint32Array(all.buffer, all.byteOffset + oRecords, total);
      const arenaUsed = new Uint32Array(all.buffer, all.byteOffset + oUsed, n).slice();
      const perClass = new Uint32Array(66);
      let threads = 1, count = 0;
      for (let c = 0; c < nchunks; c++) {
        if (doneBy[68 * c + 66] === 2) threads = 2;
        for (let i = 0; i < 66; i++) perClass[i] += sums[68 * c + i];
      }
      for (let a = 0; a < n; a++) count += arenaUsed[a];
      const out = new Uint32Array(count);
      for (let c = 0, a = 0, pos = 0; c < nchunks; c++) {
        let k = 0;
        for (const end = table[2 * c + 2]; a < end; a++) k += arenaUsed[a];
        out.set(records.subarray(table[2 * c + 1], table[2 * c + 1] + k), pos);
        pos += k;
      }
      return { records: out, arenaUsed, perClass, threads };
    },
  };
}
