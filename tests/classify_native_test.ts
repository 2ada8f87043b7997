/**
 * The native classification pass (lib/objects/classify-pass.ts) against the JavaScript reference (lib/objects/
 * classify.ts with `native: false`): the same heap classified both ways must give every block the same state and
 * kind (the same type object), the same owners, and the same pinning rows. In-process (pools read in place), through
 * copies (the attach path, this process read by process_vm_readv), and by attach of a target whose heap three
 * threads churn (stopped while it is read, so both passes see the same bytes). Where there is no native pass
 * (not x86-64, executable memory refused) the comparison still runs. The second thread of a large in-process heap is
 * run on this small one (its threshold lowered) and compared too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { attachPython, type ObjectsSnapshot } from "../lib/mod.ts";
import { type Classification, classifyBlocks, KIND } from "../lib/objects/classify.ts";
import { localObjectMemory, remoteObjectMemory } from "../lib/objects/memory.ts";
import { RemoteMemory } from "../lib/machine/remote.ts";
import { hostOf } from "../lib/obmalloc/host.ts";
import { hostArch } from "../lib/machine/codegen.ts";
import { setParallelFrom } from "../lib/objects/classify-pass.ts";
import { canRunSecondThread } from "../lib/machine/threads.ts";
import { launched, targetInterpreter } from "./_launch.ts";

// Every kind the classifier names: instances with a __dict__ (managed on 3.11+), __slots__, containers and their
// subclasses (buffers named through owners), OrderedDict (index and nodes), naive and aware datetimes (instances
// shorter than tp_basicsize), big and small ints, floats, str, bytes; half freed so that free lists interleave.
const workload = (n: number) => `
N = ${n}
import collections, datetime, gc
class Obj:
    def __init__(self, i):
        self.a = i
        self.b = [i, str(i)]
class Slots:
    __slots__ = ('x', 'y')
    def __init__(self, i):
        self.x = i; self.y = float(i)
class Rows(list): pass
class Table(dict): pass
_tz = datetime.timezone.utc
_mix = []
for i in range(N):
    _mix.append((Obj(i), Slots(i), {'k': i, 'v': str(i)}, {i, i + 1}, frozenset((i,)), Rows([i] * (i % 9)),
                 Table(a=i), collections.OrderedDict(a=i, b=i), datetime.time(i % 24), datetime.datetime(2020, 1, 1, tzinfo=_tz),
                 i * 10**30, float(i), 'x' * (i % 70), b'y' * (i % 300), [None] * (i % 40)))
del _mix[::2]
gc.collect()
`;

/** Every block's kind as a comparable number: the kind below FIRST_TYPE, else its type object's address. */
function labels(c: Classification): { kinds: Float64Array; owners: Map<number, number> } {
  const byKind = Float64Array.from(
    { length: KIND.FIRST_TYPE + c.types.length },
    (_, k) => k >= KIND.FIRST_TYPE ? c.types[k - KIND.FIRST_TYPE].address : k,
  );
  const kinds = Float64Array.from(c.kinds, (k) => byKind[k]);
  const owners = new Map([...c.owners].map(([at, k]) => [at, byKind[k]]));
  return { kinds, owners };
}

function sameClassification(js: Classification, native: Classification, what: string): void {
  assert.equal(native.kinds.length, js.kinds.length, `${what}: blocks`);
  assert.equal(native.dataOffset, js.dataOffset, `${what}: debug header`);
  assert.equal(native.unreadPools, js.unreadPools, `${what}: unread pools`);
  const a = labels(js), b = labels(native);
  let differ = 0, first = -1;
  for (let i = 0; i < a.kinds.length; i++) {
    if (a.kinds[i] !== b.kinds[i] && differ++ === 0) first = i;
  }
  assert.equal(differ, 0, `${what}: ${differ} blocks differ, first ${first}: ${a.kinds[first]} vs ${b.kinds[first]}`);
  assert.deepEqual([...b.owners].sort(), [...a.owners].sort(), `${what}: owners`);
  assert.deepEqual(
    native.types.map((t) => `${t.address} ${t.name}`).sort(),
    js.types.map((t) => `${t.address} ${t.name}`).sort(),
    `${what}: types`,
  );
}

/**
 * The public view of both: the pinning rows (with and without owners: the per-pool kind counts, native or not), and
 * with `blocks`, every block.
 */
