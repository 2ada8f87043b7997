/**
 * Regenerate lib/objects/classify-pass.x86_64.s (the native block classification pass) from its C source,
 * tools/classify-pass.c, with gcc; then `bun tools/assemble.ts --write` rewrites the bytes in
 * lib/objects/classify-pass.ts from that assembly, and tests/machine_code_test.ts checks the two agree.
 *
 *   bun tools/classify-pass.ts           rewrite the .s
 *   bun tools/classify-pass.ts --check   exit 1 when the .s is not what this gcc makes of the C (another gcc release
 *                                        may schedule differently: then rewrite, assemble and run the tests)
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "./machine-code.ts";

const C = "tools/classify-pass.c", S = "lib/objects/classify-pass.x86_64.s";
export const GCC_FLAGS = [
  "-O2",
  "-S",
  "-masm=intel",
  "-fno-asynchronous-unwind-tables",
  "-fno-jump-tables",
  "-fno-stack-protector",
  "-fcf-protection=none",
  "-fno-pic",
  "-ffreestanding",
  "-fno-builtin",
  "-mno-red-zone",
  "-mgeneral-regs-only",
];
const out = execFileSync("gcc", [...GCC_FLAGS, "-o", "-", join(ROOT, C)], { encoding: "utf8" });
const body = out.split("\n").filter((l) => !/^\s*\.(file|ident)\b/.test(l)).join("\n");
const text =
  `# The native block classification pass (lib/objects/classify-pass.ts: CLASSIFY_X64 and CLASSIFY_BATCH_OFFSET):
# the source of those bytes, compiled by gcc from ${C} (its C, with the Job it reads and the contract):
#   gcc ${GCC_FLAGS.join(" ")} ${C}
# Change the C, then \`bun tools/classify-pass.ts\` (rewrites this file) and \`bun tools/assemble.ts --write\` (the bytes).
${body}`;
if (process.argv.includes("--check")) {
  const now = readFileSync(join(ROOT, S), "utf8");
  if (now !== text) {
    console.error(`${S} is not what gcc makes of ${C} here: run bun tools/classify-pass.ts`);
    process.exit(1);
  }
  console.log(`ok ${S}`);
} else {
  writeFileSync(join(ROOT, S), text);
  console.log(`wrote ${S}`);
}
