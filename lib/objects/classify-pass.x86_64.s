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
	.type	batch, @function
batch:
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
	mov	QWORD PTR [rsp+32], rdx
	mov	QWORD PTR [rsp+56], rax
	test	rax, rax
	je	.L256
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
.L46:
	mov	rax, QWORD PTR [rsp+56]
	mov	rbx, QWORD PTR [rsp+32]
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
	je	.L103
	mov	DWORD PTR [rsp+8], 0
	xor	r10d, r10d
	mov	QWORD PTR [rsp], 0
	mov	DWORD PTR [rsp+64], esi
	mov	QWORD PTR [rsp+40], r8
	mov	DWORD PTR [rsp+72], r15d
	.p2align 4,,10
	.p2align 3
.L45:
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
	mov	r15d, DWORD PTR [r13+40]
	test	r15d, r15d
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
	mov	r8d, DWORD PTR [r13+44]
	test	r8d, r8d
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
	jne	.L119
	cmp	edx, 4095
	jbe	.L21
.L119:
	mov	rax, QWORD PTR [rsp]
	mov	rdi, QWORD PTR [r14+48]
	cmp	rsi, rax
	jne	.L257
	mov	ecx, DWORD PTR [rsp+8]
	lea	r15, [rdi+rcx*8]
	mov	rax, rcx
	mov	rdx, QWORD PTR [r15]
.L28:
	test	rdx, rdx
	je	.L222
	mov	rdx, QWORD PTR [r14+56]
	mov	edi, DWORD PTR [rdx+rcx*4]
	cmp	edi, -2
	je	.L21
	test	edi, edi
	js	.L107
	movsx	rdx, edi
	sal	rdx, 6
	add	rdx, QWORD PTR [r14+64]
	movsx	rcx, DWORD PTR [rdx]
	cmp	r11, rcx
	jne	.L107
	movsx	rcx, DWORD PTR [rdx+4]
	add	rcx, r11
	cmp	r12, rcx
	jl	.L107
	mov	ecx, DWORD PTR [rdx+8]
	test	ecx, ecx
	je	.L34
	movsx	r8, DWORD PTR [rdx+12]
	add	r8, r11
	cmp	r12, r8
	jge	.L34
	mov	r8d, ecx
	and	ecx, 3
	sar	r8d, 2
	sal	ecx, 3
	movsx	r8, r8d
	mov	r8d, DWORD PTR [r9+r8*4]
	shr	r8d, cl
	test	r8b, r8b
	jne	.L107
.L34:
	mov	esi, DWORD PTR [rsp+64]
	mov	r15d, DWORD PTR [rsp+72]
	mov	r12d, DWORD PTR [rdx+24]
	mov	r8, QWORD PTR [rsp+40]
	lea	ebx, [rsi+r15]
	xor	esi, esi
	mov	r15, rbx
	sal	r15, 32
	test	r12d, r12d
	jle	.L41
	mov	DWORD PTR [rsp], ebx
	mov	QWORD PTR [rsp+8], r13
	.p2align 4,,10
	.p2align 3
.L40:
	mov	ecx, DWORD PTR [rdx+32+rsi*8]
	mov	ebx, DWORD PTR [rdx+28+rsi*8]
	xor	r10d, r10d
	cmp	ecx, 9
	jne	.L38
	lea	eax, [rbx+8]
	sar	eax, 2
	cdqe
	mov	r10d, DWORD PTR [r9+4+rax*4]
	mov	eax, DWORD PTR [r9+rax*4]
	sal	r10, 32
	or	r10, rax
.L38:
	sar	ebx, 2
	movsx	rbx, ebx
	mov	eax, DWORD PTR [r9+4+rbx*4]
	mov	ebx, DWORD PTR [r9+rbx*4]
	sal	rax, 32
	or	rax, rbx
	je	.L39
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
.L39:
	add	rsi, 1
	cmp	DWORD PTR [rdx+24], esi
	jg	.L40
	mov	ebx, DWORD PTR [rsp]
	mov	r13, QWORD PTR [rsp+8]
.L41:
	mov	eax, DWORD PTR [rdx+16]
	test	eax, eax
	jne	.L258
.L37:
	mov	eax, DWORD PTR [rdx+20]
	cmp	r11, 31
	jle	.L42
	test	eax, eax
	jne	.L259
