/**
 * Test tooling only: the fuzz suite's child process (spawned by tests/fuzz_test.ts). Throws random and boundary
 * values at every public entry point of the safe API with fast-check, seeded and bounded in time, and prints one
 * line `RESULT <json>`: per property how many runs it made, and every failure (a thrown error that is not a
 * RangeError, TypeError or PymemError, with its counterexample). A crash or a hang shows in the parent as a signal
 * or a missing result.
 *
 *   argv: SEED BUDGET_MS
 *
 * The calls that are unsafe by nature (README "Safety": free/realloc of a foreign pointer, reading through a view
 * of memory you don't own) get only pointers they own; everything else gets anything.
 * @module
 */
import process from "node:process";
import fc from "fast-check";
import {
  attachPython,
  GlobalAllocator,
  heapToJSON,
  heatMapSVG,
  layoutFor,
  nameAddress,
  openPython,
  parseHeapJSON,
  parseVersion,
  PoolHeader,
  PymemError,
  PythonError,
  renderHeapText,
  renderHTML,
  resolveInterpreterConfig,
} from "../lib/mod.ts";
import { parseBenchArgs } from "../lib/compare/options.ts";
import { askedScrapeSeconds, MAX_SCRAPE_SECONDS, MAX_TIMER_MS } from "../lib/exporter/mod.ts";
import { MAX_VIEW } from "../lib/core/native.ts";

const seed = Number(process.argv[2] ?? 13);
const budgetMs = Number(process.argv[3] ?? 3000);
const py = await openPython();

// ---- values ---------------------------------------------------------------------------------------------------------

const boundaryNumbers = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  15,
  16,
  17,
  512,
  513,
  4096,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 49 + 1,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 63,
  2 ** 64,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  MAX_VIEW,
  MAX_VIEW + 1,
  -(2 ** 53),
);
const boundaryBigints = fc.constantFrom(
  0n,
  1n,
  -1n,
  8n,
  4096n,
  2n ** 32n,
  2n ** 47n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 64n,
  -(2n ** 63n),
  2n ** 100n,
);
/** Anything at all, weighted towards the values that break checks. */
const anything: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: boundaryNumbers },
  { weight: 3, arbitrary: boundaryBigints },
  { weight: 2, arbitrary: fc.bigInt() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(null, undefined, true, false, [], {}, Symbol("x"), () => 1, new Uint8Array(4)),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);
/** A size: mostly small and valid, often on a boundary, sometimes anything. */
const size = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 1 << 16 }) }, { weight: 3, arbitrary: boundaryNumbers }, {
  weight: 1,
  arbitrary: anything,
});
/** An address that is not ours: for the calls that must check it before reading. */
const address = fc.oneof(boundaryBigints, fc.bigInt({ min: -(2n ** 64n), max: 2n ** 65n }), anything);
const domain = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("raw", "mem", "obj") }, {
  weight: 1,
  arbitrary: anything,
});
const layout = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ size, align: fc.oneof(fc.constantFrom(1, 2, 8, 16, 32, 4096, 2 ** 20), boundaryNumbers) }),
  },
  { weight: 1, arbitrary: fc.record({ size: anything, align: anything }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: anything },
);
/** An options object: known keys with any value, unknown keys, or no object at all. */
function options(keys: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.record(keys, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), anything, { maxKeys: 3 }) },
    { weight: 1, arbitrary: anything },
  );
}
// Names that cannot run anything: executable and library strings are never real commands or libraries.
const notAPath = fc.oneof(
  fc.constantFrom("", "/nonexistent/pymem-fuzz", "libnope-pymem-fuzz.so", "a\0b"),
  anything.filter((v) => typeof v !== "string"),
);
const pid = fc.oneof(fc.constantFrom(process.pid, 0, -1, 1.5, 4_194_304, 4_194_305, 2 ** 31, NaN, 2 ** 53), anything);

// ---- the verdict on one call ------------------------------------------------------------------------------------------

const isPymem = (e: unknown) => e instanceof RangeError || e instanceof TypeError || e instanceof PymemError;
/** Run `fn`; an allowed error is fine, anything else fails the property. Returns the value or undefined. */
function call<T>(fn: () => T, alsoAllowed?: (e: unknown) => boolean): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (isPymem(e) || alsoAllowed?.(e)) return undefined;
    throw e;
  }
}
async function callAsync<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (isPymem(e)) return undefined;
    throw e;
  }
}
const pythonError = (e: unknown) => e instanceof PythonError;
/** A size whose copy would spend the budget (a multi-GiB realloc). Any type: a Symbol must not throw here. */
const huge = (v: unknown) => typeof v === "number" && v > 2 ** 24;
const asAny = (v: unknown) => v as never;

