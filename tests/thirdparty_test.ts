/**
 * Third-party allocators in-process. Each allocator must be installed before CPython starts, and one libpython
 * lives per process, so every case runs in a fresh child (tests/_allocator_child.ts) of the same runtime.
 * Libraries come from the distribution: apt-get install libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0
 */
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { findLibrary, runChild } from "./_child_spawn.ts";
import { skipUnlessDefaultPython } from "./_cli_spawn.ts";
import { checkLibrarySpec } from "../lib/allocators/library-allocators.ts";
import { runtimeKind } from "../lib/core/runtime.ts";

const linuxX64 = process.platform === "linux" && process.arch === "x64";
const mimalloc = findLibrary("libmimalloc.so.2");
const tcmalloc = findLibrary("libtcmalloc_minimal.so.4");
const jemalloc = findLibrary("libjemalloc.so.2");
const missing = (
  pkg: string,
) => (linuxX64 ? `not installed: apt-get install ${pkg}` : "generated code runs on x86-64 Linux only");
const MB = 1 << 20;
// The full 50 MB acceptance workload runs once: against the default python3, under Bun. Every other runtime and
// CPython runs the same workload at 10 MB, which exercises the same paths (the allocator is native code; the runtime
// only starts the child and reads its report) in a fraction of the time.
const WORKLOAD_MB = skipUnlessDefaultPython() === false && runtimeKind() === "bun" ? 50 : 10;

test("a library spec is validated before anything is loaded", () => {
  assert.deepEqual(checkLibrarySpec({ library: "libx.so" }), {
    library: "libx.so",
    malloc: "malloc",
    calloc: "calloc",
    realloc: "realloc",
    free: "free",
  });
  assert.equal(checkLibrarySpec({ library: "l.so", malloc: "mi_malloc" }).malloc, "mi_malloc");
  assert.throws(() => checkLibrarySpec({ library: "l.so", mallocc: "x" }), RangeError);
  assert.throws(() => checkLibrarySpec({ library: "" }), RangeError);
  assert.throws(() => checkLibrarySpec({ library: "a\0b" }), RangeError);
  assert.throws(() => checkLibrarySpec({ library: 5 }), TypeError);
  assert.throws(() => checkLibrarySpec({ library: "l.so", free: 1 }), TypeError);
  assert.throws(() => checkLibrarySpec(null), TypeError);
});

test(
  "a missing library, a missing function, or a function from another library is refused before Python starts",
  () => {
    const r1 = runChild({ allocator: { library: "libdoes-not-exist.so.7" } });
    assert.equal(r1.ok, false);
    assert.equal(r1.error.code, "LIBRARY_NOT_FOUND");
    assert.match(r1.error.message, /libdoes-not-exist\.so\.7/);
    // libm has no malloc of its own: dlsym would find libc's through its dependencies; pymem refuses to mix them.
    const r2 = runChild({ allocator: { library: "libm.so.6" } });
    assert.equal(r2.ok, false);
    assert.equal(r2.error.code, "UNSUPPORTED");
    assert.match(r2.error.message, /not defined by libm\.so\.6/);
    const r3 = runChild({ allocator: { library: "libm.so.6", malloc: "no_such_malloc_fn" } });
    assert.equal(r3.error.code, "UNSUPPORTED");
    assert.match(r3.error.message, /no function "no_such_malloc_fn"/);
    const r4 = runChild({ allocator: { library: "libm.so.6", colour: "x" } });
    assert.equal(r4.error.name, "RangeError");
  },
  { skip: linuxX64 ? false : "generated code runs on x86-64 Linux only" },
);

/** The shared workload: a ~50 MB JSON round trip and four allocating Python threads, to the end. */
function workload(allocator: object, env: Record<string, string> = {}, mb = WORKLOAD_MB) {
  const r = runChild({ allocator, workloads: ["json", "threads", "trace"], mb }, env);
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.ok(r.jsonMB >= mb * 0.9, `json was ${r.jsonMB} MB`);
  assert.equal(r.jsonOk, true);
  assert.equal(r.threadResults, 4);
  // Up to 100 of the 10,000 floats may come from the float free list (Py_floats_MAXFREELIST) instead of malloc.
  assert.ok(r.traceObjMalloc >= 10000 - 100, `traced obj.malloc = ${r.traceObjMalloc}`);
  // The domains point at pymem's bridges to the library, and CPython no longer names its allocator.
  assert.equal(r.allocatorName, null);
  assert.match(r.names.malloc, /^pymem:bridge→/);
  return r;
}

