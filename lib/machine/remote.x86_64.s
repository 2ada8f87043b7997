# Attach's batched reads (lib/machine/remote.ts, READV_LOOP_X64): the source of those bytes.
# Edit here, then `bun tools/assemble.ts --write` rewrites the array; tests/machine_code_test.ts checks they agree.
#
# void *readv_loop(uint64_t *a): a[0] process_vm_readv, a[1] pid, a[2] batches, a[3] batch table of
# {local iov *, remote iov *, count}, a[4] results (one i64 per batch). For each batch:
#   results[b] = process_vm_readv(pid, local, 1, remote, count, 0)
# Five pushes keep the stack 16-byte aligned at the call.
        .intel_syntax noprefix
        .text
readv_loop:
        push rbx
        push r12
        push r13
        push r14
        push r15
        mov rbx, rdi                            # a
        mov r12, qword ptr [rbx+0x18]           # the batch table
        mov r13, qword ptr [rbx+0x20]           # results
        mov r14, qword ptr [rbx+0x10]           # batches left
        test r14, r14
        je done
next:
        mov edi, dword ptr [rbx+0x8]            # pid
        mov rsi, qword ptr [r12]                # local iov *
        mov edx, 0x1                            # one local iovec
        mov rcx, qword ptr [r12+0x8]            # remote iov *
        mov r8, qword ptr [r12+0x10]            # remote iovec count
        xor r9d, r9d                            # flags
        call qword ptr [rbx]                    # process_vm_readv
        mov qword ptr [r13+0x0], rax
        add r12, 0x18
        add r13, 0x8
        dec r14
        jne next
done:
        xor eax, eax
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbx
        ret
