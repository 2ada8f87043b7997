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
	sub	rsp, 112
	mov	rax, QWORD PTR [rdi+136]
	mov	r13, QWORD PTR [rdi+40]
	mov	QWORD PTR [rdi+96], rsi
	mov	QWORD PTR [rsp+32], rsi
	mov	QWORD PTR [rsp+24], rdx
	mov	QWORD PTR [rsp+40], rax
	test	rax, rax
	je	.L234
	cmp	QWORD PTR [rdi+144], 0
	je	.L12
	mov	rax, QWORD PTR [rdi+16]
	xor	r15d, r15d
	mov	QWORD PTR [rsp+64], rax
	mov	rax, QWORD PTR [rdi+24]
	mov	QWORD PTR [rsp+72], rax
	mov	rax, QWORD PTR [rdi]
	mov	QWORD PTR [rsp+80], rax
	.p2align 4,,10
	.p2align 3
.L45:
	mov	rax, QWORD PTR [rsp+40]
	mov	rdi, QWORD PTR [rsp+24]
	mov	esi, DWORD PTR [r13+60]
	mov	ecx, DWORD PTR [r13+12]
	mov	edx, DWORD PTR [rax+r15*8]
	mov	ebx, DWORD PTR [rax+4+r15*8]
	mov	rax, QWORD PTR [rsp+80]
	test	esi, esi
	mov	esi, DWORD PTR [r13+4]
	mov	DWORD PTR [rsp+48], ebx
	mov	rax, QWORD PTR [rax+rdx*8]
	mov	QWORD PTR [rsp], rbx
	lea	rbp, [rdi+rax]
	mov	rdi, QWORD PTR [rsp+72]
	cmovne	rbp, rax
	mov	rax, QWORD PTR [rsp+64]
	lea	r8, [rdi+rdx*4]
	mov	edi, DWORD PTR [r13+24]
	movzx	eax, BYTE PTR [rax+rdx]
	mov	edx, DWORD PTR [r8]
	add	eax, 1
	sal	eax, cl
	mov	ecx, DWORD PTR [r13+20]
	mov	r12, rax
	imul	rax, rbx
	sub	r12, rcx
	mov	ecx, DWORD PTR [r13+16]
	add	rcx, rsi
	lea	rbx, [rcx+rax]
	shr	rbx, 2
	test	edi, edi
	je	.L107
	mov	QWORD PTR [rsp+8], r8
	xor	r10d, r10d
	mov	QWORD PTR [rsp+16], r15
	mov	DWORD PTR [rsp+56], edx
	jmp	.L44
	.p2align 4,,10
	.p2align 3
.L235:
	test	dx, dx
	setne	cl
.L23:
	test	cl, cl
	jne	.L21
	cmp	eax, 65535
	jbe	.L24
	mov	ecx, eax
	and	ecx, 7
	or	ecx, edx
	jne	.L24
	mov	r15d, DWORD PTR [r13+44]
	test	r15d, r15d
	je	.L25
	test	eax, eax
	js	.L24
.L25:
	mov	esi, eax
	mov	rdi, r14
	call	readable
	test	eax, eax
	jne	.L21
	.p2align 4,,10
	.p2align 3
.L24:
	mov	edx, DWORD PTR [r9+8]
	mov	rdi, QWORD PTR [r9+8]
	mov	ecx, DWORD PTR [r9+12]
	test	dl, 7
	jne	.L21
	cmp	ecx, 32767
	ja	.L21
	test	ecx, ecx
	jne	.L114
	cmp	edx, 4095
	ja	.L114
.L21:
	add	r10d, 1
	cmp	r10d, DWORD PTR [r13+24]
	jnb	.L20
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
	mov	eax, DWORD PTR [r9]
	mov	edx, DWORD PTR [r9+4]
	test	eax, eax
	je	.L21
	mov	ecx, DWORD PTR [r13+40]
	test	ecx, ecx
	jne	.L235
	test	edx, edx
	setne	cl
	jmp	.L23
.L234:
	cmp	QWORD PTR [rdi+32], 0
	je	.L12
	mov	rax, QWORD PTR [rdi]
	xor	r15d, r15d
	mov	r12, rdi
	mov	r14, r13
	mov	rbp, rax
	.p2align 4,,10
	.p2align 3
