/**
 * Just enough x86-64 decoding to find the RIP-relative memory references at the start of a function.
 *
 * On a stripped libpython, obmalloc's statics (`maxarenas`, `arenas`, `raw_allocated_blocks`, …) have no symbol, but
 * small exported functions read them first thing: `_Py_GetAllocatedBlocks` on 3.9–3.11 starts
 * `mov eax,[rip+maxarenas]; mov rdx,[rip+raw_allocated_blocks]; test; je; mov rsi,[rip+arenas]`. Decoding those
 * loads gives the statics' file vaddrs.
 *
 * This is a linear length decoder, not a disassembler: it walks instruction by instruction (not following jumps),
 * sizing the general-purpose and common SSE encodings, and reports every instruction with a RIP-relative operand
 * plus direct `call`/`jmp rel32` (so a caller can follow a tail call, as 3.7/3.8's `_PyObject_DebugMallocStats` needs).
 * It stops at the first instruction it cannot size (VEX/EVEX, invalid opcodes) or that runs past the bytes given,
 * returning what it found so far. Pass the function's bytes (its symbol size) to keep the walk inside it.
 * @module
 */

/** One instruction with a RIP-relative operand (or a direct rel32 call/jump). */
export interface RipRef {
  /** Offset of the instruction within the bytes given. */
  offset: number;
  /** Instruction length in bytes. */
  length: number;
  /**
   * `mov-load`: a register loaded from memory (`mov`, `movzx`/`movsx`, `movsxd`); `lea`: an address computed;
   * `cmp`: a compare with memory; `call`/`jmp`: direct rel32 branches (target is code); `other`: anything else
   * (stores, arithmetic on memory, SSE loads, indirect branches).
   */
  op: "mov-load" | "lea" | "cmp" | "call" | "jmp" | "other";
  /**
   * Size of the memory operand in bytes for the general-purpose instructions (`lea`: the address size, 8; `call`/`jmp`,
   * direct or through memory: 8). For x87 and SSE memory operands it is only the operand-size attribute (4, 8 with
   * REX.W, 2 with a 66 prefix), not the size of the operand: do not rely on it there.
   */
  width: 1 | 2 | 4 | 8;
  /** Destination register number 0–15 (rax=0 … r15=15) for `mov-load`, `lea` and register `cmp`; else -1. */
  reg: number;
  /** The referenced vaddr: end of this instruction + disp32. */
  target: number;
}

/** Operand-size and ModRM facts of one opcode that the length decoder needs. */
interface Shape {
  modrm: boolean;
  /** Immediate bytes: a number, or "z" for 16/32 by operand size (imm32 even with REX.W). */
  imm: number | "z";
}

const NONE: Shape = { modrm: false, imm: 0 };
const M: Shape = { modrm: true, imm: 0 };
const M_I8: Shape = { modrm: true, imm: 1 };
const M_IZ: Shape = { modrm: true, imm: "z" };
const I8: Shape = { modrm: false, imm: 1 };
const IZ: Shape = { modrm: false, imm: "z" };

