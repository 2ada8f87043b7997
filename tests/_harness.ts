/**
 * Test tooling only: one `test()` for the three runtimes, mapped onto each runtime's own runner
 * (`bun test`, `deno test`, `node --test`), and node:assert for assertions (available in all three).
 * The library never imports this file.
 * @module
 */
import { openPython, type Python } from "../lib/mod.ts";

type TestFn = () => void | Promise<void>;
interface TestOptions {
  skip?: boolean | string;
  /** Milliseconds before the runner fails the test (default 120000; Deno's runner has none). */
  timeout?: number;
}

const g = globalThis as unknown as {
  Bun?: unknown;
  Deno?: {
    test(
      def: {
        name: string;
        fn: TestFn;
        ignore?: boolean;
        sanitizeOps: boolean;
        sanitizeResources: boolean;
        sanitizeExit: boolean;
      },
    ): void;
  };
};

let register: (name: string, fn: TestFn, options: TestOptions) => void;
if (g.Bun) {
  const bunTest = (await import("bun:test")).test;
  register = (name, fn, o) => (o.skip ? bunTest.skip(name, fn) : bunTest(name, fn, o.timeout ?? 120_000));
} else if (g.Deno) {
  const Deno = g.Deno;
  // Native handles (the interpreter, its threads) legitimately outlive a single test.
  register = (name, fn, o) =>
    Deno.test({ name, fn, ignore: !!o.skip, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });
} else {
  const nodeTest = (await import("node:test")).test;
  register = (name, fn, o) => void nodeTest(name, { skip: o.skip, timeout: o.timeout ?? 120_000 }, fn);
}

/** Declare a test. `options.skip` (a reason string) reports it as skipped instead of passing silently. */
export function test(name: string, fn: TestFn, options: TestOptions = {}): void {
  register(name, fn, options);
}

export { default as assert } from "node:assert/strict";

let shared: Promise<Python> | undefined;
/**
 * The interpreter under test: the library named by PYMEM_LIBPYTHON (set by tests/run.ts for each library of the
 * matrix), else whatever discovery finds. One per process, opened on first use.
 */
export function python(): Promise<Python> {
  shared ??= openPython();
  return shared;
}

/** The CPython minor version under test, without opening it twice. */
export async function minor(): Promise<number> {
  return (await python()).version.minor;
}
