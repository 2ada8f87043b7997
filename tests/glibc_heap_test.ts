/**
 * The glibc malloc heap read from memory (lib/glibc/), by attach and in-process, against the process's own figures:
 * `mallinfo2()` for the totals and `malloc_info()` for each arena, taken by the target itself at a quiescent moment.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { attachPython, type MallocHeap, PymemError } from "../lib/mod.ts";
import { hostOf } from "../lib/obmalloc/host.ts";
import { launched } from "./_launch.ts";
import { targetExecutable } from "./_attach_target.ts";

const target = targetExecutable();
const skip = target ? false : `no interpreter found for ${process.env.PYMEM_LIBPYTHON}`;
const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-glibc-"));
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
const THREADS = 3;
// struct mallinfo2, in order.
const FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split(" ");

// N threads each allocate bytearrays of 2–5 KB (glibc malloc: over pymalloc's 512 bytes) and free half, and free 50
// small malloc chunks through ctypes (7 go to the thread's tcache, the rest to a fastbin on glibc < 2.43); the main
// thread holds three mmapped chunks. Then, with every thread parked on a lock and the GC off, the main thread
// writes malloc_info's XML into a FILE opened beforehand (its buffer is allocated by the first write, before
// malloc_info walks the arenas), calls mallinfo2(), and writes the figures with os.write to a descriptor opened
// beforehand: nothing between malloc_info's walk and the read below allocates from malloc.
const WORKLOAD = `
import ctypes, gc, os, signal, sys, threading, time
out, n = sys.argv[1], int(sys.argv[2])
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
class MI2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in ${JSON.stringify(FIELDS.join(" "))}.split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MI2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fflush.argtypes = [ctypes.c_void_p]
# A fixed mmap threshold (M_MMAP_THRESHOLD = -3): glibc raises its dynamic one to the size of any mmapped chunk freed
# before (start-up may free one of over 300 KB, depending on the environment), and the three big chunks below must be
# mmapped whatever ran before. They are 4 MiB each: a request over the threshold is still served from a free chunk
# or the top when one is large enough, and the bins here hold free chunks of some 100 KB.
libc.mallopt(-3, 128 * 1024)
# The threads park on locks made here, before anything is measured: acquiring a held lock waits on its semaphore and
# allocates nothing, where a Barrier's wait mallocs a waiter lock, which could land after the main thread's mallinfo2.
gate = threading.Lock()
gate.acquire()
ready = [threading.Lock() for _ in range(n)]
for r in ready:
    r.acquire()
keep = []
def work(k):
    mine = [bytearray(2000 + (i * 37 + k) % 3000) for i in range(3000)]
    del mine[::2]
    ptrs = [libc.malloc(24) for _ in range(50)]
    for p in ptrs:
        libc.free(p)
    keep.append(mine)
    ready[k].release()
    gate.acquire()
threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
for t in threads:
    t.start()
big = [bytearray(4 << 20) for _ in range(3)]
gc.collect()
gc.disable()
fd = os.open(out + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
tmp, final = out + '.tmp', out
fp = libc.fopen((out + '.xml').encode(), b"w")
for r in ready:
    r.acquire()
time.sleep(0.5)  # each thread from its release() into gate.acquire(): one C call, no allocation
libc.malloc_info(0, fp)
libc.fflush(fp)
m = libc.mallinfo2()
os.write(fd, " ".join(str(getattr(m, f)) for f, _ in MI2._fields_).encode())
os.close(fd)
os.rename(tmp, final)
# On SIGUSR1 (waited for in C, allocating nothing): RSS, malloc_trim(0), RSS again.
signal.sigwait([signal.SIGUSR1])
def rss():
    f = os.open('/proc/self/statm', os.O_RDONLY)
    pages = int(os.read(f, 200).split()[1])
    os.close(f)
    return pages * os.sysconf('SC_PAGE_SIZE')
before = rss()
libc.malloc_trim(0)
after = rss()
fd = os.open(out + '.trim.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, ("%d %d" % (before, after)).encode())
os.close(fd)
os.rename(out + '.trim.tmp', out + '.trim')
time.sleep(1e9)
`;

let seq = 0;
const children: ChildProcess[] = [];

function start(env: Record<string, string> = {}): { child: ChildProcess; out: string } {
  const n = seq++;
  const file = join(tmp, `workload${n}.py`);
  fs.writeFileSync(file, WORKLOAD);
  const out = join(tmp, `out${n}`);
  const [cmd, args] = launched(target!.exe, [file, out, String(THREADS)]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
  children.push(child);
  return { child, out };
}

async function ready(out: string, child: ChildProcess): Promise<number[]> {
  await waitFile(out, child);
  return fs.readFileSync(out, "utf8").trim().split(" ").map(Number);
}

async function waitFile(out: string, child: ChildProcess): Promise<void> {
  const t0 = Date.now();
  while (!fs.existsSync(out)) {
    if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode}) before writing ${out}`);
    if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting for ${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

/** malloc_info's per-heap figures, in the order of the arena ring. */
function parseMallocInfo(xml: string): { fast: [number, number]; rest: [number, number]; system: number }[] {
  const heaps = [...xml.matchAll(/<heap nr="(\d+)">([\s\S]*?)<\/heap>/g)];
  return heaps.map((h) => {
    const body = h[2];
    // glibc 2.43 has no fastbins, and prints no "fast" total.
    const total = (type: string, optional = false): [number, number] => {
      const m = new RegExp(`<total type="${type}" count="(\\d+)" size="(\\d+)"/>`).exec(body);
      if (!m && optional) return [0, 0];
      if (!m) throw new Error(`malloc_info heap ${h[1]}: no <total type="${type}">`);
      return [Number(m[1]), Number(m[2])];
    };
    const system = /<system type="current" size="(\d+)"\/>/.exec(body);
    if (!system) throw new Error(`malloc_info heap ${h[1]}: no <system type="current">`);
    return { fast: total("fast", true), rest: total("rest"), system: Number(system[1]) };
  });
}

