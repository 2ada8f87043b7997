# The heap walk's native pool pass (lib/obmalloc/pool-pass.ts, WALK_X64 and THUNK_OFFSET): the source of those bytes.
# Edit here, then `bun tools/assemble.ts --write` rewrites the array; tests/machine_code_test.ts checks they agree.
#
# void walk(const double *firsts, const uint32_t *carved, uint64_t narenas, uint64_t stride,
#           uint32_t *records, uint32_t *arenaUsed, uint64_t *perClass)
# SysV: rdi firsts, rsi carved, rdx narenas, rcx stride, r8 records, r9 arenaUsed, [rsp+8] perClass.
# Registers in the loops: rax the pool header, r10d pools left in this arena, r11d p->ref.count, ebx p->szidx,
# r12d k << 24 (the pool's position), r13 1 << 32 (one pool in perClass's high word), r14 this arena's first record,
# r15 perClass.
        .intel_syntax noprefix
        .text
walk:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov r15, qword ptr [rsp+0x38]           # perClass: the 7th argument, above 6 pushes and the return address
        movabs r13, 0x100000000
        test rdx, rdx
        je done
outer:
        cvttsd2si rax, qword ptr [rdi]          # firsts[a]: the first pool's address (exact in a double below 2^53)
        mov r10d, dword ptr [rsi]               # carved[a]
        xor r12d, r12d
        mov r14, r8
        test r10d, r10d
        je store
inner:
        mov r11d, dword ptr [rax]               # p->ref.count
        test r11d, r11d
        je skip                                 # an empty pool
        mov ebx, dword ptr [rax+0x24]           # p->szidx
        cmp ebx, 0x1f
        ja bad
        cmp r11d, 0x400
        ja bad
        mov ebp, ebx
        shl ebp, 0x10
        or ebp, r11d
        or ebp, r12d
        mov dword ptr [r8], ebp                 # *records++ = k << 24 | sz << 16 | count
        add r8, 0x4
        mov rbp, r11
        or rbp, r13
        add qword ptr [r15+rbx*8], rbp          # perClass[sz] += 1 << 32 | count
skip:
        add rax, rcx
        add r12d, 0x1000000
        dec r10d
        jne inner
store:
        mov rbp, r8
        sub rbp, r14
        shr rbp, 0x2
        mov dword ptr [r9], ebp                 # arenaUsed[a] = records written for this arena
        add r9, 0x4
        add rdi, 0x8
        add rsi, 0x4
        dec rdx
        jne outer
done:
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
bad:
        inc qword ptr [r15+0x100]               # perClass[32]: inconsistent headers
        jmp skip

# void *thunk(void *args): walk(args[0], …, args[6]); return NULL. The second thread's start routine.
# rsp is 8 mod 16 on entry: 16 + one push makes it 16-byte aligned at the call, with args[6] at [rsp] (walk's [rsp+8]).
thunk:
        sub rsp, 0x10
        push qword ptr [rdi+0x30]
        mov rax, rdi
        mov rdi, qword ptr [rax]
        mov rsi, qword ptr [rax+0x8]
        mov rdx, qword ptr [rax+0x10]
        mov rcx, qword ptr [rax+0x18]
        mov r8, qword ptr [rax+0x20]
        mov r9, qword ptr [rax+0x28]
        call walk
        add rsp, 0x18
        xor eax, eax
        ret
