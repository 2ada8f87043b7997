/**
 * Block classification of what real programs keep that the exact-type checks missed (issue 24), checked against
 * the target's own census, in-process and by attach (one target runs every workload in turn):
 *   - the tables of container subclasses (OrderedDict, defaultdict, Counter, a user's subclasses of dict, list, set
 *     and OrderedDict), an OrderedDict's index and linked nodes, and objects smaller than their type's tp_basicsize
 *     (naive datetime.time and datetime.datetime): every kept object's id and type, and for a container the address
 *     of the buffer it points to (read inside the target, from the object's own field), which pymem must name as that
 *     container's buffer, owned by the subclass, never as an object or "not an object";
 *   - stale headers: an LRU cache with churn (lists with spare slots, an OrderedDict whose index is outside pymalloc,
 *     functools.lru_cache), some lists carrying in their spare slots the header a freed tuple leaves behind: no block
 *     that the target itself knows to be a buffer (each list's ob_item, each dict's keys and values, each set's table,
 *     from every object's own pointers, the interpreter's included) may be named as an object;
 *   - owners: many instances of one class whose __dict__ has a table of its own (attribute names beyond what the
 *     class's shared keys hold): with owners, the class is the first pinning row on every version;
 *   - buffers named through their owner's pointer: xml.etree Elements' extra and children array, str subclasses'
 *     characters, bytearray payloads (deque blocks are 528 bytes: never in pymalloc).
 * On every workload at most 1% of the live bytes it added are "not an object".
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
import collections
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

// Every buffer the target knows from its objects' own pointers, after the stale-header workload: each list's ob_item, each
// dict's keys and values (PyDictObject.ma_keys 32, ma_values 40), each set's table unless it is the set's own
// smalltable. The census's own containers are left out (they are gone when pymem reads).
const PRELUDE = `
import ctypes, gc, sys
def _buffers():
    P = lambda a: ctypes.c_void_p.from_address(a).value or 0
    seen, out = set(), []
    objs = gc.get_objects()
    more = [r for o in objs for r in gc.get_referents(o)
            if isinstance(r, (list, dict, set, frozenset)) and not gc.is_tracked(r)]
    skip = {id(seen), id(out)}
    for o in objs + more:
        i = id(o)
        if i in seen or i in skip: continue
        seen.add(i)
        if isinstance(o, list):
            if P(i + 24): out.append('list_items %d' % P(i + 24))
        elif isinstance(o, dict):
            out.append('dict_keys %d' % P(i + 32))
            if P(i + 40): out.append('dict_values %d' % P(i + 40))
        elif isinstance(o, (set, frozenset)):
            if not i <= P(i + 40) < i + sys.getsizeof(o): out.append('set_table %d' % P(i + 40))
    return '\\n'.join(out)
`;

// An LRU cache with churn: big-int keys that die as entries are evicted, values that are lists grown by append (spare
// slots past their length), a functools.lru_cache, and an OrderedDict whose index is outside pymalloc (its nodes are
// still named). Some lists hold two items and room for more (list() of a generator keeps its guess of 8): in their
// spare slots goes, with ctypes, the header a freed tuple leaves behind (refcount 1, PyTuple_Type, size 0; a tuple
// resized by _PyTuple_Resize is freed that way), which CPython never reads there: the planted count is the census.
const LRU = `
import random, functools, collections
random.seed(7)
cache = collections.OrderedDict()
def get(k):
    v = cache.get(k * 1000003)
    if v is not None:
        cache.move_to_end(k * 1000003)
        return v
    v = [k * 1000003]
    for j in range(k % 5):
        v.append(k * 7919 + j * 1000003)
    if k % 3 == 0:
        v.pop()
    if k % 4 == 1:
        v = list(x for x in (k * 1000003, k * 7919))
    cache[k * 1000003] = v
    if len(cache) > 8000:
        cache.popitem(last=False)
    return v
@functools.lru_cache(maxsize=4000)
def row(k):
    return [k, k * 1000003, str(k)]
for i in range(40000):
    k = random.randrange(20000)
    get(k)
    row(k % 8000)
planted = 0
for v in cache.values():
    items, allocated = ctypes.c_void_p.from_address(id(v) + 24).value, ctypes.c_ssize_t.from_address(id(v) + 32).value
    if len(v) == 2 and allocated >= 5:
        (ctypes.c_ssize_t * 3).from_address(items + 16)[:] = [1, id(tuple), 0]
        planted += 1
gc.collect()
_census = str(planted)
`;

// Instances of one class whose __dict__ has a table of its own: their attribute names (60 among them) are more than
// a class's shared keys hold, so every version gives most of them a combined table (3.8–3.10 on the first name out
// of order). The keys outweigh the instances and their dicts: charged to "dict keys" the class is not first.
const INSTANCES = `
class Name: pass
names = []
for i in range(8000):
    o = Name()
    for j in range(10):
        setattr(o, 'a%d' % ((i * 7 + j) % 60), j)
    names.append(o)
# Two modules' classes of one name: each row is named with its module.
import types
twins = []
for m in ('pkg_a.models', 'pkg_b.models'):
    ns = types.ModuleType(m).__dict__
    exec('class Record:\\n    __slots__ = ("x",)\\n', ns)
    twins += [ns['Record']() for i in range(2000)]
gc.collect()
_census = ''
`;

// Buffers named through their owner's pointer: xml.etree Elements with more than four children (their extra and
// children array), str and bytearray subclasses' data, bytearray payloads. The census gives each buffer's address,
// read with ctypes from the owner's own fields, each checked inside the target first against what Python says is
// there (an Element's first child, a str's characters, a bytearray's bytes), and the owner pymem must name (- for
// none: the kind names it).
const BUFFERS = `
import xml.etree.ElementTree as ET
class Word(str): pass
class Blob(bytearray): pass
P = lambda a: ctypes.c_void_p.from_address(a).value or 0
assert ET.Element is not ET._Element_Py  # the C Element, whose fields are read below
root = ET.Element('root')
for i in range(1500):
    e = ET.SubElement(root, 'item', id=str(i))
    for j in range(5 + i % 12):
        ET.SubElement(e, 'c')
words = [Word('w%d' % i * (1 + i % 9)) for i in range(8000)]
blobs = [bytearray(b'b%d' % i * (1 + i % 9)) for i in range(4000)] + [Blob(b'x' * (1 + i % 200)) for i in range(4000)]
_rows = []
for e in root:
    extra = P(id(e) + 40)
    children = P(extra + 24)
    assert P(children) == id(e[0]) and ctypes.c_ssize_t.from_address(extra + 8).value == len(e)
    _rows.append('Element_extra %d -' % extra)
    _rows.append('Element_children %d -' % children)
_data = 72 if sys.version_info < (3, 12) else 56
for w in words:
    p = P(id(w) + _data)
    assert ctypes.string_at(p, len(w)) == w.encode()
    _rows.append('str_data %d Word' % p)
for b in blobs:
    p = P(id(b) + 32)
    assert ctypes.string_at(p, len(b)) == bytes(b)
    _rows.append('bytearray_data %d %s' % (p, 'Blob' if type(b) is Blob else '-'))
gc.collect()
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

/** Checks the subclass workload's census: objects at their ids with their types, buffers named and owned. */
function checkSubclasses(objects: ObjectsSnapshot, census: Row[]): void {
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
}

