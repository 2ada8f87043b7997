import { assert, python, test } from "./_harness.ts";
import { openPython, PymemError } from "../lib/mod.ts";
import { closeOnceThreadsEnd } from "./_subinterp.ts";

// A process of its own: it closes the interpreter under test.
const py = await python();

test("closing Python is refused, and nothing is closed, while a sub-interpreter has threads that would abort it", async () => {
  // The sub belongs to a second handle on the same runtime: the owner's close() closes that handle too.
  const second = await openPython({ library: py.library });
  assert.equal(second.owned, false);
  const mine = py.newInterpreter("legacy");
  const sub = second.newInterpreter("legacy");
  sub.run(
    "import _thread, time\nstop = False\ndef spin():\n    while not stop:\n        time.sleep(0.001)\n_thread.start_new_thread(spin, ())",
  );
  assert.throws(
    () => py.close(),
    (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE" && /not the last thread/.test(e.message),
  );
  assert.equal(py.closed, false);
  assert.equal(second.closed, false);
  assert.equal(sub.closed, false);
  assert.equal(mine.closed, false);
  assert.equal(py.eval("6 * 7"), 42);
  assert.equal(mine.eval("6 * 7"), 42);
  sub.run("stop = True");
  await closeOnceThreadsEnd(sub);
});

test("closing Python closes the sub-interpreters still open, and they refuse use afterwards", () => {
  const modern = py.version.minor >= 12;
  const subs = modern
    ? [py.newInterpreter(), py.newInterpreter("legacy"), py.newInterpreter()]
    : [py.newInterpreter("legacy")];
  subs.forEach((s, i) => s.run(`k = ${i}`));
  subs[0].close();
  py.close();
  for (const s of subs) {
    assert.equal(s.closed, true);
    assert.throws(() => s.eval("k"), (e: unknown) => e instanceof PymemError && e.code === "CLOSED");
    assert.match(String(s), /closed/);
  }
  assert.throws(() => py.newInterpreter(), (e: unknown) => e instanceof PymemError && e.code === "CLOSED");
});