.L101:
	mov	rax, QWORD PTR [rbp+0+r15*8]
	cmp	rax, -1
	je	.L226
	mov	rdi, QWORD PTR [rsp+24]
	mov	edx, DWORD PTR [r14+60]
	mov	esi, DWORD PTR [r14]
	mov	r9d, DWORD PTR [r14+4]
	lea	r13, [rdi+rax]
	test	edx, edx
	cmovne	r13, rax
	mov	r10d, DWORD PTR [r13+0]
	mov	eax, DWORD PTR [r13+36]
	mov	edi, DWORD PTR [r13+40]
	cmp	eax, DWORD PTR [r14+8]
	jnb	.L226
	mov	rdx, QWORD PTR [r12+16]
	movzx	edx, BYTE PTR [rdx+r15]
	cmp	eax, edx
	jne	.L226
	mov	ecx, DWORD PTR [r14+12]
	add	eax, 1
	sal	eax, cl
	mov	r8d, eax
	mov	DWORD PTR [rsp], eax
	mov	eax, esi
	sub	eax, r8d
	cmp	DWORD PTR [r13+44], eax
	jne	.L226
	cmp	edi, r9d
	jb	.L226
	cmp	esi, edi
	jb	.L226
	mov	ebx, edi
	xor	edx, edx
	sub	ebx, r9d
	mov	eax, ebx
	div	r8d
	xor	edx, edx
	mov	ecx, eax
	mov	eax, esi
	sub	eax, r9d
	div	r8d
	mov	rdx, QWORD PTR [r12+24]
	lea	rsi, [rdx+r15*4]
	mov	edx, DWORD PTR [rsi]
	mov	QWORD PTR [rsp+40], rsi
	mov	rsi, QWORD PTR [rsp+32]
	lea	rsi, [rsi+rdx*2]
	mov	QWORD PTR [rsp+8], rsi
	test	r10d, r10d
	je	.L236
	cmp	ecx, r10d
	jnb	.L237
	.p2align 4,,10
	.p2align 3
.L226:
	mov	rbp, r15
	mov	r14, r12
.L47:
	mov	rdx, QWORD PTR [r14+128]
	lea	eax, [rbp+1]
	mov	DWORD PTR [rdx+12], eax
.L12:
	add	rsp, 112
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
	.p2align 4,,10
	.p2align 3
.L114:
	mov	eax, edx
	xor	edx, ecx
	mov	ecx, DWORD PTR [r13+52]
	mov	r15, QWORD PTR [r14+48]
	shr	eax, 16
	mov	r8d, DWORD PTR [r13+48]
	xor	eax, edx
	imul	eax, eax, -1640531535
	shr	eax, cl
	mov	ecx, eax
	lea	rsi, [r15+rcx*8]
	mov	rdx, QWORD PTR [rsi]
	cmp	rdx, rdi
	jne	.L27
	jmp	.L28
	.p2align 4,,10
	.p2align 3
.L29:
	add	eax, 1
	and	eax, r8d
	mov	ecx, eax
	lea	rsi, [r15+rcx*8]
	mov	rdx, QWORD PTR [rsi]
	cmp	rdi, rdx
	je	.L28
.L27:
	test	rdx, rdx
	jne	.L29
	mov	rdx, QWORD PTR [r14+56]
	lea	rcx, [rdx+rcx*4]
.L102:
	mov	rdx, QWORD PTR [r14+128]
	mov	QWORD PTR [rsi], rdi
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
	.p2align 4,,10
	.p2align 3
.L20:
	mov	r8, QWORD PTR [rsp+8]
	mov	r15, QWORD PTR [rsp+16]
	mov	eax, 3
	mov	edx, DWORD PTR [r8]
	jmp	.L43
	.p2align 4,,10
	.p2align 3
