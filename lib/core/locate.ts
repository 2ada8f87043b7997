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
 *
 * `discoverPythons()` is the other question: every CPython on the machine (for `pymem bench` and the test matrix).
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { ElfFile } from "../machine/elf.ts";
import { fileVersion } from "./file-version.ts";

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
function askInterpreter(
  exe: string,
  failures: { path: string; source: string; error: string }[],
): Sysconfig | undefined {
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
      error: err.code === "ENOENT"
        ? "not found on PATH"
        : `could not ask it for its sysconfig: ${err.message.split("\n")[0]}`,
    });
    return undefined;
  }
}

/** The libraries an interpreter's sysconfig points at, most specific first. */
function fromSysconfig(c: Sysconfig): string[] {
  const names = [c.INSTSONAME, c.LDLIBRARY].filter((n): n is string => !!n && !n.endsWith(".a"));
  const dirs = [
    c.LIBDIR,
    c.LIBDIR && c.MULTIARCH ? join(c.LIBDIR, c.MULTIARCH) : undefined,
    c.LIBPL,
    join(c.base_prefix, "lib"),
  ].filter((d): d is string => !!d);
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
    const cache = execFileSync("/sbin/ldconfig", ["-p"], {
      encoding: "utf8",
      timeout: 5_000,
      stdio: ["ignore", "pipe", "ignore"],
    });
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

// ---- every CPython on the machine ----------------------------------------------------------------------------------
// What `pymem bench` runs against and what the test matrix tests: a search of the whole machine, not the one library
// openPython loads (above).

/** One CPython shared library found on this machine. */
export interface FoundPython {
  /** realpath of the shared library */
  library: string;
  /** "3.11.7", read from the library file (Py_Version, or the PY_VERSION literal Py_GetVersion formats) */
  version: string;
  minor: number;
  /** Where it was first found: "pyenv", "PATH", "system", "ldconfig", or an unpacked root's source. */
  source: string;
  /** Every way it was found, e.g. "system (/usr/bin/python3.11)", "ldconfig". */
  foundBy: string[];
  /** No .symtab section: only exported symbols are available. */
  stripped: boolean;
  /** An interpreter that reported this library, when one did. */
  executable?: string;
  /** Put before a program that must load this library: its tree's loader and library path (unpacked roots only). */
  launch?: string[];
  /** The Python home (PYTHONHOME) for this library, when it is not where its build says (unpacked roots). */
  home?: string;
  /** The unpacked root it was found in (a tree that can also serve as the root of a mount namespace). */
  root?: string;
}

/** Options of {@link discoverPythons}. */
export interface DiscoverOptions {
  /** Unpacked roots to search besides those named by `$PYMEM_PYTHON_ROOTS` (colon-separated). */
  roots?: string[];
  /** Receives a remark per library or interpreter left out, and why. */
  notes?: string[];
}

/** The oldest minor pymem supports. */
export const MIN_MINOR = 8;

function output(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", timeout: 15_000, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
}

const ls = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** What an unpacked root's pymem-sid.json says (paths relative to the root; written by .ci/sid-pythons.sh). */
interface RootManifest {
  source: string;
  loader?: string;
  libraryPath?: string[];
  pythons: { minor: string; library: string; executable?: string; home?: string }[];
}

/** The roots named by $PYMEM_PYTHON_ROOTS, then `extra`, that exist, by realpath. */
export function pythonRoots(extra: string[] = [], notes: string[] = []): string[] {
  const named = (process.env.PYMEM_PYTHON_ROOTS ?? "").split(delimiter).filter(Boolean);
  for (const r of named) if (!existsSync(r)) notes.push(`PYMEM_PYTHON_ROOTS: ${r} does not exist`);
  return [...new Set([...named, ...extra].filter((r) => existsSync(r)).map((r) => realpathSync(r)))];
}

/**
 * The libraries of one unpacked root (a tree with usr/, lib/…), with how to start a process that loads them: a
 * root with its own ld-linux-x86-64.so.2 is used only through it, since its glibc may be newer than the machine's.
 */
function fromRoot(root: string, notes: string[]): (Omit<FoundPython, "version" | "minor" | "foundBy" | "stripped">)[] {
  let m: RootManifest | undefined;
  const manifest = join(root, "pymem-sid.json");
  if (existsSync(manifest)) {
    try {
      m = JSON.parse(readFileSync(manifest, "utf8")) as RootManifest;
    } catch (e) {
      notes.push(`${manifest}: unreadable (${(e as Error).message}); searching ${root} instead`);
    }
  }
  const libDirs = m?.libraryPath ?? ["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib64", "usr/lib", "lib"];
  const loader = [m?.loader, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"]
    .find((l) => l && existsSync(join(root, l)));
  const launch = loader
    ? [join(root, loader), "--library-path", libDirs.map((d) => join(root, d)).filter((d) => existsSync(d)).join(":")]
    : undefined;
  const source = m?.source ?? `root ${root}`;
  const pythons = m?.pythons ??
    libDirs.flatMap((d) =>
      ls(join(root, d)).filter((f) => /^libpython3\.\d+\.so\.1\.0$/.test(f)).map((f) => {
        const minor = f.slice("libpython".length, -".so.1.0".length);
        const exe = ["usr/bin", "bin"].map((b) => `${b}/python${minor}`).find((e) => existsSync(join(root, e)));
        const home = ["usr", "."].find((h) => existsSync(join(root, h, "lib", `python${minor}`, "os.py")));
        return { minor, library: join(d, f), executable: exe, home };
      })
    );
  if (!pythons.length) notes.push(`${root}: no libpython3.*.so.1.0 found`);
  return pythons.map((p) => ({
    library: join(root, p.library),
    source,
    executable: p.executable ? join(root, p.executable) : undefined,
    launch,
    home: p.home ? join(root, p.home) : undefined,
    root,
  }));
}

/** The shared library an interpreter reports, if it has one on disk. */
function libraryOf(exe: string, notes: string[]): { lib: string; executable: string } | undefined {
  const failures: { path: string; source: string; error: string }[] = [];
  const c = askInterpreter(exe, failures);
  if (!c) return undefined;
  const lib = fromSysconfig(c).find((p) => p.includes("/") && existsSync(p));
  if (!lib) notes.push(`${exe}: Python ${c.version} has no shared library (built without --enable-shared)`);
  return lib ? { lib, executable: c.executable || exe } : undefined;
}

/** The version and symbol table of a library file, read without loading it; undefined when it is no ELF file. */
function readLibrary(path: string): { version: string; stripped: boolean } | undefined {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch {
    return undefined;
  }
  try {
    return { version: fileVersion(elf, path).text, stripped: !elf.hasSymtab };
  } catch {
    return undefined;
  } finally {
    elf.close();
  }
}

/**
 * Every CPython 3.8+ shared library on this machine, deduplicated by realpath, sorted by version. Places searched,
 * in this order (the first place that finds a library names its `source`; the same library found again is only
 * added to `foundBy`):
 *   1. pyenv    — `$PYENV_ROOT`, else `pyenv root`, else ~/.pyenv: each versions/* interpreter, and any
 *                 versions/* /lib/libpython*.so.1.0 (so that 2.x and 3.6/3.7 are noted as left out)
 *   2. PATH     — `python3`, `python`, `python3.8` … `python3.14`
 *   3. system   — /usr/bin/python3.* and /usr/local/bin/python3.*
 *   4. ldconfig — `ldconfig -p` entries for libpython3.*
 *   5. roots    — unpacked trees named by `$PYMEM_PYTHON_ROOTS` and `options.roots` (Debian sid's, made by
 *                 .ci/sid-pythons.sh): a root's pymem-sid.json names its libraries, interpreters and loader;
 *                 without one, its lib folders are searched for libpython3.*.so.1.0.
 * The version is read from each library file, because an interpreter may be statically linked and differ from the
 * shared library it reports (Debian's).
 */
export function discoverPythons(options: DiscoverOptions = {}): FoundPython[] {
  const notes = options.notes ?? [];
  type Extra = { launch?: string[]; home?: string; root?: string };
  // [library path, source, how, interpreter, extra (unpacked roots)]
  const found: [string, string, string, string?, Extra?][] = [];
  const ask = (exe: string, source: string) => {
    const r = libraryOf(exe, notes);
    if (r) found.push([r.lib, source, `${source} (${exe})`, r.executable]);
  };

  const pyenv = process.env.PYENV_ROOT || output("pyenv", ["root"])?.trim() || join(homedir(), ".pyenv");
  for (const v of ls(join(pyenv, "versions"))) {
    const dir = join(pyenv, "versions", v);
    if (existsSync(join(dir, "bin", "python3"))) ask(join(dir, "bin", "python3"), "pyenv");
    for (const f of ls(join(dir, "lib"))) {
      if (/^libpython\d\.\d+m?\.so\.1\.0$/.test(f)) found.push([join(dir, "lib", f), "pyenv", `pyenv (${dir}/lib)`]);
    }
  }
  for (const exe of ["python3", "python", ...Array.from({ length: 7 }, (_, i) => `python3.${i + 8}`)]) ask(exe, "PATH");
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    for (const f of ls(dir)) if (/^python3\.\d+$/.test(f)) ask(join(dir, f), "system");
  }
  const cache = output("/sbin/ldconfig", ["-p"]) ?? output("ldconfig", ["-p"]) ?? "";
  for (const m of cache.matchAll(/^\s*libpython3\.\S+ \([^)]*\) => (\S+)$/gm)) {
    found.push([m[1], "ldconfig", "ldconfig"]);
  }
  for (const root of pythonRoots(options.roots, notes)) {
    for (const t of fromRoot(root, notes)) found.push([t.library, t.source, `${t.source} (${root})`, t.executable, t]);
  }

  const byReal = new Map<string, FoundPython>();
  for (const [path, source, how, executable, extra] of found) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      continue;
    }
    const known = byReal.get(real);
    if (known) {
      if (!known.foundBy.includes(how)) known.foundBy.push(how);
      known.executable ??= executable;
      continue;
    }
    const file = readLibrary(real);
    if (!file) {
      notes.push(`${real}: could not read its version from the file; left out`);
      continue;
    }
    byReal.set(real, {
      library: real,
      version: file.version,
      minor: Number(file.version.split(".")[1]),
      source,
      foundBy: [how],
      stripped: file.stripped,
      executable,
      ...(extra?.launch ? { launch: extra.launch } : {}),
      ...(extra?.home ? { home: extra.home } : {}),
      ...(extra?.root ? { root: extra.root } : {}),
    });
  }
  const out: FoundPython[] = [];
  for (const t of byReal.values()) {
    if (t.version.startsWith("3.") && t.minor >= MIN_MINOR) out.push(t);
    else notes.push(`${t.library}: CPython ${t.version} is older than 3.${MIN_MINOR}; not supported`);
  }
  const key = (v: string) => v.split(/[.a-z+]/).slice(0, 3).map((n) => n.padStart(4, "0")).join(".");
  return out.sort((a, b) => key(a.version).localeCompare(key(b.version)) || a.library.localeCompare(b.library));
}
