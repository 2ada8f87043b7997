/**
 * lib/cpython's table is what tools/cpython-layouts.ts makes of the headers on this machine: every release found
 * (pyenv's, the system's, Debian sid's libpython3.X-dev) regenerates its minor's row number for number, and the
 * committed file is the tool's own rendering. On 3.13+ the CPython under test is asked too: its `_Py_DebugOffsets`,
 * read as a struct at the generated field offsets, must agree with its row. A minor whose headers are absent is
 * skipped, naming the package.
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  compilerMissing,
  differences,
  discoverReleases,
  generate,
  render,
  ROOT,
  TABLE,
} from "../tools/cpython-layouts.ts";
import { GENERATED } from "../lib/cpython/layouts.generated.ts";
import { capabilities, cpython, KNOWN_MINORS } from "../lib/cpython/versions.ts";
import { ARENA, POOL, STATE } from "../lib/obmalloc/layout.ts";
import {
  checkDebugOffsets,
  DEBUG_OFFSETS_HEAD,
  debugOffsetsMismatches,
  readDebugOffsets,
} from "../lib/core/debug-offsets.ts";
import { hostOf } from "../lib/obmalloc/host.ts";
import { assert, python, test } from "./_harness.ts";

const noCompiler = compilerMissing();
const releases = noCompiler ? [] : discoverReleases();

for (const minor of KNOWN_MINORS) {
  const found = releases.filter((r) => r.minor === minor);
  const skip = noCompiler ??
    (found.length ? false : `no headers of CPython 3.${minor} on this machine (install them: pyenv install ` +
      `3.${minor}, or Debian's libpython3.${minor}-dev${minor >= 14 ? "; sid's: bash .ci/sid-pythons.sh" : ""})`);
  const from = found.map((r) => `${r.version} (${r.source})`).join(", ") || "its headers";
  test(`cpython layouts: 3.${minor} regenerates from ${from}`, () => {
    const problems = found.flatMap((r) => differences(r, generate(r), GENERATED[minor]));
    assert.deepEqual(problems, [], `${TABLE} differs from the headers (run \`bun tools/cpython-layouts.ts --write\`)`);
  }, { skip });
}

test("cpython layouts: the committed table is the tool's rendering of itself", () => {
  assert.equal(readFileSync(join(ROOT, TABLE), "utf8"), render(GENERATED), `${TABLE} was edited by hand`);
});

test("cpython layouts: the capabilities agree with what the headers have", () => {
  for (const minor of KNOWN_MINORS) {
    const { layout, caps } = cpython(minor);
    assert.equal(caps.perInterpreterObmalloc, layout.interp !== undefined, `3.${minor} perInterpreterObmalloc`);
    assert.equal(caps.debugOffsets, layout.debugOffsets !== undefined, `3.${minor} debugOffsets`);
    assert.equal(caps.obmallocState === "static", layout.state === undefined, `3.${minor} obmallocState`);
    // One struct_pool_header / arena_object / _obmalloc_state / debug-offsets head for all: the shared constants.
    assert.deepEqual(layout.pool, POOL, `3.${minor} pool_header`);
    assert.deepEqual(layout.arena, ARENA, `3.${minor} arena_object`);
    if (layout.state) assert.deepEqual(layout.state, STATE, `3.${minor} _obmalloc_state`);
    if (layout.debugOffsets) {
      const { cookie, version, freeThreaded } = layout.debugOffsets;
      assert.deepEqual([cookie, version, freeThreaded, DEBUG_OFFSETS_HEAD], [0, 8, 16, 24], `3.${minor} debug head`);
    }
  }
  // A minor newer than every row keeps the newest row's capabilities; one older than 3.8 has none.
  assert.deepEqual(capabilities(KNOWN_MINORS.at(-1)! + 1), cpython(KNOWN_MINORS.at(-1)!).caps);
  assert.equal(capabilities(7), undefined);
});

const py = await python();
const native = hostOf(py).native;
const minor = py.version.minor;
const fields = cpython(minor).layout.debugOffsets;
test(`cpython layouts: CPython 3.${minor}'s own _Py_DebugOffsets agree with its row`, () => {
  const runtime = native.dlsym("_PyRuntime");
  assert.notEqual(runtime, 0n, "_PyRuntime is exported");
  const bytes = native.safeRead(runtime, fields!.size);
  assert.ok(bytes, "_Py_DebugOffsets is readable");
  const d = readDebugOffsets(bytes, fields!);
  assert.ok(d, "the cookie is there");
  assert.equal(d.version, py.version.hex);
  assert.deepEqual(debugOffsetsMismatches(d, cpython(minor).layout), []);
  // The check can fail: a library that published another tp_flags is caught, naming the field.
  const bent = bytes.slice();
  new DataView(bent.buffer).setBigUint64(fields!.tpFlags, BigInt(d.tpFlags + 8), true);
  const release = cpython(minor).layout.release;
  assert.deepEqual(debugOffsetsMismatches(readDebugOffsets(bent, fields!)!, cpython(minor).layout, "objects"), [
    `PyTypeObject.tp_flags: the library says ${d.tpFlags + 8}, the ${release} headers ${d.tpFlags}`,
  ]);
  // Opening and attaching refuse only an object layout that differs (the interpreter list is read at the library's
  // own offsets, a struct's size not at all); this test wants every field equal.
  const grown = bytes.slice();
  new DataView(grown.buffer).setBigUint64(fields!.interpSize, BigInt(d.interp.size + 8), true);
  assert.deepEqual(debugOffsetsMismatches(readDebugOffsets(grown, fields!)!, cpython(minor).layout, "objects"), []);
  assert.equal(debugOffsetsMismatches(readDebugOffsets(grown, fields!)!, cpython(minor).layout).length, 1);
  checkDebugOffsets(native, minor); // what openPython ran: it agrees
}, { skip: fields ? false : `CPython 3.${minor} has no _Py_DebugOffsets (3.13+)` });