/** No block the target knows to be a buffer is named as an object (a values pointer past an object's start is that
 * object's inline values, 3.13+). Returns the buffers found in pymalloc. */
function checkBuffers(objects: ObjectsSnapshot, lines: string): number {
  const wrong = new Map<string, number>();
  let found = 0;
  for (const line of lines.split("\n")) {
    if (!line) continue;
    const [kind, at] = line.split(" ");
    const b = objects.blockAt(Number(at));
    if (!b || b.state !== "allocated") continue;
    found++;
    if (b.object !== null && (kind !== "dict_values" || BigInt(at) <= b.object)) {
      const key = `${kind.replace("_", " ")} named ${b.kind}`;
      wrong.set(key, (wrong.get(key) ?? 0) + 1);
    }
  }
  assert.deepEqual([...wrong], []);
  return found;
}

interface Phase {
  name: string;
  code: string;
  /** Whether the census lists every buffer the target knows (the stale-header workload: the others check their own). */
  allBuffers?: boolean;
  /** Python that drops what the workload keeps (before the next one is measured). */
  drop: string;
  /** Checks what this workload alone is about; a line for the log. */
  check(objects: ObjectsSnapshot, census: string): string;
}

/** Each census row's buffer is named with its kind, and owned as the census says; most are in pymalloc. */
function checkNamed(objects: ObjectsSnapshot, census: string): string {
  const wrong: string[] = [], kinds = new Map<string, number>();
  let rows = 0;
  for (const line of census.split("\n")) {
    const [kind, at, owner] = line.split(" ");
    rows++;
    const b = objects.blockAt(Number(at));
    if (!b || b.state !== "allocated") continue;
    const k = kind.replace("_", " ");
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
    // 3.15: a bytearray keeps its payload in a bytes object (ob_bytes points to its characters): that object.
    if (k === "bytearray data" && b.kind === "bytes" && b.object !== null && BigInt(at) > b.object) continue;
    if ((b.kind !== k || (b.owner ?? "-") !== owner) && wrong.length < 10) {
      wrong.push(`${k} at 0x${Number(at).toString(16)} is ${b.kind} (owner ${b.owner})`);
    }
  }
  assert.deepEqual(wrong, []);
  const found = [...kinds.values()].reduce((x, y) => x + y, 0);
  assert.equal(kinds.size, 4, [...kinds].join());
  assert.ok(found >= rows * 0.9, `${found} of ${rows} buffers in pymalloc`);
  return [...kinds].map(([k, n]) => `${n} ${k}`).join(", ");
}

