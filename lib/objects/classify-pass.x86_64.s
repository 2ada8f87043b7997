# The native block classification pass (lib/objects/classify-pass.ts: CLASSIFY_X64 and CLASSIFY_BATCH_OFFSET):
# the source of those bytes, compiled by gcc from tools/classify-pass.c (its C, with the Job it reads and the contract):
#   gcc -O2 -S -masm=intel -fno-asynchronous-unwind-tables -fno-jump-tables -fno-stack-protector -fcf-protection=none -fno-pic -ffreestanding -fno-builtin -mno-red-zone -mgeneral-regs-only tools/classify-pass.c
# Change the C, then `bun tools/classify-pass.ts` (rewrites this file) and `bun tools/assemble.ts --write` (the bytes).
	.intel_syntax noprefix
	.text
	.p2align 4
	.type	readable, @function
readable:
	mov	rdx, QWORD PTR [rdi+88]
	xor	ecx, ecx
	jmp	.L3
	.p2align 4,,10
	.p2align 3
.L4:
	lea	rax, [rdx+rcx]
	mov	r8, QWORD PTR [rdi+72]
	shr	rax
	cmp	rsi, QWORD PTR [r8+rax*8]
	jnb	.L10
	mov	rdx, rax
.L3:
	cmp	rcx, rdx
	jb	.L4
	xor	eax, eax
	test	rcx, rcx
	je	.L1
	mov	rax, QWORD PTR [rdi+80]
	add	rsi, 16
	cmp	QWORD PTR [rax-8+rcx*8], rsi
	setnb	al
	movzx	eax, al
.L1:
	ret
	.p2align 4,,10
	.p2align 3
.L10:
	lea	rcx, [rax+1]
	jmp	.L3
	.size	readable, .-readable
	.p2align 4
	.type	ref.part.0.isra.0, @function
ref.part.0.isra.0:
	mov	rax, rdi
	mov	rdi, rdx
	mov	edx, DWORD PTR [rsi+8]
	sal	r8, 32
	mov	ecx, ecx
	lea	r10d, [rdx+1]
	or	r8, rcx
	mov	DWORD PTR [rsi+8], r10d
	lea	esi, [rdx+rdx*2]
	mov	rdx, rsi
	mov	QWORD PTR [rax+rsi*8], rdi
	lea	esi, [rsi+1]
	add	edx, 2
	mov	QWORD PTR [rax+rsi*8], r8
	mov	QWORD PTR [rax+rdx*8], r9
	ret
	.size	ref.part.0.isra.0, .-ref.part.0.isra.0
	.p2align 4
	.globl	classify_batch
	.type	classify_batch, @function
classify_batch:
	push	r15
	push	r14
	mov	r14, rdi
	push	r13
	push	r12
	push	rbp
	push	rbx
	add	rsp, -128
	mov	rax, QWORD PTR [rdi+136]
	mov	r13, QWORD PTR [rdi+40]
	mov	QWORD PTR [rdi+96], rsi
	mov	QWORD PTR [rsp+48], rsi
	mov	QWORD PTR [rsp+40], rdx
	mov	QWORD PTR [rsp+56], rax
	test	rax, rax
	je	.L253
	cmp	QWORD PTR [rdi+144], 0
	je	.L12
	mov	rax, QWORD PTR [rdi+16]
	xor	r8d, r8d
	mov	QWORD PTR [rsp+80], rax
	mov	rax, QWORD PTR [rdi+24]
	mov	QWORD PTR [rsp+88], rax
	mov	rax, QWORD PTR [rdi]
	mov	QWORD PTR [rsp+96], rax
	.p2align 4,,10
	.p2align 3
.L45:
	mov	rax, QWORD PTR [rsp+56]
	mov	rbx, QWORD PTR [rsp+40]
	mov	ecx, DWORD PTR [r13+60]
	mov	edx, DWORD PTR [rax+r8*8]
	mov	edi, DWORD PTR [rax+4+r8*8]
	mov	rax, QWORD PTR [rsp+96]
	test	ecx, ecx
	mov	ecx, DWORD PTR [r13+12]
	mov	QWORD PTR [rsp+16], rdi
	mov	rsi, rdi
	mov	rax, QWORD PTR [rax+rdx*8]
	lea	rbp, [rbx+rax]
	mov	rbx, QWORD PTR [rsp+88]
	cmovne	rbp, rax
	mov	rax, QWORD PTR [rsp+80]
	lea	rbx, [rbx+rdx*4]
	movzx	eax, BYTE PTR [rax+rdx]
	mov	edx, DWORD PTR [r13+20]
	mov	QWORD PTR [rsp+24], rbx
	mov	r15d, DWORD PTR [rbx]
	add	eax, 1
	sal	eax, cl
	mov	ecx, DWORD PTR [r13+4]
	mov	r12, rax
	imul	rax, rdi
	mov	edi, DWORD PTR [r13+24]
	sub	r12, rdx
	mov	edx, DWORD PTR [r13+16]
	add	rdx, rcx
	lea	rbx, [rdx+rax]
	shr	rbx, 2
	test	edi, edi
	je	.L102
	mov	DWORD PTR [rsp+8], 0
	xor	r10d, r10d
	mov	QWORD PTR [rsp], 0
	mov	DWORD PTR [rsp+64], esi
	mov	QWORD PTR [rsp+32], r8
	mov	DWORD PTR [rsp+72], r15d
	.p2align 4,,10
	.p2align 3