.L42:
	mov	rbx, QWORD PTR [rsp+24]
	lea	eax, [rdi+15]
	cmp	edi, 65520
	mov	edi, 3
	cmove	eax, edi
	mov	r15d, DWORD PTR [rbx]
	.p2align 4,,10
	.p2align 3
.L44:
	mov	rdi, QWORD PTR [rsp+16]
	add	r8, 1
	add	r15, rdi
	mov	rdi, QWORD PTR [rsp+48]
	mov	WORD PTR [rdi+r15*2], ax
	cmp	r8, QWORD PTR [r14+144]
	jb	.L46
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
	jb	.L45
.L20:
	mov	rax, QWORD PTR [rsp+24]
	mov	r8, QWORD PTR [rsp+40]
	mov	r15d, DWORD PTR [rax]
	mov	eax, 3
	jmp	.L44
	.p2align 4,,10
	.p2align 3
.L257:
	mov	eax, edx
	xor	edx, ecx
	mov	ecx, DWORD PTR [r13+52]
	mov	r8d, DWORD PTR [r13+48]
	shr	eax, 16
	xor	eax, edx
	imul	eax, eax, -1640531535
	shr	eax, cl
	jmp	.L253
	.p2align 4,,10
	.p2align 3
.L260:
	add	eax, 1
	and	eax, r8d
.L253:
	mov	ecx, eax
	lea	r15, [rdi+rcx*8]
	mov	rdx, QWORD PTR [r15]
	cmp	rsi, rdx
	je	.L28
	test	rdx, rdx
	jne	.L260
.L222:
	mov	rdx, QWORD PTR [r14+128]
	mov	edi, DWORD PTR [rdx+20]
	test	edi, edi
	je	.L32
	add	DWORD PTR [rdx+4], 1
	add	r10d, 1
	cmp	r10d, DWORD PTR [r13+24]
	jb	.L45
	jmp	.L20
	.p2align 4,,10
	.p2align 3
.L107:
	mov	DWORD PTR [rsp+8], eax
	add	r10d, 1
	mov	QWORD PTR [rsp], rsi
	cmp	r10d, DWORD PTR [r13+24]
	jb	.L45
	jmp	.L20
	.p2align 4,,10
	.p2align 3
.L32:
	mov	QWORD PTR [r15], rsi
	mov	rsi, QWORD PTR [r14+56]
	add	r10d, 1
	mov	DWORD PTR [rsi+rcx*4], -2
	mov	ecx, DWORD PTR [rdx+4]
	mov	rsi, QWORD PTR [r14+112]
	lea	edi, [rcx+1]
	mov	DWORD PTR [rdx+4], edi
	mov	DWORD PTR [rsi+rcx*4], eax
	add	DWORD PTR [rdx+16], 1
	cmp	r10d, DWORD PTR [r13+24]
	jb	.L45
	jmp	.L20
.L256:
	cmp	QWORD PTR [rdi+32], 0
	je	.L12
	xor	eax, eax
	mov	r12, QWORD PTR [rdi]
	mov	r15, r13
	mov	r13, rdi
	mov	r14, rax
	.p2align 4,,10
	.p2align 3
.L100:
	mov	rax, QWORD PTR [r12+r14*8]
	cmp	rax, -1
	je	.L248
	mov	rdi, QWORD PTR [rsp+32]
	mov	r11d, DWORD PTR [r15+60]
	mov	esi, DWORD PTR [r15]
	mov	r9d, DWORD PTR [r15+4]
	lea	r10, [rdi+rax]
	test	r11d, r11d
	cmovne	r10, rax
	mov	r11d, DWORD PTR [r10]
	mov	eax, DWORD PTR [r10+36]
	mov	edi, DWORD PTR [r10+40]
	cmp	eax, DWORD PTR [r15+8]
	jnb	.L248
	mov	rdx, QWORD PTR [r13+16]
	movzx	edx, BYTE PTR [rdx+r14]
	cmp	eax, edx
	jne	.L248
	mov	ecx, DWORD PTR [r15+12]
	add	eax, 1
	sal	eax, cl
	mov	ebx, eax
	mov	DWORD PTR [rsp], eax
	mov	eax, esi
	sub	eax, ebx
	cmp	DWORD PTR [r10+44], eax
	jne	.L248
	cmp	edi, r9d
	jb	.L248
	cmp	esi, edi
	jb	.L248
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
	je	.L261
	cmp	DWORD PTR [rsp+8], r11d
	jb	.L248
	mov	ebx, DWORD PTR [rsp]
	xor	edx, edx
	cmp	ebp, ebx
	jb	.L61
	mov	rcx, QWORD PTR [rsp+16]
	mov	esi, DWORD PTR [rsp+8]
	.p2align 4,,10
	.p2align 3
