/**
 * The native pass of block classification: generated x86-64 code that does, for a batch of used pools, what the
 * JavaScript Scanner does pool by pool (lib/objects/classify.ts: #scanPool and #classify): checks the header, walks
 * the free list bounded by the carved blocks (a torn list is reported, never followed further), leaves the
 * never-used tail, and for each allocated block tests its candidate reference count and `ob_type` at the pre-header
 * offsets against a hash table of the type addresses decided so far, writing its kind and the pointers to buffers
 * that the owner/settle phase names (#nameBuffers, shared JavaScript). Candidates met for the first time are
 * reported; JavaScript validates them (lib/objects/types.ts, a few hundred distinct addresses on real heaps) and
 * classifies the blocks left pending again natively, in the Scanner's order. Nothing else changes: the JavaScript
 * pass is the reference, the fallback on other architectures or where executable memory is refused, and what runs
 * a batch in which a pool was torn (a live target), with its retries.
 *
 * Why: the JavaScript pass spends most of a large heap's classification in the per-block loop and in the views of
 * every arena (BENCHMARKS.md); this reads each allocated block's first words and the free lists in place, once.
 * The bytes are assembled from classify-pass.x86_64.s, which gcc makes of tools/classify-pass.c (the C is the
 * readable source and its contract): `bun tools/classify-pass.ts`, then `bun tools/assemble.ts --write`.
 * @module
 */
import type { Backend } from "../../ffi/types.ts";
import type { LibcApi } from "../../ffi/symbols.ts";
import { generated } from "../../ffi/symbols.ts";
import { hostArch } from "../machine/codegen.ts";
import { mapCode } from "../machine/exec-pages.ts";
import { canRunSecondThread, type NativeThread, startNativeThread, type ThreadApi } from "../machine/threads.ts";

/**
 * void classify_batch(Job *job, uint16_t *kinds, const uint8_t *words): tools/classify-pass.c has the contract.
 * The bytes below are assembled with GNU as from classify-pass.x86_64.s by `bun tools/assemble.ts --write`.
 */