/** What holds for any heap read: the figures add up. */
function checkConsistent(h: MallocHeap): void {
  assert.deepEqual(h.warnings, []);
  for (const a of h.arenas) {
    assert.equal(a.complete, true);
    const f = a.free;
    const bins = f.unsorted.bytes + f.small.bytes + f.large.bytes;
    assert.equal(a.mallinfo.fordblks, a.top.bytes + f.fastbins.bytes + bins);
    assert.equal(a.mallinfo.uordblks, a.systemBytes - a.mallinfo.fordblks);
    // What mallinfo2 counts as in use is the program's chunks, the tcache'd ones and the arena's own overhead
    // (heap_info, the arena struct in a thread arena's first heap, alignment, fenceposts): a few KiB per heap.
    const overhead = a.mallinfo.uordblks - a.inUse.bytes - f.tcache.bytes;
    assert.ok(overhead >= 0 && overhead <= 4096 * a.heaps.length, `arena ${a.index}: overhead ${overhead}`);
    assert.ok(a.inUse.chunks > 0 && a.top.bytes > 0);
    assert.ok(a.reclaimableBytes >= 0 && a.reclaimableBytes <= a.mallinfo.fordblks);
  }
  assert.equal(h.arenas[0].kind, "main");
  assert.equal(h.totals.systemBytes, h.mallinfo.arena);
}

