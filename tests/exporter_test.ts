/**
 * `pymem exporter` (lib/exporter/): against real target processes, a real Prometheus server and a real
 * node_exporter (Debian packages `prometheus` and `prometheus-node-exporter`), and `promtool check metrics`.
 *
 * Targets build a fragmented heap, print their own sys._debugmallocstats() to a file, then block reading stdin
 * (FileIO.readinto on a preallocated buffer allocates nothing), so the heap stays exactly as printed; closing their
 * stdin ends them. Every exporter binds 127.0.0.1 port 0 and the test reads the port it printed.
 *
 * What runs where: the per-CPython test (the exporter's figures for a target of the CPython under test equal the
 * target's own statistics, and promtool accepts the output) runs for every CPython of the matrix; the tests whose
 * subject does not depend on the CPython under test (they start their own targets: Prometheus with three CPython
 * versions, permission, timeout, malformed requests) run once per runtime (skipUnlessDefaultPython).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { cli, command, ROOT, skipUnlessDefaultPython } from "./_cli_spawn.ts";
import { discoverPythons, type PythonTarget } from "./pythons.ts";
import { parseDebugMallocStats } from "../lib/obmalloc/stats.ts";
import { runtimeKind } from "../lib/core/runtime.ts";
import {
  askedScrapeSeconds,
  cmdLabel,
  encode,
  FAMILY_NAMES,
  MAX_SCRAPE_SECONDS,
  MAX_TIMER_MS,
  MetricSet,
  negotiate,
  parseCgroup,
  parseExporterArgs,
  parseListen,
  parseStat,
  Scraper,
} from "../lib/exporter/mod.ts";

const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-exporter-"));
fs.chmodSync(tmp, 0o755);
/** Every target's argv carries this, so `--match` keeps the host's other Python processes out of the test. */
const MARK = basename(tmp);
const children: ChildProcess[] = [];
const once = skipUnlessDefaultPython();
const isRoot = process.getuid?.() === 0;
const has = (p: string) => fs.existsSync(p);

// ---- targets ----------------------------------------------------------------------------------------------------

const TARGET = `
import sys, os, gc, io
out, n = sys.argv[1], int(sys.argv[2])
junk = [b'x' * (i % 200) if i % 3 else (i, float(i)) for i in range(n)]
del junk[::2]
gc.collect()
gc.disable()
stdin = io.FileIO(0, 'r', closefd=False)
buf = bytearray(1)
# The dry run takes the very path the final one does (signal, then a blocking read), on a pipe that already holds a
# byte and /dev/null: nothing after the statistics runs for the first time in the final run.
r, w = os.pipe()
os.write(w, b'x')
warm_in = io.FileIO(r, 'r', closefd=False)
null = os.open(os.devnull, os.O_WRONLY)
def dump(path, signal_fd, src):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    sys.stderr.flush()
    os.dup2(fd, 2)
    sys._debugmallocstats()
    os.dup2(saved, 2)
    os.write(signal_fd, b'R')
    src.readinto(buf)
    os.close(fd)
    os.close(saved)
# A dry run first, so whatever the path caches on first use is allocated before the statistics that count.
dump(out + '.warmup', null, warm_in)
dump(out, 1, stdin)
`;
const script = join(tmp, "target.py");
fs.writeFileSync(script, TARGET);
fs.chmodSync(script, 0o644);

interface Target {
  child: ChildProcess;
  pid: number;
  out: string;
  stats(): ReturnType<typeof parseDebugMallocStats>;
  stop(): Promise<void>;
}

let seq = 0;
/** Start `exe` on the target script (through `wrap`, e.g. unshare or setpriv) and wait until it blocks on stdin. */
async function startTarget(
  exe: string,
  options: { n?: number; wrap?: string[]; env?: Record<string, string>; outDir?: string } = {},
): Promise<Target> {
  const out = join(options.outDir ?? tmp, `stats${seq++}`);
  const argv = [...(options.wrap ?? []), exe, script, out, String(options.n ?? 60_000), MARK];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...options.env },
  });
  children.push(child);
  await new Promise<void>((ready, fail) => {
    const t = setTimeout(() => fail(new Error(`${argv.join(" ")}: not ready after 60 s`)), 60_000);
    child.stdout!.once("data", () => {
      clearTimeout(t);
      ready();
    });
    child.once("exit", (code, sig) => {
      clearTimeout(t);
      fail(new Error(`${argv.join(" ")} exited (${sig ?? code}) before it was ready`));
    });
  });
  // The pid that reads its heap: wrappers exec the interpreter, so it is the child's own.
  return {
    child,
    pid: child.pid!,
    out,
    stats: () => parseDebugMallocStats(fs.readFileSync(out, "utf8")),
    stop: () => stop(child),
  };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.stdin?.end();
    setTimeout(() => child.kill("SIGKILL"), 3000);
  });
}

const blocksOf = (s: ReturnType<typeof parseDebugMallocStats>) => s.sizeClasses!.reduce((a, r) => a + r.blocksInUse, 0);