.L44:
	lea	eax, [r10+7]
	mov	r11d, DWORD PTR [r13+0+rax*4]
	lea	rax, [r11+15]
	cmp	r12, rax
	jle	.L20
	mov	rax, r11
	sar	rax, 2
	add	rax, rbx
	lea	r9, [rbp+0+rax*4]
	mov	esi, DWORD PTR [r9]
	mov	eax, DWORD PTR [r9+4]
	test	esi, esi
	je	.L21
	mov	edx, DWORD PTR [r13+40]
	test	edx, edx
	je	.L22
	test	ax, ax
	jne	.L21
.L23:
	cmp	esi, 65535
	jbe	.L24
	mov	edx, esi
	and	edx, 7
	or	edx, eax
	jne	.L24
	mov	r15d, DWORD PTR [r13+44]
	test	r15d, r15d
	je	.L25
	test	esi, esi
	js	.L24
.L25:
	mov	rdi, r14
	call	readable
	test	eax, eax
	jne	.L21
	.p2align 4,,10
	.p2align 3
.L24:
	mov	edx, DWORD PTR [r9+8]
	mov	rsi, QWORD PTR [r9+8]
	mov	ecx, DWORD PTR [r9+12]
	test	dl, 7
	jne	.L21
	cmp	ecx, 32767
	ja	.L21
	test	ecx, ecx
	jne	.L118
	cmp	edx, 4095
	jbe	.L21
.L118:
	mov	rax, QWORD PTR [rsp]
	mov	rdi, QWORD PTR [r14+48]
	cmp	rsi, rax
	jne	.L254
	mov	ecx, DWORD PTR [rsp+8]
	lea	r15, [rdi+rcx*8]
	mov	rax, rcx
	mov	rdx, QWORD PTR [r15]
.L28:
	mov	rdi, QWORD PTR [r14+56]
	lea	rcx, [rdi+rcx*4]
	test	rdx, rdx
	je	.L255
.L31:
	mov	edi, DWORD PTR [rcx]
	cmp	edi, -2
	je	.L21
	test	edi, edi
	js	.L106
	movsx	rdx, edi
	sal	rdx, 6
	add	rdx, QWORD PTR [r14+64]
	movsx	rcx, DWORD PTR [rdx]
	cmp	r11, rcx
	jne	.L106
	movsx	rcx, DWORD PTR [rdx+4]
	add	rcx, r11
	cmp	r12, rcx
	jl	.L106
	mov	ecx, DWORD PTR [rdx+8]
	test	ecx, ecx
	je	.L33
	movsx	r8, DWORD PTR [rdx+12]
	add	r8, r11
	cmp	r12, r8
	jge	.L33
	mov	r8d, ecx
	and	ecx, 3
	sar	r8d, 2
	sal	ecx, 3
	movsx	r8, r8d
	mov	r8d, DWORD PTR [r9+r8*4]
	shr	r8d, cl
	test	r8b, r8b
	jne	.L106
.L33:
	mov	esi, DWORD PTR [rsp+64]
	mov	r15d, DWORD PTR [rsp+72]
	mov	r10d, DWORD PTR [rdx+24]
	mov	r8, QWORD PTR [rsp+32]
	lea	ebp, [rsi+r15]
	xor	esi, esi
	mov	r15, rbp
	sal	r15, 32
	test	r10d, r10d
	jle	.L40
	mov	DWORD PTR [rsp], ebp
	mov	QWORD PTR [rsp+8], r13
	.p2align 4,,10
	.p2align 3
.L39:
	mov	ecx, DWORD PTR [rdx+32+rsi*8]
	movsx	rax, DWORD PTR [rdx+28+rsi*8]
	xor	r10d, r10d
	cmp	ecx, 9
	jne	.L37
	lea	r10d, [rax+8]
	movsx	r10, r10d
	mov	rbx, r10
	and	r10, -4
	mov	r10d, DWORD PTR [r9+4+r10]
	shr	rbx, 2
	mov	ebx, DWORD PTR [r9+rbx*4]
	sal	r10, 32
	or	r10, rbx
