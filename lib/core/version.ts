/**
 * The CPython version type shared by everything that names a version: an embedded interpreter (`py.version`) and an
 * attached process (`AttachedPython.version`) report the same shape.
 * @module
 */
import { PymemError } from "../errors.ts";

/** This pymem's version; tests/packaging_test.ts checks that it is package.json's. */
export const PYMEM_VERSION = "0.2.0";

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
  if (!m) throw new PymemError("UNSUPPORTED", `Cannot parse the Python version "${text}"`);
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

/** A version from `PY_VERSION_HEX` (`sys.hexversion`, `Py_Version`, `_Py_DebugOffsets.version`). */
export function versionFromHex(hex: number): PythonVersion {
  const level = ({ 0xa: "alpha", 0xb: "beta", 0xc: "candidate" } as const)[(hex >>> 4) & 0xf as 0xa | 0xb | 0xc] ??
    "final";
  return {
    major: (hex >>> 24) & 0xff,
    minor: (hex >>> 16) & 0xff,
    micro: (hex >>> 8) & 0xff,
    releaseLevel: level,
    serial: hex & 0xf,
    hex: hex >>> 0,
  };
}