const PHASES: Phase[] = [
  {
    name: "container subclasses and naive datetimes",
    code: WORKLOAD + CENSUS,
    drop: "del keep",
    check(objects, census) {
      checkSubclasses(objects, parse(census));
      return "";
    },
  },
  {
    name: "LRU cache with churn, stale tuple headers in spare list slots",
    code: LRU,
    allBuffers: true,
    drop: "del cache, row, get",
    check(_objects, census) {
      // Enough planted headers on every version that their naming is what is tested (the buffers check fails on them
      // when the header wins over the list's pointer).
      assert.ok(Number(census) >= 500, `${census} lists with room for a planted header`);
      return `${census} stale headers planted`;
    },
  },
  {
    name: "instances with combined-table dicts, owners",
    code: INSTANCES,
    drop: "del names, twins",
    check(objects) {
      const rows = objects.pinning({ owners: true, limit: 3 });
      assert.equal(rows[0]?.name, "Name", rows.map((r) => `${r.name} ${r.pinnedBytes}`).join(", "));
      const keys = [...objects.blocks()].filter((b) => b.kind === "dict keys" && b.owner === "Name").length;
      assert.ok(keys >= 4000, `${keys} dict keys blocks charged to Name`);
      const twins = objects.byType().filter((r) => r.name.endsWith("Record"));
      assert.deepEqual(
        twins.map((r) => [r.name, r.count >= 2000]).sort(),
        [["pkg_a.models.Record", true], ["pkg_b.models.Record", true]],
      );
      return `${keys} dict keys blocks owned by Name; ${twins.map((r) => r.name).join(", ")}`;
    },
  },
  {
    name: "Element children, str and bytearray data",
    code: BUFFERS,
    drop: "del root, e, words, blobs, w, b",
    check: checkNamed,
  },
];

/**
 * One phase: `objects` before and after its workload; checks the census, the buffers, and that of the live bytes the
 * workload added at most 1% are "not an object"; returns a line for the log.
 */
function checkPhase(
  phase: Phase,
  before: { live: number; not: number },
  objects: ObjectsSnapshot,
  census: string,
): string {
  const [own, buffers] = census.split("\n@@\n");
  const note = phase.check(objects, own);
  const found = phase.allBuffers ? checkBuffers(objects, buffers) : 0;
  const after = unnamed(objects), added = after.live - before.live, not = after.not - before.not;
  assert.ok(added > 1e6, `the workload added ${added} bytes`);
  assert.ok(not <= 0.01 * added, `"not an object": ${not} of the ${added} bytes the workload added`);
  return `${phase.name}: ${phase.allBuffers ? `${found} buffers known to the target, ` : ""}"not an object" ${
    (100 * not / added).toFixed(2)
  }% of the live bytes added${note ? `; ${note}` : ""}`;
}

