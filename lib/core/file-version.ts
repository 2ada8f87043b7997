/**
 * The CPython version of a libpython (or a statically linked python) read from the file, without loading it: used
 * by discovery (lib/core/locate.ts) and by attach for the image another process maps.
 * @module
 */
import type { ElfFile } from "../machine/elf.ts";
import { PymemError } from "../errors.ts";
import { ripRelativeRefs } from "../machine/x86.ts";
import { u32le } from "../machine/bytes.ts";

/** The version from the image file: Py_Version (3.11+) or the PY_VERSION literal Py_GetVersion formats. */
export function fileVersion(
  elf: ElfFile,
  path: string,
): { major: number; minor: number; micro: number; text: string; how: string } {
  const pv = elf.dynamicSymbol("Py_Version");
  if (pv) {
    try {
      const hexv = u32le(elf.readVaddr(pv.value, 4));
      const major = hexv >>> 24, minor = (hexv >>> 16) & 0xff, micro = (hexv >>> 8) & 0xff;
      // The release level as PY_VERSION spells it (3.15.0a3, 3.14.0rc1), so both branches give the same text.
      const level = { 0xa: "a", 0xb: "b", 0xc: "rc" }[(hexv >>> 4) & 0xf];
      const text = `${major}.${minor}.${micro}${level ? `${level}${hexv & 0xf}` : ""}`;
      if (major === 3) return { major, minor, micro, text, how: `Py_Version = 0x${hexv.toString(16)} (file)` };
    } catch { /* fall through */ }
  }
  const gv = elf.dynamicSymbol("Py_GetVersion");
  if (gv && elf.machine === "x86_64") {
    const code = elf.readVaddr(gv.value, Math.min(gv.size || 128, 256));
    for (const r of ripRelativeRefs(code, gv.value, 64)) {
      if (r.op !== "lea") continue;
      let s: Uint8Array;
      try {
        s = elf.readVaddr(r.target, 16);
      } catch {
        continue;
      }
      const m = /^(\d+)\.(\d+)\.(\d+)([a-z0-9+]*)\0/.exec(new TextDecoder("latin1").decode(s));
      if (m) {
        return {
          major: +m[1],
          minor: +m[2],
          micro: +m[3],
          text: `${m[1]}.${m[2]}.${m[3]}${m[4]}`,
          how: "PY_VERSION literal referenced by Py_GetVersion (file)",
        };
      }
    }
  }
  const m = /python(\d)\.(\d+)/.exec(path.slice(path.lastIndexOf("/") + 1));
  if (m) {
    return { major: +m[1], minor: +m[2], micro: 0, text: `${m[1]}.${m[2]}`, how: "file name (micro version unknown)" };
  }
  throw new PymemError("ATTACH", `cannot tell the CPython version of ${path}`);
}
