/**
 * The benchmark's child processes: the command line for each runtime, a clean environment, and one child run with
 * its plan on the command line, its result on stdout and a deadline. Children still running when the parent exits
 * are killed.
 * @module
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ChildPlan, ChildResult } from "./child.ts";
import { parseChildOutput } from "./child.ts";
import { runtimeKind } from "../core/runtime.ts";

/**
 * The repository (or installed package) root: this file is lib/compare/runner.ts or dist/lib/compare/runner.js.
 * Computed on use: when pymem is imported by URL (Deno, http://…), there is no root and no benchmark to run, but
 * importing lib/mod.ts must still work.
 */
export function root(): string {
  if (!import.meta.url.startsWith("file:")) {
    throw new Error(`pymem bench runs from a local copy of pymem, not from ${import.meta.url}`);
  }
  const up = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  return basename(up) === "dist" ? dirname(up) : up;
}

function commandOk(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore", timeout: 20_000 });
  return r.status === 0;
}

/** Loader options that take a value (glibc's ld.so). */
const LOADER_OPTIONS_WITH_VALUE = new Set([
  "--library-path",
  "--inhibit-rpath",
  "--audit",
  "--preload",
  "--argv0",
  "--glibc-hwcaps-prepend",
  "--glibc-hwcaps-mask",
]);

/**
 * When this process was started through the dynamic loader (`ld-linux-x86-64.so.2 --library-path DIRS runtime …`, as
 * the test matrix starts a CPython unpacked with a newer glibc than the machine's), its children must be started the
 * same way, since the loader's options are not inherited: the loader and its options, from /proc/self/cmdline.
 * [] when this process was started normally.
 */
function loaderPrefix(): string[] {
  let loader: string, argv: string[];
  try {
    loader = realpathSync("/proc/self/exe");
    if (!/^ld-linux|^ld\.so|^ld64\.so/.test(basename(loader))) return [];
    argv = readFileSync("/proc/self/cmdline", "utf8").split("\0");
  } catch {
    return [];
  }
  // Deno's node:child_process takes a command equal to Deno.execPath() (the loader, here) for Node and rewrites its
  // arguments; the same file spelled differently is left alone.
  const out = [`${dirname(loader)}/./${basename(loader)}`];
  for (let i = 1; i < argv.length && argv[i].startsWith("--"); i++) {
    out.push(argv[i]);
    if (LOADER_OPTIONS_WITH_VALUE.has(argv[i]) && i + 1 < argv.length) out.push(argv[++i]);
  }
  return out;
}

/** The command line that starts a child (without the plan), and a description of the runtime. */
export function childCommand(runtime: "bun" | "deno" | "node"): { argv: string[]; version: string } | string {
  const local = (name: string) => {
    const p = join(root(), "node_modules", ".bin", name);
    if (existsSync(p)) return p;
    if (runtimeKind() === name) return process.execPath;
    return commandOk(name) ? name : undefined;
  };
  const exe = local(runtime);
  if (!exe) return `the child runtime "${runtime}" is not installed (node_modules/.bin or PATH)`;
  const version = (() => {
    try {
      return `${runtime} ${
        execFileSync(exe, ["--version"], { encoding: "utf8" }).split("\n")[0].replace(/^(deno|v)\s*/i, "").trim()
      }`;
    } catch {
      return runtime;
    }
  })();
  if (runtime === "node") {
    const js = join(root(), "dist", "lib", "compare", "child.js");
    if (!existsSync(js)) return `${js} is missing: build with \`tsc -p .\` first`;
    return { argv: [...loaderPrefix(), exe, js], version };
  }
  const ts = join(root(), "lib", "compare", "child.ts");
  if (!existsSync(ts)) return `${ts} is missing`;
  return {
    argv: [...loaderPrefix(), ...(runtime === "bun" ? [exe, ts] : [exe, "run", "-A", "--no-check", ts])],
    version,
  };
}

/** The environment every child starts from: the caller's, minus anything that would pick an allocator behind our back. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (
    const k of [
      "PYTHONMALLOC",
      "PYTHONMALLOCSTATS",
      "PYTHONTRACEMALLOC",
      "PYTHONDEVMODE",
      "LD_PRELOAD",
      "GLIBC_TUNABLES",
      "PYMEM_PYTHON",
    ]
  ) {
    delete env[k];
  }
  // Same string hashes in every process: dict and set layouts (and so their allocations) do not vary by run.
  env.PYTHONHASHSEED = "0";
  env.NO_COLOR = "1";
  return env;
}

export interface Spawned {
  result?: ChildResult;
  error?: string;
  seconds: number;
}

const live = new Set<number>();

/** Kill every child still running (its whole process group): on Ctrl-C. */
export function killChildren(): void {
  for (const pid of live) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

export function runChild(
  argv: string[],
  plan: ChildPlan,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Spawned> {
  const t0 = performance.now();
  return new Promise((done) => {
    const child = spawn(argv[0], [...argv.slice(1), JSON.stringify(plan)], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      cwd: root(),
      detached: true,
    });
    const out: Buffer[] = [], err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    if (child.pid) live.add(child.pid);
    const finish = (code: number | null, signal: string | null, e?: Error) => {
      clearTimeout(timer);
      live.delete(child.pid!);
      const seconds = (performance.now() - t0) / 1000;
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8").trim().split("\n").slice(-6).join(" | ");
      let result: ChildResult | undefined;
      try {
        result = parseChildOutput(stdout);
      } catch { /* malformed line: reported below */ }
      if (result) return done({ result, seconds });
      const why = e
        ? `could not start ${argv[0]}: ${e.message}`
        : timedOut
        ? `timed out after ${timeoutMs / 1000} s`
        : signal
        ? `killed by ${signal}`
        : `exit code ${code} without a result`;
      done({ error: `${why}${stderr ? `: ${stderr}` : ""}`, seconds });
    };
    child.on("error", (e) => finish(null, null, e));
    child.on("close", finish);
  });
}
