/**
 * Test tooling only: a process that loaded libpython (PYMEM_LIBPYTHON) and finalized it (openPython, then close()),
 * then stays: what an embedding application looks like after it is done with Python. Prints "ready" when closed.
 * @module
 */
import process from "node:process";
import { openPython } from "../lib/mod.ts";

const py = await openPython();
py.close();
process.stdout.write("ready\n");
setTimeout(() => process.exit(0), 60_000);
