/**
 * Test tooling only: a fresh process for tests/startup_test.ts (CPython starts once per process). The plan (argv[2],
 * JSON) says how to open; prints `RESULT {...}`: what the first and a second openPython did, and the signal masks.
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { openPython } from "../lib/mod.ts";

const plan = JSON.parse(process.argv[process.argv.length - 1]) as {
  options: Record<string, unknown>;
  second?: Record<string, unknown>;
};
const masks = () => {
  const s = readFileSync("/proc/self/status", "utf8");
  return { caught: /^SigCgt:\s*(\S+)/m.exec(s)?.[1], ignored: /^SigIgn:\s*(\S+)/m.exec(s)?.[1] };
};
const outcome = async (options: Record<string, unknown>) => {
  try {
    const py = await openPython(options);
    const r = { ok: true, basePrefix: py.eval("__import__('sys').base_prefix"), version: py.version.minor };
    py.close();
    return r;
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string; cause?: { message?: string } };
    return { ok: false, name: err.name, code: err.code, message: err.message, cause: err.cause?.message ?? null };
  }
};
const before = masks();
const first = await outcome(plan.options);
const after = masks();
const second = plan.second ? await outcome(plan.second) : null;
console.log(`RESULT ${JSON.stringify({ first, second, before, after })}`);
