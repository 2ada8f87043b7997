/**
 * lib/machine/x86.ts on fixed bytes: every instruction form its length decoder claims to size, and every way its
 * classifier names a RIP-relative operand (load, address, compare, direct call/jump, other), with the operand width
 * and destination register; what it must refuse (VEX/EVEX, opcodes invalid in 64-bit mode, the undefined 0F opcodes
 * it lists, instructions cut short or longer than 15 bytes); and three real functions of libpython.
 *
 * The bytes were made once by GNU as from the Intel-syntax text beside them, so this test needs no assembler; where
 * `as` is present, one more test re-assembles the texts and checks the table. Needs no Python.
 * @module
 */
import { instructionLength, type RipRef, ripRelativeRefs } from "../lib/machine/x86.ts";
import { assembleText, toolchain } from "../tools/machine-code.ts";
import { assert, test } from "./_harness.ts";

/** The reference an instruction makes: `target` is the end of the instruction plus `disp`. Width null: not asserted. */
interface Want {
  op: RipRef["op"];
  width: RipRef["width"] | null;
  reg: number;
  disp: number;
}
const R = (op: RipRef["op"], width: RipRef["width"] | null, reg: number, disp: number): Want => ({
  op,
  width,
  reg,
  disp,
});

/**
 * [source given to `as`, its bytes, the RIP-relative reference ripRelativeRefs must report (null: none)].
 * Width null marks x87 and SSE memory operands, whose width x86.ts does not claim (see RipRef.width).
 */
