/**
 * Third-party allocators in-process: `openPython({ allocator: { library: "libmimalloc.so.2" } })` points all three
 * memory domains at a shared library's malloc/calloc/realloc/free (jemalloc, tcmalloc, mimalloc, or any library
 * with functions of those shapes; the names can be chosen), before Python allocates anything.
 *
 * CPython calls `malloc(ctx, size)`; the library's malloc takes `(size)`. Generated bridges (lib/machine/codegen.ts) drop the
 * ctx, so each call costs one extra jump. The bridges and the library stay for the life of the process: CPython
 * keeps calling them until exit, including during finalization.
 *
 * lib/python.ts calls `installLibraryAllocator` between Py_PreInitialize and Py_InitializeEx, the window in which
 * CPython allows an allocator to be replaced rather than wrapped. Every check (the spec, the architecture, the
 * library, each function) runs before PyMem_SetAllocator, so a refusal leaves Python untouched.
 * @module
 */
import { readFileSync, realpathSync } from "node:fs";
import { basename } from "node:path";
import process from "node:process";
import { PymemError } from "../errors.ts";
import { type FunctionSet, hostArch } from "../machine/codegen.ts";
import { makeBridges } from "./generated-functions.ts";
import { cstr, type Native } from "../core/native.ts";
import { unloadable } from "../core/loader.ts";
import type { NativeFn } from "../../ffi/types.ts";
import { allocatorLibrary } from "../../ffi/symbols.ts";

/**
 * A third-party allocator loaded in-process: a shared library with malloc/calloc/realloc/free-shaped functions
 * (jemalloc, tcmalloc, mimalloc, …). Function names default to malloc/calloc/realloc/free; mimalloc users may name
 * mi_malloc etc. **Unsafe** with names of functions that are not malloc-shaped: a symbol's type is not recorded in
 * the library, so pymem can only check that each name resolves inside it. Safe path: the default names.
 */
export interface LibraryAllocator {
  library: string;
  malloc?: string;
  calloc?: string;
  realloc?: string;
  free?: string;
}

const RTLD_NOW = 0x2;
const RTLD_LOCAL = 0;
const RTLD_NODELETE = 0x1000; // Linux: never unmapped, even if someone dlcloses our handle
const RTLD_DI_LINKMAP = 2;
const FUNCTIONS = ["malloc", "calloc", "realloc", "free"] as const;

/** Which known allocator a library is, by file name (decides how its own statistics are read). */
export type LibraryKind = "mimalloc" | "tcmalloc" | "jemalloc" | "other";

/** The third-party allocator installed in this process. */
export interface InstalledLibraryAllocator {
  /** Resolved path of the library. */
  library: string;
  kind: LibraryKind;
  /** The library's functions, by the names used. */
  names: Record<(typeof FUNCTIONS)[number], string>;
  functions: FunctionSet;
  /** The generated ctx-dropping bridges CPython calls. */
  bridges: FunctionSet;
  /** dlopen handle (kept open for the life of the process). */
  handle: bigint;
}

let installed: InstalledLibraryAllocator | undefined;

