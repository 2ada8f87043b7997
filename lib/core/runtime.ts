/**
 * Which JavaScript runtime runs pymem, and whether a module is the program: one answer for Bun, Deno and Node
 * (Node has no `import.meta.main` before v24, so paths are compared).
 * @module
 */
import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** "bun 1.4.5", "deno 2.9.6", "node 20.20.2". */
export function runtimeName(): string {
  const g = globalThis as {
    Bun?: { version: string };
    Deno?: { version: { deno: string } };
    process?: { versions?: { node?: string } };
  };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${g.process?.versions?.node ?? "?"}`;
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** True when the module at `moduleUrl` is the entry script of this process. */
export function isMain(moduleUrl: string): boolean {
  const arg = process.argv[1];
  if (!arg || !moduleUrl.startsWith("file:")) return false;
  return real(arg) === real(fileURLToPath(moduleUrl));
}

/** The runtime alone: "bun", "deno" or "node". */
export function runtimeKind(): "bun" | "deno" | "node" {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun ? "bun" : g.Deno ? "deno" : "node";
}
