/**
 * Test tooling only: a child process for the allocator tests. The allocator is chosen before CPython starts and
 * one libpython lives per process, so every choice needs a fresh process. Runs the plan given as JSON in argv[2]:
 * open Python with `allocator`, run the named workloads, and print one line `RESULT <json>` (errors included, so
 * the parent can assert on codes and messages). Spawned by tests/_child_spawn.ts.
 * @module
 */
import process from "node:process";
import { openPython } from "../lib/mod.ts";

interface Plan {
  allocator?: unknown;
  /** "json": round trips of a structure whose JSON is ~`mb` MB; "threads": 4 Python threads allocating. */
  workloads?: ("json" | "threads" | "trace" | "debugHooks")[];
  mb?: number;
}

const plan = JSON.parse(process.argv[2] ?? "{}") as Plan;
const out: Record<string, unknown> = {};
const report = () =>
  console.log("RESULT " + JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
try {
  const py = await openPython({ allocator: plan.allocator as never });
  out.minor = py.version.minor;
  out.allocatorName = py.allocatorName();
  out.names = py.getAllocator("obj").names;
  const stats = () => {
    try {
      return py.libraryAllocatorStats();
    } catch {
      return null;
    }
  };
  out.statsBefore = stats();
  for (const w of plan.workloads ?? []) {
    const t0 = performance.now();
    if (w === "json") {
      const entries = Math.round(((plan.mb ?? 50) * 1e6) / 58); // ~58 bytes of JSON per entry
      py.run(
        "import json\n" +
          `d = {'k%d' % i: [i, str(i), i / 7, {'a': [1, 2, 3]}] for i in range(${entries})}\n` +
          "s = json.dumps(d)\njson_mb = len(s) / 1e6\nd2 = json.loads(s)\nok = d == d2\n",
      );
      out.jsonMB = py.eval("json_mb");
      out.jsonOk = py.eval("ok");
      out.statsPeak = stats();
      py.run("del d, d2, s");
    } else if (w === "threads") {
      py.run(
        "import threading\nresults = []\n" +
          "def work(n):\n    total = 0\n    for _ in range(30):\n        l = [str(i) * 3 for i in range(20000)]\n" +
          "        total += sum(len(x) for x in l)\n    results.append(total)\n" +
          "ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]\n" +
          "[t.start() for t in ts]\n[t.join() for t in ts]\n",
      );
      out.threadResults = py.eval("len(results)");
    } else if (w === "trace") {
      const t = py.traceAllocations(() => py.run("x = [float(i) for i in range(10000)]"));
      out.traceObjMalloc = t.obj.malloc;
    } else if (w === "debugHooks") {
      py.setupDebugHooks(); // a no-op when the debug hooks are already installed
      py.run("x = [str(i) for i in range(1000)]\ndel x");
      out.debugHooksOk = true;
    }
    out[`${w}Ms`] = performance.now() - t0;
  }
  out.statsAfter = stats();
  py.close();
  out.ok = true;
} catch (e) {
  const err = e as { name?: string; code?: string; message?: string };
  out.ok = false;
  out.error = { name: err.name, code: err.code, message: err.message };
}
report();