test("mimalloc (libmimalloc.so.2) serves all three domains in-process; its own counters show it", () => {
  const r = workload({ library: "libmimalloc.so.2" });
  assert.equal(r.statsPeak.kind, "mimalloc");
  assert.match(r.names.malloc, /malloc@libmimalloc/);
  // mimalloc's committed memory grew by (at least) the size of the structure while it was alive.
  assert.ok(
    r.statsPeak.allocatedBytes - r.statsBefore.allocatedBytes > 2 * WORKLOAD_MB * MB,
    JSON.stringify([r.statsBefore, r.statsPeak]),
  );
}, { skip: mimalloc && linuxX64 ? false : missing("libmimalloc2.0") });

test("mimalloc with its own function names (mi_malloc, …)", () => {
  const r = runChild({
    allocator: {
      library: "libmimalloc.so.2",
      malloc: "mi_malloc",
      calloc: "mi_calloc",
      realloc: "mi_realloc",
      free: "mi_free",
    },
    workloads: ["json"],
    mb: 5,
  });
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.match(r.names.malloc, /mi_malloc@libmimalloc/);
}, { skip: mimalloc && linuxX64 ? false : missing("libmimalloc2.0") });

test("tcmalloc (libtcmalloc_minimal.so.4) serves all three domains in-process; its own counters show it", () => {
  const r = workload({ library: "libtcmalloc_minimal.so.4" });
  assert.equal(r.statsPeak.kind, "tcmalloc");
  assert.ok(
    r.statsPeak.allocatedBytes - r.statsBefore.allocatedBytes > 2 * WORKLOAD_MB * MB,
    JSON.stringify([r.statsBefore, r.statsPeak]),
  );
  // Everything Python allocated came back: tcmalloc's allocated bytes are near where they started.
  assert.ok(r.statsAfter === null || r.statsAfter.allocatedBytes < r.statsPeak.allocatedBytes);
}, { skip: tcmalloc && linuxX64 ? false : missing("libtcmalloc-minimal4") });

test("jemalloc cannot be dlopen'd (static TLS): the error says how to start the process", () => {
  const r = runChild({ allocator: { library: "libjemalloc.so.2" } });
  if (r.ok) return; // a libc with room in its static TLS block (or jemalloc preloaded by the caller)
  assert.equal(r.error.code, "UNSUPPORTED");
  assert.match(r.error.message, /static TLS/);
  assert.match(r.error.message, /LD_PRELOAD=libjemalloc\.so\.2/);
  assert.match(r.error.message, /GLIBC_TUNABLES=glibc\.rtld\.optional_static_tls=/);
}, { skip: jemalloc && linuxX64 ? false : missing("libjemalloc2") });

test("jemalloc preloaded (LD_PRELOAD) serves all three domains in-process; mallctl stats show it", () => {
  const r = workload({ library: "libjemalloc.so.2" }, { LD_PRELOAD: jemalloc! });
  assert.equal(r.statsPeak.kind, "jemalloc");
  assert.ok(
    r.statsPeak.allocatedBytes - r.statsBefore.allocatedBytes > 2 * WORKLOAD_MB * MB,
    JSON.stringify([r.statsBefore, r.statsPeak]),
  );
}, { skip: jemalloc && linuxX64 ? false : missing("libjemalloc2") });

test("jemalloc with the glibc tunable from the error message loads in-process", () => {
  const r = runChild(
    { allocator: { library: "libjemalloc.so.2" }, workloads: ["json", "threads"], mb: 5 },
    { GLIBC_TUNABLES: "glibc.rtld.optional_static_tls=16384" },
  );
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.threadResults, 4);
}, { skip: jemalloc && linuxX64 ? false : missing("libjemalloc2") });
