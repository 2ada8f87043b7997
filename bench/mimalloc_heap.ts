/**
 * Benchmark: mapping a 1 GiB mimalloc heap (PYTHONMALLOC=mimalloc) beside the obmalloc map of the same bytes, in-process
 * and by attach. Goal: the mimalloc map within 1.5x of the obmalloc one.
 *
 *   bun bench/mimalloc_heap.ts [python executable] [GiB] [--json FILE]   (default: python3.13 on PATH, 1 GiB)
 *   deno run -A bench/mimalloc_heap.ts …    node dist/bench/mimalloc_heap.js …
 *
 * Both heaps hold bytes(470) objects (503 bytes: obmalloc's 512-byte class, mimalloc's 512-byte bin). By attach, one
 * target per allocator, parked; in-process, this script runs itself once per allocator (one libpython per process,
 * its allocator chosen before start-up) with PYMEM_LIBPYTHON naming the executable's library. Each figure is the
 * median and the fastest of 40 maps after one warm-up; the ratio is of the fastest.
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { attachPython, openPython } from "../lib/mod.ts";
import { runtimeKind } from "../lib/core/runtime.ts";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const code = (gib: number) => `keep = [bytes(470) for _ in range(${Math.ceil((gib * 2 ** 30) / 512)})]`;

/** Median and fastest of 40 maps after a warm-up (the fastest is the one a loaded machine disturbs least). */
function timed(f: () => void): { ms: number; min: number } {
  f(); // warm-up: ELF tables, libc, first reads
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), min: Math.min(...times) };
}

// The in-process half: `--in-process ALLOCATOR GIB` prints one JSON line.
const inproc = process.argv.indexOf("--in-process");
if (inproc > 0) {
  const allocator = process.argv[inproc + 1] as "mimalloc" | "pymalloc";
  const gib = Number(process.argv[inproc + 2]);
  const py = await openPython({ allocator });
  py.run(code(gib));
  const t = allocator === "mimalloc" ? timed(() => py.mimallocHeap()) : timed(() => py.heap());
  const bytes = allocator === "mimalloc" ? py.mimallocHeap().totals.bytesInUse : py.heap().totals.bytesInUse;
  console.log(JSON.stringify({ allocator, ...t, bytes }));
  process.exit(0);
}

const jsonAt = process.argv.indexOf("--json");
const positional = process.argv.slice(2).filter((_, i, a) => a[i] !== "--json" && a[i - 1] !== "--json");
const exe = positional[0] ?? process.env.PYMEM_BENCH_PYTHON ?? "python3.13";
const gib = Number(positional[1] ?? 1);
const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-bench-mi-"));

/** A parked target of `exe` under `allocator` holding `gib` GiB. */
async function target(allocator: string): Promise<{ pid: number; kill(): void }> {
  const ready = join(dir, allocator);
  const script = `import sys, signal\n${code(gib)}\nopen(sys.argv[1], 'w').write('1')\nsignal.pause()\n`;
  const child = spawn(exe, ["-c", script, ready], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, PYTHONMALLOC: allocator },
  });
  while (!fs.existsSync(ready) || fs.readFileSync(ready, "utf8") !== "1") {
    if (child.exitCode !== null) throw new Error(`${exe} (${allocator}) exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid!, kill: () => child.kill("SIGKILL") };
}

const result: Record<string, unknown> = { runtime: runtimeKind(), exe, gib };
// By attach, one target at a time (each holds `gib` GiB).
for (const allocator of ["pymalloc", "mimalloc"]) {
  const proc = await target(allocator);
  try {
    const a = await attachPython(proc.pid);
    const t = allocator === "mimalloc" ? timed(() => a.mimallocHeap()) : timed(() => a.heap());
    const bytes = allocator === "mimalloc" ? a.mimallocHeap().totals.bytesInUse : a.heap().totals.bytesInUse;
    result[`attach_${allocator}`] = { ...t, bytes };
    a.close();
  } finally {
    proc.kill();
  }
}
// In-process: this script again, with the executable's libpython.
const libdir = spawnSync(exe, ["-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"], {
  encoding: "utf8",
}).stdout.trim();
const ldlib = spawnSync(exe, ["-c", "import sysconfig; print(sysconfig.get_config_var('LDLIBRARY'))"], {
  encoding: "utf8",
}).stdout.trim();
const self = process.argv[1];
const g = globalThis as unknown as { Bun?: unknown; Deno?: { execPath(): string } };
const runtimeArgs = g.Bun ? [self] : g.Deno ? ["run", "-A", self] : [self];
for (const allocator of ["pymalloc", "mimalloc"]) {
  const r = spawnSync(g.Deno ? g.Deno.execPath() : process.execPath, [
    ...runtimeArgs,
    "--in-process",
    allocator,
    `${gib}`,
  ], {
    encoding: "utf8",
    env: { ...process.env, PYMEM_LIBPYTHON: join(libdir, ldlib) },
    maxBuffer: 1 << 20,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`in-process ${allocator}: ${r.stderr.slice(-2000)}`);
  result[`inprocess_${allocator}`] = JSON.parse(line);
}
fs.rmSync(dir, { recursive: true, force: true });
const ratio = (k: string) => {
  const m = result[`${k}_mimalloc`] as { min: number }, o = result[`${k}_pymalloc`] as { min: number };
  return m.min / o.min;
};
result.ratioAttach = ratio("attach");
result.ratioInProcess = ratio("inprocess");
for (const k of ["inprocess", "attach"]) {
  const m = result[`${k}_mimalloc`] as { ms: number; min: number; bytes: number };
  const o = result[`${k}_pymalloc`] as { ms: number; min: number; bytes: number };
  const f = (x: { ms: number; min: number }) => `${x.min.toFixed(1)} ms (median ${x.ms.toFixed(1)})`;
  console.log(
    `${k.padEnd(9)} obmalloc ${f(o)}, ${(o.bytes / 2 ** 30).toFixed(2)} GiB in use; ` +
      `mimalloc ${f(m)}, ${(m.bytes / 2 ** 30).toFixed(2)} GiB; ratio ${(m.min / o.min).toFixed(2)}x (goal ≤ 1.5x)`,
  );
}
if (jsonAt > 0) fs.writeFileSync(process.argv[jsonAt + 1], JSON.stringify(result, null, 2) + "\n");