.L58:
	mov	r8d, 3
	mov	WORD PTR [rcx+rdx*2], r8w
	add	rdx, 1
	cmp	edx, esi
	jb	.L58
.L61:
	cmp	DWORD PTR [rsp+8], eax
	jnb	.L60
	mov	ecx, DWORD PTR [rsp+8]
	sub	eax, 1
	mov	rsi, QWORD PTR [rsp+16]
	sub	eax, ecx
	lea	rdx, [rsi+rcx*2]
	add	rax, rcx
	lea	rax, [rsi+2+rax*2]
	.p2align 4,,10
	.p2align 3
.L64:
	xor	ecx, ecx
	add	rdx, 2
	mov	WORD PTR [rdx-2], cx
	cmp	rax, rdx
	jne	.L64
.L60:
	mov	rax, QWORD PTR [r13+8]
	mov	rcx, QWORD PTR [r10+8]
	mov	rsi, QWORD PTR [rax+r14*8]
	test	rcx, rcx
	je	.L262
	sub	rcx, rsi
	mov	ebx, r9d
	cmp	rcx, rbx
	jl	.L248
	mov	r8d, edi
	cmp	rcx, r8
	jge	.L248
	mov	eax, DWORD PTR [rsp]
	mov	rdi, rcx
	sub	rdi, rbx
	mov	rdx, rax
	mov	rax, rdi
	mov	QWORD PTR [rsp+40], rdx
	xor	edx, edx
	div	QWORD PTR [rsp+40]
	test	rdx, rdx
	jne	.L248
	mov	eax, DWORD PTR [rsp]
	cmp	ebp, eax
	jb	.L248
	mov	QWORD PTR [rsp+56], r15
	xor	ebp, ebp
	mov	r15d, DWORD PTR [rsp+8]
	mov	QWORD PTR [rsp+24], r14
	mov	r14, QWORD PTR [rsp+16]
	mov	DWORD PTR [rsp+72], r9d
	mov	r9, QWORD PTR [rsp+40]
	jmp	.L65
	.p2align 4,,10
	.p2align 3
.L264:
	mov	edx, 1
	add	ebp, 1
	mov	WORD PTR [rax], dx
	mov	rdx, rcx
	and	rcx, -4
	mov	eax, DWORD PTR [r10+4+rcx]
	sar	rdx, 2
	mov	ecx, DWORD PTR [r10+rdx*4]
	sal	rax, 32
	or	rcx, rax
	je	.L263
	sub	rcx, rsi
	cmp	rcx, rbx
	jl	.L246
	cmp	rcx, r8
	jge	.L246
	mov	rdi, rcx
	xor	edx, edx
	sub	rdi, rbx
	mov	rax, rdi
	div	r9
	test	rdx, rdx
	jne	.L246
	cmp	ebp, r15d
	jnb	.L246
.L65:
	xor	edx, edx
	mov	rax, rdi
	div	r9
	lea	rax, [r14+rax*2]
	cmp	WORD PTR [rax], 1
	jne	.L264
.L246:
	mov	rax, QWORD PTR [rsp+24]
	mov	r14, r13
	jmp	.L48
	.p2align 4,,10
	.p2align 3
.L248:
	mov	rax, r14
	mov	r14, r13
.L48:
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
.L258:
	sar	eax, 2
	cdqe
	mov	ecx, DWORD PTR [r9+4+rax*4]
	mov	eax, DWORD PTR [r9+rax*4]
	sal	rcx, 32
	or	rcx, rax
	mov	rbp, rcx
	je	.L37
	mov	rcx, QWORD PTR [r14+128]
	mov	r10, QWORD PTR [r14+120]
	mov	eax, DWORD PTR [rcx+8]
	lea	esi, [rax+1]
	mov	DWORD PTR [rcx+8], esi
	lea	ecx, [rax+rax*2]
	mov	QWORD PTR [r10+rcx*8], rbp
	mov	rax, rcx
	lea	esi, [rcx+1]
	mov	rcx, rbx
	sal	rcx, 32
	add	eax, 2
	or	cl, -1
	mov	QWORD PTR [r10+rsi*8], rcx
	mov	QWORD PTR [r10+rax*8], 0
	jmp	.L37
