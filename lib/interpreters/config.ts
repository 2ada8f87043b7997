/**
 * `PyInterpreterConfig` (3.12+): the presets CPython defines, validation of a preset name or config object before
 * CPython sees it (bad shapes TypeError, unsafe or invalid combinations RangeError), and its C layout.
 * @module
 */
import type { CPythonLayout } from "../cpython/versions.ts";

/** Which GIL a sub-interpreter uses: CPython's default (shared with main), main's, or its own (3.12+). */
export type GilMode = "default" | "shared" | "own";

/**
 * `PyInterpreterConfig` (Include/cpython/pylifecycle.h, 3.12+), field for field. Every field is required; start
 * from a preset to change one: `{ ...INTERPRETER_PRESETS.isolated, allowThreads: false }`.
 */
export interface InterpreterConfig {
  /** Allocate from the main interpreter's obmalloc state (true) or from a state of its own (false). */
  useMainObmalloc: boolean;
  /** Allow `os.fork()` in the interpreter. */
  allowFork: boolean;
  /** Allow `os.execv()` and friends. */
  allowExec: boolean;
  /** Allow `threading` threads. */
  allowThreads: boolean;
  /** Allow daemon threads. */
  allowDaemonThreads: boolean;
  /** Refuse single-phase-init extension modules (required with an own obmalloc state). */
  checkMultiInterpExtensions: boolean;
  /** PyInterpreterConfig_DEFAULT_GIL (0), _SHARED_GIL (1), _OWN_GIL (2). */
  gil: GilMode;
}

/** The named configurations: CPython's `_PyInterpreterConfig_INIT` and `_PyInterpreterConfig_LEGACY_INIT`. */
export type InterpreterPreset = "isolated" | "legacy";

/** The presets, as CPython defines them (Include/cpython/pylifecycle.h). */
export const INTERPRETER_PRESETS: Readonly<Record<InterpreterPreset, Readonly<InterpreterConfig>>> = Object.freeze({
  isolated: Object.freeze({
    useMainObmalloc: false,
    allowFork: false,
    allowExec: false,
    allowThreads: true,
    allowDaemonThreads: false,
    checkMultiInterpExtensions: true,
    gil: "own",
  }),
  legacy: Object.freeze({
    useMainObmalloc: true,
    allowFork: true,
    allowExec: true,
    allowThreads: true,
    allowDaemonThreads: true,
    checkMultiInterpExtensions: false,
    gil: "shared",
  }),
});

export const FIELDS = [
  "useMainObmalloc",
  "allowFork",
  "allowExec",
  "allowThreads",
  "allowDaemonThreads",
  "checkMultiInterpExtensions",
  "gil",
] as const;
/** The GIL modes by name (their C values are in lib/cpython's rows). */
const GIL_MODES: Record<GilMode, true> = { default: true, shared: true, own: true };

/** Validate a preset name or config object into a full config. Bad shapes throw TypeError, bad values RangeError. */
export function resolveInterpreterConfig(
  config: InterpreterPreset | InterpreterConfig | undefined,
): { config: InterpreterConfig; preset: InterpreterPreset | "custom" } {
  if (config === undefined) return { config: { ...INTERPRETER_PRESETS.isolated }, preset: "isolated" };
  if (typeof config === "string") {
    if (!Object.hasOwn(INTERPRETER_PRESETS, config)) {
      throw new RangeError(
        `Unknown interpreter preset "${config}": expected "isolated" or "legacy", or a config object`,
      );
    }
    return { config: { ...INTERPRETER_PRESETS[config] }, preset: config };
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new TypeError(
      `An interpreter config is a preset name or an object, got ${config === null ? "null" : typeof config}`,
    );
  }
  const unknown = Object.keys(config).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new TypeError(
      `Unknown interpreter config key(s) ${unknown.map((k) => `"${k}"`).join(", ")}: expected ${FIELDS.join(", ")}`,
    );
  }
  const missing = FIELDS.filter((k) => config[k] === undefined);
  if (missing.length) {
    throw new TypeError(
      `Interpreter config is missing ${
        missing.join(", ")
      } (every field is required; spread a preset: { ...INTERPRETER_PRESETS.isolated, … })`,
    );
  }
  for (const k of FIELDS) {
    if (k !== "gil" && typeof config[k] !== "boolean") {
      throw new TypeError(`Interpreter config ${k} must be a boolean, got ${typeof config[k]}`);
    }
  }
  if (typeof config.gil !== "string" || !Object.hasOwn(GIL_MODES, config.gil)) {
    throw new RangeError(
      `Invalid interpreter config gil ${JSON.stringify(config.gil)}: expected "default", "shared" or "own"`,
    );
  }
  const c: InterpreterConfig = { ...config };
  // CPython's own rule (init_interp_settings): single-phase-init modules keep state in process globals, which an
  // interpreter with its own allocator would free into the wrong heap.
  if (!c.useMainObmalloc && !c.checkMultiInterpExtensions) {
    throw new RangeError(
      "Refused interpreter config: an own obmalloc state (useMainObmalloc: false) needs checkMultiInterpExtensions: " +
        "true (CPython: per-interpreter obmalloc does not support single-phase init extension modules)",
    );
  }
  // Documented by CPython but not enforced in 3.12–3.14: two GILs would let two threads run obmalloc's unlocked
  // code on the same state at once.
  if (c.useMainObmalloc && c.gil === "own") {
    throw new RangeError(
      'Refused interpreter config: an own GIL with main\'s obmalloc state (useMainObmalloc: true, gil: "own") is ' +
        "unsafe: obmalloc has no lock of its own, so two GILs over one allocator corrupt it (CPython accepts it)",
    );
  }
  const preset = (Object.keys(INTERPRETER_PRESETS) as InterpreterPreset[])
    .find((p) => FIELDS.every((k) => INTERPRETER_PRESETS[p][k] === c[k])) ?? "custom";
  return { config: c, preset };
}

/** `PyInterpreterConfig` as C lays it out: its ints at the offsets generated from the version's headers. */
export function encodeConfig(
  c: InterpreterConfig,
  layout: NonNullable<CPythonLayout["interpreterConfig"]>,
): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  const v = new DataView(bytes.buffer);
  const gil = { default: layout.gilDefault, shared: layout.gilShared, own: layout.gilOwn }[c.gil];
  for (const k of FIELDS) v.setInt32(layout[k], k === "gil" ? gil : +c[k], true);
  return bytes;
}
