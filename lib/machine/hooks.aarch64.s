// The counting hooks of one slot, aarch64 (lib/machine/codegen.ts, hookCode("arm64", slot)): the source of its bytes.
// hookCode writes these bytes with the slot's address as a literal; here it is the symbol SLOT, which
// `bun tools/assemble.ts` defines (--defsym) to the placeholder value that tests/machine_code_test.ts also passes to
// hookCode, then compares the bytes.
//
// malloc, calloc, realloc and free hooks at 0, 128, 256, 384, each with the slot address as a literal at +120 and
// zero padding (udf #0 traps). Exclusive load/store loops rather than LSE atomics, so ARMv8.0 cores run it too.
// x16 = slot, x17 = counter address, x9/x10 = loop value/status, x11/x12 = histogram bucket; x0–x2 (the arguments)
// reach the tail call untouched. Slot layout: SLOT in codegen.ts.
        .text

// Atomically add 1 to the u64 at x16 + off.
        .macro count off
        add x17, x16, #\off
1:      ldxr x9, [x17]
        add x9, x9, #1
        stxr w10, x9, [x17]
        cbnz w10, 1b
        .endm

// Atomically add register \reg to the u64 at x16 + off.
        .macro addto off, reg
        add x17, x16, #\off
1:      ldxr x9, [x17]
        add x9, x9, \reg
        stxr w10, x9, [x17]
        cbnz w10, 1b
        .endm

// The histogram bucket of the size in x11: min(63 - clz(x11 | 1), 32), then one atomic increment.
        .macro histogram
        orr x11, x11, #1
        clz x11, x11
        mov x12, #63
        sub x11, x12, x11                       // floor(log2(size))
        mov x12, #32
        cmp x11, x12
        csel x11, x12, x11, hi
        add x17, x16, #128                      // the histogram
        add x17, x17, x11, lsl #3
1:      ldxr x9, [x17]
        add x9, x9, #1
        stxr w10, x9, [x17]
        cbnz w10, 1b
        .endm

// Tail call to the old function at x16 + off, then the slot literal at +120 of function \fn.
        .macro tail fn, off
        ldr x16, [x16, #\off]
        br x16                                  // → old fn(x0 = ctx, x1, x2)
        .org \fn + 120, 0
        .quad SLOT
        .endm

hook_malloc:                                    // malloc(x0 = ctx, x1 = n)
        bti c
        ldr x16, hook_malloc + 120
        count 64                                // n_malloc++
        addto 96, x1                            // bytes += n
        mov x11, x1
        histogram
        tail hook_malloc, 0

hook_calloc:                                    // calloc(x0 = ctx, x1 = nelem, x2 = elsize)
        bti c
        ldr x16, hook_calloc + 120
        count 72                                // n_calloc++
        mul x11, x1, x2
        addto 96, x11                           // bytes += nelem * elsize
        histogram
        tail hook_calloc, 8

hook_realloc:                                   // realloc(x0 = ctx, x1 = p, x2 = n)
        bti c
        ldr x16, hook_realloc + 120
        count 80                                // n_realloc++
        addto 96, x2                            // bytes += n
        mov x11, x2
        histogram
        tail hook_realloc, 16

hook_free:                                      // free(x0 = ctx, x1 = p)
        bti c
        ldr x16, hook_free + 120
        count 88                                // n_free++
        tail hook_free, 24
