/**
 * The Python workloads of `pymem bench`: plain Python source shipped with pymem, one line of documentation each.
 *
 * Every workload defines `bench_run(scale, threads)`, which does the work and returns an integer checksum. The
 * checksum depends only on `scale` and `threads`, never on the allocator, so the harness checks that every
 * allocator computed the same thing (a broken allocator cannot win by doing less). A workload may leave data it
 * means to keep (an application's long-lived state, the survivors that fragment the heap) in the global `kept`;
 * the harness measures "RSS after free" with `kept` alive, after `gc.collect()`, and clears it before the next run.
 *
 * Sizes are chosen so that `scale = 1` takes roughly 0.5–1 s per run under pymalloc on a 2020s x86-64 core;
 * `--quick` uses a smaller scale. Nothing here reads a clock or the allocator: measuring is the harness's job.
 * @module
 */

/** One benchmark workload. */
export interface Workload {
  /** Short name used on the command line and in the results. */
  name: string;
  /** What it exercises, in one line. */
  doc: string;
  /** Python source defining `bench_run(scale, threads) -> int` (and possibly the global `kept`). */
  source: string;
  /** Part of the default set (`known` is a calibration workload for the tests, run only when named). */
  default: boolean;
}

// Source is kept flush-left (Python is indentation-sensitive); `kept` is declared by the harness.
const churn = `
def bench_run(scale, threads):
    # Batches of 5000 short-lived tuples, floats and ints (beyond the freelists), dropped as soon as they are summed.
    acc = 0
    for r in range(int(480 * scale)):
        batch = [(i * 0.5, i + r * 1000003, (i, -i)) for i in range(5000)]
        acc += sum(t[1] for t in batch) + int(sum(t[0] for t in batch))
        del batch
    return acc & 0xFFFFFFFF
`;

const containers = `
def bench_run(scale, threads):
    # Lists, dicts and sets grown element by element (repeated reallocs of their tables), then shrunk, then dropped.
    n = int(200000 * scale)
    acc = 0
    for rep in range(4):
        l, d, s = [], {}, set()
        for i in range(n):
            l.append(i * 3)
            d[i] = [i]
            s.add(i * 7)
        acc += len(l) + len(d) + len(s)
        del l[n // 10:]
        for i in range(0, n, 2):
            del d[i]
        s.difference_update(range(0, 7 * n, 14))
        rows = [{"id": i, "v": i * 1.5} for i in range(n // 4)]
        acc += len(l) + len(d) + len(s) + len(rows)
        del l, d, s, rows
    return acc
`;

const strings = `
def bench_run(scale, threads):
    # Formatting, join, slicing, split, replace and in-place += building of str objects of many sizes.
    n = int(900000 * scale)
    parts = [f"item-{i}:{i * i:x}" for i in range(n)]
    s = ",".join(parts)
    acc = len(s)
    for j in range(0, len(s) - 64, 61):
        acc += len(s[j:j + 48])
    words = s.split(",")
    acc += sum(len(w.upper()) for w in words[::3])
    acc += len("".join([w.replace("item", "it") + "!" for w in words[::2]]))
    t = ""
    for w in words[: n // 3]:
        t += w
    acc += len(t)
    return acc
`;

const fragment = `
def bench_run(scale, threads):
    # Allocate many mixed objects, keep 1 in 64 as long-lived survivors in \`kept\`, drop the rest: the "RSS never goes down" pattern.
    global kept
    n = int(1500000 * scale)
    batch = []
    for i in range(n):
        m = i % 4
        if m == 0:
            batch.append((i, str(i)))
        elif m == 1:
            batch.append({"i": i})
        elif m == 2:
            batch.append([i, i + 1, i + 2])
        else:
            batch.append("x" * (i % 200))
    kept = batch[::64]
    del batch
    return len(kept)
`;

