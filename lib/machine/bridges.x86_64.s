# The ctx-dropping bridges, x86-64 (lib/machine/codegen.ts, bridgeCode("x64", target)): the source of its bytes.
# bridgeCode writes these bytes with the four target addresses as immediates; here they are the symbols MALLOC,
# CALLOC, REALLOC and FREE, which `bun tools/assemble.ts` defines (--defsym) to the placeholder values that
# tests/machine_code_test.ts also passes to bridgeCode, then compares the bytes.
#
# Four functions, each at i * 64 (BRIDGE_STRIDE), padded with int3 so a stray jump into padding traps. Like CPython's
# own raw allocator, size 0 becomes 1. Each ends in a tail call through r11 (caller-saved, not an argument register).
        .intel_syntax noprefix
        .text
bridge_malloc:                                  # malloc(ctx, n) → malloc(n ? n : 1)
        endbr64                                 # a no-op unless IBT is enforced
        cmp rsi, 1                              # CF = n == 0
        adc rsi, 0                              # n += CF
        mov rdi, rsi
        movabs r11, MALLOC
        jmp r11
        .org bridge_malloc + 64, 0xcc

bridge_calloc:                                  # calloc(ctx, nelem, elsize) → calloc(nelem, elsize), or calloc(1, 1)
        endbr64
        mov rdi, rsi
        mov rsi, rdx
        test rdi, rdi
        jz 1f
        test rsi, rsi
        jnz 2f
1:      mov edi, 1
        mov esi, 1
2:      movabs r11, CALLOC
        jmp r11
        .org bridge_calloc + 64, 0xcc

bridge_realloc:                                 # realloc(ctx, p, n) → realloc(p, n ? n : 1)
        endbr64
        cmp rdx, 1                              # CF = n == 0
        adc rdx, 0                              # n += CF
        mov rdi, rsi
        mov rsi, rdx
        movabs r11, REALLOC
        jmp r11
        .org bridge_realloc + 64, 0xcc

bridge_free:                                    # free(ctx, p) → free(p)
        endbr64
        mov rdi, rsi
        movabs r11, FREE
        jmp r11
        .org bridge_free + 64, 0xcc
