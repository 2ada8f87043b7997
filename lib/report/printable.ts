/**
 * Text that comes from the Python side (type names, reprs, paths, process images), made safe to show a person. A
 * class can be named with C0/C1 control characters (an escape sequence moves the cursor, clears the screen, hides
 * text) or bidi controls (U+202E shows the rest of a line reversed), which would rewrite what a terminal or a page
 * shows. Each such character is shown as an escape instead (`\x1b`, `\u202e`, as Python's repr writes them); JSON
 * keeps the real text.
 * @module
 */

/** C0, DEL, C1; the bidi marks, embeddings, overrides and isolates; the line and paragraph separators. */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** One unsafe character as the escape that is shown instead. */
function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `s` with every control and bidi character escaped; the characters in `keep` (e.g. "\n" for text that is laid
 * out in lines) pass through. Idempotent: its output contains none of them.
 */
export function printable(s: string, keep = ""): string {
  return s.replace(UNSAFE, (c) => (keep.includes(c) ? c : escapeOne(c)));
}
