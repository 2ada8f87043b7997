/**
 * The arena size read from the heap (lib/arenasize.ts) and the allocator name of a stripped attach target
 * (lib/linktime.ts): against the library under test, statically linked stripped interpreters found on this machine
 * (Debian's /usr/bin/python3.X) and, when the unpacked Debian sid root (tests/pythons.ts SID_ROOT) has (its pymem-sid.json), its
 * python3.14/3.15 run under that root's loader.
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { assert, python, test } from "./_harness.ts";
import { attachPython, PymemError } from "../lib/mod.ts";
import { detectArenaSize } from "../lib/obmalloc/arenasize.ts";
import { parseDebugMallocStats } from "../lib/obmalloc/stats.ts";
import { ElfFile } from "../lib/machine/elf.ts";
import { layoutFor, stateOffsets } from "../lib/obmalloc/layout.ts";
import { SID_ROOT } from "./pythons.ts";

const py = await python();
const minor = py.version.minor;

test("the arena size in use is read from the heap and equals what CPython prints (bytes/arena)", () => {
  const stats = py.debugMallocStats();
  assert.equal(py.layout.arenaSize, stats.arenaSize);
  if (py.layout.state !== "static") assert.match(py.layout.arenaSizeHow, /checked against the heap/);
  // The counters read at the layout's offsets are CPython's own.
  const snap = py.heap();
  assert.equal(
    snap.info.counters.narenasCurrentlyAllocated ?? snap.totals.arenas,
    stats.values["# arenas allocated current"],
  );
});

/** A fake address space over bytes, for states of a geometry no library here was built with. */
function space(size: number) {
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  const base = 0x10000n;
  return {
    base,
    set64: (a: bigint, x: bigint) => v.setBigUint64(Number(a - base), x, true),
    set32: (a: bigint, x: number) => v.setUint32(Number(a - base), x, true),
    probe: {
      safeRead: (
        a: bigint,
        n: number,
      ) => (a >= base && a + BigInt(n) <= base + BigInt(size)
        ? bytes.slice(Number(a - base), Number(a - base) + n)
        : null),
    },
  };
}

test("2 MiB arenas (3.15 --with-pymalloc-hugepages): MAX_POOLS_IN_ARENA 128 moves every field after nfp2lasta", () => {
  // No such build can be had here: this state is laid out as offsetof() gives it against sid's 3.15.2 headers with
  // PYMALLOC_USE_HUGEPAGES defined (narenas_currently_allocated @1576, raw_allocated_blocks @1600).
  const o = stateOffsets(128);
  assert.equal(o.narenasCurrentlyAllocated, 1576);
  assert.equal(o.rawAllocatedBlocks, 1600);
  assert.equal(o.arenaMapRoot, 1608);
  assert.equal(stateOffsets(64).narenasCurrentlyAllocated, 1064);
  const base = layoutFor(15, "test");
  const m = space(1 << 16);
  const state = m.base, table = m.base + 0x4000n;
  m.set64(state + 0x200n, table);
  m.set32(state + 0x208n, 4);
  const arenas = [0x7f0000000000n, 0x7f0000200000n];
  arenas.forEach((a, i) => {
    const e = table + BigInt(48 * i);
    m.set64(e, a);
    m.set64(e + 8n, a + (10n << 14n));
    m.set32(e + 16n, 100);
    m.set32(e + 20n, i === 0 ? 128 : 127);
  });
  m.set64(state + 1576n, 2n);
  const l = detectArenaSize(m.probe, state, base, true, "test state");
  assert.equal(l.arenaSize, 2 << 20);
  assert.equal(l.offsets.narenasCurrentlyAllocated, 1576);
  assert.match(l.arenaSizeHow, /128 pools per arena/);
  // The counter disagreeing with the arena table: refused, not read at a guessed offset.
  m.set64(state + 1576n, 5n);
  assert.throws(
    () => detectArenaSize(m.probe, state, base, true, "test state"),
    (e: unknown) =>
      e instanceof PymemError && e.code === "UNSUPPORTED" && /narenas_currently_allocated/.test(e.message),
  );
  // Arenas larger than any configuration: refused.
  m.set32(table + 20n, 1000);
  assert.throws(
    () => detectArenaSize(m.probe, state, base, true, "test state"),
    (e: unknown) => e instanceof PymemError && /fits no arena size/.test(e.message),
  );
});

