// The handle's lifecycle in a process of its own: close inside withGIL, use after close in every domain, and
// what a second openPython() of a finalized library may and may not do.
import { assert, test } from "./_harness.ts";
import { openPython, PymemError } from "../lib/mod.ts";

const isClosed = (e: unknown) => e instanceof PymemError && e.code === "CLOSED";

test("close() inside withGIL is refused; then close() works, twice", async () => {
  const py = await openPython();
  assert.throws(() => py.withGIL(() => py.close()), (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE");
  assert.equal(py.eval("1 + 1"), 2);
  const p = py.raw.malloc(16);
  py.raw.free(p);
  py.close();
  py.close();
  assert.equal(py.closed, true);
  assert.throws(() => py.raw.malloc(8), isClosed);
  assert.throws(() => py.raw.free(1n), isClosed);
  assert.throws(() => py.raw.calloc(1, 8), isClosed);
  assert.throws(() => py.obj.malloc(8), isClosed);
  assert.throws(() => py.mem.free(1n), isClosed);
  assert.throws(() => py.run("1"), isClosed);
  assert.throws(() => py.heap(), isClosed);
  assert.throws(() => py.view(16n, 1), isClosed);
});

test("a finalized library reopens with the default allocator, and refuses another one", async () => {
  await assert.rejects(openPython({ allocator: "malloc" }), (e: unknown) => e instanceof PymemError && /finalized/.test(e.message));
  const py = await openPython();
  assert.equal(py.eval("6 * 7"), 42);
  py.close();
});
