# The counting hooks of one slot, x86-64 (lib/machine/codegen.ts, hookCode("x64", slot)): the source of its bytes.
# hookCode writes these bytes with slot + 64 as an immediate; here the slot's address is the symbol SLOT, which
# `bun tools/assemble.ts` defines (--defsym) to the placeholder value that tests/machine_code_test.ts also passes to
# hookCode, then compares the bytes.
#
# malloc, calloc, realloc and free hooks at 0, 64, 128, 192, padded with int3. r11 = slot + 64 (the counters; the old
# functions at -64…-40, so every displacement fits a byte); rax/rcx scratch; rdi, rsi, rdx (the arguments) are never
# touched, so the tail call forwards them as they came. Slot layout: SLOT in codegen.ts.
        .intel_syntax noprefix
        .text

# The histogram bucket of the size in rax: min(bsr(rax | 1), 32), then one atomic increment.
        .macro histogram
        or rax, 1                               # bsr(0) is undefined; 0 and 1 share bucket 0
        bsr rax, rax                            # index of the highest set bit = floor(log2)
        mov ecx, 32
        cmp rax, rcx
        cmova rax, rcx                          # sizes ≥ 2^32 share the last bucket
        lock inc qword ptr [r11+rax*8+64]       # histogram[bucket] (at slot + 128)
        .endm

hook_malloc:                                    # malloc(ctx = rdi, n = rsi)
        endbr64
        movabs r11, SLOT + 64
        {disp8} lock inc qword ptr [r11+0]      # n_malloc++ (codegen writes the zero displacement: one spare byte)
        lock add qword ptr [r11+32], rsi        # bytes += n
        mov rax, rsi
        histogram
        jmp qword ptr [r11-64]                  # → old malloc(ctx, n)
        .org hook_malloc + 64, 0xcc

hook_calloc:                                    # calloc(ctx = rdi, nelem = rsi, elsize = rdx)
        endbr64                                 # (CPython refuses nelem * elsize overflows before calling)
        movabs r11, SLOT + 64
        lock inc qword ptr [r11+8]              # n_calloc++
        mov rax, rsi
        imul rax, rdx                           # rax = nelem * elsize
        lock add qword ptr [r11+32], rax        # bytes += rax
        histogram
        jmp qword ptr [r11-56]                  # → old calloc(ctx, nelem, elsize)
        .org hook_calloc + 64, 0xcc

hook_realloc:                                   # realloc(ctx = rdi, p = rsi, n = rdx)
        endbr64
        movabs r11, SLOT + 64
        lock inc qword ptr [r11+16]             # n_realloc++
        lock add qword ptr [r11+32], rdx        # bytes += n
        mov rax, rdx
        histogram
        jmp qword ptr [r11-48]                  # → old realloc(ctx, p, n)
        .org hook_realloc + 64, 0xcc

hook_free:                                      # free(ctx = rdi, p = rsi)
        endbr64
        movabs r11, SLOT + 64
        lock inc qword ptr [r11+24]             # n_free++
        jmp qword ptr [r11-40]                  # → old free(ctx, p)
        .org hook_free + 64, 0xcc