/** Shape of one-byte opcodes; undefined = cannot size (invalid in 64-bit mode, VEX/EVEX, prefixes handled apart). */
function oneByteShape(op: number, modrmReg: () => number): Shape | undefined {
  if (op < 0x40) {
    const low = op & 7;
    if (low <= 3) return M; // ALU r/m forms: add, or, adc, sbb, and, sub, xor, cmp
    if (low === 4) return I8; // ALU al, imm8
    if (low === 5) return IZ; // ALU eax, imm32
    return undefined; // push/pop segment, daa/das/aaa/aas: invalid in 64-bit mode
  }
  if (op >= 0x50 && op <= 0x5f) return NONE; // push/pop r64
  if (op >= 0x70 && op <= 0x7f) return I8; // jcc rel8
  if (op >= 0x84 && op <= 0x8f) return M; // test, xchg, mov, lea, pop r/m
  if (op >= 0x90 && op <= 0x99) return NONE; // nop/xchg, cwde, cdq
  if (op >= 0x9b && op <= 0x9f) return NONE; // fwait, pushf, popf, sahf, lahf
  if (op >= 0xa4 && op <= 0xa7) return NONE; // movs, cmps
  if (op >= 0xaa && op <= 0xaf) return NONE; // stos, lods, scas
  if (op >= 0xb0 && op <= 0xb7) return I8; // mov r8, imm8
  if (op >= 0xd8 && op <= 0xdf) return M; // x87
  if (op >= 0xe0 && op <= 0xe7) return I8; // loop*, jrcxz, in/out imm8
  if (op >= 0xec && op <= 0xef) return NONE; // in/out dx
  if (op >= 0xf8 && op <= 0xfd) return NONE; // clc, stc, cli, sti, cld, std
  switch (op) {
    case 0x63:
      return M; // movsxd
    case 0x68:
      return IZ; // push imm32
    case 0x69:
      return M_IZ; // imul r, r/m, imm32
    case 0x6a:
      return I8; // push imm8
    case 0x6b:
      return M_I8; // imul r, r/m, imm8
    case 0x80:
      return M_I8;
    case 0x81:
      return M_IZ;
    case 0x83:
      return M_I8;
    case 0xa8:
      return I8; // test al, imm8
    case 0xa9:
      return IZ; // test eax, imm32
    case 0xc0:
    case 0xc1:
      return M_I8; // shifts by imm8
    case 0xc2:
      return { modrm: false, imm: 2 }; // ret imm16
    case 0xc3:
    case 0xc9:
    case 0xcc:
    case 0xf4:
    case 0xf5:
      return NONE; // ret, leave, int3, hlt, cmc
    case 0xc6:
      return M_I8; // mov r/m8, imm8
    case 0xc7:
      return M_IZ; // mov r/m, imm32
    case 0xc8:
      return { modrm: false, imm: 3 }; // enter imm16, imm8
    case 0xcd:
      return I8; // int imm8
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return M; // shifts by 1 / cl
    case 0xe8:
    case 0xe9:
      return { modrm: false, imm: 4 }; // call/jmp rel32
    case 0xeb:
      return I8; // jmp rel8
    case 0xf6:
      return modrmReg() <= 1 ? M_I8 : M; // test r/m8, imm8 | not/neg/mul/div
    case 0xf7:
      return modrmReg() <= 1 ? M_IZ : M; // test r/m, imm32 | not/neg/mul/div
    case 0xfe:
    case 0xff:
      return M; // inc/dec/call/jmp/push r/m
  }
  return undefined;
}

/** Shape of 0F-escaped opcodes (the byte after 0F); 0F 38 / 0F 3A are handled by the caller. */
function twoByteShape(op: number): Shape | undefined {
  if (op >= 0x80 && op <= 0x8f) return { modrm: false, imm: 4 }; // jcc rel32
  if (op >= 0xc8 && op <= 0xcf) return NONE; // bswap
  if (op >= 0x70 && op <= 0x73) return M_I8; // pshufd, vector shifts by imm8
  switch (op) {
    case 0x05:
    case 0x0b:
    case 0x31:
    case 0x77:
    case 0xa2: // syscall, ud2, rdtsc, emms, cpuid
    case 0xa0:
    case 0xa1:
    case 0xa8:
    case 0xa9: // push/pop fs/gs
      return NONE;
    case 0xa4:
    case 0xac:
    case 0xba:
    case 0xc2:
    case 0xc4:
    case 0xc5:
    case 0xc6: // shld/shrd imm, bt* imm, cmpps, …
      return M_I8;
    // Undefined, privileged or 3DNow! encodings that never appear in user-space C code: stop rather than guess.
    case 0x04:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0a:
    case 0x0c:
    case 0x0e:
    case 0x0f:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x27:
    case 0x36:
    case 0x39:
    case 0x3b:
    case 0x3c:
    case 0x3d:
    case 0x3e:
    case 0x3f:
    case 0xa6:
    case 0xa7:
    case 0xaa:
    case 0xb9:
    case 0xff:
      return undefined;
  }
  return M; // everything else in the map (SSE, cmov, setcc, movzx/movsx, imul, bt, xadd, cmpxchg, hint nops, …)
}

