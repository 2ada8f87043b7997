/**
 * Every example in examples/ runs as written, in a child of the current runtime (bun examples/x.ts, deno run -A
 * examples/x.ts, node dist/examples/x.js), against the CPython under test (PYMEM_LIBPYTHON is passed through), and
 * prints what it promises. A new example without an entry here fails the first test, so none goes untested.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { ROOT, run } from "./_cli_spawn.ts";

// The matrix names the version; run alone, ask the library (loading it here is cheap and starts nothing twice).
const minor = process.env.PYMEM_TEST_VERSION ? Number(process.env.PYMEM_TEST_VERSION.split(".")[1]) : (await python()).version.minor;
const tmp = mkdtempSync(join(tmpdir(), "pymem-examples-"));

/** Each example: its arguments and what its output must contain. */
const EXAMPLES: Record<string, { args?: string[]; expect: RegExp[] }> = {
  quickstart: { expect: [/^CPython +3\.\d+/m, /^heap +\d+ arenas/m, /^pinned +\d+ arenas/m] },
  heap_map: {
    args: [tmp],
    expect: [/^HeapSnapshot\(CPython 3\.\d+\.\d+ /m, /^Fragmentation$/m, /^verdict: (badly fragmented|fragmented)$/m, /wrote .*heap-map\.svg/, /wrote .*heap-map\.html/],
  },
  hooks: { expect: [/obj allocator during: pymem:hook\.malloc/, /^obj +[1-9][\d,]* /m, /^obj requests by size:$/m] },
  choose_allocator: { args: ["malloc"], expect: [/^asked for malloc; CPython runs malloc$/m, /^sys\.getallocatedblocks\(\) = 0$/m, /^no heap map: .*its object allocator is malloc/m] },
  global_alloc_buffer: { expect: [/aligned: true\); live blocks: 1/, /double free refused: INVALID_STATE/, /hello from PyMem_Malloc/, /live blocks at the end: 0$/m] },
  subinterpreters: { expect: minor >= 12 ? [/^main: \d+ arenas; isolated: \d+ arenas/m, /^closed #\d+/m] : [/^SubInterpreter #\d+ legacy/m] },
};

const files = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();

test("every example in examples/ is covered here", () => {
  assert.deepEqual(files, Object.keys(EXAMPLES).sort());
});

for (const name of files) {
  const spec = EXAMPLES[name];
  if (!spec) continue;
  test(`examples/${name}.ts runs as written`, () => {
    const r = run(`examples/${name}.ts`, spec.args ?? [], { cwd: tmp });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-4000));
    for (const e of spec.expect) assert.match(r.stdout, e);
  });
}

test("examples/heap_map.ts wrote a heat map and a JSON snapshot that agree", () => {
  const doc = JSON.parse(readFileSync(join(tmp, "heap-map.json"), "utf8"));
  const svg = readFileSync(join(tmp, "heap-map.svg"), "utf8");
  assert.equal(svg.match(/<rect class="p"/g)?.length ?? 0, doc.totals.arenas > 400 ? 0 : doc.totals.pools);
});
