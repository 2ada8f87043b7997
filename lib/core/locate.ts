/**
 * Where a libpython comes from. The order, documented in the README:
 *   1. `options.library`                      — a path (or a bare soname for the loader to find)
 *   2. env `PYMEM_LIBPYTHON`                  — the same, from the environment, unless `options.executable` is given
 *   3. an interpreter's sysconfig             — `options.executable`, env `PYMEM_PYTHON`, else `python3`, then
 *                                               `python` on PATH: LIBDIR/INSTSONAME, LIBDIR/LDLIBRARY, LIBPL, …
 *   4. the loader's own search                — the ldconfig cache (Linux), then bare sonames for dlopen; macOS and
 *                                               Windows names are listed but untested
 * Steps 1 and 2 are authoritative: when either is given, nothing else is tried; a named interpreter (option or
 * PYMEM_PYTHON) likewise skips step 4.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/** One library to try, with the step of the discovery order that proposed it. */
export interface Candidate {
  path: string;
  source: string;
  /** The interpreter that reported this library, when known (used as the embedded interpreter's program name). */
  executable?: string;
  /** That interpreter's `sys.base_prefix` and `sys.base_exec_prefix`: where this library's standard library is. */
  prefix?: string;
  execPrefix?: string;
}

/** Options of `openPython` that steer discovery. */
export interface LocateOptions {
  /** Path of a libpython shared library (or a soname such as "libpython3.12.so.1.0"). */
  library?: string;
  /** A Python interpreter to ask for its library (its sysconfig). */
  executable?: string;
}

/** What a Python interpreter says about its shared library. */
interface Sysconfig {
  executable: string;
  version: string;
  LIBDIR?: string;
  LDLIBRARY?: string;
  INSTSONAME?: string;
  LIBPL?: string;
  MULTIARCH?: string;
  base_prefix: string;
  base_exec_prefix?: string;
}

const SYSCONFIG_SCRIPT = "import sys, sysconfig, json; v = sysconfig.get_config_vars(); " +
  "print(json.dumps(dict(executable=sys.executable, version='%d.%d' % sys.version_info[:2], " +
  "base_prefix=sys.base_prefix, base_exec_prefix=sys.base_exec_prefix, **{k: v.get(k) for k in " +
  "('LIBDIR', 'LDLIBRARY', 'INSTSONAME', 'LIBPL', 'MULTIARCH')})))";

/** Ask one interpreter for its sysconfig; undefined (with the reason pushed to `failures`) when it can't answer. */
function askInterpreter(exe: string, failures: { path: string; source: string; error: string }[]): Sysconfig | undefined {
  try {
    const out = execFileSync(exe, ["-c", SYSCONFIG_SCRIPT], {
      encoding: "utf8",
      timeout: 15_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out) as Sysconfig;
  } catch (e) {
    const err = e as { code?: string; message: string };
    failures.push({
      path: exe,
      source: "interpreter",
      error: err.code === "ENOENT" ? "not found on PATH" : `could not ask it for its sysconfig: ${err.message.split("\n")[0]}`,
    });
    return undefined;
  }
}

/** The libraries an interpreter's sysconfig points at, most specific first. */
function fromSysconfig(c: Sysconfig): string[] {
  const names = [c.INSTSONAME, c.LDLIBRARY].filter((n): n is string => !!n && !n.endsWith(".a"));
  const dirs = [c.LIBDIR, c.LIBDIR && c.MULTIARCH ? join(c.LIBDIR, c.MULTIARCH) : undefined, c.LIBPL,
    join(c.base_prefix, "lib")].filter((d): d is string => !!d);
  const out: string[] = [];
  for (const d of dirs) for (const n of names) out.push(join(d, n));
  // A distribution without the -dev package has only the versioned soname, which may be outside LIBDIR.
  out.push(`libpython${c.version}.so.1.0`);
  return [...new Set(out)];
}

/** Versions pymem knows, newest first, for the loader's own search. */
export const SUPPORTED_VERSIONS = ["3.15", "3.14", "3.13", "3.12", "3.11", "3.10", "3.9", "3.8"] as const;

function loaderNames(): string[] {
  if (process.platform === "darwin") {
    return SUPPORTED_VERSIONS.flatMap((v) => [
      `/Library/Frameworks/Python.framework/Versions/${v}/Python`,
      `/opt/homebrew/opt/python@${v}/Frameworks/Python.framework/Versions/${v}/Python`,
      `/usr/local/opt/python@${v}/Frameworks/Python.framework/Versions/${v}/Python`,
      `libpython${v}.dylib`,
    ]);
  }
  if (process.platform === "win32") return SUPPORTED_VERSIONS.map((v) => `python${v.replace(".", "")}.dll`);
  const out: string[] = [];
  try {
    // The ldconfig cache lists what the dynamic loader can find by name, with full paths.
    const cache = execFileSync("/sbin/ldconfig", ["-p"], { encoding: "utf8", timeout: 5_000, stdio: ["ignore", "pipe", "ignore"] });
    for (const v of SUPPORTED_VERSIONS) {
      const m = cache.match(new RegExp(`libpython${v.replace(".", "\\.")}\\.so[.\\d]* \\([^)]*\\) => (\\S+)`));
      if (m) out.push(m[1]);
    }
  } catch { /* no ldconfig: the bare names below still go through dlopen's own search */ }
  for (const v of SUPPORTED_VERSIONS) out.push(`libpython${v}.so.1.0`, `libpython${v}.so`);
  return out;
}

/**
 * The candidates to try, in order. Interpreters that cannot be asked are recorded in `failures` so that the final
 * error can say why each step gave nothing.
 */
export function candidates(
  options: LocateOptions,
  failures: { path: string; source: string; error: string }[],
): Candidate[] {
  if (options.library) return [{ path: options.library, source: "options.library" }];
  // An explicit argument wins over the environment: `executable` (`--python`) is asked even when PYMEM_LIBPYTHON
  // is set, which named another CPython and was used instead, silently.
  const envLib = process.env.PYMEM_LIBPYTHON;
  if (envLib && !options.executable) return [{ path: envLib, source: "PYMEM_LIBPYTHON" }];

  const out: Candidate[] = [];
  const exes = options.executable
    ? [[options.executable, "options.executable"]]
    : process.env.PYMEM_PYTHON
    ? [[process.env.PYMEM_PYTHON, "PYMEM_PYTHON"]]
    : [["python3", "python3 on PATH"], ["python", "python on PATH"]];
  for (const [exe, source] of exes) {
    const c = askInterpreter(exe, failures);
    if (!c) continue;
    for (const path of fromSysconfig(c)) {
      // A full path that does not exist is noted, not tried: it is usually the -dev symlink a runtime-only
      // install lacks, and the versioned soname that follows is the one that works.
      if (path.includes("/") && !existsSync(path)) {
        failures.push({ path, source: `${source} (${c.executable})`, error: "no such file" });
        continue;
      }
      // The interpreter knows where its standard library is; the library alone may not (a relocated install).
      const prefix = c.base_prefix, execPrefix = c.base_exec_prefix || c.base_prefix;
      out.push({ path, source: `${source} (${c.executable})`, executable: c.executable, prefix, execPrefix });
    }
    if (out.length) break;
  }
  // A named interpreter (option or PYMEM_PYTHON) is authoritative too: falling back to whatever the loader finds
  // would quietly load a different Python than the one asked for.
  if (options.executable || process.env.PYMEM_PYTHON) return out;
  for (const path of loaderNames()) out.push({ path, source: "loader search" });
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(c.path) ? false : (seen.add(c.path), true)));
}