// ---- the properties ---------------------------------------------------------------------------------------------------

interface Prop {
  name: string;
  property: fc.IProperty<never> | fc.IAsyncProperty<never>;
}
const props: Prop[] = [];
// PYMEM_FUZZ_TRACE=1: print each call's arguments first (to stderr, synchronously), to find the one that crashed.
const trace = process.env.PYMEM_FUZZ_TRACE === "1";
function traced<A extends unknown[], R>(name: string, body: (...args: A) => R): (...args: A) => R {
  if (!trace) return body;
  return (...args: A) => {
    process.stderr.write(`${name}: ${fc.stringify(args)}\n`);
    return body(...args);
  };
}
function prop<T extends [unknown, ...unknown[]]>(
  name: string,
  arbs: { [K in keyof T]: fc.Arbitrary<T[K]> },
  body: (...args: T) => void,
): void {
  props.push({ name, property: fc.property(...arbs, traced(name, body) as never) as never });
}
function asyncProp<T extends [unknown, ...unknown[]]>(
  name: string,
  arbs: { [K in keyof T]: fc.Arbitrary<T[K]> },
  body: (...args: T) => Promise<void>,
): void {
  props.push({ name, property: fc.asyncProperty(...arbs, traced(name, body) as never) as never });
}

prop("domains: malloc/calloc/realloc/free of own blocks", [domain, size, size, size], (d, n, count, n2) => {
  if (typeof d !== "string" || !["raw", "mem", "obj"].includes(d)) return;
  const dom = (py as unknown as Record<
    string,
    {
      malloc(n: unknown): bigint;
      calloc(a: unknown, b: unknown): bigint;
      realloc(p: bigint, n: unknown): bigint;
      free(p: unknown): void;
    }
  >)[d];
  const p = call(() => dom.malloc(n));
  if (p !== undefined && !(huge(n) && huge(n2))) {
    const q = call(() => dom.realloc(p, n2));
    dom.free(q ?? p);
  } else if (p !== undefined) dom.free(p);
  const c = call(() => dom.calloc(count, n));
  if (c !== undefined) dom.free(c);
  if (typeof n !== "bigint") call(() => dom.free(asAny(n))); // anything but a pointer (free of one is unsafe by nature)
});

prop("py.view: addresses and lengths (never read)", [address, size], (a, n) => {
  call(() => py.view(asAny(a), asAny(n)));
});

prop("buffers: py.X.buffer(n), allocBuffer in any domain", [domain, size], (d, n) => {
  const domain = typeof d === "string" && ["raw", "mem", "obj"].includes(d) ? py[d as "raw"] : undefined;
  // An unknown domain name reaches the allocator's own check through a GlobalAllocator.
  const b = call(() => (domain
    ? domain.buffer(asAny(n))
    : new GlobalAllocator(py, asAny(d)).allocBuffer({ size: asAny(n), align: 1 }))
  );
  if (b) {
    if (b.size > 0) {
      b.bytes[b.size - 1] = 1;
    }
    b.free();
    call(() =>
      b.free()
    );
    call(() => b.bytes);
  }
});

prop("GlobalAllocator: alloc/dealloc/realloc/allocBuffer with any layout, foreign pointers refused", [
  domain,
  layout,
  layout,
  address,
  size,
], (d, l, l2, a, n) => {
  const g = call(() => new GlobalAllocator(py, asAny(d)));
  if (!g) return;
  const p = call(() => g.alloc(asAny(l)));
  call(() => g.dealloc(asAny(a), asAny(l2))); // not ours (or the dangling address of a size-0 layout)
  // realloc copies the smaller size: two multi-GiB blocks would spend the budget copying.
  if (p !== undefined && !(huge((l as { size: unknown }).size) && huge(n))) {
    const q = call(() => g.realloc(p, asAny(l), asAny(n)));
    if (q !== undefined) g.dealloc(q, { size: n as number, align: (l as { align: number }).align });
    else g.dealloc(p, asAny(l));
  }
  const z = call(() => g.allocZeroed(asAny(l)));
  if (z !== undefined) g.dealloc(z, asAny(l));
  const b = call(() => g.allocBuffer(asAny(l)));
  b?.free();
});

