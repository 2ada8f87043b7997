/**
 * Which allocators this machine can compare: CPython's own (pymalloc, malloc, debug variants, mimalloc on 3.13+)
 * and jemalloc/tcmalloc/mimalloc shared libraries found on disk, with the distribution package that provides each
 * and its version (or the install hint when it is missing).
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, join } from "node:path";
import type { AllocatorVariant } from "./types.ts";

export const LIB_DIRS = [
  "/usr/local/lib",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/lib64",
  "/usr/lib",
  "/lib",
];

interface ThirdParty {
  family: "jemalloc" | "tcmalloc" | "mimalloc";
  /** Prefix of the ids ("libmimalloc": CPython 3.13 has its own "mimalloc"). */
  id: string;
  sonames: string[];
  /** Package that provides it, per distribution family. */
  packages: { debian: string; fedora: string; arch: string; alpine: string };
}

const THIRD_PARTY: ThirdParty[] = [
  {
    family: "jemalloc",
    id: "jemalloc",
    sonames: ["libjemalloc.so.2"],
    packages: { debian: "libjemalloc2", fedora: "jemalloc", arch: "jemalloc", alpine: "jemalloc" },
  },
  {
    family: "tcmalloc",
    id: "tcmalloc",
    sonames: ["libtcmalloc_minimal.so.4", "libtcmalloc.so.4"],
    packages: { debian: "libtcmalloc-minimal4", fedora: "gperftools-libs", arch: "gperftools", alpine: "gperftools" },
  },
  {
    family: "mimalloc",
    id: "libmimalloc",
    sonames: ["libmimalloc.so.2"],
    packages: { debian: "libmimalloc2.0", fedora: "mimalloc", arch: "mimalloc", alpine: "mimalloc2" },
  },
];

function distroFamily(): keyof ThirdParty["packages"] {
  let text = "";
  try {
    text = readFileSync("/etc/os-release", "utf8");
  } catch { /* not Linux, or minimal */ }
  const ids = (text.match(/^ID(?:_LIKE)?=.*$/gm) ?? []).join(" ");
  if (/fedora|rhel|centos/.test(ids)) return "fedora";
  if (/arch/.test(ids)) return "arch";
  if (/alpine/.test(ids)) return "alpine";
  return "debian";
}

function installHint(tp: ThirdParty): string {
  const fam = distroFamily();
  const cmd = { debian: "apt-get install -y", fedora: "dnf install -y", arch: "pacman -S", alpine: "apk add" }[fam];
  return `${cmd} ${tp.packages[fam]}`;
}

/** A library by soname in `dirs`, else (when no directories were given) in the loader's ldconfig cache. */
function findLib(sonames: string[], dirs: string[] | undefined): string | undefined {
  for (const so of sonames) {
    for (const d of dirs ?? LIB_DIRS) if (existsSync(join(d, so))) return join(d, so);
  }
  if (dirs) return undefined;
  try {
    const cache = execFileSync("/sbin/ldconfig", ["-p"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    for (const so of sonames) {
      const m = new RegExp(`^\\s*${so.replace(/\./g, "\\.")} \\([^)]*\\) => (\\S+)$`, "m").exec(cache);
      if (m) return m[1];
    }
  } catch { /* no ldconfig */ }
  return undefined;
}

function packageVersion(pkg: string, path: string): string {
  try {
    return `${pkg} ${
      execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim()
    }`;
  } catch {
    try {
      return basename(realpathSync(path));
    } catch {
      return basename(path);
    }
  }
}

/**
 * Every allocator variant, resolved on this machine: CPython's own (pymalloc, malloc, mimalloc on 3.13+, the debug
 * variants with `debug`), and jemalloc / tcmalloc / mimalloc from the distribution both preloaded and in-process
 * through pymem. A library that is not installed gives variants with `skipped` naming the package to install.
 * `libPath` replaces the system's library directories (and the ldconfig cache) in the search.
 */
export function resolveAllocators(options: { debug?: boolean; libPath?: string[] } = {}): AllocatorVariant[] {
  const out: AllocatorVariant[] = [
    {
      id: "pymalloc",
      mode: "cpython",
      family: "pymalloc",
      allocator: "pymalloc",
      env: {},
      how: "nothing: CPython's default",
    },
    { id: "malloc", mode: "cpython", family: "glibc", allocator: "malloc", env: {}, how: "PYTHONMALLOC=malloc" },
    {
      id: "mimalloc",
      mode: "cpython",
      family: "mimalloc",
      allocator: "mimalloc",
      env: {},
      how: "PYTHONMALLOC=mimalloc (CPython 3.13+, built in)",
    },
  ];
  if (options.debug) {
    out.push(
      {
        id: "pymalloc_debug",
        mode: "cpython",
        family: "pymalloc",
        allocator: "pymalloc_debug",
        env: {},
        how: "PYTHONMALLOC=pymalloc_debug (debugging only)",
      },
      {
        id: "malloc_debug",
        mode: "cpython",
        family: "glibc",
        allocator: "malloc_debug",
        env: {},
        how: "PYTHONMALLOC=malloc_debug (debugging only)",
      },
      {
        id: "mimalloc_debug",
        mode: "cpython",
        family: "mimalloc",
        allocator: "mimalloc_debug",
        env: {},
        how: "PYTHONMALLOC=mimalloc_debug (3.13+, debugging only)",
      },
    );
  }
  for (const tp of THIRD_PARTY) {
    const path = findLib(tp.sonames, options.libPath);
    const pkg = tp.packages[distroFamily()];
    const skipped = path ? undefined : `${tp.sonames[0]} not found: install it with \`${installHint(tp)}\``;
    const common = {
      family: tp.family,
      library: path,
      package: pkg,
      libraryVersion: path ? packageVersion(pkg, path) : undefined,
      skipped,
    };
    out.push({
      id: `${tp.id}:preload`,
      mode: "preload",
      allocator: "malloc",
      env: path ? { LD_PRELOAD: path } : {},
      ...common,
      how: `LD_PRELOAD=${
        basename(path ?? tp.sonames[0])
      } PYTHONMALLOC=malloc (package ${pkg}; the whole process uses it)`,
    });
    out.push({
      id: `${tp.id}:pymem`,
      mode: "pymem",
      allocator: { library: path ?? tp.sonames[0] },
      env: {},
      ...common,
      how: `openPython({ allocator: { library: "${
        basename(path ?? tp.sonames[0])
      }" } }) (package ${pkg}; Python's domains only)`,
    });
  }
  return out;
}

/** Select variants by id or family name ("jemalloc" = both jemalloc variants). */
export function selectAllocators(all: AllocatorVariant[], wanted: string[] | undefined): AllocatorVariant[] | string {
  if (!wanted) return all;
  const chosen: AllocatorVariant[] = [];
  for (const w of wanted) {
    const hits = all.filter((v) => v.id === w || v.id.startsWith(`${w}:`) || (w === "all"));
    if (!hits.length) {
      return `unknown allocator "${w}": expected one of ${all.map((v) => v.id).join(", ")} (or a family name)`;
    }
    for (const h of hits) if (!chosen.includes(h)) chosen.push(h);
  }
  // pymalloc is the reference of every comparison.
  if (!chosen.some((v) => v.id === "pymalloc")) chosen.unshift(all[0]);
  return chosen;
}