.L28:
	mov	r8, QWORD PTR [r14+56]
	lea	rcx, [r8+rcx*4]
	test	rdx, rdx
	je	.L102
	mov	edi, DWORD PTR [rcx]
	cmp	edi, -2
	je	.L21
	test	edi, edi
	js	.L21
	movsx	rax, edi
	sal	rax, 6
	add	rax, QWORD PTR [r14+64]
	movsx	rdx, DWORD PTR [rax]
	cmp	r11, rdx
	jne	.L21
	movsx	rdx, DWORD PTR [rax+4]
	add	rdx, r11
	cmp	r12, rdx
	jl	.L21
	mov	ecx, DWORD PTR [rax+8]
	test	ecx, ecx
	je	.L33
	movsx	rdx, DWORD PTR [rax+12]
	add	rdx, r11
	cmp	r12, rdx
	jge	.L33
	mov	edx, ecx
	and	ecx, 3
	sar	edx, 2
	sal	ecx, 3
	movsx	rdx, edx
	mov	edx, DWORD PTR [r9+rdx*4]
	shr	edx, cl
	test	dl, dl
	jne	.L21
.L33:
	mov	edx, DWORD PTR [rsp+56]
	mov	r10d, DWORD PTR [rsp+48]
	xor	esi, esi
	mov	ebp, DWORD PTR [rax+24]
	mov	r8, QWORD PTR [rsp+8]
	add	r10d, edx
	mov	r15, QWORD PTR [rsp+16]
	mov	rbx, r10
	sal	rbx, 32
	test	ebp, ebp
	jle	.L40
	mov	QWORD PTR [rsp+8], r8
	mov	DWORD PTR [rsp+16], r10d
	mov	QWORD PTR [rsp+48], r13
	mov	r13, rbx
	.p2align 4,,10
	.p2align 3
.L39:
	mov	ecx, DWORD PTR [rax+32+rsi*8]
	movsx	rdx, DWORD PTR [rax+28+rsi*8]
	xor	r8d, r8d
	cmp	ecx, 9
	jne	.L37
	lea	r8d, [rdx+8]
	movsx	r8, r8d
	mov	r10, r8
	and	r8, -4
	mov	r8d, DWORD PTR [r9+4+r8]
	shr	r10, 2
	mov	r10d, DWORD PTR [r9+r10*4]
	sal	r8, 32
	or	r8, r10
.L37:
	mov	r10, rdx
	and	rdx, -4
	mov	edx, DWORD PTR [r9+4+rdx]
	shr	r10, 2
	mov	r10d, DWORD PTR [r9+r10*4]
	sal	rdx, 32
	or	rdx, r10
	je	.L38
	mov	rbp, QWORD PTR [r14+128]
	mov	r10, QWORD PTR [r14+120]
	or	rcx, r13
	mov	ebx, DWORD PTR [rbp+8]
	lea	r12d, [rbx+1]
	mov	DWORD PTR [rbp+8], r12d
	lea	ebp, [rbx+rbx*2]
	mov	QWORD PTR [r10+rbp*8], rdx
	lea	edx, [rbp+1]
	mov	QWORD PTR [r10+rdx*8], rcx
	lea	edx, [rbp+2]
	mov	QWORD PTR [r10+rdx*8], r8
.L38:
	add	rsi, 1
	cmp	DWORD PTR [rax+24], esi
	jg	.L39
	mov	r8, QWORD PTR [rsp+8]
	mov	r10d, DWORD PTR [rsp+16]
	mov	r13, QWORD PTR [rsp+48]
.L40:
	movsx	rdx, DWORD PTR [rax+16]
	test	edx, edx
	jne	.L238
.L36:
	movsx	rax, DWORD PTR [rax+20]
	cmp	r11, 31
	jle	.L41
	test	eax, eax
	jne	.L239
.L41:
	lea	eax, [rdi+11]
	cmp	edi, 65524
	mov	ebx, 3
	mov	edx, DWORD PTR [r8]
	cmove	eax, ebx
	.p2align 4,,10
	.p2align 3