.L37:
	mov	rbx, rax
	and	rax, -4
	mov	eax, DWORD PTR [r9+4+rax]
	shr	rbx, 2
	mov	ebx, DWORD PTR [r9+rbx*4]
	sal	rax, 32
	or	rax, rbx
	je	.L38
	mov	r12, QWORD PTR [r14+128]
	mov	rbx, QWORD PTR [r14+120]
	or	rcx, r15
	mov	ebp, DWORD PTR [r12+8]
	lea	r13d, [rbp+1]
	mov	DWORD PTR [r12+8], r13d
	lea	r12d, [rbp+0+rbp*2]
	mov	QWORD PTR [rbx+r12*8], rax
	lea	eax, [r12+1]
	mov	QWORD PTR [rbx+rax*8], rcx
	lea	eax, [r12+2]
	mov	QWORD PTR [rbx+rax*8], r10
.L38:
	add	rsi, 1
	cmp	DWORD PTR [rdx+24], esi
	jg	.L39
	mov	ebp, DWORD PTR [rsp]
	mov	r13, QWORD PTR [rsp+8]
.L40:
	movsx	rax, DWORD PTR [rdx+16]
	test	eax, eax
	jne	.L256
.L36:
	movsx	rax, DWORD PTR [rdx+20]
	cmp	r11, 31
	jle	.L41
	test	eax, eax
	jne	.L257
.L41:
	mov	rbx, QWORD PTR [rsp+24]
	lea	eax, [rdi+11]
	cmp	edi, 65524
	mov	edi, 3
	cmove	eax, edi
	mov	r15d, DWORD PTR [rbx]
.L43:
	mov	rdi, QWORD PTR [rsp+16]
	add	r8, 1
	add	r15, rdi
	mov	rdi, QWORD PTR [rsp+48]
	mov	WORD PTR [rdi+r15*2], ax
	cmp	r8, QWORD PTR [r14+144]
	jb	.L45
.L12:
	sub	rsp, -128
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
	.p2align 4,,10
	.p2align 3
.L22:
	test	eax, eax
	je	.L23
	.p2align 4,,10
	.p2align 3
.L21:
	add	r10d, 1
	cmp	r10d, DWORD PTR [r13+24]
	jb	.L44
.L20:
	mov	rax, QWORD PTR [rsp+24]
	mov	r8, QWORD PTR [rsp+32]
	mov	r15d, DWORD PTR [rax]
	mov	eax, 3
	jmp	.L43
	.p2align 4,,10
	.p2align 3
.L106:
	mov	DWORD PTR [rsp+8], eax
	add	r10d, 1
	mov	QWORD PTR [rsp], rsi
	cmp	r10d, DWORD PTR [r13+24]
	jb	.L44
	jmp	.L20
	.p2align 4,,10
	.p2align 3
.L254:
	mov	eax, edx
	xor	edx, ecx
	mov	ecx, DWORD PTR [r13+52]
	mov	r8d, DWORD PTR [r13+48]
	shr	eax, 16
	xor	eax, edx
	imul	eax, eax, -1640531535
	shr	eax, cl
	jmp	.L247
	.p2align 4,,10
	.p2align 3
.L258:
	test	rdx, rdx
	je	.L28
	add	eax, 1
	and	eax, r8d
.L247:
	mov	ecx, eax
	lea	r15, [rdi+rcx*8]
	mov	rdx, QWORD PTR [r15]
	cmp	rsi, rdx
	jne	.L258
	mov	rdi, QWORD PTR [r14+56]
	lea	rcx, [rdi+rcx*4]
	test	rdx, rdx
	jne	.L31
.L255:
	mov	rdx, QWORD PTR [r14+128]
	mov	QWORD PTR [r15], rsi
	add	r10d, 1
	mov	DWORD PTR [rcx], -2
	mov	rsi, QWORD PTR [r14+112]
	mov	ecx, DWORD PTR [rdx+4]
	lea	edi, [rcx+1]
	mov	DWORD PTR [rdx+4], edi
	mov	DWORD PTR [rsi+rcx*4], eax
	add	DWORD PTR [rdx+16], 1
	cmp	r10d, DWORD PTR [r13+24]
	jb	.L44
	jmp	.L20
.L253:
	cmp	QWORD PTR [rdi+32], 0
	je	.L12
	xor	eax, eax
	mov	r12, QWORD PTR [rdi]
	mov	r15, r13
	mov	r13, rdi
	mov	r14, rax
	.p2align 4,,10
	.p2align 3
