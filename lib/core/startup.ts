/**
 * Starting CPython so that a failure is an error, not the end of the process.
 *
 * `Py_InitializeEx` calls `Py_FatalError` (abort) on any failure, e.g. a standard library it cannot find ("Failed to
 * import encodings module"), which took the whole JavaScript process with it. The configuration APIs return the
 * failure instead:
 * - 3.8–3.15: PEP 587 `PyConfig` — `Py_InitializeFromConfig` returns a `PyStatus` by value (ffi/: each adapter
 *   returns a struct's bytes). `PyConfig` differs per version, so it is allocated far larger than any version's
 *   (360–456 bytes), filled by `PyConfig_InitPythonConfig` (the configuration Py_InitializeEx also honours:
 *   PYTHONHOME, PYTHONPATH, …), and the two fields pymem sets are written at offsets taken from each version's
 *   headers (offsetof, CPython 3.8–3.15), after checking that the initialised struct holds what CPython puts there
 *   (`_config_init` = Python config, signal handlers on, no home).
 * - A later minor without a PyConfig table: PEP 741 `PyInitConfig` (3.14+), options set by name,
 *   `Py_InitializeFromInitConfig` returns -1 and `PyInitConfig_GetError` gives the message. PyInitConfig starts from
 *   the isolated configuration, so the options that make it the Python configuration are set first. (3.14 and 3.15
 *   use it when asked to, which the tests do: the internal `startVia` option of openPython.)
 * Either way pymem starts CPython without signal handlers (the JavaScript host owns them; Py_InitializeEx(0) did the
 * same) and with `home` when one is given (PYTHONHOME's meaning: `prefix` or `prefix:exec_prefix`), or with the
 * `prefix` and `exec_prefix` of the interpreter that named the library: those are set as themselves on 3.11+, where
 * the path configuration honours them, since a home is split at ':' (a path holding one could not be passed).
 * @module
 */
import { PymemError } from "../errors.ts";
import { capabilities, cpythonIfKnown } from "../cpython/versions.ts";
import { cstr, type Native } from "./native.ts";
import { statusError } from "./status.ts";

/** Far more than sizeof(PyConfig) in any version (456 in 3.14/3.15), so a patched build's extra fields fit too. */
const CONFIG_BYTES = 4096;

/** Where a start-up failure was reported, for the message: "PyStatus from Py_InitializeFromConfig", … */
function fail(what: string, message: string, library: string): PymemError {
  return new PymemError("INIT_FAILED", `CPython could not start (${library}): ${message} [${what}]`);
}

/**
 * Where the standard library is: a `home` (PYTHONHOME's meaning, split at ':'), or an interpreter's own `prefix` and
 * `execPrefix` (taken whole).
 */
export type StartLocation = { home: string } | { prefix: string; execPrefix: string } | undefined;

/**
 * Initialize the interpreter of `native` (not yet initialized; pre-initialized or not). Throws
 * PymemError("INIT_FAILED") with CPython's own message when it refuses to start; the process goes on.
 */
export function initialize(
  native: Native,
  minor: number,
  where: StartLocation,
  via?: "PyConfig" | "PyInitConfig",
): void {
  let home: string | undefined;
  let prefixes: [string, string] | undefined;
  if (where && "home" in where) home = where.home;
  else if (where && (capabilities(minor)?.configPrefixes !== false || via === "PyInitConfig")) {
    prefixes = [where.prefix, where.execPrefix];
  } // 3.8–3.10 know only a home, split at ':': a prefix holding one cannot be given (that CPython's own interpreter
  // cannot start from there either); CPython then searches as usual.
  else if (where && !`${where.prefix}${where.execPrefix}`.includes(":")) {
    home = where.prefix === where.execPrefix ? where.prefix : `${where.prefix}:${where.execPrefix}`;
  }
  // CPython writes its own account of a failed start to stderr (the whole path configuration, ~20 lines) before it
  // returns the error: keep it as the error's cause, so the error is one line; on success, pass it on unchanged.
  const captured = captureStderr(native, () => start(native, minor, home, prefixes, via));
  if (captured.error) {
    const e = captured.error;
    if (e instanceof PymemError && e.code === "INIT_FAILED" && captured.text.trim()) {
      throw new PymemError("INIT_FAILED", e.message, {
        cause: new Error(`CPython's output:\n${captured.text.trimEnd()}`),
      });
    }
    throw e;
  }
}

