/**
 * Reading another process's memory, read-only and without stopping it: `process_vm_readv` through libc with many
 * iovecs per call (one system call reads up to IOV_MAX = 1024 scattered ranges), and `/proc/PID/mem` with positioned
 * reads as the fallback where the system call is unavailable (seccomp, old kernels).
 *
 * Nothing here writes to the target or ptrace-attaches to it. Both paths need the same permission as ptrace
 * (PTRACE_MODE_ATTACH_REALCREDS): same uid and not restricted by Yama, or CAP_SYS_PTRACE.
 *
 * One concept (over 500 lines): reading another process's memory — the two read paths (process_vm_readv and
 * /proc/PID/mem), batching, partial reads and the second reading thread all decide together what a read returns.
 * @module
 */
import * as fs from "node:fs";
import { loadBackend } from "../../ffi/backend.ts";
import { generated, libc as libcSymbols, type LibcApi } from "../../ffi/symbols.ts";
import type { Backend } from "../../ffi/types.ts";
import { canRunSecondThread, startNativeThread } from "./threads.ts";
import { hostArch } from "./codegen.ts";
import { mapCode } from "./exec-pages.ts";
import { PymemError } from "../errors.ts";
import { setIovec } from "./bytes.ts";

/** Linux errno values the reader tells apart. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EINVAL: 22,
  ENOSYS: 38,
} as const;

/** IOV_MAX on Linux: the most iovecs one process_vm_readv call accepts. */
export const IOV_MAX = 1024;

/** Uniform reads of at least this many ranges are split over two threads (below it a thread costs more than it saves). */
const PARALLEL_FROM = 4 * IOV_MAX;

/*
 * void *readv_loop(uint64_t *a): the second reading thread's start routine (also called directly, through FFI, for
 * the first half). a[0] process_vm_readv, a[1] pid, a[2] batches, a[3] batch table of {local iov *, remote iov *,
 * count}, a[4] results (one i64 per batch: what the call returned). For each batch:
 *   results[b] = process_vm_readv(pid, local, 1, remote, count, 0)
 * Five pushes keep the stack 16-byte aligned at the call. Assembled with GNU as from
 * remote.x86_64.s beside this file, by `bun tools/assemble.ts --write`: edit the source, not the bytes.
 */
// deno-fmt-ignore: one instruction a line, as `bun tools/assemble.ts --write` writes it
export const READV_LOOP_X64 = new Uint8Array([
  // readv_loop:
  0x53,                                           // push rbx
  0x41, 0x54,                                     // push r12
  0x41, 0x55,                                     // push r13
  0x41, 0x56,                                     // push r14
  0x41, 0x57,                                     // push r15
  0x48, 0x89, 0xfb,                               // mov rbx,rdi
  0x4c, 0x8b, 0x63, 0x18,                         // mov r12,qword [rbx+0x18]
  0x4c, 0x8b, 0x6b, 0x20,                         // mov r13,qword [rbx+0x20]
  0x4c, 0x8b, 0x73, 0x10,                         // mov r14,qword [rbx+0x10]
  0x4d, 0x85, 0xf6,                               // test r14,r14
  0x74, 0x2c,                                     // je done
  // next:
  0x8b, 0x7b, 0x08,                               // mov edi,dword [rbx+0x8]
  0x49, 0x8b, 0x34, 0x24,                         // mov rsi,qword [r12]
  0xba, 0x01, 0x00, 0x00, 0x00,                   // mov edx,0x1
  0x49, 0x8b, 0x4c, 0x24, 0x08,                   // mov rcx,qword [r12+0x8]
  0x4d, 0x8b, 0x44, 0x24, 0x10,                   // mov r8,qword [r12+0x10]
  0x45, 0x31, 0xc9,                               // xor r9d,r9d
  0xff, 0x13,                                     // call qword [rbx]
  0x49, 0x89, 0x45, 0x00,                         // mov qword [r13+0x0],rax
  0x49, 0x83, 0xc4, 0x18,                         // add r12,0x18
  0x49, 0x83, 0xc5, 0x08,                         // add r13,0x8
  0x49, 0xff, 0xce,                               // dec r14
  0x75, 0xd4,                                     // jne next
  // done:
  0x31, 0xc0,                                     // xor eax,eax
  0x41, 0x5f,                                     // pop r15
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5c,                                     // pop r12
  0x5b,                                           // pop rbx
  0xc3,                                           // ret
]);
/** The generated loop, bound once per process (the runtime's backend is a singleton); null when unavailable. */
let readvLoop: ReadvLoop | null | undefined;

