/**
 * Test tooling only: a child process for tests/containment_test.ts, for scenarios that need a process of their own
 * (an allocator chosen at start-up, a closed stderr) or that would kill the test process if they regressed (an
 * abort in Py_FinalizeEx, SIGBUS in dlopen). argv[2] names the scenario; the child prints one line
 * `RESULT <json>` (errors as { name, code, message }).
 * @module
 */
import process from "node:process";
import { type OpenOptions, openPython, type Python } from "../lib/mod.ts";

type Out = Record<string, unknown>;

function describe(e: unknown): Out {
  const err = e as { name?: string; code?: string; message?: string };
  return { name: err?.name, code: err?.code, message: err?.message };
}

function attempt(fn: () => unknown): Out {
  try {
    const value = fn();
    return { ok: true, value: typeof value === "bigint" ? `${value}n` : value };
  } catch (e) {
    return { ok: false, error: describe(e) };
  }
}

/** Classes whose every hook a sample search could call waits for ever, sleeps or raises; 20,000 of each are kept. */
export const HOSTILE_CLASSES = `
import threading, time, sys, types
forever = threading.Event()
class BlockingRepr:
    def __repr__(self): forever.wait(); return 'never'
class SleepingRepr:
    def __repr__(self): time.sleep(5); return 'late'
class ExitingRepr:
    def __repr__(self): raise SystemExit(3)
class InterruptingRepr:
    def __repr__(self): raise KeyboardInterrupt
class SlowGetattribute:
    def __getattribute__(self, name): time.sleep(5); return object.__getattribute__(self, name)
class DictProperty:
    @property
    def __dict__(self): forever.wait()
class SlowClass:
    @property
    def __class__(self): forever.wait()
class Meta(type):
    def __getattribute__(cls, name): forever.wait()
    def __eq__(cls, other): forever.wait()
    __hash__ = type.__hash__
class WithMeta(metaclass=Meta):
    pass
class SlowDict(dict):
    def items(self): forever.wait()
    def __repr__(self): forever.wait()
class SlowList(list):
    def __iter__(self): forever.wait()
class SlowSlots:
    __slots__ = ('a',)
    def __getattribute__(self, name): forever.wait()
class BadModule(types.ModuleType):
    def __getattribute__(self, name): raise SystemExit(4)
sys.modules['pymem_bad_module'] = BadModule('pymem_bad_module')
keep = []
for cls in (BlockingRepr, SleepingRepr, ExitingRepr, InterruptingRepr, SlowGetattribute, DictProperty, SlowClass,
            WithMeta, SlowSlots):
    keep.append([cls() for _ in range(20000)])
keep.append(SlowDict({i: [i] for i in range(20000)}))
keep.append(SlowList([[i] for i in range(20000)]))
`;

/** The allocator named by CONTAIN_ALLOCATOR: a CPython allocator name, or JSON for a library allocator. */
function allocatorOption(): OpenOptions {
  const a = process.env.CONTAIN_ALLOCATOR;
  if (!a) return {};
  return { allocator: a.startsWith("{") ? JSON.parse(a) : a as OpenOptions["allocator"] };
}

/** Python for one hook of a hostile class: it waits for ever, sleeps, or raises `what`. */
function hostileBody(how: string): string {
  return how === "wait" ? "forever.wait()" : how === "sleep" ? "time.sleep(3)" : `raise ${how}`;
}

