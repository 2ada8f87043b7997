/**
 * Every per-version number of pymem, generated from each CPython release's own headers: tools/cpython-layouts.c
 * prints offsetof/sizeof (and the few constants it derives, each with its source) compiled against a release's
 * include tree, and this writes lib/cpython/layouts.generated.ts, one row per minor.
 *
 *   bun tools/cpython-layouts.ts            check: every release found regenerates its committed row (exit 1 if not)
 *   bun tools/cpython-layouts.ts --write    rewrite the table from the newest release of each minor found (rows of
 *                                           minors whose headers are absent here are kept)
 *   bun tools/cpython-layouts.ts --list     print the releases found and their include folders
 *
 * Include trees are discovered at run time: pyenv's (`$PYENV_ROOT`, else `pyenv root`, else ~/.pyenv:
 * versions/X.Y.Z/include/python3.Y), the system's (/usr/include/python3.Y: Debian's libpython3.Y-dev), and Debian
 * sid's 3.14/3.15 unpacked by .ci/sid-pythons.sh ($PYMEM_SID_ROOT, else .cache/debian-sid: usr/include/python3.Y).
 * Each is compiled with the -D options its own core was built with (PY_CORE_CFLAGS in the _sysconfigdata beside it).
 * Needs gcc (Debian package gcc). Internal headers are read with -DPy_BUILD_CORE.
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { CPythonLayout } from "../lib/cpython/types.ts";

/** The repository root (this file is tools/cpython-layouts.ts, or dist/tools/cpython-layouts.js after tsc). */
export const ROOT = (() => {
  const up = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  return basename(up) === "dist" ? dirname(up) : up;
})();
export const SOURCE = "tools/cpython-layouts.c";
export const TABLE = "lib/cpython/layouts.generated.ts";

/** One CPython release whose headers are on this machine. */
export interface Release {
  /** "3.12.1", from its patchlevel.h. */
  version: string;
  minor: number;
  /** Where its headers came from: "pyenv", "system", "debian sid". */
  source: string;
  /** -I folders: Python.h's, then the one its pyconfig.h includes from (Debian's multiarch wrapper). */
  includes: string[];
  /**
   * The -D options the release's own core was compiled with (PY_CORE_CFLAGS of its _sysconfigdata): some structs
   * have fields only under a macro that is set there and not in pyconfig.h (Debian's 3.14/3.15: -D_Py_TIER2=3
   * -D_Py_JIT add to PyInterpreterState).
   */
  defines: string[];
}

/**
 * The -D options in PY_CORE_CFLAGS of the _sysconfigdata beside a release's include folder (<prefix>/include/python3.Y
 * → <prefix>/lib/python3.Y), or undefined when it has none.
 */
