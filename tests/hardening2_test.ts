// Regressions of the second adversarial pass (issue 22, items 9–16): wrong results and unclear errors, and their
// siblings. Scenarios that need a fresh process go to a child (tests/_hardening2_child.ts).
import { assert, python, test } from "./_harness.ts";

test("explain(): user code that raises SystemExit/KeyboardInterrupt (a __repr__, a module's __dict__, __class__, __getattribute__) gives null, never a PythonError", async () => {
  const py = await python();
  py.run(`
import sys
class ReprExit:
    def __repr__(self): raise SystemExit(3)
class ReprInterrupt:
    def __repr__(self): raise KeyboardInterrupt
class ClassExits:
    @property
    def __class__(self): raise SystemExit(5)
class Opaque:
    def __getattribute__(self, name): raise KeyboardInterrupt
class DictExits:
    @property
    def __dict__(self): raise SystemExit(4)
sys.modules['_pymem_dict_exits'] = DictExits()
_pymem_held = [ReprExit() for _ in range(30000)], [ReprInterrupt() for _ in range(30000)], [ClassExits() for _ in range(30000)]
_pymem_opaque = [Opaque() for _ in range(30000)]
for o in _pymem_opaque:
    object.__setattr__(o, 'x', ReprExit())
`);
  try {
    const rows = py.heap().objects({}).explain({ types: 8, samples: 2, timeMs: 30_000 });
    const by = new Map(rows.map((r) => [r.name, r]));
    for (const name of ["ReprExit", "ReprInterrupt", "ClassExits", "Opaque"]) {
      const r = by.get(name);
      assert.ok(r, `${name} not among ${[...by.keys()]}`);
      assert.equal(r.samples.length, 2);
      for (const s of r.samples) {
        if (name === "ReprExit" || name === "ReprInterrupt") assert.equal(s.repr, null, `${name}: ${s.repr}`);
        // A found object still gets its path, whatever its own code (or its holder's) raises.
        // (A ReprExit may be found through an Opaque, whose __getattribute__ raises: that step is named by its type.)
        const where = name === "Opaque" ? /^module __main__ \['_pymem_opaque'\]\[\d+\]$/ : /^module __main__ \['_pymem_(held|opaque)'\]\[\d+\]/;
        assert.match(s.path ?? "", where, `${name}: ${s.path}`);
      }
    }
    assert.equal(py.eval("1 + 1"), 2); // no exception left pending
  } finally {
    py.run("del sys.modules['_pymem_dict_exits'], _pymem_held, _pymem_opaque");
  }
});