const MFD_CLOEXEC = 1;
const F_DUPFD_CLOEXEC = 1030;

/** Run `fn` with fd 2 pointed at a memory file; what was written there comes back (and is replayed on success). */
function captureStderr(native: Native, fn: () => void): { error?: unknown; text: string } {
  const { libc } = native;
  const memfd = libc.memfd_create ? libc.memfd_create(cstr("pymem-python-start"), MFD_CLOEXEC) : -1;
  const saved = memfd >= 0 ? libc.fcntl(2, F_DUPFD_CLOEXEC, 3) : -1;
  if (memfd < 0 || saved < 0 || libc.dup2(memfd, 2) < 0) {
    if (memfd >= 0) libc.close(memfd);
    if (saved >= 0) libc.close(saved);
    try {
      fn();
      return { text: "" };
    } catch (error) {
      return { error, text: "" };
    }
  }
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e ?? new Error("unknown start-up error");
  } finally {
    libc.fflush(0n);
    libc.dup2(saved, 2);
    libc.close(saved);
  }
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(1 << 16);
  for (let off = 0; off < 1 << 22;) {
    const n = libc.pread(memfd, buf, buf.length, BigInt(off));
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
    off += n;
  }
  libc.close(memfd);
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) (bytes.set(c, o), o += c.length);
  if (error === undefined && bytes.length) libc.write(2, bytes, bytes.length);
  return { error, text: new TextDecoder().decode(bytes) };
}

function start(
  native: Native,
  minor: number,
  home: string | undefined,
  prefixes: [string, string] | undefined,
  via?: "PyConfig" | "PyInitConfig",
): void {
  const api = native.api;
  // PyConfig's layout (offsetof against the version's headers: lib/cpython), or none for a minor pymem does not know.
  const layout = via === "PyInitConfig" ? undefined : cpythonIfKnown(minor)?.layout;
  if (layout === undefined && api.PyInitConfig_Create && api.Py_InitializeFromInitConfig && api.PyInitConfig_GetError) {
    initializePep741(native, home, prefixes);
    return;
  }
  if (layout === undefined) {
    throw new PymemError(
      "UNSUPPORTED",
      `pymem cannot start CPython 3.${minor} (${native.path}): no PyInitConfig API and no PyConfig layout for it`,
    );
  }
  const { libc } = native;
  const {
    home: homeOffset,
    prefix: prefixOffset,
    execPrefix: execPrefixOffset,
    installSignalHandlers,
    configInit,
    initPython,
  } = layout.config;
  const config = libc.malloc(CONFIG_BYTES);
  if (config === 0n) throw new PymemError("ALLOCATION_FAILED", `malloc(${CONFIG_BYTES}) failed`);
  native.bytes(config, CONFIG_BYTES).fill(0);
  let initialized = false;
  try {
    api.PyConfig_InitPythonConfig(config);
    initialized = true;
    const view = native.dataView(config, CONFIG_BYTES);
    if (
      view.getInt32(configInit, true) !== initPython || view.getInt32(installSignalHandlers, true) !== 1 ||
      view.getBigUint64(homeOffset, true) !== 0n
    ) {
      throw new PymemError(
        "UNSUPPORTED",
        `pymem cannot start CPython 3.${minor} (${native.path}): PyConfig_InitPythonConfig did not lay out PyConfig as ` +
          "the 3." + minor + " headers do (is this a build with a patched PyConfig?)",
      );
    }
    view.setInt32(installSignalHandlers, 0, true);
    if (home !== undefined) {
      const s = status(api.PyConfig_SetBytesString(config, config + BigInt(homeOffset), cstr(home)));
      if (s) throw fail("PyConfig_SetBytesString(home)", s.message, native.path);
    }
    if (prefixes) {
      const fields = [["prefix", prefixOffset], ["exec_prefix", execPrefixOffset]] as const;
      for (const [i, [name, offset]] of fields.entries()) {
        const s = status(api.PyConfig_SetBytesString(config, config + BigInt(offset), cstr(prefixes[i])));
        if (s) throw fail(`PyConfig_SetBytesString(${name})`, s.message, native.path);
      }
    }
    const s = status(api.Py_InitializeFromConfig(config));
    if (s) {
      throw fail(s.func ? `Py_InitializeFromConfig, in ${s.func}` : "Py_InitializeFromConfig", s.message, native.path);
    }
  } finally {
    if (initialized) api.PyConfig_Clear(config);
    libc.free(config);
  }

  function status(bytes: Uint8Array) {
    return statusError(native, bytes, minor);
  }
}

