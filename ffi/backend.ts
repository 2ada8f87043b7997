/**
 * Picks the adapter for the running runtime. The imports are dynamic so that no runtime ever loads another's
 * module (`bun:ffi` does not exist under Deno or Node; koffi is an npm package Deno-by-URL users do not have).
 * @module
 */
import type { Backend } from "./types.ts";

let cached: Promise<Backend> | undefined;

/** The FFI backend of this runtime: "bun" (bun:ffi), "deno" (Deno.dlopen) or "koffi" (Node). */
export function loadBackend(): Promise<Backend> {
  cached ??= (async () => {
    const g = globalThis as { Bun?: unknown; Deno?: { dlopen?: unknown } };
    if (g.Bun) return (await import("./bun.ts")).backend;
    if (g.Deno) {
      if (typeof g.Deno.dlopen !== "function") {
        throw new Error("Deno.dlopen is not available: run Deno with --allow-ffi (or -A)");
      }
      return (await import("./deno.ts")).backend;
    }
    return (await import("./koffi.ts")).backend;
  })();
  return cached;
}