prop(
  "PyMemAllocator: allocator(interp), virtualAlloc/virtualFree, counters",
  [anything, size, address, size],
  (interp, n, a, n2) => {
    const alloc = call(() => py.allocator(asAny(interp)));
    const a0 = alloc ?? py.allocator();
    const v = call(() => a0.virtualAlloc(asAny(n)));
    call(() => a0.virtualFree(asAny(a), asAny(n2)));
    if (v !== undefined) a0.virtualFree(v, n as number);
    call(() => a0.getAllocatedBlocks());
    call(() => a0.getInterpreterAllocatedBlocks());
    call(() => a0.isObmallocStateOnHeap());
    call(() => a0.initObmalloc());
    call(() => a0.finalizeAllocatedBlocks());
  },
);

prop("PoolHeader.of and heap(interp)", [address, anything], (a, interp) => {
  call(() => PoolHeader.of(py, asAny(a)));
  call(() => py.heap(asAny(interp)));
});

prop("names and statistics: nameAddress, debugMallocStats, symbols, interpreters, traceAllocations", [
  address,
  anything,
], (a, fn) => {
  call(() => nameAddress(py, asAny(a)));
  call(() => py.debugMallocStats());
  call(() => py.symbols.report());
  call(() => py.interpreters());
  call(() => py.traceAllocations(asAny(fn)), pythonError);
  call(() => py.withGIL(asAny(fn)), pythonError);
});

const heapDoc = heapToJSON(py.heap());
prop("report renderers: any options", [
  anything,
  fc.record({ color: anything, worstArenas: anything, maxArenas: anything, title: anything, width: anything }, {
    requiredKeys: [],
  }),
], (o1, o2) => {
  for (const o of [o1, o2]) {
    call(() => heapToJSON(py.heap(), asAny(o)));
    call(() => renderHeapText(heapDoc, asAny(o)));
    call(() => heatMapSVG(heapDoc, asAny(o)));
    call(() => renderHTML(heapDoc, asAny(o)));
  }
});

prop(
  "allocator control: get/set with any domain and function pointers",
  [domain, anything, address, address],
  (d, fns, f1, f2) => {
    call(() => py.getAllocator(asAny(d)));
    call(() => py.setAllocator(asAny(d), asAny(fns)));
    const current = call(() => py.getAllocator(asAny(d)));
    if (current) call(() => py.setAllocator(asAny(d), asAny({ ...current, malloc: f1, free: f2 })));
    const arena = py.getArenaAllocator();
    call(() => py.setArenaAllocator(asAny({ ...arena, alloc: f1 })));
    call(() => py.setArenaAllocator(asAny(fns)));
  },
);

prop("sub-interpreter configs", [fc.oneof(
  fc.constantFrom("isolated", "legacy", undefined),
  options({
    useMainObmalloc: anything,
    allowFork: anything,
    allowExec: anything,
    allowThreads: anything,
    allowDaemonThreads: anything,
    checkMultiInterpExtensions: anything,
    gil: fc.oneof(fc.constantFrom("own", "shared", "default"), anything),
  }),
)], (config) => {
  call(() => resolveInterpreterConfig(asAny(config)));
  const sub = call(() => py.newInterpreter(asAny(config)));
  if (sub) {
    call(() => sub.eval("1 + 1"));
    const a = sub.allocator();
    const p = call(() => a.alloc({ size: 24, align: 8 }));
    if (p !== undefined) a.dealloc(p, { size: 24, align: 8 });
    sub.close();
    call(() => a.alloc({ size: 8, align: 8 }));
  }
});

prop("run/eval: any source text", [
  fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom("10**5000", "b'x'*3", "'\\ud800'", "1/0", "None", "2**64", "-2**63", "float('nan')", "\0"),
  ),
], (code) => {
  call(() => py.eval(code), pythonError);
  call(() => py.run(code), pythonError);
});

