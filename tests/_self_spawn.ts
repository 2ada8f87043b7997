/**
 * Test tooling only: the command that runs a script in a fresh process of the current runtime (bun, deno, or node
 * on dist/), also when the runtime itself was started through a dynamic loader (`ld-linux-x86-64.so.2
 * --library-path … bun test …`, how the Debian sid Pythons are tested): then the loader and its options come first.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/** [command, ...arguments] that run `script` (a .ts path; node gets the .js beside it) in this runtime. */
export function selfCommand(script: string): string[] {
  const g = globalThis as unknown as { Bun?: unknown; Deno?: { execPath(): string } };
  let prefix = [g.Deno ? g.Deno.execPath() : process.execPath];
  try {
    const argv = readFileSync("/proc/self/cmdline", "utf8").split("\0");
    if (/^ld-linux[^/]*\.so/.test(argv[0].slice(argv[0].lastIndexOf("/") + 1))) {
      // ld.so [--library-path P | --preload P | …] PROGRAM: keep everything up to the program itself.
      let i = 1;
      while (i < argv.length && argv[i].startsWith("--")) {
        i += /^--(library-path|preload|audit|argv0|inhibit-rpath)$/.test(argv[i]) ? 2 : 1;
      }
      prefix = argv.slice(0, i + 1);
      // Deno's child_process rewrites the arguments of a command equal to Deno.execPath() (here the loader) as if
      // it were spawning Deno itself, dropping the loader's options: name the loader by an equivalent other path.
      if (g.Deno) prefix[0] = prefix[0].replace(/\/([^/]+)$/, "/./$1");
    }
  } catch { /* not Linux: the runtime's own path */ }
  const run = g.Bun ? ["run", script] : g.Deno ? ["run", "-A", "--no-check", script] : [script.replace(/\.ts$/, ".js")];
  return [...prefix, ...run];
}