const jsonWork = `
import json
def bench_run(scale, threads):
    # Encode a large nested document to JSON, decode it, and re-encode it indented.
    n = int(37000 * scale)
    doc = {"users": [{"id": i, "name": f"user{i}", "email": f"u{i}@example.com", "score": i * 0.37,
                      "tags": ["a", "bb", str(i % 7)], "active": i % 2 == 0,
                      "profile": {"age": i % 90, "city": "c" + str(i % 100)}} for i in range(n)]}
    s = json.dumps(doc)
    back = json.loads(s)
    s2 = json.dumps(back, indent=1)
    return len(s) + len(s2) + len(back["users"])
`;

const threadsWork = `
import threading
def bench_run(scale, threads):
    # \`threads\` Python threads each building and dropping dicts of str/list values; the same total work for any thread count.
    chunks = int(288 * scale)
    size = 6000
    results = [0] * threads
    def work(k):
        acc = 0
        for c in range(k, chunks, threads):
            d = {i: (str(i + c), [i, k]) for i in range(size)}
            acc += len(d) + sum(len(v[0]) for v in d.values())
            del d
        results[k] = acc
    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(results)
`;

const app = `
import json, re
from collections import OrderedDict

class Order:
    def __init__(self, user, items, total, params):
        self.user = user
        self.items = items
        self.total = total
        self.params = params

_pat = re.compile(r"(\\w+)=(\\d+)")

def bench_run(scale, threads):
    # Request handling: JSON bodies parsed, regex query params, objects built, an LRU cache of recent orders kept in \`kept\`, HTML rows rendered.
    global kept
    cache = OrderedDict()
    n = int(42000 * scale)
    acc = 0
    for i in range(n):
        body = json.dumps({"user": i % 997, "q": f"a={i}&b={i * 3}",
                           "items": [{"sku": f"S{j}", "qty": j % 5 + 1, "price": 1.25 * j} for j in range(i % 8 + 1)]})
        req = json.loads(body)
        params = dict(_pat.findall(req["q"]))
        total = sum(it["qty"] * it["price"] for it in req["items"])
        rec = Order(req["user"], req["items"], total, params)
        hist = cache.get(rec.user)
        if hist is None:
            hist = cache[rec.user] = []
        hist.append(rec)
        cache.move_to_end(rec.user)
        if len(hist) > 20:
            del hist[:10]
        if len(cache) > 500:
            cache.popitem(last=False)
        page = "".join(f"<tr><td>{o.user}</td><td>{o.total:.2f}</td><td>{len(o.items)}</td></tr>" for o in hist[-5:])
        acc += len(page) + len(params)
    kept = cache
    return acc
`;

const known = `
def bench_run(scale, threads):
    # Calibration: hold exactly round(64 * scale) MiB in 1 MiB bytes objects whose pages are all written, then free them.
    blocks = [b"\\x01" * (1 << 20) for _ in range(round(64 * scale))]
    n = sum(len(b) for b in blocks)
    del blocks
    return n
`;

/** Every workload, in the order the tables show them. */
export const WORKLOADS: readonly Workload[] = [
  {
    name: "churn",
    doc: "small-object churn: batches of short-lived ints, floats and tuples",
    source: churn,
    default: true,
  },
  {
    name: "containers",
    doc: "lists, dicts and sets grown item by item, shrunk, dropped",
    source: containers,
    default: true,
  },
  {
    name: "strings",
    doc: "string building (format, join, +=) and slicing, split, replace",
    source: strings,
    default: true,
  },
  {
    name: "fragment",
    doc: "mixed objects, 1 in 64 kept long-lived: the 'RSS never goes down' pattern",
    source: fragment,
    default: true,
  },
  {
    name: "json",
    doc: "JSON encode, decode and re-encode of a large nested document",
    source: jsonWork,
    default: true,
  },
  {
    name: "threads",
    doc: "N Python threads building and dropping dicts (same total work for any N)",
    source: threadsWork,
    default: true,
  },
  {
    name: "app",
    doc: "app-like mix: JSON requests, regex, objects, an LRU cache kept alive, rendered rows",
    source: app,
    default: true,
  },
  {
    name: "known",
    doc: "calibration: holds exactly 64×scale MiB of written bytes, then frees it (harness self-check)",
    source: known,
    default: false,
  },
];

/** The workload named `name`, or undefined. */
export function workload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