function checkName(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string, got ${value === null ? "null" : typeof value}`);
  }
  if (value === "" || value.includes("\0")) throw new RangeError(`${what} must be a non-empty string without NUL`);
  return value;
}

/** Validate a `{ library, malloc?, calloc?, realloc?, free? }` spec. */
export function checkLibrarySpec(spec: unknown): Required<LibraryAllocator> {
  if (typeof spec !== "object" || spec === null) {
    throw new TypeError("allocator must be an allocator name or { library, malloc?, calloc?, realloc?, free? }");
  }
  for (const k of Object.keys(spec)) {
    if (k !== "library" && !(FUNCTIONS as readonly string[]).includes(k)) {
      throw new RangeError(`Unknown allocator option "${k}": expected library, malloc, calloc, realloc, free`);
    }
  }
  const s = spec as Record<string, unknown>;
  const out = { library: checkName(s.library, "allocator.library") } as Required<LibraryAllocator>;
  for (const f of FUNCTIONS) out[f] = s[f] === undefined ? f : checkName(s[f], `allocator.${f}`);
  return out;
}

function kindOf(path: string): LibraryKind {
  const b = basename(path);
  if (b.includes("mimalloc")) return "mimalloc";
  if (b.includes("tcmalloc")) return "tcmalloc";
  if (b.includes("jemalloc")) return "jemalloc";
  return "other";
}

/** Path of the object a loaded address belongs to (dladdr), or null. */
function objectOf(native: Native, address: bigint): string | null {
  const info = new BigUint64Array(4); // Dl_info { dli_fname, dli_fbase, dli_sname, dli_saddr }
  if (native.libc.dladdr(address, new Uint8Array(info.buffer)) === 0 || info[0] === 0n) return null;
  return native.cstring(info[0]!);
}

/** The path glibc recorded for a dlopen handle (link_map.l_name), or null where dlinfo is unavailable. */
function handlePath(native: Native, handle: bigint): string | null {
  const dlinfo = native.libc.dlinfo;
  if (!dlinfo) return null;
  const out = new BigUint64Array(1);
  if (dlinfo(handle, RTLD_DI_LINKMAP, new Uint8Array(out.buffer)) !== 0 || out[0] === 0n) return null;
  // struct link_map { ElfW(Addr) l_addr; char *l_name; … }
  const name = native.u64(out[0]! + 8n);
  return name === 0n ? null : native.cstring(name);
}

function startupHint(library: string): string {
  return `Start the process with the library preloaded — LD_PRELOAD=${library} (it then serves the whole process, ` +
    "and pymem uses the loaded copy) — or with room for it in the static TLS block: " +
    "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384";
}

/**
 * Load `spec.library` and point the raw, mem and obj domains at its functions through generated bridges. Called by
 * openPython between Py_PreInitialize and Py_InitializeEx; throws (TypeError / RangeError / PymemError) before
 * touching any allocator if anything is wrong.
 */
export function installLibraryAllocator(native: Native, spec: LibraryAllocator): void {
  const s = checkLibrarySpec(spec);
  hostArch(); // UNSUPPORTED on architectures without generated code, before loading anything
  if (native.api.Py_IsInitialized() !== 0) {
    throw new PymemError("INVALID_STATE", `Cannot install ${s.library}: Python is already initialized`);
  }
  if (installed) {
    throw new PymemError(
      "INVALID_STATE",
      `An allocator library (${installed.library}) is already installed in this process`,
    );
  }
  // As for libpython: a file the loader would map past its end is SIGBUS inside dlopen.
  const unfit = s.library.includes("/") && process.platform === "linux" ? unloadable(s.library) : undefined;
  if (unfit !== undefined) {
    throw new PymemError("LIBRARY_NOT_FOUND", `Cannot load the allocator library ${s.library}: ${unfit}`);
  }
  const handle = native.libc.dlopen(cstr(s.library), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle === 0n) {
    const p = native.libc.dlerror();
    const why = p ? native.cstring(p) : "dlopen failed";
    if (/static TLS/i.test(why)) {
      throw new PymemError(
        "UNSUPPORTED",
        `${s.library} cannot be loaded after start-up: ${why}. ${startupHint(s.library)}`,
      );
    }
    throw new PymemError("LIBRARY_NOT_FOUND", `Cannot load the allocator library ${s.library}: ${why}`);
  }
  const own = handlePath(native, handle);
  const functions = {} as FunctionSet;
  for (const f of FUNCTIONS) {
    const name = s[f];
    const address = native.libc.dlsym(handle, cstr(name));
    if (address === 0n) {
      throw new PymemError(
        "UNSUPPORTED",
        `${s.library} has no function "${name}" (for ${f}); name it with { library, ${f}: "…" }`,
      );
    }
    // dlsym on a handle also searches the library's dependencies: a library without its own malloc would silently
    // hand us libc's. Refuse instead of mixing allocators.
    const where = objectOf(native, address);
    if (own !== null && where !== null && where !== own) {
      throw new PymemError(
        "UNSUPPORTED",
        `"${name}" is not defined by ${s.library} (it resolves to ${where}); name the library's own ${f} function`,
      );
    }
    functions[f] = address;
  }
  const path = own ? safeRealpath(own) : s.library;
  const lib = basename(path);
  const bridges = makeBridges(native, functions, {
    malloc: `${s.malloc}@${lib}`,
    calloc: `${s.calloc}@${lib}`,
    realloc: `${s.realloc}@${lib}`,
    free: `${s.free}@${lib}`,
  });
  // PyMemAllocatorEx { ctx = NULL, malloc, calloc, realloc, free }: the bridges ignore ctx.
  const table = new Uint8Array(
    new BigUint64Array([0n, bridges.malloc, bridges.calloc, bridges.realloc, bridges.free]).buffer,
  );
  for (const domain of [0, 1, 2]) native.api.PyMem_SetAllocator(domain, table);
  installed = {
    library: path,
    kind: kindOf(path),
    names: { malloc: s.malloc, calloc: s.calloc, realloc: s.realloc, free: s.free },
    functions,
    bridges,
    handle,
  };
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** The third-party allocator serving this process, or null. */
export function libraryAllocator(): InstalledLibraryAllocator | null {
  return installed ?? null;
}

