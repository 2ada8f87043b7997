/**
 * Every piece of machine code pymem generates, beside its assembly source: the list (`UNITS`) and the GNU binutils
 * plumbing that assembles a source and compares it with the bytes pymem actually uses. Shared by the script
 * (tools/assemble.ts) and the test (tests/machine_code_test.ts); the library never imports it.
 *
 * Two kinds of unit: fixed arrays (the heap walk's pool pass, attach's read loop), which `tools/assemble.ts --write`
 * rewrites from their source; and generators in lib/machine/codegen.ts, which patch addresses into their bytes. A
 * generator's source names those addresses as symbols that are defined here (`--defsym`) to placeholder values, and
 * the generator is called with the same values, so the two must agree byte for byte.
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BRIDGE_STRIDE,
  bridgeCode,
  callLoopCode,
  type FunctionSet,
  hookCode,
  hookStride,
} from "../lib/machine/codegen.ts";
import { READV_LOOP_X64 } from "../lib/machine/remote.ts";
import {
  CHUNKS_OFFSET,
  FINISH_OFFSET,
  POST_OFFSET,
  SETTLE_OFFSET,
  STOP_OFFSET,
  WALK_X64,
  WORKER_OFFSET,
} from "../lib/obmalloc/pool-pass.ts";
import { SP_PROBE_ARM64, SP_PROBE_X64 } from "../lib/core/stackguard.ts";
import {
  CLASSIFY_BATCH_OFFSET,
  CLASSIFY_X64,
  COUNT_KINDS_OFFSET,
  SPECULATE_OFFSET,
} from "../lib/objects/classify-pass.ts";

/** The repository root (this file is tools/machine-code.ts, or dist/tools/machine-code.js after tsc). */
export const ROOT = (() => {
  const up = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  return basename(up) === "dist" ? dirname(up) : up;
})();

/** Instruction sets, by binutils' name. */
export type AsmArch = "x86_64" | "aarch64";

/** One piece of generated code and its source. */
export interface Unit {
  name: string;
  /** The assembly source, relative to the repository root. */
  source: string;
  arch: AsmArch;
  /** Symbols the source uses but does not define (`--defsym NAME=value`): the generator's patched values. */
  defsyms?: Record<string, bigint | number>;
  /** The bytes pymem uses (the fixed array, or the generator's output for the placeholder values). */
  bytes(): Uint8Array;
  /** Offsets TypeScript relies on, by the source's label: each must equal the label's offset in the assembled code. */
  labels?: Record<string, number>;
  /** A fixed array `--write` regenerates: the file, the const's name, and consts that hold a label's offset. */
  array?: { file: string; name: string; constants?: Record<string, string> };
}

/** Placeholder addresses for the generators: a different byte everywhere, so a swapped or misplaced byte shows. */
export const PLACEHOLDER_TARGETS: FunctionSet = {
  malloc: 0x1011121314151617n,
  calloc: 0x2021222324252627n,
  realloc: 0x3031323334353637n,
  free: 0x4041424344454647n,
};
export const PLACEHOLDER_SLOT = 0x5051525354555600n;

const targetSyms = {
  MALLOC: PLACEHOLDER_TARGETS.malloc,
  CALLOC: PLACEHOLDER_TARGETS.calloc,
  REALLOC: PLACEHOLDER_TARGETS.realloc,
  FREE: PLACEHOLDER_TARGETS.free,
};
const strided = (names: string[], stride: number) => Object.fromEntries(names.map((n, i) => [n, i * stride]));
const bridgeLabels = strided(["bridge_malloc", "bridge_calloc", "bridge_realloc", "bridge_free"], BRIDGE_STRIDE);
const hookLabels = (stride: number) => strided(["hook_malloc", "hook_calloc", "hook_realloc", "hook_free"], stride);