const scenarios: Record<string, (py: Python) => Out | Promise<Out>> = {
  // Property (fast-check, CONTAIN_SEED, CONTAIN_RUNS): classes whose hooks wait, sleep or raise, in any mix, with
  // any budget: explain() returns within its budget plus the search's own bounded steps, never throws for them.
  fuzzExplain: async (py) => {
    const fc = (await import("fast-check")).default;
    py.run("import threading, time\nforever = threading.Event()\nfuzz_keep = []");
    const hooks = [
      "__repr__",
      "__getattribute__",
      "__getattr__",
      "__eq__",
      "__hash__",
      "__iter__",
      "__len__",
      "__str__",
    ];
    const hows = [
      "wait",
      "sleep",
      "SystemExit(2)",
      "KeyboardInterrupt",
      "GeneratorExit",
      "MemoryError",
      "ValueError('x')",
    ];
    const slowest: number[] = [];
    let n = 0;
    const failures: string[] = [];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...hooks), fc.constantFrom(...hows)), { minLength: 1, maxLength: 4 }),
        fc.constantFrom("object", "dict", "list", "Exception"),
        fc.boolean(),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 5 }),
        (hooked, base, property, timeMs, samples) => {
          const name = `Hostile${n++}`;
          const body = hooked.map(([h, how]) => `    def ${h}(self, *a): ${hostileBody(how)}`).join("\n");
          const extra = property ? "\n    @property\n    def __dict__(self): forever.wait()" : "";
          py.run(`class ${name}(${base}):\n${body}${extra}\nfuzz_keep.append([${name}() for _ in range(3000)])`);
          const objects = py.heap().objects();
          const t0 = performance.now();
          try {
            objects.explain({ types: 6, samples, timeMs });
          } catch (e) {
            failures.push(`${name}(${base}) ${JSON.stringify(hooked)}: ${(e as Error).message.slice(0, 300)}`);
          }
          const ms = performance.now() - t0;
          slowest.push(ms - timeMs);
          if (ms > timeMs + 3000) failures.push(`${name}: explain({ timeMs: ${timeMs} }) took ${Math.round(ms)} ms`);
          py.run("fuzz_keep.pop()");
        },
      ),
      { seed: Number(process.env.CONTAIN_SEED ?? 22), numRuns: Number(process.env.CONTAIN_RUNS ?? 12) },
    );
    return { runs: n, failures, worstOverMs: Math.round(Math.max(...slowest)) };
  },
  // explain() over types whose every hook sleeps, blocks for ever or raises (issue 22, item 5): it must keep to its
  // time budget and give the samples a repr all the same.
  explainHostile: (py) => {
    py.run(HOSTILE_CLASSES);
    const objects = py.heap().objects();
    const r: Out = {};
    const t0 = performance.now();
    const rows = objects.explain({ types: 12, samples: 3, timeMs: 1000 });
    r.elapsedMs = performance.now() - t0;
    r.rows = rows.map((row) => ({ name: row.name, samples: row.samples.map((s) => ({ repr: s.repr, path: s.path })) }));
    r.tooMany = attempt(() => objects.explain({ samples: 1e6 }));
    r.stillAlive = attempt(() => py.eval("len(keep)"));
    return r;
  },
  // Python code closes fd 2 (and fd 0), the program then ends on its own, without process.exit: under Node it
  // never exited (koffi's exit handler; issue 22, item 3). The parent times the exit.
  closeStderr: (py) => {
    py.run("import os\nos.close(2)\nos.close(0)");
    return { closedFds: true };
  },
  // Sub-interpreters under an allocator that is not pymalloc: each ends, and so does Python (issue 22, item 2).
  subCloseAnyAllocator: (py) => {
    const modern = py.version.minor >= 12;
    const r: Out = { allocatorName: py.allocatorName() };
    const subs = [py.newInterpreter(modern ? "isolated" : "legacy"), py.newInterpreter("legacy")];
    subs[0].run("x = [str(i) for i in range(5000)]");
    r.listed = attempt(() => py.interpreters().map((i) => i.blocksInUse));
    r.reports = subs.map((s) => attempt(() => s.close()));
    r.closed = subs.map((s) => s.closed);
    r.left = py.interpreters().length;
    // One left open for Python.close() to end.
    const kept = py.newInterpreter(modern ? "isolated" : "legacy");
    kept.run("y = 1");
    r.pyClose = attempt(() => py.close());
    r.pyClosed = py.closed;
    return r;
  },
};

/** Scenarios that run before (instead of) opening the Python under test. */
const beforeOpen: Record<string, () => Out | Promise<Out>> = {
  // The same for an allocator library (CONTAIN_LIBRARIES): refused with the reason, Python not started on it.
  allocatorCorrupt: async () => {
    const r: Out = {};
    for (const library of JSON.parse(process.env.CONTAIN_LIBRARIES ?? "[]") as string[]) {
      try {
        await openPython({ allocator: { library } });
        r[library] = { opened: true };
      } catch (e) {
        r[library] = describe(e);
      }
    }
    return r;
  },
  // Truncated or corrupt copies of libpython (CONTAIN_LIBRARIES, a JSON list) are refused, not loaded: the loader
  // would take SIGBUS mapping them (issue 22, item 1).
  openCorrupt: async () => {
    const r: Out = {};
    for (const library of JSON.parse(process.env.CONTAIN_LIBRARIES ?? "[]") as string[]) {
      try {
        await openPython({ library });
        r[library] = { opened: true };
      } catch (e) {
        r[library] = describe(e);
      }
    }
    return r;
  },
};

const out: Out = {};
try {
  if (beforeOpen[process.argv[2]]) {
    console.log("RESULT " + JSON.stringify(await beforeOpen[process.argv[2]]()));
    process.exit(0);
  }
  const py = await openPython(allocatorOption());
  out.minor = py.version.minor;
  Object.assign(out, await scenarios[process.argv[2]](py));
} catch (e) {
  out.fatal = describe(e);
}
console.log("RESULT " + JSON.stringify(out));
