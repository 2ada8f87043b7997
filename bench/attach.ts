/**
 * Benchmark: attach to a Python process with ≥ 1 GiB of obmalloc arenas and map its whole heap.
 * Goal: ≤ 100 ms from attachPython(pid) to a full HeapSnapshot on Bun.
 *
 *   bun bench/attach.ts [python executable] [GiB] [--json FILE]   (default: python3 on PATH, 1.1 GiB)
 *   deno run -A bench/attach.ts …    node dist/bench/attach.js …
 *
 * Prints the time of the first (cold: ELF symbols parsed, libc opened) and of later attaches, and how many
 * system calls (process_vm_readv) one full map takes.
 * @module
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { attachPython } from "../lib/mod.ts";
import { runtimeKind } from "../lib/core/runtime.ts";

const jsonAt = process.argv.indexOf("--json");
const positional = process.argv.slice(2).filter((_, i, a) => a[i] !== "--json" && a[i - 1] !== "--json");
const exe = positional[0] ?? process.env.PYMEM_BENCH_PYTHON ?? "python3";
const gib = Number(positional[1] ?? 1.1);
const dir = fs.mkdtempSync(join(os.tmpdir(), "pymem-bench-"));
const ready = join(dir, "ready");
// bytes(470) objects are 503 bytes: the 512-byte class, 31 per 16 KiB pool; enough of them to fill `gib` GiB of arenas.
const count = Math.ceil((gib * 2 ** 30) / 512);
const script =
  `import sys, signal\nkeep = [bytes(470) for _ in range(${count})]\nopen(sys.argv[1], 'w').write('1')\nsignal.pause()\n`;
const child = spawn(exe, ["-c", script, ready], { stdio: ["ignore", "ignore", "inherit"] });
try {
  while (!fs.existsSync(ready) || fs.readFileSync(ready, "utf8") !== "1") {
    if (child.exitCode !== null) throw new Error(`${exe} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const runtime = runtimeKind();
  const times: number[] = [];
  let line = "";
  let facts: Record<string, unknown> = {};
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    const py = await attachPython(child.pid!);
    const snap = py.heap();
    const ms = performance.now() - t0;
    times.push(ms);
    if (i === 0) {
      const version = `${py.version.major}.${py.version.minor}.${py.version.micro}`;
      line =
        `CPython ${version} (${py.library}): ${snap.totals.arenas} arenas = ${
          (snap.totals.arenaBytes / 2 ** 30).toFixed(2)
        } GiB, ` +
        `${snap.totals.pools} used pools, ${snap.totals.blocksInUse} blocks; ${py.debugInfo.readCalls} read calls to attach and map ` +
        `(${snap.readCalls} for the walk, ${py.debugInfo.readMode})`;
      if (snap.totals.arenaBytes < 2 ** 30 * Math.min(gib, 1)) {
        throw new Error(`only ${snap.totals.arenaBytes} bytes of arenas`);
      }
      facts = {
        version,
        arenas: snap.totals.arenas,
        pools: snap.totals.pools,
        poolSize: snap.poolSize,
        readCalls: py.debugInfo.readCalls,
      };
    }
    py.close();
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  console.log(line);
  console.log(
    `${runtime}: attach + full map: first ${times[0].toFixed(1)} ms, then median ${
      warm[warm.length >> 1].toFixed(1)
    } ms ` +
      `(min ${warm[0].toFixed(1)}, max ${warm[warm.length - 1].toFixed(1)}) — goal ≤ 100 ms cold`,
  );
  if (jsonAt > 0) {
    fs.writeFileSync(
      process.argv[jsonAt + 1],
      JSON.stringify(
        {
          runtime,
          ...facts,
          coldMs: times[0],
          warmMs: warm[warm.length >> 1],
          warmMinMs: warm[0],
          warmMaxMs: warm[warm.length - 1],
        },
        null,
        2,
      ),
    );
  }
} finally {
  child.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
}