.L259:
	sar	eax, 2
	mov	ebp, DWORD PTR [r13+56]
	movsx	rdx, eax
	mov	eax, DWORD PTR [r9+4+rdx*4]
	mov	edx, DWORD PTR [r9+rdx*4]
	sal	rax, 32
	or	rax, rdx
	test	ebp, ebp
	je	.L265
	test	al, 1
	je	.L42
	add	rax, 1
	mov	r9, rax
	je	.L42
	mov	rcx, QWORD PTR [r14+128]
	mov	rdx, QWORD PTR [r14+120]
	mov	eax, DWORD PTR [rcx+8]
	lea	esi, [rax+1]
	lea	eax, [rax+rax*2]
	mov	DWORD PTR [rcx+8], esi
	mov	rcx, rax
	mov	QWORD PTR [rdx+rax*8], r9
	jmp	.L254
.L261:
	mov	edi, DWORD PTR [rsp]
	xor	edx, edx
	cmp	ebp, edi
	jb	.L56
	mov	rcx, QWORD PTR [rsp+16]
	mov	esi, DWORD PTR [rsp+8]
	.p2align 4,,10
	.p2align 3
.L53:
	mov	r10d, 1
	mov	WORD PTR [rcx+rdx*2], r10w
	add	rdx, 1
	cmp	edx, esi
	jb	.L53
.L56:
	cmp	DWORD PTR [rsp+8], eax
	jnb	.L55
	mov	ecx, DWORD PTR [rsp+8]
	sub	eax, 1
	mov	rbx, QWORD PTR [rsp+16]
	sub	eax, ecx
	lea	rdx, [rbx+rcx*2]
	add	rax, rcx
	lea	rax, [rbx+2+rax*2]
	.p2align 4,,10
	.p2align 3
.L57:
	xor	r9d, r9d
	add	rdx, 2
	mov	WORD PTR [rdx-2], r9w
	cmp	rax, rdx
	jne	.L57
.L55:
	add	r14, 1
	cmp	r14, QWORD PTR [r13+32]
	jb	.L100
	jmp	.L12
.L103:
	mov	eax, 3
	jmp	.L44
.L265:
	test	rax, rax
	je	.L42
	mov	rsi, QWORD PTR [r14+128]
	mov	rdx, QWORD PTR [r14+120]
	mov	ecx, DWORD PTR [rsi+8]
	lea	r9d, [rcx+1]
	mov	DWORD PTR [rsi+8], r9d
	lea	esi, [rcx+rcx*2]
	mov	QWORD PTR [rdx+rsi*8], rax
	mov	rcx, rsi
.L254:
	mov	rax, rbx
	lea	esi, [rcx+1]
	sal	rax, 32
	or	rax, 8
	mov	QWORD PTR [rdx+rsi*8], rax
	lea	eax, [rcx+2]
	mov	QWORD PTR [rdx+rax*8], 0
	jmp	.L42
.L263:
	mov	eax, DWORD PTR [rsp+8]
	mov	r15, QWORD PTR [rsp+56]
	mov	r14, QWORD PTR [rsp+24]
	mov	r9d, DWORD PTR [rsp+72]
	sub	eax, ebp
	cmp	r11d, eax
	jne	.L248
	mov	eax, DWORD PTR [r15+20]
	mov	rdi, QWORD PTR [rsp+40]
	mov	edx, DWORD PTR [r15+16]
	sub	rdi, rax
.L102:
	lea	eax, [r9+rdx]
	mov	QWORD PTR [rsp+112], r10
	mov	DWORD PTR [rsp+88], eax
	mov	QWORD PTR [rsp+56], 0
	mov	DWORD PTR [rsp+40], 0
	mov	QWORD PTR [rsp+24], 0
	mov	QWORD PTR [rsp+120], r12
	mov	QWORD PTR [rsp+96], r14
	mov	r14, rdi