/**
 * Walk `code` (whose first byte sits at `codeVaddr`) instruction by instruction and return the RIP-relative
 * references found, in order. Stops after `maxInstructions` instructions (default 256), at the end of `code`, or at
 * the first instruction it cannot size.
 */
export function ripRelativeRefs(code: Uint8Array, codeVaddr: number, maxInstructions = 256): RipRef[] {
  const refs: RipRef[] = [];
  let pc = 0;
  for (let n = 0; n < maxInstructions && pc < code.length; n++) {
    const insn = decodeOne(code, pc);
    if (insn === undefined) break;
    if (insn.disp32At >= 0) {
      const disp = readI32(code, insn.disp32At);
      refs.push({
        offset: pc,
        length: insn.length,
        op: insn.op,
        width: insn.width,
        reg: insn.reg,
        target: codeVaddr + pc + insn.length + disp,
      });
    }
    pc += insn.length;
  }
  return refs;
}

/**
 * The length of the instruction at `offset`, or undefined when it cannot be sized or runs past the end of `code`.
 * Exposed for tests and for callers that want to skip a known prologue.
 */
export function instructionLength(code: Uint8Array, offset: number): number | undefined {
  return decodeOne(code, offset)?.length;
}

interface Decoded {
  length: number;
  /** Where the disp32 of a RIP-relative operand (or rel32 branch) sits, or -1. */
  disp32At: number;
  op: RipRef["op"];
  width: RipRef["width"];
  reg: number;
}

function decodeOne(code: Uint8Array, start: number): Decoded | undefined {
  const end = Math.min(code.length, start + 15); // no x86 instruction is longer than 15 bytes
  let p = start;
  let opsize16 = false;
  // Legacy prefixes, in any order and number.
  for (;;) {
    if (p >= end) return undefined;
    const b = code[p] as number;
    if (b === 0x66) opsize16 = true;
    else if (
      !(b === 0x67 || b === 0xf0 || b === 0xf2 || b === 0xf3 || b === 0x2e || b === 0x36 || b === 0x3e ||
        b === 0x26 || b === 0x64 || b === 0x65)
    ) break;
    p++;
  }
  // REX must come right before the opcode.
  let rex = 0;
  if (((code[p] as number) & 0xf0) === 0x40) {
    rex = code[p] as number;
    p++;
    if (p >= end) return undefined;
  }
  const rexW = (rex & 8) !== 0;
  const rexR = (rex & 4) !== 0;
  const operandWidth: RipRef["width"] = rexW ? 8 : opsize16 ? 2 : 4;

  const opcode = code[p++] as number;
  let shape: Shape | undefined;
  let escaped = -1; // second opcode byte after 0F, or -1
  if (opcode === 0x0f) {
    if (p >= end) return undefined;
    escaped = code[p++] as number;
    if (escaped === 0x38) {
      if (p >= end) return undefined;
      p++;
      shape = M;
    } else if (escaped === 0x3a) {
      if (p >= end) return undefined;
      p++;
      shape = M_I8;
    } else {
      shape = twoByteShape(escaped);
    }
  } else if (opcode >= 0xb8 && opcode <= 0xbf) {
    // mov r, imm: the one instruction whose immediate grows to 8 bytes with REX.W.
    shape = { modrm: false, imm: rexW ? 8 : opsize16 ? 2 : 4 };
  } else if (opcode >= 0xa0 && opcode <= 0xa3) {
    shape = { modrm: false, imm: 8 }; // mov with a 64-bit absolute address
  } else {
    shape = oneByteShape(opcode, () => (p < end ? ((code[p] as number) >> 3) & 7 : 0));
  }
  if (shape === undefined) return undefined;

  let disp32At = -1;
  let reg = -1;
  let modrmReg = 0;
  let ripRelative = false;
  if (shape.modrm) {
    if (p >= end) return undefined;
    const modrm = code[p++] as number;
    const mod = modrm >> 6;
    const rm = modrm & 7;
    modrmReg = (modrm >> 3) & 7;
    reg = modrmReg | (rexR ? 8 : 0);
    if (mod !== 3) {
      if (rm === 4) {
        if (p >= end) return undefined;
        const sib = code[p++] as number;
        if (mod === 0 && (sib & 7) === 5) p += 4; // [index*scale + disp32], no base
      }
      if (mod === 0 && rm === 5) {
        ripRelative = true;
        disp32At = p;
        p += 4;
      } else if (mod === 1) p += 1;
      else if (mod === 2) p += 4;
    }
  }
  const immBytes = shape.imm === "z" ? (opsize16 ? 2 : 4) : shape.imm;
  p += immBytes;
  if (p > end) return undefined;

  if (escaped < 0 && (opcode === 0xe8 || opcode === 0xe9)) {
    return { length: p - start, disp32At: p - 4, op: opcode === 0xe8 ? "call" : "jmp", width: 8, reg: -1 };
  }
  if (!ripRelative) return { length: p - start, disp32At: -1, op: "other", width: operandWidth, reg: -1 };
  const { op, width, destReg } = classify(opcode, escaped, modrmReg, operandWidth);
  return { length: p - start, disp32At, op, width, reg: destReg ? reg : -1 };
}