function initializePep741(native: Native, home: string | undefined, prefixes: [string, string] | undefined): void {
  const {
    PyInitConfig_Create,
    PyInitConfig_Free,
    PyInitConfig_SetInt,
    PyInitConfig_SetStr,
    PyInitConfig_GetError,
    PyInitConfig_GetExitCode,
    Py_InitializeFromInitConfig,
  } = native.api;
  if (
    !PyInitConfig_Create || !PyInitConfig_Free || !PyInitConfig_SetInt || !PyInitConfig_SetStr ||
    !PyInitConfig_GetError || !Py_InitializeFromInitConfig
  ) {
    throw new PymemError("INIT_FAILED", `${native.path} lacks part of PEP 741's PyInitConfig API (CPython 3.14+)`);
  }
  const config = PyInitConfig_Create();
  if (config === 0n) throw new PymemError("ALLOCATION_FAILED", "PyInitConfig_Create() failed (out of memory)");
  const error = (what: string): PymemError => {
    const out = new BigUint64Array(1);
    const msg = PyInitConfig_GetError(config, new Uint8Array(out.buffer)) === 1 && out[0] !== 0n
      ? native.cstring(out[0])
      : undefined;
    const code = new Int32Array(1);
    const exit = PyInitConfig_GetExitCode?.(config, new Uint8Array(code.buffer)) === 1;
    return fail(what, msg ?? (exit ? `it asked to exit with status ${code[0]}` : "unknown error"), native.path);
  };
  try {
    // PyInitConfig starts from the isolated configuration; pymem starts CPython as an embedding application normally
    // does (the Python configuration): environment variables and the user site directory count.
    const ints: [string, bigint][] = [
      ["isolated", 0n],
      ["use_environment", 1n],
      ["user_site_directory", 1n],
      ["safe_path", 0n],
      ["install_signal_handlers", 0n],
    ];
    for (const [name, value] of ints) {
      if (PyInitConfig_SetInt(config, cstr(name), value) < 0) throw error(`PyInitConfig_SetInt(${name})`);
    }
    if (home !== undefined && PyInitConfig_SetStr(config, cstr("home"), cstr(home)) < 0) {
      throw error("PyInitConfig_SetStr(home)");
    }
    for (const [i, name] of ["prefix", "exec_prefix"].entries()) {
      if (prefixes && PyInitConfig_SetStr(config, cstr(name), cstr(prefixes[i])) < 0) {
        throw error(`PyInitConfig_SetStr(${name})`);
      }
    }
    if (Py_InitializeFromInitConfig(config) < 0) throw error("Py_InitializeFromInitConfig");
  } finally {
    PyInitConfig_Free(config);
  }
}
