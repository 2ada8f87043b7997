// The fuzz suite (issues 13, 22): fast-check throws random and boundary values at every public entry point of the safe
// API in a child process (tests/_fuzz_child.ts; since issue 22 also classes of any name, options whose getters change
// or throw, any scrape-timeout header, user code raising inside explain()), seeded and bounded in time; any signal, hang or error that is not a
// RangeError, TypeError or PymemError fails. The CLI's arguments are fuzzed by spawning the CLI itself, which costs
// a process per case: that part (and the check that the harness reports failures at all) runs once per runtime.
//
// PYMEM_FUZZ_MS sets the child's budget (default 2500 ms), PYMEM_FUZZ_CLI_RUNS the CLI cases (default 14), PYMEM_FUZZ_SEED its seed (default: fixed per runtime and
// CPython, so CI is reproducible and each combination explores other inputs). A failure names the seed to rerun.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { assert, python, test } from "./_harness.ts";
import { cli, runtime, skipUnlessDefaultPython } from "./_cli_spawn.ts";
import { runtimeCommand } from "./_launch.ts";

const budgetMs = Number(process.env.PYMEM_FUZZ_MS ?? 2500);

function defaultSeed(minor: number, micro: number): number {
  return Number(
    process.env.PYMEM_FUZZ_SEED ?? 1300 + minor * 100 + micro + ({ bun: 1, deno: 2, node: 3 }[runtime]) * 10_000,
  );
}

function fuzzChild(
  seed: number,
  budget: number,
  env: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
): { status: number | null; signal: string | null; result: any; output: string } {
  const js = import.meta.url.endsWith(".js");
  const script = fileURLToPath(new URL(js ? "./_fuzz_child.js" : "./_fuzz_child.ts", import.meta.url));
  const g = globalThis as unknown as { Bun?: unknown; Deno?: unknown };
  // Under a dynamic loader (Debian sid's CPythons) the child starts the same way: tests/_launch.ts.
  const [cmd, args] = runtimeCommand(g.Bun ? ["run", script] : g.Deno ? ["run", "-A", "--no-check", script] : [script]);
  // A hang is a failure: the child gets its budget plus start-up and shut-down time, no more.
  const r = spawnSync(cmd, [...args, String(seed), String(budget)], {
    encoding: "utf8",
    timeout: budget + 45_000,
    maxBuffer: 16 << 20,
    env: { ...process.env, ...env },
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  return {
    status: r.status,
    signal: r.signal,
    result: line ? JSON.parse(line.slice(7)) : null,
    output: `${r.stdout}\n${r.stderr}`.slice(-4000),
  };
}

test("fuzz: every safe entry point, random and boundary values, in a child: no signal, no hang, only pymem errors", async () => {
  const py = await python();
  const seed = defaultSeed(py.version.minor, py.version.micro);
  const r = fuzzChild(seed, budgetMs);
  const rerun = `rerun: PYMEM_FUZZ_SEED=${seed} PYMEM_FUZZ_TRACE=1 (${runtime}, ${py.library})`;
  assert.equal(r.signal, null, `the child died of ${r.signal}; ${rerun}\n${r.output}`);
  assert.ok(r.result, `no result (status ${r.status}): a crash or a hang; ${rerun}\n${r.output}`);
  assert.deepEqual(r.result.failures, [], `${rerun}\n${JSON.stringify(r.result.failures, null, 1)}`);
  const total = Object.values(r.result.runs as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.ok(total > 100, `only ${total} runs in ${budgetMs} ms`);
  for (const [name, n] of Object.entries(r.result.runs as Record<string, number>)) {
    assert.ok(n > 0, `${name} never ran`);
  }
});

test("fuzz: the harness reports a non-pymem error (canary)", () => {
  const r = fuzzChild(1, 300, { PYMEM_FUZZ_CANARY: "1" });
  assert.ok(r.result, r.output);
  assert.ok(
    r.result.failures.some((f: { property: string; error: string }) =>
      /canary/.test(f.property) && /^Error: canary/.test(f.error)
    ),
    JSON.stringify(r.result.failures),
  );
}, { skip: skipUnlessDefaultPython() });

test("fuzz: CLI arguments: no signal, no hang, exit 0/1/2, and an error is one line (or Python's traceback)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pymem-fuzz-cli-"));
  const values = [
    "-1",
    "0",
    "1e10",
    "x",
    "",
    "NaN",
    "0.1",
    "99999999999",
    "-",
    "out.json",
    "malloc",
    "nope",
    "/nonexistent/x",
  ];
  const codes = [
    "pass",
    "1/0",
    "raise SystemExit('0')",
    "raise SystemExit(3)",
    "import os; os.close(2)",
    "x = [0] * 10",
  ];
  const flags = [
    "--json",
    "--svg",
    "--html",
    "--worst",
    "--watch",
    "--count",
    "--allocator",
    "--library",
    "--python",
    "--setup",
    "--demo",
    "--debug",
    "--color",
    "--bogus",
    "-c",
    "-h",
  ];
  const argvs = fc.sample(
    fc.tuple(
      fc.constantFrom("heap", "diff", "stats", "info", "attach", "help", "nope", "--version", "-x"),
      fc.array(fc.tuple(fc.constantFrom(...flags), fc.constantFrom(...values), fc.constantFrom(...codes)), {
        maxLength: 3,
      }),
      fc.constantFrom(undefined, String(process.pid), "1", "0", "x", "99999999"),
    ).map(([cmd, opts, positional]) => {
      const argv: string[] = [cmd];
      for (const [flag, value, code] of opts) argv.push(flag, flag === "-c" || flag === "--setup" ? code : value);
      if (positional !== undefined) argv.push(positional);
      // --watch re-samples until Ctrl-C without --count: bound it.
      if (argv.includes("--watch")) argv.push("--count", "1");
      return argv;
    }),
    { seed: Number(process.env.PYMEM_FUZZ_SEED ?? 42), numRuns: Number(process.env.PYMEM_FUZZ_CLI_RUNS ?? 14) },
  );
  try {
    for (const argv of argvs) {
      const r = cli(argv, { cwd: dir, timeout: 60_000 });
      const what = `pymem ${JSON.stringify(argv)}: status ${r.status}\n${r.stderr.slice(-2000)}`;
      const allowed = argv.includes("raise SystemExit(3)") ? [0, 1, 2, 3] : [0, 1, 2];
      assert.ok(r.status !== null && allowed.includes(r.status), what);
      if (r.status === 2) assert.match(r.stderr, /^pymem[^\n]*\n$/, what);
      const python = /Traceback \(most recent call last\)|^\w+Error: |^0\n$/m.test(r.stderr);
      if (r.status === 1 && !argv.includes("--debug") && !python) {
        // The error is the last line (after any "pymem: wrote …" notes), and no JavaScript stack leaks out.
        assert.match(r.stderr, /(^|\n)pymem[^\n]*\n$/, what);
        assert.doesNotMatch(r.stderr, /^\s+at /m, what);
      }
      assert.doesNotMatch(r.stderr, /Segmentation|panic|Aborted|napi|FATAL ERROR/, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { skip: skipUnlessDefaultPython() });
