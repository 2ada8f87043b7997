/**
 * Test tooling only: how a test starts a process that loads the CPython under test — a child of the current runtime,
 * or the target interpreter of an attach test.
 *
 * A CPython unpacked from another distribution (Debian sid's, see tests/pythons.ts) may need a newer glibc than the
 * machine's. tests/run.ts then starts the test process under that tree's own loader
 * (`ld-linux-x86-64.so.2 --library-path … <runtime> …`), and everything that process starts which loads the same
 * libpython must be started the same way: a loader's options are not inherited, and the machine's own loader would
 * load the machine's older glibc. Under a loader, `process.execPath` and `Deno.execPath()` name the loader, not the
 * runtime. Host programs (sleep, setpriv, a machine's python3) are started as usual. Environment from tests/run.ts:
 *   PYMEM_TEST_LAUNCH   JSON array: the loader and its options, put before the program (unset: none)
 *   PYMEM_TEST_RUNTIME  the runtime's own executable, when started through a loader
 *   PYMEM_TEST_PYTHON   the interpreter that goes with PYMEM_LIBPYTHON, when tests/pythons.ts knows it
 *   PYMEM_TEST_ROOT     the unpacked root the library was found in (tests/container_test.ts uses it as a new root)
 * PYTHONHOME, when set by tests/run.ts for such a tree, is what both the runtime and the interpreter need.
 * @module
 */
import process from "node:process";

/** The loader and its options, or [] when the test process was started normally. */
export const launchPrefix: string[] = (() => {
  const raw = process.env.PYMEM_TEST_LAUNCH;
  if (!raw) return [];
  const v = JSON.parse(raw) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new TypeError(`PYMEM_TEST_LAUNCH must be a JSON array of strings, got ${raw}`);
  }
  return v as string[];
})();

/** `cmd args…` as started under the test's loader, when there is one. */
export function launched(cmd: string, args: string[]): [string, string[]] {
  if (!launchPrefix.length) return [cmd, args];
  return [loaderPath(launchPrefix[0]), [...launchPrefix.slice(1), cmd, ...args]];
}

/** Deno's node:child_process takes a command equal to Deno.execPath() for "node" and rewrites its arguments into
 * Deno's; under a loader, Deno.execPath() is the loader, so name the same file by another spelling. */
function loaderPath(loader: string): string {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (!deno || deno.execPath() !== loader) return loader;
  const slash = loader.lastIndexOf("/");
  return `${loader.slice(0, slash)}/.${loader.slice(slash)}`;
}

/** The executable of the runtime running this test (not the loader that started it). */
export function runtimeExecutable(): string {
  if (launchPrefix.length && process.env.PYMEM_TEST_RUNTIME) return process.env.PYMEM_TEST_RUNTIME;
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  return deno ? deno.execPath() : process.execPath;
}

/** Command and arguments that start this runtime with `args`, the way this test process was started. */
export function runtimeCommand(args: string[]): [string, string[]] {
  return launched(runtimeExecutable(), args);
}

/** The interpreter of the CPython under test, as tests/run.ts found it (undefined when it knows none). */
export function targetInterpreter(): string | undefined {
  return process.env.PYMEM_TEST_PYTHON || undefined;
}