function sameSnapshots(js: ObjectsSnapshot, native: ObjectsSnapshot, what: string, blocks = true): void {
  const rows = (o: ObjectsSnapshot, owners: boolean) =>
    o.pinning({ owners }).map((r) => `${r.name} ${r.typeAddress} ${r.count} ${r.bytes} ${r.pinnedBytes}`).sort();
  for (const owners of [false, true]) {
    assert.deepEqual(rows(native, owners), rows(js, owners), `${what}: pinning, owners ${owners}`);
  }
  assert.deepEqual(native.totals.blocks, js.totals.blocks);
  if (!blocks) return;
  const a = js.blocks(), b = native.blocks();
  let n = 0;
  for (let x = a.next(), y = b.next(); !x.done || !y.done; x = a.next(), y = b.next(), n++) {
    assert.ok(!x.done && !y.done, `${what}: block counts differ`);
    const u = x.value, v = y.value;
    if (u.address !== v.address || u.state !== v.state || u.kind !== v.kind || u.owner !== v.owner) {
      assert.fail(`${what}: block ${n}: ${JSON.stringify([u, v], (_, z) => typeof z === "bigint" ? `${z}` : z)}`);
    }
  }
}

const hasNative = (() => {
  try {
    return hostArch() === "x64";
  } catch {
    return false;
  }
})();

test("classify native: in place and through copies, every block's state, type and owner equal the JavaScript pass's", async () => {
  const py = await python();
  py.run(workload(12000));
  try {
    const host = hostOf(py);
    const native = host.native;
    const snap = py.heap();
    py.withGIL(() => {
      const safe = RemoteMemory.ofSelf(native.backend, native.libc);
      try {
        const dlsym = (n: string) => native.dlsym(n);
        for (const views of [true, false]) {
          const mem = () =>
            views
              ? localObjectMemory(native.backend, safe, dlsym, true)
              : remoteObjectMemory(safe, (n) => Number(dlsym(n)), false);
          const js = classifyBlocks(snap, host.layout, mem(), { native: false });
          assert.equal(js.nativeBatches, 0);
          assert.ok(js.types.length > 20 && js.owners.size > 1000, "the workload's kinds were found");
          const nat = classifyBlocks(snap, host.layout, mem(), { native: true });
          if (hasNative) assert.ok(nat.nativeBatches > 0 && nat.jsBatches === 0, `${nat.jsBatches} batches in JS`);
          assert.equal(nat.aheadBatches, 0, "a small heap is classified on one thread");
          sameClassification(js, nat, views ? "in place" : "through copies");
          if (!views) continue;
          // The second thread, on this small heap: it takes the batches it met nothing undecided in.
          const old = setParallelFrom(1);
          try {
            const two = classifyBlocks(snap, host.layout, mem(), { native: true });
            if (hasNative && canRunSecondThread(native.libc)) {
              assert.ok(two.aheadBatches > 0, `${two.nativeBatches} native batches, none by the second thread`);
            }
            sameClassification(js, two, "in place, two threads");
          } finally {
            setParallelFrom(old);
          }
        }
      } finally {
        safe.close();
      }
    });
    // Every block was compared above: here the sums (the per-pool kind counts are native too).
    sameSnapshots(snap.objects({ native: false }), snap.objects({ native: true }), "in-process snapshot", false);
  } finally {
    py.run("del _mix; gc.collect()");
  }
});

const exe = targetInterpreter();

test(
  "classify native: by attach, a heap three threads churn (stopped while read) classifies the same both ways",
  async () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-native-"));
    const script = join(dir, "t.py"), ready = join(dir, "ready");
    fs.writeFileSync(
      script,
      workload(6000) + `
import sys, threading, random
def churn(seed):
    r = random.Random(seed); live = []
    while True:
        live.append(r.choice((lambda i: Obj(i), lambda i: {'k': i}, lambda i: [i] * (i % 30), lambda i: str(i) * 3,
                              lambda i: Slots(i), lambda i: collections.OrderedDict(a=i)))(r.randrange(10**6)))
        if len(live) > 5000: del live[r.randrange(len(live))]
for s in range(3): threading.Thread(target=churn, args=(s,), daemon=True).start()
open(sys.argv[1], 'w').close()
threading.Event().wait()
`,
    );
    const [cmd, args] = launched(exe!, [script, ready]);
    const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    const stopped = () => fs.readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1][0] === "T";
    try {
      for (const t0 = Date.now(); !fs.existsSync(ready);) {
        if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode})`);
        if (Date.now() - t0 > 60_000) throw new Error("target never got ready");
        await new Promise((r) => setTimeout(r, 25));
      }
      const py = await attachPython(child.pid!);
      try {
        for (let round = 0; round < 2; round++) {
          await new Promise((r) => setTimeout(r, 300)); // churning meanwhile
          process.kill(child.pid!, "SIGSTOP");
          for (const t0 = Date.now(); !stopped() && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 5));
          try {
            const snap = py.heap();
            const js = snap.objects({ native: false }), nat = snap.objects({ native: true });
            assert.ok(js.totals.objects > 100_000, `${js.totals.objects} objects`);
            sameSnapshots(js, nat, `attach, round ${round}`);
          } finally {
            process.kill(child.pid!, "SIGCONT");
          }
        }
      } finally {
        py.close();
      }
    } finally {
      child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  { skip: exe ? false : "tests/run.ts names no interpreter for this library (PYMEM_TEST_PYTHON)" },
);