interface ReadvLoop {
  code: bigint;
  /** process_vm_readv's address. */
  readv: bigint;
  run(args: bigint): void;
}

/** How remote memory is read. */
export type ReadMode = "process_vm_readv" | "/proc/PID/mem";

/** Read the Yama ptrace policy, if the kernel has Yama (undefined otherwise). */
function ptraceScope(): number | undefined {
  try {
    return Number(fs.readFileSync("/proc/sys/kernel/yama/ptrace_scope", "utf8").trim());
  } catch {
    return undefined;
  }
}

/** Owner uid of a process, from /proc/PID/status (undefined when it cannot be read). */
function ownerUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[2]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error for a failed read of another process: what happened, and for permission problems exactly what to change.
 * Exported so the errno → message mapping can be tested without a second user.
 * `scope` and `uids` default to the machine's Yama setting and the real uids; tests pass them in.
 */
export function remoteReadError(
  pid: number,
  errno: number,
  what: string,
  ctx: { scope?: number; myUid?: number; targetUid?: number } = {},
): PymemError {
  const scope = "scope" in ctx ? ctx.scope : ptraceScope();
  const myUid = "myUid" in ctx
    ? ctx.myUid
    : (typeof process !== "undefined" && process.getuid ? process.getuid() : undefined);
  const targetUid = "targetUid" in ctx ? ctx.targetUid : ownerUid(pid);
  if (errno === ERRNO.ESRCH || errno === ERRNO.ENOENT) {
    return new PymemError(
      "ATTACH",
      `process ${pid} exited while ${what} (errno ${errno === ERRNO.ESRCH ? "ESRCH" : "ENOENT"})`,
    );
  }
  if (errno === ERRNO.EPERM || errno === ERRNO.EACCES) {
    const name = errno === ERRNO.EPERM ? "EPERM" : "EACCES";
    const fixes: string[] = [];
    if (myUid !== undefined && targetUid !== undefined && myUid !== targetUid) {
      fixes.push(
        `the process belongs to uid ${targetUid} and you are uid ${myUid}: run as that user (e.g. \`sudo -u '#${targetUid}' …\`), ` +
          "as root, or grant CAP_SYS_PTRACE (e.g. `sudo setcap cap_sys_ptrace+ep $(command -v bun)`, or `--cap-add=SYS_PTRACE` in Docker)",
      );
    }
    if (scope === 1) {
      fixes.push(
        "/proc/sys/kernel/yama/ptrace_scope is 1 (only a parent may read its children): run as root or with CAP_SYS_PTRACE, " +
          "or allow it for everyone with `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`",
      );
    } else if (scope === 2) {
      fixes.push("/proc/sys/kernel/yama/ptrace_scope is 2 (admin only): run as root or with CAP_SYS_PTRACE");
    } else if (scope === 3) {
      fixes.push(
        "/proc/sys/kernel/yama/ptrace_scope is 3 (no process may read another until reboot): nothing short of a reboot allows it",
      );
    }
    if (fixes.length === 0) {
      fixes.push(
        "reading another process needs the same uid and a non-setuid, dumpable target, or CAP_SYS_PTRACE; a container may " +
          "also block process_vm_readv (seccomp): run with `--cap-add=SYS_PTRACE` or `--security-opt seccomp=unconfined`",
      );
    }
    return new PymemError(
      "PERMISSION",
      `permission denied (${name}) reading process ${pid} while ${what}: ${fixes.join("; ")}`,
    );
  }
  return new PymemError("ATTACH", `cannot read process ${pid} while ${what}: errno ${errno}`);
}

