/**
 * `ObmallocHost`: a `PythonHost` that also knows where its obmalloc state lives. What the allocator features
 * (lib/allocators/) and the struct readers need of an open Python; `Python` implements it.
 * @module
 */
import type { PythonHost } from "../core/host.ts";
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
