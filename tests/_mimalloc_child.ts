/**
 * Test tooling only: the in-process half of tests/mimalloc_heap_test.ts. The allocator is chosen before CPython
 * starts and one libpython lives per process, so mimalloc needs a process of its own: this one opens CPython with
 * `{ allocator: "mimalloc" }`, runs the workload the parent passes in argv[2] (the same Python the attach target
 * runs), maps the heap and prints one line `RESULT <json>`. Spawned through tests/_launch.ts's runtimeCommand.
 * @module
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { type MimallocHeap, openPython, PymemError } from "../lib/mod.ts";
import { pinningFigures } from "./_mimalloc_pinning.ts";
import { hostOf } from "../lib/obmalloc/host.ts";
import { selfProbe } from "../lib/glibc/mod.ts";
import { readMaps } from "../lib/machine/procmaps.ts";
import { mimallocLayout, walkMimalloc } from "../lib/mimalloc/mod.ts";

const out: Record<string, unknown> = {};
// Written synchronously: Node writes a large console.log to a pipe in pieces, and process.exit would cut it.
const report = () =>
  writeSync(1, "RESULT " + JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)) + "\n");
try {
  const py = await openPython({ allocator: "mimalloc" });
  out.allocator = py.allocatorName();
  py.run(process.argv[2]);
  const a = py.allocator();
  // getAllocatedBlocks() is CPython's own count through FFI (no Python code runs, nothing is allocated), called
  // on this thread: under mimalloc's normal build it covers this thread's default heap only.
  for (let attempt = 0; attempt < 20 && out.map === undefined; attempt++) {
    const before = a.getAllocatedBlocks();
    const h = py.mimallocHeap();
    const after = a.getAllocatedBlocks();
    if (before !== after) continue;
    out.counted = before;
    out.map = h;
  }
  // The classification of the same map against every gc object's id and type (kept alive by the workload).
  const objs = py.mimallocObjects(out.map as never);
  out.info = JSON.parse(py.eval("__import__('json').dumps(info)") as string);
  const truth = (out.info as { truth: [number, string][] }).truth;
  out.objects = {
    truth: truth.length,
    torn: objs.tornPages,
    foo: objs.byType.find((r) => r.name === "Foo")?.count ?? 0,
    missed: truth.filter(([id, name]) => {
      const t = objs.typeAt(id);
      return !(t === name || t?.endsWith(`.${name}`));
    }).slice(0, 10),
  };
  out.pinning = pinningFigures(out.map as MimallocHeap, objs, truth);
  delete (out.info as { truth?: unknown }).truth; // checked here; the parent needs the rest only
  out.counts = JSON.parse(py.eval("__import__('json').dumps(list(counts))") as string);
  py.run("gate.release()\nfor t in threads: t.join()\nchurn_start()");
  // 20 maps while 4 threads allocate and free.
  const maps: number[] = [];
  for (let i = 0; i < 20; i++) {
    const h = py.mimallocHeap();
    maps.push(h.totals.blocksInUse);
    py.run("import time; time.sleep(0.005)");
  }
  py.run("churn_stop()");
  out.churnMaps = maps;
  // The other mimalloc release's layout (3.13's 2.1.2 against 2.5.2, and the reverse) is refused, never read.
  const other = mimallocLayout(py.version.minor === 13 ? 15 : 13);
  try {
    walkMimalloc({ maps: readMaps("self"), probe: selfProbe(hostOf(py)), mimallocNamed: true }, other);
    out.otherLayout = "read";
  } catch (e) {
    out.otherLayout = {
      code: e instanceof PymemError ? e.code : undefined,
      message: String(e),
      release: other.release,
    };
  }
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = { name: (e as Error).name, code: e instanceof PymemError ? e.code : undefined, message: String(e) };
}
report();
process.exit(0);