.L98:
	mov	rdi, QWORD PTR [rsp+16]
	mov	rax, QWORD PTR [rsp+56]
	cmp	WORD PTR [rdi+rax*2], 1
	je	.L69
	mov	rdi, QWORD PTR [rsp+64]
	mov	edx, DWORD PTR [rsp+88]
	mov	edi, DWORD PTR [rdi]
	shr	edx, 2
	mov	DWORD PTR [rsp+108], edi
	mov	edi, DWORD PTR [r15+24]
	test	edi, edi
	je	.L70
	mov	DWORD PTR [rsp+80], eax
	mov	r10, QWORD PTR [rsp+112]
	mov	rdi, r13
	xor	r9d, r9d
	mov	DWORD PTR [rsp+72], 0
	mov	r13, rdx
	.p2align 4,,10
	.p2align 3
.L97:
	lea	eax, [r9+7]
	mov	ebp, DWORD PTR [r15+rax*4]
	lea	rax, [rbp+15]
	cmp	rax, r14
	jge	.L71
	mov	rax, rbp
	sar	rax, 2
	add	rax, r13
	lea	r11, [r10+rax*4]
	mov	edx, DWORD PTR [r11]
	mov	ecx, DWORD PTR [r11+4]
	test	edx, edx
	je	.L72
	mov	esi, DWORD PTR [r15+40]
	test	esi, esi
	je	.L73
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
	mov	ecx, DWORD PTR [r15+44]
	test	ecx, ecx
	je	.L76
	test	edx, edx
	js	.L75
.L76:
	mov	esi, edx
	call	readable
	test	eax, eax
	jne	.L72
.L75:
	mov	eax, DWORD PTR [r11+8]
	mov	r12, QWORD PTR [r11+8]
	mov	ecx, DWORD PTR [r11+12]
	test	al, 7
	jne	.L72
	cmp	ecx, 32767
	ja	.L72
	test	ecx, ecx
	jne	.L120
	cmp	eax, 4095
	jbe	.L72
.L120:
	mov	rbx, QWORD PTR [rsp+24]
	mov	rdx, QWORD PTR [rdi+48]
	cmp	r12, rbx
	jne	.L266
	mov	ecx, DWORD PTR [rsp+40]
	lea	r8, [rdx+rcx*8]
	mov	rbx, rcx
	mov	rax, QWORD PTR [r8]
.L79:
	test	rax, rax
	je	.L223
	mov	rax, QWORD PTR [rdi+56]
	mov	edx, DWORD PTR [rax+rcx*4]
	cmp	edx, -2
	je	.L84
	test	edx, edx
	js	.L116
	movsx	rax, edx
	sal	rax, 6
	add	rax, QWORD PTR [rdi+64]
	movsx	rcx, DWORD PTR [rax]
	cmp	rbp, rcx
	jne	.L116
	movsx	rcx, DWORD PTR [rax+4]
	add	rcx, rbp
	cmp	rcx, r14
	jg	.L116
	mov	ecx, DWORD PTR [rax+8]
	test	ecx, ecx
	je	.L89
	movsx	rsi, DWORD PTR [rax+12]
	add	rsi, rbp
	cmp	rsi, r14
	jle	.L89
	mov	esi, ecx
	and	ecx, 3
	sar	esi, 2
	sal	ecx, 3
	movsx	rsi, esi
	mov	esi, DWORD PTR [r11+rsi*4]
	shr	esi, cl
	test	sil, sil
	jne	.L116
.L89:
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
	jle	.L93
	mov	DWORD PTR [rsp+108], r8d
.L92:
	mov	edi, DWORD PTR [r10+32+r9*8]
	mov	edx, DWORD PTR [r10+28+r9*8]
	xor	eax, eax
	cmp	edi, 9
	jne	.L90
	lea	ecx, [rdx+8]
	sar	ecx, 2
	movsx	rcx, ecx
	mov	eax, DWORD PTR [r11+4+rcx*4]
	mov	ecx, DWORD PTR [r11+rcx*4]
	sal	rax, 32
	or	rax, rcx
