/**
 * `isMain(import.meta.url)`: whether a module is the script the runtime was started with, the same way in Bun,
 * Deno and Node (Node has no `import.meta.main` before v24). Compares the module's real path with argv[1]'s.
 * @module
 */
import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

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
