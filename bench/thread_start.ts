/**
 * What a second thread costs before it does any work: the floor under the two-thread heap walk at ~500 arenas,
 * where the walk itself takes ~250 µs. Measured three ways on this machine:
 *
 * - from this runtime, the way the walk does it (lib/machine/threads.ts): pthread_create of a thread running a
 *   function that returns at once, then pthread_join; the caller's time in each;
 * - in C (compiled here with `cc`): pthread_create, and how long until the new thread runs;
 * - in C: a thread parked on a futex and woken (FUTEX_WAKE), the alternative to creating one per walk: the caller's
 *   time in the wake, and how long until the parked thread runs.
 *
 * Each C probe runs back to back and with 1 ms and 100 ms idle between rounds: an idle virtual CPU must first be
 * woken, and the caller pays for it (an inter-processor interrupt, a VM exit on most hypervisors).
 *
 *   bun bench/thread_start.ts | deno run -A bench/thread_start.ts | node dist/bench/thread_start.js   [--json FILE]
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { openPython } from "../lib/mod.ts";
import { startNativeThread } from "../lib/machine/threads.ts";
import { hostOf } from "../lib/obmalloc/host.ts";

const C_PROBES = String.raw`
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static void idle(int us) { if (us) { struct timespec s = { us / 1000000, (us % 1000000) * 1000 }; nanosleep(&s, 0); } }
enum { N = 200 };
static volatile double started;
static void *mark(void *a) { (void)a; started = now(); return 0; }
static _Atomic int seq, done;
static void *parked(void *a) {
  (void)a;
  for (int last = 0;;) {
    int s = atomic_load(&seq);
    if (s == last) { syscall(SYS_futex, &seq, FUTEX_WAIT_PRIVATE, last, 0, 0, 0); continue; }
    last = s; started = now(); atomic_store(&done, s);
  }
  return 0;
}
int main(int argc, char **argv) {
  int gap = atoi(argv[1]);
  double caller[N], runs[N];
  if (!strcmp(argv[2], "create")) {
    for (int i = 0; i < N; i++) {
      pthread_t t; double t0 = now(); pthread_create(&t, 0, mark, 0); double t1 = now(); pthread_join(t, 0);
      caller[i] = t1 - t0; runs[i] = started - t0; idle(gap);
    }
  } else {
    pthread_t t; pthread_create(&t, 0, parked, 0); idle(1000);
    for (int i = 0; i < N; i++) {
      double t0 = now(); atomic_fetch_add(&seq, 1); syscall(SYS_futex, &seq, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0); double t1 = now();
      while (atomic_load(&done) != i + 1) {}
      caller[i] = t1 - t0; runs[i] = started - t0; idle(gap);
    }
  }
  qsort(caller, N, sizeof(double), cmp); qsort(runs, N, sizeof(double), cmp);
  printf("{\"callerUs\": %.2f, \"runsAfterUs\": %.2f, \"runsAfterP90Us\": %.2f}\n", caller[N / 2], runs[N / 2], runs[N * 9 / 10]);
  return 0;
}
`;

const py = await openPython();
const host = hostOf(py);
const { libc } = host.native;
// Any function that returns at once serves as the thread's routine.
const routine = host.native.dlsym("PyThread_get_thread_ident");
const ROUNDS = 2000;
let createMs = 0, joinMs = 0;
for (let i = 0; i < ROUNDS + 100; i++) {
  const t0 = performance.now();
  const thread = startNativeThread(libc, routine, 0n);
  const t1 = performance.now();
  if (!thread) throw new Error("pthread_create failed");
  thread.join();
  if (i >= 100) {
    createMs += t1 - t0;
    joinMs += performance.now() - t1;
  }
}
const js = { createUs: (createMs / ROUNDS) * 1000, joinUs: (joinMs / ROUNDS) * 1000 };
const g = globalThis as { Bun?: unknown; Deno?: { version: { deno: string } } };
const runtime = g.Bun
  ? `bun ${process.versions.bun}`
  : g.Deno
  ? `deno ${g.Deno.version.deno}`
  : `node ${process.version}`;
console.log(
  `a second thread, ${runtime}: pthread_create from JavaScript ${js.createUs.toFixed(1)} µs of the caller's time, ` +
    `then pthread_join ${
      js.joinUs.toFixed(1)
    } µs (the thread starting, returning, and being reaped); means of ${ROUNDS}`,
);

const c: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), "pymem-threads-"));
try {
  writeFileSync(join(dir, "probes.c"), C_PROBES);
  const exe = join(dir, "probes");
  execFileSync("cc", ["-O2", "-o", exe, join(dir, "probes.c"), "-lpthread"], { stdio: "pipe" });
  console.log("in C (medians of 200): idle between rounds   caller's time   until the thread runs (p90)");
  for (const kind of ["create", "wake"]) {
    for (const gap of [0, 1000, 100_000]) {
      const r = JSON.parse(execFileSync(exe, [String(gap), kind], { encoding: "utf8" }));
      c[`${kind}/${gap}`] = r;
      const what = kind === "create" ? "pthread_create" : "FUTEX_WAKE of a parked thread";
      console.log(
        `  ${what.padEnd(30)} ${(gap ? `${gap / 1000} ms` : "none").padStart(8)}   ${
          r.callerUs.toFixed(1).padStart(8)
        } µs   ${r.runsAfterUs.toFixed(1).padStart(8)} µs (${r.runsAfterP90Us.toFixed(1)})`,
      );
    }
  }
} catch (e) {
  console.log(`C probes skipped: ${(e as Error).message.split("\n")[0]} (needs cc)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const jsonAt = process.argv.indexOf("--json");
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ runtime, js, c }, null, 2));
py.close();