.L90:
	sar	edx, 2
	movsx	rdx, edx
	mov	ecx, DWORD PTR [r11+4+rdx*4]
	mov	edx, DWORD PTR [r11+rdx*4]
	sal	rcx, 32
	or	rcx, rdx
	mov	QWORD PTR [rsp+40], rcx
	je	.L91
	mov	rsi, QWORD PTR [r13+128]
	mov	r8, QWORD PTR [r13+128]
	mov	rdx, QWORD PTR [r13+120]
	mov	ecx, DWORD PTR [rsi+8]
	lea	esi, [rcx+1]
	mov	DWORD PTR [r8+8], esi
	mov	r8, QWORD PTR [rsp+40]
	lea	esi, [rcx+rcx*2]
	mov	rcx, rsi
	mov	QWORD PTR [rdx+rsi*8], r8
	mov	r8, QWORD PTR [rsp+72]
	lea	esi, [rsi+1]
	add	ecx, 2
	or	rdi, r8
	mov	QWORD PTR [rdx+rsi*8], rdi
	mov	QWORD PTR [rdx+rcx*8], rax
.L91:
	add	r9, 1
	cmp	DWORD PTR [r10+24], r9d
	jg	.L92
	mov	r8d, DWORD PTR [rsp+108]
.L93:
	mov	eax, DWORD PTR [r10+16]
	test	eax, eax
	jne	.L267
.L88:
	mov	eax, DWORD PTR [r10+20]
	cmp	rbp, 31
	jle	.L94
	test	eax, eax
	jne	.L268
.L94:
	mov	eax, DWORD PTR [rsp+24]
	mov	rdi, QWORD PTR [rsp+16]
	mov	DWORD PTR [rsp+40], ebx
	mov	rcx, QWORD PTR [rsp+56]
	mov	QWORD PTR [rsp+24], r12
	add	eax, 15
	mov	WORD PTR [rdi+rcx*2], ax
	cmp	eax, 65535
	je	.L96
.L69:
	add	QWORD PTR [rsp+56], 1
	mov	edi, DWORD PTR [rsp+8]
	mov	rax, QWORD PTR [rsp+56]
	mov	ebx, DWORD PTR [rsp]
	add	DWORD PTR [rsp+88], ebx
	cmp	eax, edi
	jb	.L98
	mov	r14, QWORD PTR [rsp+96]
	mov	r12, QWORD PTR [rsp+120]
	jmp	.L55
.L116:
	mov	DWORD PTR [rsp+40], ebx
	mov	QWORD PTR [rsp+24], r12
.L72:
	add	r9d, 1
	cmp	r9d, DWORD PTR [r15+24]
	jb	.L97
.L71:
	mov	esi, DWORD PTR [rsp+72]
	mov	r13, rdi
	test	esi, esi
	je	.L70
	mov	rax, QWORD PTR [rsp+16]
	mov	rdi, QWORD PTR [rsp+56]
	mov	ecx, -1
	mov	WORD PTR [rax+rdi*2], cx
.L96:
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
	jmp	.L69
	.p2align 4,,10
	.p2align 3
.L73:
	test	ecx, ecx
	setne	al
	jmp	.L74
.L266:
	mov	r8d, eax
	xor	eax, ecx
	mov	ecx, DWORD PTR [r15+52]
	mov	esi, DWORD PTR [r15+48]
	shr	r8d, 16
	mov	ebx, r8d
	xor	ebx, eax
	imul	ebx, ebx, -1640531535
	shr	ebx, cl
	mov	ecx, ebx
	lea	r8, [rdx+rcx*8]
	mov	rax, QWORD PTR [r8]
	cmp	r12, rax
	je	.L79
	test	rax, rax
	jne	.L80
	jmp	.L223
	.p2align 4,,10
	.p2align 3
.L269:
	cmp	r12, rax
	je	.L79
.L80:
	add	ebx, 1
	and	ebx, esi
	mov	ecx, ebx
	lea	r8, [rdx+rcx*8]
	mov	rax, QWORD PTR [r8]
	test	rax, rax
	jne	.L269
.L223:
	mov	rax, QWORD PTR [rdi+128]
	mov	edx, DWORD PTR [rax+20]
	test	edx, edx
	je	.L83
	add	DWORD PTR [rax+4], 1
.L84:
	mov	DWORD PTR [rsp+72], 1
	jmp	.L72
.L83:
	mov	rdx, QWORD PTR [rdi+56]
	mov	QWORD PTR [r8], r12
	mov	DWORD PTR [rdx+rcx*4], -2
	mov	edx, DWORD PTR [rax+4]
	mov	rcx, QWORD PTR [rdi+112]
	lea	esi, [rdx+1]
	mov	DWORD PTR [rax+4], esi
	mov	DWORD PTR [rcx+rdx*4], ebx
	add	DWORD PTR [rax+16], 1
	jmp	.L84