// deno-fmt-ignore: one instruction a line, as `bun tools/assemble.ts --write` writes it
export const CLASSIFY_X64 = new Uint8Array([
  // readable:
  0x48, 0x8b, 0x57, 0x58,                         // mov rdx,qword [rdi+0x58]
  0x31, 0xc9,                                     // xor ecx,ecx
  0xeb, 0x1c,                                     // jmp readable+0x24
  0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop dword [rax+rax*1+0x0]
  0x48, 0x8d, 0x04, 0x0a,                         // lea rax,[rdx+rcx*1]
  0x4c, 0x8b, 0x47, 0x48,                         // mov r8,qword [rdi+0x48]
  0x48, 0xd1, 0xe8,                               // shr rax,1
  0x49, 0x3b, 0x34, 0xc0,                         // cmp rsi,qword [r8+rax*8]
  0x73, 0x27,                                     // jae readable+0x48
  0x48, 0x89, 0xc2,                               // mov rdx,rax
  0x48, 0x39, 0xd1,                               // cmp rcx,rdx
  0x72, 0xe7,                                     // jb readable+0x10
  0x31, 0xc0,                                     // xor eax,eax
  0x48, 0x85, 0xc9,                               // test rcx,rcx
  0x74, 0x13,                                     // je readable+0x43
  0x48, 0x8b, 0x47, 0x50,                         // mov rax,qword [rdi+0x50]
  0x48, 0x83, 0xc6, 0x10,                         // add rsi,0x10
  0x48, 0x39, 0x74, 0xc8, 0xf8,                   // cmp qword [rax+rcx*8-0x8],rsi
  0x0f, 0x93, 0xc0,                               // setae al
  0x0f, 0xb6, 0xc0,                               // movzx eax,al
  0xc3,                                           // ret
  0x0f, 0x1f, 0x40, 0x00,                         // nop dword [rax+0x0]
  0x48, 0x8d, 0x48, 0x01,                         // lea rcx,[rax+0x1]
  0xeb, 0xd6,                                     // jmp readable+0x24
  0x66, 0x90,                                     // xchg ax,ax
  // ref.part.0.isra.0:
  0x48, 0x89, 0xf8,                               // mov rax,rdi
  0x48, 0x89, 0xd7,                               // mov rdi,rdx
  0x8b, 0x56, 0x08,                               // mov edx,dword [rsi+0x8]
  0x49, 0xc1, 0xe0, 0x20,                         // shl r8,0x20
  0x89, 0xc9,                                     // mov ecx,ecx
  0x44, 0x8d, 0x52, 0x01,                         // lea r10d,[rdx+0x1]
  0x49, 0x09, 0xc8,                               // or r8,rcx
  0x44, 0x89, 0x56, 0x08,                         // mov dword [rsi+0x8],r10d
  0x8d, 0x34, 0x52,                               // lea esi,[rdx+rdx*2]
  0x48, 0x89, 0xf2,                               // mov rdx,rsi
  0x48, 0x89, 0x3c, 0xf0,                         // mov qword [rax+rsi*8],rdi
  0x8d, 0x76, 0x01,                               // lea esi,[rsi+0x1]
  0x83, 0xc2, 0x02,                               // add edx,0x2
  0x4c, 0x89, 0x04, 0xf0,                         // mov qword [rax+rsi*8],r8
  0x4c, 0x89, 0x0c, 0xd0,                         // mov qword [rax+rdx*8],r9
  0xc3,                                           // ret
  0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // data16 cs nop word [rax+rax*1+0x0]
  0x66, 0x90,                                     // xchg ax,ax
  // batch:
  0x41, 0x57,                                     // push r15
  0x41, 0x56,                                     // push r14
  0x49, 0x89, 0xfe,                               // mov r14,rdi
  0x41, 0x55,                                     // push r13
  0x41, 0x54,                                     // push r12
  0x55,                                           // push rbp
  0x53,                                           // push rbx
  0x48, 0x83, 0xc4, 0x80,                         // add rsp,0xffffffffffffff80
  0x48, 0x8b, 0x87, 0x88, 0x00, 0x00, 0x00,       // mov rax,qword [rdi+0x88]
  0x4c, 0x8b, 0x6f, 0x28,                         // mov r13,qword [rdi+0x28]
  0x48, 0x89, 0x77, 0x60,                         // mov qword [rdi+0x60],rsi
  0x48, 0x89, 0x74, 0x24, 0x30,                   // mov qword [rsp+0x30],rsi
  0x48, 0x89, 0x54, 0x24, 0x20,                   // mov qword [rsp+0x20],rdx
  0x48, 0x89, 0x44, 0x24, 0x38,                   // mov qword [rsp+0x38],rax
  0x48, 0x85, 0xc0,                               // test rax,rax
  0x0f, 0x84, 0x3d, 0x04, 0x00, 0x00,             // je batch+0x475
  0x48, 0x83, 0xbf, 0x90, 0x00, 0x00, 0x00, 0x00,  // cmp qword [rdi+0x90],0x0
  0x0f, 0x84, 0x2d, 0x03, 0x00, 0x00,             // je batch+0x373
  0x48, 0x8b, 0x47, 0x10,                         // mov rax,qword [rdi+0x10]
  0x45, 0x31, 0xc0,                               // xor r8d,r8d
  0x48, 0x89, 0x44, 0x24, 0x50,                   // mov qword [rsp+0x50],rax
  0x48, 0x8b, 0x47, 0x18,                         // mov rax,qword [rdi+0x18]
  0x48, 0x89, 0x44, 0x24, 0x58,                   // mov qword [rsp+0x58],rax
  0x48, 0x8b, 0x07,                               // mov rax,qword [rdi]
  0x48, 0x89, 0x44, 0x24, 0x60,                   // mov qword [rsp+0x60],rax
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x48, 0x8b, 0x44, 0x24, 0x38,                   // mov rax,qword [rsp+0x38]
  0x48, 0x8b, 0x5c, 0x24, 0x20,                   // mov rbx,qword [rsp+0x20]
  0x41, 0x8b, 0x4d, 0x3c,                         // mov ecx,dword [r13+0x3c]
  0x42, 0x8b, 0x14, 0xc0,                         // mov edx,dword [rax+r8*8]
  0x42, 0x8b, 0x7c, 0xc0, 0x04,                   // mov edi,dword [rax+r8*8+0x4]
  0x48, 0x8b, 0x44, 0x24, 0x60,                   // mov rax,qword [rsp+0x60]
  0x85, 0xc9,                                     // test ecx,ecx
  0x41, 0x8b, 0x4d, 0x0c,                         // mov ecx,dword [r13+0xc]
  0x48, 0x89, 0x7c, 0x24, 0x10,                   // mov qword [rsp+0x10],rdi
  0x48, 0x89, 0xfe,                               // mov rsi,rdi
  0x48, 0x8b, 0x04, 0xd0,                         // mov rax,qword [rax+rdx*8]
  0x48, 0x8d, 0x2c, 0x03,                         // lea rbp,[rbx+rax*1]
  0x48, 0x8b, 0x5c, 0x24, 0x58,                   // mov rbx,qword [rsp+0x58]
  0x48, 0x0f, 0x45, 0xe8,                         // cmovne rbp,rax
  0x48, 0x8b, 0x44, 0x24, 0x50,                   // mov rax,qword [rsp+0x50]
  0x48, 0x8d, 0x1c, 0x93,                         // lea rbx,[rbx+rdx*4]
  0x0f, 0xb6, 0x04, 0x10,                         // movzx eax,byte [rax+rdx*1]
  0x41, 0x8b, 0x55, 0x14,                         // mov edx,dword [r13+0x14]
  0x48, 0x89, 0x5c, 0x24, 0x18,                   // mov qword [rsp+0x18],rbx
  0x44, 0x8b, 0x3b,                               // mov r15d,dword [rbx]
  0x83, 0xc0, 0x01,                               // add eax,0x1
  0xd3, 0xe0,                                     // shl eax,cl
  0x41, 0x8b, 0x4d, 0x04,                         // mov ecx,dword [r13+0x4]
  0x49, 0x89, 0xc4,                               // mov r12,rax
  0x48, 0x0f, 0xaf, 0xc7,                         // imul rax,rdi
  0x41, 0x8b, 0x7d, 0x18,                         // mov edi,dword [r13+0x18]
  0x49, 0x29, 0xd4,                               // sub r12,rdx
  0x41, 0x8b, 0x55, 0x10,                         // mov edx,dword [r13+0x10]
  0x48, 0x01, 0xca,                               // add rdx,rcx
  0x48, 0x8d, 0x1c, 0x02,                         // lea rbx,[rdx+rax*1]
  0x48, 0xc1, 0xeb, 0x02,                         // shr rbx,0x2
  0x85, 0xff,                                     // test edi,edi
  0x0f, 0x84, 0x12, 0x07, 0x00, 0x00,             // je batch+0x7fc
  0xc7, 0x44, 0x24, 0x08, 0x00, 0x00, 0x00, 0x00,  // mov dword [rsp+0x8],0x0
  0x45, 0x31, 0xd2,                               // xor r10d,r10d
  0x48, 0xc7, 0x04, 0x24, 0x00, 0x00, 0x00, 0x00,  // mov qword [rsp],0x0
  0x89, 0x74, 0x24, 0x40,                         // mov dword [rsp+0x40],esi
  0x4c, 0x89, 0x44, 0x24, 0x28,                   // mov qword [rsp+0x28],r8
  0x44, 0x89, 0x7c, 0x24, 0x48,                   // mov dword [rsp+0x48],r15d
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x41, 0x8d, 0x42, 0x07,                         // lea eax,[r10+0x7]
  0x45, 0x8b, 0x5c, 0x85, 0x00,                   // mov r11d,dword [r13+rax*4+0x0]
  0x49, 0x8d, 0x43, 0x0f,                         // lea rax,[r11+0xf]
  0x49, 0x39, 0xc4,                               // cmp r12,rax
  0x0f, 0x8e, 0x78, 0x02, 0x00, 0x00,             // jle batch+0x39e
  0x4c, 0x89, 0xd8,                               // mov rax,r11
  0x48, 0xc1, 0xf8, 0x02,                         // sar rax,0x2
  0x48, 0x01, 0xd8,                               // add rax,rbx
  0x4c, 0x8d, 0x4c, 0x85, 0x00,                   // lea r9,[rbp+rax*4+0x0]
  0x41, 0x8b, 0x31,                               // mov esi,dword [r9]
  0x41, 0x8b, 0x41, 0x04,                         // mov eax,dword [r9+0x4]
  0x85, 0xf6,                                     // test esi,esi
  0x0f, 0x84, 0x4c, 0x02, 0x00, 0x00,             // je batch+0x390
  0x45, 0x8b, 0x7d, 0x28,                         // mov r15d,dword [r13+0x28]
  0x45, 0x85, 0xff,                               // test r15d,r15d
  0x0f, 0x84, 0x37, 0x02, 0x00, 0x00,             // je batch+0x388
  0x66, 0x85, 0xc0,                               // test ax,ax
  0x0f, 0x85, 0x36, 0x02, 0x00, 0x00,             // jne batch+0x390
  0x81, 0xfe, 0xff, 0xff, 0x00, 0x00,             // cmp esi,0xffff
  0x76, 0x2e,                                     // jbe batch+0x190
  0x89, 0xf2,                                     // mov edx,esi
  0x83, 0xe2, 0x07,                               // and edx,0x7
  0x09, 0xc2,                                     // or edx,eax
  0x75, 0x25,                                     // jne batch+0x190
  0x45, 0x8b, 0x45, 0x2c,                         // mov r8d,dword [r13+0x2c]
  0x45, 0x85, 0xc0,                               // test r8d,r8d
  0x74, 0x04,                                     // je batch+0x178
  0x85, 0xf6,                                     // test esi,esi
  0x78, 0x18,                                     // js batch+0x190
  0x4c, 0x89, 0xf7,                               // mov rdi,r14
  0xe8, 0xf0, 0xfd, 0xff, 0xff,                   // call readable
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x85, 0x08, 0x02, 0x00, 0x00,             // jne batch+0x390
  0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop dword [rax+rax*1+0x0]
  0x41, 0x8b, 0x51, 0x08,                         // mov edx,dword [r9+0x8]
  0x49, 0x8b, 0x71, 0x08,                         // mov rsi,qword [r9+0x8]
  0x41, 0x8b, 0x49, 0x0c,                         // mov ecx,dword [r9+0xc]
  0xf6, 0xc2, 0x07,                               // test dl,0x7
  0x0f, 0x85, 0xeb, 0x01, 0x00, 0x00,             // jne batch+0x390
  0x81, 0xf9, 0xff, 0x7f, 0x00, 0x00,             // cmp ecx,0x7fff
  0x0f, 0x87, 0xdf, 0x01, 0x00, 0x00,             // ja batch+0x390
  0x85, 0xc9,                                     // test ecx,ecx
  0x75, 0x0c,                                     // jne batch+0x1c1
  0x81, 0xfa, 0xff, 0x0f, 0x00, 0x00,             // cmp edx,0xfff
  0x0f, 0x86, 0xcf, 0x01, 0x00, 0x00,             // jbe batch+0x390
  0x48, 0x8b, 0x04, 0x24,                         // mov rax,qword [rsp]
  0x49, 0x8b, 0x7e, 0x30,                         // mov rdi,qword [r14+0x30]
  0x48, 0x39, 0xc6,                               // cmp rsi,rax
  0x0f, 0x85, 0xe6, 0x01, 0x00, 0x00,             // jne batch+0x3b8
  0x8b, 0x4c, 0x24, 0x08,                         // mov ecx,dword [rsp+0x8]
  0x4c, 0x8d, 0x3c, 0xcf,                         // lea r15,[rdi+rcx*8]
  0x48, 0x89, 0xc8,                               // mov rax,rcx
  0x49, 0x8b, 0x17,                               // mov rdx,qword [r15]
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x0f, 0x84, 0x0c, 0x02, 0x00, 0x00,             // je batch+0x3f5
  0x49, 0x8b, 0x56, 0x38,                         // mov rdx,qword [r14+0x38]
  0x8b, 0x3c, 0x8a,                               // mov edi,dword [rdx+rcx*4]
  0x83, 0xff, 0xfe,                               // cmp edi,0xfffffffe
  0x0f, 0x84, 0x97, 0x01, 0x00, 0x00,             // je batch+0x390
  0x85, 0xff,                                     // test edi,edi
  0x0f, 0x88, 0x1f, 0x02, 0x00, 0x00,             // js batch+0x420
  0x48, 0x63, 0xd7,                               // movsxd rdx,edi
  0x48, 0xc1, 0xe2, 0x06,                         // shl rdx,0x6
  0x49, 0x03, 0x56, 0x40,                         // add rdx,qword [r14+0x40]
  0x48, 0x63, 0x0a,                               // movsxd rcx,dword [rdx]
  0x49, 0x39, 0xcb,                               // cmp r11,rcx
  0x0f, 0x85, 0x08, 0x02, 0x00, 0x00,             // jne batch+0x420
  0x48, 0x63, 0x4a, 0x04,                         // movsxd rcx,dword [rdx+0x4]
  0x4c, 0x01, 0xd9,                               // add rcx,r11
  0x49, 0x39, 0xcc,                               // cmp r12,rcx
  0x0f, 0x8c, 0xf8, 0x01, 0x00, 0x00,             // jl batch+0x420
  0x8b, 0x4a, 0x08,                               // mov ecx,dword [rdx+0x8]
  0x85, 0xc9,                                     // test ecx,ecx
  0x74, 0x2c,                                     // je batch+0x25b
  0x4c, 0x63, 0x42, 0x0c,                         // movsxd r8,dword [rdx+0xc]
  0x4d, 0x01, 0xd8,                               // add r8,r11
  0x4d, 0x39, 0xc4,                               // cmp r12,r8
  0x7d, 0x20,                                     // jge batch+0x25b
  0x41, 0x89, 0xc8,                               // mov r8d,ecx
  0x83, 0xe1, 0x03,                               // and ecx,0x3
  0x41, 0xc1, 0xf8, 0x02,                         // sar r8d,0x2
  0xc1, 0xe1, 0x03,                               // shl ecx,0x3
  0x4d, 0x63, 0xc0,                               // movsxd r8,r8d
  0x47, 0x8b, 0x04, 0x81,                         // mov r8d,dword [r9+r8*4]
  0x41, 0xd3, 0xe8,                               // shr r8d,cl
  0x45, 0x84, 0xc0,                               // test r8b,r8b
  0x0f, 0x85, 0xc5, 0x01, 0x00, 0x00,             // jne batch+0x420
  0x8b, 0x74, 0x24, 0x40,                         // mov esi,dword [rsp+0x40]
  0x44, 0x8b, 0x7c, 0x24, 0x48,                   // mov r15d,dword [rsp+0x48]
  0x44, 0x8b, 0x62, 0x18,                         // mov r12d,dword [rdx+0x18]
  0x4c, 0x8b, 0x44, 0x24, 0x28,                   // mov r8,qword [rsp+0x28]
  0x42, 0x8d, 0x1c, 0x3e,                         // lea ebx,[rsi+r15*1]
  0x31, 0xf6,                                     // xor esi,esi
  0x49, 0x89, 0xdf,                               // mov r15,rbx
  0x49, 0xc1, 0xe7, 0x20,                         // shl r15,0x20
  0x45, 0x85, 0xe4,                               // test r12d,r12d
  0x0f, 0x8e, 0x95, 0x00, 0x00, 0x00,             // jle batch+0x318
  0x89, 0x1c, 0x24,                               // mov dword [rsp],ebx
  0x4c, 0x89, 0x6c, 0x24, 0x08,                   // mov qword [rsp+0x8],r13
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x8b, 0x4c, 0xf2, 0x20,                         // mov ecx,dword [rdx+rsi*8+0x20]
  0x8b, 0x5c, 0xf2, 0x1c,                         // mov ebx,dword [rdx+rsi*8+0x1c]
  0x45, 0x31, 0xd2,                               // xor r10d,r10d
  0x83, 0xf9, 0x09,                               // cmp ecx,0x9
  0x75, 0x18,                                     // jne batch+0x2b8
  0x8d, 0x43, 0x08,                               // lea eax,[rbx+0x8]
  0xc1, 0xf8, 0x02,                               // sar eax,0x2
  0x48, 0x98,                                     // cdqe
  0x45, 0x8b, 0x54, 0x81, 0x04,                   // mov r10d,dword [r9+rax*4+0x4]
  0x41, 0x8b, 0x04, 0x81,                         // mov eax,dword [r9+rax*4]
  0x49, 0xc1, 0xe2, 0x20,                         // shl r10,0x20
  0x49, 0x09, 0xc2,                               // or r10,rax
  0xc1, 0xfb, 0x02,                               // sar ebx,0x2
  0x48, 0x63, 0xdb,                               // movsxd rbx,ebx
  0x41, 0x8b, 0x44, 0x99, 0x04,                   // mov eax,dword [r9+rbx*4+0x4]
  0x41, 0x8b, 0x1c, 0x99,                         // mov ebx,dword [r9+rbx*4]
  0x48, 0xc1, 0xe0, 0x20,                         // shl rax,0x20
  0x48, 0x09, 0xd8,                               // or rax,rbx
  0x74, 0x37,                                     // je batch+0x307
  0x4d, 0x8b, 0xa6, 0x80, 0x00, 0x00, 0x00,       // mov r12,qword [r14+0x80]
  0x49, 0x8b, 0x5e, 0x78,                         // mov rbx,qword [r14+0x78]
  0x4c, 0x09, 0xf9,                               // or rcx,r15
  0x41, 0x8b, 0x6c, 0x24, 0x08,                   // mov ebp,dword [r12+0x8]
  0x44, 0x8d, 0x6d, 0x01,                         // lea r13d,[rbp+0x1]
  0x45, 0x89, 0x6c, 0x24, 0x08,                   // mov dword [r12+0x8],r13d
  0x44, 0x8d, 0x64, 0x6d, 0x00,                   // lea r12d,[rbp+rbp*2+0x0]
  0x4a, 0x89, 0x04, 0xe3,                         // mov qword [rbx+r12*8],rax
  0x41, 0x8d, 0x44, 0x24, 0x01,                   // lea eax,[r12+0x1]
  0x48, 0x89, 0x0c, 0xc3,                         // mov qword [rbx+rax*8],rcx
  0x41, 0x8d, 0x44, 0x24, 0x02,                   // lea eax,[r12+0x2]
  0x4c, 0x89, 0x14, 0xc3,                         // mov qword [rbx+rax*8],r10
  0x48, 0x83, 0xc6, 0x01,                         // add rsi,0x1
  0x39, 0x72, 0x18,                               // cmp dword [rdx+0x18],esi
  0x7f, 0x80,                                     // jg batch+0x290
  0x8b, 0x1c, 0x24,                               // mov ebx,dword [rsp]
  0x4c, 0x8b, 0x6c, 0x24, 0x08,                   // mov r13,qword [rsp+0x8]
  0x8b, 0x42, 0x10,                               // mov eax,dword [rdx+0x10]
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x85, 0xaf, 0x03, 0x00, 0x00,             // jne batch+0x6d2
  0x8b, 0x42, 0x14,                               // mov eax,dword [rdx+0x14]
  0x49, 0x83, 0xfb, 0x1f,                         // cmp r11,0x1f
  0x7e, 0x08,                                     // jle batch+0x334
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x85, 0xfb, 0x03, 0x00, 0x00,             // jne batch+0x72f
  0x48, 0x8b, 0x5c, 0x24, 0x18,                   // mov rbx,qword [rsp+0x18]
  0x8d, 0x47, 0x0f,                               // lea eax,[rdi+0xf]
  0x81, 0xff, 0xf0, 0xff, 0x00, 0x00,             // cmp edi,0xfff0
  0xbf, 0x03, 0x00, 0x00, 0x00,                   // mov edi,0x3
  0x0f, 0x44, 0xc7,                               // cmove eax,edi
  0x44, 0x8b, 0x3b,                               // mov r15d,dword [rbx]
  0x0f, 0x1f, 0x00,                               // nop dword [rax]
  0x48, 0x8b, 0x7c, 0x24, 0x10,                   // mov rdi,qword [rsp+0x10]
  0x49, 0x83, 0xc0, 0x01,                         // add r8,0x1
  0x49, 0x01, 0xff,                               // add r15,rdi
  0x48, 0x8b, 0x7c, 0x24, 0x30,                   // mov rdi,qword [rsp+0x30]
  0x66, 0x42, 0x89, 0x04, 0x7f,                   // mov word [rdi+r15*2],ax
  0x4d, 0x3b, 0x86, 0x90, 0x00, 0x00, 0x00,       // cmp r8,qword [r14+0x90]
  0x0f, 0x82, 0xf5, 0xfc, 0xff, 0xff,             // jb batch+0x68
  0x48, 0x83, 0xec, 0x80,                         // sub rsp,0xffffffffffffff80
  0x5b,                                           // pop rbx
  0x5d,                                           // pop rbp
  0x41, 0x5c,                                     // pop r12
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5f,                                     // pop r15
  0xc3,                                           // ret
  0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,             // nop word [rax+rax*1+0x0]
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x84, 0xca, 0xfd, 0xff, 0xff,             // je batch+0x15a
  0x41, 0x83, 0xc2, 0x01,                         // add r10d,0x1
  0x45, 0x3b, 0x55, 0x18,                         // cmp r10d,dword [r13+0x18]
  0x0f, 0x82, 0x72, 0xfd, 0xff, 0xff,             // jb batch+0x110
  0x48, 0x8b, 0x44, 0x24, 0x18,                   // mov rax,qword [rsp+0x18]
  0x4c, 0x8b, 0x44, 0x24, 0x28,                   // mov r8,qword [rsp+0x28]
  0x44, 0x8b, 0x38,                               // mov r15d,dword [rax]
  0xb8, 0x03, 0x00, 0x00, 0x00,                   // mov eax,0x3
  0xeb, 0x9e,                                     // jmp batch+0x350
  0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,             // nop word [rax+rax*1+0x0]
  0x89, 0xd0,                                     // mov eax,edx
  0x31, 0xca,                                     // xor edx,ecx
  0x41, 0x8b, 0x4d, 0x34,                         // mov ecx,dword [r13+0x34]
  0x45, 0x8b, 0x45, 0x30,                         // mov r8d,dword [r13+0x30]
  0xc1, 0xe8, 0x10,                               // shr eax,0x10
  0x31, 0xd0,                                     // xor eax,edx
  0x69, 0xc0, 0xb1, 0x79, 0x37, 0x9e,             // imul eax,eax,0x9e3779b1
  0xd3, 0xe8,                                     // shr eax,cl
  0xeb, 0x0b,                                     // jmp batch+0x3de
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x83, 0xc0, 0x01,                               // add eax,0x1
  0x44, 0x21, 0xc0,                               // and eax,r8d
  0x89, 0xc1,                                     // mov ecx,eax
  0x4c, 0x8d, 0x3c, 0xcf,                         // lea r15,[rdi+rcx*8]
  0x49, 0x8b, 0x17,                               // mov rdx,qword [r15]
  0x48, 0x39, 0xd6,                               // cmp rsi,rdx
  0x0f, 0x84, 0xf0, 0xfd, 0xff, 0xff,             // je batch+0x1e0
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x75, 0xe3,                                     // jne batch+0x3d8
  0x49, 0x8b, 0x96, 0x80, 0x00, 0x00, 0x00,       // mov rdx,qword [r14+0x80]
  0x8b, 0x7a, 0x14,                               // mov edi,dword [rdx+0x14]
  0x85, 0xff,                                     // test edi,edi
  0x74, 0x3d,                                     // je batch+0x440
  0x83, 0x42, 0x04, 0x01,                         // add dword [rdx+0x4],0x1
  0x41, 0x83, 0xc2, 0x01,                         // add r10d,0x1
  0x45, 0x3b, 0x55, 0x18,                         // cmp r10d,dword [r13+0x18]
  0x0f, 0x82, 0xfb, 0xfc, 0xff, 0xff,             // jb batch+0x110
  0xeb, 0x87,                                     // jmp batch+0x39e
  0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop word [rax+rax*1+0x0]
  0x89, 0x44, 0x24, 0x08,                         // mov dword [rsp+0x8],eax
  0x41, 0x83, 0xc2, 0x01,                         // add r10d,0x1
  0x48, 0x89, 0x34, 0x24,                         // mov qword [rsp],rsi
  0x45, 0x3b, 0x55, 0x18,                         // cmp r10d,dword [r13+0x18]
  0x0f, 0x82, 0xda, 0xfc, 0xff, 0xff,             // jb batch+0x110
  0xe9, 0x63, 0xff, 0xff, 0xff,                   // jmp batch+0x39e
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x49, 0x89, 0x37,                               // mov qword [r15],rsi
  0x49, 0x8b, 0x76, 0x38,                         // mov rsi,qword [r14+0x38]
  0x41, 0x83, 0xc2, 0x01,                         // add r10d,0x1
  0xc7, 0x04, 0x8e, 0xfe, 0xff, 0xff, 0xff,       // mov dword [rsi+rcx*4],0xfffffffe
  0x8b, 0x4a, 0x04,                               // mov ecx,dword [rdx+0x4]
  0x49, 0x8b, 0x76, 0x70,                         // mov rsi,qword [r14+0x70]
  0x8d, 0x79, 0x01,                               // lea edi,[rcx+0x1]
  0x89, 0x7a, 0x04,                               // mov dword [rdx+0x4],edi
  0x89, 0x04, 0x8e,                               // mov dword [rsi+rcx*4],eax
  0x83, 0x42, 0x10, 0x01,                         // add dword [rdx+0x10],0x1
  0x45, 0x3b, 0x55, 0x18,                         // cmp r10d,dword [r13+0x18]
  0x0f, 0x82, 0xa0, 0xfc, 0xff, 0xff,             // jb batch+0x110
  0xe9, 0x29, 0xff, 0xff, 0xff,                   // jmp batch+0x39e
  0x48, 0x83, 0x7f, 0x20, 0x00,                   // cmp qword [rdi+0x20],0x0
  0x0f, 0x84, 0xf3, 0xfe, 0xff, 0xff,             // je batch+0x373
  0x31, 0xc0,                                     // xor eax,eax
  0x4c, 0x8b, 0x27,                               // mov r12,qword [rdi]
  0x4d, 0x89, 0xef,                               // mov r15,r13
  0x49, 0x89, 0xfd,                               // mov r13,rdi
  0x49, 0x89, 0xc6,                               // mov r14,rax
  0x66, 0x90,                                     // xchg ax,ax
  0x4b, 0x8b, 0x04, 0xf4,                         // mov rax,qword [r12+r14*8]
  0x48, 0x83, 0xf8, 0xff,                         // cmp rax,0xffffffffffffffff
  0x0f, 0x84, 0x12, 0x02, 0x00, 0x00,             // je batch+0x6b0
  0x48, 0x8b, 0x7c, 0x24, 0x20,                   // mov rdi,qword [rsp+0x20]
  0x45, 0x8b, 0x5f, 0x3c,                         // mov r11d,dword [r15+0x3c]
  0x41, 0x8b, 0x37,                               // mov esi,dword [r15]
  0x45, 0x8b, 0x4f, 0x04,                         // mov r9d,dword [r15+0x4]
  0x4c, 0x8d, 0x14, 0x07,                         // lea r10,[rdi+rax*1]
  0x45, 0x85, 0xdb,                               // test r11d,r11d
  0x4c, 0x0f, 0x45, 0xd0,                         // cmovne r10,rax
  0x45, 0x8b, 0x1a,                               // mov r11d,dword [r10]
  0x41, 0x8b, 0x42, 0x24,                         // mov eax,dword [r10+0x24]
  0x41, 0x8b, 0x7a, 0x28,                         // mov edi,dword [r10+0x28]
  0x41, 0x3b, 0x47, 0x08,                         // cmp eax,dword [r15+0x8]
  0x0f, 0x83, 0xe2, 0x01, 0x00, 0x00,             // jae batch+0x6b0
  0x49, 0x8b, 0x55, 0x10,                         // mov rdx,qword [r13+0x10]
  0x42, 0x0f, 0xb6, 0x14, 0x32,                   // movzx edx,byte [rdx+r14*1]
  0x39, 0xd0,                                     // cmp eax,edx
  0x0f, 0x85, 0xd1, 0x01, 0x00, 0x00,             // jne batch+0x6b0
  0x41, 0x8b, 0x4f, 0x0c,                         // mov ecx,dword [r15+0xc]
  0x83, 0xc0, 0x01,                               // add eax,0x1
  0xd3, 0xe0,                                     // shl eax,cl
  0x89, 0xc3,                                     // mov ebx,eax
  0x89, 0x04, 0x24,                               // mov dword [rsp],eax
  0x89, 0xf0,                                     // mov eax,esi
  0x29, 0xd8,                                     // sub eax,ebx
  0x41, 0x39, 0x42, 0x2c,                         // cmp dword [r10+0x2c],eax
  0x0f, 0x85, 0xb5, 0x01, 0x00, 0x00,             // jne batch+0x6b0
  0x44, 0x39, 0xcf,                               // cmp edi,r9d
  0x0f, 0x82, 0xac, 0x01, 0x00, 0x00,             // jb batch+0x6b0
  0x39, 0xfe,                                     // cmp esi,edi
  0x0f, 0x82, 0xa4, 0x01, 0x00, 0x00,             // jb batch+0x6b0
  0x89, 0xfd,                                     // mov ebp,edi
  0x31, 0xd2,                                     // xor edx,edx
  0x44, 0x29, 0xcd,                               // sub ebp,r9d
  0x89, 0xe8,                                     // mov eax,ebp
  0xf7, 0xf3,                                     // div ebx
  0x31, 0xd2,                                     // xor edx,edx
  0x89, 0x44, 0x24, 0x08,                         // mov dword [rsp+0x8],eax
  0x89, 0xf0,                                     // mov eax,esi
  0x44, 0x29, 0xc8,                               // sub eax,r9d
  0xf7, 0xf3,                                     // div ebx
  0x49, 0x8b, 0x55, 0x18,                         // mov rdx,qword [r13+0x18]
  0x4a, 0x8d, 0x1c, 0xb2,                         // lea rbx,[rdx+r14*4]
  0x8b, 0x13,                                     // mov edx,dword [rbx]
  0x48, 0x89, 0x5c, 0x24, 0x40,                   // mov qword [rsp+0x40],rbx
  0x48, 0x8b, 0x5c, 0x24, 0x30,                   // mov rbx,qword [rsp+0x30]
  0x48, 0x8d, 0x1c, 0x53,                         // lea rbx,[rbx+rdx*2]
  0x48, 0x89, 0x5c, 0x24, 0x10,                   // mov qword [rsp+0x10],rbx
  0x45, 0x85, 0xdb,                               // test r11d,r11d
  0x0f, 0x84, 0x3f, 0x02, 0x00, 0x00,             // je batch+0x789
  0x44, 0x39, 0x5c, 0x24, 0x08,                   // cmp dword [rsp+0x8],r11d
  0x0f, 0x82, 0x5b, 0x01, 0x00, 0x00,             // jb batch+0x6b0
  0x8b, 0x1c, 0x24,                               // mov ebx,dword [rsp]
  0x31, 0xd2,                                     // xor edx,edx
  0x39, 0xdd,                                     // cmp ebp,ebx
  0x72, 0x25,                                     // jb batch+0x583
  0x48, 0x8b, 0x4c, 0x24, 0x10,                   // mov rcx,qword [rsp+0x10]
  0x8b, 0x74, 0x24, 0x08,                         // mov esi,dword [rsp+0x8]
  0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop word [rax+rax*1+0x0]
  0x41, 0xb8, 0x03, 0x00, 0x00, 0x00,             // mov r8d,0x3
  0x66, 0x44, 0x89, 0x04, 0x51,                   // mov word [rcx+rdx*2],r8w
  0x48, 0x83, 0xc2, 0x01,                         // add rdx,0x1
  0x39, 0xf2,                                     // cmp edx,esi
  0x72, 0xed,                                     // jb batch+0x570
  0x39, 0x44, 0x24, 0x08,                         // cmp dword [rsp+0x8],eax
  0x73, 0x2e,                                     // jae batch+0x5b7
  0x8b, 0x4c, 0x24, 0x08,                         // mov ecx,dword [rsp+0x8]
  0x83, 0xe8, 0x01,                               // sub eax,0x1
  0x48, 0x8b, 0x74, 0x24, 0x10,                   // mov rsi,qword [rsp+0x10]
  0x29, 0xc8,                                     // sub eax,ecx
  0x48, 0x8d, 0x14, 0x4e,                         // lea rdx,[rsi+rcx*2]
  0x48, 0x01, 0xc8,                               // add rax,rcx
  0x48, 0x8d, 0x44, 0x46, 0x02,                   // lea rax,[rsi+rax*2+0x2]
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x31, 0xc9,                                     // xor ecx,ecx
  0x48, 0x83, 0xc2, 0x02,                         // add rdx,0x2
  0x66, 0x89, 0x4a, 0xfe,                         // mov word [rdx-0x2],cx
  0x48, 0x39, 0xd0,                               // cmp rax,rdx
  0x75, 0xf1,                                     // jne batch+0x5a8
  0x49, 0x8b, 0x45, 0x08,                         // mov rax,qword [r13+0x8]
  0x49, 0x8b, 0x4a, 0x08,                         // mov rcx,qword [r10+0x8]
  0x4a, 0x8b, 0x34, 0xf0,                         // mov rsi,qword [rax+r14*8]
  0x48, 0x85, 0xc9,                               // test rcx,rcx
  0x0f, 0x84, 0xe3, 0x06, 0x00, 0x00,             // je batch+0xcaf
  0x48, 0x29, 0xf1,                               // sub rcx,rsi
  0x44, 0x89, 0xcb,                               // mov ebx,r9d
  0x48, 0x39, 0xd9,                               // cmp rcx,rbx
  0x0f, 0x8c, 0xd5, 0x00, 0x00, 0x00,             // jl batch+0x6b0
  0x41, 0x89, 0xf8,                               // mov r8d,edi
  0x4c, 0x39, 0xc1,                               // cmp rcx,r8
  0x0f, 0x8d, 0xc9, 0x00, 0x00, 0x00,             // jge batch+0x6b0
  0x8b, 0x04, 0x24,                               // mov eax,dword [rsp]
  0x48, 0x89, 0xcf,                               // mov rdi,rcx
  0x48, 0x29, 0xdf,                               // sub rdi,rbx
  0x48, 0x89, 0xc2,                               // mov rdx,rax
  0x48, 0x89, 0xf8,                               // mov rax,rdi
  0x48, 0x89, 0x54, 0x24, 0x28,                   // mov qword [rsp+0x28],rdx
  0x31, 0xd2,                                     // xor edx,edx
  0x48, 0xf7, 0x74, 0x24, 0x28,                   // div qword [rsp+0x28]
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x0f, 0x85, 0xa5, 0x00, 0x00, 0x00,             // jne batch+0x6b0
  0x8b, 0x04, 0x24,                               // mov eax,dword [rsp]
  0x39, 0xc5,                                     // cmp ebp,eax
  0x0f, 0x82, 0x9a, 0x00, 0x00, 0x00,             // jb batch+0x6b0
  0x4c, 0x89, 0x7c, 0x24, 0x38,                   // mov qword [rsp+0x38],r15
  0x31, 0xed,                                     // xor ebp,ebp
  0x44, 0x8b, 0x7c, 0x24, 0x08,                   // mov r15d,dword [rsp+0x8]
  0x4c, 0x89, 0x74, 0x24, 0x18,                   // mov qword [rsp+0x18],r14
  0x4c, 0x8b, 0x74, 0x24, 0x10,                   // mov r14,qword [rsp+0x10]
  0x44, 0x89, 0x4c, 0x24, 0x48,                   // mov dword [rsp+0x48],r9d
  0x4c, 0x8b, 0x4c, 0x24, 0x28,                   // mov r9,qword [rsp+0x28]
  0xeb, 0x59,                                     // jmp batch+0x691
  0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop dword [rax+rax*1+0x0]
  0xba, 0x01, 0x00, 0x00, 0x00,                   // mov edx,0x1
  0x83, 0xc5, 0x01,                               // add ebp,0x1
  0x66, 0x89, 0x10,                               // mov word [rax],dx
  0x48, 0x89, 0xca,                               // mov rdx,rcx
  0x48, 0x83, 0xe1, 0xfc,                         // and rcx,0xfffffffffffffffc
  0x41, 0x8b, 0x44, 0x0a, 0x04,                   // mov eax,dword [r10+rcx*1+0x4]
  0x48, 0xc1, 0xfa, 0x02,                         // sar rdx,0x2
  0x41, 0x8b, 0x0c, 0x92,                         // mov ecx,dword [r10+rdx*4]
  0x48, 0xc1, 0xe0, 0x20,                         // shl rax,0x20
  0x48, 0x09, 0xc1,                               // or rcx,rax
  0x0f, 0x84, 0xe5, 0x01, 0x00, 0x00,             // je batch+0x851
  0x48, 0x29, 0xf1,                               // sub rcx,rsi
  0x48, 0x39, 0xd9,                               // cmp rcx,rbx
  0x7c, 0x2f,                                     // jl batch+0x6a3
  0x4c, 0x39, 0xc1,                               // cmp rcx,r8
  0x7d, 0x2a,                                     // jge batch+0x6a3
  0x48, 0x89, 0xcf,                               // mov rdi,rcx
  0x31, 0xd2,                                     // xor edx,edx
  0x48, 0x29, 0xdf,                               // sub rdi,rbx
  0x48, 0x89, 0xf8,                               // mov rax,rdi
  0x49, 0xf7, 0xf1,                               // div r9
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x75, 0x17,                                     // jne batch+0x6a3
  0x44, 0x39, 0xfd,                               // cmp ebp,r15d
  0x73, 0x12,                                     // jae batch+0x6a3
  0x31, 0xd2,                                     // xor edx,edx
  0x48, 0x89, 0xf8,                               // mov rax,rdi
  0x49, 0xf7, 0xf1,                               // div r9
  0x49, 0x8d, 0x04, 0x46,                         // lea rax,[r14+rax*2]
  0x66, 0x83, 0x38, 0x01,                         // cmp word [rax],0x1
  0x75, 0x9d,                                     // jne batch+0x640
  0x48, 0x8b, 0x44, 0x24, 0x18,                   // mov rax,qword [rsp+0x18]
  0x4d, 0x89, 0xee,                               // mov r14,r13
  0xeb, 0x09,                                     // jmp batch+0x6b6
  0x0f, 0x1f, 0x00,                               // nop dword [rax]
  0x4c, 0x89, 0xf0,                               // mov rax,r14
  0x4d, 0x89, 0xee,                               // mov r14,r13
  0x49, 0x8b, 0x96, 0x80, 0x00, 0x00, 0x00,       // mov rdx,qword [r14+0x80]
  0x83, 0xc0, 0x01,                               // add eax,0x1
  0x89, 0x42, 0x0c,                               // mov dword [rdx+0xc],eax
  0x48, 0x83, 0xec, 0x80,                         // sub rsp,0xffffffffffffff80
  0x5b,                                           // pop rbx
  0x5d,                                           // pop rbp
  0x41, 0x5c,                                     // pop r12
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5f,                                     // pop r15
  0xc3,                                           // ret
  0xc1, 0xf8, 0x02,                               // sar eax,0x2
  0x48, 0x98,                                     // cdqe
  0x41, 0x8b, 0x4c, 0x81, 0x04,                   // mov ecx,dword [r9+rax*4+0x4]
  0x41, 0x8b, 0x04, 0x81,                         // mov eax,dword [r9+rax*4]
  0x48, 0xc1, 0xe1, 0x20,                         // shl rcx,0x20
  0x48, 0x09, 0xc1,                               // or rcx,rax
  0x48, 0x89, 0xcd,                               // mov rbp,rcx
  0x0f, 0x84, 0x33, 0xfc, 0xff, 0xff,             // je batch+0x323
  0x49, 0x8b, 0x8e, 0x80, 0x00, 0x00, 0x00,       // mov rcx,qword [r14+0x80]
  0x4d, 0x8b, 0x56, 0x78,                         // mov r10,qword [r14+0x78]
  0x8b, 0x41, 0x08,                               // mov eax,dword [rcx+0x8]
  0x8d, 0x70, 0x01,                               // lea esi,[rax+0x1]
  0x89, 0x71, 0x08,                               // mov dword [rcx+0x8],esi
  0x8d, 0x0c, 0x40,                               // lea ecx,[rax+rax*2]
  0x49, 0x89, 0x2c, 0xca,                         // mov qword [r10+rcx*8],rbp
  0x48, 0x89, 0xc8,                               // mov rax,rcx
  0x8d, 0x71, 0x01,                               // lea esi,[rcx+0x1]
  0x48, 0x89, 0xd9,                               // mov rcx,rbx
  0x48, 0xc1, 0xe1, 0x20,                         // shl rcx,0x20
  0x83, 0xc0, 0x02,                               // add eax,0x2
  0x80, 0xc9, 0xff,                               // or cl,0xff
  0x49, 0x89, 0x0c, 0xf2,                         // mov qword [r10+rsi*8],rcx
  0x49, 0xc7, 0x04, 0xc2, 0x00, 0x00, 0x00, 0x00,  // mov qword [r10+rax*8],0x0
  0xe9, 0xf4, 0xfb, 0xff, 0xff,                   // jmp batch+0x323
  0xc1, 0xf8, 0x02,                               // sar eax,0x2
  0x41, 0x8b, 0x6d, 0x38,                         // mov ebp,dword [r13+0x38]
  0x48, 0x63, 0xd0,                               // movsxd rdx,eax
  0x41, 0x8b, 0x44, 0x91, 0x04,                   // mov eax,dword [r9+rdx*4+0x4]
  0x41, 0x8b, 0x14, 0x91,                         // mov edx,dword [r9+rdx*4]
  0x48, 0xc1, 0xe0, 0x20,                         // shl rax,0x20
  0x48, 0x09, 0xd0,                               // or rax,rdx
  0x85, 0xed,                                     // test ebp,ebp
  0x0f, 0x84, 0xb5, 0x00, 0x00, 0x00,             // je batch+0x806
  0xa8, 0x01,                                     // test al,0x1
  0x0f, 0x84, 0xdb, 0xfb, 0xff, 0xff,             // je batch+0x334
  0x48, 0x83, 0xc0, 0x01,                         // add rax,0x1
  0x49, 0x89, 0xc1,                               // mov r9,rax
  0x0f, 0x84, 0xce, 0xfb, 0xff, 0xff,             // je batch+0x334
  0x49, 0x8b, 0x8e, 0x80, 0x00, 0x00, 0x00,       // mov rcx,qword [r14+0x80]
  0x49, 0x8b, 0x56, 0x78,                         // mov rdx,qword [r14+0x78]
  0x8b, 0x41, 0x08,                               // mov eax,dword [rcx+0x8]
  0x8d, 0x70, 0x01,                               // lea esi,[rax+0x1]
  0x8d, 0x04, 0x40,                               // lea eax,[rax+rax*2]
  0x89, 0x71, 0x08,                               // mov dword [rcx+0x8],esi
  0x48, 0x89, 0xc1,                               // mov rcx,rax
  0x4c, 0x89, 0x0c, 0xc2,                         // mov qword [rdx+rax*8],r9
  0xe9, 0xa6, 0x00, 0x00, 0x00,                   // jmp batch+0x82f
  0x8b, 0x3c, 0x24,                               // mov edi,dword [rsp]
  0x31, 0xd2,                                     // xor edx,edx
  0x39, 0xfd,                                     // cmp ebp,edi
  0x72, 0x21,                                     // jb batch+0x7b3
  0x48, 0x8b, 0x4c, 0x24, 0x10,                   // mov rcx,qword [rsp+0x10]
  0x8b, 0x74, 0x24, 0x08,                         // mov esi,dword [rsp+0x8]
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x41, 0xba, 0x01, 0x00, 0x00, 0x00,             // mov r10d,0x1
  0x66, 0x44, 0x89, 0x14, 0x51,                   // mov word [rcx+rdx*2],r10w
  0x48, 0x83, 0xc2, 0x01,                         // add rdx,0x1
  0x39, 0xf2,                                     // cmp edx,esi
  0x72, 0xed,                                     // jb batch+0x7a0
  0x39, 0x44, 0x24, 0x08,                         // cmp dword [rsp+0x8],eax
  0x73, 0x30,                                     // jae batch+0x7e9
  0x8b, 0x4c, 0x24, 0x08,                         // mov ecx,dword [rsp+0x8]
  0x83, 0xe8, 0x01,                               // sub eax,0x1
  0x48, 0x8b, 0x5c, 0x24, 0x10,                   // mov rbx,qword [rsp+0x10]
  0x29, 0xc8,                                     // sub eax,ecx
  0x48, 0x8d, 0x14, 0x4b,                         // lea rdx,[rbx+rcx*2]
  0x48, 0x01, 0xc8,                               // add rax,rcx
  0x48, 0x8d, 0x44, 0x43, 0x02,                   // lea rax,[rbx+rax*2+0x2]
  0x0f, 0x1f, 0x44, 0x00, 0x00,                   // nop dword [rax+rax*1+0x0]
  0x45, 0x31, 0xc9,                               // xor r9d,r9d
  0x48, 0x83, 0xc2, 0x02,                         // add rdx,0x2
  0x66, 0x44, 0x89, 0x4a, 0xfe,                   // mov word [rdx-0x2],r9w
  0x48, 0x39, 0xd0,                               // cmp rax,rdx
  0x75, 0xef,                                     // jne batch+0x7d8
  0x49, 0x83, 0xc6, 0x01,                         // add r14,0x1
  0x4d, 0x3b, 0x75, 0x20,                         // cmp r14,qword [r13+0x20]
  0x0f, 0x82, 0x99, 0xfc, 0xff, 0xff,             // jb batch+0x490
  0xe9, 0x77, 0xfb, 0xff, 0xff,                   // jmp batch+0x373
  0xb8, 0x03, 0x00, 0x00, 0x00,                   // mov eax,0x3
  0xe9, 0x4a, 0xfb, 0xff, 0xff,                   // jmp batch+0x350
  0x48, 0x85, 0xc0,                               // test rax,rax
  0x0f, 0x84, 0x25, 0xfb, 0xff, 0xff,             // je batch+0x334
  0x49, 0x8b, 0xb6, 0x80, 0x00, 0x00, 0x00,       // mov rsi,qword [r14+0x80]
  0x49, 0x8b, 0x56, 0x78,                         // mov rdx,qword [r14+0x78]
  0x8b, 0x4e, 0x08,                               // mov ecx,dword [rsi+0x8]
  0x44, 0x8d, 0x49, 0x01,                         // lea r9d,[rcx+0x1]
  0x44, 0x89, 0x4e, 0x08,                         // mov dword [rsi+0x8],r9d
  0x8d, 0x34, 0x49,                               // lea esi,[rcx+rcx*2]
  0x48, 0x89, 0x04, 0xf2,                         // mov qword [rdx+rsi*8],rax
  0x48, 0x89, 0xf1,                               // mov rcx,rsi
  0x48, 0x89, 0xd8,                               // mov rax,rbx
  0x8d, 0x71, 0x01,                               // lea esi,[rcx+0x1]
  0x48, 0xc1, 0xe0, 0x20,                         // shl rax,0x20
  0x48, 0x83, 0xc8, 0x08,                         // or rax,0x8
  0x48, 0x89, 0x04, 0xf2,                         // mov qword [rdx+rsi*8],rax
  0x8d, 0x41, 0x02,                               // lea eax,[rcx+0x2]
  0x48, 0xc7, 0x04, 0xc2, 0x00, 0x00, 0x00, 0x00,  // mov qword [rdx+rax*8],0x0
  0xe9, 0xe3, 0xfa, 0xff, 0xff,                   // jmp batch+0x334
  0x8b, 0x44, 0x24, 0x08,                         // mov eax,dword [rsp+0x8]
  0x4c, 0x8b, 0x7c, 0x24, 0x38,                   // mov r15,qword [rsp+0x38]
  0x4c, 0x8b, 0x74, 0x24, 0x18,                   // mov r14,qword [rsp+0x18]
  0x44, 0x8b, 0x4c, 0x24, 0x48,                   // mov r9d,dword [rsp+0x48]
  0x29, 0xe8,                                     // sub eax,ebp
  0x41, 0x39, 0xc3,                               // cmp r11d,eax
  0x0f, 0x85, 0x41, 0xfe, 0xff, 0xff,             // jne batch+0x6b0
  0x41, 0x8b, 0x47, 0x14,                         // mov eax,dword [r15+0x14]
  0x48, 0x8b, 0x7c, 0x24, 0x28,                   // mov rdi,qword [rsp+0x28]
  0x41, 0x8b, 0x57, 0x10,                         // mov edx,dword [r15+0x10]
  0x48, 0x29, 0xc7,                               // sub rdi,rax
  0x41, 0x8d, 0x04, 0x11,                         // lea eax,[r9+rdx*1]
  0x4c, 0x89, 0x54, 0x24, 0x70,                   // mov qword [rsp+0x70],r10
  0x89, 0x44, 0x24, 0x58,                         // mov dword [rsp+0x58],eax
  0x48, 0xc7, 0x44, 0x24, 0x38, 0x00, 0x00, 0x00, 0x00,  // mov qword [rsp+0x38],0x0
  0xc7, 0x44, 0x24, 0x28, 0x00, 0x00, 0x00, 0x00,  // mov dword [rsp+0x28],0x0
  0x48, 0xc7, 0x44, 0x24, 0x18, 0x00, 0x00, 0x00, 0x00,  // mov qword [rsp+0x18],0x0
  0x4c, 0x89, 0x64, 0x24, 0x78,                   // mov qword [rsp+0x78],r12
  0x4c, 0x89, 0x74, 0x24, 0x60,                   // mov qword [rsp+0x60],r14
  0x49, 0x89, 0xfe,                               // mov r14,rdi
  0x48, 0x8b, 0x7c, 0x24, 0x10,                   // mov rdi,qword [rsp+0x10]
  0x48, 0x8b, 0x44, 0x24, 0x38,                   // mov rax,qword [rsp+0x38]
  0x66, 0x83, 0x3c, 0x47, 0x01,                   // cmp word [rdi+rax*2],0x1
  0x0f, 0x84, 0x8b, 0x02, 0x00, 0x00,             // je batch+0xb53
  0x48, 0x8b, 0x7c, 0x24, 0x40,                   // mov rdi,qword [rsp+0x40]
  0x8b, 0x54, 0x24, 0x58,                         // mov edx,dword [rsp+0x58]
  0x8b, 0x3f,                                     // mov edi,dword [rdi]
  0xc1, 0xea, 0x02,                               // shr edx,0x2
  0x89, 0x7c, 0x24, 0x6c,                         // mov dword [rsp+0x6c],edi
  0x41, 0x8b, 0x7f, 0x18,                         // mov edi,dword [r15+0x18]
  0x85, 0xff,                                     // test edi,edi
  0x0f, 0x84, 0xb1, 0x03, 0x00, 0x00,             // je batch+0xc97
  0x89, 0x44, 0x24, 0x50,                         // mov dword [rsp+0x50],eax
  0x4c, 0x8b, 0x54, 0x24, 0x70,                   // mov r10,qword [rsp+0x70]
  0x4c, 0x89, 0xef,                               // mov rdi,r13
  0x45, 0x31, 0xc9,                               // xor r9d,r9d
  0xc7, 0x44, 0x24, 0x48, 0x00, 0x00, 0x00, 0x00,  // mov dword [rsp+0x48],0x0
  0x49, 0x89, 0xd5,                               // mov r13,rdx
  0x41, 0x8d, 0x41, 0x07,                         // lea eax,[r9+0x7]
  0x41, 0x8b, 0x2c, 0x87,                         // mov ebp,dword [r15+rax*4]
  0x48, 0x8d, 0x45, 0x0f,                         // lea rax,[rbp+0xf]
  0x4c, 0x39, 0xf0,                               // cmp rax,r14
  0x0f, 0x8d, 0x82, 0x02, 0x00, 0x00,             // jge batch+0xb97
  0x48, 0x89, 0xe8,                               // mov rax,rbp
  0x48, 0xc1, 0xf8, 0x02,                         // sar rax,0x2
  0x4c, 0x01, 0xe8,                               // add rax,r13
  0x4d, 0x8d, 0x1c, 0x82,                         // lea r11,[r10+rax*4]
  0x41, 0x8b, 0x13,                               // mov edx,dword [r11]
  0x41, 0x8b, 0x4b, 0x04,                         // mov ecx,dword [r11+0x4]
  0x85, 0xd2,                                     // test edx,edx
  0x0f, 0x84, 0x57, 0x02, 0x00, 0x00,             // je batch+0xb89
  0x41, 0x8b, 0x77, 0x28,                         // mov esi,dword [r15+0x28]
  0x85, 0xf6,                                     // test esi,esi
  0x0f, 0x84, 0xb2, 0x02, 0x00, 0x00,             // je batch+0xbf0
  0x66, 0x85, 0xc9,                               // test cx,cx
  0x0f, 0x95, 0xc0,                               // setne al
  0x84, 0xc0,                                     // test al,al
  0x0f, 0x85, 0x3d, 0x02, 0x00, 0x00,             // jne batch+0xb89
  0x81, 0xfa, 0xff, 0xff, 0x00, 0x00,             // cmp edx,0xffff
  0x76, 0x24,                                     // jbe batch+0x978
  0x89, 0xd0,                                     // mov eax,edx
  0x83, 0xe0, 0x07,                               // and eax,0x7
  0x09, 0xc8,                                     // or eax,ecx
  0x75, 0x1b,                                     // jne batch+0x978
  0x41, 0x8b, 0x4f, 0x2c,                         // mov ecx,dword [r15+0x2c]
  0x85, 0xc9,                                     // test ecx,ecx
  0x74, 0x04,                                     // je batch+0x969
  0x85, 0xd2,                                     // test edx,edx
  0x78, 0x0f,                                     // js batch+0x978
  0x89, 0xd6,                                     // mov esi,edx
  0xe8, 0x00, 0xf6, 0xff, 0xff,                   // call readable
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x85, 0x11, 0x02, 0x00, 0x00,             // jne batch+0xb89
  0x41, 0x8b, 0x43, 0x08,                         // mov eax,dword [r11+0x8]
  0x4d, 0x8b, 0x63, 0x08,                         // mov r12,qword [r11+0x8]
  0x41, 0x8b, 0x4b, 0x0c,                         // mov ecx,dword [r11+0xc]
  0xa8, 0x07,                                     // test al,0x7
  0x0f, 0x85, 0xfd, 0x01, 0x00, 0x00,             // jne batch+0xb89
  0x81, 0xf9, 0xff, 0x7f, 0x00, 0x00,             // cmp ecx,0x7fff
  0x0f, 0x87, 0xf1, 0x01, 0x00, 0x00,             // ja batch+0xb89
  0x85, 0xc9,                                     // test ecx,ecx
  0x75, 0x0b,                                     // jne batch+0x9a7
  0x3d, 0xff, 0x0f, 0x00, 0x00,                   // cmp eax,0xfff
  0x0f, 0x86, 0xe2, 0x01, 0x00, 0x00,             // jbe batch+0xb89
  0x48, 0x8b, 0x5c, 0x24, 0x18,                   // mov rbx,qword [rsp+0x18]
  0x48, 0x8b, 0x57, 0x30,                         // mov rdx,qword [rdi+0x30]
  0x49, 0x39, 0xdc,                               // cmp r12,rbx
  0x0f, 0x85, 0x41, 0x02, 0x00, 0x00,             // jne batch+0xbfa
  0x8b, 0x4c, 0x24, 0x28,                         // mov ecx,dword [rsp+0x28]
  0x4c, 0x8d, 0x04, 0xca,                         // lea r8,[rdx+rcx*8]
  0x48, 0x89, 0xcb,                               // mov rbx,rcx
  0x49, 0x8b, 0x00,                               // mov rax,qword [r8]
  0x48, 0x85, 0xc0,                               // test rax,rax
  0x0f, 0x84, 0x84, 0x02, 0x00, 0x00,             // je batch+0xc54
  0x48, 0x8b, 0x47, 0x38,                         // mov rax,qword [rdi+0x38]
  0x8b, 0x14, 0x88,                               // mov edx,dword [rax+rcx*4]
  0x83, 0xfa, 0xfe,                               // cmp edx,0xfffffffe
  0x0f, 0x84, 0x86, 0x02, 0x00, 0x00,             // je batch+0xc66
  0x85, 0xd2,                                     // test edx,edx
  0x0f, 0x88, 0x98, 0x01, 0x00, 0x00,             // js batch+0xb80
  0x48, 0x63, 0xc2,                               // movsxd rax,edx
  0x48, 0xc1, 0xe0, 0x06,                         // shl rax,0x6
  0x48, 0x03, 0x47, 0x40,                         // add rax,qword [rdi+0x40]
  0x48, 0x63, 0x08,                               // movsxd rcx,dword [rax]
  0x48, 0x39, 0xcd,                               // cmp rbp,rcx
  0x0f, 0x85, 0x81, 0x01, 0x00, 0x00,             // jne batch+0xb80
  0x48, 0x63, 0x48, 0x04,                         // movsxd rcx,dword [rax+0x4]
  0x48, 0x01, 0xe9,                               // add rcx,rbp
  0x4c, 0x39, 0xf1,                               // cmp rcx,r14
  0x0f, 0x8f, 0x71, 0x01, 0x00, 0x00,             // jg batch+0xb80
  0x8b, 0x48, 0x08,                               // mov ecx,dword [rax+0x8]
  0x85, 0xc9,                                     // test ecx,ecx
  0x74, 0x29,                                     // je batch+0xa3f
  0x48, 0x63, 0x70, 0x0c,                         // movsxd rsi,dword [rax+0xc]
  0x48, 0x01, 0xee,                               // add rsi,rbp
  0x4c, 0x39, 0xf6,                               // cmp rsi,r14
  0x7e, 0x1d,                                     // jle batch+0xa3f
  0x89, 0xce,                                     // mov esi,ecx
  0x83, 0xe1, 0x03,                               // and ecx,0x3
  0xc1, 0xfe, 0x02,                               // sar esi,0x2
  0xc1, 0xe1, 0x03,                               // shl ecx,0x3
  0x48, 0x63, 0xf6,                               // movsxd rsi,esi
  0x41, 0x8b, 0x34, 0xb3,                         // mov esi,dword [r11+rsi*4]
  0xd3, 0xee,                                     // shr esi,cl
  0x40, 0x84, 0xf6,                               // test sil,sil
  0x0f, 0x85, 0x41, 0x01, 0x00, 0x00,             // jne batch+0xb80
  0x49, 0x89, 0xc2,                               // mov r10,rax
  0x44, 0x8b, 0x44, 0x24, 0x6c,                   // mov r8d,dword [rsp+0x6c]
  0x8b, 0x44, 0x24, 0x50,                         // mov eax,dword [rsp+0x50]
  0x89, 0x54, 0x24, 0x18,                         // mov dword [rsp+0x18],edx
  0x49, 0x89, 0xfd,                               // mov r13,rdi
  0x45, 0x31, 0xc9,                               // xor r9d,r9d
  0x41, 0x01, 0xc0,                               // add r8d,eax
  0x4c, 0x89, 0xc0,                               // mov rax,r8
  0x48, 0xc1, 0xe0, 0x20,                         // shl rax,0x20
  0x48, 0x89, 0x44, 0x24, 0x48,                   // mov qword [rsp+0x48],rax
  0x41, 0x8b, 0x42, 0x18,                         // mov eax,dword [r10+0x18]
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x8e, 0xa0, 0x00, 0x00, 0x00,             // jle batch+0xb10
  0x44, 0x89, 0x44, 0x24, 0x6c,                   // mov dword [rsp+0x6c],r8d
  0x43, 0x8b, 0x7c, 0xca, 0x20,                   // mov edi,dword [r10+r9*8+0x20]
  0x43, 0x8b, 0x54, 0xca, 0x1c,                   // mov edx,dword [r10+r9*8+0x1c]
  0x31, 0xc0,                                     // xor eax,eax
  0x83, 0xff, 0x09,                               // cmp edi,0x9
  0x75, 0x19,                                     // jne batch+0xa9f
  0x8d, 0x4a, 0x08,                               // lea ecx,[rdx+0x8]
  0xc1, 0xf9, 0x02,                               // sar ecx,0x2
  0x48, 0x63, 0xc9,                               // movsxd rcx,ecx
  0x41, 0x8b, 0x44, 0x8b, 0x04,                   // mov eax,dword [r11+rcx*4+0x4]
  0x41, 0x8b, 0x0c, 0x8b,                         // mov ecx,dword [r11+rcx*4]
  0x48, 0xc1, 0xe0, 0x20,                         // shl rax,0x20
  0x48, 0x09, 0xc8,                               // or rax,rcx
  0xc1, 0xfa, 0x02,                               // sar edx,0x2
  0x48, 0x63, 0xd2,                               // movsxd rdx,edx
  0x41, 0x8b, 0x4c, 0x93, 0x04,                   // mov ecx,dword [r11+rdx*4+0x4]
  0x41, 0x8b, 0x14, 0x93,                         // mov edx,dword [r11+rdx*4]
  0x48, 0xc1, 0xe1, 0x20,                         // shl rcx,0x20
  0x48, 0x09, 0xd1,                               // or rcx,rdx
  0x48, 0x89, 0x4c, 0x24, 0x28,                   // mov qword [rsp+0x28],rcx
  0x74, 0x41,                                     // je batch+0xafd
  0x49, 0x8b, 0xb5, 0x80, 0x00, 0x00, 0x00,       // mov rsi,qword [r13+0x80]
  0x4d, 0x8b, 0x85, 0x80, 0x00, 0x00, 0x00,       // mov r8,qword [r13+0x80]
  0x49, 0x8b, 0x55, 0x78,                         // mov rdx,qword [r13+0x78]
  0x8b, 0x4e, 0x08,                               // mov ecx,dword [rsi+0x8]
  0x8d, 0x71, 0x01,                               // lea esi,[rcx+0x1]
  0x41, 0x89, 0x70, 0x08,                         // mov dword [r8+0x8],esi
  0x4c, 0x8b, 0x44, 0x24, 0x28,                   // mov r8,qword [rsp+0x28]
  0x8d, 0x34, 0x49,                               // lea esi,[rcx+rcx*2]
  0x48, 0x89, 0xf1,                               // mov rcx,rsi
  0x4c, 0x89, 0x04, 0xf2,                         // mov qword [rdx+rsi*8],r8
  0x4c, 0x8b, 0x44, 0x24, 0x48,                   // mov r8,qword [rsp+0x48]
  0x8d, 0x76, 0x01,                               // lea esi,[rsi+0x1]
  0x83, 0xc1, 0x02,                               // add ecx,0x2
  0x4c, 0x09, 0xc7,                               // or rdi,r8
  0x48, 0x89, 0x3c, 0xf2,                         // mov qword [rdx+rsi*8],rdi
  0x48, 0x89, 0x04, 0xca,                         // mov qword [rdx+rcx*8],rax
  0x49, 0x83, 0xc1, 0x01,                         // add r9,0x1
  0x45, 0x39, 0x4a, 0x18,                         // cmp dword [r10+0x18],r9d
  0x0f, 0x8f, 0x6a, 0xff, 0xff, 0xff,             // jg batch+0xa75
  0x44, 0x8b, 0x44, 0x24, 0x6c,                   // mov r8d,dword [rsp+0x6c]
  0x41, 0x8b, 0x42, 0x10,                         // mov eax,dword [r10+0x10]
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x85, 0xc4, 0x01, 0x00, 0x00,             // jne batch+0xce0
  0x41, 0x8b, 0x42, 0x14,                         // mov eax,dword [r10+0x14]
  0x48, 0x83, 0xfd, 0x1f,                         // cmp rbp,0x1f
  0x7e, 0x08,                                     // jle batch+0xb2e
  0x85, 0xc0,                                     // test eax,eax
  0x0f, 0x85, 0xfe, 0x01, 0x00, 0x00,             // jne batch+0xd2c
  0x8b, 0x44, 0x24, 0x18,                         // mov eax,dword [rsp+0x18]
  0x48, 0x8b, 0x7c, 0x24, 0x10,                   // mov rdi,qword [rsp+0x10]
  0x89, 0x5c, 0x24, 0x28,                         // mov dword [rsp+0x28],ebx
  0x48, 0x8b, 0x4c, 0x24, 0x38,                   // mov rcx,qword [rsp+0x38]
  0x4c, 0x89, 0x64, 0x24, 0x18,                   // mov qword [rsp+0x18],r12
  0x83, 0xc0, 0x0f,                               // add eax,0xf
  0x66, 0x89, 0x04, 0x4f,                         // mov word [rdi+rcx*2],ax
  0x3d, 0xff, 0xff, 0x00, 0x00,                   // cmp eax,0xffff
  0x74, 0x66,                                     // je batch+0xbb9
  0x48, 0x83, 0x44, 0x24, 0x38, 0x01,             // add qword [rsp+0x38],0x1
  0x8b, 0x7c, 0x24, 0x08,                         // mov edi,dword [rsp+0x8]
  0x48, 0x8b, 0x44, 0x24, 0x38,                   // mov rax,qword [rsp+0x38]
  0x8b, 0x1c, 0x24,                               // mov ebx,dword [rsp]
  0x01, 0x5c, 0x24, 0x58,                         // add dword [rsp+0x58],ebx
  0x39, 0xf8,                                     // cmp eax,edi
  0x0f, 0x82, 0x42, 0xfd, 0xff, 0xff,             // jb batch+0x8b3
  0x4c, 0x8b, 0x74, 0x24, 0x60,                   // mov r14,qword [rsp+0x60]
  0x4c, 0x8b, 0x64, 0x24, 0x78,                   // mov r12,qword [rsp+0x78]
  0xe9, 0x69, 0xfc, 0xff, 0xff,                   // jmp batch+0x7e9
  0x89, 0x5c, 0x24, 0x28,                         // mov dword [rsp+0x28],ebx
  0x4c, 0x89, 0x64, 0x24, 0x18,                   // mov qword [rsp+0x18],r12
  0x41, 0x83, 0xc1, 0x01,                         // add r9d,0x1
  0x45, 0x3b, 0x4f, 0x18,                         // cmp r9d,dword [r15+0x18]
  0x0f, 0x82, 0x69, 0xfd, 0xff, 0xff,             // jb batch+0x900
  0x8b, 0x74, 0x24, 0x48,                         // mov esi,dword [rsp+0x48]
  0x49, 0x89, 0xfd,                               // mov r13,rdi
  0x85, 0xf6,                                     // test esi,esi
  0x0f, 0x84, 0xf1, 0x00, 0x00, 0x00,             // je batch+0xc97
  0x48, 0x8b, 0x44, 0x24, 0x10,                   // mov rax,qword [rsp+0x10]
  0x48, 0x8b, 0x7c, 0x24, 0x38,                   // mov rdi,qword [rsp+0x38]
  0xb9, 0xff, 0xff, 0xff, 0xff,                   // mov ecx,0xffffffff
  0x66, 0x89, 0x0c, 0x78,                         // mov word [rax+rdi*2],cx
  0x49, 0x8b, 0x95, 0x80, 0x00, 0x00, 0x00,       // mov rdx,qword [r13+0x80]
  0x8b, 0x7c, 0x24, 0x60,                         // mov edi,dword [rsp+0x60]
  0x8b, 0x02,                                     // mov eax,dword [rdx]
  0x8d, 0x48, 0x01,                               // lea ecx,[rax+0x1]
  0x89, 0x0a,                                     // mov dword [rdx],ecx
  0x49, 0x8b, 0x55, 0x68,                         // mov rdx,qword [r13+0x68]
  0x8d, 0x0c, 0x00,                               // lea ecx,[rax+rax*1]
  0x48, 0x89, 0xc8,                               // mov rax,rcx
  0x89, 0x3c, 0x8a,                               // mov dword [rdx+rcx*4],edi
  0x8b, 0x7c, 0x24, 0x50,                         // mov edi,dword [rsp+0x50]
  0x83, 0xc0, 0x01,                               // add eax,0x1
  0x89, 0x3c, 0x82,                               // mov dword [rdx+rax*4],edi
  0xe9, 0x6c, 0xff, 0xff, 0xff,                   // jmp batch+0xb53
  0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop word [rax+rax*1+0x0]
  0x85, 0xc9,                                     // test ecx,ecx
  0x0f, 0x95, 0xc0,                               // setne al
  0xe9, 0x4a, 0xfd, 0xff, 0xff,                   // jmp batch+0x944
  0x41, 0x89, 0xc0,                               // mov r8d,eax
  0x31, 0xc8,                                     // xor eax,ecx
  0x41, 0x8b, 0x4f, 0x34,                         // mov ecx,dword [r15+0x34]
  0x41, 0x8b, 0x77, 0x30,                         // mov esi,dword [r15+0x30]
  0x41, 0xc1, 0xe8, 0x10,                         // shr r8d,0x10
  0x44, 0x89, 0xc3,                               // mov ebx,r8d
  0x31, 0xc3,                                     // xor ebx,eax
  0x69, 0xdb, 0xb1, 0x79, 0x37, 0x9e,             // imul ebx,ebx,0x9e3779b1
  0xd3, 0xeb,                                     // shr ebx,cl
  0x89, 0xd9,                                     // mov ecx,ebx
  0x4c, 0x8d, 0x04, 0xca,                         // lea r8,[rdx+rcx*8]
  0x49, 0x8b, 0x00,                               // mov rax,qword [r8]
  0x49, 0x39, 0xc4,                               // cmp r12,rax
  0x0f, 0x84, 0x9d, 0xfd, 0xff, 0xff,             // je batch+0x9c7
  0x48, 0x85, 0xc0,                               // test rax,rax
  0x75, 0x12,                                     // jne batch+0xc41
  0xeb, 0x23,                                     // jmp batch+0xc54
  0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,       // nop dword [rax+0x0]
  0x49, 0x39, 0xc4,                               // cmp r12,rax
  0x0f, 0x84, 0x86, 0xfd, 0xff, 0xff,             // je batch+0x9c7
  0x83, 0xc3, 0x01,                               // add ebx,0x1
  0x21, 0xf3,                                     // and ebx,esi
  0x89, 0xd9,                                     // mov ecx,ebx
  0x4c, 0x8d, 0x04, 0xca,                         // lea r8,[rdx+rcx*8]
  0x49, 0x8b, 0x00,                               // mov rax,qword [r8]
  0x48, 0x85, 0xc0,                               // test rax,rax
  0x75, 0xe4,                                     // jne batch+0xc38
  0x48, 0x8b, 0x87, 0x80, 0x00, 0x00, 0x00,       // mov rax,qword [rdi+0x80]
  0x8b, 0x50, 0x14,                               // mov edx,dword [rax+0x14]
  0x85, 0xd2,                                     // test edx,edx
  0x74, 0x11,                                     // je batch+0xc73
  0x83, 0x40, 0x04, 0x01,                         // add dword [rax+0x4],0x1
  0xc7, 0x44, 0x24, 0x48, 0x01, 0x00, 0x00, 0x00,  // mov dword [rsp+0x48],0x1
  0xe9, 0x16, 0xff, 0xff, 0xff,                   // jmp batch+0xb89
  0x48, 0x8b, 0x57, 0x38,                         // mov rdx,qword [rdi+0x38]
  0x4d, 0x89, 0x20,                               // mov qword [r8],r12
  0xc7, 0x04, 0x8a, 0xfe, 0xff, 0xff, 0xff,       // mov dword [rdx+rcx*4],0xfffffffe
  0x8b, 0x50, 0x04,                               // mov edx,dword [rax+0x4]
  0x48, 0x8b, 0x4f, 0x70,                         // mov rcx,qword [rdi+0x70]
  0x8d, 0x72, 0x01,                               // lea esi,[rdx+0x1]
  0x89, 0x70, 0x04,                               // mov dword [rax+0x4],esi
  0x89, 0x1c, 0x91,                               // mov dword [rcx+rdx*4],ebx
  0x83, 0x40, 0x10, 0x01,                         // add dword [rax+0x10],0x1
  0xeb, 0xcf,                                     // jmp batch+0xc66
  0x48, 0x8b, 0x44, 0x24, 0x10,                   // mov rax,qword [rsp+0x10]
  0x48, 0x8b, 0x7c, 0x24, 0x38,                   // mov rdi,qword [rsp+0x38]
  0xba, 0x03, 0x00, 0x00, 0x00,                   // mov edx,0x3
  0x66, 0x89, 0x14, 0x78,                         // mov word [rax+rdi*2],dx
  0xe9, 0xa4, 0xfe, 0xff, 0xff,                   // jmp batch+0xb53
  0x8b, 0x44, 0x24, 0x08,                         // mov eax,dword [rsp+0x8]
  0x41, 0x39, 0xc3,                               // cmp r11d,eax
  0x0f, 0x85, 0xf4, 0xf9, 0xff, 0xff,             // jne batch+0x6b0
  0x8b, 0x04, 0x24,                               // mov eax,dword [rsp]
  0x39, 0xc5,                                     // cmp ebp,eax
  0x0f, 0x82, 0x22, 0xfb, 0xff, 0xff,             // jb batch+0x7e9
  0x41, 0x8b, 0x4f, 0x14,                         // mov ecx,dword [r15+0x14]
  0x41, 0x8b, 0x57, 0x10,                         // mov edx,dword [r15+0x10]
  0x48, 0x29, 0xc8,                               // sub rax,rcx
  0x48, 0x89, 0xc7,                               // mov rdi,rax
  0xe9, 0xa5, 0xfb, 0xff, 0xff,                   // jmp batch+0x87f
  0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,             // nop word [rax+rax*1+0x0]
  0xc1, 0xf8, 0x02,                               // sar eax,0x2
  0x48, 0x98,                                     // cdqe
  0x41, 0x8b, 0x54, 0x83, 0x04,                   // mov edx,dword [r11+rax*4+0x4]
  0x41, 0x8b, 0x04, 0x83,                         // mov eax,dword [r11+rax*4]
  0x48, 0xc1, 0xe2, 0x20,                         // shl rdx,0x20
  0x48, 0x09, 0xc2,                               // or rdx,rax
  0x0f, 0x84, 0x21, 0xfe, 0xff, 0xff,             // je batch+0xb1c
  0x49, 0x8b, 0xb5, 0x80, 0x00, 0x00, 0x00,       // mov rsi,qword [r13+0x80]
  0x49, 0x8b, 0x7d, 0x78,                         // mov rdi,qword [r13+0x78]
  0x45, 0x31, 0xc9,                               // xor r9d,r9d
  0xb9, 0xff, 0x00, 0x00, 0x00,                   // mov ecx,0xff
  0x4c, 0x89, 0x54, 0x24, 0x48,                   // mov qword [rsp+0x48],r10
  0x44, 0x89, 0x44, 0x24, 0x28,                   // mov dword [rsp+0x28],r8d
  0xe8, 0xa3, 0xf2, 0xff, 0xff,                   // call ref.part.0.isra.0
  0x4c, 0x8b, 0x54, 0x24, 0x48,                   // mov r10,qword [rsp+0x48]
  0x44, 0x8b, 0x44, 0x24, 0x28,                   // mov r8d,dword [rsp+0x28]
  0xe9, 0xf0, 0xfd, 0xff, 0xff,                   // jmp batch+0xb1c
  0xc1, 0xf8, 0x02,                               // sar eax,0x2
  0x41, 0x8b, 0x7f, 0x38,                         // mov edi,dword [r15+0x38]
  0x48, 0x98,                                     // cdqe
  0x41, 0x8b, 0x54, 0x83, 0x04,                   // mov edx,dword [r11+rax*4+0x4]
  0x41, 0x8b, 0x04, 0x83,                         // mov eax,dword [r11+rax*4]
  0x48, 0xc1, 0xe2, 0x20,                         // shl rdx,0x20
  0x48, 0x09, 0xc2,                               // or rdx,rax
  0x85, 0xff,                                     // test edi,edi
  0x74, 0x30,                                     // je batch+0xd79
  0xf6, 0xc2, 0x01,                               // test dl,0x1
  0x0f, 0x84, 0xdc, 0xfd, 0xff, 0xff,             // je batch+0xb2e
  0x48, 0x83, 0xc2, 0x01,                         // add rdx,0x1
  0x0f, 0x84, 0xd2, 0xfd, 0xff, 0xff,             // je batch+0xb2e
  0x49, 0x8b, 0xb5, 0x80, 0x00, 0x00, 0x00,       // mov rsi,qword [r13+0x80]
  0x49, 0x8b, 0x7d, 0x78,                         // mov rdi,qword [r13+0x78]
  0x45, 0x31, 0xc9,                               // xor r9d,r9d
  0xb9, 0x08, 0x00, 0x00, 0x00,                   // mov ecx,0x8
  0xe8, 0x4c, 0xf2, 0xff, 0xff,                   // call ref.part.0.isra.0
  0xe9, 0xb5, 0xfd, 0xff, 0xff,                   // jmp batch+0xb2e
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x75, 0xde,                                     // jne batch+0xd5c
  0xe9, 0xab, 0xfd, 0xff, 0xff,                   // jmp batch+0xb2e
  0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // data16 cs nop word [rax+rax*1+0x0]
  0x66, 0x90,                                     // xchg ax,ax
  // classify_batch:
  0xe9, 0x6b, 0xf2, 0xff, 0xff,                   // jmp batch
  0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // data16 cs nop word [rax+rax*1+0x0]
  // count_kinds:
  0x48, 0x85, 0xd2,                               // test rdx,rdx
  0x0f, 0x84, 0x0d, 0x01, 0x00, 0x00,             // je count_kinds+0x116
  0x4d, 0x85, 0xc9,                               // test r9,r9
  0x0f, 0x84, 0x0a, 0x01, 0x00, 0x00,             // je count_kinds+0x11c
  0x41, 0x57,                                     // push r15
  0x49, 0x89, 0xcb,                               // mov r11,rcx
  0x41, 0xba, 0x01, 0x00, 0x00, 0x00,             // mov r10d,0x1
  0x41, 0x56,                                     // push r14
  0x4d, 0x8d, 0x70, 0x04,                         // lea r14,[r8+0x4]
  0x41, 0x55,                                     // push r13
  0x45, 0x31, 0xed,                               // xor r13d,r13d
  0x41, 0x54,                                     // push r12
  0x49, 0x89, 0xfc,                               // mov r12,rdi
  0x48, 0x89, 0xd7,                               // mov rdi,rdx
  0x55,                                           // push rbp
  0x53,                                           // push rbx
  0x48, 0x8d, 0x5e, 0x04,                         // lea rbx,[rsi+0x4]
  0x31, 0xf6,                                     // xor esi,esi
  0x48, 0x83, 0xec, 0x08,                         // sub rsp,0x8
  0x8b, 0x43, 0xfc,                               // mov eax,dword [rbx-0x4]
  0x3b, 0x03,                                     // cmp eax,dword [rbx]
  0x0f, 0x83, 0xc2, 0x00, 0x00, 0x00,             // jae count_kinds+0x109
  0x4c, 0x89, 0x2c, 0x24,                         // mov qword [rsp],r13
  0x45, 0x31, 0xff,                               // xor r15d,r15d
  0x66, 0x90,                                     // xchg ax,ax
  0x89, 0xc2,                                     // mov edx,eax
  0x41, 0x0f, 0xb7, 0x0c, 0x54,                   // movzx ecx,word [r12+rdx*2]
  0x49, 0x8d, 0x2c, 0x8b,                         // lea rbp,[r11+rcx*4]
  0x48, 0x89, 0xca,                               // mov rdx,rcx
  0x8b, 0x4d, 0x00,                               // mov ecx,dword [rbp+0x0]
  0x44, 0x8d, 0x69, 0x01,                         // lea r13d,[rcx+0x1]
  0x44, 0x89, 0x6d, 0x00,                         // mov dword [rbp+0x0],r13d
  0x85, 0xc9,                                     // test ecx,ecx
  0x75, 0x14,                                     // jne count_kinds+0x81
  0x49, 0x8d, 0x4a, 0x02,                         // lea rcx,[r10+0x2]
  0x49, 0x39, 0xc9,                               // cmp r9,rcx
  0x72, 0x7a,                                     // jb count_kinds+0xf0
  0x43, 0x89, 0x14, 0x90,                         // mov dword [r8+r10*4],edx
  0x49, 0x83, 0xc7, 0x01,                         // add r15,0x1
  0x49, 0x89, 0xca,                               // mov r10,rcx
  0x83, 0xc0, 0x01,                               // add eax,0x1
  0x3b, 0x03,                                     // cmp eax,dword [rbx]
  0x72, 0xc8,                                     // jb count_kinds+0x50
  0x45, 0x89, 0x3c, 0xb0,                         // mov dword [r8+rsi*4],r15d
  0x4c, 0x8b, 0x2c, 0x24,                         // mov r13,qword [rsp]
  0x48, 0x8d, 0x04, 0xb5, 0x00, 0x00, 0x00, 0x00,  // lea rax,[rsi*4+0x0]
  0x4d, 0x85, 0xff,                               // test r15,r15
  0x74, 0x2d,                                     // je count_kinds+0xca
  0x4a, 0x8d, 0x14, 0x7e,                         // lea rdx,[rsi+r15*2]
  0x49, 0x8d, 0x44, 0x00, 0x04,                   // lea rax,[r8+rax*1+0x4]
  0x49, 0x8d, 0x34, 0x96,                         // lea rsi,[r14+rdx*4]
  0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,             // nop word [rax+rax*1+0x0]
  0x8b, 0x10,                                     // mov edx,dword [rax]
  0x48, 0x83, 0xc0, 0x08,                         // add rax,0x8
  0x49, 0x8d, 0x14, 0x93,                         // lea rdx,[r11+rdx*4]
  0x8b, 0x0a,                                     // mov ecx,dword [rdx]
  0x89, 0x48, 0xfc,                               // mov dword [rax-0x4],ecx
  0xc7, 0x02, 0x00, 0x00, 0x00, 0x00,             // mov dword [rdx],0x0
  0x48, 0x39, 0xc6,                               // cmp rsi,rax
  0x75, 0xe6,                                     // jne count_kinds+0xb0
  0x4c, 0x89, 0xd6,                               // mov rsi,r10
  0x49, 0x83, 0xc5, 0x01,                         // add r13,0x1
  0x4c, 0x39, 0xef,                               // cmp rdi,r13
  0x74, 0x21,                                     // je count_kinds+0xf7
  0x49, 0x83, 0xc2, 0x01,                         // add r10,0x1
  0x48, 0x83, 0xc3, 0x04,                         // add rbx,0x4
  0x4d, 0x39, 0xd1,                               // cmp r9,r10
  0x0f, 0x83, 0x55, 0xff, 0xff, 0xff,             // jae count_kinds+0x3c
  0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // nop word [rax+rax*1+0x0]
  0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff,       // mov rsi,0xffffffffffffffff
  0x48, 0x83, 0xc4, 0x08,                         // add rsp,0x8
  0x48, 0x89, 0xf0,                               // mov rax,rsi
  0x5b,                                           // pop rbx
  0x5d,                                           // pop rbp
  0x41, 0x5c,                                     // pop r12
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5f,                                     // pop r15
  0xc3,                                           // ret
  0x41, 0xc7, 0x04, 0xb0, 0x00, 0x00, 0x00, 0x00,  // mov dword [r8+rsi*4],0x0
  0x4c, 0x89, 0xd6,                               // mov rsi,r10
  0xeb, 0xb7,                                     // jmp count_kinds+0xcd
  0x31, 0xf6,                                     // xor esi,esi
  0x48, 0x89, 0xf0,                               // mov rax,rsi
  0xc3,                                           // ret
  0x48, 0xc7, 0xc6, 0xff, 0xff, 0xff, 0xff,       // mov rsi,0xffffffffffffffff
  0xeb, 0xf3,                                     // jmp count_kinds+0x118
  0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // data16 cs nop word [rax+rax*1+0x0]
  // speculate:
  0x41, 0x57,                                     // push r15
  0x41, 0x56,                                     // push r14
  0x41, 0x55,                                     // push r13
  0x41, 0x54,                                     // push r12
  0x55,                                           // push rbp
  0x53,                                           // push rbx
  0x48, 0x83, 0xec, 0x18,                         // sub rsp,0x18
  0x4c, 0x8b, 0x37,                               // mov r14,qword [rdi]
  0x48, 0x83, 0x7f, 0x10, 0x00,                   // cmp qword [rdi+0x10],0x0
  0x49, 0x8b, 0x46, 0x78,                         // mov rax,qword [r14+0x78]
  0x48, 0x89, 0x44, 0x24, 0x10,                   // mov qword [rsp+0x10],rax
  0x0f, 0x84, 0x1a, 0x01, 0x00, 0x00,             // je speculate+0x13f
  0x4c, 0x8b, 0x47, 0x08,                         // mov r8,qword [rdi+0x8]
  0x4c, 0x8b, 0x6f, 0x48,                         // mov r13,qword [rdi+0x48]
  0x49, 0x89, 0xfc,                               // mov r12,rdi
  0x31, 0xed,                                     // xor ebp,ebp
  0x48, 0x8b, 0x5f, 0x18,                         // mov rbx,qword [rdi+0x18]
  0x45, 0x31, 0xff,                               // xor r15d,r15d
  0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,       // nop dword [rax+0x0]
  0x41, 0x8b, 0x14, 0xa8,                         // mov edx,dword [r8+rbp*4]
  0x48, 0x83, 0xc5, 0x01,                         // add rbp,0x1
  0x41, 0x8b, 0x04, 0xa8,                         // mov eax,dword [r8+rbp*4]
  0x4d, 0x8d, 0x4c, 0x95, 0x00,                   // lea r9,[r13+rdx*4+0x0]
  0x48, 0x89, 0xd7,                               // mov rdi,rdx
  0x48, 0x89, 0xc6,                               // mov rsi,rax
  0x41, 0x8b, 0x44, 0x85, 0x00,                   // mov eax,dword [r13+rax*4+0x0]
  0x41, 0x2b, 0x01,                               // sub eax,dword [r9]
  0x44, 0x89, 0x7b, 0x04,                         // mov dword [rbx+0x4],r15d
  0x48, 0x8d, 0x04, 0x80,                         // lea rax,[rax+rax*4]
  0xc7, 0x03, 0x00, 0x00, 0x00, 0x00,             // mov dword [rbx],0x0
  0xc7, 0x43, 0x08, 0x00, 0x00, 0x00, 0x00,       // mov dword [rbx+0x8],0x0
  0x4c, 0x01, 0xf8,                               // add rax,r15
  0x49, 0x39, 0x44, 0x24, 0x20,                   // cmp qword [r12+0x20],rax
  0x0f, 0x82, 0xae, 0x00, 0x00, 0x00,             // jb speculate+0x130
  0x4d, 0x8b, 0x54, 0x24, 0x30,                   // mov r10,qword [r12+0x30]
  0x48, 0x8d, 0x04, 0xd5, 0x00, 0x00, 0x00, 0x00,  // lea rax,[rdx*8+0x0]
  0x29, 0xfe,                                     // sub esi,edi
  0x48, 0x8b, 0x4c, 0x24, 0x10,                   // mov rcx,qword [rsp+0x10]
  0x49, 0x03, 0x54, 0x24, 0x40,                   // add rdx,qword [r12+0x40]
  0x4c, 0x89, 0xf7,                               // mov rdi,r14
  0x4c, 0x89, 0x44, 0x24, 0x08,                   // mov qword [rsp+0x8],r8
  0x49, 0x01, 0xc2,                               // add r10,rax
  0x49, 0x03, 0x44, 0x24, 0x38,                   // add rax,qword [r12+0x38]
  0x49, 0x89, 0x56, 0x10,                         // mov qword [r14+0x10],rdx
  0x31, 0xd2,                                     // xor edx,edx
  0x49, 0x89, 0x46, 0x08,                         // mov qword [r14+0x8],rax
  0x89, 0xf0,                                     // mov eax,esi
  0x49, 0x8b, 0x74, 0x24, 0x28,                   // mov rsi,qword [r12+0x28]
  0x49, 0x89, 0x46, 0x20,                         // mov qword [r14+0x20],rax
  0x4b, 0x8d, 0x04, 0x7f,                         // lea rax,[r15+r15*2]
  0x48, 0x8d, 0x04, 0xc1,                         // lea rax,[rcx+rax*8]
  0x4d, 0x89, 0x16,                               // mov qword [r14],r10
  0x49, 0x89, 0x46, 0x78,                         // mov qword [r14+0x78],rax
  0x49, 0x8b, 0x86, 0x80, 0x00, 0x00, 0x00,       // mov rax,qword [r14+0x80]
  0x4d, 0x89, 0x4e, 0x18,                         // mov qword [r14+0x18],r9
  0x49, 0xc7, 0x86, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // mov qword [r14+0x88],0x0
  0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x00,       // mov qword [rax],0x0
  0x48, 0xc7, 0x40, 0x08, 0x00, 0x00, 0x00, 0x00,  // mov qword [rax+0x8],0x0
  0x48, 0x89, 0x04, 0x24,                         // mov qword [rsp],rax
  0xe8, 0x33, 0xf0, 0xff, 0xff,                   // call batch
  0x48, 0x8b, 0x04, 0x24,                         // mov rax,qword [rsp]
  0x4c, 0x8b, 0x44, 0x24, 0x08,                   // mov r8,qword [rsp+0x8]
  0x8b, 0x30,                                     // mov esi,dword [rax]
  0x85, 0xf6,                                     // test esi,esi
  0x75, 0x24,                                     // jne speculate+0x130
  0x8b, 0x48, 0x04,                               // mov ecx,dword [rax+0x4]
  0x85, 0xc9,                                     // test ecx,ecx
  0x75, 0x1d,                                     // jne speculate+0x130
  0x8b, 0x50, 0x0c,                               // mov edx,dword [rax+0xc]
  0x85, 0xd2,                                     // test edx,edx
  0x75, 0x16,                                     // jne speculate+0x130
  0xc7, 0x03, 0x01, 0x00, 0x00, 0x00,             // mov dword [rbx],0x1
  0x8b, 0x40, 0x08,                               // mov eax,dword [rax+0x8]
  0x89, 0x43, 0x08,                               // mov dword [rbx+0x8],eax
  0x49, 0x01, 0xc7,                               // add r15,rax
  0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00,       // nop dword [rax+0x0]
  0x48, 0x83, 0xc3, 0x0c,                         // add rbx,0xc
  0x49, 0x3b, 0x6c, 0x24, 0x10,                   // cmp rbp,qword [r12+0x10]
  0x0f, 0x82, 0x01, 0xff, 0xff, 0xff,             // jb speculate+0x40
  0x48, 0x8b, 0x44, 0x24, 0x10,                   // mov rax,qword [rsp+0x10]
  0x49, 0x89, 0x46, 0x78,                         // mov qword [r14+0x78],rax
  0x48, 0x83, 0xc4, 0x18,                         // add rsp,0x18
  0x31, 0xc0,                                     // xor eax,eax
  0x5b,                                           // pop rbx
  0x5d,                                           // pop rbp
  0x41, 0x5c,                                     // pop r12
  0x41, 0x5d,                                     // pop r13
  0x41, 0x5e,                                     // pop r14
  0x41, 0x5f,                                     // pop r15
  0xc3,                                           // ret
]);

