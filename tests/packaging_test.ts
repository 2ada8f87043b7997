// How users get and import pymem: Deno by http URL from outside the repo (no import map, no bare specifiers), Node by
// package name from the repo root (`import("pymem")` resolves to the tsc build through package.json "exports"), the
// packed tarball installed into a fresh project under every runtime, and JSR's `deno publish --dry-run`. An app-axis
// file: once per runtime, on one CPython.
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { runtimeKind } from "../lib/core/runtime.ts";
import { launched, launchPrefix, runtimeCommand } from "./_launch.ts";

const here = dirname(fileURLToPath(import.meta.url));
// Under Node the test runs from dist/tests; the sources are two levels up from there.
const root = resolve(here, here.includes(`${"dist"}`) ? "../.." : "..");
const runtime = runtimeKind();
const bin = (name: string) => join(root, "node_modules", ".bin", name);

test("Deno imports lib/mod.ts by http URL from outside the repo, opens Python and allocates", async () => {
  const requested: string[] = [];
  const server = createServer((req, res) => {
    requested.push(new URL(req.url!, "http://x").pathname);
    const path = normalize(join(root, decodeURIComponent(new URL(req.url!, "http://x").pathname)));
    if (!path.startsWith(root + "/")) return void res.writeHead(403).end();
    try {
      const body = readFileSync(path);
      res.writeHead(200, { "content-type": "application/typescript" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), "pymem-url-"));
  writeFileSync(
    join(dir, "main.ts"),
    `import { openPython } from "http://127.0.0.1:${port}/lib/mod.ts";\n` +
      "const py = await openPython();\nconst p = py.obj.malloc(64);\npy.view(p, 64)[0] = 7;\npy.obj.free(p);\n" +
      "console.log(JSON.stringify({ backend: py.backend, v: py.version.minor, lib: py.library }));\npy.close();\n",
  );
  try {
    const out = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      // Async spawn: the HTTP server above must keep answering while Deno runs.
      import("node:child_process").then(({ spawn }) => {
        const [cmd, args] = launched(bin("deno"), ["run", "-A", "--no-config", "--no-lock", "--reload", "main.ts"]);
        const child = spawn(cmd, args, { cwd: dir, env: process.env });
        let stdout = "", stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => done({ status, stdout, stderr }));
      });
    });
    assert.equal(out.status, 0, out.stderr);
    const r = JSON.parse(out.stdout.trim().split("\n").pop()!);
    assert.equal(r.backend, "deno");
    if (process.env.PYMEM_LIBPYTHON) assert.equal(r.lib, normalize(r.lib));
    // Only what a Deno user runs: no tests, no benchmark, no other runtime's adapter (koffi would pull npm).
    assert.ok(requested.includes("/ffi/deno.ts"), requested.join(" "));
    assert.deepEqual(
      requested.filter((p) => /^\/(tests|bench|tools|examples)\/|^\/ffi\/(bun|koffi)\.ts$|^\/lib\/compare\//.test(p)),
      [],
    );
  } finally {
    server.close();
  }
}, { skip: runtime !== "deno" && "runs under Deno only" });

test("node: import('pymem') from the repo root works through koffi", () => {
  const [cmd, args] = runtimeCommand([
    "-e",
    "import('pymem').then(async (m) => { const py = await m.openPython(); const p = py.obj.malloc(8); py.obj.free(p); console.log(py.backend, py.version.minor); py.close(); })",
  ]);
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", env: process.env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^koffi \d+/);
}, { skip: runtime !== "node" && "runs under Node only" });

// ---- the packed tarball, installed as a dependency of a fresh project ---------------------------------------------
// What a user gets from npm: `npm pack`, then `npm install <tgz>` in an empty project, then a program importing
// "pymem" under this runtime (Deno: also by the `npm:` specifier), and the CLI through npx. Reads dist/ as built
// (npm test builds first; the pack does not run `prepare`, so that parallel runs never write dist/ at once).

