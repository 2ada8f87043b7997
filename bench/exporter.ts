/**
 * Benchmark: one `pymem exporter` scrape of 50 Python processes. Goal (issue 16): under 1 s.
 *
 *   bun bench/exporter.ts [python executable] [processes] [workers,…] [top-types] [MiB per process]
 *   (default: python3 on PATH, 50, "1,2", 5 as `pymem exporter` does: pinned bytes by type for the top 5 types, and
 *   ~6 MiB of objects each; issue 27's fleet is 100 MiB each)
 *   deno run -A bench/exporter.ts …    node dist/bench/exporter.js …
 *
 * Starts the processes (each builds a small heap, ~100k objects, then waits on stdin), then for each worker count
 * times what the HTTP handler does for one request without a deadline — discovery, every target read by the
 * workers, the metric families built and encoded — for the first scrape (cold: every target attached) and ten more
 * (warm: attachments reused), then how long the types worker took to classify every process once (pinned bytes by
 * type are computed in the background, not in a scrape), and reports the workers' resident memory. Other Python
 * processes on the host are left out with --match.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import process from "node:process";
import { runtimeKind } from "../lib/core/runtime.ts";
import { encode, Scraper } from "../lib/exporter/mod.ts";

const exe = process.argv[2] ?? "python3";
const count = Number(process.argv[3] ?? 50);
const workerCounts = (process.argv[4] ?? "1,2").split(",").map(Number);
const topTypes = Number(process.argv[5] ?? 5);
const tag = `pymem-bench-exporter-${process.pid}`;
// A row (a 3-tuple, an int, a str, a float) takes about 190 bytes of pymalloc blocks.
const rows = Math.round(Number(process.argv[6] ?? 6) * 2 ** 20 / 190);
const script =
  `import sys\nkeep = [(i, str(i), float(i)) for i in range(${rows})]\nsys.stdout.write('R'); sys.stdout.flush()\nsys.stdin.read()\n`;

const runtime = runtimeKind();
const children: ChildProcess[] = [];
try {
  await Promise.all(Array.from({ length: count }, () => {
    const c = spawn(exe, ["-c", script, tag], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(c);
    return new Promise<void>((ready, fail) => {
      c.stdout!.once("data", () => ready());
      c.once("exit", (code) => fail(new Error(`${exe} exited (${code}) before it was ready`)));
    });
  }));
  const version = await new Promise<string>((r) => {
    const c = spawn(exe, ["-c", "import sys; print(sys.version.split()[0])"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout!.on("data", (d) => (out += d));
    c.on("exit", () => r(out.trim()));
  });
  console.log(`${count} × CPython ${version} (${exe}), ${runtime}, --top-types ${topTypes}`);
  for (const workers of workerCounts) {
    const scraper = new Scraper({ match: tag, workers, timeoutMs: 10_000, topTypes });
    try {
      await scraper.start();
      const times: number[] = [];
      let mapped = 0, arenas = 0;
      for (let i = 0; i < 11; i++) {
        const t0 = performance.now();
        const text = encode(await scraper.scrape(), "prometheus");
        times.push(performance.now() - t0);
        mapped = Number(/^pymem_exporter_processes_mapped (\d+)$/m.exec(text)?.[1]);
        arenas = [...text.matchAll(/^python_pymalloc_arenas\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
      }
      if (mapped !== count) throw new Error(`${mapped} of ${count} processes mapped`);
      let typed = 0;
      const tTypes = performance.now();
      while (topTypes > 0 && typed < count && performance.now() - tTypes < 600_000) {
        const text = encode(await scraper.scrape(), "prometheus");
        typed = text.split("\n").filter((l) =>
          l.startsWith("python_pymalloc_pinned_by_type_timestamp_seconds{")
        ).length;
        if (typed < count) await new Promise((r) => setTimeout(r, 100));
      }
      const typesS = (performance.now() - tTypes) / 1000;
      const rss = workerRss(tag);
      const warm = times.slice(1).sort((a, b) => a - b);
      console.log(
        `  ${workers} worker(s): first scrape ${times[0].toFixed(0)} ms, then median ${
          warm[warm.length >> 1].toFixed(0)
        } ms ` +
          `(min ${warm[0].toFixed(0)}, max ${
            warm[warm.length - 1].toFixed(0)
          }); ${mapped} processes, ${arenas} arenas; ` +
          `${topTypes > 0 ? `every process classified ${typesS.toFixed(1)} s later; ` : ""}` +
          `worker RSS ${rss.map((b) => `${(b / 2 ** 20).toFixed(0)} MiB`).join(", ")} — goal < 1000 ms`,
      );
    } finally {
      scraper.close();
    }
  }
} finally {
  for (const c of children) c.kill("SIGKILL");
}

/** Resident memory of this process's exporter workers (they carry the --match tag in their argv). */
function workerRss(mark: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!argv.includes("worker.") || !argv.includes(mark)) continue;
      const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) out.push(Number(m[1]) * 1024);
    } catch { /* gone */ }
  }
  return out;
}