.L99:
	mov	rax, QWORD PTR [r12+r14*8]
	cmp	rax, -1
	je	.L242
	mov	rdi, QWORD PTR [rsp+40]
	mov	r8d, DWORD PTR [r15+60]
	mov	esi, DWORD PTR [r15]
	mov	r9d, DWORD PTR [r15+4]
	lea	r10, [rdi+rax]
	test	r8d, r8d
	cmovne	r10, rax
	mov	r11d, DWORD PTR [r10]
	mov	eax, DWORD PTR [r10+36]
	mov	edi, DWORD PTR [r10+40]
	cmp	eax, DWORD PTR [r15+8]
	jnb	.L242
	mov	rdx, QWORD PTR [r13+16]
	movzx	edx, BYTE PTR [rdx+r14]
	cmp	eax, edx
	jne	.L242
	mov	ecx, DWORD PTR [r15+12]
	add	eax, 1
	sal	eax, cl
	mov	ebx, eax
	mov	DWORD PTR [rsp], eax
	mov	eax, esi
	sub	eax, ebx
	cmp	DWORD PTR [r10+44], eax
	jne	.L242
	cmp	edi, r9d
	jb	.L242
	cmp	esi, edi
	jb	.L242
	mov	ebp, edi
	xor	edx, edx
	sub	ebp, r9d
	mov	eax, ebp
	div	ebx
	xor	edx, edx
	mov	DWORD PTR [rsp+8], eax
	mov	eax, esi
	sub	eax, r9d
	div	ebx
	mov	rdx, QWORD PTR [r13+24]
	lea	rbx, [rdx+r14*4]
	mov	edx, DWORD PTR [rbx]
	mov	QWORD PTR [rsp+64], rbx
	mov	rbx, QWORD PTR [rsp+48]
	lea	rbx, [rbx+rdx*2]
	mov	QWORD PTR [rsp+16], rbx
	test	r11d, r11d
	je	.L259
	cmp	DWORD PTR [rsp+8], r11d
	jb	.L242
	mov	ebx, DWORD PTR [rsp]
	xor	edx, edx
	cmp	ebp, ebx
	jb	.L60
	mov	rcx, QWORD PTR [rsp+16]
	mov	esi, DWORD PTR [rsp+8]
	.p2align 4,,10
	.p2align 3
.L57:
	mov	ebx, 3
	mov	WORD PTR [rcx+rdx*2], bx
	add	rdx, 1
	cmp	edx, esi
	jb	.L57
.L60:
	cmp	DWORD PTR [rsp+8], eax
	jnb	.L59
	mov	ecx, DWORD PTR [rsp+8]
	sub	eax, 1
	mov	rsi, QWORD PTR [rsp+16]
	sub	eax, ecx
	lea	rdx, [rsi+rcx*2]
	add	rax, rcx
	lea	rax, [rsi+2+rax*2]
	.p2align 4,,10
	.p2align 3
.L63:
	xor	r8d, r8d
	add	rdx, 2
	mov	WORD PTR [rdx-2], r8w
	cmp	rax, rdx
	jne	.L63
.L59:
	mov	rax, QWORD PTR [r13+8]
	mov	rcx, QWORD PTR [r10+8]
	mov	r8, QWORD PTR [rax+r14*8]
	test	rcx, rcx
	je	.L260
	sub	rcx, r8
	mov	ebx, r9d
	cmp	rbx, rcx
	jg	.L242
	mov	esi, edi
	cmp	rsi, rcx
	jle	.L242
	mov	eax, DWORD PTR [rsp]
	mov	rdi, rcx
	sub	rdi, rbx
	mov	rdx, rax
	mov	rax, rdi
	mov	QWORD PTR [rsp+32], rdx
	xor	edx, edx
	div	QWORD PTR [rsp+32]
	test	rdx, rdx
	jne	.L242
	mov	eax, DWORD PTR [rsp]
	cmp	ebp, eax
	jb	.L242
	mov	QWORD PTR [rsp+56], r15
	xor	ebp, ebp
	mov	r15d, DWORD PTR [rsp+8]
	mov	QWORD PTR [rsp+24], r14
	mov	r14, QWORD PTR [rsp+16]
	mov	DWORD PTR [rsp+72], r9d
	mov	r9, QWORD PTR [rsp+32]
	jmp	.L64
	.p2align 4,,10
	.p2align 3
.L262:
	mov	rdx, rcx
	mov	edi, 1
	and	rcx, -4
	add	ebp, 1
	mov	WORD PTR [rax], di
	shr	rdx, 2
	mov	eax, DWORD PTR [r10+4+rcx]
	mov	ecx, DWORD PTR [r10+rdx*4]
	sal	rax, 32
	or	rcx, rax
	je	.L261
	sub	rcx, r8
	cmp	rcx, rbx
	jl	.L240
	cmp	rcx, rsi
	jge	.L240
	mov	rdi, rcx
	xor	edx, edx
	sub	rdi, rbx
	mov	rax, rdi
	div	r9
	test	rdx, rdx
	jne	.L240
	cmp	ebp, r15d
	jnb	.L240
.L64:
	xor	edx, edx
	mov	rax, rdi
	div	r9
	lea	rax, [r14+rax*2]
	cmp	WORD PTR [rax], 1
	jne	.L262
.L240:
	mov	rax, QWORD PTR [rsp+24]
	mov	r14, r13
	jmp	.L47
	.p2align 4,,10
	.p2align 3
.L242:
	mov	rax, r14
	mov	r14, r13
