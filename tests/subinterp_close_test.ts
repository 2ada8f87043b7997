import { assert, python, test } from "./_harness.ts";
import { PymemError } from "../lib/mod.ts";

// A process of its own: it closes the interpreter under test.
const py = await python();

test("closing Python closes the sub-interpreters still open, and they refuse use afterwards", () => {
  const modern = py.version.minor >= 12;
  const subs = modern ? [py.newInterpreter(), py.newInterpreter("legacy"), py.newInterpreter()] : [py.newInterpreter("legacy")];
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