test(
  "glibc heap by attach: mallinfo2, malloc_info exactly; N + 1 arenas; malloc_trim(0) frees what it says",
  async () => {
    const { child, out } = start();
    try {
      const truth = await ready(out, child);
      const xml = parseMallocInfo(fs.readFileSync(out + ".xml", "utf8"));
      const a = await attachPython(child.pid!);
      try {
        const h = a.mallocHeap();
        assert.match(h.glibc, /^2\.(36|43)$/);
        assert.match(h.how, /decoded from mallinfo2/);
        assert.deepEqual(FIELDS.map((f) => h.mallinfo[f as keyof MallocHeap["mallinfo"]]), truth);
        checkConsistent(h);
        assert.equal(h.arenas.length, THREADS + 1);
        assert.equal(xml.length, THREADS + 1);
        for (const [i, ar] of h.arenas.entries()) {
          const f = ar.free;
          assert.deepEqual(
            [ar.systemBytes, f.fastbins.chunks, f.fastbins.bytes],
            [xml[i].system, ...xml[i].fast],
            `arena ${i}`,
          );
          // "rest" is top + the bins; malloc_info sums the bin chunks' size fields unmasked (chunksize_nomask), so
          // each bin chunk adds its PREV_INUSE bit, which is always set in a free chunk: 1 byte per chunk.
          const [count, size] = xml[i].rest;
          assert.deepEqual(
            [ar.mallinfo.ordblks, ar.mallinfo.fordblks - f.fastbins.bytes],
            [count, size - (count - 1)],
            `arena ${i}`,
          );
          if (i === 0) continue;
          assert.equal(ar.kind, "thread");
          assert.ok(ar.attachedThreads >= 1);
          // Each thread freed 50 chunks of 32 bytes: its tcache holds at least 7, and (2.36) a fastbin the rest.
          assert.ok(ar.tcaches >= 1 && f.tcache.chunks >= 7, `arena ${i}: tcache ${JSON.stringify(f.tcache)}`);
          if (h.glibc === "2.36") {
            assert.ok(f.fastbins.chunks >= 43 - 7, `arena ${i}: fastbins ${JSON.stringify(f.fastbins)}`);
          }
          // Half of 1,500 kept 2–5 KB bytearrays were freed: most of the arena is free in the large bins.
          assert.ok(f.large.bytes > 2_000_000, `arena ${i}: large ${JSON.stringify(f.large)}`);
        }
        assert.ok(h.mmapped.chunks >= 3 && h.mmapped.bytes >= 3 * (4 << 20), `mmapped ${JSON.stringify(h.mmapped)}`);

        // What malloc_trim(0) gives back: RSS drops by the resident part of the reclaimable pages, within 5%.
        const resident = h.totals.reclaimableResidentBytes;
        assert.ok(
          resident !== null && resident > 256 * 1024 && resident <= h.totals.reclaimableBytes,
          `resident ${resident}`,
        );
        child.kill("SIGUSR1");
        await waitFile(out + ".trim", child);
        const [rssBefore, rssAfter] = fs.readFileSync(out + ".trim", "utf8").split(" ").map(Number);
        const drop = rssBefore - rssAfter;
        assert.ok(Math.abs(drop - resident) <= resident * 0.05, `RSS dropped ${drop}, pymem said ${resident} would go`);
        // Read again: the pages given back are still inside free chunks, no longer resident.
        const again = a.mallocHeap();
        assert.ok(again.totals.reclaimableResidentBytes! < resident * 0.05, `${again.totals.reclaimableResidentBytes}`);
      } finally {
        a.close();
      }
    } finally {
      await kill(child);
    }
  },
  { skip },
);

test("glibc heap by attach: a target whose malloc is jemalloc (LD_PRELOAD) is refused with the reason", async () => {
  const { child, out } = start({ LD_PRELOAD: JEMALLOC });
  try {
    await ready(out, child);
    const a = await attachPython(child.pid!);
    try {
      assert.throws(() => a.mallocHeap(), (e: unknown) => {
        assert.ok(e instanceof PymemError && e.code === "UNSUPPORTED", String(e));
        assert.match(e.message, /malloc is replaced by jemalloc \(.*libjemalloc\.so\.2/);
        return true;
      });
    } finally {
      a.close();
    }
  } finally {
    await kill(child);
  }
}, { skip: skip || (!fs.existsSync(JEMALLOC) && `${JEMALLOC} is not installed (apt-get install libjemalloc2)`) });

const isBun = !!(globalThis as { Bun?: unknown }).Bun;

test("glibc heap in-process: py.mallocHeap() against mallinfo2() called just before and after", async () => {
  const py = await python();
  py.run("_keep = [bytearray(1000 + i % 5000) for i in range(3000)]\ndel _keep[::2]");
  // mallinfo2 called straight through FFI (called from Python, the call's own parsing would allocate): the struct,
  // 80 bytes, is returned through a pointer the caller passes first (x86-64 System V), so it is declared that way.
  const native = hostOf(py).native;
  const at = native.libc.dlsym(0n, new TextEncoder().encode("mallinfo2\0"));
  const mallinfo2 = native.fn(at, { args: ["buffer"], ret: "ptr" });
  const buf = new BigUint64Array(FIELDS.length);
  const mi = () => {
    mallinfo2(new Uint8Array(buf.buffer));
    return [...buf].map(Number);
  };
  const ours = (h: MallocHeap) => FIELDS.map((f) => h.mallinfo[f as keyof MallocHeap["mallinfo"]]);
  py.mallocHeap(); // locates libc's statics once (opening files allocates)
  // Bun's own allocations do not go through glibc malloc while pymem reads, so there the ground truth is a moment
  // when nothing else allocated either: mallinfo2 identical before and after the read, and the read equal to it.
  // Node and Deno allocate from glibc malloc on their own threads while JavaScript runs (megabytes per read,
  // measured; system bytes even shrink between the two calls), so there a read is a live one: checked for what
  // holds of a live read (torn lists are reported as such, never miscounted silently), not against mallinfo2.
  let last = "";
  for (let attempt = 0; attempt < 50; attempt++) {
    const before = mi();
    const h = py.mallocHeap();
    const after = mi();
    const got = ours(h);
    if (!isBun) {
      // Read while the runtime's threads allocate: lists and chunks may disagree, and say so.
      for (const w of h.warnings) assert.match(w, /read while changing/);
      assert.equal(h.arenas[0].kind, "main");
      // The mmapped chunks change rarely: when they did not, the read has them exactly.
      if (before[3] === after[3] && before[4] === after[4]) assert.deepEqual([got[3], got[4]], [before[3], before[4]]);
      assert.ok(h.arenas.length >= 1 && h.totals.systemBytes > 0);
      py.run("del _keep");
      return;
    }
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      last = `${before} / ${after}`;
      continue;
    }
    checkConsistent(h);
    assert.deepEqual(got, before);
    py.run("del _keep");
    return;
  }
  assert.fail(`the process's malloc never stood still around the read: ${last}`);
});