.L43:
	mov	rdi, QWORD PTR [rsp]
	mov	rbx, QWORD PTR [rsp+32]
	add	r15, 1
	add	rdx, rdi
	mov	WORD PTR [rbx+rdx*2], ax
	cmp	r15, QWORD PTR [r14+144]
	jb	.L45
	add	rsp, 112
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
.L238:
	mov	rcx, rdx
	and	rdx, -4
	shr	rcx, 2
	mov	edx, DWORD PTR [r9+4+rdx]
	mov	ecx, DWORD PTR [r9+rcx*4]
	sal	rdx, 32
	or	rdx, rcx
	mov	rbp, rdx
	je	.L36
	mov	rcx, QWORD PTR [r14+128]
	mov	rbx, QWORD PTR [r14+120]
	mov	edx, DWORD PTR [rcx+8]
	lea	esi, [rdx+1]
	mov	DWORD PTR [rcx+8], esi
	lea	ecx, [rdx+rdx*2]
	mov	QWORD PTR [rbx+rcx*8], rbp
	mov	rdx, rcx
	lea	esi, [rcx+1]
	mov	rcx, r10
	sal	rcx, 32
	add	edx, 2
	or	cl, -1
	mov	QWORD PTR [rbx+rsi*8], rcx
	mov	QWORD PTR [rbx+rdx*8], 0
	jmp	.L36
.L237:
	mov	esi, DWORD PTR [rsp]
	xor	edx, edx
	cmp	ebx, esi
	jb	.L60
	mov	rsi, QWORD PTR [rsp+8]
	.p2align 4,,10
	.p2align 3
.L57:
	mov	r11d, 3
	mov	WORD PTR [rsi+rdx*2], r11w
	add	rdx, 1
	cmp	edx, ecx
	jb	.L57
.L60:
	cmp	ecx, eax
	jnb	.L59
	sub	eax, 1
	mov	r8, QWORD PTR [rsp+8]
	mov	esi, ecx
	sub	eax, ecx
	add	rax, rsi
	lea	rdx, [r8+rsi*2]
	lea	rax, [r8+2+rax*2]
	.p2align 4,,10
	.p2align 3
.L63:
	xor	r8d, r8d
	add	rdx, 2
	mov	WORD PTR [rdx-2], r8w
	cmp	rax, rdx
	jne	.L63
.L59:
	mov	rax, QWORD PTR [r12+8]
	mov	rsi, QWORD PTR [r13+8]
	mov	rax, QWORD PTR [rax+r15*8]
	mov	QWORD PTR [rsp+56], rax
	test	rsi, rsi
	je	.L240
	mov	rax, QWORD PTR [rsp+56]
	mov	r11d, r9d
	sub	rsi, rax
	cmp	rsi, r11
	jl	.L226
	mov	r8d, edi
	cmp	rsi, r8
	jge	.L226
	mov	eax, DWORD PTR [rsp]
	mov	rdi, rsi
	sub	rdi, r11
	mov	rdx, rax
	mov	rax, rdi
	mov	QWORD PTR [rsp+48], rdx
	xor	edx, edx
	div	QWORD PTR [rsp+48]
	test	rdx, rdx
	jne	.L226
	mov	edx, DWORD PTR [rsp]
	cmp	ebx, edx
	jb	.L226
	mov	QWORD PTR [rsp+64], r14
	xor	ebx, ebx
	mov	r14, QWORD PTR [rsp+8]
	mov	QWORD PTR [rsp+16], r15
	mov	r15, QWORD PTR [rsp+56]
	mov	DWORD PTR [rsp+72], r9d
	mov	r9, QWORD PTR [rsp+48]
	jmp	.L64
	.p2align 4,,10
	.p2align 3
.L242:
	mov	rdx, rsi
	mov	edi, 1
	and	rsi, -4
	add	ebx, 1
	mov	WORD PTR [rax], di
	shr	rdx, 2
	mov	eax, DWORD PTR [r13+4+rsi]
	mov	esi, DWORD PTR [r13+0+rdx*4]
	sal	rax, 32
	or	rsi, rax
	je	.L241
	sub	rsi, r15
	cmp	rsi, r11
	jl	.L225
	cmp	rsi, r8
	jge	.L225
	mov	rdi, rsi
	xor	edx, edx
	sub	rdi, r11
	mov	rax, rdi
	div	r9
	test	rdx, rdx
	jne	.L225
	cmp	ebx, ecx
	jnb	.L225
