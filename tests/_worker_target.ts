/**
 * Test tooling only: a worker thread (node:worker_threads, which Bun and Deno also run) that opens the same libpython
 * as its parent and answers "eval" and "close" messages; used by tests/_hardening_child.ts for handle lifetimes
 * across JavaScript threads.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { openPython } from "../lib/mod.ts";

const py = await openPython();
parentPort!.postMessage({ ready: true, owned: py.owned });
parentPort!.on("message", (m: string) => {
  try {
    if (m === "eval") parentPort!.postMessage({ value: py.eval("6 * 7") });
    if (m === "close") {
      py.close();
      parentPort!.postMessage({ closed: true });
    }
  } catch (e) {
    parentPort!.postMessage({ error: String((e as Error)?.message ?? e) });
  }
});