test("glibc heap: bad options are refused", async () => {
  const py = await python();
  assert.throws(() => py.mallocHeap({ retries: -1 }), RangeError);
  assert.throws(() => py.mallocHeap({ nope: 1 } as never), TypeError);
});

test("glibc heap: the result is JSON-safe, every address a hex string", async () => {
  const py = await python();
  const h = py.mallocHeap();
  assert.ok(!Object.keys(h).includes("toJSON"));
  const j = JSON.parse(JSON.stringify(h));
  assert.equal(j.arenas.length, h.arenas.length);
  assert.equal(j.arenas[0].address, `0x${h.arenas[0].address.toString(16)}`);
  assert.equal(j.arenas[0].top.address, `0x${h.arenas[0].top.address.toString(16)}`);
  assert.deepEqual(j.mallinfo, h.mallinfo);
  // Each arena alone too (JSON.stringify(h.arenas) threw on its bigints).
  const a = JSON.parse(JSON.stringify(h.arenas[0]));
  assert.equal(a.address, j.arenas[0].address);
  assert.equal(a.heaps[0].address, j.arenas[0].heaps[0].address);
  assert.equal(a.top.address, j.arenas[0].top.address);
});

// A target exec'ing /bin/sleep while its heap is read, again and again: each read either is the Python program's
// whole heap (8 threads: 9 arenas) or an ATTACH error; never a result read partly in the new program's memory (seen:
// 1 or 2 "arenas" from a read that began before the exec).
const EXEC_WORKLOAD = `
import os, random, sys, threading, time
def work(k):
    r, keep = random.Random(k), []
    while True:
        keep.append([bytearray(r.randint(600, 9000)) for _ in range(100)])
        if len(keep) > 200: keep = keep[100:]
for k in range(8):
    threading.Thread(target=work, args=(k,), daemon=True).start()
time.sleep(0.3)
open(sys.argv[1], "w").close()
time.sleep(float(sys.argv[2]))
os.execv("/bin/sleep", ["sleep", "30"])
`;

test("glibc heap by attach: a target that execs during the reads is an ATTACH error, never a result", async () => {
  const file = join(tmp, "exec.py");
  fs.writeFileSync(file, EXEC_WORKLOAD);
  for (const [round, delay] of [0.3, 0.6, 0.9, 1.2].entries()) {
    const out = join(tmp, `exec${round}`);
    const [cmd, args] = launched(target!.exe, [file, out, String(delay)]);
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    children.push(child);
    try {
      await waitFile(out, child);
      const a = await attachPython(child.pid!);
      try {
        for (let i = 0;; i++) {
          let h: MallocHeap;
          try {
            h = a.mallocHeap();
          } catch (e) {
            assert.ok(e instanceof PymemError && e.code === "ATTACH", String(e));
            assert.match(e.message, /exec'd another program|exited/);
            break;
          }
          assert.ok(h.arenas.length >= 9, `read ${i}: ${h.arenas.length} arenas, ${h.totals.inUse.bytes} bytes in use`);
          assert.ok(i < 200, "the target never exec'd");
        }
      } finally {
        a.close();
      }
    } finally {
      await kill(child);
    }
  }
}, { skip });

test("glibc heap: cleanup", async () => {
  await Promise.all(children.map(kill));
  fs.rmSync(tmp, { recursive: true, force: true });
});