const censusEnd = (phase: Phase) => phase.allBuffers ? `\n_census += '\\n@@\\n' + _buffers()\n` : "\n";

test("objects: buffers named through their owners, no stale header, owners charged (census in the target)", async () => {
  const py = await python();
  py.run(PRELUDE);
  try {
    for (const phase of PHASES) {
      const before = unnamed(py.heap().objects());
      py.run(phase.code + censusEnd(phase));
      const census = py.eval("_census") as string;
      py.run("del _census");
      console.log(`  ${checkPhase(phase, before, py.heap().objects(), census)}`);
      py.run(`${phase.drop}\ngc.collect()`);
    }
  } finally {
    py.run("keep = cache = row = names = twins = root = e = words = blobs = w = b = None\ngc.collect()");
  }
});

const exe = targetInterpreter();

test(
  "objects by attach: buffers named through their owners, no stale header, owners charged (census in the target)",
  async () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-naming-"));
    const script = join(dir, "t.py"), out = join(dir, "census");
    // The target runs the workloads in turn: on go N it drops the previous one's objects and says so (clean N), on
    // run N (the test has read the heap before it) it runs the workload and writes its census. Nothing after a census
    // adds a global (a resize of the module's dict frees its keys while the test reads them).
    fs.writeFileSync(
      script,
      `
import os, signal, sys, time
def _wait(name):
    while not os.path.exists(sys.argv[1] + name): time.sleep(0.01)
def _done(n, text):
    with open(sys.argv[1] + '.tmp', 'w') as f: f.write(text)
    os.replace(sys.argv[1] + '.tmp', sys.argv[1] + '.%d' % n)
` + PRELUDE + `
open(sys.argv[1] + '.ready', 'w').close()
` +
        PHASES.map((phase, n) =>
          `_wait('.go${n}')\n${
            n ? `${PHASES[n - 1].drop}\ngc.collect()\n` : ""
          }open(sys.argv[1] + '.clean${n}', 'w').close()
_wait('.run${n}')\n${phase.code}${censusEnd(phase)}_done(${n}, _census)\ndel _census\n`
        ).join("") +
        `
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
        for (const [n, phase] of PHASES.entries()) {
          fs.writeFileSync(`${out}.go${n}`, "");
          await wait(`${out}.clean${n}`);
          const before = unnamed(py.heap().objects());
          fs.writeFileSync(`${out}.run${n}`, "");
          await wait(`${out}.${n}`);
          const census = fs.readFileSync(`${out}.${n}`, "utf8");
          console.log(`  by attach, ${checkPhase(phase, before, py.heap().objects(), census)}`);
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

test("objects: records with addresses are JSON-serialisable, addresses as hex; the records keep their bigints", async () => {
  const py = await python();
  const snap = py.heap(), objects = snap.objects();
  const rows = objects.pinning({ limit: 3 }), pool = [...snap.pools()][0], arena = [...snap.arenas][0];
  const block = objects.blocks().next().value!, type = objects.byType().find((r) => r.object)!;
  const hex = (a: bigint | null) => (a === null ? null : `0x${a.toString(16)}`);
  for (const r of [...rows, pool, arena, block, type]) {
    const json = JSON.parse(JSON.stringify(r));
    for (const [k, v] of Object.entries(r)) assert.deepEqual(json[k], typeof v === "bigint" ? hex(v) : v, k);
    // The method is not a field: spreading and keys are what they were.
    assert.ok(!Object.keys(r).includes("toJSON") && !("toJSON" in { ...r }));
  }
  assert.equal(typeof rows[0].typeAddress === "bigint" || rows[0].typeAddress === null, true);
  const explained = objects.explain({ types: 1, samples: 1 });
  const back = JSON.parse(JSON.stringify(explained));
  assert.equal(back[0].typeAddress, hex(explained[0].typeAddress));
  assert.equal(back[0].samples[0].address, hex(explained[0].samples[0].address));
});
