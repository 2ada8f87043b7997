/**
 * CPython 3.14+ guards the C stack by the stack pointer: each thread state records the thread's stack bounds, and
 * code past a soft limit near the bottom is refused (RecursionError) or deferred. The trashcan that frees nested
 * containers defers every deallocation it believes too deep, and frees them only once the stack unwinds.
 *
 * koffi (Node) runs C on a preallocated stack of its own, not the thread's: seen from there, CPython believes it is
 * beyond its limit on every call, so under Node containers were never freed (`del big_list[::2]` freed nothing on
 * sid's 3.14.10 and 3.15.2). CPython 3.14 added `PyUnstable_ThreadState_SetStackProtection` for stacks it does not
 * know: pymem tells it the bounds of the stack the adapter calls on, for every thread state JavaScript runs Python
 * code with. Bun and Deno call on the thread's own stack and need nothing.
 * @module
 */
import { generated } from "../../ffi/symbols.ts";
import { hostArch } from "../machine/codegen.ts";
import { mapCode } from "../machine/exec-pages.ts";
import type { Native } from "./native.ts";
import { readMaps } from "../machine/procmaps.ts";

/** The stack pointer inside a call (source: stack-pointer.x86_64.s; `bun tools/assemble.ts --write` rewrites it). */
// deno-fmt-ignore: one instruction a line, as `bun tools/assemble.ts --write` writes it
export const SP_PROBE_X64 = new Uint8Array([
  // stack_pointer:
  0x48, 0x89, 0xe0,                               // mov rax,rsp
  0xc3,                                           // ret
]);

/** The same on aarch64 (source: stack-pointer.aarch64.s); checked against its assembly, not run here. */
// deno-fmt-ignore: one instruction a line, as `bun tools/assemble.ts --write` writes it
export const SP_PROBE_ARM64 = new Uint8Array([
  // stack_pointer:
  0xe0, 0x03, 0x00, 0x91,                         // mov x0, sp
  0xc0, 0x03, 0x5f, 0xd6,                         // ret
]);
/** Room assumed between the adapter's stack top and the probe's stack pointer (its own frames and arguments). */
const SLACK = 64 << 10;

let bounds: { start: bigint; size: number } | null | undefined;

/** The adapter's call stack as [start, start + size), or null when C runs on the thread's own stack. */
function callStack(native: Native): { start: bigint; size: number } | null {
  if (bounds !== undefined) return bounds;
  bounds = null;
  const size = native.backend.callStackSize;
  if (!size) return bounds;
  let sp: bigint;
  try {
    sp = native.fn(mapCode(native, hostArch() === "x64" ? SP_PROBE_X64 : SP_PROBE_ARM64), generated.stackPointer)();
  } catch {
    return bounds; // no executable memory: CPython keeps its own view
  }
  const mapping = readMaps("self").find((m) => sp >= m.start && sp < m.end);
  if (!mapping || mapping.path === "[stack]") return bounds;
  // The whole stack is below the probe's frame and at most `size` long; claim a little less than that (an
  // overestimate would let C run past the end), within the mapping that holds it.
  let start = sp - BigInt(size) + BigInt(SLACK);
  if (start < mapping.start) start = mapping.start;
  const top = sp + 4096n < mapping.end ? sp + 4096n : mapping.end;
  bounds = { start, size: Number(top - start) };
  return bounds;
}

/**
 * Tell a 3.14+ thread state that JavaScript's calls run on the adapter's stack (koffi). No-op elsewhere: other
 * adapters, older CPythons, no executable memory. Returns whether the bounds were set.
 */
export function adoptCallStack(native: Native, tstate: bigint): boolean {
  const set = native.api.PyUnstable_ThreadState_SetStackProtection;
  if (!set || tstate === 0n) return false;
  const b = callStack(native);
  if (!b) return false;
  if (set(tstate, b.start, b.size) === 0) return true;
  native.api.PyErr_Clear();
  return false;
}
