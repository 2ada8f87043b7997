// The ctx-dropping bridges, aarch64 (lib/machine/codegen.ts, bridgeCode("arm64", target)): the source of its bytes.
// bridgeCode writes these bytes with the four target addresses as literals; here they are the symbols MALLOC,
// CALLOC, REALLOC and FREE, which `bun tools/assemble.ts` defines (--defsym) to the placeholder values that
// tests/machine_code_test.ts also passes to bridgeCode, then compares the bytes.
//
// Four functions, each at i * 64 (BRIDGE_STRIDE), with the target as a literal at +56 and zero padding (udf #0 traps).
// Like CPython's own raw allocator, size 0 becomes 1. Each ends in a tail call through x16 (the intra-procedure-call
// scratch register).
        .text
bridge_malloc:                                  // malloc(ctx, n) → malloc(n ? n : 1)
        bti c                                   // a no-op unless BTI is enforced
        cmp x1, #0
        cinc x0, x1, eq                         // x0 = n ? n : 1
        ldr x16, 1f
        br x16
        .org bridge_malloc + 56, 0
1:      .quad MALLOC

bridge_calloc:                                  // calloc(ctx, nelem, elsize) → calloc(nelem, elsize), or calloc(1, 1)
        bti c
        mov x0, x1
        mov x1, x2
        cmp x0, #0
        ccmp x1, #0, #4, ne                     // Z set when either is 0
        csinc x0, x0, xzr, ne                   // x0 = Z ? 1 : x0
        csinc x1, x1, xzr, ne                   // x1 = Z ? 1 : x1
        ldr x16, 1f
        br x16
        .org bridge_calloc + 56, 0
1:      .quad CALLOC

bridge_realloc:                                 // realloc(ctx, p, n) → realloc(p, n ? n : 1)
        bti c
        mov x0, x1
        cmp x2, #0
        cinc x1, x2, eq                         // x1 = n ? n : 1
        ldr x16, 1f
        br x16
        .org bridge_realloc + 56, 0
1:      .quad REALLOC

bridge_free:                                    // free(ctx, p) → free(p)
        bti c
        mov x0, x1
        ldr x16, 1f
        br x16
        .org bridge_free + 56, 0
1:      .quad FREE