const FORMS: [string, string, Want | null][] = [
  // ALU r/m forms: add, or, adc, sbb, and, sub, xor, cmp (opcodes 00-3B)
  ["add byte ptr [rip+0x10], al", "00 05 10 00 00 00", R("other", 1, -1, 0x10)],
  ["add dword ptr [rip-0x20], eax", "01 05 e0 ff ff ff", R("other", 4, -1, -0x20)],
  ["add al, byte ptr [rip+0x30]", "02 05 30 00 00 00", R("other", 1, -1, 0x30)],
  ["add rax, qword ptr [rip+0x40]", "48 03 05 40 00 00 00", R("other", 8, -1, 0x40)],
  ["or ecx, dword ptr [rip+0x50]", "0b 0d 50 00 00 00", R("other", 4, -1, 0x50)],
  ["adc qword ptr [rip+0x60], rdx", "48 11 15 60 00 00 00", R("other", 8, -1, 0x60)],
  ["sbb eax, dword ptr [rip+0x70]", "1b 05 70 00 00 00", R("other", 4, -1, 0x70)],
  ["and byte ptr [rip+0x80], bl", "20 1d 80 00 00 00", R("other", 1, -1, 0x80)],
  ["sub r8, qword ptr [rip+0x90]", "4c 2b 05 90 00 00 00", R("other", 8, -1, 0x90)],
  ["xor si, word ptr [rip+0xa0]", "66 33 35 a0 00 00 00", R("other", 2, -1, 0xa0)],
  ["cmp byte ptr [rip+0xb0], cl", "38 0d b0 00 00 00", R("cmp", 1, 1, 0xb0)],
  ["cmp dword ptr [rip+0xc0], r9d", "44 39 0d c0 00 00 00", R("cmp", 4, 9, 0xc0)],
  ["cmp dl, byte ptr [rip+0xd0]", "3a 15 d0 00 00 00", R("cmp", 1, 2, 0xd0)],
  ["cmp r12, qword ptr [rip+0xe0]", "4c 3b 25 e0 00 00 00", R("cmp", 8, 12, 0xe0)],
  ["cmp ax, word ptr [rip+0xf0]", "66 3b 05 f0 00 00 00", R("cmp", 2, 0, 0xf0)],
  ["add al, 5", "04 05", null],
  ["cmp al, 0x7f", "3c 7f", null],
  ["sub eax, 0x12345678", "2d 78 56 34 12", null],
  ["and ax, 0x1234", "66 25 34 12", null],
  ["xor rax, 0x12345678", "48 35 78 56 34 12", null],
  // ModRM and SIB addressing (not RIP-relative)
  ["add ecx, edx", "01 d1", null],
  ["add ecx, dword ptr [rax]", "03 08", null],
  ["add ecx, dword ptr [rax+0x10]", "03 48 10", null],
  ["add ecx, dword ptr [rax+0x1000]", "03 88 00 10 00 00", null],
  ["add ecx, dword ptr [rsp]", "03 0c 24", null],
  ["add ecx, dword ptr [rsp+0x10]", "03 4c 24 10", null],
  ["add ecx, dword ptr [rax+rbx*4+0x1000]", "03 8c 98 00 10 00 00", null],
  ["add ecx, dword ptr [rbx*8+0x1000]", "03 0c dd 00 10 00 00", null],
  ["add ecx, dword ptr [r13]", "41 03 4d 00", null],
  ["add ecx, dword ptr [r12]", "41 03 0c 24", null],
  ["add ecx, dword ptr [0x1000]", "03 0c 25 00 10 00 00", null],
  // one-byte opcodes 50-CF
  ["push rbp", "55", null],
  ["pop r15", "41 5f", null],
  ["movsxd rax, dword ptr [rip+0x100]", "48 63 05 00 01 00 00", R("mov-load", 4, 0, 0x100)],
  ["movsxd r10, ecx", "4c 63 d1", null],
  ["push 0x12345678", "68 78 56 34 12", null],
  ["push 0x12", "6a 12", null],
  ["imul eax, dword ptr [rip+0x110], 0x12345678", "69 05 10 01 00 00 78 56 34 12", R("other", 4, -1, 0x110)],
  ["imul rcx, qword ptr [rip+0x120], 0x12", "48 6b 0d 20 01 00 00 12", R("other", 8, -1, 0x120)],
  ["jne .+0x10", "75 0e", null],
  ["jo .-0x10", "70 ee", null],
  ["cmp byte ptr [rip+0x130], 0x12", "80 3d 30 01 00 00 12", R("cmp", 1, -1, 0x130)],
  ["add byte ptr [rip+0x131], 1", "80 05 31 01 00 00 01", R("other", 1, -1, 0x131)],
  ["cmp dword ptr [rip+0x140], 0x12345678", "81 3d 40 01 00 00 78 56 34 12", R("cmp", 4, -1, 0x140)],
  ["and qword ptr [rip+0x141], 0x12345678", "48 81 25 41 01 00 00 78 56 34 12", R("other", 8, -1, 0x141)],
  ["cmp word ptr [rip+0x142], 0x1234", "66 81 3d 42 01 00 00 34 12", R("cmp", 2, -1, 0x142)],
  ["cmp qword ptr [rip+0x150], 0x7f", "48 83 3d 50 01 00 00 7f", R("cmp", 8, -1, 0x150)],
  ["sub dword ptr [rip+0x151], 1", "83 2d 51 01 00 00 01", R("other", 4, -1, 0x151)],
  ["test byte ptr [rip+0x160], al", "84 05 60 01 00 00", R("other", 1, -1, 0x160)],
  ["test qword ptr [rip+0x161], rcx", "48 85 0d 61 01 00 00", R("other", 8, -1, 0x161)],
  ["xchg byte ptr [rip+0x162], dl", "86 15 62 01 00 00", R("other", 1, -1, 0x162)],
  ["xchg dword ptr [rip+0x163], eax", "87 05 63 01 00 00", R("other", 4, -1, 0x163)],
  ["mov byte ptr [rip+0x170], al", "88 05 70 01 00 00", R("other", 1, -1, 0x170)],
  ["mov qword ptr [rip+0x171], rdi", "48 89 3d 71 01 00 00", R("other", 8, -1, 0x171)],
  ["mov word ptr [rip+0x172], ax", "66 89 05 72 01 00 00", R("other", 2, -1, 0x172)],
  ["mov sil, byte ptr [rip+0x180]", "40 8a 35 80 01 00 00", R("mov-load", 1, 6, 0x180)],
  ["mov r10b, byte ptr [rip+0x181]", "44 8a 15 81 01 00 00", R("mov-load", 1, 10, 0x181)],
  ["mov eax, dword ptr [rip+0x190]", "8b 05 90 01 00 00", R("mov-load", 4, 0, 0x190)],
  ["mov r11, qword ptr [rip+0x191]", "4c 8b 1d 91 01 00 00", R("mov-load", 8, 11, 0x191)],
  ["mov cx, word ptr [rip+0x192]", "66 8b 0d 92 01 00 00", R("mov-load", 2, 1, 0x192)],
  ["mov eax, ds", "8c d8", null],
  ["lea rdi, [rip+0x1a0]", "48 8d 3d a0 01 00 00", R("lea", 8, 7, 0x1a0)],
  ["lea r14d, [rip+0x1a1]", "44 8d 35 a1 01 00 00", R("lea", 8, 14, 0x1a1)],
  ["mov ds, eax", "8e d8", null],
  ["pop qword ptr [rip+0x1b0]", "8f 05 b0 01 00 00", R("other", 8, -1, 0x1b0)],
  ["nop", "90", null],
  ["xchg eax, ecx", "91", null],
  ["cdqe", "48 98", null],
  ["cqo", "48 99", null],
  ["fwait", "9b", null],
  ["pushfq", "9c", null],
  ["popfq", "9d", null],
  ["sahf", "9e", null],
  ["lahf", "9f", null],
  ["movabs al, byte ptr [0x1122334455667788]", "a0 88 77 66 55 44 33 22 11", null],
  ["movabs rax, qword ptr [0x1122334455667788]", "48 a1 88 77 66 55 44 33 22 11", null],
  ["movabs dword ptr [0x1122334455667788], eax", "a3 88 77 66 55 44 33 22 11", null],
  ["movsb", "a4", null],
  ["movsq", "48 a5", null],
  ["cmpsb", "a6", null],
  ["rep movsb", "f3 a4", null],
  ["test al, 0x12", "a8 12", null],
  ["test eax, 0x12345678", "a9 78 56 34 12", null],
  ["stosb", "aa", null],
  ["rep stosq", "f3 48 ab", null],
  ["lodsb", "ac", null],
  ["repne scasb", "f2 ae", null],
  ["mov cl, 0x12", "b1 12", null],
  ["mov r9b, 0x12", "41 b1 12", null],
  ["mov edx, 0x12345678", "ba 78 56 34 12", null],
  ["movabs rdx, 0x1122334455667788", "48 ba 88 77 66 55 44 33 22 11", null],
  ["mov dx, 0x1234", "66 ba 34 12", null],
  ["shl bl, 3", "c0 e3 03", null],
  ["sar qword ptr [rip+0x1c0], 5", "48 c1 3d c0 01 00 00 05", R("other", 8, -1, 0x1c0)],
  ["shl byte ptr [rip+0x1c1], 2", "c0 25 c1 01 00 00 02", R("other", 1, -1, 0x1c1)],
  ["ret 0x10", "c2 10 00", null],
  ["ret", "c3", null],
  ["mov byte ptr [rip+0x1d0], 0x12", "c6 05 d0 01 00 00 12", R("other", 1, -1, 0x1d0)],
  ["mov dword ptr [rip+0x1d1], 0x12345678", "c7 05 d1 01 00 00 78 56 34 12", R("other", 4, -1, 0x1d1)],
  ["mov qword ptr [rip+0x1d2], -1", "48 c7 05 d2 01 00 00 ff ff ff ff", R("other", 8, -1, 0x1d2)],
  ["mov word ptr [rip+0x1d3], 0x1234", "66 c7 05 d3 01 00 00 34 12", R("other", 2, -1, 0x1d3)],
  ["enter 0x10, 0", "c8 10 00 00", null],
  ["leave", "c9", null],
  ["int3", "cc", null],
  ["int 0x80", "cd 80", null],
  // one-byte opcodes D0-FF
  ["shl eax, 1", "d1 e0", null],
  ["shr byte ptr [rip+0x1e0], cl", "d2 2d e0 01 00 00", R("other", 1, -1, 0x1e0)],
  ["rol byte ptr [rip+0x1e1], 1", "d0 05 e1 01 00 00", R("other", 1, -1, 0x1e1)],
  ["sar dword ptr [rip+0x1e2], cl", "d3 3d e2 01 00 00", R("other", 4, -1, 0x1e2)],
  ["fld qword ptr [rip+0x1f0]", "dd 05 f0 01 00 00", R("other", null, -1, 0x1f0)],
  ["fstp st(1)", "dd d9", null],
  ["loop .+0x10", "e2 0e", null],
  ["jrcxz .+0x10", "e3 0e", null],
  ["in al, 0x60", "e4 60", null],
  ["out 0x80, al", "e6 80", null],
  ["call .+0x105", "e8 00 01 00 00", R("call", 8, -1, 0x100)],
  ["call .-0x100", "e8 fb fe ff ff", R("call", 8, -1, -0x105)],
  ["jmp .+0x1005", "e9 00 10 00 00", R("jmp", 8, -1, 0x1000)],
  ["jmp .+0x10", "eb 0e", null],
  ["in al, dx", "ec", null],
  ["out dx, eax", "ef", null],
  ["hlt", "f4", null],
  ["cmc", "f5", null],
  ["test byte ptr [rip+0x200], 0x12", "f6 05 00 02 00 00 12", R("other", 1, -1, 0x200)],
  ["neg byte ptr [rip+0x201]", "f6 1d 01 02 00 00", R("other", 1, -1, 0x201)],
  ["not bl", "f6 d3", null],
  ["test dword ptr [rip+0x210], 0x12345678", "f7 05 10 02 00 00 78 56 34 12", R("other", 4, -1, 0x210)],
  ["test qword ptr [rip+0x211], 0x12345678", "48 f7 05 11 02 00 00 78 56 34 12", R("other", 8, -1, 0x211)],
  ["test word ptr [rip+0x212], 0x1234", "66 f7 05 12 02 00 00 34 12", R("other", 2, -1, 0x212)],
  ["div qword ptr [rip+0x213]", "48 f7 35 13 02 00 00", R("other", 8, -1, 0x213)],
  ["imul rcx", "48 f7 e9", null],
  ["clc", "f8", null],
  ["std", "fd", null],
  ["inc byte ptr [rip+0x220]", "fe 05 20 02 00 00", R("other", 1, -1, 0x220)],
  ["inc dword ptr [rip+0x221]", "ff 05 21 02 00 00", R("other", 4, -1, 0x221)],
  ["dec qword ptr [rip+0x222]", "48 ff 0d 22 02 00 00", R("other", 8, -1, 0x222)],
  ["call qword ptr [rip+0x230]", "ff 15 30 02 00 00", R("other", 8, -1, 0x230)],
  ["jmp qword ptr [rip+0x231]", "ff 25 31 02 00 00", R("other", 8, -1, 0x231)],
  ["push qword ptr [rip+0x232]", "ff 35 32 02 00 00", R("other", 8, -1, 0x232)],
  ["call rax", "ff d0", null],
  ["jmp r11", "41 ff e3", null],
  // legacy prefixes: lock, rep, segment, operand and address size
  ["lock add qword ptr [rip+0x240], rax", "f0 48 01 05 40 02 00 00", R("other", 8, -1, 0x240)],
  ["lock add word ptr [rip+0x241], ax", "66 f0 01 05 41 02 00 00", R("other", 2, -1, 0x241)],
  ["lock cmpxchg dword ptr [rip+0x242], ecx", "f0 0f b1 0d 42 02 00 00", R("other", 4, -1, 0x242)],
  ["mov eax, dword ptr fs:[0x28]", "64 8b 04 25 28 00 00 00", null],
  ["mov rax, qword ptr gs:[rip+0x250]", "65 48 8b 05 50 02 00 00", R("mov-load", 8, 0, 0x250)],
  ["mov eax, dword ptr [eip+0x260]", "67 8b 05 60 02 00 00", R("mov-load", 4, 0, 0x260)],
  ["{disp32} cs nop word ptr [rax+rax*1+0x0]", "2e 66 0f 1f 84 00 00 00 00 00", null],
  ["notrack jmp rax", "3e ff e0", null],
  ["endbr64", "f3 0f 1e fa", null],
  // two-byte opcodes (0F xx)
  ["je .+0x1006", "0f 84 00 10 00 00", null],
  ["bswap eax", "0f c8", null],
  ["bswap r10", "49 0f ca", null],
  ["pshufd xmm1, xmmword ptr [rip+0x300], 0x1b", "66 0f 70 0d 00 03 00 00 1b", R("other", null, -1, 0x300)],
  ["psrlq xmm2, 4", "66 0f 73 d2 04", null],
  ["syscall", "0f 05", null],
  ["ud2", "0f 0b", null],
  ["rdtsc", "0f 31", null],
  ["emms", "0f 77", null],
  ["cpuid", "0f a2", null],
  ["push fs", "0f a0", null],
  ["pop fs", "0f a1", null],
  ["push gs", "0f a8", null],
  ["pop gs", "0f a9", null],
  ["shld eax, ecx, 3", "0f a4 c8 03", null],
  ["shrd qword ptr [rip+0x310], rdx, 4", "48 0f ac 15 10 03 00 00 04", R("other", 8, -1, 0x310)],
  ["bt dword ptr [rip+0x311], 3", "0f ba 25 11 03 00 00 03", R("other", 4, -1, 0x311)],
  ["cmpps xmm0, xmm1, 1", "0f c2 c1 01", null],
  ["pinsrw xmm0, eax, 2", "66 0f c4 c0 02", null],
  ["pextrw eax, xmm0, 2", "66 0f c5 c0 02", null],
  ["shufps xmm0, xmm1, 0x1b", "0f c6 c1 1b", null],
  ["movups xmm0, xmmword ptr [rip+0x320]", "0f 10 05 20 03 00 00", R("other", null, -1, 0x320)],
  ["movsd xmm1, qword ptr [rip+0x321]", "f2 0f 10 0d 21 03 00 00", R("other", null, -1, 0x321)],
  ["movss dword ptr [rip+0x322], xmm2", "f3 0f 11 15 22 03 00 00", R("other", null, -1, 0x322)],
  ["ucomisd xmm0, qword ptr [rip+0x323]", "66 0f 2e 05 23 03 00 00", R("other", null, -1, 0x323)],
  ["cvttsd2si rax, qword ptr [rip+0x324]", "f2 48 0f 2c 05 24 03 00 00", R("other", null, -1, 0x324)],
  ["movq xmm0, qword ptr [rip+0x325]", "f3 0f 7e 05 25 03 00 00", R("other", null, -1, 0x325)],
  ["cmove eax, dword ptr [rip+0x330]", "0f 44 05 30 03 00 00", R("other", 4, -1, 0x330)],
  ["cmovne rcx, qword ptr [rip+0x331]", "48 0f 45 0d 31 03 00 00", R("other", 8, -1, 0x331)],
  ["sete byte ptr [rip+0x332]", "0f 94 05 32 03 00 00", R("other", 1, -1, 0x332)],
  ["setne al", "0f 95 c0", null],
  ["movzx eax, byte ptr [rip+0x340]", "0f b6 05 40 03 00 00", R("mov-load", 1, 0, 0x340)],
  ["movzx r8d, word ptr [rip+0x341]", "44 0f b7 05 41 03 00 00", R("mov-load", 2, 8, 0x341)],
  ["movsx rcx, byte ptr [rip+0x342]", "48 0f be 0d 42 03 00 00", R("mov-load", 1, 1, 0x342)],
  ["movsx edx, word ptr [rip+0x343]", "0f bf 15 43 03 00 00", R("mov-load", 2, 2, 0x343)],
  ["imul eax, dword ptr [rip+0x350]", "0f af 05 50 03 00 00", R("other", 4, -1, 0x350)],
  ["bt qword ptr [rip+0x351], rax", "48 0f a3 05 51 03 00 00", R("other", 8, -1, 0x351)],
  ["xadd qword ptr [rip+0x352], rax", "48 0f c1 05 52 03 00 00", R("other", 8, -1, 0x352)],
  ["lock xadd byte ptr [rip+0x353], al", "f0 0f c0 05 53 03 00 00", R("other", 1, -1, 0x353)],
  ["cmpxchg byte ptr [rip+0x354], cl", "0f b0 0d 54 03 00 00", R("other", 1, -1, 0x354)],
  ["nop dword ptr [rax]", "0f 1f 00", null],
  ["prefetcht0 byte ptr [rip+0x360]", "0f 18 0d 60 03 00 00", R("other", null, -1, 0x360)],
  ["xgetbv", "0f 01 d0", null],
  ["rdrand eax", "0f c7 f0", null],
  ["popcnt rax, qword ptr [rip+0x361]", "f3 48 0f b8 05 61 03 00 00", R("other", 8, -1, 0x361)],
  ["tzcnt ecx, dword ptr [rip+0x362]", "f3 0f bc 0d 62 03 00 00", R("other", 4, -1, 0x362)],
  ["bsr rax, rax", "48 0f bd c0", null],
  // three-byte opcodes (0F 38 xx, 0F 3A xx)
  ["pshufb xmm0, xmmword ptr [rip+0x400]", "66 0f 38 00 05 00 04 00 00", R("other", null, -1, 0x400)],
  ["crc32 eax, byte ptr [rip+0x401]", "f2 0f 38 f0 05 01 04 00 00", R("other", null, -1, 0x401)],
  ["movbe eax, dword ptr [rip+0x402]", "0f 38 f0 05 02 04 00 00", R("other", 4, -1, 0x402)],
  ["palignr xmm0, xmmword ptr [rip+0x410], 4", "66 0f 3a 0f 05 10 04 00 00 04", R("other", null, -1, 0x410)],
  ["roundsd xmm0, xmm1, 4", "66 0f 3a 0b c1 04", null],
];

