/**
 * Test tooling only: run a repository script (the CLI, an example) in a child of the CURRENT runtime — `bun X.ts`,
 * `deno run -A X.ts`, or `node dist/X.js` (tests run from dist/tests under Node) — with this process's environment
 * (PYMEM_LIBPYTHON included; under the test's loader when it has one, tests/_launch.ts), and helpers to gate the tests that need not run once per CPython of the matrix.
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeCommand } from "./_launch.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, from tests/ or dist/tests/. */
export const ROOT: string = resolve(here, here.endsWith(`${"dist"}/tests`) ? "../.." : "..");

const g = globalThis as unknown as { Bun?: unknown; Deno?: unknown };
/** The runtime running this test. */
export const runtime: "bun" | "deno" | "node" = g.Bun ? "bun" : g.Deno ? "deno" : "node";

/** Command and arguments that run `script` (a path relative to the root, e.g. "lib/cli.ts") under this runtime. */
export function command(script: string): [string, string[]] {
  if (runtime === "bun") return runtimeCommand([join(ROOT, script)]);
  if (runtime === "deno") return runtimeCommand(["run", "-A", join(ROOT, script)]);
  return runtimeCommand([join(ROOT, "dist", script.replace(/\.ts$/, ".js"))]);
}

/** What a child did. */
export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a repository script with arguments; the environment is this process's plus `env`, colours off. */
export function run(
  script: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
): Ran {
  const [cmd, pre] = command(script);
  const r = spawnSync(cmd, [...pre, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    encoding: "utf8",
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The CLI: `pymem ARGS…` under this runtime. */
export function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {},
): Ran {
  return run("lib/cli.ts", args, options);
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Tests whose subject does not depend on the CPython version (the HTML in a browser, `ps`, `attach` through the
 * CLI) run once per runtime, not once per CPython of the matrix: when the library under test is the one `python3`
 * on PATH uses (or none is named). Returns false to run, or the reason to skip.
 */
export function skipUnlessDefaultPython(): false | string {
  const lib = process.env.PYMEM_LIBPYTHON;
  if (!lib) return false;
  try {
    const out = execFileSync("python3", [
      "-c",
      "import sysconfig as s, os; v = s.get_config_vars(); " +
      "print('\\n'.join(os.path.join(d, n) for d in (v.get('LIBDIR') or '', os.path.join(v.get('LIBDIR') or '', v.get('MULTIARCH') or '')) " +
      "for n in (v.get('INSTSONAME') or '', v.get('LDLIBRARY') or '') if n))",
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const mine = real(lib);
    if (out.split("\n").some((p) => p && existsSync(p) && real(p) === mine)) return false;
  } catch { /* no python3 */ }
  return "runs once per runtime: only for the libpython of python3 on PATH";
}

/** Path of a Chromium binary, or null. */
export function chromium(): string | null {
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    for (const dir of (process.env.PATH ?? "").split(":")) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return null;
}
