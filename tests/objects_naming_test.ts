/**
 * Block classification of what real programs keep that the exact-type checks missed (issue 24): the tables of
 * container subclasses (OrderedDict, defaultdict, Counter, a user's subclasses of dict, list, set and OrderedDict), an OrderedDict's
 * index and linked nodes, and objects
 * smaller than their type's tp_basicsize (naive datetime.time and datetime.datetime), checked against the target's
 * own census: every kept object's id and type, and for a container the address of the buffer it points to (read
 * inside the target, from the object's own field), which pymem must name as that container's buffer, owned by the
 * subclass, never as an object or "not an object". In-process and by attach.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { assert, python, test } from "./_harness.ts";
import { attachPython, type ObjectsSnapshot } from "../lib/mod.ts";
import { launched, targetInterpreter } from "./_launch.ts";
import { whyToJSON, whyVerdict } from "../lib/report/why.ts";

// Sizes keep every buffer in pymalloc (≤ 512 bytes): 6 keys, 10 items, a set of 6 (a 32-slot table).
const WORKLOAD = `
import gc, sys, collections
class Attrs(dict): pass
class Rows(list): pass
class Tags(set): pass
class Recent(collections.OrderedDict): pass
keep = []
for i in range(3000):
    keep.append(collections.OrderedDict((j, i) for j in range(6)))
    keep.append(Recent((j, i) for j in range(4 + i % 4)))
    d = collections.defaultdict(list)
    for j in range(6): d[j].append(i)
    keep.append(d)
    keep.append(collections.Counter(range(i % 3, i % 3 + 6)))
    keep.append(Attrs((j, i) for j in range(6)))
    keep.append(Rows(range(i, i + 10)))
    keep.append(Tags(range(i, i + 6)))
import datetime
utc = datetime.timezone.utc
for i in range(6000):
    keep.append(datetime.time(i % 24, i % 60, i % 60, i))
    keep.append(datetime.datetime(2020, 1, 1 + i % 28, i % 24, i % 60))
    if i % 10 == 0:
        keep.append(datetime.time(i % 24, tzinfo=utc))
        keep.append(datetime.datetime(2020, 1, 1, i % 24, tzinfo=utc))
gc.collect()
`;

// The census, inside the target: each kept container's id, type name, and the buffer its own fields point to, read
// with ctypes at the offsets every 3.8–3.15 GIL build shares (PyListObject.ob_item 24, PyDictObject.ma_keys 32,
// PySetObject.table 40), which pymem must find on its own.
const CENSUS = `
import ctypes
def _buf(o):
    if not isinstance(o, (list, dict, set)): return 0
    at = 24 if isinstance(o, list) else 32 if isinstance(o, dict) else 40
    return ctypes.c_void_p.from_address(id(o) + at).value or 0
def _kind(o):
    return 'list items' if isinstance(o, list) else 'dict keys' if isinstance(o, dict) else 'set table' \
        if isinstance(o, set) else 'object'
_rows = ['%d %d %s %s' % (id(o), _buf(o), _kind(o).replace(' ', '_'), type(o).__name__) for o in keep]
# An OrderedDict's index (od_fast_nodes, at 64 after its PyDictObject and od_first/od_last) and its nodes, from
# od_first (48) along each node's next (16).
_p = lambda a: ctypes.c_void_p.from_address(a).value or 0
for o in keep:
    if not isinstance(o, collections.OrderedDict): continue
    _rows.append('%d %d OrderedDict_index %s' % (id(o), _p(id(o) + 64), type(o).__name__))
    node = _p(id(o) + 48)
    while node:
        _rows.append('%d %d OrderedDict_nodes %s' % (id(o), node, type(o).__name__))
        node = _p(node + 16)
_census = '\\n'.join(_rows)
del _rows
`;

interface Row {
  id: number;
  buffer: number;
  kind: string;
  type: string;
}

const parse = (text: string): Row[] =>
  text.split("\n").map((l) => {
    const [id, buffer, kind, type] = l.split(" ");
    return { id: Number(id), buffer: Number(buffer), kind: kind.replace("_", " "), type };
  });

/** Live bytes, and those called "not an object". */
function unnamed(objects: ObjectsSnapshot): { live: number; not: number } {
  return { live: objects.totals.bytesInUse, not: objects.byType().find((r) => r.name === "not an object")?.bytes ?? 0 };
}

/**
 * Checks the classification against the census, and that of the live bytes the workload added (since `before`, the
 * interpreter's own), at most 1% are "not an object"; returns that share.
 */
