/**
 * Choosing CPython's allocator before start-up (openPython's `allocator` option, through PyPreConfig). The choice is
 * made once per process, so each case runs in a fresh child of the same runtime (tests/_allocator_child.ts).
 */
import { assert, test } from "./_harness.ts";
import { runChild } from "./_child_spawn.ts";
import { openPython } from "../lib/mod.ts";

// The version under test, without starting it here: the children do.
const version = process.env.PYMEM_TEST_VERSION ?? "";
import process from "node:process";
const minorOf = (r: { minor?: number }) => r.minor ?? 0;

test("an unknown allocator name is refused before anything is loaded", async () => {
  await assert.rejects(openPython({ allocator: "jemalloc" as never }), RangeError);
});

test('{ allocator: "malloc" } starts CPython on malloc', () => {
  const r = runChild({ allocator: "malloc", workloads: ["json", "trace"], mb: 2 });
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.allocatorName, "malloc");
  assert.equal(r.jsonOk, true);
});

test('{ allocator: "pymalloc_debug" } installs the debug hooks; setupDebugHooks() is then a no-op', () => {
  const r = runChild({ allocator: "pymalloc_debug", workloads: ["debugHooks", "trace"] });
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.allocatorName, "pymalloc_debug");
  assert.equal(r.debugHooksOk, true);
  if (r.names.malloc !== null) assert.equal(r.names.malloc, "_PyMem_DebugMalloc");
});

test('{ allocator: "debug" } is pymalloc with debug hooks', () => {
  const r = runChild({ allocator: "debug" });
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.allocatorName, "pymalloc_debug");
});

test('{ allocator: "mimalloc" } works on 3.13+ and is refused with a clear error before', () => {
  const r = runChild({ allocator: "mimalloc", workloads: ["json", "threads"], mb: 5 });
  if (r.ok) {
    assert.ok(minorOf(r) >= 13, `mimalloc accepted on 3.${r.minor}`);
    assert.equal(r.allocatorName, "mimalloc");
    assert.equal(r.threadResults, 4);
  } else {
    assert.equal(r.error.code, "UNSUPPORTED", JSON.stringify(r.error));
    assert.match(r.error.message, /needs CPython 3\.13 or newer/);
    if (version) assert.ok(!/^3\.(1[3-9]|[2-9]\d)/.test(version), `refused on ${version}`);
  }
});