export const CLASSIFY_BATCH_OFFSET = 0xe20;
export const COUNT_KINDS_OFFSET = 0xe30;
export const SPECULATE_OFFSET = 0xf60;

/** What the native pass needs of the process it runs in: its runtime adapter and libc's allocation functions. */
export interface NativeAccess {
  backend: Backend;
  libc: Pick<LibcApi, "malloc" | "free" | "mmap" | "mprotect" | "munmap"> & ThreadApi;
}

/**
 * Fewest used pools for which an in-process classification shares its batches with a second thread (the pool
 * pass's default: below it, starting the thread and taking its results back cost about what they save). Tests lower
 * it to run the second thread on a small heap.
 */
export let parallelFrom = 24_576;
/** Tests: set {@link parallelFrom} (returns the previous value). */
export function setParallelFrom(n: number): number {
  const old = parallelFrom;
  parallelFrom = n;
  return old;
}

/** Per type id: i32 words of the record the native pass reads (tools/classify-pass.c, TYPE_WORDS). */
export const TYPE_WORDS = 16;
/** Most pointer fields per type the record holds. */
export const MAX_FIELDS = 4;
/** The first type kind the bytes were built with (tools/classify-pass.c FIRST_TYPE): the native pass runs only while it
 * is classify.ts's KIND.FIRST_TYPE, so a new buffer kind added there without rebuilding the code falls back to the
 * JavaScript pass instead of shifting every type. */