function check(objects: ObjectsSnapshot, census: Row[], before: { live: number; not: number }): number {
  const wrong: string[] = [];
  let buffers = 0;
  const seen = new Set<string>();
  for (const r of census) {
    seen.add(r.type);
    const o = objects.blockAt(r.id);
    // tp_name is "collections.OrderedDict", "datetime.time": the census gives __name__.
    const same = o?.type === r.type || o?.type?.endsWith(`.${r.type}`);
    if (o && (!same || o.object !== BigInt(r.id)) && wrong.length < 10) {
      wrong.push(`${r.type} at 0x${r.id.toString(16)} is ${o.kind} (${o.size}-byte block)`);
    }
    const b = r.buffer ? objects.blockAt(r.buffer) : null;
    if (!b || b.state !== "allocated") continue; // not in pymalloc
    buffers++;
    const owner = b.owner?.replace(/^collections\./, "");
    if (b.kind !== r.kind || owner !== r.type) {
      if (wrong.length < 10) {
        wrong.push(`${r.type}'s ${r.kind} at 0x${r.buffer.toString(16)} is ${b.kind} (owner ${b.owner})`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.equal(seen.size, 9, [...seen].join());
  // Most buffers are in pymalloc (a dict subclass's keys may be shared or larger on some versions).
  const containers = census.filter((r) => r.kind !== "object").length;
  assert.ok(buffers >= containers * 0.8, `${buffers} of ${containers} buffers in pymalloc`);
  const after = unnamed(objects), added = after.live - before.live, not = after.not - before.not;
  assert.ok(added > 5e6, `the workload added ${added} bytes`);
  assert.ok(not <= 0.01 * added, `"not an object": ${not} of the ${added} bytes the workload added`);
  return not / added;
}

test("objects: container subclasses' tables are named, owned by the subclass; naive datetime objects are found", async () => {
  const py = await python();
  const before = unnamed(py.heap().objects());
  py.run(WORKLOAD);
  py.run(CENSUS);
  try {
    const census = parse(py.eval("_census") as string);
    const share = check(py.heap().objects(), census, before);
    console.log(`  "not an object": ${(100 * share).toFixed(2)}% of the live bytes added`);
  } finally {
    py.run("del keep, _census");
  }
});

const exe = targetInterpreter();

test(
  "objects by attach: container subclasses' tables are named, owned by the subclass; naive datetime objects are found",
  async () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-subclass-"));
    const script = join(dir, "t.py"), out = join(dir, "census");
    // The target waits for the test's first read (the interpreter's own heap) before its workload.
    fs.writeFileSync(
      script,
      `
import os, sys, time
open(sys.argv[1] + '.ready', 'w').close()
while not os.path.exists(sys.argv[1] + '.go'): time.sleep(0.01)
` + WORKLOAD + CENSUS + `
import os, signal
with open(sys.argv[1] + '.tmp', 'w') as f: f.write(_census)
os.replace(sys.argv[1] + '.tmp', sys.argv[1])
del _census
signal.pause()
`,
    );
    const [cmd, args] = launched(exe!, [script, out]);
    const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    try {
      const wait = async (file: string) => {
        for (const t0 = Date.now(); !fs.existsSync(file);) {
          if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode})`);
          if (Date.now() - t0 > 60_000) throw new Error(`target never wrote ${file}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      };
      await wait(out + ".ready");
      const py = await attachPython(child.pid!);
      try {
        const before = unnamed(py.heap().objects());
        fs.writeFileSync(out + ".go", "");
        await wait(out);
        const census = parse(fs.readFileSync(out, "utf8"));
        const share = check(py.heap().objects(), census, before);
        console.log(`  by attach, "not an object": ${(100 * share).toFixed(2)}% of the live bytes added`);
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

test("objects: pinned bytes are whole bytes that add up exactly to the arenas holding live blocks; sparse arenas said when several", async () => {
  const py = await python();
  // A fragmented heap: every 7th record survives, so arenas are shared unevenly among kinds.
  py.run("_recs = [(i, float(i), 'r%d' % i, {'k': i}) for i in range(150_000)]\n_surv = _recs[::7]\ndel _recs");
  try {
    const snap = py.heap(), objects = snap.objects();
    const live = [...snap.arenas].filter((a) => a.blocksInUse > 0).length * snap.arenaSize;
    for (const owners of [false, true]) {
      const rows = objects.pinning({ owners });
      const fractions = rows.filter((r) => !Number.isInteger(r.pinnedBytes)).map((r) => `${r.name} ${r.pinnedBytes}`);
      assert.deepEqual(fractions, []);
      assert.equal(rows.reduce((s, r) => s + r.pinnedBytes, 0), live);
    }
    // The verdict speaks of sparse arenas only for kinds that keep several of them (one is the arena being filled).
    const doc = whyToJSON(objects, { kind: "embedded" });
    const line = whyVerdict(doc).find((l) => l.startsWith("In arenas less than half full"));
    const several = doc.pinning.filter((r) => r.sparseArenas > 1);
    assert.ok(several.length > 0 && line, JSON.stringify(doc.pinning.map((r) => [r.name, r.sparseArenas])));
    assert.doesNotMatch(line, / in 1[,;]/);
    for (const r of several.slice(0, 3)) {
      assert.ok(line.includes(r.object ? `\`${r.name}\`` : r.name), `${r.name} in ${line}`);
    }
    for (const r of doc.pinning) r.sparseArenas = Math.min(r.sparseArenas, 1);
    assert.deepEqual(whyVerdict(doc).filter((l) => l.startsWith("In arenas")), []);
    // Each arena's share is its rounded exact share: no row is more than one byte per arena off.
    const rows = objects.pinning(), names = rows.map((r) => r.name);
    // arenaTypes() rows are found by name: types that share a name (two modules' IncrementalDecoder) are left out.
    for (const r of rows.filter((x) => names.indexOf(x.name) === names.lastIndexOf(x.name))) {
      const exact = [...snap.arenas].reduce((s, a, i) => {
        const m = objects.arenaTypes(i).find((t) => t.name === r.name);
        return m ? s + (snap.arenaSize * m.bytes) / a.bytesInUse : s;
      }, 0);
      assert.ok(Math.abs(r.pinnedBytes - exact) <= r.arenas, `${r.name}: ${r.pinnedBytes} vs ${exact}`);
    }
  } finally {
    py.run("del _surv");
  }
});
