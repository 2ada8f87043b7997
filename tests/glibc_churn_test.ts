/**
 * Python objects in glibc malloc chunks under a live, changing heap: under PYTHONMALLOC=malloc every gc object must
 * be found in its chunk, and 20 reads while 4 threads allocate and free must stay within the target's own
 * mallinfo2() before and after. Apart from glibc_objects_test because what these test is glibc's side (the walk of a
 * changing heap, a process with no pymalloc heap): on the two glibcs (the ends) under each runtime.
 * @module
 */
import { assert, test } from "./_harness.ts";
import { attachPython } from "../lib/mod.ts";
import { cleanup, kill, skip, startTarget, waitFile, WRITE } from "./_glibc_target.ts";

// PYTHONMALLOC=malloc: no pymalloc heap, every object a malloc chunk; the census is every gc object's id and type.
test("malloc chunks under PYTHONMALLOC=malloc: every gc object is found in its chunk, with its type", async () => {
  const census = `
import gc, sys
class Point:
    def __init__(self, i):
        self.x = i
keep = [Point(i) for i in range(2000)] + [[i] for i in range(2000)] + [{'k': i} for i in range(2000)]
gc.collect()
# The census keeps every object it names alive: one that died after gc.get_objects() (a temporary of the JSON
# writing below) would be counted as missed.
ALIVE = gc.get_objects()
REPORT = [[id(o), type(o).__name__] for o in ALIVE]
`;
  const { child, out } = startTarget(census + WRITE, { PYTHONMALLOC: "malloc" });
  try {
    const objs: [number, string][] = JSON.parse(await waitFile(out, child));
    const a = await attachPython(child.pid!);
    try {
      const o = a.mallocHeap().objects();
      assert.equal(o.pymalloc, null);
      const missed = objs.filter(([id, name]) => {
        const c = o.chunkAt(id);
        // tp_name carries the module where __name__ does not ("weakref.ReferenceType").
        return !c || c.object !== BigInt(id) || (c.type !== name && !c.type?.endsWith(`.${name}`));
      });
      assert.ok(objs.length > 6000);
      assert.deepEqual(missed.slice(0, 5), [], `${missed.length} of ${objs.length} gc objects not found`);
      assert.ok(o.byType().find((r) => r.name === "Point")!.count >= 2000);
    } finally {
      a.close();
    }
  } finally {
    await kill(child);
  }
}, { skip });

// 4 threads allocate and free (each keeps at most CAP bytes of chunks live) while the heap is read 20 times. The
// target's mallinfo2() before the reads and after them bound what any read may call in use: the churn adds at most
// 4 × CAP to the quiet figure.
const CAP = 4 << 20;
const CHURN = `
import ctypes, os, random, signal, sys, threading, time
class MI2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MI2
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
def work(k):
    r, keep, live = random.Random(k), [], 0
    while True:
        b = bytearray(r.randint(600, 20000))
        keep.append(b)
        live += len(b)
        while live > ${CAP} - 40000:
            live -= len(keep.pop(r.randrange(len(keep))))
for k in range(4):
    threading.Thread(target=work, args=(k,), daemon=True).start()
time.sleep(0.3)
def report(path):
    m = libc.mallinfo2()
    with open(path + '.tmp', 'w') as fp:
        fp.write('%d %d' % (m.uordblks, m.arena))
    os.rename(path + '.tmp', path)
report(sys.argv[1])
signal.sigwait([signal.SIGUSR1])
report(sys.argv[1] + '.after')
time.sleep(1e9)
`;

test("malloc chunks by attach: 20 reads while 4 threads allocate and free", async () => {
  const { child, out } = startTarget(CHURN);
  try {
    const [before] = (await waitFile(out, child)).split(" ").map(Number);
    const a = await attachPython(child.pid!);
    const inUse: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const h = a.mallocHeap();
        for (const w of h.warnings) assert.match(w, /read while changing/);
        inUse.push(h.totals.inUse.bytes);
        // Classified too, now and then: chunks freed under the reads are never taken for objects that crash it.
        if (i % 5 === 0) assert.ok(h.objects().totals.chunks > 0);
      }
    } finally {
      a.close();
    }
    child.kill("SIGUSR1");
    const [after] = (await waitFile(out + ".after", child)).split(" ").map(Number);
    const bound = Math.max(before, after) + 4 * CAP;
    assert.ok(
      Math.max(...inUse) <= bound,
      `in use ${Math.max(...inUse)} > ${bound} (before ${before}, after ${after})`,
    );
    assert.ok(Math.min(...inUse) > 0);
    assert.equal(child.exitCode, null, "the target is alive");
  } finally {
    await kill(child);
  }
}, { skip });

test("malloc chunks under churn: cleanup", cleanup);
