// The fuzz suite, second part (issue 22): properties for the classes of the second hostile pass. Names made of any
// control, bidi or printable character are shown escaped everywhere a person reads them and kept in JSON; HTTP
// clients that trickle, in any mix, never hold the exporter's connections; classes whose hooks wait, sleep or
// raise never hold explain() beyond its budget (in a child: a regression would hang). Seeded (PYMEM_FUZZ_SEED),
// bounded in runs.
import { spawnSync } from "node:child_process";
import net from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { assert, python, test } from "./_harness.ts";
import { runtimeCommand } from "./_launch.ts";
import { printable } from "../lib/report/printable.ts";
import { escapeXml } from "../lib/report/svg.ts";
import { renderWhyText, whyToJSON } from "../lib/report/why.ts";
import { encode, MetricSet } from "../lib/exporter/metrics.ts";
import { Scraper } from "../lib/exporter/scrape.ts";
import { serve } from "../lib/exporter/server.ts";

const seed = Number(process.env.PYMEM_FUZZ_SEED ?? 2222);
// deno-lint-ignore no-control-regex
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
const UNSAFE_CODES = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i),
  0x061c,
  0x200e,
  0x200f,
  0x2028,
  0x2029,
  0x202a,
  0x202b,
  0x202c,
  0x202d,
  0x202e,
  0x2066,
  0x2067,
  0x2068,
  0x2069,
];
/** One character: a control or bidi one, printable ASCII, or any other code point. */
const char = fc.oneof(
  fc.constantFrom(...UNSAFE_CODES.map((c) => String.fromCharCode(c))),
  fc.constantFrom("a", "Z", "_", ".", "\\", '"', "'", "<", "&", " ", "é", "字", "x"),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
);
const name = fc.string({ unit: char, minLength: 1, maxLength: 24 });

test("fuzz: any name is shown without a raw control or bidi character, idempotently, in text, XML and metrics", () => {
  fc.assert(
    fc.property(name, (s) => {
      const p = printable(s);
      assert.doesNotMatch(p, RAW_UNSAFE);
      assert.equal(printable(p), p);
      // Nothing else changes: removing the escapes of the unsafe characters gives the name back.
      assert.equal(
        p.replace(/\\x([0-9a-f]{2})|\\u([0-9a-f]{4})/g, (m, x, u) => {
          const c = String.fromCharCode(parseInt(x ?? u, 16));
          return RAW_UNSAFE.test(c) || c === "\n" ? c : m;
        }),
        s,
      );
      assert.doesNotMatch(
        escapeXml(s),
        // deno-lint-ignore no-control-regex
        /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069<>"]/,
      );
      const set = new MetricSet();
      set.family("python_pinned_bytes", "gauge", "h", "bytes").add({ pid: "1", type: s }, 1);
      for (const format of ["prometheus", "openmetrics"] as const) {
        const lines = encode(set, format).split("\n").filter((l) => l.startsWith("python_pinned_bytes"));
        assert.equal(lines.length, 1);
        // A valid label value: escapes only \\, \" and \n; ends the sample.
        assert.match(lines[0], /^python_pinned_bytes\{pid="1",type="(?:[^"\\\n]|\\["\\n])*"\} 1$/);
        assert.doesNotMatch(lines[0], RAW_UNSAFE);
      }
    }),
    { seed, numRuns: 400 },
  );
});

test("fuzz: classes named with any control, bidi or printable character: why text escapes them, JSON keeps them", async () => {
  const py = await python();
  // pymem reads a tp_name with C0 characters as no name for now (issue 22, item 11): those go into the document.
  const pythonName = fc.string({
    unit: fc.oneof(
      fc.constantFrom(...UNSAFE_CODES.filter((c) => c >= 0x80).map((c) => String.fromCharCode(c))),
      fc.constantFrom("a", "Q", "_", "é", "字"),
    ),
    minLength: 1,
    maxLength: 12,
  });
  let run = 0;
  fc.assert(
    fc.property(pythonName, name, (cls, any) => {
      const label = `F${run++}${cls}`;
      py.run(`_fz = type(${JSON.stringify(label)}, (), {})\n_fz_keep = [_fz() for _ in range(40000)]`);
      try {
        const doc = whyToJSON(py.heap().objects(), { kind: "embedded" }, 5);
        assert.ok(doc.pinning.some((r) => r.name === label), `${JSON.stringify(label)} is a row by its real name`);
        const pinning = doc.pinning.map((r) => (r.name === label ? { ...r, name: label + any } : r));
        const text = renderWhyText({ ...doc, pinning });
        assert.doesNotMatch(text, RAW_UNSAFE);
        assert.doesNotMatch(doc.verdict.join("\n"), RAW_UNSAFE);
      } finally {
        py.run("del _fz, _fz_keep");
      }
    }),
    { seed, numRuns: 8 },
  );
});

