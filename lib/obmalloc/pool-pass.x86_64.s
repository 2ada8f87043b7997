# The heap walk's native pool pass (lib/obmalloc/pool-pass.ts: WALK_X64 and the *_OFFSET constants of its labels):
# the source of those bytes.
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

# void chunks(Team *t, uint64_t who): both threads take chunks of arenas until none is left (who: 1 the calling
# thread, 2 the second one). Team (u64 words): 0 firsts, 8 carved, 16 nchunks, 24 stride, 32 records, 40 arenaUsed,
# 48 the chunk table (u32 pairs: first arena, first record; nchunks + 1 of them), 56 next (u32), 64 perClass (34
# words per chunk: walk's 33 sums, then who walked it).
# Registers: rbx the team, r12 who, r13 the chunk table, ecx/edx the chunk's first/end arena, r14d its first record,
# r15 its perClass. rsp is 8 mod 16 on entry: six pushes and the 7th argument make it 16-byte aligned at the call.
chunks:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov rbx, rdi
        mov r12, rsi
next:
        mov eax, 1
        lock xadd dword ptr [rbx+56], eax       # i = t->next++
        cmp rax, qword ptr [rbx+16]
        jae finished                            # no chunk left
        mov r13, qword ptr [rbx+48]
        mov ecx, dword ptr [r13+rax*8]          # a = chunk[i].start
        mov r14d, dword ptr [r13+rax*8+4]       # chunk[i].recordAt
        mov edx, dword ptr [r13+rax*8+8]        # b = chunk[i + 1].start
        sub edx, ecx
        imul r15, rax, 272
        add r15, qword ptr [rbx+64]             # this chunk's perClass
        mov rdi, qword ptr [rbx]
        lea rdi, [rdi+rcx*8]                    # firsts + a
        mov rsi, qword ptr [rbx+8]
        lea rsi, [rsi+rcx*4]                    # carved + a
        mov r9, qword ptr [rbx+40]
        lea r9, [r9+rcx*4]                      # arenaUsed + a
        mov r8, qword ptr [rbx+32]
        lea r8, [r8+r14*4]                      # records + recordAt
        mov rcx, qword ptr [rbx+24]             # stride
        push r15
        call walk
        add rsp, 8
        mov qword ptr [r15+0x108], r12          # done, by whom: a plain store, visible after the walk's (x86 TSO)
        jmp next
finished:
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret

# The second thread is created once and parked on a futex between walks, instead of created and joined per walk
# (bench/thread_start.ts: a wake costs the caller a fraction of a pthread_create, and the thread runs sooner).
# Control: u32 seq at 0 (the futex word: one more per job posted, and for stop), u32 job at 4 (0 none or revoked,
# 1 posted, 2 taken, 3 done), u64 team at 8, u32 quit at 16 (set by stop; a word of its own, so that no store of a
# job's state can undo it). Exactly one of the worker (posted → taken) and the calling thread (posted → none, in
# settle) wins a posted job, so once settle returns the worker no longer touches the team.
#
# void *worker(Control *c): the second thread's start routine; returns only when told to (stop). It blocks the
# signals a runtime handles (its handlers must not run on a thread the runtime does not know; the creator blocks
# them too, around pthread_create), but not glibc's own (32, 33: cancellation and setxid), which every thread must
# answer or setuid() hangs the process, nor the faults (SIGILL, SIGBUS, SIGFPE, SIGSEGV), so that a crash still
# reaches the runtime's and Python's handlers.
# Registers: r12 the control block, ebx the last seq seen. rsp is 8 mod 16 on entry, 0 at the call.
worker:
        push rbx
        push r12
        sub rsp, 8
        mov r12, rdi
        movabs rax, 0xfffffffe7ffffb37          # every signal but 4, 7, 8, 11, 32 and 33 (bit n - 1 is signal n)
        mov qword ptr [rsp], rax
        xor edi, edi                            # SIG_BLOCK
        mov rsi, rsp
        xor edx, edx
        mov r10d, 8                             # sizeof the kernel's sigset_t
        mov eax, 14                             # rt_sigprocmask
        syscall
        xor ebx, ebx
idle:
        mov eax, dword ptr [r12]
        cmp eax, ebx
        jne take
        mov rdi, r12
        mov esi, 128                            # FUTEX_WAIT_PRIVATE: sleep while seq is still ebx
        mov edx, ebx
        xor r10d, r10d
        mov eax, 202                            # futex
        syscall
        jmp idle
take:
        mov ebx, eax
        cmp dword ptr [r12+16], 0
        jne quit                                # the handle is closing: end, to be joined
        mov eax, 1
        mov ecx, 2
        lock cmpxchg dword ptr [r12+4], ecx     # posted → taken, unless the caller revoked it
        jne idle
        mov rdi, qword ptr [r12+8]
        mov esi, 2
        call chunks
        mov dword ptr [r12+4], 3                # done: a plain store, visible after chunks' stores (x86 TSO)
        jmp idle
quit:
        add rsp, 8
        pop r12
        pop rbx
        xor eax, eax
        ret

# void post(Control *c, Team *t): hand the worker a job and wake it.
post:
        mov qword ptr [rdi+8], rsi
        mov dword ptr [rdi+4], 1
        lock inc dword ptr [rdi]                # seq, after team and job (a locked op is a full barrier)
        mov esi, 129                            # FUTEX_WAKE_PRIVATE, one waiter
        mov edx, 1
        mov eax, 202                            # futex
        syscall
        ret

# uint32_t settle(Control *c): after the calling thread's own chunks. Revokes a job the worker has not taken
# (returns 0), else waits until the worker has finished it (returns 3): it may be walking a chunk, reading the heap,
# which stays still only while the caller holds the GIL.
settle:
        mov eax, 1
        xor ecx, ecx
        lock cmpxchg dword ptr [rdi+4], ecx     # posted → none: the worker will not take it
        jne finish
        xor eax, eax
        ret
# uint32_t finish(Control *c): wait until the worker has done the job (returns 3). Alone only in tests, where the
# calling thread walks nothing. Spins, yielding the CPU every 4,096 rounds; after 2^31 rounds (tens of seconds) with
# the job still not taken (no worker: a forked child), revokes it and returns 0, and the caller walks it.
finish:
        xor esi, esi
spin:
        cmp dword ptr [rdi+4], 3
        je settled
        pause
        inc esi
        test esi, 0xfff
        jne spin
        mov eax, 24                             # sched_yield (a syscall keeps rdi and rsi)
        syscall
        test esi, 0x7fffffff
        jne spin
        mov eax, 1
        xor ecx, ecx
        lock cmpxchg dword ptr [rdi+4], ecx     # posted → none, if it still is
        jne spin
        xor eax, eax
        ret
settled:
        mov eax, 3
        ret

# void stop(Control *c): tell the worker to end (quit) and wake it; the caller then joins it. Only between walks.
stop:
        mov dword ptr [rdi+16], 1
        lock inc dword ptr [rdi]
        mov esi, 129                            # FUTEX_WAKE_PRIVATE, one waiter
        mov edx, 1
        mov eax, 202                            # futex
        syscall
        ret