/** Every piece of machine code in pymem. A new one goes here, with its source beside the code that uses it. */
export const UNITS: Unit[] = [
  {
    name: "heap walk's native pool pass (walk, chunks, worker, post, settle, finish, stop)",
    source: "lib/obmalloc/pool-pass.x86_64.s",
    arch: "x86_64",
    bytes: () => WALK_X64,
    labels: {
      walk: 0,
      chunks: CHUNKS_OFFSET,
      worker: WORKER_OFFSET,
      post: POST_OFFSET,
      settle: SETTLE_OFFSET,
      finish: FINISH_OFFSET,
      stop: STOP_OFFSET,
    },
    array: {
      file: "lib/obmalloc/pool-pass.ts",
      name: "WALK_X64",
      constants: {
        CHUNKS_OFFSET: "chunks",
        WORKER_OFFSET: "worker",
        POST_OFFSET: "post",
        SETTLE_OFFSET: "settle",
        FINISH_OFFSET: "finish",
        STOP_OFFSET: "stop",
      },
    },
  },
  {
    name:
      "native block classification pass (classify_batch, count_kinds, speculate; compiled from tools/classify-pass.c)",
    source: "lib/objects/classify-pass.x86_64.s",
    arch: "x86_64",
    bytes: () => CLASSIFY_X64,
    labels: { classify_batch: CLASSIFY_BATCH_OFFSET, count_kinds: COUNT_KINDS_OFFSET, speculate: SPECULATE_OFFSET },
    array: {
      file: "lib/objects/classify-pass.ts",
      name: "CLASSIFY_X64",
      constants: {
        CLASSIFY_BATCH_OFFSET: "classify_batch",
        COUNT_KINDS_OFFSET: "count_kinds",
        SPECULATE_OFFSET: "speculate",
      },
    },
  },
  {
    name: "attach's read loop (readv_loop)",
    source: "lib/machine/remote.x86_64.s",
    arch: "x86_64",
    bytes: () => READV_LOOP_X64,
    labels: { readv_loop: 0 },
    array: { file: "lib/machine/remote.ts", name: "READV_LOOP_X64" },
  },
  {
    name: "stack pointer probe, x86-64 (stack_pointer)",
    source: "lib/core/stack-pointer.x86_64.s",
    arch: "x86_64",
    bytes: () => SP_PROBE_X64,
    labels: { stack_pointer: 0 },
    array: { file: "lib/core/stackguard.ts", name: "SP_PROBE_X64" },
  },
  {
    name: "stack pointer probe, aarch64 (stack_pointer)",
    source: "lib/core/stack-pointer.aarch64.s",
    arch: "aarch64",
    bytes: () => SP_PROBE_ARM64,
    labels: { stack_pointer: 0 },
    array: { file: "lib/core/stackguard.ts", name: "SP_PROBE_ARM64" },
  },
  {
    name: "bridges, x86-64 (bridgeCode)",
    source: "lib/machine/bridges.x86_64.s",
    arch: "x86_64",
    defsyms: targetSyms,
    bytes: () => bridgeCode("x64", PLACEHOLDER_TARGETS),
    labels: bridgeLabels,
  },
  {
    name: "bridges, aarch64 (bridgeCode)",
    source: "lib/machine/bridges.aarch64.s",
    arch: "aarch64",
    defsyms: targetSyms,
    bytes: () => bridgeCode("arm64", PLACEHOLDER_TARGETS),
    labels: bridgeLabels,
  },
  {
    name: "counting hooks, x86-64 (hookCode)",
    source: "lib/machine/hooks.x86_64.s",
    arch: "x86_64",
    defsyms: { SLOT: PLACEHOLDER_SLOT },
    bytes: () => hookCode("x64", PLACEHOLDER_SLOT),
    labels: hookLabels(hookStride("x64")),
  },
  {
    name: "counting hooks, aarch64 (hookCode)",
    source: "lib/machine/hooks.aarch64.s",
    arch: "aarch64",
    defsyms: { SLOT: PLACEHOLDER_SLOT },
    bytes: () => hookCode("arm64", PLACEHOLDER_SLOT),
    labels: hookLabels(hookStride("arm64")),
  },
  {
    name: "call loop, ctx kind (callLoopCode)",
    source: "lib/machine/call-loop.x86_64.s",
    arch: "x86_64",
    defsyms: { PLAIN: 0 },
    bytes: () => callLoopCode("x64", "ctx"),
    labels: { call_loop: 0 },
  },
  {
    name: "call loop, plain kind (callLoopCode)",
    source: "lib/machine/call-loop.x86_64.s",
    arch: "x86_64",
    defsyms: { PLAIN: 1 },
    bytes: () => callLoopCode("x64", "plain"),
    labels: { call_loop: 0 },
  },
];

// ---- binutils -----------------------------------------------------------------------------------------------------

/** The binutils programs for one instruction set. */
export interface Toolchain {
  as: string;
  objcopy: string;
  nm: string;
  objdump: string;
}

const PACKAGE: Record<AsmArch, string> = {
  x86_64: "binutils (or binutils-x86-64-linux-gnu elsewhere)",
  aarch64: "binutils-aarch64-linux-gnu",
};
const found = new Map<AsmArch, Toolchain | string>();

/**
 * GNU binutils for `arch`: the native `as` when it targets that set, else the cross tools (`aarch64-linux-gnu-as`).
 * A string says why there are none (naming the Debian package), for a test's skip reason.
 */