/** The interpreter whose libpython is `lib`: PREFIX/bin/python3.X next to PREFIX/lib, or /usr{,/local}/bin. */
function interpreterFor(t: { library: string; executable?: string; minor: number }): string | undefined {
  const names = [`python3.${t.minor}`, "python3"];
  const dirs = [
    join(dirname(t.library), "..", "bin"),
    join(dirname(t.library), "..", "..", "bin"),
    "/usr/bin",
    "/usr/local/bin",
  ];
  const candidates = [...(t.executable ? [t.executable] : []), ...dirs.flatMap((d) => names.map((n) => join(d, n)))];
  for (const exe of candidates) {
    if (!has(exe)) continue;
    try {
      const lib = execFileSync(exe, [
        "-c",
        "import sysconfig as s, os; v = s.get_config_vars(); print('\\n'.join(os.path.join(d, n) for d in (v.get('LIBDIR') or '', os.path.join(v.get('LIBDIR') or '', v.get('MULTIARCH') or '')) for n in (v.get('INSTSONAME') or '', v.get('LDLIBRARY') or '') if n))",
      ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      if (lib.split("\n").some((p) => p && has(p) && fs.realpathSync(p) === fs.realpathSync(t.library))) return exe;
    } catch { /* not this one */ }
  }
  return undefined;
}

const underTest = (() => {
  const lib = process.env.PYMEM_LIBPYTHON;
  if (!lib) return { exe: "python3" };
  const minor = Number(/python3\.(\d+)/.exec(basename(lib))?.[1] ?? process.env.PYMEM_TEST_VERSION?.split(".")[1]);
  return { exe: interpreterFor({ library: lib, minor }) };
})();

// ---- the exporter -----------------------------------------------------------------------------------------------

interface Exporter {
  child: ChildProcess;
  url: string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Start `pymem exporter ARGS` under this runtime (through `wrap`), and wait for its "listening on" or "writing" line. */
async function startExporter(args: string[], wrap: string[] = []): Promise<Exporter> {
  const [cmd, pre] = command("lib/cli.ts");
  const argv = [...wrap, cmd, ...pre, "exporter", ...args];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  children.push(child);
  let err = "";
  const url = await new Promise<string>((ready, fail) => {
    const t = setTimeout(() => fail(new Error(`exporter not ready after 60 s: ${err}`)), 60_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      err += d;
      const m = /listening on (\S+)|(writing) /.exec(err);
      if (m) {
        clearTimeout(t);
        ready(m[1] ?? "");
      }
    });
    child.once("exit", (code) => {
      clearTimeout(t);
      fail(new Error(`exporter exited (${code}): ${err}`));
    });
  });
  return {
    child,
    url,
    stderr: () => err,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r(child.exitCode);
        child.once("exit", (code) => r(code));
        child.kill("SIGTERM");
      }),
  };
}

/** Samples of a text exposition: `name{labels} value` → [{labels, value}]. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}
const one = (text: string, name: string, labels: Record<string, string> = {}) => {
  const s = samples(text, name).filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.equal(s.length, 1, `${name}${JSON.stringify(labels)}: ${s.length} samples`);
  return s[0].value;
};

/** A port free right now on 127.0.0.1 (for servers that cannot be told to use port 0 and report it). */
function freePort(): Promise<number> {
  return new Promise((r, f) => {
    const s = net.createServer();
    s.once("error", f);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => r(port));
    });
  });
}