export const NATIVE_FIRST_TYPE = 15;

/** Parameter words (tools/classify-pass.c, P_*). */
export const P = {
  POOL_SIZE: 0,
  OVERHEAD: 1,
  CLASSES: 2,
  ALIGN: 3,
  DATA: 4,
  DEBUG: 5,
  NOFS: 6,
  OFS0: 7,
  FLAGS_IN_REFCNT: 10,
  IMMORTAL: 11,
  MASK: 12,
  SHIFT: 13,
  TAGGED: 14,
  ABSOLUTE: 15,
} as const;

type BatchFn = (job: bigint, kinds: Uint16Array, words: Uint8Array) => void;
/** The code's address (for the second thread's start routine). */
const codeOf = new WeakMap<Backend, bigint>();
type CountFn = (
  kinds: Uint16Array,
  poolBase: Uint32Array,
  npools: bigint,
  scratch: Uint32Array,
  out: Uint32Array,
  cap: bigint,
) => bigint;
const fnCache = new WeakMap<Backend, { batch: BatchFn; count: CountFn } | null>();

/** The compiled pass for `access`'s runtime, or null (not x86-64, or executable memory refused). */
function passFor(access: NativeAccess): { batch: BatchFn; count: CountFn } | null {
  if (!fnCache.has(access.backend)) {
    let f: { batch: BatchFn; count: CountFn } | null = null;
    try {
      if (hostArch() === "x64") {
        const backend = access.backend;
        const code = mapCode(
          { libc: access.libc, bytes: (a, n) => new Uint8Array(backend.view(a, n)) },
          CLASSIFY_X64,
        );
        codeOf.set(backend, code);
        const batch = backend.fn(code + BigInt(CLASSIFY_BATCH_OFFSET), generated.classifyBatch);
        const count = backend.fn(code + BigInt(COUNT_KINDS_OFFSET), generated.countKinds);
        f = {
          batch: (job, kinds, words) => void batch(job, kinds, words),
          count: (kinds, poolBase, npools, scratch, out, cap) =>
            BigInt(count(kinds, poolBase, npools, scratch, out, cap)),
        };
      }
    } catch {
      f = null;
    }
    fnCache.set(access.backend, f);
  }
  return fnCache.get(access.backend) ?? null;
}

