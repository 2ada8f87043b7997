/**
 * Test tooling only: find every CPython shared library on this machine, for the test matrix (tests/run.ts).
 *
 * Nothing is hard-coded to one machine. Places searched, in this order (the first place that finds a library names
 * its `source`; the same library found again, by realpath, is only added to `foundBy`):
 *   1. pyenv       — `$PYENV_ROOT`, else `pyenv root`, else ~/.pyenv: each versions/* interpreter, and any
 *                    versions/* /lib/libpython*.so.1.0 (so that 2.x and 3.6/3.7 are noted as skipped)
 *   2. PATH        — `python3`, `python`, `python3.8` … `python3.14` (pyenv shims of inactive versions just fail)
 *   3. system      — /usr/bin/python3.* and /usr/local/bin/python3.*
 *   4. ldconfig    — `ldconfig -p` entries for libpython3.*
 *   5. roots       — unpacked trees (a root of its own: usr/, lib/…) named by `$PYMEM_PYTHON_ROOTS` (colon-separated),
 *                    plus <repo>/.cache/debian-sid when it exists (made by .ci/sid-pythons.sh: Debian sid's newest
 *                    3.14 and 3.15 with sid's glibc). A root's pymem-sid.json manifest names its source, libraries,
 *                    interpreters and loader; without one, its lib folders are searched for libpython3.*.so.1.0.
 *                    A root with its own ld-linux-x86-64.so.2 is used only through it: every process that loads such
 *                    a library is started as `<loader> --library-path <root's lib dirs> <program> …` (`launch`), since
 *                    its glibc may be newer than the machine's; PYTHONHOME (`home`) says where its stdlib is.
 * Interpreters are asked for their sysconfig (the same question lib/core/locate.ts asks). The version of each library is
 * then read from the library itself (Py_GetVersion, in a child `bun` with bun:ffi — no interpreter is initialised),
 * because an interpreter may be statically linked and differ from the shared library it reports (Debian).
 * @module
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { KNOWN_MINORS } from "../lib/cpython/versions.ts";

export interface PythonTarget {
  /** realpath of the shared library */
  library: string;
  /** "3.11.7", from the library's own Py_GetVersion */
  version: string;
  minor: number;
  /** Where it was first found: "pyenv", "PATH", "system" or "ldconfig". */
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

/**
 * Every minor pymem supports (lib/cpython's rows) must be found; a missing one is reported as skipped, never silently
 * passed.
 */
export const EXPECTED_MINORS = KNOWN_MINORS;
/** The oldest minor pymem supports. */
export const MIN_MINOR = KNOWN_MINORS[0];

/** The repository root (this file is tests/pythons.ts, or dist/tests/pythons.js after tsc). */
export const ROOT = (() => {
  const up = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  return basename(up) === "dist" ? dirname(up) : up;
})();

/** PATH with the repository's node_modules/.bin first, so `bun`, `deno` and `tsc` from devDependencies are found. */
export function toolPath(): string {
  return [join(ROOT, "node_modules", ".bin"), process.env.PATH ?? ""].join(delimiter);
}

/** A discovery remark (a skipped library or interpreter, and why), shown in the runner's header. */
export const notes: string[] = [];

const SYSCONFIG_SCRIPT = "import sys, sysconfig, json; v = sysconfig.get_config_vars(); " +
  "print(json.dumps(dict(executable=sys.executable, version=sys.version.split()[0], base_prefix=sys.base_prefix, " +
  "**{k: v.get(k) for k in ('LIBDIR', 'LDLIBRARY', 'INSTSONAME', 'LIBPL', 'MULTIARCH')})))";

interface Sysconfig {
  executable: string; version: string; base_prefix: string;
  LIBDIR?: string; LDLIBRARY?: string; INSTSONAME?: string; LIBPL?: string; MULTIARCH?: string;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", timeout: 15_000, stdio: ["ignore", "pipe", "ignore"], env });
  } catch {
    return undefined;
  }
}

/** The shared library an interpreter reports, if it has one on disk. */
function libraryOf(exe: string): { lib?: string; info?: Sysconfig } {
  const out = run(exe, ["-c", SYSCONFIG_SCRIPT]);
  if (!out) return {};
  let c: Sysconfig;
  try {
    c = JSON.parse(out.trim().split("\n").pop()!) as Sysconfig;
  } catch {
    return {};
  }
  const names = [c.INSTSONAME, c.LDLIBRARY].filter((n): n is string => !!n && !n.endsWith(".a"));
  const dirs = [c.LIBDIR, c.LIBDIR && c.MULTIARCH ? join(c.LIBDIR, c.MULTIARCH) : undefined, c.LIBPL,
    join(c.base_prefix, "lib")].filter((d): d is string => !!d);
  for (const d of dirs) for (const n of names) if (existsSync(join(d, n))) return { lib: join(d, n), info: c };
  return { info: c };
}