.L64:
	xor	edx, edx
	mov	rax, rdi
	div	r9
	lea	rax, [r14+rax*2]
	cmp	WORD PTR [rax], 1
	jne	.L242
.L225:
	mov	rbp, QWORD PTR [rsp+16]
	mov	r14, r12
	jmp	.L47
.L239:
	mov	rdx, rax
	and	rax, -4
	mov	ecx, DWORD PTR [r13+56]
	mov	eax, DWORD PTR [r9+4+rax]
	shr	rdx, 2
	mov	edx, DWORD PTR [r9+rdx*4]
	sal	rax, 32
	or	rax, rdx
	test	ecx, ecx
	je	.L243
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
	jmp	.L231
.L236:
	mov	rsi, QWORD PTR [rsp+8]
	xor	edx, edx
	cmp	ebx, r8d
	jb	.L55
	.p2align 4,,10
	.p2align 3
.L52:
	mov	r13d, 1
	mov	WORD PTR [rsi+rdx*2], r13w
	add	rdx, 1
	cmp	edx, ecx
	jb	.L52
.L55:
	cmp	ecx, eax
	jnb	.L54
	sub	eax, 1
	mov	rbx, QWORD PTR [rsp+8]
	mov	esi, ecx
	sub	eax, ecx
	add	rax, rsi
	lea	rdx, [rbx+rsi*2]
	lea	rax, [rbx+2+rax*2]
	.p2align 4,,10
	.p2align 3
.L56:
	xor	ebx, ebx
	add	rdx, 2
	mov	WORD PTR [rdx-2], bx
	cmp	rax, rdx
	jne	.L56
.L54:
	add	r15, 1
	cmp	r15, QWORD PTR [r12+32]
	jb	.L101
	add	rsp, 112
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
.L107:
	mov	eax, 3
	jmp	.L43
.L243:
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
.L231:
	mov	rax, r10
	lea	esi, [rcx+1]
	sal	rax, 32
	or	rax, 8
	mov	QWORD PTR [rdx+rsi*8], rax
	lea	eax, [rcx+2]
	mov	QWORD PTR [rdx+rax*8], 0
	jmp	.L41
.L241:
	mov	eax, ecx
	mov	r14, QWORD PTR [rsp+64]
	mov	r15, QWORD PTR [rsp+16]
	sub	eax, ebx
	mov	r9d, DWORD PTR [rsp+72]
	cmp	r10d, eax
	jne	.L226
	mov	eax, DWORD PTR [r14+20]
	mov	rbx, QWORD PTR [rsp+48]
	mov	edx, DWORD PTR [r14+16]
	sub	rbx, rax
	mov	rdi, rbx
.L106:
	lea	eax, [r9+rdx]
	mov	QWORD PTR [rsp+72], r15
	mov	DWORD PTR [rsp+64], eax
	mov	QWORD PTR [rsp+16], 0
	mov	DWORD PTR [rsp+108], ecx
	mov	QWORD PTR [rsp+96], rbp
	mov	rbp, rdi
.L99:
	mov	rbx, QWORD PTR [rsp+8]
	mov	rax, QWORD PTR [rsp+16]
	cmp	WORD PTR [rbx+rax*2], 1
	je	.L69
	mov	rbx, QWORD PTR [rsp+40]
	mov	r10d, DWORD PTR [rsp+64]
	mov	edx, DWORD PTR [r14+24]
	mov	ebx, DWORD PTR [rbx]
	shr	r10d, 2
	mov	DWORD PTR [rsp+80], ebx
	test	edx, edx
	je	.L70
	mov	DWORD PTR [rsp+56], eax
	xor	r9d, r9d
	mov	DWORD PTR [rsp+48], 0
	jmp	.L98
.L244:
	test	cx, cx
	setne	al
.L74:
	test	al, al
	jne	.L72
	cmp	edx, 65535
	jbe	.L75
	mov	eax, edx
	and	eax, 7
	or	eax, ecx
	jne	.L75
	mov	r15d, DWORD PTR [r14+44]
	test	r15d, r15d
	je	.L76
	test	edx, edx
	js	.L75
.L76:
	mov	esi, edx
	mov	rdi, r12
	call	readable
	test	eax, eax
	jne	.L72