function coreDefines(includeDir: string): string[] | undefined {
  const lib = join(dirname(dirname(includeDir)), "lib", basename(includeDir));
  let files: string[];
  try {
    files = readdirSync(lib).filter((f) => /^_sysconfigdata_.*\.py$/.test(f)).sort();
  } catch {
    return undefined;
  }
  for (const f of files) {
    const m = /'PY_CORE_CFLAGS':\s*((?:'[^']*'\s*)+)/.exec(readFileSync(join(lib, f), "utf8"));
    if (!m) continue;
    const flags = m[1].replace(/'\s*'/g, "").replace(/'/g, "");
    return [...new Set(flags.split(/\s+/).filter((o) => /^-D\w+(=\S*)?$/.test(o)))];
  }
  return undefined;
}

function patchlevel(dir: string): string | undefined {
  try {
    return /#define\s+PY_VERSION\s+"([^"]+)"/.exec(readFileSync(join(dir, "patchlevel.h"), "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/** python3.Y folders (not 3.Yt, the free-threaded ones) with a Python.h under `dir`. */
function pythonDirs(dir: string): { dir: string; minor: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = /^python3\.(\d+)$/.exec(n);
    const ok = m && Number(m[1]) >= 8 && existsSync(join(dir, n, "Python.h"));
    return ok ? [{ dir: join(dir, n), minor: Number(m[1]) }] : [];
  });
}

function pyenvRoot(): string | undefined {
  if (process.env.PYENV_ROOT) return process.env.PYENV_ROOT;
  try {
    return execFileSync("pyenv", ["root"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return join(os.homedir(), ".pyenv");
  }
}

/** The releases whose headers are on this machine, oldest first. */
export function discoverReleases(): Release[] {
  const out: Release[] = [];
  const add = (dir: string, minor: number, source: string, extra: string[]) => {
    const version = patchlevel(dir);
    // A release candidate or alpha is not a row: its structs may still change. Without its _sysconfigdata (the
    // -dev package without the -stdlib one) the build's own macros are unknown: not a release to generate from.
    const defines = coreDefines(dir);
    if (version && /^3\.\d+\.\d+$/.test(version) && defines) {
      out.push({ version, minor, source, includes: [dir, ...extra], defines });
    }
  };
  const pyenv = pyenvRoot();
  if (pyenv) {
    let versions: string[] = [];
    try {
      versions = readdirSync(join(pyenv, "versions"));
    } catch { /* no pyenv */ }
    for (const v of versions.filter((v) => /^3\.\d+\.\d+$/.test(v))) {
      for (const p of pythonDirs(join(pyenv, "versions", v, "include"))) add(p.dir, p.minor, "pyenv", []);
    }
  }
  for (const p of pythonDirs("/usr/include")) add(p.dir, p.minor, "system", ["/usr/include"]);
  const sid = process.env.PYMEM_SID_ROOT ?? join(ROOT, ".cache", "debian-sid");
  const sidInclude = join(sid, "usr", "include");
  for (const p of pythonDirs(sidInclude)) add(p.dir, p.minor, "debian sid", [sidInclude]);
  const key = (r: Release) => r.version.split(".").map((n) => n.padStart(4, "0")).join(".");
  return out.sort((a, b) => key(a).localeCompare(key(b)) || a.source.localeCompare(b.source));
}

/** Why nothing can be generated here (no compiler), or undefined. */
export function compilerMissing(): string | undefined {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "gcc not found (Debian package gcc)";
  }
}

/** Compile tools/cpython-layouts.c against a release's headers, run it, and return its row. */
export function generate(release: Release): CPythonLayout {
  const dir = mkdtempSync(join(os.tmpdir(), "pymem-layouts-"));
  try {
    const exe = join(dir, "layouts");
    const args = ["-w", ...release.defines, ...release.includes.map((i) => `-I${i}`), "-o", exe, join(ROOT, SOURCE)];
    execFileSync("gcc", args, {
      stdio: ["ignore", "ignore", "pipe"],
    });
    return parse(execFileSync(exe, { encoding: "utf8" }));
  } catch (e) {
    const err = e as { stderr?: Buffer | string; message: string };
    const detail = err.stderr ? String(err.stderr).split("\n").slice(0, 5).join("\n") : err.message;
    throw new Error(`${SOURCE} against ${release.version} (${release.source}, ${release.includes[0]}):\n${detail}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** "group.field value" lines into a row. */
export function parse(text: string): CPythonLayout {
  const row: Record<string, unknown> = {};
  for (const line of text.trim().split("\n")) {
    const [key, value] = line.split(" ");
    if (key === "release") row.release = value;
    else if (key === "hex") continue; // the release's PY_VERSION_HEX: `release` says it
    else {
      const [group, field] = key.split(".");
      ((row[group] ??= {}) as Record<string, number>)[field] = Number(value);
    }
  }
  return row as unknown as CPythonLayout;
}

/** A row without its release: the numbers, which every release of a minor must share. */
export function numbers(row: CPythonLayout): Omit<CPythonLayout, "release"> {
  const { release: _, ...rest } = row;
  return rest;
}

const HEADER = `/**
 * GENERATED by tools/cpython-layouts.ts from each release's own headers: do not edit. Every number is offsetof,
 * sizeof or a constant printed by tools/cpython-layouts.c compiled against the release named in the row (gcc
 * -DPy_BUILD_CORE, x86-64 LP64); the few that no installed header defines (obmalloc's geometry before 3.12) are
 * derived there, with their source. Regenerate with \`bun tools/cpython-layouts.ts --write\`;
 * tests/cpython_layouts_test.ts checks that every release found on the machine regenerates its row.
 * @module
 */
import type { CPythonLayout } from "./types.ts";
`;

/** The table as TypeScript, lines of at most 120 characters. */
export function render(rows: Record<number, CPythonLayout>): string {
  const lines = [
    HEADER,
    "/** One row per CPython minor. */",
    "export const GENERATED: Readonly<Record<number, CPythonLayout>> = {",
  ];
  for (const minor of Object.keys(rows).map(Number).sort((a, b) => a - b)) {
    const row = rows[minor];
    lines.push(`  ${minor}: {`, `    release: ${JSON.stringify(row.release)},`);
    for (const [group, fields] of Object.entries(numbers(row))) {
      const items = Object.entries(fields as Record<string, number>).map(([k, v]) => `${k}: ${v}`);
      const one = `    ${group}: { ${items.join(", ")} },`;
      if (one.length <= 120) {
        lines.push(one);
        continue;
      }
      lines.push(`    ${group}: {`);
      let line = "     ";
      for (const item of items) {
        if (line.length + item.length + 2 > 120) (lines.push(line.trimEnd()), line = "     ");
        line += ` ${item},`;
      }
      lines.push(line, "    },");
    }
    lines.push("  },");
  }
  lines.push("};", "");
  return lines.join("\n");
}

/** The newest release of each minor, regenerated; committed rows are kept for minors without headers here. */
export function regenerate(
  releases: Release[],
  committed: Record<number, CPythonLayout>,
): Record<number, CPythonLayout> {
  const rows: Record<number, CPythonLayout> = { ...committed };
  for (const r of releases) rows[r.minor] = generate(r); // oldest first: the newest of a minor wins
  return rows;
}

/** Differences between a release's regenerated numbers and its minor's committed row, as lines. */
export function differences(release: Release, got: CPythonLayout, committed: CPythonLayout | undefined): string[] {
  if (!committed) return [`3.${release.minor}: no row in ${TABLE} (run \`bun tools/cpython-layouts.ts --write\`)`];
  const want = numbers(committed) as Record<string, Record<string, number>>;
  const have = numbers(got) as Record<string, Record<string, number>>;
  const out: string[] = [];
  for (const group of new Set([...Object.keys(want), ...Object.keys(have)])) {
    for (const field of new Set([...Object.keys(want[group] ?? {}), ...Object.keys(have[group] ?? {})])) {
      const a = want[group]?.[field], b = have[group]?.[field];
      if (a === b) continue;
      const who = `${release.version} (${release.source})`;
      out.push(`${who}: ${group}.${field} is ${b}, the table (${committed.release}) has ${a}`);
    }
  }
  return out;
}

if (process.argv[1] && /cpython-layouts\.[jt]s$/.test(process.argv[1])) {
  const argv = process.argv.slice(2);
  const releases = discoverReleases();
  const missing = compilerMissing();
  if (missing) {
    console.error(`cpython-layouts: ${missing}`);
    process.exit(2);
  }
  const { GENERATED } = await import("../lib/cpython/layouts.generated.ts");
  if (argv.includes("--list")) {
    for (const r of releases) console.log([r.version, r.source, r.includes.join(" "), r.defines.join(" ")].join("\t"));
  } else if (argv.includes("--write")) {
    writeFileSync(join(ROOT, TABLE), render(regenerate(releases, GENERATED)));
    const from = releases.map((r) => `${r.version} (${r.source})`).join(", ");
    console.log(`cpython-layouts: wrote ${TABLE} from ${from}`);
  } else {
    const problems = releases.flatMap((r) => differences(r, generate(r), GENERATED[r.minor]));
    for (const p of problems) console.error(p);
    console.log(`cpython-layouts: ${releases.length} releases checked, ${problems.length} differences`);
    process.exit(problems.length ? 1 : 0);
  }
}