/** Files a consumer must get, and files that must stay out of the tarball. */
const MUST_SHIP = [
  "package.json",
  "README.md",
  "LICENSE",
  "CHANGELOG.md",
  "lib/mod.ts",
  "ffi/backend.ts",
  "dist/lib/mod.js",
  "dist/lib/mod.d.ts",
  "dist/lib/cli.js",
  "dist/ffi/koffi.js",
  "docs/cli.md",
  "contrib/pymem-exporter.service",
  "contrib/pymem-alerts.yml",
];
const MUST_NOT_SHIP =
  /^(tests|bench|tools|\.ci|examples|dist\/tests|dist\/bench|dist\/examples|dist\/tools|node_modules)\/|^BENCHMARKS\.md$/;

const npmEnv = {
  ...process.env,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};
let installed: { dir: string; files: string[] } | undefined;
/** Pack once per process and install the tarball into a new project; bounded in time (the registry serves koffi). */
function installedPackage(): { dir: string; files: string[] } {
  if (installed) return installed;
  const work = mkdtempSync(join(tmpdir(), "pymem-pack-"));
  const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
    cwd: root,
    encoding: "utf8",
    env: npmEnv,
    timeout: 120_000,
  });
  assert.equal(pack.status, 0, pack.stderr);
  const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const project = join(work, "app");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const install = spawnSync("npm", ["install", "--prefer-offline", "--no-package-lock", join(work, info[0].filename)], {
    cwd: project,
    encoding: "utf8",
    env: npmEnv,
    timeout: 300_000,
  });
  assert.equal(install.status, 0, `npm install of the tarball: ${install.stderr}`);
  installed = { dir: project, files: info[0].files.map((f) => f.path) };
  return installed;
}

/** The program a consumer writes: plain JavaScript (no `using`), so that it runs on Node 20 too. */
const program = (from: string) =>
  `import { openPython, PoolHeader } from "${from}";
const py = await openPython();
try {
  py.run("xs = [str(i) for i in range(10_000)]");
  const heap = py.heap();
  const pool = PoolHeader.of(py, BigInt(py.eval("id(xs[0])")));
  const json = JSON.parse(JSON.stringify({ pool, heap }));
  console.log(JSON.stringify({ backend: py.backend, minor: py.version.minor, arenas: heap.totals.arenas,
    pool: json.pool.address, capacity: pool.capacity, blocks: pool.blocks().length, interp: json.heap.info.interp }));
} finally {
  py.close();
}
`;

const expectedBackend = runtime === "node" ? "koffi" : runtime;
const minorUnderTest = process.env.PYMEM_TEST_VERSION
  ? Number(process.env.PYMEM_TEST_VERSION.split(".")[1])
  : undefined;