.L47:
	mov	rdx, QWORD PTR [r14+128]
	add	eax, 1
	mov	DWORD PTR [rdx+12], eax
	sub	rsp, -128
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
.L256:
	mov	rcx, rax
	and	rax, -4
	mov	eax, DWORD PTR [r9+4+rax]
	shr	rcx, 2
	mov	ecx, DWORD PTR [r9+rcx*4]
	sal	rax, 32
	or	rax, rcx
	je	.L36
	mov	r10, QWORD PTR [r14+128]
	mov	rcx, QWORD PTR [r14+120]
	mov	esi, DWORD PTR [r10+8]
	lea	ebx, [rsi+1]
	mov	DWORD PTR [r10+8], ebx
	lea	r10d, [rsi+rsi*2]
	mov	QWORD PTR [rcx+r10*8], rax
	mov	rax, rbp
	mov	rsi, r10
	lea	r10d, [r10+1]
	sal	rax, 32
	or	al, -1
	mov	QWORD PTR [rcx+r10*8], rax
	lea	eax, [rsi+2]
	mov	QWORD PTR [rcx+rax*8], 0
	jmp	.L36
.L257:
	mov	rdx, rax
	and	rax, -4
	mov	eax, DWORD PTR [r9+4+rax]
	shr	rdx, 2
	mov	edx, DWORD PTR [r9+rdx*4]
	mov	r9d, DWORD PTR [r13+56]
	sal	rax, 32
	or	rax, rdx
	test	r9d, r9d
	je	.L263
	test	al, 1
	je	.L41
	add	rax, 1
	mov	r9, rax
	je	.L41
	mov	rcx, QWORD PTR [r14+128]
	mov	rdx, QWORD PTR [r14+120]
	mov	eax, DWORD PTR [rcx+8]
	lea	esi, [rax+1]
	lea	eax, [rax+rax*2]
	mov	DWORD PTR [rcx+8], esi
	mov	rcx, rax
	mov	QWORD PTR [rdx+rax*8], r9
	jmp	.L248
.L263:
	test	rax, rax
	je	.L41
	mov	rsi, QWORD PTR [r14+128]
	mov	rdx, QWORD PTR [r14+120]
	mov	ecx, DWORD PTR [rsi+8]
	lea	r9d, [rcx+1]
	mov	DWORD PTR [rsi+8], r9d
	lea	esi, [rcx+rcx*2]
	mov	QWORD PTR [rdx+rsi*8], rax
	mov	rcx, rsi
.L248:
	mov	rax, rbp
	lea	esi, [rcx+1]
	sal	rax, 32
	or	rax, 8
	mov	QWORD PTR [rdx+rsi*8], rax
	lea	eax, [rcx+2]
	mov	QWORD PTR [rdx+rax*8], 0
	jmp	.L41
.L259:
	mov	edi, DWORD PTR [rsp]
	xor	edx, edx
	cmp	ebp, edi
	jb	.L55
	mov	rcx, QWORD PTR [rsp+16]
	mov	esi, DWORD PTR [rsp+8]
	.p2align 4,,10
	.p2align 3
.L52:
	mov	edi, 1
	mov	WORD PTR [rcx+rdx*2], di
	add	rdx, 1
	cmp	edx, esi
	jb	.L52
.L55:
	cmp	DWORD PTR [rsp+8], eax
	jnb	.L54
	mov	ecx, DWORD PTR [rsp+8]
	sub	eax, 1
	mov	rbx, QWORD PTR [rsp+16]
	sub	eax, ecx
	lea	rdx, [rbx+rcx*2]
	add	rax, rcx
	lea	rax, [rbx+2+rax*2]
	.p2align 4,,10
	.p2align 3
.L56:
	xor	ebp, ebp
	add	rdx, 2
	mov	WORD PTR [rdx-2], bp
	cmp	rax, rdx
	jne	.L56
.L54:
	add	r14, 1
	cmp	r14, QWORD PTR [r13+32]
	jb	.L99
	jmp	.L12
.L102:
	mov	eax, 3
	jmp	.L43
.L261:
	mov	eax, DWORD PTR [rsp+8]
	mov	r15, QWORD PTR [rsp+56]
	mov	r14, QWORD PTR [rsp+24]
	mov	r9d, DWORD PTR [rsp+72]
	sub	eax, ebp
	cmp	r11d, eax
	jne	.L242
	mov	eax, DWORD PTR [r15+20]
	mov	rdi, QWORD PTR [rsp+32]
	mov	edx, DWORD PTR [r15+16]
	sub	rdi, rax
.L101:
	lea	eax, [r9+rdx]
	mov	QWORD PTR [rsp+112], r10
	mov	DWORD PTR [rsp+88], eax
	mov	QWORD PTR [rsp+56], 0
	mov	DWORD PTR [rsp+32], 0
	mov	QWORD PTR [rsp+24], 0
	mov	QWORD PTR [rsp+120], r12
	mov	QWORD PTR [rsp+96], r14
	mov	r14, rdi
