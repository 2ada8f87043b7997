/**
 * Python objects in glibc malloc chunks (lib/objects/chunks.ts), against what the target itself says: the ids of
 * the objects it made (and of gc.get_objects()), and the addresses of their buffers read through ctypes with the
 * layout's own offsets. By attach and in-process; under PYTHONMALLOC=malloc every gc object must be found; and read
 * 20 times while 4 threads allocate and free, against the target's mallinfo2() before and after.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { attachPython, type MallocObjects } from "../lib/mod.ts";
import { objectLayoutFor } from "../lib/objects/layout.ts";
import { launched } from "./_launch.ts";
import { targetExecutable } from "./_attach_target.ts";

const target = targetExecutable();
const skip = target ? false : `no interpreter found for ${process.env.PYMEM_LIBPYTHON}`;
const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-chunks-"));
const minor = target ? Number(target.version.split(".")[1]) : 0;

// Objects over 512 bytes (so in malloc chunks; a few over the 128 KiB mmap threshold, each in a mapping of its own) and containers whose buffers
// are; `facts()` gives, for each, the address the chunk must hold and what it must be named: the object itself
// (str, bytes, tuple, a big int) at its id(), or a buffer at the pointer read from the owner with the layout's own
// offset (list items, dict keys, set table, bytearray payload; an instance's __dict__ keys, owned by its class).
const OBJECTS = (o: ReturnType<typeof objectLayoutFor>) => `
import ctypes, gc, sys
class Big:
    pass
big = Big()
for i in range(300):
    setattr(big, 'a%d' % i, i)
class Rows(list):
    pass
L, R = list(range(5000)), Rows(range(3000))
D = {i: str(i) for i in range(2000)}
S = set(range(1000))
s, by, ba = 'x' * 50000, b'y' * 60000, bytearray(70000)
t = tuple(range(200))
n = 7 ** 3000
bigs = [bytes(1000 + i) for i in range(100)]
# Over the mmap threshold: chunks of their own mappings.
huge, HL, HD = 'z' * 300000, list(range(40000)), {i: i for i in range(20000)}
gc.collect()
def ptr(o, off):
    return ctypes.c_void_p.from_address(id(o) + off).value
def facts():
    f = [[id(x), type(x).__name__, None] for x in [s, by, t, n, huge] + bigs]
    f += [[ptr(HL, ${o.listItems}), "list items", None], [ptr(HD, ${o.dictKeys}), "dict keys", None]]
    f += [[ptr(L, ${o.listItems}), "list items", None], [ptr(R, ${o.listItems}), "list items", "Rows"]]
    f += [[ptr(D, ${o.dictKeys}), "dict keys", None], [ptr(S, ${o.setTable}), "set table", None]]
    f += [[ptr(big.__dict__, ${o.dictKeys}), "dict keys", "Big"]]
    # 3.15: a bytearray's payload is the ob_sval of a bytes object it holds: that bytes object is what the chunk is.
    f += [[ptr(ba, ${o.bytearrayBytes}), "bytes" if sys.version_info >= (3, 15) else "bytearray payload", None]]
    return f
`;

function check(o: MallocObjects, facts: [number, string, string | null][], where: string): void {
  for (const [address, kind, owner] of facts) {
    const c = o.chunkAt(address);
    assert.ok(c, `${where}: no in-use chunk holds 0x${address.toString(16)} (${kind})`);
    assert.equal(c!.kind, kind, `${where}: the chunk at 0x${c!.address.toString(16)}`);
    if (c!.type !== null && kind !== "bytes") assert.equal(c!.object, BigInt(address), `${where}: ${kind}`);
    if (c!.type === null) assert.equal(c!.address + 16n + BigInt(o.totals.dataOffset), BigInt(address), where);
    if (owner) assert.equal(c!.owner, owner, `${where}: the owner of the ${kind} at 0x${address.toString(16)}`);
  }
  // Totals add up, and the combined view carries both heaps.
  const t = o.totals;
  assert.equal(t.objects + t.namedBuffers + t.cAllocations, t.chunks);
  assert.equal(t.objectBytes + t.namedBufferBytes + t.cAllocationBytes, t.bytes);
  const held = o.held();
  const mallocSum = held.reduce((a, r) => a + r.mallocBytes, 0);
  assert.equal(mallocSum, t.bytes);
}

const children: ChildProcess[] = [];
let seq = 0;

function startTarget(script: string, env: Record<string, string> = {}): { child: ChildProcess; out: string } {
  const n = seq++;
  const file = join(tmp, `target${n}.py`), out = join(tmp, `out${n}`);
  fs.writeFileSync(file, script);
  const [cmd, args] = launched(target!.exe, [file, out]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
  children.push(child);
  return { child, out };
}

async function waitFile(out: string, child: ChildProcess): Promise<string> {
  const t0 = Date.now();
  while (!fs.existsSync(out)) {
    if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode}) before writing ${out}`);
    if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting for ${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return fs.readFileSync(out, "utf8");
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

const WRITE = `
import json, os, signal
out = sys.argv[1]
with open(out + '.tmp', 'w') as fp:
    json.dump(REPORT, fp)
os.rename(out + '.tmp', out)
signal.pause()
`;

test(
  "malloc chunks by attach: objects over 512 bytes and the buffers of containers, named with their types",
  async () => {
    const { child, out } = startTarget(OBJECTS(objectLayoutFor(minor)) + "REPORT = facts()\n" + WRITE);
    try {
      const facts = JSON.parse(await waitFile(out, child));
      const a = await attachPython(child.pid!);
      try {
        const h = a.mallocHeap();
        const o = h.objects();
        assert.ok(o.pymalloc !== null, "the pymalloc side is classified too");
        check(o, facts, "attach");
        assert.equal(h.objects(), o, "kept");
        // The combined view: str is held in both heaps, and the big str is in malloc's part.
        const str = o.held().find((r) => r.name === "str" && r.object)!;
        assert.ok(str.mallocBytes >= 50000 && str.pymallocPinnedBytes > 0, JSON.stringify(str));
      } finally {
        a.close();
      }
    } finally {
      await kill(child);
    }
  },
  { skip },
);

test("malloc chunks in-process: the same objects, found by py.mallocHeap().objects()", async () => {
  const py = await python();
  const v = py.version;
  py.run(OBJECTS(objectLayoutFor(v.minor)));
  const facts = JSON.parse(py.eval("__import__('json').dumps(facts())") as string);
  check(py.mallocHeap().objects(), facts, "in-process");
  py.run("del big, L, R, D, S, s, by, ba, t, n, bigs, huge, HL, HD");
});

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

test("malloc chunks: cleanup", async () => {
  await Promise.all(children.map(kill));
  fs.rmSync(tmp, { recursive: true, force: true });
});