/** Whether the ELF file has a .symtab: lib/machine/elf.ts when it loads, else a direct read of the section headers. */
const elf = await import("../lib/machine/elf.ts").catch(() => undefined);
function hasSymtab(path: string): boolean {
  if (elf) {
    try {
      const f = elf.ElfFile.open(path);
      try { return f.hasSymtab; } finally { f.close(); }
    } catch { /* fall through to the local check */ }
  }
  const fd = openSync(path, "r");
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    const shoff = Number(h.readBigUInt64LE(0x28)), shentsize = h.readUInt16LE(0x3a), shnum = h.readUInt16LE(0x3c);
    const sh = Buffer.alloc(shentsize * shnum);
    readSync(fd, sh, 0, sh.length, shoff);
    for (let i = 0; i < shnum; i++) if (sh.readUInt32LE(i * shentsize + 4) === 2 /* SHT_SYMTAB */) return true;
    return false;
  } finally {
    closeSync(fd);
  }
}

const PROBE = 'import { dlopen, FFIType } from "bun:ffi"; const l = dlopen(process.env.PYMEM_PROBE, ' +
  "{ Py_GetVersion: { args: [], returns: FFIType.cstring } }); console.log(String(l.symbols.Py_GetVersion()));";

/** The version a library reports about itself ("3.11.2"), or undefined when it can't be loaded. */
function versionOf(library: string, launch: string[] = []): string | undefined {
  const bun = launch.length ? which("bun") : "bun";
  if (!bun) return undefined;
  const [cmd, ...args] = [...launch, bun, "-e", PROBE];
  const out = run(cmd, args, { ...process.env, PATH: toolPath(), PYMEM_PROBE: library });
  return out?.match(/^(\d+\.\d+\.\d+\S*)/)?.[1];
}

