/**
 * The dependency rule of docs/architecture.md, checked by `npm test` (npm run deps): no import cycles, and each
 * layer imports only the layers below it. A violation names both files and the rule it breaks.
 *
 *   ffi/ → lib/errors.ts, lib/checks.ts, lib/command-line.ts → lib/machine/ → lib/cpython/ → lib/core/
 *        → lib/obmalloc/ → lib/glibc/ → lib/mimalloc/ → lib/objects/
 *        → lib/allocators/, lib/interpreters/, lib/attach/
 *        → lib/python.ts → lib/report/, lib/compare/
 *        → lib/exporter/ → lib/cli/, lib/cli.ts, lib/mod.ts
 */
const L = {
  ffi: "^ffi/",
  base: "^lib/(errors|checks|command-line)[.]ts$",
  machine: "^lib/machine/",
  cpython: "^lib/cpython/",
  core: "^lib/core/",
  obmalloc: "^lib/obmalloc/",
  glibc: "^lib/glibc/",
  mimalloc: "^lib/mimalloc/",
  objects: "^lib/objects/",
  allocators: "^lib/allocators/",
  interpreters: "^lib/interpreters/",
  attach: "^lib/attach/",
  python: "^lib/python[.]ts$",
  report: "^lib/report/",
  compare: "^lib/compare/",
  exporter: "^lib/exporter/",
  cli: "^lib/(cli/|cli[.]ts$)",
  mod: "^lib/mod[.]ts$",
};
const any = (...names) => `(${names.map((n) => L[n]).join("|")})`;
/** `from` may import nothing in `forbidden`. */
const layer = (name, from, ...forbidden) => ({
  name,
  severity: "error",
  comment: `${from} may not import ${forbidden.join(", ")} (docs/architecture.md, the dependency rule)`,
  from: { path: L[from] },
  to: { path: any(...forbidden) },
});
const above = [
  "machine",
  "cpython",
  "core",
  "obmalloc",
  "glibc",
  "mimalloc",
  "objects",
  "allocators",
  "interpreters",
  "attach",
  "python",
  "report",
  "compare",
  "exporter",
  "cli",
  "mod",
];
const after = (name) => above.slice(above.indexOf(name) + 1);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "import cycles hide the layering",
      from: {},
      to: { circular: true },
    },
    { name: "ffi-is-the-bottom", severity: "error", from: { path: L.ffi }, to: { path: "^lib/" } },
    layer("base-imports-nothing-of-lib", "base", ...above),
    layer("machine-knows-no-cpython", "machine", ...after("machine")),
    layer("cpython-is-numbers", "cpython", ...after("cpython")),
    layer("core-below-features", "core", ...after("core")),
    layer("obmalloc-below-features", "obmalloc", ...after("obmalloc")),
    layer("glibc-below-features", "glibc", ...after("glibc")),
    layer("mimalloc-below-features", "mimalloc", ...after("mimalloc")),
    layer("objects-below-features", "objects", ...after("objects")),
    layer("allocators-are-a-feature", "allocators", ...after("allocators")),
    layer(
      "interpreters-are-a-feature",
      "interpreters",
      ...after("interpreters").filter((n) => n !== "attach"),
      "attach",
    ),
    layer("attach-is-a-feature", "attach", "allocators", "interpreters", ...after("attach")),
    layer("python-composes-features", "python", "attach", ...after("python")),
    layer("report-renders-only", "report", "python", "compare", "exporter", "cli", "mod"),
    layer("compare-is-an-app", "compare", "exporter", "cli", "mod"),
    layer("exporter-is-an-app", "exporter", "compare", "cli", "mod"),
    {
      name: "lib-not-tests-or-bench",
      severity: "error",
      from: { path: "^(lib|ffi)/" },
      to: { path: "^(tests|bench|examples)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
