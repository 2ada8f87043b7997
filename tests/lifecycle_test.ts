// The handle's lifecycle in a process of its own: close inside withGIL, use after close in every domain, and
// what a second openPython() of a finalized library may and may not do.
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { assert, test } from "./_harness.ts";
import { openPython, PymemError } from "../lib/mod.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const isClosed = (e: unknown) => e instanceof PymemError && e.code === "CLOSED";

test("close() inside withGIL is refused; then close() works, twice, and ends the heap walk's parked thread", async () => {
  const py = await openPython();
  assert.throws(
    () => py.withGIL(() => py.close()),
    (e: unknown) => e instanceof PymemError && e.code === "INVALID_STATE",
  );
  assert.equal(py.eval("1 + 1"), 2);
  const p = py.raw.malloc(16);
  py.raw.free(p);
  // A walk on two threads parks the second one (lib/obmalloc/pool-pass.ts); the handle's close() must end it. The
  // runtime may start threads of its own meanwhile, which live on: the worker is known by its signal mask (SIGINT 2,
  // SIGTERM 15, SIGCHLD 17, SIGPROF 27 blocked; SIGSEGV 11 and glibc's 32, 33 open).
  const { walkHeap } = await import("../lib/obmalloc/heap.ts");
  const { inProcessReader } = await import("../lib/allocators/pymem-allocator.ts");
  const tasks = () => new Set(readdirSync("/proc/self/task"));
  const isWorker = (t: string) => {
    let status: string;
    try {
      status = readFileSync(`/proc/self/task/${t}/status`, "utf8");
    } catch {
      return false; // ended
    }
    const blocked = BigInt("0x" + /^SigBlk:\s*([0-9a-f]+)/m.exec(status)![1]);
    const bit = (signal: number) => (blocked >> BigInt(signal - 1)) & 1n;
    return [2, 15, 17, 27].every((n) => bit(n) === 1n) && [11, 32, 33].every((n) => bit(n) === 0n);
  };
  const host = hostOf(py);
  const reader = inProcessReader(host);
  const before = tasks();
  let workers: string[] = [];
  if (reader.poolPass && availableParallelism() >= 2) {
    const walk = py.withGIL(() => {
      const refs = host.stateRefs(host.currentInterp());
      const twoThreads = {
        ...reader,
        poolPass: (f: Float64Array, k: Uint32Array, size: number) =>
          reader.poolPass!(f, k, size, { parallelFrom: 0, secondThreadOnly: true }),
      };
      return walkHeap(twoThreads, Number(host.native.u64(refs.arenas)), host.native.u32(refs.maxarenas), py.layout);
    });
    assert.equal(walk.threads, 2);
    workers = [...tasks()].filter((t) => !before.has(t) && isWorker(t));
    assert.equal(workers.length, 1, "one parked worker");
  }
  py.close();
  for (const end = Date.now() + 2000; workers.some(isWorker) && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(workers.filter(isWorker), [], "the parked worker outlived close()");
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
  await assert.rejects(
    openPython({ allocator: "malloc" }),
    (e: unknown) => e instanceof PymemError && /finalized/.test(e.message),
  );
  const py = await openPython();
  assert.equal(py.eval("6 * 7"), 42);
  py.close();
});