prop("pure parsers: parseVersion, layoutFor, parseHeapJSON, parseBenchArgs", [
  anything,
  anything,
  fc.oneof(anything, fc.json().map((j) => JSON.parse(j))),
  fc.array(
    fc.oneof(
      fc.constantFrom(
        "--quick",
        "--compare",
        "--json",
        "--python",
        "--runtime",
        "--allocators",
        "--workloads",
        "--repeat",
        "--list",
        "-1",
        "0",
        "x",
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 5 },
  ),
], (v, minor, doc, argv) => {
  call(() => parseVersion(asAny(v)));
  call(() => layoutFor(asAny(minor), asAny(v)));
  call(() => parseHeapJSON(doc));
  call(() => parseBenchArgs(argv));
});

asyncProp("openPython(options): never a second library, never a crash", [options({
  library: notAPath,
  executable: notAPath,
  allocator: fc.oneof(
    fc.constantFrom("malloc", "default", "nope", "mimalloc"),
    options({ library: notAPath, malloc: anything }),
    anything,
  ),
})], async (o) => {
  const second = await callAsync(() => openPython(asAny(o)));
  if (second) {
    second.eval("1");
    second.close(); // not the owner: the interpreter stays up
  }
});

asyncProp("attachPython(pid, options)", [
  pid,
  options({ readMode: fc.oneof(fc.constantFrom("process_vm_readv", "/proc/PID/mem"), anything), retries: anything }),
], async (p, o) => {
  const remote = await callAsync(() => attachPython(asAny(p), asAny(o)));
  if (remote) {
    call(() => remote.heap(asAny(p)));
    remote.close();
  }
});

// ---- issue 22: odd type names, option getters, odd scrape-timeout headers, user code raising in explain() ----------

/** Names a class can have: any Unicode but NUL and lone surrogates (type() refuses those), often with controls. */
const className = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(..."\t\n\r\x1b\x7f\x85\u200f\u202e\u2028é€😀 a[]".split("")), maxLength: 30 }),
  fc.constantFrom(
    "",
    "x".repeat(199),
    "x".repeat(200),
    "x".repeat(201),
    "é".repeat(100),
    "a" + "é".repeat(150),
    "ab" + "😀".repeat(60),
  ),
).filter((n) => !n.includes("\0") && !/[\uD800-\uDFFF]/u.test(n));
const utf8 = (s: string) => new TextEncoder().encode(s).length;
let classSeq = 0;
prop("odd type names: a class of any name keeps its instances, named as it is (or cut at 200 bytes, ending in …)", [
  fc.array(className, { minLength: 1, maxLength: 4 }),
], (names) => {
  const ns = `_pymem_fuzz_names_${classSeq++}`;
  py.run(`${ns} = [(c, [c() for _ in range(3)]) for c in (type(n, (), {}) for n in ${JSON.stringify(names)})]`);
  try {
    const ids = (py.eval(`' '.join(str(id(c)) for c, _ in ${ns})`) as string).split(" ").map(BigInt);
    const rows = new Map(py.heap().objects({}).pinning({ objectsOnly: true }).map((r) => [r.typeAddress, r]));
    names.forEach((name, i) => {
      const row = rows.get(ids[i]);
      if (!row || row.count !== 3) throw new Error(`class ${JSON.stringify(name)}: ${row?.count ?? 0} instances of 3`);
      const cut = utf8(name) > 200;
      if (!cut && row.name !== name) throw new Error(`class ${JSON.stringify(name)} named ${JSON.stringify(row.name)}`);
      if (
        cut && !(row.name.endsWith("…") && name.startsWith(row.name.slice(0, -1)) && utf8(row.name.slice(0, -1)) <= 200)
      ) {
        throw new Error(`class ${JSON.stringify(name)} cut as ${JSON.stringify(row.name)}`);
      }
    });
  } finally {
    py.run(`del ${ns}`);
  }
});

/** An error thrown by a caller's own getter: passing it on is right. */
class GetterError extends Error {}
/** An options object whose properties are getters: each read may give another value, or throw. */
const getterOptions = (keys: string[]) =>
  fc.array(fc.tuple(fc.constantFrom(...keys), fc.array(anything, { minLength: 1, maxLength: 3 }), fc.boolean()), {
    maxLength: 4,
  })
    .map((specs) => {
      const o: Record<string, unknown> = {};
      for (const [key, values, throws] of specs) {
        let n = 0;
        Object.defineProperty(o, key, {
          enumerable: true,
          configurable: true,
          get() {
            if (throws && n > 0) throw new GetterError(`getter of ${key}`);
            return values[n++ % values.length];
          },
        });
      }
      return o;
    });
