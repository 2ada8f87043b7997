/**
 * Test tooling only: run tests/_allocator_child.ts in a fresh process of the current runtime (bun, deno, or node on
 * dist/), with the same PYMEM_LIBPYTHON (and loader, tests/_launch.ts), and return its RESULT object.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { runtimeCommand } from "./_launch.ts";

// deno-lint-ignore no-explicit-any
export type ChildResult = Record<string, any>;

/** Run one plan in a child; `env` is added to the environment (e.g. LD_PRELOAD). */
export function runChild(plan: object, env: Record<string, string> = {}, timeoutMs = 170_000): ChildResult {
  const js = import.meta.url.endsWith(".js");
  const script = fileURLToPath(new URL(js ? "./_allocator_child.js" : "./_allocator_child.ts", import.meta.url));
  const g = globalThis as unknown as { Bun?: unknown; Deno?: unknown };
  const [cmd, args] = runtimeCommand(g.Bun ? ["run", script] : g.Deno ? ["run", "-A", "--no-check", script] : [script]);
  const r = spawnSync(cmd, [...args, JSON.stringify(plan)], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) {
    throw new Error(
      `child ${JSON.stringify(plan)} produced no result (status ${r.status}, signal ${r.signal}):\n` +
        `${r.stdout}\n${r.stderr}`.slice(-4000),
    );
  }
  return JSON.parse(line.slice(7));
}

const LIB_DIRS = [
  "/lib",
  "/usr/lib",
  "/usr/local/lib",
  "/lib64",
  "/usr/lib64",
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
];

/** The path of an installed shared library by soname, or null (skip the test then). */
export function findLibrary(soname: string): string | null {
  for (const d of LIB_DIRS) if (existsSync(`${d}/${soname}`)) return `${d}/${soname}`;
  return null;
}
