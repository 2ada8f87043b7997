/**
 * Records that carry 64-bit addresses as bigints, made serialisable: `JSON.stringify` throws on a bigint, so each
 * record gets a non-enumerable `toJSON` that gives a copy with every bigint field as a hex string ("0x7f…", the
 * notation a person reads addresses in). The record itself is unchanged: its fields stay bigints, and spreading,
 * `Object.keys` and deep equality do not see the method.
 * @module
 */

/** Gives `record` its `toJSON` (see the module notes) and returns it. */
export function jsonSafe<T extends object>(record: T): T {
  Object.defineProperty(record, "toJSON", { value: hexFields, enumerable: false, writable: true, configurable: true });
  return record;
}

function hexFields(this: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(this)) {
    const v = this[key];
    out[key] = typeof v === "bigint" ? `0x${v.toString(16)}` : v;
  }
  return out;
}
