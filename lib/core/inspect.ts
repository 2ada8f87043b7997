/**
 * One-line summaries in the REPLs: Node's and Bun's `util.inspect` and Deno's console show an object through these
 * symbols. Classes define `toString()`; `showInRepl` makes both REPLs print it instead of the object's fields
 * (which would be bigint addresses and private state).
 * @module
 */

const nodeInspect = Symbol.for("nodejs.util.inspect.custom");
const denoInspect = Symbol.for("Deno.customInspect");

/** Make the REPLs and console.log show instances of each class by their `toString()`. */
export function showInRepl(...classes: { prototype: { toString(): string } }[]): void {
  for (const cls of classes) {
    for (const symbol of [nodeInspect, denoInspect]) {
      Object.defineProperty(cls.prototype, symbol, {
        value: function (this: { toString(): string }): string {
          return this.toString();
        },
        writable: true,
        configurable: true,
      });
    }
  }
}
