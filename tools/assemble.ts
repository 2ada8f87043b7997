/**
 * Assemble every machine-code source in the tree (tools/machine-code.ts lists them) with GNU as and compare it with
 * the bytes pymem uses. The way to change generated code: edit the `.s`, then run this.
 *
 *   bun tools/assemble.ts            check: every unit's bytes equal its assembled source (exit 1 if not)
 *   bun tools/assemble.ts --write    rewrite the fixed arrays (and their label offsets) from their sources, then check
 *   bun tools/assemble.ts --list     print each unit's disassembly as assembled from its source
 *
 * Generators (lib/machine/codegen.ts) cannot be rewritten: on a difference this prints both disassemblies, and the
 * generator is changed by hand to match its source. Needs `as`, `objcopy`, `nm` and `objdump` from GNU binutils
 * (aarch64 sources: the `aarch64-linux-gnu-` ones, Debian package binutils-aarch64-linux-gnu); a missing toolchain
 * skips its units with a message.
 * @module
 */
import process from "node:process";
import {
  assemble,
  differences,
  disassembleBytes,
  type ListingLine,
  toolchain,
  UNITS,
  writeArray,
} from "./machine-code.ts";

const argv = process.argv.slice(2);
const write = argv.includes("--write");
const list = argv.includes("--list");
for (const a of argv) {
  if (a !== "--write" && a !== "--list") {
    console.error(`tools/assemble.ts: unknown option "${a}"\nusage: bun tools/assemble.ts [--write] [--list]`);
    process.exit(2);
  }
}

const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
const show = (l: ListingLine) =>
  "label" in l ? `${l.label}:` : `  ${l.offset.toString(16).padStart(4)}: ${hex(l.bytes).padEnd(32)} ${l.text}`;

let failed = 0, skipped = 0, rewritten = 0;
for (const unit of UNITS) {
  const tools = toolchain(unit.arch);
  if (typeof tools === "string") {
    console.log(`skip  ${unit.name}: ${tools}`);
    skipped++;
    continue;
  }
  const assembled = assemble(unit, tools, { listing: write || list || !!unit.array });
  if (write && unit.array && writeArray(unit, assembled)) {
    // This process still holds the old module: the next run (or the test) checks the new file.
    console.log(`wrote ${unit.array.file} (${unit.array.name}) from ${unit.source}`);
    rewritten++;
    continue;
  }
  if (list) {
    const defs = Object.entries(unit.defsyms ?? {}).map(([k, v]) => ` ${k}=0x${v.toString(16)}`).join("");
    console.log(`== ${unit.name}: ${unit.source}${defs}`);
    for (const l of assembled.listing!) console.log(show(l));
  }
  const problems = differences(unit, assembled);
  if (problems.length === 0) {
    console.log(`ok    ${unit.name} (${assembled.bytes.length} bytes, ${unit.source})`);
    continue;
  }
  failed++;
  console.log(`FAIL  ${unit.name}\n${problems.map((p) => "  " + p).join("\n")}`);
  const mine = disassembleBytes(tools, unit.arch, unit.bytes()).filter((l) => !("label" in l));
  const theirs = disassembleBytes(tools, unit.arch, assembled.bytes).filter((l) => !("label" in l));
  console.log("  code (left) vs source (right), differing instructions marked, with two either side:");
  const rows = Array.from(
    { length: Math.max(mine.length, theirs.length) },
    (_, i) => [mine[i] ? show(mine[i]) : "", theirs[i] ? show(theirs[i]) : ""],
  );
  const near = (i: number) => rows.slice(Math.max(0, i - 2), i + 3).some(([a, b]) => a !== b);
  let gap = false;
  rows.forEach(([a, b], i) => {
    if (!near(i)) return void (gap = true);
    if (gap) console.log("  …");
    gap = false;
    console.log(`${a === b ? " " : "!"} ${a.padEnd(72)} | ${b}`);
  });
}
console.log(
  `${UNITS.length - failed - skipped - rewritten} ok, ${failed} differ, ${skipped} skipped` +
    (write ? `, ${rewritten} rewritten (run again to check them)` : ""),
);
process.exit(failed ? 1 : 0);