export function toolchain(arch: AsmArch): Toolchain | string {
  const known = found.get(arch);
  if (known !== undefined) return known;
  let result: Toolchain | string = `GNU as for ${arch} not found (neither \`as\` targeting it nor ` +
    `\`${arch}-linux-gnu-as\`; Debian/Ubuntu package ${PACKAGE[arch]})`;
  for (const prefix of ["", `${arch}-linux-gnu-`]) {
    let version: string;
    try {
      version = execFileSync(`${prefix}as`, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch {
      continue;
    }
    // "This assembler was configured for a target of `x86_64-linux-gnu'."
    if (!new RegExp(`target of .${arch}[-']`).test(version)) continue;
    result = { as: `${prefix}as`, objcopy: `${prefix}objcopy`, nm: `${prefix}nm`, objdump: `${prefix}objdump` };
    break;
  }
  found.set(arch, result);
  return result;
}

/** One disassembled instruction (or a label) of an assembled unit. */
export type ListingLine = { label: string } | { offset: number; bytes: number[]; text: string };

/** A unit's source, assembled. */
export interface Assembled {
  bytes: Uint8Array;
  /** Offsets of the source's labels in .text. */
  labels: Map<string, number>;
  /** objdump's disassembly (Intel syntax on x86-64), when asked for. */
  listing?: ListingLine[];
}

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 24 });

