/**
 * Loading one libpython into this process: globally (RTLD_GLOBAL, so C extension modules can import), checked to be
 * a CPython 3.8+ with the C API pymem binds, and unloaded again when refused, so a refused library leaves no global
 * symbols behind.
 * @module
 */
import { realpathSync, statSync } from "node:fs";
import process from "node:process";
import { python as pythonSymbols } from "../../ffi/symbols.ts";
import type { Candidate } from "./locate.ts";
import { cstr, Native } from "./native.ts";
import { parseVersion } from "./version.ts";
import { ElfFile } from "../machine/elf.ts";
import { PymemError } from "../errors.ts";

const PT_LOAD = 1;
const PT_DYNAMIC = 2;

const RTLD_NOW = 0x2;
const RTLD_GLOBAL = process.platform === "darwin" ? 0x8 : 0x100;

/** The C library every adapter binds libc's functions from. */
export const LIBC_NAME = process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6";

/**
 * Why a candidate did not load. `code` marks a library that was found and refused (another libpython already in
 * this process, a CPython too old): that, not "cannot find", is what the final error says.
 */
export interface LoadFailure {
  path: string;
  source: string;
  error: string;
  code?: "LIBRARY_CONFLICT" | "UNSUPPORTED";
}

/**
 * Load one candidate globally; on failure record why, unload it again, and return undefined. `loaded` is the
 * libpython this process already uses, if any: another one is refused (one libpython per process).
 */
export function loadLibrary(
  backend: Native["backend"],
  libc: Native["libc"],
  c: Candidate,
  failures: LoadFailure[],
  loaded: string | undefined,
): Native | undefined {
  const fail = (
    error: string,
    code?: LoadFailure["code"],
  ) => (failures.push({ path: c.path, source: c.source, error, code }), undefined);
  // A path that is not the library this process already uses is refused before it is loaded: loading it globally
  // would put a second CPython's symbols in the global scope.
  if (loaded !== undefined && c.path.includes("/")) {
    let real: string | undefined;
    try {
      real = realpathSync(c.path);
    } catch { /* missing: dlopen says why */ }
    if (real !== undefined && real !== loaded) return fail(alreadyUses(loaded), "LIBRARY_CONFLICT");
  }
  // A file the loader would map past its end (truncated, corrupt) kills the process with SIGBUS inside dlopen, on
  // every runtime: read its headers first. A library this process already uses is not mapped again by dlopen.
  if (loaded === undefined && c.path.includes("/") && process.platform === "linux") {
    const unfit = unloadable(c.path);
    if (unfit !== undefined) return fail(unfit);
  }
  // Global first, through libc: the runtimes' own dlopen is RTLD_LOCAL, and C extension modules (_ctypes, _json,
  // _interpreters) need libpython's symbols to be global to import.
  const handle = libc.dlopen(cstr(c.path), RTLD_NOW | RTLD_GLOBAL);
  if (handle === 0n) {
    const err = libc.dlerror();
    return fail(err ? backend.cstring(err) : "dlopen failed");
  }
  // Whatever is refused from here on is unloaded again (dlclose drops this reference; a library loaded before
  // stays loaded), so that a refused library leaves no global symbols behind.
  const refuse = (error: string, lib?: { close(): void }, code?: LoadFailure["code"]) => {
    try {
      lib?.close();
    } catch { /* the runtime's handle: best effort */ }
    libc.dlclose(handle);
    return fail(error, code);
  };
  const pyGetVersion = libc.dlsym(handle, cstr("Py_GetVersion"));
  if (pyGetVersion === 0n) return refuse("not a libpython: it has no Py_GetVersion");
  const info = new BigUint64Array(4); // Dl_info { dli_fname, dli_fbase, dli_sname, dli_saddr }
  if (libc.dladdr(pyGetVersion, new Uint8Array(info.buffer)) === 0) return refuse("dladdr cannot place Py_GetVersion");
  const resolved = realpathSync(backend.cstring(info[0]));
  if (loaded !== undefined && loaded !== resolved) return refuse(alreadyUses(loaded), undefined, "LIBRARY_CONFLICT");
  // The version first, through Py_GetVersion alone: an older CPython also lacks part of the C API pymem binds, and
  // "CPython 3.7 is not supported" is the reason to give, not the first symbol it lacks.
  let version;
  try {
    const probe = backend.open(resolved, { Py_GetVersion: pythonSymbols.Py_GetVersion });
    try {
      version = parseVersion(backend.cstring(probe.symbols.Py_GetVersion()));
    } finally {
      probe.close();
    }
  } catch (e) {
    return refuse(`cannot read its version: ${(e as Error).message}`);
  }
  if (version.major !== 3 || version.minor < 8) {
    return refuse(
      `CPython ${version.major}.${version.minor}.${version.micro} is not supported (pymem needs 3.8 or newer)`,
      undefined,
      "UNSUPPORTED",
    );
  }
  let lib;
  try {
    lib = backend.open(resolved, pythonSymbols);
  } catch (e) {
    return refuse(`missing part of the C API: ${(e as Error).message}`);
  }
  const api = lib.symbols;
  return new Native(backend, api, libc, handle, resolved, info[1], () => lib.close());
}

/**
 * Why the dynamic loader cannot map `path` safely, or undefined when it can: the ELF header and program headers
 * must be whole, the file a shared library, every PT_LOAD's file bytes within the file (the loader maps them and
 * the first touch of a page past the end is SIGBUS), and PT_DYNAMIC, which the loader reads next, within one of
 * them. A missing or unreadable file is left to dlopen, which says why.
 */
export function unloadable(path: string): string | undefined {
  let elf: ElfFile;
  try {
    const st = statSync(path);
    if (!st.isFile()) return undefined;
    elf = ElfFile.open(path);
  } catch (e) {
    if (e instanceof PymemError) return `not a loadable ELF file: ${e.message}`;
    return undefined;
  }
  try {
    if (elf.type !== "dyn") return `not a shared library (ELF type ${elf.type})`;
    const loads = elf.segments.filter((s) => s.type === PT_LOAD);
    if (loads.length === 0) return "not a loadable ELF file: it has no PT_LOAD segment";
    for (const s of loads) {
      if (s.filesz > s.memsz) {
        return `corrupt ELF file: a PT_LOAD at vaddr 0x${s.vaddr.toString(16)} has more file bytes than memory`;
      }
    }
    const dynamic = elf.segments.find((s) => s.type === PT_DYNAMIC);
    if (!dynamic) return "not a shared library: it has no PT_DYNAMIC segment";
    const inLoad = loads.some((l) =>
      dynamic.offset >= l.offset && dynamic.offset + dynamic.filesz <= l.offset + l.filesz &&
      dynamic.vaddr - l.vaddr === dynamic.offset - l.offset
    );
    if (!inLoad) return "corrupt ELF file: its PT_DYNAMIC is not inside the file bytes of a PT_LOAD segment";
    return undefined;
  } finally {
    elf.close();
  }
}

/** Why a second libpython is refused. */
export function alreadyUses(path: string): string {
  return `this process already uses ${path}; one libpython per process (their global symbols clash)`;
}