.L97:
	mov	rdi, QWORD PTR [rsp+16]
	mov	rax, QWORD PTR [rsp+56]
	cmp	WORD PTR [rdi+rax*2], 1
	je	.L68
	mov	rdi, QWORD PTR [rsp+64]
	mov	edx, DWORD PTR [rsp+88]
	mov	ecx, DWORD PTR [r15+24]
	mov	edi, DWORD PTR [rdi]
	shr	edx, 2
	mov	DWORD PTR [rsp+108], edi
	test	ecx, ecx
	je	.L69
	mov	DWORD PTR [rsp+80], eax
	mov	r10, QWORD PTR [rsp+112]
	mov	rdi, r13
	xor	r9d, r9d
	mov	DWORD PTR [rsp+72], 0
	mov	r13, rdx
	.p2align 4,,10
	.p2align 3
.L96:
	lea	eax, [r9+7]
	mov	ebp, DWORD PTR [r15+rax*4]
	lea	rax, [rbp+15]
	cmp	rax, r14
	jge	.L70
	mov	rax, rbp
	sar	rax, 2
	add	rax, r13
	lea	r11, [r10+rax*4]
	mov	edx, DWORD PTR [r11]
	mov	ecx, DWORD PTR [r11+4]
	test	edx, edx
	je	.L71
	mov	eax, DWORD PTR [r15+40]
	test	eax, eax
	je	.L72
	test	cx, cx
	setne	al
.L73:
	test	al, al
	jne	.L71
	cmp	edx, 65535
	jbe	.L74
	mov	eax, edx
	and	eax, 7
	or	eax, ecx
	jne	.L74
	mov	eax, DWORD PTR [r15+44]
	test	eax, eax
	je	.L75
	test	edx, edx
	js	.L74
.L75:
	mov	esi, edx
	call	readable
	test	eax, eax
	jne	.L71
.L74:
	mov	eax, DWORD PTR [r11+8]
	mov	r12, QWORD PTR [r11+8]
	mov	ecx, DWORD PTR [r11+12]
	test	al, 7
	jne	.L71
	cmp	ecx, 32767
	ja	.L71
	test	ecx, ecx
	jne	.L119
	cmp	eax, 4095
	jbe	.L71
.L119:
	mov	rbx, QWORD PTR [rsp+24]
	mov	rdx, QWORD PTR [rdi+48]
	cmp	r12, rbx
	jne	.L264
	mov	r8d, DWORD PTR [rsp+32]
	lea	rcx, [rdx+r8*8]
	mov	rbx, r8
	mov	rax, QWORD PTR [rcx]
.L78:
	mov	rdx, QWORD PTR [rdi+56]
	lea	rdx, [rdx+r8*4]
	test	rax, rax
	je	.L265
	mov	edx, DWORD PTR [rdx]
	cmp	edx, -2
	je	.L82
	test	edx, edx
	js	.L115
	movsx	rax, edx
	sal	rax, 6
	add	rax, QWORD PTR [rdi+64]
	movsx	rcx, DWORD PTR [rax]
	cmp	rbp, rcx
	jne	.L115
	movsx	rcx, DWORD PTR [rax+4]
	add	rcx, rbp
	cmp	rcx, r14
	jg	.L115
	mov	ecx, DWORD PTR [rax+8]
	test	ecx, ecx
	je	.L88
	movsx	rsi, DWORD PTR [rax+12]
	add	rsi, rbp
	cmp	rsi, r14
	jle	.L88
	mov	esi, ecx
	and	ecx, 3
	sar	esi, 2
	sal	ecx, 3
	movsx	rsi, esi
	mov	esi, DWORD PTR [r11+rsi*4]
	shr	esi, cl
	test	sil, sil
	jne	.L115
.L88:
	mov	r10, rax
	mov	r8d, DWORD PTR [rsp+108]
	mov	eax, DWORD PTR [rsp+80]
	mov	DWORD PTR [rsp+24], edx
	mov	r13, rdi
	xor	r9d, r9d
	add	r8d, eax
	mov	rax, r8
	sal	rax, 32
	mov	QWORD PTR [rsp+72], rax
	mov	eax, DWORD PTR [r10+24]
	test	eax, eax
	jle	.L92
	mov	DWORD PTR [rsp+108], r8d
.L91:
	mov	edi, DWORD PTR [r10+32+r9*8]
	movsx	rdx, DWORD PTR [r10+28+r9*8]
	xor	eax, eax
	cmp	edi, 9
	jne	.L89
	lea	eax, [rdx+8]
	cdqe
	mov	rcx, rax
	and	rax, -4
	mov	eax, DWORD PTR [r11+4+rax]
	shr	rcx, 2
	mov	ecx, DWORD PTR [r11+rcx*4]
	sal	rax, 32
	or	rax, rcx