/** Memory figures for the installed library, from its own counters where it has them. */
export interface LibraryAllocatorStats {
  library: string;
  kind: LibraryKind;
  /**
   * Bytes the library reports as allocated to the program (tcmalloc generic.current_allocated_bytes, jemalloc
   * stats.allocated) or committed from the OS (mimalloc's current_commit); null for an unknown library.
   */
  allocatedBytes: number | null;
  /** Which counter `allocatedBytes` came from. */
  source: string;
  /** The process's resident set size (/proc/self/statm), for any library. */
  rssBytes: number;
}

/** Resident set size of this process (VmRSS in /proc/self/status: in kB, whatever the page size). */
export function rssBytes(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Read the installed library's own statistics (PymemError("INVALID_STATE") when none is installed):
 * mimalloc `mi_process_info` (current commit), tcmalloc `MallocExtension_GetNumericProperty`, jemalloc `mallctl`.
 */
export function libraryAllocatorStats(native: Native): LibraryAllocatorStats {
  const lib = installed;
  if (!lib) throw new PymemError("INVALID_STATE", "No allocator library is installed in this process");
  const out: LibraryAllocatorStats = {
    library: lib.library,
    kind: lib.kind,
    allocatedBytes: null,
    source: "none",
    rssBytes: rssBytes(),
  };
  // The library's own statistics functions, looked up in the library itself (null when it lacks one).
  const fn = <K extends keyof typeof allocatorLibrary>(name: K): NativeFn<(typeof allocatorLibrary)[K]> | null => {
    const address = native.libc.dlsym(lib.handle, cstr(name));
    return address === 0n ? null : native.fn(address, allocatorLibrary[name]);
  };
  if (lib.kind === "mimalloc") {
    const mi_process_info = fn("mi_process_info");
    if (mi_process_info) {
      const v = new BigUint64Array(8);
      const u = new Uint8Array(v.buffer);
      mi_process_info(
        u.subarray(0, 8),
        u.subarray(8, 16),
        u.subarray(16, 24),
        u.subarray(24, 32),
        u.subarray(32, 40),
        u.subarray(40, 48),
        u.subarray(48, 56),
        u.subarray(56, 64),
      );
      out.allocatedBytes = Number(v[5]);
      out.source = "mi_process_info current_commit";
    }
  } else if (lib.kind === "tcmalloc") {
    const get = fn("MallocExtension_GetNumericProperty");
    const v = new BigUint64Array(1);
    if (get && get(cstr("generic.current_allocated_bytes"), new Uint8Array(v.buffer)) !== 0) {
      out.allocatedBytes = Number(v[0]);
      out.source = "MallocExtension generic.current_allocated_bytes";
    }
  } else if (lib.kind === "jemalloc") {
    const mallctl = fn("mallctl");
    if (mallctl) {
      // Statistics are cached per "epoch": advance it first, then read.
      const epoch = new BigUint64Array([1n]);
      const len = new BigUint64Array([8n]);
      mallctl(cstr("epoch"), new Uint8Array(epoch.buffer), new Uint8Array(len.buffer), new Uint8Array(epoch.buffer), 8);
      const v = new BigUint64Array(1);
      len[0] = 8n;
      if (mallctl(cstr("stats.allocated"), new Uint8Array(v.buffer), new Uint8Array(len.buffer), null, 0) === 0) {
        out.allocatedBytes = Number(v[0]);
        out.source = "mallctl stats.allocated";
      }
    }
  }
  return out;
}
