# The benchmark call loops, x86-64 (lib/machine/codegen.ts, callLoopCode("x64", kind)): the source of their bytes.
# Assembled twice by `bun tools/assemble.ts`: PLAIN=0 for kind "ctx", PLAIN=1 for kind "plain" (--defsym);
# tests/machine_code_test.ts compares each with callLoopCode's bytes.
#
# void loop(alloc, free, ctx, n, size): n times `p = alloc(ctx, size); free(ctx, p)` (the PyMemAllocatorEx shape) or
# `p = alloc(size); free(p)` (libc's shape). Callee-saved registers hold the loop's state across the calls.
        .intel_syntax noprefix
        .text
call_loop:
        endbr64
        push rbx                                # five pushes: rsp is 16-byte aligned for the calls
        push rbp
        push r12
        push r13
        push r14
        mov rbx, rdi                            # alloc
        mov rbp, rsi                            # free
        mov r12, rdx                            # ctx
        mov r13, rcx                            # n
        mov r14, r8                             # size
loop:
        test r13, r13
        jz done
        .if PLAIN
        mov rdi, r14                            # size
        call rbx                                # p = alloc(size)
        mov rdi, rax                            # p
        call rbp                                # free(p)
        .else
        mov rdi, r12                            # ctx
        mov rsi, r14                            # size
        call rbx                                # p = alloc(ctx, size)
        mov rdi, r12                            # ctx
        mov rsi, rax                            # p
        call rbp                                # free(ctx, p)
        .endif
        dec r13
        jmp loop
done:
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
