// Placeholder until the in-process third-party allocator lands (issue 4); refuses clearly instead of pretending.
import type { Native } from "./native.ts";
import type { LibraryAllocator } from "./python.ts";
import { PymemError } from "./errors.ts";

export function installLibraryAllocator(_native: Native, spec: LibraryAllocator): void {
  throw new PymemError("UNSUPPORTED", `In-process allocator libraries are not available yet (${spec.library})`);
}