/**
 * Per used pool, its blocks counted by kind (`n, (kind, count) x n` a pool, kinds in the order first met), by the
 * native code; null where there is none, or when the pairs would pass `cap` words.
 */
export type KindCounter = (
  kinds: Uint16Array,
  poolBase: Uint32Array,
  npools: number,
  nKinds: number,
) => Uint32Array | null;

/** The native kind counter for `access`'s runtime, or undefined. */
export function kindCounter(access: NativeAccess | undefined): KindCounter | undefined {
  const pass = access && passFor(access);
  if (!pass) return undefined;
  return (kinds, poolBase, npools, nKinds) => {
    const scratch = new Uint32Array(nKinds + 1);
    // Most pools hold a few kinds: room for 8 each, then 64; a heap past that is summed in JavaScript.
    for (const per of [8, 64]) {
      const cap = npools * (1 + 2 * per);
      const out = new Uint32Array(cap);
      const n = pass.count(kinds, poolBase, BigInt(npools), scratch, out, BigInt(cap));
      if (n !== 0xffff_ffff_ffff_ffffn) return out.subarray(0, Number(n));
      scratch.fill(0);
    }
    return null;
  };
}

/** One malloc'd region of the job, with views that are remade when it grows. */
class Region {
  ptr = 0n;
  size = 0;
  u8 = new Uint8Array(0);
  u32 = new Uint32Array(0);
  i32 = new Int32Array(0);
  readonly access: NativeAccess;
  constructor(access: NativeAccess) {
    this.access = access;
  }
  /** At least `bytes`; true when the region moved (its contents are lost). */
  need(bytes: number): boolean {
    if (bytes <= this.size) return false;
    this.free();
    const size = Math.max(bytes, 4096, this.size * 2);
    const p = this.access.libc.malloc(size);
    if (p === 0n) throw new Error(`malloc(${size}) failed`);
    this.ptr = p;
    this.size = size;
    const buf = this.access.backend.view(p, size);
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    return true;
  }
  free(): void {
    if (this.ptr) this.access.libc.free(this.ptr);
    this.ptr = 0n;
    this.size = 0;
  }
}