/** One range to read: `length` bytes at `address`, into `out` at `offset`. */
export interface ReadRange {
  address: number;
  length: number;
}

/**
 * Read-only access to another process's memory. Addresses are numbers: user-space addresses fit in 47 bits.
 * `readCalls` counts system calls (process_vm_readv or pread), for the benchmark and `debugInfo`.
 */
/**
 * The libc functions a process_vm_readv reader calls; those of the second reading thread are optional (without
 * them every read is made on the calling thread).
 */
type ReaderLibc =
  & Pick<LibcApi, "process_vm_readv" | "__errno_location" | "malloc" | "free">
  & Partial<Pick<LibcApi, "mmap" | "mprotect" | "munmap" | "pthread_create" | "pthread_join" | "pthread_sigmask">>
  & { readonly dlsym?: LibcApi["dlsym"] | null };

/** The libc functions generated code over read memory needs: allocation, executable pages, and threads (optional). */
export type NativeLibc =
  & Pick<LibcApi, "malloc" | "free" | "mmap" | "mprotect" | "munmap">
  & Partial<Pick<LibcApi, "pthread_create" | "pthread_join" | "pthread_sigmask">>;

export class RemoteMemory {
  readonly pid: number;
  #mode: ReadMode;
  readonly #backend: Backend | undefined;
  readonly #readv: LibcApi["process_vm_readv"] | undefined;
  readonly #errno: LibcApi["__errno_location"] | undefined;
  readonly #malloc: LibcApi["malloc"] | undefined;
  readonly #free: LibcApi["free"] | undefined;
  readonly #fns: ReaderLibc | undefined;
  #scratch = 0n;
  #scratchSize = 0;
  #memFd = -1;
  #closed = false;
  /** System calls made so far. */
  readCalls = 0;
  /** Bytes copied so far. */
  bytesRead = 0;
  /** Uniform reads split over two threads so far. */
  parallelReads = 0;
  // Reused iovec arrays: [base lo, base hi, len lo, len hi] per entry.
  readonly #local = new Uint32Array(4);
  readonly #remote = new Uint32Array(4 * IOV_MAX);

  private constructor(pid: number, mode: ReadMode, backend?: Backend, fns?: ReaderLibc) {
    this.pid = pid;
    this.#mode = mode;
    this.#backend = backend;
    this.#readv = fns?.process_vm_readv;
    this.#errno = fns?.__errno_location;
    this.#malloc = fns?.malloc;
    this.#free = fns?.free;
    this.#fns = fns;
  }

  /**
   * Open a reader for `pid`, checking that a first read at `probe` works (the address of something known to be
   * mapped, such as `_PyRuntime`). `mode` forces one path; by default process_vm_readv, then /proc/PID/mem when the
   * system call is refused by something other than the permission check (ENOSYS, a seccomp EPERM that /proc allows).
   */
  static async open(pid: number, probe: number, mode?: ReadMode): Promise<RemoteMemory> {
    if (mode !== "/proc/PID/mem") {
      const backend = await loadBackend();
      const want = {
        process_vm_readv: libcSymbols.process_vm_readv,
        __errno_location: libcSymbols.__errno_location,
        malloc: libcSymbols.malloc,
        free: libcSymbols.free,
        // For the second reading thread (optional: without them every read is made on the calling thread).
        mmap: libcSymbols.mmap,
        mprotect: libcSymbols.mprotect,
        munmap: libcSymbols.munmap,
        dlsym: { ...libcSymbols.dlsym, optional: true }, // in libdl before glibc 2.34
        pthread_create: libcSymbols.pthread_create,
        pthread_join: libcSymbols.pthread_join,
        pthread_sigmask: libcSymbols.pthread_sigmask,
      };
      const lib = backend.open("libc.so.6", want);
      const r = new RemoteMemory(pid, "process_vm_readv", backend, lib.symbols);
      const errno = r.#probe(probe);
      if (errno === 0) return r;
      r.close();
      const fallback = mode === undefined && (errno === ERRNO.ENOSYS || errno === ERRNO.EPERM);
      if (!fallback) throw remoteReadError(pid, errno, "attaching (process_vm_readv)");
      // A seccomp filter may refuse the system call while /proc/PID/mem (same ptrace check) works: try it.
      try {
        return RemoteMemory.#openMem(pid, probe);
      } catch (e) {
        if (e instanceof PymemError && e.code === "PERMISSION") {
          throw remoteReadError(pid, errno, "attaching (process_vm_readv and /proc/PID/mem)");
        }
        throw e;
      }
    }
    return RemoteMemory.#openMem(pid, probe);
  }