.L89:
	mov	rcx, rdx
	and	rdx, -4
	shr	rcx, 2
	mov	edx, DWORD PTR [r11+4+rdx]
	mov	ecx, DWORD PTR [r11+rcx*4]
	sal	rdx, 32
	or	rdx, rcx
	mov	QWORD PTR [rsp+32], rdx
	je	.L90
	mov	rcx, QWORD PTR [r13+128]
	mov	r8, QWORD PTR [r13+128]
	mov	rdx, QWORD PTR [r13+120]
	mov	ecx, DWORD PTR [rcx+8]
	lea	esi, [rcx+1]
	mov	DWORD PTR [r8+8], esi
	mov	r8, QWORD PTR [rsp+32]
	lea	esi, [rcx+rcx*2]
	mov	rcx, rsi
	mov	QWORD PTR [rdx+rsi*8], r8
	mov	r8, QWORD PTR [rsp+72]
	lea	esi, [rsi+1]
	add	ecx, 2
	or	rdi, r8
	mov	QWORD PTR [rdx+rsi*8], rdi
	mov	QWORD PTR [rdx+rcx*8], rax
.L90:
	add	r9, 1
	cmp	DWORD PTR [r10+24], r9d
	jg	.L91
	mov	r8d, DWORD PTR [rsp+108]
.L92:
	movsx	rax, DWORD PTR [r10+16]
	test	eax, eax
	jne	.L266
.L87:
	movsx	rax, DWORD PTR [r10+20]
	cmp	rbp, 31
	jle	.L93
	test	eax, eax
	jne	.L267
.L93:
	mov	eax, DWORD PTR [rsp+24]
	mov	rdi, QWORD PTR [rsp+16]
	mov	DWORD PTR [rsp+32], ebx
	mov	rcx, QWORD PTR [rsp+56]
	mov	QWORD PTR [rsp+24], r12
	add	eax, 11
	mov	WORD PTR [rdi+rcx*2], ax
	cmp	eax, 65535
	je	.L95
.L68:
	add	QWORD PTR [rsp+56], 1
	mov	edi, DWORD PTR [rsp+8]
	mov	rax, QWORD PTR [rsp+56]
	mov	ebx, DWORD PTR [rsp]
	add	DWORD PTR [rsp+88], ebx
	cmp	eax, edi
	jb	.L97
	mov	r14, QWORD PTR [rsp+96]
	mov	r12, QWORD PTR [rsp+120]
	jmp	.L54
.L115:
	mov	DWORD PTR [rsp+32], ebx
	mov	QWORD PTR [rsp+24], r12
.L71:
	add	r9d, 1
	cmp	r9d, DWORD PTR [r15+24]
	jb	.L96
.L70:
	mov	esi, DWORD PTR [rsp+72]
	mov	r13, rdi
	test	esi, esi
	je	.L69
	mov	rax, QWORD PTR [rsp+16]
	mov	rdi, QWORD PTR [rsp+56]
	mov	ecx, -1
	mov	WORD PTR [rax+rdi*2], cx
.L95:
	mov	rdx, QWORD PTR [r13+128]
	mov	edi, DWORD PTR [rsp+96]
	mov	eax, DWORD PTR [rdx]
	lea	ecx, [rax+1]
	mov	DWORD PTR [rdx], ecx
	mov	rdx, QWORD PTR [r13+104]
	lea	ecx, [rax+rax]
	mov	rax, rcx
	mov	DWORD PTR [rdx+rcx*4], edi
	mov	edi, DWORD PTR [rsp+80]
	add	eax, 1
	mov	DWORD PTR [rdx+rax*4], edi
	jmp	.L68
	.p2align 4,,10
	.p2align 3
.L72:
	test	ecx, ecx
	setne	al
	jmp	.L73
.L264:
	mov	r8d, eax
	xor	eax, ecx
	mov	ecx, DWORD PTR [r15+52]
	mov	esi, DWORD PTR [r15+48]
	shr	r8d, 16
	mov	ebx, r8d
	xor	ebx, eax
	imul	ebx, ebx, -1640531535
	shr	ebx, cl
	jmp	.L250
.L268:
	cmp	r12, rax
	je	.L78
	add	ebx, 1
	and	ebx, esi
.L250:
	mov	r8d, ebx
	lea	rcx, [rdx+r8*8]
	mov	rax, QWORD PTR [rcx]
	test	rax, rax
	jne	.L268
	jmp	.L78
.L265:
	mov	rax, QWORD PTR [rdi+128]
	mov	QWORD PTR [rcx], r12
	mov	DWORD PTR [rdx], -2
	mov	rcx, QWORD PTR [rdi+112]
	mov	edx, DWORD PTR [rax+4]
	lea	esi, [rdx+1]
	mov	DWORD PTR [rax+4], esi
	mov	DWORD PTR [rcx+rdx*4], ebx
	add	DWORD PTR [rax+16], 1
.L82:
	mov	DWORD PTR [rsp+72], 1
	jmp	.L71
.L69:
	mov	rax, QWORD PTR [rsp+16]
	mov	rdi, QWORD PTR [rsp+56]
	mov	edx, 3
	mov	WORD PTR [rax+rdi*2], dx
	jmp	.L68
