// How users import pymem: Deno by http URL from outside the repo (no import map, no bare specifiers), and Node by
// package name from the repo root (`import("pymem")` resolves to the tsc build through package.json "exports").
// Each check spawns the runtime it is about, so it runs once per Python version: under Deno, and under Node.
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { runtimeKind } from "../lib/core/runtime.ts";

const here = dirname(fileURLToPath(import.meta.url));
// Under Node the test runs from dist/tests; the sources are two levels up from there.
const root = resolve(here, here.includes(`${"dist"}`) ? "../.." : "..");
const runtime = runtimeKind();
const bin = (name: string) => join(root, "node_modules", ".bin", name);

test("Deno imports lib/mod.ts by http URL from outside the repo, opens Python and allocates", async () => {
  const server = createServer((req, res) => {
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
        const child = spawn(bin("deno"), ["run", "-A", "--no-config", "--no-lock", "--reload", "main.ts"], { cwd: dir, env: process.env });
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
  } finally {
    server.close();
  }
}, { skip: runtime !== "deno" && "runs under Deno only" });

test("node: import('pymem') from the repo root works through koffi", () => {
  const r = spawnSync(process.execPath, ["-e", "import('pymem').then(async (m) => { const py = await m.openPython(); const p = py.obj.malloc(8); py.obj.free(p); console.log(py.backend, py.version.minor); py.close(); })"], { cwd: root, encoding: "utf8", env: process.env });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^koffi \d+/);
}, { skip: runtime !== "node" && "runs under Node only" });