.L70:
	mov	rax, QWORD PTR [rsp+16]
	mov	rdi, QWORD PTR [rsp+56]
	mov	edx, 3
	mov	WORD PTR [rax+rdi*2], dx
	jmp	.L69
.L262:
	mov	eax, DWORD PTR [rsp+8]
	cmp	r11d, eax
	jne	.L248
	mov	eax, DWORD PTR [rsp]
	cmp	ebp, eax
	jb	.L55
	mov	ecx, DWORD PTR [r15+20]
	mov	edx, DWORD PTR [r15+16]
	sub	rax, rcx
	mov	rdi, rax
	jmp	.L102
	.p2align 4,,10
	.p2align 3
.L267:
	sar	eax, 2
	cdqe
	mov	edx, DWORD PTR [r11+4+rax*4]
	mov	eax, DWORD PTR [r11+rax*4]
	sal	rdx, 32
	or	rdx, rax
	je	.L88
	mov	rsi, QWORD PTR [r13+128]
	mov	rdi, QWORD PTR [r13+120]
	xor	r9d, r9d
	mov	ecx, 255
	mov	QWORD PTR [rsp+72], r10
	mov	DWORD PTR [rsp+40], r8d
	call	ref.part.0.isra.0
	mov	r10, QWORD PTR [rsp+72]
	mov	r8d, DWORD PTR [rsp+40]
	jmp	.L88
.L268:
	sar	eax, 2
	mov	edi, DWORD PTR [r15+56]
	cdqe
	mov	edx, DWORD PTR [r11+4+rax*4]
	mov	eax, DWORD PTR [r11+rax*4]
	sal	rdx, 32
	or	rdx, rax
	test	edi, edi
	je	.L270
	test	dl, 1
	je	.L94
	add	rdx, 1
	je	.L94
.L255:
	mov	rsi, QWORD PTR [r13+128]
	mov	rdi, QWORD PTR [r13+120]
	xor	r9d, r9d
	mov	ecx, 8
	call	ref.part.0.isra.0
	jmp	.L94
.L270:
	test	rdx, rdx
	jne	.L255
	jmp	.L94
	.size	batch, .-batch
	.p2align 4
	.globl	classify_batch
	.type	classify_batch, @function
classify_batch:
	jmp	batch
	.size	classify_batch, .-classify_batch
	.p2align 4
	.globl	count_kinds
	.type	count_kinds, @function
count_kinds:
	test	rdx, rdx
	je	.L285
	test	r9, r9
	je	.L297
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
.L275:
	mov	eax, DWORD PTR [rbx-4]
	cmp	eax, DWORD PTR [rbx]
	jnb	.L277
	mov	QWORD PTR [rsp], r13
	xor	r15d, r15d
	.p2align 4,,10
	.p2align 3
.L279:
	mov	edx, eax
	movzx	ecx, WORD PTR [r12+rdx*2]
	lea	rbp, [r11+rcx*4]
	mov	rdx, rcx
	mov	ecx, DWORD PTR [rbp+0]
	lea	r13d, [rcx+1]
	mov	DWORD PTR [rbp+0], r13d
	test	ecx, ecx
	jne	.L278
	lea	rcx, [r10+2]
	cmp	r9, rcx
	jb	.L276
	mov	DWORD PTR [r8+r10*4], edx
	add	r15, 1
	mov	r10, rcx
.L278:
	add	eax, 1
	cmp	eax, DWORD PTR [rbx]
	jb	.L279
	mov	DWORD PTR [r8+rsi*4], r15d
	mov	r13, QWORD PTR [rsp]
	lea	rax, [0+rsi*4]
	test	r15, r15
	je	.L282
	lea	rdx, [rsi+r15*2]
	lea	rax, [r8+4+rax]
	lea	rsi, [r14+rdx*4]
	.p2align 4,,10
	.p2align 3
.L283:
	mov	edx, DWORD PTR [rax]
	add	rax, 8
	lea	rdx, [r11+rdx*4]
	mov	ecx, DWORD PTR [rdx]
	mov	DWORD PTR [rax-4], ecx
	mov	DWORD PTR [rdx], 0
	cmp	rsi, rax
	jne	.L283
.L282:
	mov	rsi, r10
