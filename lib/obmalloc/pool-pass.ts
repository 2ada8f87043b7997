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
import { canRunSecondThread, machineBusy, type NativeThread, startNativeThread } from "../machine/threads.ts";
import { hostArch } from "../machine/codegen.ts";
import { mapCode } from "../machine/exec-pages.ts";
import type { Native } from "../core/native.ts";
import { PymemError } from "../errors.ts";

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
 * void *thunk(Team *t): chunks(t, 2) — the second thread's start routine.
 * Team: firsts, carved, nchunks, stride, records, arenaUsed, chunk table, (u64 words at 0..48), next (u32 at 56),
 * perClass base (u64 at 64; 34 words per chunk). Both threads run `chunks`, so they share the arenas chunk by chunk
 * instead of in fixed halves, and a thread that starts late (on a busy machine a new thread waited 0.2 ms and more
 * for a CPU, longer than the whole walk of 500 arenas; an idle virtual CPU must first be woken) takes only what is
 * left. Once no chunk is left to take, the calling thread waits only for a chunk the other thread is still walking
 * (that thread reads the heap, which stays still only while the caller holds the GIL); a thread that took none is
 * joined at a later walk, so a thread that does not get a CPU in time costs only its creation (~8 µs).
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
  // thunk:
  0xbe, 0x02, 0x00, 0x00, 0x00,                   // mov esi,0x2
  0xe9, 0x74, 0xff, 0xff, 0xff,                   // jmp chunks
]);

/** Offsets of `chunks(team, who)` and of the second thread's start routine `thunk(team)`. */
export const CHUNKS_OFFSET = 0xa7;
export const THUNK_OFFSET = 0x129;

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
   * creating the thread and gathering its results cost more than they save (measured break-even: ~300 arenas of 64
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
  const team = secondThread(native, code + BigInt(CHUNKS_OFFSET), code + BigInt(THUNK_OFFSET));
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

    // The default threshold also asks whether a CPU is free (machineBusy); an explicit one (tests) does not.
    if (team && narenas >= 2 && total <= poolsPerCall &&
      (options.parallelFrom === undefined ? total >= team.defaultFrom && !machineBusy() : total >= options.parallelFrom)) {
      let out: TeamResult | null = null;
      try {
        out = team.run(firsts, carved, poolSize, total, options.secondThreadOnly === true);
      } catch (e) {
        if (e instanceof PymemError) throw e; // a failed join
        out = null; // no view of the native block, say: this thread walks everything, below
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
}

interface TeamResult {
  records: Uint32Array;
  arenaUsed: Uint32Array;
  /** Both threads' sums, added (the layout of the walk's perClass, 33 words). */
  perClass: Uint32Array;
  threads: number;
}

/** Most chunks a walk is cut into: small enough to cost nothing, enough for a late thread to still take a share. */
const CHUNKS = 32;

/**
 * The calling thread and a second one walking chunks of arenas (see `chunks` above), every input and output in one
 * native block (the second thread must not touch JavaScript memory, which the runtime may move or free). Null when
 * libc lacks pthread_create or the process may use only one CPU.
 */
function secondThread(native: Native, chunksAt: bigint, thunk: bigint): {
  defaultFrom: number;
  run(firsts: Float64Array, carved: Uint32Array, poolSize: number, total: number, secondOnly: boolean): TeamResult | null;
} | null {
  const { libc } = native;
  if (!canRunSecondThread(libc)) return null;
  const chunks = native.fn(chunksAt, { args: ["ptr", "ptr"], ret: "void" });
  let block = 0n, capacity = 0;
  let blockView: Uint8Array | null = null; // over the whole block: a new view per walk costs more than the small heaps' walk
  // Threads that had taken no chunk when the calling thread finished, each with its block (whose chunk counter they
  // will still read): the block is freed only once its thread is joined. A few at most: past that the walk stays on
  // the calling thread.
  const pending: { thread: NativeThread; block: bigint }[] = [];
  const reap = () => {
    for (let i = 0; i < pending.length;) {
      const p = pending[i];
      let ended: boolean;
      try {
        ended = p.thread.tryJoin();
      } catch {
        pending.splice(i, 1); // cannot be joined (only misuse does that): its block is never reused nor freed
        continue;
      }
      if (!ended) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      libc.free(p.block);
    }
  };
  return {
    defaultFrom: 24_576,
    run(firsts, carved, poolSize, total, secondOnly) {
      reap();
      if (pending.length >= 4) return null;
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
      new BigUint64Array(all.buffer, all.byteOffset, 9).set([at(oFirsts), at(oCarved), BigInt(nchunks), BigInt(poolSize), at(oRecords), at(oUsed), at(oTable), 0n, at(oClass)]);
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
      const thread = startNativeThread(libc, thunk, base);
      if (!thread) return null;
      const doneBy = new Int32Array(all.buffer, all.byteOffset + oClass, 68 * nchunks); // word 33 of each chunk's sums
      let wait = secondOnly;
      try {
        if (!secondOnly) chunks(base, 1n);
      } finally {
        // Every chunk is taken now. One the thread is still walking reads the heap, which stays still only while the
        // caller holds the GIL, that is until we return: wait for it. A thread that took no chunk (or has not even
        // started) reads nothing but the chunk counter: it is joined at a later walk, its block kept until then.
        for (let c = 0; c < nchunks && !wait; c++) if (Atomics.load(doneBy, 68 * c + 66) === 0) wait = true;
        let ended = false;
        try {
          if (wait) thread.join();
          ended = wait || thread.tryJoin();
        } catch (e) {
          block = 0n; // a thread that cannot be joined: never reuse (or free) the memory it may write
          capacity = 0;
          blockView = null;
          throw e;
        }
        if (!ended) {
          pending.push({ thread, block: base });
          block = 0n;
          capacity = 0;
          blockView = null;
        }
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