  /**
   * A fault-safe reader of this very process from an already loaded libc: for walking memory that another thread
   * may unmap meanwhile (the heap of a sub-interpreter running under its own GIL). A bad read fails, not faults.
   */
  static ofSelf(backend: Backend, libc: ReaderLibc & Pick<LibcApi, "getpid">): RemoteMemory {
    return new RemoteMemory(libc.getpid(), "process_vm_readv", backend, libc);
  }

  static #openMem(pid: number, probe: number): RemoteMemory {
    const r = new RemoteMemory(pid, "/proc/PID/mem");
    try {
      r.#memFd = fs.openSync(`/proc/${pid}/mem`, "r");
    } catch (e) {
      throw remoteReadError(pid, errnoOf(e), "opening /proc/PID/mem");
    }
    const errno = r.#probe(probe);
    if (errno !== 0) {
      r.close();
      throw remoteReadError(pid, errno, "attaching (/proc/PID/mem)");
    }
    return r;
  }

  /** 0 when 8 bytes at `address` can be read, else the errno. */
  #probe(address: number): number {
    const out = new Uint8Array(8);
    const ok = new Uint8Array(1);
    try {
      this.#readBatch([{ address, length: 8 }], 0, 1, out, [0], ok);
    } catch (e) {
      if (e instanceof PymemError && e.cause && typeof (e.cause as { errno?: number }).errno === "number") {
        return (e.cause as { errno: number }).errno;
      }
      throw e;
    }
    return ok[0] ? 0 : ERRNO.EFAULT;
  }

  /** "process_vm_readv" or "/proc/PID/mem". */
  get mode(): ReadMode {
    return this.#mode;
  }

  /**
   * Read many ranges. Returns the bytes packed in order (`offsets[i]` is where range i starts) and a flag per range
   * (1 read, 0 unreadable: unmapped, or freed by the target meanwhile). Throws PymemError when the process is gone
   * or reading is not permitted.
   */
  readMany(ranges: ReadRange[]): { bytes: Uint8Array; offsets: number[]; ok: Uint8Array } {
    const offsets: number[] = new Array(ranges.length);
    let total = 0;
    for (let i = 0; i < ranges.length; i++) {
      offsets[i] = total;
      total += ranges[i].length;
    }
    const bytes = new Uint8Array(total);
    const ok = new Uint8Array(ranges.length);
    for (let i = 0; i < ranges.length; i += IOV_MAX) {
      this.#readBatch(ranges, i, Math.min(ranges.length, i + IOV_MAX), bytes, offsets, ok);
    }
    return { bytes, offsets, ok };
  }

  /**
   * The fast path for many equal-sized ranges (pool headers): `length` bytes at each of `addresses`, packed
   * (range i at i * length), with a flag per range. Same errors as readMany.
   */
  readUniform(addresses: Float64Array, length: number): { bytes: Uint8Array; ok: Uint8Array } {
    const n = addresses.length;
    const bytes = new Uint8Array(n * length);
    const ok = new Uint8Array(n);
    if (this.#mode !== "process_vm_readv") {
      const ranges: ReadRange[] = [];
      for (let i = 0; i < n; i += IOV_MAX) {
        const to = Math.min(n, i + IOV_MAX);
        ranges.length = 0;
        for (let k = i; k < to; k++) ranges.push({ address: addresses[k], length });
        const okPart = new Uint8Array(to - i);
        this.#readBatch(ranges, 0, to - i, bytes, ranges.map((_, k) => (i + k) * length), okPart);
        ok.set(okPart, i);
      }
      return { bytes, ok };
    }
    if (this.#closed) throw new PymemError("CLOSED", `the reader of process ${this.pid} is closed`);
    if (length === 0) return { bytes, ok: ok.fill(1) };
    if (n >= PARALLEL_FROM && this.#readInParallel(addresses, length, bytes, ok)) return { bytes, ok };
    this.#readUniformRange(addresses, length, 0, n, bytes, ok);
    return { bytes, ok };
  }

  /**
   * A uniform read straight into native memory at `dest` (range i at dest + i * length, at least n * length bytes the
   * caller owns): no copy into JavaScript memory, for generated code that works on what was read
   * (lib/objects/classify-pass.ts). The flags say which ranges were read; null when this reader cannot (it reads
   * through /proc/PID/mem). Same errors as readMany.
   */
  readUniformInto(addresses: Float64Array, length: number, dest: bigint): Uint8Array | null {
    if (this.#mode !== "process_vm_readv" || !this.#backend) return null;
    if (this.#closed) throw new PymemError("CLOSED", `the reader of process ${this.pid} is closed`);
    const n = addresses.length, ok = new Uint8Array(n);
    if (length === 0) return ok.fill(1);
    const local = this.#local, remote = this.#remote;
    for (let start = 0; start < n;) {
      const to = Math.min(n, start + IOV_MAX);
      setIovec(local, 0, Number(dest) + start * length, (to - start) * length);
      for (let i = start; i < to; i++) setIovec(remote, i - start, addresses[i], length);
      this.readCalls++;
      const got = this.#readvChecked(local, remote, to - start);
      this.bytesRead += got;
      const whole = Math.min(to - start, Math.floor(got / length));
      ok.fill(1, start, start + whole);
      start += whole < to - start ? whole + 1 : whole;
    }
    return ok;
  }

  /**
   * Ranges [from, to) of a uniform read, on this thread. Equal ranges land packed in the scratch buffer in the
   * order of the output: one copy per system call instead of one per range (BENCHMARKS.md has the saving).
   */
  #readUniformRange(
    addresses: Float64Array,
    length: number,
    from: number,
    to_: number,
    bytes: Uint8Array,
    ok: Uint8Array,
  ): void {
    const local = this.#local, remote = this.#remote;
    for (let start = from; start < to_;) {
      const to = Math.min(to_, start + IOV_MAX);
      const need = (to - start) * length;
      this.#ensureScratch(need);
      setIovec(local, 0, Number(this.#scratch), need);
      for (let i = start; i < to; i++) setIovec(remote, i - start, addresses[i], length);
      this.readCalls++;
      const got = this.#readvChecked(local, remote, to - start);
      this.bytesRead += got;
      // Transfers stop at a whole iovec (the kernel never splits one): everything before the first failure is good.
      const whole = Math.min(to - start, Math.floor(got / length));
      if (whole > 0) bytes.set(new Uint8Array(this.#backend!.view(this.#scratch, whole * length)), start * length);
      ok.fill(1, start, start + whole);
      start += whole < to - start ? whole + 1 : whole; // skip the range that failed (ok stays 0)
    }
  }

  /**
   * A large uniform read split in two: a second thread runs process_vm_readv over the second half of the batches
   * (generated code calling it in a loop) while this thread runs the first half through the same code. The kernel
   * pins and copies each remote page by itself, so two threads take ~0.6 of the time. Every buffer is native
   * memory. A batch that did not read whole (unmapped ranges, or an error, whose errno only its thread saw) is read
   * again here, range by range, with the usual error handling. False when no second thread is available.
   */
  #readInParallel(addresses: Float64Array, length: number, bytes: Uint8Array, ok: Uint8Array): boolean {
    const loop = this.#readvLoop();
    if (!loop) return false;
    const fns = this.#fns!;
    const n = addresses.length, batches = Math.ceil(n / IOV_MAX), half = Math.ceil(batches / 2);
    // args ×2 (5 words each) | batch table (3 words each) | results (1 word each) | remote iovecs | local iovecs | data
    const oBatches = 80, oResults = oBatches + 24 * batches, oRemote = oResults + 8 * batches;
    const oLocal = oRemote + 16 * n, oData = oLocal + 16 * batches, size = oData + n * length;
    try {
      this.#ensureScratch(size);
    } catch {
      return false; // no room for the whole read at once: batch by batch on this thread
    }
    const base = this.#scratch, at = (o: number) => base + BigInt(o);
    const head = new Uint8Array(this.#backend!.view(base, oData));
    const w64 = new BigUint64Array(head.buffer, head.byteOffset, oData / 8);
    const w32 = new Uint32Array(head.buffer, head.byteOffset, oData / 4);
    const pid = BigInt(this.pid);
    w64.set([loop.readv, pid, BigInt(half), at(oBatches), at(oResults)], 0);
    w64.set([loop.readv, pid, BigInt(batches - half), at(oBatches + 24 * half), at(oResults + 8 * half)], 5);
    for (let b = 0; b < batches; b++) {
      const first = b * IOV_MAX, count = Math.min(IOV_MAX, n - first);
      w64.set([at(oLocal + 16 * b), at(oRemote + 16 * first), BigInt(count)], (oBatches + 24 * b) / 8);
      setIovec(w32, (oLocal + 16 * b) / 16, Number(at(oData + first * length)), count * length);
      w64[(oResults + 8 * b) / 8] = 0n;
    }
    for (let i = 0; i < n; i++) setIovec(w32, oRemote / 16 + i, addresses[i], length);
    const thread = startNativeThread(fns, loop.code, at(40));
    if (!thread) return false;
    try {
      loop.run(base);
    } finally {
      try {
        thread.join();
      } catch (e) {
        this.#scratch = 0n; // a thread that may still write it: never reuse (or free) this buffer
        this.#scratchSize = 0;
        // deno-lint-ignore no-unsafe-finally
        throw e; // the join failing outranks any other error: the buffer is lost either way
      }
    }
    this.readCalls += batches;
    this.parallelReads++;
    bytes.set(new Uint8Array(this.#backend!.view(at(oData), n * length)));
    const results = new BigInt64Array(head.buffer, head.byteOffset + oResults, batches);
    const redo: number[] = [];
    for (let b = 0; b < batches; b++) {
      const first = b * IOV_MAX, count = Math.min(IOV_MAX, n - first);
      const got = Number(results[b]);
      const whole = got > 0 ? Math.min(count, Math.floor(got / length)) : 0;
      this.bytesRead += Math.max(0, got);
      ok.fill(1, first, first + whole);
      // A short count stopped at an unreadable range (ok stays 0): go on after it. A failed call (errno seen only by
      // its thread) is made again from its start.
      const from = got >= 0 ? first + whole + 1 : first;
      if (whole < count) {
        bytes.fill(0, (first + whole) * length, (first + whole + 1) * length);
        if (from < first + count) redo.push(from, first + count);
      }
    }
    // The batches that stopped early, from their first unread range, on this thread (scratch is reused there).
    for (let r = 0; r < redo.length; r += 2) {
      bytes.fill(0, redo[r] * length, redo[r + 1] * length);
      this.#readUniformRange(addresses, length, redo[r], redo[r + 1], bytes, ok);
    }
    return true;
  }

  /** The generated read loop and process_vm_readv's address, or null (not x86-64, one CPU, no pthread). */
  #readvLoop(): ReadvLoop | null {
    const f = this.#fns;
    if (!f || !canRunSecondThread(f) || !f.mmap || !f.mprotect || !f.munmap || !f.dlsym) return null;
    // Once per process (the code is never unmapped, and a refusal would only repeat).
    if (readvLoop !== undefined) return readvLoop;
    readvLoop = null;
    try {
      if (hostArch() !== "x64") return null;
      const backend = this.#backend!;
      const host = {
        libc: { mmap: f.mmap, mprotect: f.mprotect, munmap: f.munmap },
        bytes: (a: bigint, len: number) => new Uint8Array(backend.view(a, len)),
      };
      const readv = f.dlsym(0n, new TextEncoder().encode("process_vm_readv\0"));
      if (!readv) return null;
      const code = mapCode(host, READV_LOOP_X64);
      const run = backend.fn(code, generated.readvLoop);
      readvLoop = { code, readv, run: (args) => void run(args) };
    } catch {
      readvLoop = null;
    }
    return readvLoop;
  }

  /** One process_vm_readv of `count` remote iovecs into the local one: bytes read (0 when the first range faults). */
  #readvChecked(local: Uint32Array, remote: Uint32Array, count: number): number {
    const remoteIov = new Uint8Array(remote.buffer, 0, 16 * count);
    const n = this.#readv!(this.pid, new Uint8Array(local.buffer), 1, remoteIov, count, 0);
    if (n >= 0) return n;
    const errno = this.#lastErrno();
    // EFAULT: the first remote range is unmapped (later ones are not tried); anything else is fatal.
    if (errno !== ERRNO.EFAULT) {
      const e = remoteReadError(this.pid, errno, "reading memory");
      (e as { cause?: unknown }).cause = { errno };
      throw e;
    }
    return 0;
  }

  /** `length` bytes at `address`, or null when any of it is unreadable. */
  tryRead(address: number, length: number): Uint8Array | null {
    if (length === 0) return new Uint8Array(0);
    if (!(address > 0) || address + length > 2 ** 53) return null;
    const r = this.readMany([{ address, length }]);
    return r.ok[0] ? r.bytes : null;
  }

  /**
   * `length` bytes at `address` without a copy into JavaScript memory: a view of the reader's own native buffer,
   * valid until its next read (a walk over a GiB of heap reads it once, not twice). Null when any of it is
   * unreadable. Through /proc/PID/mem, a copy as tryRead.
   */
  readView(address: number, length: number): Uint8Array | null {
    if (this.#mode !== "process_vm_readv") return this.tryRead(address, length);
    if (this.#closed) throw new PymemError("CLOSED", `the reader of process ${this.pid} is closed`);
    if (length === 0) return new Uint8Array(0);
    if (!(address > 0) || address + length > 2 ** 53) return null;
    this.#ensureScratch(length);
    setIovec(this.#local, 0, Number(this.#scratch), length);
    setIovec(this.#remote, 0, address, length);
    this.readCalls++;
    const got = this.#readvChecked(this.#local, this.#remote, 1);
    this.bytesRead += got;
    return got === length ? new Uint8Array(this.#backend!.view(this.#scratch, length)) : null;
  }

  /** `length` bytes at `address`; throws PymemError("ATTACH") when unreadable. */
  read(address: number, length: number): Uint8Array {
    const b = this.tryRead(address, length);
    if (!b) {
      throw new PymemError(
        "ATTACH",
        `process ${this.pid}: ${length} bytes at 0x${address.toString(16)} are not readable`,
      );
    }
    return b;
  }

  /** Read ranges[from..to) (at most IOV_MAX) into `out`, setting ok[i]. */
  #readBatch(ranges: ReadRange[], from: number, to: number, out: Uint8Array, offsets: number[], ok: Uint8Array): void {
    if (this.#closed) throw new PymemError("CLOSED", `the reader of process ${this.pid} is closed`);
    if (this.#mode === "/proc/PID/mem") {
      for (let i = from; i < to; i++) ok[i] = this.#pread(ranges[i], out, offsets[i]) ? 1 : 0;
      return;
    }
    let start = from;
    while (start < to) {
      let need = 0;
      for (let i = start; i < to; i++) need += ranges[i].length;
      this.#ensureScratch(need);
      const local = this.#local, remote = this.#remote;
      setIovec(local, 0, Number(this.#scratch), need);
      for (let i = start; i < to; i++) setIovec(remote, i - start, ranges[i].address, ranges[i].length);
      this.readCalls++;
      const got = this.#readvChecked(local, remote, to - start);
      this.bytesRead += got;
      // Transfers stop at a whole iovec (the kernel never splits one): everything before the first failure is good.
      const view = got > 0 ? new Uint8Array(this.#backend!.view(this.#scratch, got)) : new Uint8Array(0);
      let pos = 0;
      let i = start;
      for (; i < to && pos + ranges[i].length <= got; i++) {
        out.set(view.subarray(pos, pos + ranges[i].length), offsets[i]);
        ok[i] = 1;
        pos += ranges[i].length;
      }
      if (i < to) ok[i] = 0; // the range that failed (partly read or not at all)
      start = i + 1;
    }
  }

  #pread(r: ReadRange, out: Uint8Array, at: number): boolean {
    let done = 0;
    this.readCalls++;
    try {
      while (done < r.length) {
        const n = fs.readSync(this.#memFd, out, at + done, r.length - done, r.address + done);
        if (n <= 0) return false;
        done += n;
      }
      this.bytesRead += done;
      return true;
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === ERRNO.EIO || errno === ERRNO.EFAULT) return false; // unmapped
      if (errno === ERRNO.ESRCH || errno === 0) {
        // A dead process's mem file reads as EOF / ESRCH: say the process exited.
        if (!fs.existsSync(`/proc/${this.pid}`)) throw remoteReadError(this.pid, ERRNO.ESRCH, "reading memory");
        return false;
      }
      const err = remoteReadError(this.pid, errno, "reading /proc/PID/mem");
      (err as { cause?: unknown }).cause = { errno };
      throw err;
    }
  }

  #lastErrno(): number {
    if (this.#backend!.errno) return this.#backend!.errno();
    const p = this.#errno!();
    return new DataView(this.#backend!.view(p, 4)).getInt32(0, true);
  }

  #ensureScratch(n: number): void {
    if (n <= this.#scratchSize) return;
    if (this.#scratch !== 0n) this.#free!(this.#scratch);
    const size = Math.max(n, 1 << 16);
    this.#scratch = this.#malloc!(size);
    if (this.#scratch === 0n) {
      this.#scratchSize = 0;
      throw new PymemError("ALLOCATION_FAILED", `cannot allocate ${size} bytes of read buffer`);
    }
    this.#scratchSize = size;
  }

  /**
   * This process's runtime adapter and libc allocation functions, for generated code that works on what was read
   * (lib/objects/classify-pass.ts); undefined when reading through /proc/PID/mem without them.
   */
  get nativeAccess(): { backend: Backend; libc: NativeLibc } | undefined {
    const f = this.#fns, b = this.#backend;
    if (!b || !f?.malloc || !f.free || !f.mmap || !f.mprotect || !f.munmap) return undefined;
    const { malloc, free, mmap, mprotect, munmap, pthread_create, pthread_join, pthread_sigmask } = f;
    return {
      backend: b,
      libc: { malloc, free, mmap, mprotect, munmap, pthread_create, pthread_join, pthread_sigmask },
    };
  }

  /** Release the read buffer and file descriptor. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#scratch !== 0n) this.#free!(this.#scratch);
    this.#scratch = 0n;
    if (this.#memFd >= 0) fs.closeSync(this.#memFd);
    this.#memFd = -1;
  }
}

/** errno number of a node:fs error (by its code, in {@link ERRNO}), 0 when unknown. */
function errnoOf(e: unknown): number {
  const code = (e as { code?: string })?.code;
  return (code && Object.hasOwn(ERRNO, code) && ERRNO[code as keyof typeof ERRNO]) || 0;
}