/** Absolute path of a program on toolPath() (a loader needs one: it does not search PATH). */
export function which(name: string): string | undefined {
  if (name.includes("/")) return existsSync(name) ? resolve(name) : undefined;
  for (const dir of toolPath().split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** The default root made by .ci/sid-pythons.sh (overridden by its own PYMEM_SID_ROOT). */
export const SID_ROOT = process.env.PYMEM_SID_ROOT || join(ROOT, ".cache", "debian-sid");

/** Unpacked roots to search: $PYMEM_PYTHON_ROOTS, then SID_ROOT when it exists. */
export function pythonRoots(): string[] {
  const named = (process.env.PYMEM_PYTHON_ROOTS ?? "").split(delimiter).filter(Boolean);
  for (const r of named) if (!existsSync(r)) notes.push(`PYMEM_PYTHON_ROOTS: ${r} does not exist`);
  const all = [...named.filter((r) => existsSync(r)), ...(existsSync(SID_ROOT) ? [SID_ROOT] : [])];
  return [...new Set(all.map((r) => realpathSync(r)))];
}

/** What .ci/sid-pythons.sh writes to <root>/pymem-sid.json (paths relative to the root). */
interface RootManifest {
  source: string;
  loader?: string;
  libraryPath?: string[];
  pythons: { minor: string; library: string; executable?: string; home?: string }[];
}

/** The libraries of one unpacked root, with how to start a process that loads them. */
function fromRoot(root: string): { library: string; source: string; executable?: string; launch?: string[]; home?: string; root: string }[] {
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
  const pythons = m?.pythons ?? libDirs.flatMap((d) =>
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

function pyenvRoot(): string | undefined {
  const root = process.env.PYENV_ROOT || run("pyenv", ["root"])?.trim() || join(homedir(), ".pyenv");
  return existsSync(join(root, "versions")) ? root : undefined;
}

const ls = (dir: string): string[] => { try { return readdirSync(dir).sort(); } catch { return []; } };

/** Every CPython 3.8+ shared library on this machine, deduplicated by realpath, sorted by version. */
export function discoverPythons(): PythonTarget[] {
  // [library path, source, how, interpreter, extra (unpacked roots)]
  const found: [string, string, string, string?, { launch?: string[]; home?: string; root?: string }?][] = [];
  const ask = (exe: string, source: string) => {
    const { lib, info } = libraryOf(exe);
    if (lib) found.push([lib, source, `${source} (${exe})`, info!.executable || exe]);
    else if (info) notes.push(`${exe}: Python ${info.version} has no shared library (built without --enable-shared)`);
  };

  const pyenv = pyenvRoot();
  if (pyenv) {
    for (const v of ls(join(pyenv, "versions"))) {
      const dir = join(pyenv, "versions", v);
      if (existsSync(join(dir, "bin", "python3"))) ask(join(dir, "bin", "python3"), "pyenv");
      for (const f of ls(join(dir, "lib"))) {
        if (/^libpython\d\.\d+m?\.so\.1\.0$/.test(f)) found.push([join(dir, "lib", f), "pyenv", `pyenv (${dir}/lib)`]);
      }
    }
  }
  const onPath = ["python3", "python", ...Array.from({ length: 7 }, (_, i) => `python3.${i + 8}`)];
  for (const exe of onPath) ask(exe, "PATH");
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    for (const f of ls(dir)) if (/^python3\.\d+$/.test(f)) ask(join(dir, f), "system");
  }
  const cache = run("/sbin/ldconfig", ["-p"]) ?? run("ldconfig", ["-p"]) ?? "";
  for (const m of cache.matchAll(/^\s*libpython3\.\S+ \([^)]*\) => (\S+)$/gm)) found.push([m[1], "ldconfig", "ldconfig"]);
  for (const root of pythonRoots()) {
    for (const t of fromRoot(root)) found.push([t.library, t.source, `${t.source} (${root})`, t.executable, t]);
  }

  const byReal = new Map<string, PythonTarget>();
  for (const [path, source, how, executable, extra] of found) {
    let real: string;
    try { real = realpathSync(path); } catch { continue; }
    const known = byReal.get(real);
    if (known) {
      if (!known.foundBy.includes(how)) known.foundBy.push(how);
      known.executable ??= executable;
      continue;
    }
    const version = versionOf(real, extra?.launch);
    if (!version) {
      notes.push(`${real}: could not read its version (Py_GetVersion${extra?.launch ? ` under ${extra.launch[0]}` : ""}); not tested`);
      continue;
    }
    const minor = Number(version.split(".")[1]);
    byReal.set(real, {
      library: real, version, minor, source, foundBy: [how], stripped: !hasSymtab(real), executable,
      ...(extra?.launch ? { launch: extra.launch } : {}), ...(extra?.home ? { home: extra.home } : {}),
      ...(extra?.root ? { root: extra.root } : {}),
    });
  }
  const out: PythonTarget[] = [];
  for (const t of byReal.values()) {
    if (t.version.startsWith("3.") && t.minor >= MIN_MINOR) out.push(t);
    else notes.push(`${t.library}: CPython ${t.version} is older than 3.${MIN_MINOR}; not supported, not tested`);
  }
  const key = (v: string) => v.split(/[.a-z+]/).slice(0, 3).map((n) => n.padStart(4, "0")).join(".");
  return out.sort((a, b) => key(a.version).localeCompare(key(b.version)) || a.library.localeCompare(b.library));
}

/** The expected minors that discovery did not find, with the reason shown as "skipped". */
export function missingMinors(targets: PythonTarget[]): { minor: number; reason: string }[] {
  return EXPECTED_MINORS.filter((m) => !targets.some((t) => t.minor === m))
    .map((minor) => ({ minor, reason: `skipped: CPython 3.${minor} not found on this machine` + (minor >= 14 ? sidHint() : "") }));
}

/** Why Debian sid's 3.14/3.15 are absent: .ci/run passes the script's reason in PYMEM_SID_SKIPPED. */
function sidHint(): string {
  const why = process.env.PYMEM_SID_SKIPPED;
  return why ? ` (${why})` : ` (bash .ci/sid-pythons.sh unpacks Debian sid's into ${SID_ROOT})`;
}

// `bun tests/pythons.ts` prints what was found.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t = discoverPythons();
  for (const p of t) {
    console.log(`${p.version.padEnd(8)} ${p.stripped ? "stripped" : "symtab  "} ${p.library}  [${p.foundBy.join("; ")}]`);
    if (p.launch) console.log(`         launch: ${p.launch.join(" ")}; home ${p.home ?? "(its build's)"}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  for (const m of missingMinors(t)) console.log(m.reason);
}
