/**
 * Every example in examples/ runs as written, in a child of the current runtime (bun examples/x.ts, deno run -A
 * examples/x.ts, node dist/examples/x.js), against the CPython under test (PYMEM_LIBPYTHON is passed through), and
 * prints what it promises. A new example without an entry here fails the first test, so none goes untested. So does
 * every TypeScript sample of the README (each ```ts fence), as a user would paste it. An app-axis file: once per
 * runtime, on one CPython.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { ROOT, run, runtime } from "./_cli_spawn.ts";
import { launchPrefix, runtimeCommand } from "./_launch.ts";

// The matrix names the version; run alone, ask the library (loading it here is cheap and starts nothing twice).
const minor = process.env.PYMEM_TEST_VERSION
  ? Number(process.env.PYMEM_TEST_VERSION.split(".")[1])
  : (await python()).version.minor;
const tmp = mkdtempSync(join(tmpdir(), "pymem-examples-"));

/** Each example: its arguments and what its output must contain. */
const EXAMPLES: Record<string, { args?: string[]; expect: RegExp[] }> = {
  // Counts over a thousand are written with separators (52,468 blocks).
  quickstart: {
    expect: [/^CPython +3\.\d+/m, /^heap +[\d,]+ arenas .*, \d{1,3}(,\d{3})+ blocks = /m, /^pinned +[\d,]+ arenas/m],
  },
  heap_map: {
    args: [tmp],
    expect: [
      /^HeapSnapshot\(CPython 3\.\d+\.\d+ /m,
      /^RSS +[\d.]+ [KMG]iB$/m,
      /^Fragmentation$/m,
      /^verdict: (badly fragmented|fragmented)$/m,
      /wrote .*heap-map\.svg/,
      /wrote .*heap-map\.html/,
    ],
  },
  hooks: { expect: [/obj allocator during: pymem:hook\.malloc/, /^obj +[1-9][\d,]* /m, /^obj requests by size:$/m] },
  choose_allocator: {
    args: ["malloc"],
    expect: [
      /^asked for malloc; CPython runs malloc$/m,
      /^sys\.getallocatedblocks\(\) = 0$/m,
      /^no heap map: .*its object allocator is malloc/m,
    ],
  },
  global_alloc_buffer: {
    expect: [
      /aligned: true\); live blocks: 1/,
      /double free refused: INVALID_STATE/,
      /hello from PyMem_Malloc/,
      /live blocks at the end: 0$/m,
    ],
  },
  subinterpreters: {
    expect: minor >= 12
      ? [
        /^main: \d+ arenas; isolated: \d+ arenas/m,
        /^closed #\d+: [\d,]+ blocks were still allocated .*not a leak of this program$/m,
      ]
      : [/^SubInterpreter #\d+ legacy/m],
  },
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
  assert.doesNotMatch(svg, /\b1 pools\b/);
  if (doc.sizeClasses.some((r: { pools: number }) => r.pools === 1)) assert.match(svg, /\b1 pool</);
});

// ---- the README's samples -------------------------------------------------------------------------------------
// Each ```ts fence of the README, as a user pastes it into a file: "pymem" resolves to this checkout (lib/mod.ts;
// the tsc build under Node, where the TypeScript is first compiled as the user's own tsc or editor would).
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const samples = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
/** What each sample must print, in README order (a new sample without an entry fails). */
const SAMPLE_EXPECT: RegExp[][] = [
  [
    /arenas: \d+/,
    /utilization: /,
    /index: \d+,\n\s+size: \d+,/,
    /^PoolHeader @0x[0-9a-f]+: class \d+ \(\d+ B\), \d+\/\d+ blocks in use/m,
  ],
  // 5,000 payloads of 4 KB: the most held of all, every byte in malloc.
  [/^bytearray data: 0 B pinned in pymalloc, 2\d{7} B in malloc chunks$/m],
];

test("every TypeScript sample of the README is checked here", () => {
  assert.ok(samples.length >= 1, "no ```ts fence found in README.md");
  assert.equal(samples.length, SAMPLE_EXPECT.length);
});

samples.forEach((source, i) => {
  test(`README sample ${i + 1} runs as written`, async () => {
    const lib = runtime === "node" ? join(ROOT, "dist", "lib", "mod.js") : join(ROOT, "lib", "mod.ts");
    let code = source.replace(/from "pymem"/g, `from ${JSON.stringify(lib)}`);
    let file = join(tmp, `readme-${i + 1}.ts`);
    if (runtime === "node") {
      // Node 20 runs JavaScript: the sample's types are stripped and nothing else changed (as Node's own type
      // stripping would), so syntax Node 20 lacks (`using`) fails here as it would for a user.
      const ts = (await import("typescript")).default;
      code =
        ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ESNext } })
          .outputText;
      file = file.replace(/\.ts$/, ".mjs");
    }
    writeFileSync(file, code);
    const [cmd, args] = runtimeCommand(runtime === "deno" ? ["run", "-A", "--no-check", "--no-lock", file] : [file]);
    const r = spawnSync(cmd, args, {
      cwd: tmp,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-4000));
    for (const e of SAMPLE_EXPECT[i] ?? []) assert.match(r.stdout, e);
  });
});

test("deno task quickstart runs examples/quickstart.ts", () => {
  const [cmd, args] = runtimeCommand(["task", "quickstart"]);
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-4000));
  for (const e of EXAMPLES.quickstart.expect) assert.match(r.stdout, e);
}, {
  skip: runtime !== "deno"
    ? "a Deno task"
    : launchPrefix.length > 0 && "the task starts Deno without the loader this CPython needs",
});