/** Instructions x86.ts must not size: [source given to `as`, its bytes, why]. */
const REFUSED: [string, string, string][] = [
  ["vzeroupper", "c5 f8 77", "VEX, two-byte form (C5)"],
  ["vpbroadcastd ymm0, dword ptr [rip+0x10]", "c4 e2 7d 58 05 10 00 00 00", "VEX, three-byte form (C4)"],
  ["vmovdqu64 zmm0, zmmword ptr [rip+0x40]", "62 f1 fe 48 6f 05 40 00 00 00", "EVEX (62)"],
];

const bytes = (hex: string) => Uint8Array.from(hex.split(" "), (h) => parseInt(h, 16));
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const VADDR = 0x40_1000;
/** `mov eax, dword ptr [rip+0x1234]`: a reference before and after what is being tested. */
const LOAD = bytes("8b 05 34 12 00 00");

test("x86: every form is sized exactly, and its RIP-relative reference named", () => {
  const wrong: string[] = [];
  for (const [asm, hex, want] of FORMS) {
    const code = bytes(hex);
    const length = instructionLength(code, 0);
    if (length !== code.length) wrong.push(`${asm}: length ${length}, not ${code.length}`);
    const refs = ripRelativeRefs(code, VADDR);
    const expected = want === null ? [] : [{
      offset: 0,
      length: code.length,
      op: want.op,
      width: want.width ?? refs[0]?.width,
      reg: want.reg,
      target: VADDR + code.length + want.disp,
    }];
    try {
      assert.deepEqual(refs, expected);
    } catch {
      wrong.push(`${asm}: ${JSON.stringify(refs)}, not ${JSON.stringify(expected)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("x86: all forms back to back: the walk stays in step and stops where asked", () => {
  const parts = FORMS.map(([, hex]) => bytes(hex));
  const code = concat(parts);
  const starts: number[] = [];
  for (let i = 0, at = 0; i < parts.length; at += parts[i].length, i++) starts.push(at);
  const expected = FORMS.flatMap(([, , want], i) =>
    want === null ? [] : [{ i, offset: starts[i], target: VADDR + starts[i] + parts[i].length + want.disp }]
  );
  const refs = ripRelativeRefs(code, VADDR, FORMS.length);
  assert.deepEqual(refs.map((r) => [r.offset, r.target]), expected.map((e) => [e.offset, e.target]));
  for (let i = 0; i < parts.length; i++) assert.equal(instructionLength(code, starts[i]), parts[i].length, FORMS[i][0]);
  // maxInstructions: only the references among the first k instructions.
  for (const k of [0, 1, 17, 100]) {
    const offsets = ripRelativeRefs(code, VADDR, k).map((r) => r.offset);
    assert.deepEqual(offsets, expected.filter((e) => e.i < k).map((e) => e.offset), `maxInstructions ${k}`);
  }
  assert.equal(
    ripRelativeRefs(code, VADDR).length,
    expected.filter((e) => e.i < 256).length,
    "256 instructions by default",
  );
});

test("x86: an instruction cut short is not sized, and ends the walk", () => {
  const wrong: string[] = [];
  for (const [asm, hex] of FORMS) {
    const code = bytes(hex);
    for (let k = 0; k < code.length; k++) {
      const length = instructionLength(code.subarray(0, k), 0);
      if (length !== undefined) wrong.push(`${asm} cut to ${k} bytes: length ${length}`);
    }
    const cut = concat([LOAD, code.subarray(0, code.length - 1)]);
    if (ripRelativeRefs(cut, VADDR).length !== 1) wrong.push(`${asm} cut short after a load: the walk did not stop`);
  }
  assert.deepEqual(wrong, []);
});

test("x86: VEX, EVEX, opcodes invalid in 64-bit mode and the listed undefined 0F opcodes stop the walk", () => {
  const refused: [string, Uint8Array][] = REFUSED.map(([asm, hex, why]) => [`${asm} (${why})`, bytes(hex)]);
  // One-byte opcodes that do not exist in 64-bit mode (Intel SDM vol. 2, table A-2, "i64"), and the rarely used ones
  // x86.ts does not size (segment pushes/pops, BCD, far jumps and calls, salc, into, bound), with a ModRM-like tail.
  const invalid = [
    0x06,
    0x07,
    0x0e,
    0x16,
    0x17,
    0x1e,
    0x1f,
    0x27,
    0x2f,
    0x37,
    0x3f,
    0x60,
    0x61,
    0x62,
    0x82,
    0x9a,
    0xc4,
    0xc5,
    0xce,
    0xd4,
    0xd5,
    0xd6,
    0xea,
  ];
  for (const op of invalid) {
    refused.push([`opcode ${op.toString(16)}`, Uint8Array.of(op, 0x05, 0, 0, 0, 0, 0, 0)]);
  }
  // 0F opcodes x86.ts lists as undefined, privileged or 3DNow!.
  const undefined0f = [
    0x04,
    0x06,
    0x07,
    0x08,
    0x09,
    0x0a,
    0x0c,
    0x0e,
    0x0f,
    0x24,
    0x25,
    0x26,
    0x27,
    0x36,
    0x39,
    0x3b,
    0x3c,
    0x3d,
    0x3e,
    0x3f,
    0xa6,
    0xa7,
    0xaa,
    0xb9,
    0xff,
  ];
  for (const op of undefined0f) {
    refused.push([`0f ${op.toString(16)}`, Uint8Array.of(0x0f, op, 0x05, 0, 0, 0, 0, 0)]);
  }
  const wrong: string[] = [];
  for (const [what, code] of refused) {
    if (instructionLength(code, 0) !== undefined) wrong.push(`${what}: sized ${instructionLength(code, 0)}`);
    const refs = ripRelativeRefs(concat([LOAD, code, LOAD]), VADDR);
    if (refs.length !== 1 || refs[0].offset !== 0) wrong.push(`${what}: the walk went on (${refs.length} references)`);
  }
  assert.deepEqual(wrong, []);
});

test("x86: prefixes count toward the 15-byte limit", () => {
  // data16 ×5, cs, nopw 0(rax,rax,1) with disp32: 15 bytes, the longest an instruction may be; one prefix more is not.
  const nop15 = bytes("66 66 66 66 66 2e 66 0f 1f 84 00 00 00 00 00");
  assert.equal(instructionLength(nop15, 0), 15);
  assert.equal(instructionLength(concat([Uint8Array.of(0x66), nop15]), 0), undefined);
  // Legacy prefixes in any order, and REX right before the opcode.
  assert.equal(instructionLength(bytes("f0 66 01 05 41 02 00 00"), 0), 8); // lock data16 add [rip+0x241], ax
  assert.equal(instructionLength(bytes("66 f0 01 05 41 02 00 00"), 0), 8);
  assert.equal(instructionLength(bytes("48"), 0), undefined); // REX and nothing after it
});

test("x86: real functions of libpython (bytes copied from the shared libraries)", () => {
  const ref = (
    offset: number,
    length: number,
    op: RipRef["op"],
    width: RipRef["width"],
    reg: number,
    target: number,
  ) => ({ offset, length, op, width, reg, target });
  // PyMem_RawMalloc, Debian's libpython3.11.so.1.0 (3.11.2, stripped) at 0x1ccc20: mov rdi,[rip+_PyMem_Raw];
  // jmp [rip+_PyMem_Raw+8] — the pair attach's allocator lookup looks for. Targets as objdump annotates them.
  const rawMalloc = bytes("48 89 fe 48 85 ff 78 10 48 8b 3d 91 f2 46 00 ff 25 93 f2 46 00 0f 1f 00 31 c0 c3");
  assert.deepEqual(ripRelativeRefs(rawMalloc, 0x1ccc20), [
    ref(8, 7, "mov-load", 8, 7, 0x63bec0),
    ref(15, 6, "other", 8, -1, 0x63bec8),
  ]);
  // _Py_GetAllocatedBlocks, same library, at 0x1cd300 (0x6d bytes): maxarenas (u32), raw_allocated_blocks, arenas.
  const blocks = bytes(
    "8b 05 5a 38 5d 00 48 8b 15 63 38 5d 00 85 c0 74 58 48 8b 35 50 38 5d 00 4c 8d 04 40 49 c1 e0 04 49 01 f0 eb 0c " +
      "0f 1f 00 48 83 c6 30 49 39 f0 74 38 48 8b 06 48 85 c0 74 ef 48 05 ff 3f 00 00 48 8b 7e 08 48 25 00 c0 ff ff " +
      "48 39 f8 73 da 66 90 8b 08 48 05 00 40 00 00 48 01 ca 48 39 f8 72 f0 48 83 c6 30 49 39 f0 75 c8 48 89 d0 c3",
  );
  assert.deepEqual(ripRelativeRefs(blocks, 0x1cd300), [
    ref(0, 6, "mov-load", 4, 0, 0x7a0b60),
    ref(6, 7, "mov-load", 8, 2, 0x7a0b70),
    ref(17, 7, "mov-load", 8, 6, 0x7a0b68),
  ]);
  let at = 0;
  while (at < blocks.length) at += instructionLength(blocks, at) ?? Infinity;
  assert.equal(at, blocks.length, "the walk ends exactly at the function's end");
  // _PyObject_DebugMallocStats, pyenv's libpython3.8.so.1.0 (3.8.18) at 0xe1c40: compares _PyObject.malloc with two
  // functions, then tail-calls the printer (the jmp rel32 a caller follows).
  const stats = bytes(
    "48 8b 05 c1 0b 25 00 48 8d 15 02 ec ff ff 48 39 d0 74 15 48 8d 15 46 05 00 00 48 39 d0 74 19 31 c0 c3 66 0f 1f " +
      "44 00 00 48 8d 05 31 05 00 00 48 39 05 ba 0c 25 00 75 e7 e9 83 df ff ff",
  );
  assert.deepEqual(ripRelativeRefs(stats, 0xe1c40), [
    ref(0x00, 7, "mov-load", 8, 0, 0x332808), // _PyObject+8
    ref(0x07, 7, "lea", 8, 2, 0xe0850), // _PyMem_DebugMalloc
    ref(0x13, 7, "lea", 8, 2, 0xe21a0), // _PyObject_Malloc
    ref(0x28, 7, "lea", 8, 0, 0xe21a0),
    ref(0x2f, 7, "cmp", 8, 0, 0x332930), // _PyMem_Debug+0x70
    ref(0x38, 5, "jmp", 8, -1, 0xdfc00), // _PyObject_DebugMallocStats.part.0
  ]);
});

const gas = toolchain("x86_64");
test("x86: the table is what GNU as makes of its texts", () => {
  if (typeof gas === "string") return;
  const rows = [...FORMS, ...REFUSED];
  const made = assembleText(gas, `.intel_syntax noprefix\n.text\n${rows.map(([asm]) => asm).join("\n")}\n`);
  const hex = [...made].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  assert.deepEqual(hex, rows.map(([, h]) => h).join(" "));
}, { skip: typeof gas === "string" ? gas : false });
