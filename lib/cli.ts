#!/usr/bin/env node
/**
 * The `pymem` executable: `bun lib/cli.ts`, `deno run -A lib/cli.ts`, and the package's bin under Node
 * (dist/lib/cli.js). The command line itself is lib/cli/main.ts.
 * @module
 */
import { fstatSync, openSync } from "node:fs";
import process from "node:process";
import { isMain } from "./core/runtime.ts";
import { main } from "./cli/main.ts";

export { main };

/**
 * Put /dev/null where Python code closed fd 0, 1 or 2. koffi (3.3.4) syncs stdout and stderr in an atexit handler
 * and reports a failure on stderr under a lock it already holds: with fd 2 closed, Node never exits.
 */
function refillStandardFds(): void {
  for (let fd = 0; fd <= 2; fd++) {
    try {
      fstatSync(fd);
    } catch {
      try {
        // open() returns the lowest free descriptor: this one, or a lower closed one (refilled first by the loop).
        openSync("/dev/null", fd === 0 ? "r" : "w");
      } catch { /* nothing more to do on the way out */ }
    }
  }
}

if (isMain(import.meta.url)) {
  const status = await main(process.argv.slice(2));
  refillStandardFds();
  // Exit explicitly: the interpreter was finalized, and nothing else should keep the process alive.
  process.exit(status);
}