/** A second thread's batches: join it, then take each clean batch (null: the caller does that batch itself). */
export interface Speculation {
  join(): void;
  /** Batch `b`'s kinds copied into `kinds` and its pointers, when it was clean; else null. */
  take(b: number, kinds: Uint16Array): BatchResult | null;
  /** After join: free its memory. */
  free(): void;
}

/** What one native call found. */
export interface BatchResult {
  /** Position in the batch of the first torn pool + 1 (0: none): then nothing else of the call counts. */
  torn: number;
  /** (pool in batch, block) pairs left pending, as the Scanner's `pending` lists them (pool as a batch position). */
  pending: Uint32Array;
  /** Candidate type addresses met for the first time, in the order met. */
  unknown: number[];
  /** Pointers to buffers: (pointer, label, from block, aux) each, in the order the Scanner would record them. */
  refs: Float64Array;
  nRefs: number;
}

/**
 * The native pass's state through one classification: its job block, the hash table of candidate type addresses
 * (a copy of the TypeTable's decisions: a type id, -1 for not a type, or undecided), the per-type records, and the
 * outputs. Close it at the end (it holds malloc'd memory).
 */
export class NativeClassifier {
  readonly #run: BatchFn;
  readonly #job: Region;
  readonly #pools: Region;
  readonly #keys: Region;
  readonly #vals: Region;
  readonly #types: Region;
  readonly #maps: Region;
  readonly #out: Region;
  readonly #list: Region;
  /** Remotely: pools read straight here (readInto), classified in place. */
  readonly #read: Region;
  /** Occupied slots of the hash table. */
  #fill = 0;
  #slots = 0;
  readonly #absolute: boolean;
  readonly #empty = new Uint8Array(8);
  readonly #access: NativeAccess;
  #typeBytes = 0;
  #nMaps = 0;

