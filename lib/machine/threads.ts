/**
 * Native threads for generated code: a pthread runs `start(arg)` over native memory while the JavaScript thread
 * does other work (the heap walk's second half, attach's batched reads).
 * @module
 */
import { availableParallelism } from "node:os";
import { PymemError } from "../errors.ts";
import type { NativeFn } from "../../ffi/types.ts";


/** libc's pthread functions as the symbol tables bind them (optional there: libpthread before glibc 2.34). */
export interface ThreadApi {
  readonly pthread_create?: NativeFn | null;
  readonly pthread_join?: NativeFn | null;
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

/**
 * Run generated code `start(arg)` on a new pthread, or return null if the thread could not be created. The code must
 * touch only native memory: the JavaScript runtime may move or free its own while the thread runs.
 */
export function startNativeThread(libc: ThreadApi, start: bigint, arg: bigint): NativeThread | null {
  const tid = new BigUint64Array(1);
  if (libc.pthread_create!(tid, 0n, start, arg) !== 0) return null;
  const thread = tid[0];
  let joined = false;
  return {
    join() {
      if (joined) return;
      const rc = libc.pthread_join!(thread, 0n);
      if (rc !== 0) throw new PymemError("INVALID_STATE", `pthread_join of a pymem worker thread failed (error ${rc})`);
      joined = true;
    },
  };
}

