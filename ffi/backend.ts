/**
 * Picks the adapter for the running runtime. The imports are dynamic so that no runtime ever loads another's
 * module (`bun:ffi` does not exist under Deno or Node; koffi is an npm package Deno-by-URL users do not have).
 * @module
 */
import type { Backend } from "./types.ts";

let cached: Promise<Backend> | undefined;

/**
 * Another runtime's adapter, named so that Deno does not fetch it ahead of time (it prefetches every dynamic import
 * it can spell out): a Deno user needs neither bun.ts nor koffi.ts, and koffi would pull an npm package. The extension
 * is this file's: .ts from the sources, .js from the tsc build.
 */
function adapter(name: "bun" | "koffi"): Promise<{ backend: Backend }> {
  const path = new URL(import.meta.url).pathname;
  const url = new URL(`./${name}${path.slice(path.lastIndexOf("."))}`, import.meta.url).href;
  return import(url);
}

/** The FFI backend of this runtime: "bun" (bun:ffi), "deno" (Deno.dlopen) or "koffi" (Node). */
export function loadBackend(): Promise<Backend> {
  cached ??= (async () => {
    const g = globalThis as { Bun?: unknown; Deno?: { dlopen?: unknown } };
    if (g.Bun) return (await adapter("bun")).backend;
    if (g.Deno) {
      if (typeof g.Deno.dlopen !== "function") {
        throw new Error("Deno.dlopen is not available: run Deno with --allow-ffi (or -A)");
      }
      return (await import("./deno.ts")).backend;
    }
    return (await adapter("koffi")).backend;
  })();
  return cached;
}