/** A raw HTTP exchange: the status line of the answer ("" when the server closed without one). */
function rawRequest(url: string, data: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((r) => {
    // write, not end: a half-closed connection may be dropped by the server before a slow answer is written.
    const s = net.connect(Number(port), hostname, () => s.write(data));
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("close", () => r(got.split("\r\n")[0]));
    s.on("error", () => r(got.split("\r\n")[0]));
    setTimeout(() => s.destroy(), 10_000);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- no Python needed -------------------------------------------------------------------------------------------

test("exporter: the text and OpenMetrics encodings, negotiation, labels", () => {
  const m = new MetricSet();
  m.gauge("x_bytes", "Help with \\ and\nnewline.", "bytes").add({ pid: "1", cmd: 'a "q" \\ b\nc' }, 1.5).add({
    pid: "2",
    empty: "",
  }, 3e6);
  m.counter("y", "A counter.").add({}, 7);
  const text = encode(m, "prometheus");
  assert.equal(
    text,
    [
      "# HELP x_bytes Help with \\\\ and\\nnewline.",
      "# TYPE x_bytes gauge",
      'x_bytes{pid="1",cmd="a \\"q\\" \\\\ b\\nc"} 1.5',
      'x_bytes{pid="2"} 3000000',
      "# HELP y_total A counter.",
      "# TYPE y_total counter",
      "y_total 7",
      "",
    ].join("\n"),
  );
  const om = encode(m, "openmetrics");
  assert.match(om, /^# TYPE x_bytes gauge\n# UNIT x_bytes bytes\n/m);
  assert.match(om, /^# TYPE y counter\ny_total 7\n# EOF\n$/m);
  assert.throws(() => m.gauge("bad name", "h"), RangeError);
  assert.throws(() => m.counter("z_total", "h"), RangeError);
  assert.throws(() => m.gauge("q", "h").add({}, NaN), RangeError);
  assert.throws(() => m.gauge("q", "h").add({ __x: "1" }, 1), RangeError);
  assert.throws(() => m.gauge("x_bytes", "other help", "bytes"), RangeError);
  const top = new MetricSet();
  top.gauge("t_bytes", "h", "bytes").addTopN({ pid: "1" }, "type", [
    { label: "dict", value: 5 },
    { label: "list", value: 9 },
    { label: "str", value: 5 },
    { label: "int", value: 1 },
  ], 3);
  assert.deepEqual(top.families[0].samples.map((s) => s.labels.type), ["list", "dict", "str"]);
  // What Prometheus 2.42 sends, and others.
  assert.equal(
    negotiate(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    "openmetrics",
  );
  assert.equal(negotiate("text/plain;version=0.0.4;q=1,*/*;q=0.1"), "prometheus");
  assert.equal(negotiate(undefined), "prometheus");
  assert.equal(negotiate("*/*"), "prometheus");
});

test("exporter: /proc parsing — stat, cgroup container and pod ids, the cmd label", () => {
  const s = parseStat(
    42,
    "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 100 18446744073709551615",
  )!;
  assert.deepEqual({ comm: s.comm, state: s.state, start: s.start, k: s.kernelThread }, {
    comm: "a (weird) name",
    state: "S",
    start: 123456,
    k: false,
  });
  const id = "0123456789abcdef".repeat(4);
  assert.deepEqual(parseCgroup(`0::/system.slice/docker-${id}.scope\n`), { container: id, pod: "" });
  assert.deepEqual(parseCgroup(`12:memory:/docker/${id}\n0::/\n`), { container: id, pod: "" });
  assert.deepEqual(
    parseCgroup(
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_1111_2222_3333_444455556666.slice/cri-containerd-${id}.scope\n`,
    ),
    { container: id, pod: "1b2c3d4e-1111-2222-3333-444455556666" },
  );
  assert.deepEqual(parseCgroup("0::/user.slice/user-0.slice/session-1.scope\n"), { container: "", pod: "" });
  assert.equal(cmdLabel(["/usr/bin/python3.12", "/srv/app/manage.py", "runserver"]), "python3.12 manage.py runserver");
  assert.equal(cmdLabel(["gunicorn: worker [app:wsgi]"]), "gunicorn: worker [app:wsgi]");
  assert.equal(cmdLabel(["python", "-c", "x".repeat(200)]).length, 60);
});

test("exporter: option parsing and usage errors", () => {
  assert.deepEqual(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListen("[::1]:9464"), { host: "::1", port: 9464 });
  assert.deepEqual(parseListen(":9464"), { host: "0.0.0.0", port: 9464 });
  assert.throws(() => parseListen("9464"), RangeError);
  assert.throws(() => parseListen("h:70000"), RangeError);
  const o = parseExporterArgs(["--pid", "1,2", "--pid", "3", "--timeout", "0.5", "--match", "gunicorn"]);
  assert.ok(typeof o === "object");
  assert.deepEqual([o.pids, o.timeoutMs, o.workers, o.listen.host, o.listen.port], [
    [1, 2, 3],
    500,
    2,
    "127.0.0.1",
    9464,
  ]);
  for (
    const bad of [
      ["--timeout", "0"],
      ["--workers", "x"],
      ["--match", "("],
      ["--pid", "abc"],
      ["--interval", "5"],
      ["--textfile", "/tmp", "--listen", ":1"],
      ["--nope"],
      ["extra"],
    ]
  ) {
    assert.equal(typeof parseExporterArgs(bad), "string", bad.join(" "));
  }
  // Beyond a timer's 2^31-1 ms, setTimeout fires after 1 ms: every write 1 ms apart, every read past its deadline.
  assert.match(
    String(parseExporterArgs(["--textfile", "/tmp", "--interval", "3000000"])),
    /--interval: at most 2147483 seconds/,
  );
  assert.match(String(parseExporterArgs(["--timeout", "3000000"])), /--timeout: at most 2147483 seconds/);
  assert.equal(
    (parseExporterArgs(["--textfile", "/tmp", "--interval", "2147483"]) as { interval: number }).interval,
    2147483,
  );
  // A negative number is the option's value, refused by the option's own check (node:util said "ambiguous").
  assert.match(String(parseExporterArgs(["--top-types", "-1"])), /--top-types needs a whole number ≥ 0, got "-1"/);
  assert.match(String(parseExporterArgs(["--workers", "-2"])), /--workers needs a whole number ≥ 1, got "-2"/);
});

test("exporter: CLI help and bad usage (exit status 2)", () => {
  const help = cli(["exporter", "--help"]);
  assert.equal(help.status, 0, help.stderr);
  for (
    const flag of ["--listen", "--textfile", "--interval", "--pid", "--match", "--exclude", "--timeout", "--workers"]
  ) assert.match(help.stdout, new RegExp(flag));
  assert.match(cli(["--help"]).stdout, /^ {2}exporter /m);
  const bad = cli(["exporter", "--timeout", "0"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--timeout needs a number/);
}, { skip: once });

test("exporter: docs/exporter.md lists every metric family", () => {
  const doc = fs.readFileSync(join(ROOT, "docs", "exporter.md"), "utf8");
  for (const name of FAMILY_NAMES) assert.ok(doc.includes(`\`${name}`), `${name} is not in docs/exporter.md`);
});

test("exporter: malformed requests get 4xx and the exporter keeps serving", async () => {
  const ex = await startExporter(["--listen", "127.0.0.1:0", "--match", `${MARK}-nothing`]);
  try {
    const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`;
    assert.match(await rawRequest(ex.url, get("/metrics")), / 200 /);
    assert.match(await rawRequest(ex.url, get("/../../etc/passwd")), / 404 /);
    assert.match(await rawRequest(ex.url, get("/metrics/../../../etc/passwd")), / 404 /);
    assert.match(await rawRequest(ex.url, get("/%2e%2e/%2e%2e/etc/passwd")), / 404 /);
    assert.match(await rawRequest(ex.url, get("/", `X-Big: ${"a".repeat(100_000)}\r\n`)), / 431 /);
    assert.match(await rawRequest(ex.url, get("/", "X-A: b\r\n".repeat(3000))), / 431 /);
    assert.match(await rawRequest(ex.url, "\x00\x01\x02 nonsense\r\n\r\n"), / 400 /);
    assert.match(await rawRequest(ex.url, "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), / 4\d\d /);
    for (const m of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
      assert.match(
        await rawRequest(ex.url, `${m} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
        / 405 /,
        m,
      );
    }
    const head = await fetch(ex.url, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const page = await fetch(ex.url.replace(/metrics$/, ""));
    assert.match(await page.text(), /href="metrics"/);
    const after = await fetch(ex.url);
    assert.equal(after.status, 200);
    assert.match(await after.text(), /^pymem_exporter_scrapes_total \d+$/m);
    assert.equal(ex.child.exitCode, null);
  } finally {
    // Deno's node:child_process reports a child that handled SIGTERM and exited 0 as (null, "SIGTERM") (a `sh`
    // trapping TERM shows the same), so there the clean exit is seen through the exporter's own output instead.
    const code = await ex.stop();
    if (runtimeKind() === "deno" && code === null) assert.doesNotMatch(ex.stderr(), /error|failed/i);
    else assert.equal(code, 0, ex.stderr());
  }
}, { skip: once });

test("exporter: 300 connections that never finish their headers do not lock scrapers out for long", async () => {
  const ex = await startExporter(["--listen", "127.0.0.1:0", "--match", `${MARK}-nothing`]);
  const u = new URL(ex.url);
  const idle: net.Socket[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      const s = net.connect(Number(u.port), u.hostname);
      s.on("error", () => {});
      s.write("GET /metrics HTTP/1.1\r\n");
      idle.push(s);
    }
    await sleep(500);
    // The server destroys a connection that has not sent whole headers within 10 s: a scrape gets through soon after,
    // while the 300 idle clients are still connected on their side.
    const t0 = Date.now();
    let status = 0;
    while (Date.now() - t0 < 25_000) {
      try {
        status = (await fetch(ex.url, { signal: AbortSignal.timeout(2_000) })).status;
        if (status === 200) break;
      } catch { /* reset or refused while the slots are taken */ }
      await sleep(500);
    }
    assert.equal(status, 200, "no scrape got through within 25 s of 300 idle connections");
    assert.ok(Date.now() - t0 < 15_000, `the first scrape got through after ${Date.now() - t0} ms`);
  } finally {
    for (const s of idle) s.destroy();
    await ex.stop();
  }
}, { skip: once });

// ---- one target of the CPython under test -----------------------------------------------------------------------

test(
  "exporter: a target of the CPython under test — figures equal its own sys._debugmallocstats(), promtool accepts the output",
  async () => {
    const t = await startTarget(underTest.exe!);
    const ex = await startExporter(["--listen", "127.0.0.1:0", "--match", MARK]);
    try {
      // Pinned bytes by type are computed in the background by a worker of their own: they join a later scrape.
      let text = "";
      for (const until = Date.now() + 30_000; Date.now() < until; await sleep(200)) {
        text = await (await fetch(ex.url, { headers: { accept: "text/plain;version=0.0.4" } })).text();
        if (/^python_pymalloc_pinned_by_type_bytes\{/m.test(text)) break;
      }
      const stats = t.stats();
      const l = { pid: String(t.pid) };
      assert.equal(one(text, "python_pymalloc_arenas", l), stats.values["# arenas allocated current"]);
      assert.equal(one(text, "python_pymalloc_blocks_in_use", l), blocksOf(stats));
      assert.equal(one(text, "python_pymalloc_in_use_bytes", l), stats.values["# bytes in allocated blocks"]);
      assert.equal(
        one(text, "python_pymalloc_free_in_used_pools_bytes", l),
        stats.values["# bytes in available blocks"],
      );
      assert.equal(
        one(text, "python_pymalloc_pools", { ...l, state: "used" }),
        stats.sizeClasses!.reduce((a, r) => a + r.pools, 0),
      );
      const info = samples(text, "python_process_info").find((s) => s.labels.pid === l.pid)!;
      assert.equal(info.labels.exe, basename(fs.realpathSync(underTest.exe!)));
      assert.match(info.labels.python, /^3\.\d+\.\d+/);
      // A stripped build (Debian's python3.11) cannot name its allocator (no symbol for the function it points at):
      // the label then says "unknown", as attachPython() does (null), never a guess.
      assert.ok(info.labels.allocator === "pymalloc" || info.labels.allocator === "unknown", info.labels.allocator);
      assert.match(info.labels.cmd, /target\.py/);
      assert.ok(one(text, "python_process_resident_memory_bytes", l) > 1 << 20);
      // Pinned bytes by type (--top-types, default 5): at most 5 series, positive, within the arenas' bytes.
      const pinned = samples(text, "python_pymalloc_pinned_by_type_bytes").filter((s) => s.labels.pid === l.pid);
      assert.ok(pinned.length >= 1 && pinned.length <= 5, `${pinned.length} pinned-by-type series`);
      assert.ok(pinned.every((s) => s.value > 0 && s.labels.type.length > 0));
      assert.ok(pinned.reduce((a, s) => a + s.value, 0) <= one(text, "python_pymalloc_arena_bytes", l));
      // ... with the time they were computed, in this test's lifetime.
      const typesAt = one(text, "python_pymalloc_pinned_by_type_timestamp_seconds", l);
      assert.ok(Math.abs(Date.now() / 1000 - typesAt) < 60, String(typesAt));
      assert.equal(one(text, "pymem_exporter_processes_mapped"), 1);
      assert.equal(one(text, "pymem_exporter_processes_seen") - one(text, "pymem_exporter_processes_skipped"), 1);
      if (has("/usr/bin/promtool")) {
        const check = spawnSync("/usr/bin/promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
        assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
      }
      const om = await fetch(ex.url, { headers: { accept: "application/openmetrics-text;version=1.0.0" } });
      assert.match(om.headers.get("content-type")!, /application\/openmetrics-text/);
      assert.match(await om.text(), /# EOF\n$/);
    } finally {
      await ex.stop();
      await t.stop();
    }
  },
  { skip: !underTest.exe && `no interpreter found for ${process.env.PYMEM_LIBPYTHON}` },
);

// ---- failures that must not fail the scrape ---------------------------------------------------------------------

test(
  "exporter: a target killed mid-scrape (after discovery, before its read) is a counted error, the scrape succeeds",
  async () => {
    const a = await startTarget(underTest.exe!), b = await startTarget(underTest.exe!);
    const scraper = new Scraper({ match: MARK, workers: 1 });
    try {
      await scraper.start();
      // A first scrape knows both as Python; in the second, discovery sees both and one dies before the workers read it.
      const first = await scraper.collect(scraper.discover());
      assert.deepEqual(
        first.targets.map((t) => t.pid).filter((p) => p === a.pid || p === b.pid).sort(),
        [a.pid, b.pid].sort(),
      );
      const procs = scraper.discover().filter((p) => p.pid === a.pid || p.pid === b.pid);
      assert.equal(procs.length, 2);
      b.child.kill("SIGKILL");
      await new Promise((r) => b.child.once("exit", r));
      const r = await scraper.collect(procs);
      assert.deepEqual(r.targets.map((t) => t.pid), [a.pid]);
      assert.deepEqual(r.errors.map((e) => [e.pid, e.reason]), [[b.pid, "exited"]]);
      assert.equal(r.seen, 2);
      assert.equal(scraper.errors.exited, 1);
      // A whole scrape after that: the dead one is simply gone, the live one still read (from the cache).
      // Two scrapes asked at once (two Prometheus servers) each answer, with the same figures.
      for (const set of await Promise.all([scraper.scrape(), scraper.scrape()])) {
        const text = encode(set, "prometheus");
        assert.equal(one(text, "pymem_exporter_errors_total", { reason: "exited" }), 1);
        assert.equal(
          one(text, "python_pymalloc_arenas", { pid: String(a.pid) }),
          a.stats().values["# arenas allocated current"],
        );
      }
    } finally {
      scraper.close();
      await a.stop();
      await b.stop();
    }
  },
  { skip: once || (!underTest.exe && "no interpreter") },
);

test(
  "exporter: a scrape answers by its own deadline; reads it did not wait for go on and serve the next scrape; a later scraper with a short budget joining a long scrape answers in its budget",
  async () => {
    const a = await startTarget(underTest.exe!, { n: 1000 }), b = await startTarget(underTest.exe!, { n: 1000 });
    const scraper = new Scraper({ match: MARK, workers: 1 });
    try {
      await scraper.start();
      const procs = scraper.discover().filter((p) => p.pid === a.pid || p.pid === b.pid);
      assert.equal(procs.length, 2);
      // A long scrape (no deadline: it waits for every read) and, while it runs, one with 1 ms: no first read (an
      // attachment: the target's maps, its libpython's symbols) is done in 1 ms.
      const long = scraper.collect(procs);
      const t0 = performance.now();
      const quick = await scraper.collect(procs, 1);
      const ms = performance.now() - t0;
      assert.ok(ms < 500, `the 1 ms scrape took ${ms.toFixed(0)} ms`);
      assert.equal(quick.pending, 2);
      assert.equal(quick.partial, true);
      assert.deepEqual([quick.targets.length, quick.errors.length], [0, 0]);
      const full = await long;
      assert.deepEqual([full.targets.length, full.pending, full.partial], [2, 0, false]);
      // The next 1 ms scrape sends new reads (they will not be done in 1 ms) and serves the last ones, carried, as
      // they were: nothing was killed, no error counted.
      const set = await scraper.scrape(1);
      const text = encode(set, "prometheus");
      for (const t of [a, b]) {
        const l = { pid: String(t.pid) };
        assert.equal(one(text, "python_pymalloc_up", l), 1);
        assert.equal(one(text, "python_pymalloc_arenas", l), t.stats().values["# arenas allocated current"]);
        assert.equal(one(text, "python_pymalloc_blocks_in_use", l), blocksOf(t.stats()));
      }
      assert.equal(one(text, "pymem_exporter_scrape_partial"), 1);
      assert.ok(one(text, "pymem_exporter_processes_carried") >= 2);
      assert.equal(one(text, "pymem_exporter_worker_restarts_total"), 0);
      assert.equal(one(text, "pymem_exporter_reads_killed_total", { lane: "heap" }), 0);
      assert.equal(samples(text, "pymem_exporter_errors_total").reduce((n, s) => n + s.value, 0), 0);
      assert.equal(one(text, "pymem_exporter_scrape_budget_seconds"), 0.001);
    } finally {
      scraper.close();
      await a.stop();
      await b.stop();
    }
  },
  { skip: once || (!underTest.exe && "no interpreter") },
);

/** An interpreter `nobody` may run (pyenv trees under /root are not readable to it), or undefined. */
function pythonForNobody(): string | undefined {
  const tryExe = (exe: string) =>
    has(exe) &&
    spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", exe, "-c", "pass"], { stdio: "ignore" })
        .status === 0;
  for (const exe of ["/usr/bin/python3", "/usr/local/bin/python3"]) if (tryExe(exe)) return exe;
  return discoverPythons().map((p) => p.executable).find((e): e is string => !!e && tryExe(e));
}

test(
  "exporter: another user's process is a counted permission error (exporter without CAP_SYS_PTRACE), the scrape succeeds",
  async () => {
    // Root reads everything (CAP_SYS_PTRACE). The exporter runs as root without that capability, so it may read
    // processes of its own uid whose capabilities are no more than its own, and not a process of uid 65534.
    const noPtrace = ["setpriv", "--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace", "--"];
    const mine = await startTarget(underTest.exe!, { wrap: noPtrace });
    const exe = pythonForNobody();
    assert.ok(exe, "no interpreter that uid 65534 may run (pyenv trees under a 0700 home are not)");
    const outDir = join(tmp, "nobody");
    fs.mkdirSync(outDir, { recursive: true });
    fs.chmodSync(outDir, 0o777);
    const theirs = await startTarget(exe, {
      wrap: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"],
      n: 1000,
      outDir,
    });
    const ex = await startExporter(["--listen", "127.0.0.1:0", "--match", MARK], noPtrace);
    try {
      const text = await (await fetch(ex.url)).text();
      assert.equal(one(text, "pymem_exporter_errors_total", { reason: "permission" }), 1, text);
      // The host's other Python processes (other users of this machine) are seen and skipped by --match.
      assert.equal(one(text, "pymem_exporter_processes_seen") - one(text, "pymem_exporter_processes_skipped"), 2);
      assert.equal(one(text, "pymem_exporter_processes_mapped"), 1);
      assert.equal(
        one(text, "python_pymalloc_arenas", { pid: String(mine.pid) }),
        mine.stats().values["# arenas allocated current"],
      );
      assert.equal(
        samples(text, "python_pymalloc_arenas").filter((s) => s.labels.pid === String(theirs.pid)).length,
        0,
      );
      // Status is checked by the exporter, not guessed: the capability really is gone in it.
      const caps = fs.readFileSync(`/proc/${ex.child.pid}/status`, "utf8");
      assert.equal(
        (BigInt(`0x${/^CapEff:\s+(\w+)/m.exec(caps)![1]}`) >> 19n) & 1n,
        0n,
        "CAP_SYS_PTRACE (19) is not effective",
      );
    } finally {
      await ex.stop();
      await mine.stop();
      await theirs.stop();
    }
  },
  {
    skip: once || (!isRoot && "needs root to run targets as another user") ||
      (!has("/usr/bin/setpriv") && "setpriv (util-linux) not found") || (!underTest.exe && "no interpreter"),
  },
);

test(
  "exporter: a read over --timeout (its hard limit) is a counted timeout, its worker is replaced, the scrape succeeds; then it is backed off",
  async () => {
    const big = await startTarget(underTest.exe!, { n: 600_000 });
    const ex = await startExporter([
      "--listen",
      "127.0.0.1:0",
      "--pid",
      String(big.pid),
      "--timeout",
      "0.001",
      "--workers",
      "1",
    ]);
    try {
      for (let round = 1; round <= 2; round++) {
        const t0 = performance.now();
        const res = await fetch(ex.url);
        const ms = performance.now() - t0;
        assert.equal(res.status, 200);
        const text = await res.text();
        // One failed read, one count: the second scrape does not send it to a worker again (TIMEOUT_BACKOFF_MS);
        // it shows the target down for that reason, without a new kill or a new count.
        assert.equal(one(text, "pymem_exporter_errors_total", { reason: "timeout" }), 1);
        assert.equal(one(text, "pymem_exporter_target_error_info", { pid: String(big.pid), reason: "timeout" }), 1);
        assert.equal(one(text, "pymem_exporter_worker_restarts_total"), 1);
        assert.equal(one(text, "pymem_exporter_reads_killed_total", { lane: "heap" }), 1);
        assert.equal(one(text, "pymem_exporter_processes_mapped"), 0);
        // The deadline bounds the scrape: 1 ms for the target, plus the HTTP round trip and the encoding.
        assert.ok(ms < 2000, `scrape took ${ms.toFixed(0)} ms`);
      }
    } finally {
      await ex.stop();
      await big.stop();
    }
  },
  { skip: once || (!underTest.exe && "no interpreter") },
);

test(
  "exporter: any X-Prometheus-Scrape-Timeout-Seconds (huge, 1e308, NaN, -1, Infinity, garbage) leaves the scrape whole",
  async () => {
    // A budget beyond the timer range (2^31-1 ms) made the scrape's timer fire at once: every target a timeout.
    const t = await startTarget(underTest.exe!, { n: 1000 });
    const ex = await startExporter([
      "--listen",
      "127.0.0.1:0",
      "--pid",
      String(t.pid),
      "--workers",
      "1",
      "--timeout",
      "60",
    ]);
    try {
      for (
        const asked of ["3000000", "1e308", "2147484", "NaN", "-1", "Infinity", "-Infinity", "0", "1e-300", "x", " "]
      ) {
        const res = await fetch(ex.url, { headers: { "x-prometheus-scrape-timeout-seconds": asked } });
        assert.equal(res.status, 200, asked);
        const text = await res.text();
        assert.equal(one(text, "pymem_exporter_processes_mapped"), 1, `header ${asked}: ${ex.stderr()}`);
        assert.equal(one(text, "pymem_exporter_errors_total", { reason: "timeout" }), 0, asked);
        assert.equal(one(text, "pymem_exporter_worker_restarts_total"), 0, asked);
      }
    } finally {
      await ex.stop();
      await t.stop();
    }
  },
  { skip: once || (!underTest.exe && "no interpreter") },
);

test("exporter: the request's scrape budget is clamped; Scraper refuses deadlines and timeouts it cannot keep", async () => {
  assert.equal(askedScrapeSeconds("3000000"), MAX_SCRAPE_SECONDS);
  assert.equal(askedScrapeSeconds("1e308"), MAX_SCRAPE_SECONDS);
  for (const bad of ["NaN", "-1", "0", "", "Infinity", "x", undefined, ["5", "6"]]) {
    assert.equal(askedScrapeSeconds(bad), bad === "Infinity" ? MAX_SCRAPE_SECONDS : Infinity, String(bad));
  }
  assert.equal(askedScrapeSeconds("10"), 9);
  assert.equal(askedScrapeSeconds("4"), 3.5);
  assert.equal(askedScrapeSeconds("0.01"), 0.1);
  assert.throws(() => new Scraper({ timeoutMs: MAX_TIMER_MS + 1 }), RangeError);
  assert.throws(() => new Scraper({ timeoutMs: 1e308 }), RangeError);
  const s = new Scraper({ pids: [process.pid] });
  try {
    for (const bad of [NaN, -1, 0]) await assert.rejects(s.collect([], bad), RangeError);
    // A deadline beyond the timer range is cut to it: the scrape of nothing still completes.
    assert.equal((await s.collect([], 1e308)).errors.length, 0);
  } finally {
    s.close();
  }
});

test(
  "exporter: a process without an obmalloc heap (PYTHONMALLOC=malloc) is mapped: its allocator and RSS, no pymalloc series",
  async () => {
    const t = await startTarget(underTest.exe!, { n: 1000, env: { PYTHONMALLOC: "malloc" } });
    const ex = await startExporter(["--listen", "127.0.0.1:0", "--pid", String(t.pid)]);
    try {
      const text = await (await fetch(ex.url)).text();
      const l = { pid: String(t.pid) };
      assert.equal(one(text, "python_process_info", { ...l, allocator: "malloc" }), 1);
      assert.ok(one(text, "python_process_resident_memory_bytes", l) > 0);
      assert.equal(one(text, "pymem_exporter_processes_mapped"), 1);
      for (const name of FAMILY_NAMES.filter((n) => n.startsWith("python_pymalloc_"))) {
        assert.equal(samples(text, name).length + samples(text, `${name}_total`).length, 0, name);
      }
    } finally {
      await ex.stop();
      await t.stop();
    }
  },
  { skip: once || (!underTest.exe && "no interpreter") },
);

/** CPython 3.x interpreters older than 3.8 on this machine (pyenv versions, /usr/bin, /usr/local/bin), one per minor. */
function oldPythons(): { exe: string; minor: number }[] {
  let root = process.env.PYENV_ROOT;
  try {
    root ||= execFileSync("pyenv", ["root"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    root = join(os.homedir(), ".pyenv");
  }
  const ls = (d: string) => {
    try {
      return fs.readdirSync(d).sort();
    } catch {
      return [];
    }
  };
  const cands = [
    ...ls(join(root, "versions")).map((v) => join(root!, "versions", v, "bin", "python3")),
    ...["/usr/bin", "/usr/local/bin"].flatMap((d) =>
      ls(d).filter((f) => /^python3\.[0-7]$/.test(f)).map((f) => join(d, f))
    ),
  ];
  const out = new Map<number, string>();
  for (const exe of cands) {
    if (!has(exe)) continue;
    try {
      const v = execFileSync(exe, ["-c", "import sys; print(sys.version_info[0] * 100 + sys.version_info[1])"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      const n = Number(v.trim());
      if (n >= 300 && n < 308 && !out.has(n)) out.set(n, exe);
    } catch { /* not runnable */ }
  }
  return [...out].map(([n, exe]) => ({ exe, minor: n % 100 }));
}

test(
  "exporter: a CPython older than 3.8 is listed as unsupported, not an error; --exclude counts as skipped",
  async () => {
    const old = oldPythons();
    const targets = await Promise.all(old.map((o) => startTarget(o.exe, { n: 1000 })));
    // Left out by --exclude on its own argument (its stats file's path).
    const excluded = await startTarget(underTest.exe!, { n: 1000 });
    const ex = await startExporter(["--listen", "127.0.0.1:0", "--match", MARK, "--exclude", `${excluded.out}\\b`]);
    try {
      for (let round = 1; round <= 2; round++) {
        const text = await (await fetch(ex.url)).text();
        assert.equal(one(text, "pymem_exporter_processes_unsupported", { reason: "python_version" }), old.length, text);
        for (const e of samples(text, "pymem_exporter_errors_total")) assert.equal(e.value, 0, text);
        assert.equal(one(text, "pymem_exporter_processes_mapped"), 0);
        assert.equal(
          one(text, "pymem_exporter_processes_seen") - one(text, "pymem_exporter_processes_skipped"),
          old.length,
        );
        assert.equal(
          samples(text, "python_process_info").filter((s) => s.labels.pid === String(excluded.pid)).length,
          0,
        );
      }
    } finally {
      await ex.stop();
      for (const t of [...targets, excluded]) await t.stop();
    }
  },
  {
    skip: once || (!underTest.exe && "no interpreter") ||
      (oldPythons().length === 0 && "no CPython 3.0–3.7 on this machine (pyenv install 3.7 to run it)"),
  },
);

// ---- a real Prometheus and a real node_exporter -----------------------------------------------------------------

/** Three CPython versions of different minors (oldest, middle, newest found), with their interpreters. */
function threeVersions(): { target: PythonTarget; exe: string }[] {
  const byMinor = new Map<number, { target: PythonTarget; exe: string }>();
  for (const t of discoverPythons()) {
    if (byMinor.has(t.minor)) continue;
    const exe = interpreterFor(t);
    if (exe) byMinor.set(t.minor, { target: t, exe });
  }
  const all = [...byMinor.values()];
  if (all.length < 3) return all;
  return [all[0], all[all.length >> 1], all[all.length - 1]];
}

/**
 * Start `exe` in its own mount namespace, from a path that exists only there: its prefix bind-mounted on an empty
 * directory, libpython loaded from that path (LD_LIBRARY_PATH beats the RUNPATH), so the exporter must open the
 * image through /proc/PID/root, as for a container.
 */
function namespaced(
  exe: string,
  library: string,
): { wrap: string[]; exe: string; env: Record<string, string> } | undefined {
  const prefix = dirname(dirname(fs.realpathSync(exe)));
  const lib = fs.realpathSync(library);
  if (!lib.startsWith(`${prefix}/`) || prefix === "/usr" || prefix === "/") return undefined;
  const mnt = join(tmp, "ns-prefix");
  fs.mkdirSync(mnt, { recursive: true });
  const inner = join(mnt, fs.realpathSync(exe).slice(prefix.length));
  return {
    wrap: [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$1" "$2" && shift 2 && exec "$@"',
      "sh",
      prefix,
      mnt,
      "env",
      `LD_LIBRARY_PATH=${join(mnt, dirname(lib).slice(prefix.length))}`,
    ],
    exe: inner,
    env: {},
  };
}

async function promQuery(
  base: string,
  q: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json() as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data.result;
}

const PROM = "/usr/bin/prometheus", NODE_EXPORTER = "/usr/bin/prometheus-node-exporter";

test(
  "exporter: a real Prometheus scrapes pymem exporter and node_exporter's textfile; three CPython versions (one in its own mount namespace) match their own statistics",
  async () => {
    const versions = threeVersions();
    assert.ok(versions.length >= 3, `three CPython minors needed, found ${versions.map((v) => v.target.version)}`);
    const targets: { t: Target; version: string; ns: boolean }[] = [];
    const procs: ChildProcess[] = [];
    let ex: Exporter | undefined, tf: Exporter | undefined;
    try {
      // The first version found that can run from a namespace-only path runs there; the others plainly.
      let nsDone = false;
      for (const v of versions) {
        const ns: ReturnType<typeof namespaced> = !nsDone ? namespaced(v.exe, v.target.library) : undefined;
        const t = ns ? await startTarget(ns.exe, { wrap: ns.wrap, env: ns.env }) : await startTarget(v.exe);
        nsDone ||= !!ns;
        targets.push({ t, version: v.target.version, ns: !!ns });
      }
      assert.ok(nsDone, "no target could run from a namespace-only path");
      const nsTarget = targets.find((x) => x.ns)!;
      assert.notEqual(fs.readlinkSync(`/proc/${nsTarget.t.pid}/ns/mnt`), fs.readlinkSync("/proc/self/ns/mnt"));
      const image = fs.readFileSync(`/proc/${nsTarget.t.pid}/maps`, "utf8").split("\n").find((l) =>
        /libpython/.test(l)
      )!.split(/\s+/).pop()!;
      assert.ok(!has(image), `${image} exists outside the namespace`);

      ex = await startExporter(["--listen", "127.0.0.1:0", "--match", MARK]);
      const dir = join(tmp, "textfile");
      fs.mkdirSync(dir);
      tf = await startExporter(["--textfile", dir, "--interval", "1", "--match", MARK]);
      const nodePort = await freePort();
      const node = spawn(NODE_EXPORTER, [
        `--web.listen-address=127.0.0.1:${nodePort}`,
        "--collector.disable-defaults",
        "--collector.textfile",
        `--collector.textfile.directory=${dir}`,
        "--log.level=warn",
      ], { stdio: "ignore" });
      procs.push(node);
      children.push(node);
      const promPort = await freePort();
      const target = new URL(ex.url).host;
      fs.writeFileSync(
        join(tmp, "prometheus.yml"),
        [
          "global: { scrape_interval: 2s, scrape_timeout: 2s }",
          "scrape_configs:",
          `  - { job_name: pymem, static_configs: [ { targets: ['${target}'] } ] }`,
          `  - { job_name: node, static_configs: [ { targets: ['127.0.0.1:${nodePort}'] } ] }`,
          "",
        ].join("\n"),
      );
      const prom = spawn(PROM, [
        `--config.file=${join(tmp, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(tmp, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        "--log.level=warn",
      ], { stdio: "ignore" });
      procs.push(prom);
      children.push(prom);
      const base = `http://127.0.0.1:${promPort}`;

      // Two scrapes of each job, both up.
      const t0 = Date.now();
      for (;;) {
        let ok = false;
        try {
          const r = await promQuery(base, "count_over_time(up[1m]) >= 2 and up == 1");
          ok = ["pymem", "node"].every((j) => r.some((x) => x.metric.job === j));
        } catch { /* not up yet */ }
        if (ok) break;
        assert.ok(
          Date.now() - t0 < 60_000,
          `Prometheus did not scrape both jobs twice within 60 s; exporter: ${ex.stderr()}`,
        );
        await sleep(500);
      }
      const value = async (job: string, name: string, pid: number) => {
        const r = await promQuery(base, `${name}{job="${job}",pid="${pid}"}`);
        assert.equal(r.length, 1, `${name}{job="${job}",pid="${pid}"}: ${JSON.stringify(r)}`);
        return { value: Number(r[0].value[1]), labels: r[0].metric };
      };
      for (const { t, version } of targets) {
        const stats = t.stats();
        for (const job of ["pymem", "node"]) {
          const arenas = await value(job, "python_pymalloc_arenas", t.pid);
          assert.equal(arenas.value, stats.values["# arenas allocated current"], `${job} ${version} arenas`);
          assert.equal(arenas.labels.python, version);
          assert.equal(
            (await value(job, "python_pymalloc_blocks_in_use", t.pid)).value,
            blocksOf(stats),
            `${job} ${version} blocks`,
          );
          assert.equal(
            (await value(job, "python_pymalloc_in_use_bytes", t.pid)).value,
            stats.values["# bytes in allocated blocks"],
            `${job} ${version} bytes`,
          );
        }
      }
      assert.equal(Number((await promQuery(base, 'pymem_exporter_processes_mapped{job="pymem"}'))[0].value[1]), 3);
      assert.equal(Number((await promQuery(base, 'sum(pymem_exporter_errors_total{job="pymem"})'))[0].value[1]), 0);
      assert.equal(Number((await promQuery(base, 'node_textfile_scrape_error{job="node"}'))[0].value[1]), 0);
      const check = spawnSync("/usr/bin/promtool", ["check", "metrics"], {
        input: fs.readFileSync(join(dir, "pymem.prom")),
        encoding: "utf8",
      });
      assert.equal(check.status, 0, `promtool check metrics (textfile): ${check.stdout}${check.stderr}`);
    } finally {
      for (const p of procs) p.kill("SIGTERM");
      await ex?.stop();
      await tf?.stop();
      for (const { t } of targets) await t.stop();
    }
  },
  {
    skip: (once && `${once} (it starts its own targets of three CPython versions, whatever the library under test)`) ||
      (!has(PROM) && "Prometheus not installed (Debian package prometheus)") ||
      (!has(NODE_EXPORTER) && "node_exporter not installed (Debian package prometheus-node-exporter)") ||
      (!has("/usr/bin/promtool") && "promtool not installed (Debian package prometheus)") ||
      (!isRoot && "needs root for a target in its own mount namespace (unshare -m)"),
  },
);

test("exporter: cleanup", async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL");
      await new Promise((r) => c.once("exit", r));
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});