.L75:
	mov	eax, DWORD PTR [r11+8]
	mov	rdi, QWORD PTR [r11+8]
	mov	edx, DWORD PTR [r11+12]
	test	al, 7
	jne	.L72
	cmp	edx, 32767
	ja	.L72
	test	edx, edx
	jne	.L115
	cmp	eax, 4095
	ja	.L115
.L72:
	add	r9d, 1
	cmp	r9d, DWORD PTR [r14+24]
	jnb	.L71
.L98:
	lea	eax, [r9+7]
	mov	ebx, DWORD PTR [r14+rax*4]
	lea	rax, [rbx+15]
	cmp	rax, rbp
	jge	.L71
	mov	rax, rbx
	sar	rax, 2
	add	rax, r10
	lea	r11, [r13+0+rax*4]
	mov	edx, DWORD PTR [r11]
	mov	ecx, DWORD PTR [r11+4]
	test	edx, edx
	je	.L72
	mov	eax, DWORD PTR [r14+40]
	test	eax, eax
	jne	.L244
	test	ecx, ecx
	setne	al
	jmp	.L74
.L70:
	mov	rax, QWORD PTR [rsp+8]
	mov	rbx, QWORD PTR [rsp+16]
	mov	edx, 3
	mov	WORD PTR [rax+rbx*2], dx
.L69:
	add	QWORD PTR [rsp+16], 1
	mov	ebx, DWORD PTR [rsp+108]
	mov	rax, QWORD PTR [rsp+16]
	mov	edi, DWORD PTR [rsp]
	add	DWORD PTR [rsp+64], edi
	cmp	eax, ebx
	jb	.L99
	mov	r15, QWORD PTR [rsp+72]
	mov	rbp, QWORD PTR [rsp+96]
	jmp	.L54
.L115:
	mov	ecx, eax
	xor	eax, edx
	mov	r8d, DWORD PTR [r14+48]
	mov	r15, QWORD PTR [r12+48]
	shr	ecx, 16
	xor	eax, ecx
	mov	ecx, DWORD PTR [r14+52]
	imul	eax, eax, -1640531535
	shr	eax, cl
	jmp	.L232
.L246:
	test	rdx, rdx
	je	.L245
	add	eax, 1
	and	eax, r8d
.L232:
	mov	ecx, eax
	lea	rsi, [r15+rcx*8]
	mov	rdx, QWORD PTR [rsi]
	cmp	rdi, rdx
	jne	.L246
	mov	r8, QWORD PTR [r12+56]
	lea	rcx, [r8+rcx*4]
	test	rdx, rdx
	je	.L104
	mov	edx, DWORD PTR [rcx]
	cmp	edx, -2
	je	.L83
	test	edx, edx
	js	.L72
	movsx	r15, edx
	sal	r15, 6
	add	r15, QWORD PTR [r12+64]
	movsx	rax, DWORD PTR [r15]
	cmp	rbx, rax
	jne	.L72
	movsx	rax, DWORD PTR [r15+4]
	add	rax, rbx
	cmp	rax, rbp
	jg	.L72
	mov	eax, DWORD PTR [r15+8]
	test	eax, eax
	je	.L89
	movsx	rcx, DWORD PTR [r15+12]
	add	rcx, rbx
	cmp	rcx, rbp
	jle	.L89
	mov	esi, eax
	and	eax, 3
	sar	esi, 2
	lea	ecx, [0+rax*8]
	movsx	rsi, esi
	mov	eax, DWORD PTR [r11+rsi*4]
	shr	eax, cl
	test	al, al
	jne	.L72
.L89:
	mov	eax, DWORD PTR [rsp+56]
	mov	r8d, DWORD PTR [rsp+80]
	mov	DWORD PTR [rsp+48], edx
	xor	esi, esi
	mov	r9d, DWORD PTR [r15+24]
	add	r8d, eax
	mov	rax, r8
	sal	rax, 32
	mov	QWORD PTR [rsp+88], rax
	test	r9d, r9d
	jle	.L93