/** Assemble a unit's source with its defsyms (throws the assembler's messages on an error). */
export function assemble(unit: Unit, tools: Toolchain, options: { listing?: boolean } = {}): Assembled {
  const dir = mkdtempSync(join(tmpdir(), "pymem-asm-"));
  try {
    const obj = join(dir, "unit.o"), bin = join(dir, "unit.bin");
    const defs = Object.entries(unit.defsyms ?? {}).flatMap(([k, v]) => ["--defsym", `${k}=0x${v.toString(16)}`]);
    try {
      run(tools.as, [...defs, "-o", obj, join(ROOT, unit.source)]);
    } catch (e) {
      const err = e as { stderr?: string };
      throw new Error(`${tools.as} ${unit.source} failed:\n${err.stderr ?? String(e)}`);
    }
    run(tools.objcopy, ["-O", "binary", "-j", ".text", obj, bin]);
    const bytes = new Uint8Array(readFileSync(bin));
    const labels = new Map<string, number>();
    for (const line of run(tools.nm, [obj]).split("\n")) {
      const m = /^([0-9a-f]+) [tT] (\S+)$/.exec(line.trim());
      if (m && !m[2].startsWith("$")) labels.set(m[2], parseInt(m[1], 16)); // $x/$d: aarch64 mapping symbols
    }
    const listing = options.listing ? disassemble(tools, unit.arch, obj) : undefined;
    return { bytes, labels, listing };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bytes GNU as makes of `text` (a whole source, e.g. `.intel_syntax noprefix` and instructions). */
export function assembleText(tools: Toolchain, text: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "pymem-asm-"));
  try {
    const src = join(dir, "text.s"), obj = join(dir, "text.o"), bin = join(dir, "text.bin");
    writeFileSync(src, text);
    run(tools.as, ["-o", obj, src]);
    run(tools.objcopy, ["-O", "binary", "-j", ".text", obj, bin]);
    return new Uint8Array(readFileSync(bin));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** objdump's disassembly of raw bytes (for showing what a generator wrote). */
export function disassembleBytes(tools: Toolchain, arch: AsmArch, bytes: Uint8Array): ListingLine[] {
  const dir = mkdtempSync(join(tmpdir(), "pymem-asm-"));
  try {
    const bin = join(dir, "code.bin");
    writeFileSync(bin, bytes);
    return disassemble(tools, arch, bin, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** objdump's disassembly of an object file (labels included), or of a raw binary file. */
function disassemble(tools: Toolchain, arch: AsmArch, file: string, raw = false): ListingLine[] {
  const args = [
    ...(raw ? ["-D", "-b", "binary", "-m", arch === "x86_64" ? "i386:x86-64" : "aarch64"] : ["-d"]),
    ...(arch === "x86_64" ? ["-M", "intel", "--insn-width=16"] : []),
    file,
  ];
  const out: ListingLine[] = [];
  for (const line of run(tools.objdump, args).split("\n")) {
    const label = /^[0-9a-f]+ <([^>]+)>:$/.exec(line);
    if (label) {
      out.push({ label: label[1] });
      continue;
    }
    const insn = /^\s*([0-9a-f]+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (!insn) continue;
    // x86-64 lists bytes ("48 8b 38"), aarch64 words ("d503245f", shown most significant byte first).
    const bytes = insn[2].trim().split(/\s+/).flatMap((h) =>
      h.length === 8 ? [6, 4, 2, 0].map((i) => parseInt(h.slice(i, i + 2), 16)) : [parseInt(h, 16)]
    );
    out.push({ offset: parseInt(insn[1], 16), bytes, text: tidy(insn[3]) });
  }
  return out;
}

/** objdump's instruction text, in the compact style of pymem's comments: `mov r15,qword [rsp+0x38]`, `je done`. */
function tidy(text: string): string {
  return text
    .replace(/\s*\/\/.*$/, "") // aarch64 condition notes ("// eq = none")
    .replace(/\b(BYTE|WORD|DWORD|QWORD|XMMWORD) PTR /g, (_, size: string) => `${size.toLowerCase()} `)
    .replace(/\b[0-9a-f]+ <([^>]+)>/, "$1") // branch targets by label
    .replace(/\s+/, " ")
    .trim();
}

// ---- comparing ----------------------------------------------------------------------------------------------------

/**
 * What differs between a unit's bytes and its assembled source (empty when they agree). With a listing, a fixed
 * array's text must also be exactly what `--write` makes of the source (so its comments say what its bytes do).
 */
export function differences(unit: Unit, assembled: Assembled): string[] {
  const problems: string[] = [];
  const code = unit.bytes();
  const src = assembled.bytes;
  if (code.length !== src.length) {
    problems.push(`${code.length} bytes in the code, ${src.length} assembled from ${unit.source}`);
  }
  const n = Math.min(code.length, src.length);
  let at = -1;
  for (let i = 0; i < n && at < 0; i++) if (code[i] !== src[i]) at = i;
  if (at >= 0 || (problems.length && n > 0)) {
    const first = at >= 0 ? at : n;
    const from = Math.max(0, first - 8);
    const hex = (b: Uint8Array) =>
      [...b.subarray(from, first + 8)].map((x) => x.toString(16).padStart(2, "0")).join(" ");
    if (at >= 0) problems.push(`first difference at offset 0x${at.toString(16)}`);
    problems.push(`  code   @0x${from.toString(16)}: ${hex(code)}`, `  source @0x${from.toString(16)}: ${hex(src)}`);
  }
  if (unit.array && assembled.listing && problems.length === 0) {
    // Same bytes: then the comments must be the source's disassembly too (no hand edits that went stale).
    const text = readFileSync(join(ROOT, unit.array.file), "utf8");
    if (!text.includes(renderArray(unit.array.name, assembled.listing))) {
      problems.push(
        `${unit.array.file}: ${unit.array.name}'s comments or layout are not what ` +
          "`bun tools/assemble.ts --write` writes",
      );
    }
  }
  for (const [label, offset] of Object.entries(unit.labels ?? {})) {
    const actual = assembled.labels.get(label);
    if (actual === undefined) problems.push(`label ${label} is not in ${unit.source}`);
    else if (actual !== offset) {
      problems.push(
        `label ${label}: the code uses offset 0x${offset.toString(16)}, the source puts it at ` +
          `0x${actual.toString(16)}`,
      );
    }
  }
  return problems;
}

// ---- rewriting a fixed array from its source ---------------------------------------------------------------------

/** The TypeScript text of a fixed array: one line per instruction, its disassembly as the comment, labels between. */
export function renderArray(name: string, listing: ListingLine[]): string {
  const lines = listing.map((l) => {
    if ("label" in l) return `  // ${l.label}:`;
    const row = l.bytes.map((b) => `0x${b.toString(16).padStart(2, "0")},`).join(" ");
    return `  ${row.length < 46 ? row.padEnd(48) : row + "  "}// ${l.text}`;
  });
  return `const ${name} = new Uint8Array([\n${lines.join("\n")}\n]);`;
}

/**
 * Rewrite a fixed array's file from its source: the array's bytes and the constants holding label offsets. Returns
 * whether the file changed.
 */
export function writeArray(unit: Unit, assembled: Assembled): boolean {
  if (!unit.array || !assembled.listing) throw new Error(`${unit.name}: not a fixed array`);
  const { file, name, constants = {} } = unit.array;
  const path = join(ROOT, file);
  const before = readFileSync(path, "utf8");
  const arrayRe = new RegExp(`const ${name} = new Uint8Array\\(\\[\\n[\\s\\S]*?\\n\\]\\);`);
  if (!arrayRe.test(before)) {
    throw new Error(`${file}: no \`const ${name} = new Uint8Array([ … ]);\` block to rewrite`);
  }
  let after = before.replace(arrayRe, () => renderArray(name, assembled.listing!));
  for (const [constant, label] of Object.entries(constants)) {
    const offset = assembled.labels.get(label);
    if (offset === undefined) throw new Error(`${unit.source}: no label ${label} (for ${constant})`);
    const re = new RegExp(`const ${constant} = (0x[0-9a-f]+|\\d+);`);
    if (!re.test(after)) throw new Error(`${file}: no \`const ${constant} = …;\` to rewrite`);
    after = after.replace(re, `const ${constant} = 0x${offset.toString(16)};`);
  }
  if (after === before) return false;
  writeFileSync(path, after);
  return true;
}
