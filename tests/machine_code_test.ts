/**
 * Generated machine code equals its assembly source: each unit of tools/machine-code.ts (the pool pass, attach's read
 * loop, the bridges, hooks and call loops) is assembled with GNU as and compared byte for byte with what pymem maps,
 * label offsets included; a fixed array's comments must be its source's disassembly. Skipped, naming the package to
 * install, where the assembler for an instruction set is missing. Needs no Python.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { assemble, differences, ROOT, toolchain, UNITS } from "../tools/machine-code.ts";
import { assert, test } from "./_harness.ts";

for (const unit of UNITS) {
  const tools = toolchain(unit.arch);
  test(`machine code: ${unit.name} equals ${unit.source}`, () => {
    if (typeof tools === "string") return;
    const problems = differences(unit, assemble(unit, tools, { listing: !!unit.array }));
    assert.deepEqual(
      problems,
      [],
      `${unit.name} differs from ${unit.source} (run \`bun tools/assemble.ts\`):\n` +
        problems.join("\n"),
    );
  }, { skip: typeof tools === "string" ? tools : false });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]
  );
}

test("machine code: every byte array in lib/ and every .s source is a unit", () => {
  const files = filesUnder(join(ROOT, "lib")).map((f) => relative(ROOT, f));
  // `const NAME = new Uint8Array([` followed (after comment lines) by a hex byte: a fixed array of code.
  const arrayRe = /const (\w+) = new Uint8Array\(\[\s*(?:\/\/[^\n]*\n\s*)*0x/g;
  const arrays = files.filter((f) => f.endsWith(".ts")).flatMap((f) =>
    [...readFileSync(join(ROOT, f), "utf8").matchAll(arrayRe)].map((m) => `${f} ${m[1]}`)
  );
  const listed = UNITS.flatMap((u) => (u.array ? [`${u.array.file} ${u.array.name}`] : []));
  assert.deepEqual(arrays.sort(), [...listed].sort(), "a byte array of code with no unit in tools/machine-code.ts");
  const sources = files.filter((f) => f.endsWith(".s")).sort();
  assert.deepEqual(sources, [...new Set(UNITS.map((u) => u.source))].sort(), "a .s source that no unit assembles");
});