function checkProgram(r: { status: number | null; stdout: string; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what}: ${r.stdout}\n${r.stderr}`.slice(-3000));
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.backend, expectedBackend, what);
  if (minorUnderTest !== undefined) assert.equal(out.minor, minorUnderTest, what);
  assert.ok(out.arenas >= 1, `${what}: ${r.stdout}`);
  assert.match(out.pool, /^0x[0-9a-f]+$/, what);
  assert.match(out.interp, /^0x[0-9a-f]+$/, what);
  assert.equal(out.blocks, out.capacity, what);
}

test("npm pack ships the library, its build, the docs and the licence, and no tests, benchmarks or tools", () => {
  const { files } = installedPackage();
  for (const f of MUST_SHIP) assert.ok(files.includes(f), `${f} is not in the tarball`);
  const extra = files.filter((f) => MUST_NOT_SHIP.test(f));
  assert.deepEqual(extra, [], "files a consumer does not need");
}, { skip: runtime !== "node" && "the tarball is the same for every runtime: checked under Node" });

test(`the installed tarball: import "pymem" under this runtime opens Python, maps the heap, classifies a pool`, () => {
  const { dir } = installedPackage();
  writeFileSync(join(dir, "main.mjs"), program("pymem"));
  const args = runtime === "deno" ? ["run", "-A", "--no-lock", "main.mjs"] : ["main.mjs"];
  const [cmd, pre] = runtimeCommand(args);
  checkProgram(
    spawnSync(cmd, pre, { cwd: dir, encoding: "utf8", env: process.env, timeout: 120_000 }),
    `${runtime} main.mjs`,
  );
});

test(`the installed tarball: Deno imports "npm:pymem" from node_modules`, () => {
  const { dir } = installedPackage();
  writeFileSync(join(dir, "npm.mjs"), program("npm:pymem"));
  const [cmd, pre] = runtimeCommand(["run", "-A", "--no-lock", "npm.mjs"]);
  checkProgram(spawnSync(cmd, pre, { cwd: dir, encoding: "utf8", env: process.env, timeout: 120_000 }), "deno npm.mjs");
}, { skip: runtime !== "deno" && "the npm: specifier is Deno's" });

test("the installed tarball: npx pymem --help, why --demo, bench --list and a bench without Bun installed", () => {
  const { dir } = installedPackage();
  // A Node-only project: none of this repository's tools (bun, deno) on PATH.
  const PATH = (process.env.PATH ?? "").split(":").filter((d) => !d.includes("node_modules")).join(":");
  const npx = (args: string[]) =>
    spawnSync("npx", ["--no-install", "pymem", ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...npmEnv, PATH, NO_COLOR: "1" },
      timeout: 180_000,
    });
  const help = npx(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: pymem /m);
  const why = npx(["why", "--demo"]);
  assert.equal(why.status, 0, `${why.stdout}\n${why.stderr}`.slice(-3000));
  assert.match(why.stdout, /pin/i);
  // Discovery is the library's own (lib/core/locate.ts), not the repository's tests/.
  const list = npx(["bench", "--list"]);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^CPythons .*\n {2}3\.\d+\.\d+\S* +\/\S+libpython3\.\d+/m);
  const bench = npx([
    "bench",
    "--workloads",
    "churn",
    "--allocators",
    "pymalloc",
    "--scale",
    "0.05",
    "--rounds",
    "1",
    "--runs",
    "1",
    "--warmup",
    "0",
    "--no-progress",
  ]);
  assert.equal(bench.status, 0, `${bench.stdout}\n${bench.stderr}`.slice(-3000));
  assert.match(bench.stdout, /the child runtime "bun" is not installed .*the children run under node instead/);
  assert.match(bench.stdout, /^churn +pymalloc +\d+/m);
}, {
  skip: runtime !== "node"
    ? "npx starts the machine's Node: run once, under Node"
    : launchPrefix.length > 0 && "npx starts Node without the loader this CPython needs",
});

test("deno publish --dry-run passes (JSR: name, version, exports, licence, no slow types)", () => {
  const [cmd, pre] = runtimeCommand(["publish", "--dry-run", "--allow-dirty"]);
  const r = spawnSync(cmd, pre, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 180_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-4000));
  assert.match(r.stderr + r.stdout, /Success.*Dry run complete/);
  assert.doesNotMatch(
    r.stderr + r.stdout,
    /file:\/\/\S*\/(tests|bench|tools|examples)\//,
    "the JSR package ships no tests",
  );
}, { skip: runtime !== "deno" && "deno publish is Deno's" });

test("package-lock.json is what npm makes of package.json: an install on a fresh clone leaves it unchanged", () => {
  const dir = mkdtempSync(join(tmpdir(), "pymem-lock-"));
  for (const f of ["package.json", "package-lock.json"]) writeFileSync(join(dir, f), readFileSync(join(root, f)));
  // --package-lock-only resolves the whole tree as `npm install` would, without installing it.
  const r = spawnSync("npm", ["install", "--package-lock-only", "--ignore-scripts", "--prefer-offline"], {
    cwd: dir,
    encoding: "utf8",
    env: npmEnv,
    timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    readFileSync(join(dir, "package-lock.json"), "utf8"),
    readFileSync(join(root, "package-lock.json"), "utf8"),
  );
}, { skip: runtime !== "node" && "npm is Node's: run once, under Node" });
