/**
 * Executable pages: generated code written into a fresh mapping, then switched to read-execute (never writable and
 * executable at once). Code that CPython may still call is never unmapped: a thread can be inside a hook or bridge
 * at any moment (raw-domain calls run without the GIL), and CPython keeps calling an installed allocator until the
 * process exits. Generated functions carry labels so getAllocator() can name them.
 * @module
 */
import { PymemError } from "../errors.ts";
import type { LibcApi } from "../../ffi/symbols.ts";
import { hostArch } from "./codegen.ts";

const PAGE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20; // Linux value; other systems are refused in hostArch()
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** Labels of generated functions by address, so getAllocator() can name them (they have no ELF symbol). */
const labels = new Map<bigint, string>();

/** The label of a function pymem generated (e.g. "pymem:bridge→mi_malloc"), or null. */
export function generatedName(address: bigint): string | null {
  return labels.get(address) ?? null;
}

function roundPage(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

/** What mapping code needs: libc's mmap/mprotect/munmap and a view of native memory (a Native, or attach's reader). */
export interface CodeHost {
  readonly libc: Pick<LibcApi, "mmap" | "mprotect" | "munmap">;
  bytes(address: bigint, length: number): Uint8Array;
}

/** Map `size` bytes of fresh zeroed read-write memory (never unmapped by pymem). */
export function mapData(native: CodeHost, size: number): bigint {
  const p = native.libc.mmap(0n, roundPage(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  if (p === MAP_FAILED || p === 0n) {
    throw new PymemError("ALLOCATION_FAILED", `mmap of ${size} bytes for generated code data failed`);
  }
  return p;
}

/**
 * Write `code` into a fresh mapping and make it read-execute. The mapping is never unmapped: CPython (or another
 * thread) may call into it at any time until the process exits. On aarch64 the kernel makes the instruction cache
 * coherent when the page becomes executable (arm64 set_pte_at → __sync_icache_dcache); untested here.
 */
export function mapCode(native: CodeHost, code: Uint8Array): bigint {
  hostArch();
  const size = roundPage(code.length);
  const p = mapData(native, size);
  native.bytes(p, code.length).set(code);
  if (native.libc.mprotect(p, size, PROT_READ | PROT_EXEC) !== 0) {
    native.libc.munmap(p, size);
    throw new PymemError(
      "PERMISSION",
      "mprotect(PROT_READ|PROT_EXEC) refused: this process may not create executable memory",
    );
  }
  return p;
}

/** Name a generated function for getAllocator() and the symbol report. */
export function labelGenerated(address: bigint, label: string): void {
  labels.set(address, label);
}