  /** Null where there is no native pass (the caller classifies in JavaScript). */
  static create(
    access: NativeAccess | undefined,
    params: number[],
    maps: { starts: ArrayLike<number>; ends: ArrayLike<number> },
  ): NativeClassifier | null {
    if (!access) return null;
    const pass = passFor(access);
    if (!pass) return null;
    try {
      return new NativeClassifier(access, pass.batch, params, maps);
    } catch {
      return null;
    }
  }

  private constructor(
    access: NativeAccess,
    run: BatchFn,
    params: number[],
    maps: { starts: ArrayLike<number>; ends: ArrayLike<number> },
  ) {
    this.#run = run;
    this.#access = access;
    const r = () => new Region(access);
    this.#job = r();
    this.#pools = r();
    this.#keys = r();
    this.#vals = r();
    this.#types = r();
    this.#maps = r();
    this.#out = r();
    this.#list = r();
    this.#read = r();
    this.#absolute = params[P.ABSOLUTE] === 1;
    // job: 19 pointers (152 bytes), then params (16 u32 at 160) and counts (8 u32 at 224)
    this.#job.need(256);
    this.#job.u8.fill(0, 0, 256);
    this.#job.u32.set(params.slice(0, 16), 40);
    this.#setPtr(5, this.#job.ptr + 160n);
    this.#setPtr(16, this.#job.ptr + 224n);
    const n = maps.starts.length;
    this.#nMaps = n;
    this.#maps.need(16 * n + 16);
    const m = this.#maps.u32;
    for (let i = 0; i < n; i++) {
      m[2 * i] = maps.starts[i] % 0x1_0000_0000;
      m[2 * i + 1] = Math.floor(maps.starts[i] / 0x1_0000_0000);
      m[2 * (n + i)] = maps.ends[i] % 0x1_0000_0000;
      m[2 * (n + i) + 1] = Math.floor(maps.ends[i] / 0x1_0000_0000);
    }
    this.#setPtr(9, this.#maps.ptr);
    this.#setPtr(10, this.#maps.ptr + BigInt(8 * n));
    this.#setWord(11, n);
    this.#grow(1 << 12, null);
  }

