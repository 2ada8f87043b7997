/**
 * Test tooling only: close a sub-interpreter as soon as the threads that make close() refuse have ended.
 * @module
 */
import { PymemError, type SubInterpreter } from "../lib/mod.ts";

/** Retry close() every 20 ms while it refuses with INVALID_STATE; throw after `ms` (any other error at once). */
export async function closeOnceThreadsEnd(sub: SubInterpreter, ms = 10_000): Promise<void> {
  for (let waited = 0; !sub.closed; waited += 20) {
    if (waited > ms) throw new Error(`sub-interpreter #${sub.id} still refused to close after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
    try {
      sub.close();
    } catch (e) {
      if (!(e instanceof PymemError && e.code === "INVALID_STATE")) throw e;
    }
  }
}