/** Name a RIP-relative instruction by what pymem cares about: does it load, take an address, or compare? */
function classify(
  opcode: number,
  escaped: number,
  modrmReg: number,
  operandWidth: RipRef["width"],
): { op: RipRef["op"]; width: RipRef["width"]; destReg: boolean } {
  if (escaped >= 0) {
    if (escaped === 0xb6 || escaped === 0xbe) return { op: "mov-load", width: 1, destReg: true }; // movzx/movsx r, m8
    if (escaped === 0xb7 || escaped === 0xbf) return { op: "mov-load", width: 2, destReg: true }; // movzx/movsx r, m16
    // setcc m8, cmpxchg m8, xadd m8
    const byteOp = (escaped >= 0x90 && escaped <= 0x9f) || escaped === 0xb0 || escaped === 0xc0;
    return { op: "other", width: byteOp ? 1 : operandWidth, destReg: false };
  }
  switch (opcode) {
    case 0x8b:
      return { op: "mov-load", width: operandWidth, destReg: true };
    case 0x8a:
      return { op: "mov-load", width: 1, destReg: true };
    case 0x63:
      return { op: "mov-load", width: 4, destReg: true }; // movsxd r64, m32
    case 0x8d:
      return { op: "lea", width: 8, destReg: true };
    case 0x3b:
    case 0x39:
      return { op: "cmp", width: operandWidth, destReg: true };
    case 0x3a:
    case 0x38:
      return { op: "cmp", width: 1, destReg: true };
    case 0x83:
    case 0x81:
      return { op: modrmReg === 7 ? "cmp" : "other", width: operandWidth, destReg: false };
    case 0x80:
      return { op: modrmReg === 7 ? "cmp" : "other", width: 1, destReg: false };
  }
  // Near call/jmp through memory take a 64-bit operand in 64-bit mode whatever REX.W says (`jmp [rip+x]` is how
  // PyMem_RawMalloc tail-calls the table's malloc); push/pop too, unless a 66 prefix makes it 16-bit.
  if (opcode === 0xff && (modrmReg === 2 || modrmReg === 4)) return { op: "other", width: 8, destReg: false };
  if ((opcode === 0xff && modrmReg === 6) || (opcode === 0x8f && modrmReg === 0)) {
    return { op: "other", width: operandWidth === 2 ? 2 : 8, destReg: false };
  }
  const byteOp = opcode === 0x88 || opcode === 0xc6 || opcode === 0xf6 || opcode === 0xfe || opcode === 0x84 ||
    opcode === 0x86 || opcode === 0xc0 || opcode === 0xd0 || opcode === 0xd2 ||
    (opcode < 0x40 && (opcode & 7) <= 2 && (opcode & 1) === 0);
  return { op: "other", width: byteOp ? 1 : operandWidth, destReg: false };
}

function readI32(code: Uint8Array, at: number): number {
  return ((code[at] as number) | ((code[at + 1] as number) << 8) | ((code[at + 2] as number) << 16) |
    ((code[at + 3] as number) << 24));
}