.L281:
	add	r13, 1
	cmp	rdi, r13
	je	.L272
	add	r10, 1
	add	rbx, 4
	cmp	r9, r10
	jnb	.L275
	.p2align 4,,10
	.p2align 3
.L276:
	mov	rsi, -1
.L272:
	add	rsp, 8
	mov	rax, rsi
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
.L277:
	mov	DWORD PTR [r8+rsi*4], 0
	mov	rsi, r10
	jmp	.L281
.L285:
	xor	esi, esi
.L295:
	mov	rax, rsi
	ret
.L297:
	mov	rsi, -1
	jmp	.L295
	.size	count_kinds, .-count_kinds
	.p2align 4
	.globl	speculate
	.type	speculate, @function
speculate:
	push	r15
	push	r14
	push	r13
	push	r12
	push	rbp
	push	rbx
	sub	rsp, 24
	mov	r14, QWORD PTR [rdi]
	cmp	QWORD PTR [rdi+16], 0
	mov	rax, QWORD PTR [r14+120]
	mov	QWORD PTR [rsp+16], rax
	je	.L304
	mov	r8, QWORD PTR [rdi+8]
	mov	r13, QWORD PTR [rdi+72]
	mov	r12, rdi
	xor	ebp, ebp
	mov	rbx, QWORD PTR [rdi+24]
	xor	r15d, r15d
	.p2align 4,,10
	.p2align 3
.L303:
	mov	edx, DWORD PTR [r8+rbp*4]
	add	rbp, 1
	mov	eax, DWORD PTR [r8+rbp*4]
	lea	r9, [r13+0+rdx*4]
	mov	rdi, rdx
	mov	rsi, rax
	mov	eax, DWORD PTR [r13+0+rax*4]
	sub	eax, DWORD PTR [r9]
	mov	DWORD PTR [rbx+4], r15d
	lea	rax, [rax+rax*4]
	mov	DWORD PTR [rbx], 0
	mov	DWORD PTR [rbx+8], 0
	add	rax, r15
	cmp	QWORD PTR [r12+32], rax
	jb	.L301
	mov	r10, QWORD PTR [r12+48]
	lea	rax, [0+rdx*8]
	sub	esi, edi
	mov	rcx, QWORD PTR [rsp+16]
	add	rdx, QWORD PTR [r12+64]
	mov	rdi, r14
	mov	QWORD PTR [rsp+8], r8
	add	r10, rax
	add	rax, QWORD PTR [r12+56]
	mov	QWORD PTR [r14+16], rdx
	xor	edx, edx
	mov	QWORD PTR [r14+8], rax
	mov	eax, esi
	mov	rsi, QWORD PTR [r12+40]
	mov	QWORD PTR [r14+32], rax
	lea	rax, [r15+r15*2]
	lea	rax, [rcx+rax*8]
	mov	QWORD PTR [r14], r10
	mov	QWORD PTR [r14+120], rax
	mov	rax, QWORD PTR [r14+128]
	mov	QWORD PTR [r14+24], r9
	mov	QWORD PTR [r14+136], 0
	mov	QWORD PTR [rax], 0
	mov	QWORD PTR [rax+8], 0
	mov	QWORD PTR [rsp], rax
	call	batch
	mov	rax, QWORD PTR [rsp]
	mov	r8, QWORD PTR [rsp+8]
	mov	esi, DWORD PTR [rax]
	test	esi, esi
	jne	.L301
	mov	ecx, DWORD PTR [rax+4]
	test	ecx, ecx
	jne	.L301
	mov	edx, DWORD PTR [rax+12]
	test	edx, edx
	jne	.L301
	mov	DWORD PTR [rbx], 1
	mov	eax, DWORD PTR [rax+8]
	mov	DWORD PTR [rbx+8], eax
	add	r15, rax
	.p2align 4,,10
	.p2align 3
.L301:
	add	rbx, 12
	cmp	rbp, QWORD PTR [r12+16]
	jb	.L303
.L304:
	mov	rax, QWORD PTR [rsp+16]
	mov	QWORD PTR [r14+120], rax
	add	rsp, 24
	xor	eax, eax
	pop	rbx
	pop	rbp
	pop	r12
	pop	r13
	pop	r14
	pop	r15
	ret
	.size	speculate, .-speculate
	.section	.note.GNU-stack,"",@progbits