.L92:
	mov	edx, DWORD PTR [r15+32+rsi*8]
	movsx	rcx, DWORD PTR [r15+28+rsi*8]
	xor	eax, eax
	cmp	edx, 9
	jne	.L90
	lea	eax, [rcx+8]
	cdqe
	mov	rdi, rax
	and	rax, -4
	mov	eax, DWORD PTR [r11+4+rax]
	shr	rdi, 2
	mov	edi, DWORD PTR [r11+rdi*4]
	sal	rax, 32
	or	rax, rdi
.L90:
	mov	rdi, rcx
	and	rcx, -4
	shr	rdi, 2
	mov	ecx, DWORD PTR [r11+4+rcx]
	mov	edi, DWORD PTR [r11+rdi*4]
	sal	rcx, 32
	or	rcx, rdi
	mov	QWORD PTR [rsp+80], rcx
	je	.L91
	mov	r9, QWORD PTR [r12+128]
	mov	rcx, QWORD PTR [r12+120]
	mov	edi, DWORD PTR [r9+8]
	lea	r10d, [rdi+1]
	mov	DWORD PTR [r9+8], r10d
	mov	r10, QWORD PTR [rsp+80]
	lea	r9d, [rdi+rdi*2]
	mov	rdi, r9
	mov	QWORD PTR [rcx+r9*8], r10
	mov	r10, QWORD PTR [rsp+88]
	lea	r9d, [r9+1]
	or	rdx, r10
	mov	QWORD PTR [rcx+r9*8], rdx
	lea	edx, [rdi+2]
	mov	QWORD PTR [rcx+rdx*8], rax
.L91:
	add	rsi, 1
	cmp	DWORD PTR [r15+24], esi
	jg	.L92
.L93:
	movsx	rax, DWORD PTR [r15+16]
	test	eax, eax
	jne	.L247
.L88:
	movsx	rax, DWORD PTR [r15+20]
	test	eax, eax
	je	.L94
	cmp	rbx, 31
	jg	.L248
.L94:
	mov	eax, DWORD PTR [rsp+48]
	mov	rbx, QWORD PTR [rsp+8]
	mov	rdi, QWORD PTR [rsp+16]
	add	eax, 11
	mov	WORD PTR [rbx+rdi*2], ax
	cmp	eax, 65535
	jne	.L69
.L96:
	mov	rdx, QWORD PTR [r12+128]
	mov	ebx, DWORD PTR [rsp+72]
	mov	eax, DWORD PTR [rdx]
	lea	ecx, [rax+1]
	mov	DWORD PTR [rdx], ecx
	mov	rdx, QWORD PTR [r12+104]
	lea	ecx, [rax+rax]
	mov	rax, rcx
	mov	DWORD PTR [rdx+rcx*4], ebx
	mov	ebx, DWORD PTR [rsp+56]
	add	eax, 1
	mov	DWORD PTR [rdx+rax*4], ebx
	jmp	.L69
.L71:
	mov	esi, DWORD PTR [rsp+48]
	test	esi, esi
	je	.L70
	mov	rax, QWORD PTR [rsp+8]
	mov	rbx, QWORD PTR [rsp+16]
	mov	ecx, -1
	mov	WORD PTR [rax+rbx*2], cx
	jmp	.L96
.L245:
	mov	rdx, QWORD PTR [r12+56]
	lea	rcx, [rdx+rcx*4]
.L104:
	mov	rdx, QWORD PTR [r12+128]
	mov	QWORD PTR [rsi], rdi
	mov	DWORD PTR [rcx], -2
	mov	rsi, QWORD PTR [r12+112]
	mov	ecx, DWORD PTR [rdx+4]
	lea	edi, [rcx+1]
	mov	DWORD PTR [rdx+4], edi
	mov	DWORD PTR [rsi+rcx*4], eax
	add	DWORD PTR [rdx+16], 1
.L83:
	mov	DWORD PTR [rsp+48], 1
	jmp	.L72
.L240:
	cmp	r10d, ecx
	jne	.L226
	mov	eax, DWORD PTR [rsp]
	cmp	ebx, eax
	jb	.L54
	mov	esi, DWORD PTR [r14+20]
	mov	edx, DWORD PTR [r14+16]
	sub	rax, rsi
	mov	rdi, rax
	jmp	.L106
	.p2align 4,,10
	.p2align 3