test("fuzz: HTTP clients that trickle, in any mix, are closed in bounded time and never lock scrapers out", async () => {
  const scraper = new Scraper({ match: "^no-process-is-named-this-22$", workers: 1 });
  const server = await serve(scraper, { host: "127.0.0.1", port: 0 }, { connectionMs: 3_000 });
  const port = Number(new URL(server.url).port);
  const client = fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "HEAD", "DELETE", "BREW"),
    path: fc.constantFrom("/metrics", "/", "/x"),
    length: fc.constantFrom(undefined, 0, 10, 1e9),
    chunked: fc.boolean(),
    headersWhole: fc.boolean(),
    everyMs: fc.integer({ min: 50, max: 600 }),
  });
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(client, { minLength: 1, maxLength: 40 }), async (clients) => {
        const t0 = Date.now();
        const closed: number[] = [];
        const sockets = clients.map((c) => {
          const s = net.connect(port, "127.0.0.1");
          s.on("error", () => {});
          s.on("data", () => {});
          s.once("close", () => closed.push(Date.now() - t0));
          const head = `${c.method} ${c.path} HTTP/1.1\r\nHost: x\r\n` +
            (c.length !== undefined ? `Content-Length: ${c.length}\r\n` : "") +
            (c.chunked ? "Transfer-Encoding: chunked\r\n" : "");
          // Either whole headers then a body a byte at a time, or the headers themselves a byte at a time.
          let rest = c.headersWhole ? "" : head + "\r\n";
          s.write(c.headersWhole ? head + "\r\n" : rest.slice(0, 1));
          rest = rest.slice(1);
          const timer = setInterval(() => {
            if (!s.writable) return;
            if (rest) {
              s.write(rest.slice(0, 1));
              rest = rest.slice(1);
            } else if (c.headersWhole) s.write(c.chunked ? "1\r\nx\r\n" : "x");
          }, c.everyMs);
          s.once("close", () => clearInterval(timer));
          return s;
        });
        try {
          await new Promise((r) => setTimeout(r, 300));
          const scrape = await fetch(server.url, { signal: AbortSignal.timeout(5_000) });
          assert.equal(scrape.status, 200);
          // The headers timeout (10 s) bounds the slowest: everything is closed by the server within it, plus linger.
          for (let i = 0; i < 150 && closed.length < sockets.length; i++) await new Promise((r) => setTimeout(r, 100));
          assert.equal(closed.length, sockets.length, `${sockets.length - closed.length} connections still open`);
        } finally {
          for (const s of sockets) s.destroy();
        }
      }),
      { seed, numRuns: 4 },
    );
  } finally {
    await server.close();
    scraper.close();
  }
});

test("fuzz: user code that blocks, sleeps or raises in any hook never holds explain() beyond its budget", () => {
  const js = import.meta.url.endsWith(".js");
  const script = fileURLToPath(new URL(js ? "./_containment_child.js" : "./_containment_child.ts", import.meta.url));
  const g = globalThis as unknown as { Bun?: unknown; Deno?: unknown };
  const [cmd, args] = runtimeCommand(g.Bun ? ["run", script] : g.Deno ? ["run", "-A", "--no-check", script] : [script]);
  const r = spawnSync(cmd, [...args, "fuzzExplain"], {
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 16 << 20,
    env: { ...process.env, CONTAIN_SEED: String(seed) },
  });
  const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("RESULT "));
  const output = (r.stdout + r.stderr).slice(-3000);
  assert.ok(line, `no result (status ${r.status}, signal ${r.signal}): a hang or a crash; seed ${seed}\n${output}`);
  const out = JSON.parse(line!.slice(7));
  assert.equal(out.fatal, undefined, JSON.stringify(out.fatal));
  assert.deepEqual(out.failures, [], `seed ${seed}`);
  assert.ok(out.runs >= 12, `${out.runs} runs`);
});
