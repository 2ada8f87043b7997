/**
 * Argument checks shared by every public entry point. They run before anything native is called, so bad input
 * can never reach C.
 * @module
 */

/** Largest size pymem accepts: beyond 2^53 a JavaScript number cannot hold every integer. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** A byte count: a non-negative integer number (TypeError if not a number, RangeError otherwise). */
export function checkSize(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be a number, got ${value === null ? "null" : typeof value}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_SIZE) {
    throw new RangeError(`${what} must be a whole number from 0 to 2^53-1, got ${value}`);
  }
  return value;
}

/**
 * True when `value` is a bigint in [0, 2^64): the hot paths' test before `checkAddress` (which says what is wrong).
 * The same test, written the way each engine runs fastest (bench/call_cost.ts): V8 lowers
 * `BigInt.asUintN(64, a) === a` to a 64-bit truncation and compare (free), and runs `a >= 2n ** 64n` in a builtin
 * (~4 ns in Deno); JavaScriptCore has no such lowering (asUintN ~10 ns) and compares against the constant in ~3 ns.
 */
export const isAddress: (value: unknown) => boolean = (globalThis as { Bun?: unknown }).Bun
  ? (value) => typeof value === "bigint" && value >= 0n && value < 0x1_0000_0000_0000_0000n
  : (value) => typeof value === "bigint" && BigInt.asUintN(64, value) === value;

/** A native address: a bigint in [0, 2^64). */
export function checkAddress(value: unknown, what: string): bigint {
  if (typeof value !== "bigint") {
    throw new TypeError(`${what} must be a bigint address, got ${value === null ? "null" : typeof value}`);
  }
  if (value < 0n || value >= 1n << 64n) throw new RangeError(`${what} is not a 64-bit address: ${value}`);
  return value;
}

/** A validator of one option: throws TypeError/RangeError naming `name`. */
export type OptionCheck = (value: unknown, name: string) => void;

/**
 * An options object: undefined is `{}`; anything but a plain object, an unknown key or an ill-typed value is a
 * TypeError (a RangeError for a value of the right type out of range), so that no option is quietly ignored.
 * A key whose value is `undefined` counts as absent.
 */
export function checkOptions<T>(options: unknown, what: string, known: Record<string, OptionCheck>): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    const got = options === null
      ? "null"
      : Array.isArray(options)
      ? "an array"
      : `${typeof options} ${JSON.stringify(String(options)).slice(0, 60)}`;
    throw new TypeError(`${what} takes an options object { ${Object.keys(known).join(", ")} }, got ${got}`);
  }
  // The values checked are the values returned: a copy of what was read once, so a getter cannot answer the check
  // one thing and the caller another, nor an inherited property reach the caller unchecked.
  const checked: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    const check = known[k];
    if (!check) {
      throw new TypeError(`${what}: unknown option "${k}" (expected one of ${Object.keys(known).join(", ")})`);
    }
    if (v !== undefined) check(v, `${what}: option ${k}`);
    checked[k] = v;
  }
  return checked as T;
}

/** An option that must be a non-empty string without NUL characters (a path, a name). */
export const nonEmptyString: OptionCheck = (value: unknown, name: string): void => {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${value === null ? "null" : typeof value}`);
  }
  if (value === "" || value.includes("\0")) {
    throw new RangeError(`${name} must be a non-empty string without NUL characters`);
  }
};

/** An option that must be one of `values`. */
export function oneOf(values: readonly string[]): OptionCheck {
  return (value, name) => {
    if (typeof value !== "string") {
      throw new TypeError(`${name} must be a string, got ${value === null ? "null" : typeof value}`);
    }
    if (!values.includes(value)) {
      throw new RangeError(
        `${name} must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}`,
      );
    }
  };
}

/** An option that must be true or false. */
export const isBoolean: OptionCheck = (value: unknown, name: string): void => {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} must be a boolean, got ${value === null ? "null" : typeof value}`);
  }
};

/** An option that must be a whole number in [min, max]. */
export function integerIn(min: number, max: number): OptionCheck {
  return (value, name) => {
    if (typeof value !== "number") {
      throw new TypeError(`${name} must be a number, got ${value === null ? "null" : typeof value}`);
    }
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
}
