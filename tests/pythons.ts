/**
 * Test tooling: every CPython shared library on this machine, for the test matrix (tests/run.ts). The search itself
 * is lib/core/locate.ts's `discoverPythons` (pyenv, PATH, /usr/bin, ldconfig, unpacked roots with their own loader:
 * see there), the same one `pymem bench` uses; this module adds the repository's places and expectations:
 * <repo>/.cache/debian-sid as a root when it exists (made by .ci/sid-pythons.sh: Debian sid's newest 3.14 and 3.15
 * with sid's glibc), the minors every run must find, and the tools of node_modules/.bin.
 * @module
 */
import { existsSync } from "node:fs";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  discoverPythons as coreDiscover,
  type FoundPython,
  MIN_MINOR,
  pythonRoots as corePythonRoots,
} from "../lib/core/locate.ts";
import { KNOWN_MINORS } from "../lib/cpython/versions.ts";

export type PythonTarget = FoundPython;

/**
 * Every minor pymem supports (lib/cpython's rows) must be found; a missing one is reported as skipped, never silently
 * passed.
 */
export const EXPECTED_MINORS = KNOWN_MINORS;
export { MIN_MINOR };

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
  return corePythonRoots([SID_ROOT], notes);
}

/** Every CPython 3.8+ shared library on this machine, deduplicated by realpath, sorted by version. */
export function discoverPythons(): PythonTarget[] {
  return coreDiscover({ roots: [SID_ROOT], notes });
}

/** The expected minors that discovery did not find, with the reason shown as "skipped". */
export function missingMinors(targets: PythonTarget[]): { minor: number; reason: string }[] {
  return EXPECTED_MINORS.filter((m) => !targets.some((t) => t.minor === m))
    .map((minor) => ({
      minor,
      reason: `skipped: CPython 3.${minor} not found on this machine` + (minor >= 14 ? sidHint() : ""),
    }));
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
    console.log(
      `${p.version.padEnd(8)} ${p.stripped ? "stripped" : "symtab  "} ${p.library}  [${p.foundBy.join("; ")}]`,
    );
    if (p.launch) console.log(`         launch: ${p.launch.join(" ")}; home ${p.home ?? "(its build's)"}`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  for (const m of missingMinors(t)) console.log(m.reason);
}