test("attach to this very process names the allocator as CPython does (stripped libraries: from the compiled-in tables)", async () => {
  const name = py.allocatorName();
  using self = await attachPython(process.pid);
  assert.equal(self.allocatorName(), name, self.debugInfo.allocator.how);
});

/** Statically linked, stripped interpreters of the minor under test: [argv prefix, label]. */
function staticTargets(): { argv: string[]; label: string }[] {
  const out: { argv: string[]; label: string }[] = [];
  const consider = (exe: string, prefix: string[], label: string) => {
    try {
      const elf = ElfFile.open(exe);
      try {
        if (!elf.hasSymtab && elf.dynamicSymbol("_PyRuntime")) out.push({ argv: [...prefix, exe], label });
      } finally {
        elf.close();
      }
    } catch { /* not ELF, unreadable */ }
  };
  for (const d of ["/usr/bin", "/usr/local/bin"]) {
    if (existsSync(`${d}/python3.${minor}`)) consider(`${d}/python3.${minor}`, [], `${d}/python3.${minor}`);
  }
  const root = SID_ROOT;
  if (root && existsSync(join(root, "pymem-sid.json"))) {
    const m = JSON.parse(readFileSync(join(root, "pymem-sid.json"), "utf8")) as {
      loader: string;
      libraryPath: string[];
      pythons: { minor: string; executable: string }[];
    };
    for (const p of m.pythons) {
      if (p.minor !== `3.${minor}`) continue;
      // "/./": Deno rewrites the arguments of a command equal to its execPath, which is this loader when the test
      // itself runs under it (see tests/_self_spawn.ts).
      consider(join(root, p.executable), [
        join(root, m.loader).replace(/\/([^/]+)$/, "/./$1"),
        "--library-path",
        m.libraryPath.map((d) => join(root, d)).join(":"),
      ], `sid ${p.executable}`);
    }
  }
  return out;
}
const targets = staticTargets();
const tmp = mkdtempSync(join(os.tmpdir(), "pymem-geometry-"));

// The target fragments its heap, writes its own _debugmallocstats to a file (fd 2 pointed there), then waits in
// signal.pause() having allocated nothing since: the attach rows must equal those rows exactly.
const TARGET = `import sys, os, signal
junk = [b'x' * (i % 200) if i % 3 else (i, float(i)) for i in range(100000)]
del junk[::2]
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
ready = os.open(sys.argv[1] + '.ready', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
w, dup2, stats, pause, one = os.write, os.dup2, sys._debugmallocstats, signal.pause, b'1'
dup2(out, 2)
stats()
w(ready, one)
pause()
`;

async function withTarget(
  argv: string[],
  env: Record<string, string>,
  fn: (pid: number, stats: string) => Promise<void>,
): Promise<void> {
  const out = join(tmp, `stats-${Math.random()}`);
  const ready = `${out}.ready`;
  const child = spawn(argv[0], [...argv.slice(1), "-c", TARGET, out], {
    stdio: "ignore",
    env: { ...process.env, ...env },
  });
  try {
    for (let i = 0; i < 400 && !(existsSync(ready) && readFileSync(ready, "utf8") === "1"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(existsSync(ready), `${argv.join(" ")} started`);
    await fn(child.pid!, readFileSync(out, "utf8"));
  } finally {
    child.kill("SIGKILL");
  }
}

for (const t of targets.length ? targets : [{ argv: [], label: "" }]) {
  test(
    `stripped statically linked target ${
      t.label || `python3.${minor}`
    }: pymalloc, pymalloc_debug, malloc, malloc_debug named; heap rows = its own`,
    async () => {
      for (
        const [mode, want] of [["", "pymalloc"], ["pymalloc_debug", "pymalloc_debug"], ["malloc", "malloc"], [
          "malloc_debug",
          "malloc_debug",
        ]]
      ) {
        await withTarget(t.argv, mode ? { PYTHONMALLOC: mode } : {}, async (pid, text) => {
          using a = await attachPython(pid);
          assert.equal(a.debugInfo.stripped, true);
          assert.equal(a.allocatorName(), want, `${mode || "default"}: ${a.debugInfo.allocator.how}`);
          if (want === "pymalloc") assert.deepEqual(a.heap().sizeClasses, parseDebugMallocStats(text).sizeClasses);
        });
      }
    },
    {
      skip: targets.length
        ? false
        : `no statically linked stripped python3.${minor} here (Debian's /usr/bin/python3.X; sid's in the unpacked sid root, .ci/sid-pythons.sh)`,
    },
  );
}

test("cleanup", () => rmSync(tmp, { recursive: true, force: true }));
