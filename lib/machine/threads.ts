/**
 * Native threads for generated code: a pthread runs `start(arg)` over native memory while the JavaScript thread
 * does other work (the heap walk's second half, attach's batched reads).
 * @module
 */
import { availableParallelism, loadavg } from "node:os";
import { PymemError } from "../errors.ts";
import type { LibcApi } from "../../ffi/symbols.ts";

/** libc's pthread functions as the symbol tables bind them (optional there: libpthread before glibc 2.34). */
export interface ThreadApi {
  readonly pthread_create?: LibcApi["pthread_create"];
  readonly pthread_join?: LibcApi["pthread_join"];
  readonly pthread_sigmask?: LibcApi["pthread_sigmask"];
}

/** A native thread started by {@link startNativeThread}. */
export interface NativeThread {
  /**
   * Wait for it. Throws PymemError("INVALID_STATE") when pthread_join fails (only misuse can make it): the thread
   * may still be running then, so the caller must never reuse or free the memory it writes.
   */
  join(): void;
}

/** Whether a second thread can help: libc has the pthread functions and this process may use two CPUs. */
export function canRunSecondThread(libc: ThreadApi): boolean {
  return !!libc.pthread_create && !!libc.pthread_join && availableParallelism() >= 2;
}

let loadCheckedAt = -Infinity, loadSaysBusy = false;

/**
 * Whether the machine looks too busy for a second thread to help: a 1-minute load average within half a CPU of the
 * CPUs this process may use. Then a new thread waits for a CPU (measured: 0.2 ms and more at load 7 on 2 CPUs) and
 * can take the calling thread's CPU from it, so work split in two takes longer than on one thread. Read at most
 * once a second (os.loadavg() costs 15–25 µs).
 */
export function machineBusy(): boolean {
  const now = Date.now();
  if (now - loadCheckedAt >= 1000) {
    loadCheckedAt = now;
    const [one] = loadavg();
    loadSaysBusy = one > availableParallelism() - 0.5;
  }
  return loadSaysBusy;
}

/**
 * Run generated code `start(arg)` on a new pthread, or return null if the thread could not be created. The code must
 * touch only native memory: the JavaScript runtime may move or free its own while the thread runs. The thread starts
 * with the signals a runtime handles blocked (it inherits the mask in force at pthread_create, set here around it):
 * their handlers must not run on a thread the runtime does not know. glibc's own signals stay open (setuid needs
 * every thread to answer them), and so do the faults, so that a crash reaches the runtime's and Python's handlers.
 */
export function startNativeThread(libc: ThreadApi, start: bigint, arg: bigint): NativeThread | null {
  const { pthread_create, pthread_join, pthread_sigmask } = libc;
  if (!pthread_create || !pthread_join) return null;
  const tid = new BigUint64Array(1);
  const old = new Uint8Array(SIGSET_BYTES);
  const masked = !!pthread_sigmask && pthread_sigmask(SIG_BLOCK, RUNTIME_SIGNALS, old) === 0;
  let rc: number;
  try {
    rc = pthread_create(tid, 0n, start, arg);
  } finally {
    if (masked) pthread_sigmask(SIG_SETMASK, old, new Uint8Array(SIGSET_BYTES));
  }
  if (rc !== 0) return null;
  const thread = tid[0];
  let joined = false;
  const join = () => {
    if (joined) return;
    const rc = pthread_join(thread, 0n);
    if (rc !== 0) throw new PymemError("INVALID_STATE", `pthread_join of a pymem worker thread failed (error ${rc})`);
    joined = true;
  };
  return { join };
}

const SIG_BLOCK = 0, SIG_SETMASK = 2;
/** glibc's sigset_t: 1,024 bits. */
const SIGSET_BYTES = 128;
/**
 * Every signal but the faults (SIGILL 4, SIGBUS 7, SIGFPE 8, SIGSEGV 11) and glibc's own (32, 33: cancellation and
 * setxid; its pthread_sigmask leaves them out anyway). 34 is glibc's SIGRTMIN, an application's: blocked.
 */
const RUNTIME_SIGNALS = (() => {
  const set = new Uint8Array(SIGSET_BYTES).fill(0xff);
  for (const signal of [4, 7, 8, 11, 32, 33]) set[(signal - 1) >> 3] &= ~(1 << ((signal - 1) & 7));
  return set;
})();
