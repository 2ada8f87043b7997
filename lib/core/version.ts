/**
 * The CPython version type shared by everything that names a version: an embedded interpreter (`py.version`) and an
 * attached process (`AttachedPython.version`) report the same shape.
 * @module
 */
import { PymemError } from "../errors.ts";

/** A CPython version, as `sys.version_info` plus `sys.hexversion`. */
export interface PythonVersion {
  major: number;
  minor: number;
  micro: number;
  releaseLevel: "alpha" | "beta" | "candidate" | "final";
  serial: number;
  /** `PY_VERSION_HEX`, e.g. 0x030b07f0 for 3.11.7. */
  hex: number;
}

/** Parse the start of `Py_GetVersion()` / `sys.version` ("3.11.7 (main, …)", "3.14.0rc2+ …"). */
export function parseVersion(text: string): PythonVersion {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:(a|b|rc)(\d+))?/.exec(text);
  if (!m) throw new PymemError("UNSUPPORTED_VERSION", `Cannot parse the Python version "${text}"`);
  const [major, minor, micro] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const level = ({ a: "alpha", b: "beta", rc: "candidate" } as const)[m[4] as "a" | "b" | "rc"] ?? "final";
  const serial = m[5] ? Number(m[5]) : 0;
  const levelCode = { alpha: 0xa, beta: 0xb, candidate: 0xc, final: 0xf }[level];
  const hex = ((major << 24) | (minor << 16) | (micro << 8) | (levelCode << 4) | serial) >>> 0;
  return { major, minor, micro, releaseLevel: level, serial, hex };
}

/** "3.11.7" (plus "rc2" etc. for a pre-release). */
export function versionString(v: PythonVersion): string {
  const pre = { alpha: "a", beta: "b", candidate: "rc", final: "" }[v.releaseLevel];
  return `${v.major}.${v.minor}.${v.micro}${pre ? pre + v.serial : ""}`;
}