  #setPtr(i: number, p: bigint): void {
    this.#job.u32[2 * i] = Number(p & 0xffff_ffffn);
    this.#job.u32[2 * i + 1] = Number(p >> 32n);
  }
  #setWord(i: number, n: number): void {
    this.#job.u32[2 * i] = n % 0x1_0000_0000;
    this.#job.u32[2 * i + 1] = Math.floor(n / 0x1_0000_0000);
  }
  get #counts(): Uint32Array {
    return this.#job.u32.subarray(56, 64);
  }

  /** Rehash into `slots` slots (a power of two), keeping every entry (undecided ones too). */
  #grow(slots: number, old: { keys: Uint32Array; vals: Int32Array } | null): void {
    this.#keys.need(8 * slots);
    this.#vals.need(4 * slots);
    const keys = this.#keys.u32;
    keys.fill(0, 0, 2 * slots);
    this.#slots = slots;
    const shift = 32 - Math.log2(slots);
    this.#job.u32[40 + P.MASK] = slots - 1;
    this.#job.u32[40 + P.SHIFT] = shift;
    this.#setPtr(6, this.#keys.ptr);
    this.#setPtr(7, this.#vals.ptr);
    this.#fill = 0;
    if (old) {
      for (let s = 0; s < old.vals.length; s++) {
        const lo = old.keys[2 * s], hi = old.keys[2 * s + 1];
        if (lo !== 0 || hi !== 0) this.#put(lo, hi, old.vals[s]);
      }
    }
  }

  #slot(lo: number, hi: number): number {
    const keys = this.#keys.u32, mask = this.#slots - 1;
    let s = Math.imul(lo ^ (lo >>> 16) ^ hi, 0x9e3779b1) >>> this.#job.u32[40 + P.SHIFT];
    while ((keys[2 * s] !== lo || keys[2 * s + 1] !== hi) && (keys[2 * s] !== 0 || keys[2 * s + 1] !== 0)) {
      s = (s + 1) & mask;
    }
    return s;
  }

  #put(lo: number, hi: number, v: number): void {
    const s = this.#slot(lo, hi), keys = this.#keys.u32;
    if (keys[2 * s] === 0 && keys[2 * s + 1] === 0) {
      keys[2 * s] = lo;
      keys[2 * s + 1] = hi;
      this.#fill++;
    }
    this.#vals.i32[s] = v;
  }

  /** Record the decision on a candidate address (a type id, or -1). */
  decide(address: number, id: number): void {
    this.#put(address % 0x1_0000_0000, Math.floor(address / 0x1_0000_0000), id);
  }

  /** The per-type records, TYPE_WORDS i32 each, for types 0..n-1. */
  setTypes(records: Int32Array): void {
    this.#types.need(records.byteLength + 4);
    this.#typeBytes = records.byteLength;
    this.#types.i32.set(records);
    this.#setPtr(8, this.#types.ptr);
  }

  /** Room for a call over `blocks` blocks and `pools` pools, with `offsets` candidates a block at most. */
  #prepare(pools: number, blocks: number, offsets: number): void {
    // The hash table stays at most 70% full whatever the batch adds (each block adds at most `offsets` keys).
    const want = this.#fill + offsets * blocks;
    if (want > 0.7 * this.#slots) {
      let slots = this.#slots;
      while (want > 0.7 * slots) slots *= 2;
      const old = { keys: this.#keys.u32.slice(0, 2 * this.#slots), vals: this.#vals.i32.slice(0, this.#slots) };
      this.#grow(slots, old);
    }
    this.#pools.need(21 * pools + 64); // src u64[pools] | addr u64[pools] | base u32[pools] | cls u8[pools]
    const capPools = Math.floor((this.#pools.size - 64) / 21);
    this.#setPtr(0, this.#pools.ptr);
    this.#setPtr(1, this.#pools.ptr + BigInt(8 * capPools));
    this.#setPtr(3, this.#pools.ptr + BigInt(16 * capPools));
    this.#setPtr(2, this.#pools.ptr + BigInt(20 * capPools));
    // pending u32[2 blocks] | unknown u32[offsets blocks] | refs u64[3 * 5 blocks]
    const refsAt = 8 * Math.ceil(((2 + offsets) * blocks * 4) / 8);
    this.#out.need(refsAt + 120 * blocks + 8);
    this.#setPtr(13, this.#out.ptr);
    this.#setPtr(14, this.#out.ptr + BigInt(8 * blocks));
    this.#setPtr(15, this.#out.ptr + BigInt(refsAt));
    this.#outLayout = { blocks, refsAt };
  }
  #outLayout = { blocks: 0, refsAt: 0 };

  /**
   * Classify pools [from, to) of the walk: `src(i)` says where pool i's bytes are (an address in this process when
   * absolute, else a byte offset in `words`; -1 unreadable). `list`, when given, classifies those (pool, block)
   * pairs again instead (pools as batch positions).
   */
  call(
    kinds: Uint16Array,
    words: Uint32Array | null,
    poolAddress: Float64Array,
    poolClass: Uint8Array,
    poolBase: Uint32Array,
    from: number,
    to: number,
    src: (i: number) => number,
    blocks: number,
    offsets: number,
    list?: Uint32Array,
    inPlace = false,
  ): BatchResult {
    const n = to - from;
    if (!list) this.#prepare(n, blocks, offsets);
    const capPools = Math.floor((this.#pools.size - 64) / 21);
    const pu32 = this.#pools.u32, pu8 = this.#pools.u8;
    for (let i = 0; i < n; i++) {
      const s = src(i), a = poolAddress[from + i];
      if (s < 0) pu32[2 * i] = pu32[2 * i + 1] = 0xffff_ffff;
      else {
        pu32[2 * i] = s % 0x1_0000_0000;
        pu32[2 * i + 1] = Math.floor(s / 0x1_0000_0000);
      }
      pu32[2 * (capPools + i)] = a % 0x1_0000_0000;
      pu32[2 * (capPools + i) + 1] = Math.floor(a / 0x1_0000_0000);
      pu32[4 * capPools + i] = poolBase[from + i];
      pu8[20 * capPools + i] = poolClass[from + i];
    }
    this.#setWord(4, n);
    const counts = this.#counts;
    counts[0] =
      counts[1] =
      counts[2] =
      counts[3] =
        0;
    if (list) {
      this.#list.need(4 * list.length + 8);
      this.#list.u32.set(list);
      this.#setPtr(17, this.#list.ptr);
      this.#setWord(18, list.length / 2);
    } else {
      this.#setPtr(17, 0n);
      this.#setWord(18, 0);
    }
    const w = words ? new Uint8Array(words.buffer, words.byteOffset, words.byteLength) : this.#empty;
    const absolute = this.#absolute || inPlace;
    this.#job.u32[40 + P.ABSOLUTE] = absolute ? 1 : 0;
    this.#run(this.#job.ptr, kinds, absolute ? this.#empty : w);
    const { blocks: cap, refsAt } = this.#outLayout;
    const nPending = counts[0], nUnknown = counts[1], nRefs = counts[2], torn = counts[3];
    this.#fill += counts[4];
    counts[4] = 0;
    const out = this.#out.u32;
    const unknown: number[] = [];
    const keys = this.#keys.u32;
    for (let i = 0; i < nUnknown; i++) {
      const s = out[2 * cap + i];
      unknown.push(keys[2 * s] + keys[2 * s + 1] * 0x1_0000_0000);
    }
    const refs = new Float64Array(4 * nRefs);
    const r = refsAt / 4;
    for (let i = 0; i < nRefs; i++) {
      const x = r + 6 * i;
      refs[4 * i] = out[x] + out[x + 1] * 0x1_0000_0000;
      refs[4 * i + 1] = out[x + 2];
      refs[4 * i + 2] = out[x + 3];
      refs[4 * i + 3] = out[x + 4] + out[x + 5] * 0x1_0000_0000;
    }
    return { torn, pending: out.slice(0, 2 * nPending), unknown, refs, nRefs };
  }

  /**
   * In-process only: start a second thread on batches [from, batches.length - 1) (`batches`: each batch's first pool,
   * then the end), classified ahead on a copy of what is decided now (tools/classify-pass.c, `speculate`). Null when
   * no thread can run. The caller must join it before it returns (the thread reads the heap under the caller's GIL).
   */
  speculate(
    poolAddress: Float64Array,
    poolClass: Uint8Array,
    poolBase: Uint32Array,
    batches: number[],
    from: number,
  ): Speculation | null {
    const access = this.#access, libc = access.libc, code = codeOf.get(access.backend);
    if (!this.#absolute || code === undefined || !canRunSecondThread(libc)) return null;
    const nb = batches.length - 1 - from;
    if (nb <= 0) return null;
    const p0 = batches[from], p1 = batches[batches.length - 1];
    const npools = p1 - p0, firstBlock = poolBase[p0], blocks = poolBase[p1] - firstBlock;
    let most = 0;
    for (let b = from; b < batches.length - 1; b++) {
      most = Math.max(most, poolBase[batches[b + 1]] - poolBase[batches[b]]);
    }
    const refsCap = Math.min(5 * blocks, 1 << 21);
    const r8 = (n: number) => 8 * Math.ceil(n / 8);
    // Spec | job | keys | vals | types | maps | pending | refs | batches | result | kinds | src | addr | base | cls
    const lay: Record<string, number> = {};
    let size = 0;
    const put = (name: string, bytes: number) => {
      lay[name] = size;
      size += r8(bytes);
    };
    put("spec", 80);
    put("job", 256);
    put("keys", 8 * this.#slots);
    put("vals", 4 * this.#slots);
    put("types", this.#typeBytes + 4);
    put("maps", 16 * this.#nMaps + 16);
    put("pending", 8 * most + 8);
    put("refs", 24 * refsCap);
    put("batches", 4 * (nb + 1));
    put("result", 12 * nb);
    put("kinds", 2 * blocks);
    put("src", 8 * npools);
    put("base", 4 * (npools + 1));
    put("cls", npools);
    const block = libc.malloc(size);
    if (block === 0n) return null;
    const all = access.backend.view(block, size);
    const u8 = new Uint8Array(all), u32 = new Uint32Array(all);
    const at = (name: string) => block + BigInt(lay[name]);
    const setPtr = (o: number, p: bigint) => {
      u32[o / 4] = Number(p & 0xffff_ffffn);
      u32[o / 4 + 1] = Number(p >> 32n);
    };
    const setWord = (o: number, n: number) => {
      u32[o / 4] = n % 0x1_0000_0000;
      u32[o / 4 + 1] = Math.floor(n / 0x1_0000_0000);
    };
    // The copies: the job (params included), the table, the types, the mappings.
    u8.set(this.#job.u8.subarray(0, 256), lay.job);
    u8.set(this.#keys.u8.subarray(0, 8 * this.#slots), lay.keys);
    u8.set(this.#vals.u8.subarray(0, 4 * this.#slots), lay.vals);
    u8.set(this.#types.u8.subarray(0, this.#typeBytes), lay.types);
    u8.set(this.#maps.u8.subarray(0, 16 * this.#nMaps), lay.maps);
    const job = lay.job;
    setPtr(job + 5 * 8, at("job") + 160n);
    setPtr(job + 6 * 8, at("keys"));
    setPtr(job + 7 * 8, at("vals"));
    setPtr(job + 8 * 8, at("types"));
    setPtr(job + 9 * 8, at("maps"));
    setPtr(job + 10 * 8, at("maps") + BigInt(8 * this.#nMaps));
    setPtr(job + 13 * 8, at("pending"));
    setPtr(job + 14 * 8, at("pending")); // never written while speculating
    setPtr(job + 15 * 8, at("refs"));
    setPtr(job + 16 * 8, at("job") + 224n);
    u32.fill(0, (job + 224) / 4, (job + 256) / 4);
    u32[(job + 224) / 4 + 5] = 1; // speculate
    for (let b = 0; b <= nb; b++) u32[lay.batches / 4 + b] = batches[from + b] - p0;
    for (let i = 0; i < npools; i++) {
      const a = poolAddress[p0 + i];
      setWord(lay.src + 8 * i, a);
      u32[lay.base / 4 + i] = poolBase[p0 + i] - firstBlock;
      u8[lay.cls + i] = poolClass[p0 + i];
    }
    u32[lay.base / 4 + npools] = blocks;
    const spec = lay.spec;
    setPtr(spec, at("job"));
    setPtr(spec + 8, at("batches"));
    setWord(spec + 16, nb);
    setPtr(spec + 24, at("result"));
    setWord(spec + 32, refsCap);
    setPtr(spec + 40, at("kinds"));
    setPtr(spec + 48, at("src"));
    setPtr(spec + 56, at("src")); // addresses: the same, in place
    setPtr(spec + 64, at("cls"));
    setPtr(spec + 72, at("base"));
    let thread: NativeThread | null = null;
    try {
      thread = startNativeThread(libc, code + BigInt(SPECULATE_OFFSET), block);
    } catch {
      thread = null;
    }
    if (!thread) {
      libc.free(block);
      return null;
    }
    const started = thread;
    let joined = false;
    return {
      join() {
        if (!joined) started.join();
        joined = true;
      },
      take(b, kinds) {
        const k = b - from, res = lay.result / 4 + 3 * k;
        if (u32[res] !== 1) return null;
        const q0 = poolBase[batches[b]] - firstBlock, q1 = poolBase[batches[b + 1]] - firstBlock;
        kinds.set(new Uint16Array(all, lay.kinds + 2 * q0, q1 - q0), firstBlock + q0);
        const first = u32[res + 1], nRefs = u32[res + 2];
        const refs = new Float64Array(4 * nRefs), r = lay.refs / 4 + 6 * first;
        for (let i = 0; i < nRefs; i++) {
          const x = r + 6 * i;
          refs[4 * i] = u32[x] + u32[x + 1] * 0x1_0000_0000;
          refs[4 * i + 1] = u32[x + 2];
          refs[4 * i + 2] = u32[x + 3] + firstBlock;
          refs[4 * i + 3] = u32[x + 4] + u32[x + 5] * 0x1_0000_0000;
        }
        return { torn: 0, pending: new Uint32Array(0), unknown: [], refs, nRefs };
      },
      free() {
        if (joined) libc.free(block);
      },
    };
  }

  /**
   * Native memory for `bytes` bytes of pools read by the caller (`poolsInto`), reused from call to call: its address.
   * Pools read there are classified with `call(…, inPlace = true)`, `src` giving each one's address.
   */
  readBuffer(bytes: number): bigint {
    this.#read.need(bytes);
    return this.#read.ptr;
  }

  /** A view of `length` bytes of native memory at `address` (the read buffer). */
  bytesAt(address: number, length: number): Uint8Array {
    return new Uint8Array(this.#access.backend.view(BigInt(address), length));
  }

  /** Whether pool bytes are read in place (this process, under its GIL). */
  get absolute(): boolean {
    return this.#absolute;
  }

  /** Free the native memory (the generated code stays mapped for the next classification). */
  close(): void {
    for (
      const r of [
        this.#job,
        this.#pools,
        this.#keys,
        this.#vals,
        this.#types,
        this.#maps,
        this.#out,
        this.#list,
        this.#read,
      ]
    ) {
      r.free();
    }
  }
}
