# The stack pointer inside a call (lib/core/stackguard.ts, SP_PROBE_X64): the source of those bytes.
# Edit here, then `bun tools/assemble.ts --write` rewrites the array; tests/machine_code_test.ts checks they agree.
#
# uint64_t stack_pointer(void): rsp as the callee sees it, i.e. on the stack the FFI adapter calls C on.
        .intel_syntax noprefix
        .text
stack_pointer:
        mov rax, rsp
        ret
