/**
 * Baselines outside pymem for bench/call_cost.ts: ctypes from Python, and a native C loop. The C program is
 * written and compiled here, only when a C compiler is present; it is a yardstick, never part of the library.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Python } from "../lib/mod.ts";

/** ns per PyObject_Malloc/PyObject_Free pair called through ctypes.pythonapi, in the embedded interpreter. */
export function ctypesPairNs(py: Python, n = 200_000): number {
  py.run(
    "import ctypes, time as _t\n" +
      "_m = ctypes.pythonapi.PyObject_Malloc; _m.restype = ctypes.c_void_p; _m.argtypes = [ctypes.c_size_t]\n" +
      "_f = ctypes.pythonapi.PyObject_Free; _f.restype = None; _f.argtypes = [ctypes.c_void_p]\n" +
      "def _pairs(n):\n    t = _t.perf_counter_ns()\n    for _ in range(n):\n        _f(_m(16))\n    return (_t.perf_counter_ns() - t) / n\n" +
      `_pairs(${n >> 3})\n_ctypes_ns = min(_pairs(${n}) for _ in range(3))\n`,
  );
  return py.eval("_ctypes_ns") as number;
}

const C_SOURCE = `
#include <stdio.h>
#include <stddef.h>
#include <time.h>
/* Prototypes written out so no Python headers are needed. */
void Py_InitializeEx(int);
void *PyObject_Malloc(size_t);
void PyObject_Free(void *);
void *PyMem_RawMalloc(size_t);
void PyMem_RawFree(void *);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(void) {
  Py_InitializeEx(0);
  const long n = 5000000;
  double best_obj = 1e18, best_raw = 1e18;
  for (int r = 0; r < 5; r++) {
    double t = now();
    for (long i = 0; i < n; i++) PyObject_Free(PyObject_Malloc(16));
    double d = (now() - t) / n; if (d < best_obj) best_obj = d;
    t = now();
    for (long i = 0; i < n; i++) PyMem_RawFree(PyMem_RawMalloc(16));
    d = (now() - t) / n; if (d < best_raw) best_raw = d;
  }
  printf("%.2f %.2f\\n", best_obj, best_raw);
  return 0;
}
`;

/** ns per pair from a C loop linked against `library` (best of 5), or null with the reason (no compiler, …). */
export function nativePairNs(library: string): { obj: number; raw: number } | { skipped: string } {
  const dir = mkdtempSync(join(tmpdir(), "pymem-native-"));
  try {
    writeFileSync(join(dir, "pairs.c"), C_SOURCE);
    const exe = join(dir, "pairs");
    try {
      execFileSync("cc", ["-O2", "-o", exe, join(dir, "pairs.c"), library, `-Wl,-rpath,${join(library, "..")}`], {
        stdio: "pipe",
      });
    } catch (e) {
      return { skipped: `no working C compiler (cc): ${(e as Error).message.split("\n")[0]}` };
    }
    const [obj, raw] = execFileSync(exe, { encoding: "utf8" }).trim().split(" ").map(Number);
    return { obj, raw };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
