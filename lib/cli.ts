#!/usr/bin/env node
/**
 * The `pymem` executable: `bun lib/cli.ts`, `deno run -A lib/cli.ts`, and the package's bin under Node
 * (dist/lib/cli.js). The command line itself is lib/cli/main.ts.
 * @module
 */
import process from "node:process";
import { isMain } from "./core/runtime.ts";
import { main } from "./cli/main.ts";

export { main };

if (isMain(import.meta.url)) {
  const status = await main(process.argv.slice(2));
  // Exit explicitly: the interpreter was finalized, and nothing else should keep the process alive. (Under Node,
  // ffi/koffi.ts first refills the standard fds Python code may have closed.)
  process.exit(status);
}