.L247:
	mov	rcx, rax
	and	rax, -4
	mov	edx, DWORD PTR [r11+4+rax]
	shr	rcx, 2
	mov	eax, DWORD PTR [r11+rcx*4]
	sal	rdx, 32
	or	rdx, rax
	je	.L88
	mov	rsi, QWORD PTR [r12+128]
	mov	rdi, QWORD PTR [r12+120]
	xor	r9d, r9d
	mov	ecx, 255
	mov	DWORD PTR [rsp+80], r8d
	call	ref.part.0.isra.0
	mov	r8d, DWORD PTR [rsp+80]
	jmp	.L88
.L248:
	mov	rcx, rax
	and	rax, -4
	mov	edi, DWORD PTR [r14+56]
	mov	edx, DWORD PTR [r11+4+rax]
	shr	rcx, 2
	mov	eax, DWORD PTR [r11+rcx*4]
	sal	rdx, 32
	or	rdx, rax
	test	edi, edi
	je	.L249
	test	dl, 1
	je	.L94
	add	rdx, 1
	je	.L94
.L233:
	mov	rsi, QWORD PTR [r12+128]
	mov	rdi, QWORD PTR [r12+120]
	xor	r9d, r9d
	mov	ecx, 8
	call	ref.part.0.isra.0
	jmp	.L94
.L249:
	test	rdx, rdx
	jne	.L233
	jmp	.L94
	.size	classify_batch, .-classify_batch
	.p2align 4
	.globl	count_kinds
	.type	count_kinds, @function
count_kinds:
	test	rdx, rdx
	je	.L263
	test	r9, r9
	je	.L275
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
.L253:
	mov	eax, DWORD PTR [rbx-4]
	cmp	eax, DWORD PTR [rbx]
	jnb	.L255
	mov	QWORD PTR [rsp], r13
	xor	r15d, r15d
	.p2align 4,,10
	.p2align 3
.L257:
	mov	edx, eax
	movzx	ecx, WORD PTR [r12+rdx*2]
	lea	rbp, [r11+rcx*4]
	mov	rdx, rcx
	mov	ecx, DWORD PTR [rbp+0]
	lea	r13d, [rcx+1]
	mov	DWORD PTR [rbp+0], r13d
	test	ecx, ecx
	jne	.L256
	lea	rcx, [r10+2]
	cmp	r9, rcx
	jb	.L254
	mov	DWORD PTR [r8+r10*4], edx
	add	r15, 1
	mov	r10, rcx
.L256:
	add	eax, 1
	cmp	eax, DWORD PTR [rbx]
	jb	.L257
	mov	DWORD PTR [r8+rsi*4], r15d
	mov	r13, QWORD PTR [rsp]
	lea	rax, [0+rsi*4]
	test	r15, r15
	je	.L260
	lea	rdx, [rsi+r15*2]
	lea	rax, [r8+4+rax]
	lea	rsi, [r14+rdx*4]
	.p2align 4,,10
	.p2align 3
.L261:
	mov	edx, DWORD PTR [rax]
	add	rax, 8
	lea	rdx, [r11+rdx*4]
	mov	ecx, DWORD PTR [rdx]
	mov	DWORD PTR [rax-4], ecx
	mov	DWORD PTR [rdx], 0
	cmp	rsi, rax
	jne	.L261
.L260:
	mov	rsi, r10
.L259:
	add	r13, 1
	cmp	rdi, r13
	je	.L250
	add	r10, 1
	add	rbx, 4
	cmp	r9, r10
	jnb	.L253
	.p2align 4,,10
	.p2align 3
.L254:
	mov	rsi, -1
.L250:
	add	rsp, 8
	mov	rax, rsi
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
.L255:
	mov	DWORD PTR [r8+rsi*4], 0
	mov	rsi, r10
	jmp	.L259
.L263:
	xor	esi, esi
.L273:
	mov	rax, rsi
	ret
.L275:
	mov	rsi, -1
	jmp	.L273
	.size	count_kinds, .-count_kinds
	.section	.note.GNU-stack,"",@progbits