const getterError = (e: unknown) => e instanceof GetterError;
const objectsOnce = py.heap().objects({});
prop("option getters: two-faced or throwing getters in the options of objects(), pinning(), explain(), blockAt()", [
  getterOptions(["allocator", "retries"]),
  getterOptions(["limit", "objectsOnly", "owners"]),
  getterOptions(["types", "samples", "depth", "timeMs", "reprChars"]),
], (co, po, eo) => {
  call(() => py.heap().objects(asAny(co)), getterError);
  call(() => objectsOnce.pinning(asAny(po)), getterError);
  call(() => py.heap().pinning(asAny(po)), getterError);
  // explain() runs Python: bounded here by few types and samples whatever the getters say.
  const bounded = { ...eo } as Record<string, unknown>;
  if (!(typeof bounded.types === "number" && bounded.types <= 2)) bounded.types = 1;
  if (!(typeof bounded.samples === "number" && bounded.samples <= 2)) bounded.samples = 1;
  bounded.timeMs = 50;
  call(() =>
    objectsOnce.explain(asAny(
      eo.types === undefined ? bounded : {
        ...bounded,
        get types() {
          return (eo as { types: unknown }).types;
        },
      },
    )), getterError);
});

const headerValue = fc.oneof(
  fc.constantFrom(
    "3000000",
    "1e308",
    "NaN",
    "-1",
    "Infinity",
    "-Infinity",
    "0",
    "-0",
    "1e-300",
    "0x10",
    "10s",
    " 10 ",
    "",
    "2147484",
    "1_0",
  ),
  fc.double().map(String),
  fc.integer().map(String),
  fc.string({ maxLength: 12 }),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.constant(undefined),
);
prop("scrape-timeout header: any value gives a budget the timer can keep (0.1–3600 s) or none", [headerValue], (h) => {
  const s = askedScrapeSeconds(asAny(h));
  if (!(s === Infinity || (s >= 0.1 && s <= MAX_SCRAPE_SECONDS))) {
    throw new Error(`header ${JSON.stringify(h)}: budget ${s}`);
  }
  if (s !== Infinity && s * 1000 > MAX_TIMER_MS) {
    throw new Error(`header ${JSON.stringify(h)}: ${s} s overflows the timer`);
  }
});

const raised = fc.constantFrom(
  "SystemExit(3)",
  "KeyboardInterrupt",
  "GeneratorExit",
  "RecursionError",
  "MemoryError",
  "ValueError('x')",
  "BaseException",
  "StopIteration",
);
let raiserSeq = 0;
prop("explain(): user code raising any exception (a __repr__, a __class__, a module __dict__) never throws", [
  raised,
  raised,
  raised,
], (r1, r2, r3) => {
  const ns = `_pymem_fuzz_raise_${raiserSeq++}`;
  py.run(
    `import sys
class _R${ns}:
    def __repr__(self): raise ${r1}
    @property
    def __class__(self): raise ${r2}
` +
      `class _M${ns}:
    @property
    def __dict__(self): raise ${r3}
sys.modules['${ns}'] = _M${ns}()
${ns} = [_R${ns}() for _ in range(20000)]`,
  );
  try {
    const rows = py.heap().objects({}).explain({ types: 1, samples: 2, timeMs: 200 });
    for (const s of rows.flatMap((r) => r.samples)) {
      if (s.repr !== null && typeof s.repr !== "string") throw new Error(`repr ${s.repr}`);
    }
  } finally {
    py.run(`del sys.modules['${ns}'], ${ns}`);
  }
});

// PYMEM_FUZZ_CANARY=1: a property that throws a plain Error, so the parent can see that failures are reported.
if (process.env.PYMEM_FUZZ_CANARY === "1") {
  prop("canary (must fail)", [fc.nat()], (n) => {
    if (n > 3) throw new Error(`canary ${n}`);
  });
}

// ---- run each property for its share of the budget --------------------------------------------------------------------

const failures: { property: string; counterexample: string; error: string }[] = [];
const runs: Record<string, number> = {};
const share = Math.max(50, Math.floor(budgetMs / props.length));
for (const { name, property } of props) {
  const r = await fc.check(property as never, {
    seed,
    numRuns: 1_000_000,
    interruptAfterTimeLimit: share,
    markInterruptAsFailure: false,
  });
  runs[name] = r.numRuns;
  if (r.failed) {
    const err = r.errorInstance as Error | undefined;
    failures.push({
      property: name,
      counterexample: fc.stringify(r.counterexample),
      error: `${err?.name ?? "?"}: ${err?.message ?? r.errorInstance}\n${
        err?.stack?.split("\n").slice(1, 6).join("\n") ?? ""
      }`,
    });
  }
}
py.close();
console.log("RESULT " + JSON.stringify({ seed, budgetMs, runs, failures }));
