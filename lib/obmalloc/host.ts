/**
 * `ObmallocHost`: a `PythonHost` that also knows where its obmalloc state lives. What the allocator features
 * (lib/allocators/) and the struct readers need of an open Python.
 *
 * The user's `Python` (lib/python.ts) is not a host: its type shows only the user API. Each `Python` keeps a host
 * object of its own and registers it here; a feature that a user hands a `Python` (`PoolHeader.of(py, p)`,
 * `new PyMemAllocator(py)`, `new GlobalAllocator(py)`) reaches the host through {@link hostOf}, which lib/mod.ts
 * does not export.
 * @module
 */
import type { PythonHost } from "../core/host.ts";
import type { PythonVersion } from "../core/version.ts";
import type { ObmallocLayout } from "./layout.ts";
import type { ObmallocStateInfo, StateRefs } from "./state.ts";

export interface ObmallocHost extends PythonHost {
  /** obmalloc's geometry and state location for this version. */
  readonly layout: ObmallocLayout;
  /** Where `interp`'s obmalloc state is (validated, cached). GIL held by the caller. */
  stateRefs(interp: bigint): StateRefs;
  /** The distinct obmalloc states of the process. */
  obmallocStates(): ObmallocStateInfo[];
}

/** An open Python as the public API takes it: a `Python` from `openPython()` (or, inside pymem, its host). */
export interface PythonHandle {
  readonly version: PythonVersion;
  readonly library: string;
}

const hosts = new WeakMap<object, ObmallocHost>();

/** Make `host` the internal side of `handle` (lib/python.ts, once per Python); a host stands for itself too. */
export function registerHost(handle: PythonHandle, host: ObmallocHost): void {
  hosts.set(handle, host);
  hosts.set(host, host);
}

/**
 * The host of a `Python` handle (or a host itself). A TypeError for anything else, naming the entry point `what`
 * and what it got instead (an `AttachedPython` is only read, never allocated in). Internal to pymem.
 */
export function hostOf(handle: PythonHandle, what = "this call"): ObmallocHost {
  const host = typeof handle === "object" && handle !== null ? hosts.get(handle) : undefined;
  if (!host) {
    const v = handle as { constructor?: { name?: string } } | null | undefined;
    const kind = v === null ? "null" : typeof v !== "object" ? typeof v : v.constructor?.name || "an object";
    const attached = kind === "AttachedPython" ? " (an attached process is only read: use its heap())" : "";
    throw new TypeError(`${what} takes a Python handle from openPython(), got ${kind}${attached}`);
  }
  return host;
}