.L266:
	mov	rcx, rax
	and	rax, -4
	mov	edx, DWORD PTR [r11+4+rax]
	shr	rcx, 2
	mov	eax, DWORD PTR [r11+rcx*4]
	sal	rdx, 32
	or	rdx, rax
	je	.L87
	mov	rsi, QWORD PTR [r13+128]
	mov	rdi, QWORD PTR [r13+120]
	xor	r9d, r9d
	mov	ecx, 255
	mov	QWORD PTR [rsp+72], r10
	mov	DWORD PTR [rsp+32], r8d
	call	ref.part.0.isra.0
	mov	r10, QWORD PTR [rsp+72]
	mov	r8d, DWORD PTR [rsp+32]
	jmp	.L87
.L260:
	mov	eax, DWORD PTR [rsp+8]
	cmp	r11d, eax
	jne	.L242
	mov	eax, DWORD PTR [rsp]
	cmp	ebp, eax
	jb	.L54
	mov	ecx, DWORD PTR [r15+20]
	mov	edx, DWORD PTR [r15+16]
	sub	rax, rcx
	mov	rdi, rax
	jmp	.L101
	.p2align 4,,10
	.p2align 3
.L267:
	mov	rcx, rax
	and	rax, -4
	mov	edi, DWORD PTR [r15+56]
	mov	edx, DWORD PTR [r11+4+rax]
	shr	rcx, 2
	mov	eax, DWORD PTR [r11+rcx*4]
	sal	rdx, 32
	or	rdx, rax
	test	edi, edi
	je	.L269
	test	dl, 1
	je	.L93
	add	rdx, 1
	je	.L93
.L251:
	mov	rsi, QWORD PTR [r13+128]
	mov	rdi, QWORD PTR [r13+120]
	xor	r9d, r9d
	mov	ecx, 8
	call	ref.part.0.isra.0
	jmp	.L93
.L269:
	test	rdx, rdx
	jne	.L251
	jmp	.L93
	.size	classify_batch, .-classify_batch
	.p2align 4
	.globl	count_kinds
	.type	count_kinds, @function
count_kinds:
	test	rdx, rdx
	je	.L283
	test	r9, r9
	je	.L295
	push	r15
	mov	r11, rcx
	mov	r10d, 1
	push	r14
	lea	r14, [r8+4]
	push	r13
	xor	r13d, r13d
	push	r12
	mov	r12, rdi
	mov	rdi, rdx
	push	rbp
	push	rbx
	lea	rbx, [rsi+4]
	xor	esi, esi
	sub	rsp, 8
.L273:
	mov	eax, DWORD PTR [rbx-4]
	cmp	eax, DWORD PTR [rbx]
	jnb	.L275
	mov	QWORD PTR [rsp], r13
	xor	r15d, r15d
	.p2align 4,,10
	.p2align 3
.L277:
	mov	edx, eax
	movzx	ecx, WORD PTR [r12+rdx*2]
	lea	rbp, [r11+rcx*4]
	mov	rdx, rcx
	mov	ecx, DWORD PTR [rbp+0]
	lea	r13d, [rcx+1]
	mov	DWORD PTR [rbp+0], r13d
	test	ecx, ecx
	jne	.L276
	lea	rcx, [r10+2]
	cmp	r9, rcx
	jb	.L274
	mov	DWORD PTR [r8+r10*4], edx
	add	r15, 1
	mov	r10, rcx
.L276:
	add	eax, 1
	cmp	eax, DWORD PTR [rbx]
	jb	.L277
	mov	DWORD PTR [r8+rsi*4], r15d
	mov	r13, QWORD PTR [rsp]
	lea	rax, [0+rsi*4]
	test	r15, r15
	je	.L280
	lea	rdx, [rsi+r15*2]
	lea	rax, [r8+4+rax]
	lea	rsi, [r14+rdx*4]
	.p2align 4,,10
	.p2align 3
.L281:
	mov	edx, DWORD PTR [rax]
	add	rax, 8
	lea	rdx, [r11+rdx*4]
	mov	ecx, DWORD PTR [rdx]
	mov	DWORD PTR [rax-4], ecx
	mov	DWORD PTR [rdx], 0
	cmp	rsi, rax
	jne	.L281
.L280:
	mov	rsi, r10
.L279:
	add	r13, 1
	cmp	rdi, r13
	je	.L270
	add	r10, 1
	add	rbx, 4
	cmp	r9, r10
	jnb	.L273
	.p2align 4,,10
	.p2align 3
.L274:
	mov	rsi, -1
.L270:
	add	rsp, 8
	mov	rax, rsi
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
.L275:
	mov	DWORD PTR [r8+rsi*4], 0
	mov	rsi, r10
	jmp	.L279
.L283:
	xor	esi, esi
.L293:
	mov	rax, rsi
	ret
.L295:
	mov	rsi, -1
	jmp	.L293
	.size	count_kinds, .-count_kinds
	.section	.note.GNU-stack,"",@progbits
