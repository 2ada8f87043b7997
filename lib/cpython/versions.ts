/**
 * The one home of every per-version fact: for each CPython minor pymem supports, the generated numbers
 * (layouts.generated.ts, from the release's own headers) and a hand-written record of what the version can do.
 * Code asks `cpython(minor).caps.debugOffsets` instead of comparing minors. Adding a version: run
 * `bun tools/cpython-layouts.ts --write` against its headers, add its row to CAPABILITIES (docs/architecture.md,
 * "Adding a CPython version").
 * @module
 */
import { PymemError } from "../errors.ts";
import { GENERATED } from "./layouts.generated.ts";
import type { CPythonLayout } from "./types.ts";

export type { CPythonLayout } from "./types.ts";

/** What a CPython minor has, as features rather than version comparisons. */
export interface Capabilities {
  /**
   * Where obmalloc's state lives: "static" (3.8–3.11, file-static globals of Objects/obmalloc.c), "embedded" (3.12,
   * a struct inside PyInterpreterState) or "pointer" (3.13+, PyInterpreterState.obmalloc points at it).
   */
  obmallocState: "static" | "embedded" | "pointer";
  /** Each interpreter may own its obmalloc state (PEP 684, 3.12+): `interp`, `runtime` and `state` rows exist. */
  perInterpreterObmalloc: boolean;
  /** `_Py_DebugOffsets` heads `_PyRuntime` (3.13+): the exact version, free-threaded or not, struct offsets. */
  debugOffsets: boolean;
  /**
   * PyConfig's `prefix` and `exec_prefix` are taken as given at start-up (3.11+, whose path configuration is
   * getpath.py); 3.8–3.10's getpath.c computes the search path from `home` or a search and ignores them.
   */
  configPrefixes: boolean;
  /** PEP 741 `PyInitConfig` (3.14+): start-up options set by name. */
  initConfigApi: boolean;
  /** The mimalloc allocators (PYTHONMALLOC=mimalloc, 3.13+ builds). */
  mimalloc: boolean;
  /** The top 16 bits of ob_refcnt are ob_flags (3.14+). */
  refcntHasFlags: boolean;
  /** PEP 683 immortal objects (3.12+): their reference counts sit at 2^31 and above, and do not move. */
  immortalRefcounts: boolean;
  /** The `_interpreters` module with `new_config()` (3.13+; 3.12 has `_xxsubinterpreters` with two presets). */
  interpretersModule: boolean;
}

const SINCE_313 = {
  immortalRefcounts: true,
  perInterpreterObmalloc: true,
  debugOffsets: true,
  mimalloc: true,
  interpretersModule: true,
  configPrefixes: true,
};

/** One row per minor; the capabilities that follow from the headers are checked against them by a test. */
const CAPABILITIES: Record<number, Capabilities> = {
  8: caps("static"),
  9: caps("static"),
  10: caps("static"),
  11: caps("static", { configPrefixes: true }),
  12: caps("embedded", { perInterpreterObmalloc: true, configPrefixes: true, immortalRefcounts: true }),
  13: caps("pointer", { ...SINCE_313 }),
  14: caps("pointer", { ...SINCE_313, initConfigApi: true, refcntHasFlags: true }),
  15: caps("pointer", { ...SINCE_313, initConfigApi: true, refcntHasFlags: true }),
};

function caps(obmallocState: Capabilities["obmallocState"], on: Partial<Capabilities> = {}): Capabilities {
  return {
    obmallocState,
    perInterpreterObmalloc: false,
    configPrefixes: false,
    debugOffsets: false,
    initConfigApi: false,
    mimalloc: false,
    refcntHasFlags: false,
    immortalRefcounts: false,
    interpretersModule: false,
    ...on,
  };
}

/** One supported minor: its numbers and its capabilities. */
export interface CPythonVersion {
  minor: number;
  layout: CPythonLayout;
  caps: Capabilities;
}

/** The minors pymem supports, oldest first: those with both a generated row and a capability row. */
export const KNOWN_MINORS: readonly number[] = Object.keys(CAPABILITIES).map(Number).filter((m) => GENERATED[m])
  .sort((a, b) => a - b);

/** "3.8–3.15", for messages. */
export const KNOWN_RANGE = `3.${KNOWN_MINORS[0]}–3.${KNOWN_MINORS.at(-1)}`;

/** The facts of CPython 3.minor, or undefined for a minor pymem does not know. */
export function cpythonIfKnown(minor: number): CPythonVersion | undefined {
  const layout = GENERATED[minor], c = CAPABILITIES[minor];
  return layout && c ? { minor, layout, caps: c } : undefined;
}

/** The newest minor pymem knows: a newer one is assumed to keep its capabilities and its PyPreConfig. */
export const NEWEST: CPythonVersion = cpythonIfKnown(KNOWN_MINORS.at(-1)!)!;

/**
 * What CPython 3.minor can do: its row, or for a minor newer than every row the newest row's (CPython keeps its
 * features); undefined for one older than 3.8.
 */
export function capabilities(minor: number): Capabilities | undefined {
  return CAPABILITIES[minor] ?? (minor > NEWEST.minor ? NEWEST.caps : undefined);
}

/** The facts of CPython 3.minor, or PymemError("UNSUPPORTED") naming it and `what` needed them. */
export function cpython(minor: number, what = "CPython"): CPythonVersion {
  const v = cpythonIfKnown(minor);
  if (!v) {
    throw new PymemError("UNSUPPORTED", `pymem has no layout for CPython 3.${minor} (${what}); known: ${KNOWN_RANGE}`);
  }
  return v;
}
