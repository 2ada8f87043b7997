/**
 * Attach to a containerised Python (issue 14): the target runs in its own mount namespace whose root is an unpacked
 * tree (`unshare --mount`, then `pivot_root` into the root tests/pythons.ts found the CPython under test in, Debian
 * sid's from .ci/sid-pythons.sh), with the host's file system unmounted. There it runs natively, on the tree's own
 * glibc and loader. The paths in its /proc/PID/maps are the container's, so attach must read its binaries through
 * /proc/PID/root; its map must equal the target's own sys._debugmallocstats() rows, as for a local target.
 *
 * Runs for a CPython found in an unpacked root (PYMEM_TEST_ROOT, set by tests/run.ts), as root (a mount namespace
 * needs CAP_SYS_ADMIN), where util-linux's unshare and pivot_root exist; skipped with the reason otherwise.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { assert, test } from "./_harness.ts";
import { attachPython, listPythonProcesses } from "../lib/mod.ts";
import { parseDebugMallocStats } from "../lib/obmalloc/stats.ts";
import { FRAGMENT } from "./_attach_target.ts";
import { targetInterpreter } from "./_launch.ts";

const root = process.env.PYMEM_TEST_ROOT;
const exe = targetInterpreter();
const have = (cmd: string) => {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const skip: string | false = process.platform !== "linux"
  ? "mount namespaces are Linux's"
  : !root
  ? "needs a CPython unpacked in a root of its own (PYMEM_TEST_ROOT, set by tests/run.ts for Debian sid's)"
  : !exe || !exe.startsWith(root + "/")
  ? `no interpreter of ${process.env.PYMEM_LIBPYTHON} inside ${root}`
  : process.getuid?.() !== 0
  ? "needs root: unshare --mount and pivot_root need CAP_SYS_ADMIN"
  : !have("unshare") || !have("pivot_root")
  ? "needs util-linux's unshare and pivot_root"
  : false;

// Runs as `sh -c SCRIPT sh ROOT EXE COPY ARGS…` inside the new mount namespace (mounts made here are private to it).
// pivot_root needs the new root to be a mount point, hence the bind mount; the old root goes under the new /tmp, a
// tmpfs of the namespace's own, and the target itself unmounts it (no host binary can run once the root has moved:
// their loader and libraries are no longer there). A COPY path (under /tmp) runs a copy of EXE from there instead.
const ENTER = [
  "set -e",
  "root=$1; exe=$2; copy=$3; shift 3",
  'mount --bind "$root" "$root"',
  'mount -t tmpfs -o size=64m,mode=1777 pymem-tmp "$root/tmp"',
  'mkdir "$root/tmp/.old-root"',
  'if [ -n "$copy" ]; then mkdir -p "$root${copy%/*}"; cp "$root$exe" "$root$copy"; exe=$copy; fi',
  'cd "$root"',
  "pivot_root . tmp/.old-root",
  "cd /",
  'exec "$exe" "$@"',
].join("\n");
const UNMOUNT_OLD_ROOT = "import ctypes, os\n" +
  "if ctypes.CDLL(None, use_errno=True).umount2(b'/tmp/.old-root', 2) != 0: raise OSError(ctypes.get_errno(), 'umount2')\n" +
  "os.rmdir('/tmp/.old-root')\n";

const children: ChildProcess[] = [];

/** Start EXE (a path inside the root) contained, on the fragmented workload; resolves once its stats are written. */
async function startContained(
  inside: string,
  copy = "",
): Promise<{ pid: number; stats: ReturnType<typeof parseDebugMallocStats> }> {
  // No PYTHONHOME: inside, the tree is at / where its build expects it.
  const env = { ...process.env };
  delete env.PYTHONHOME;
  const child = spawn("unshare", [
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    ENTER,
    "sh",
    root!,
    inside,
    copy,
    "-c",
    UNMOUNT_OLD_ROOT + FRAGMENT,
    "/tmp/out",
  ], { stdio: ["ignore", "ignore", "inherit"], env });
  children.push(child);
  const pid = child.pid!;
  // unshare and sh exec in place: the pid is the target's. Its /tmp is the namespace's tmpfs, seen from here
  // through /proc/PID/root only.
  await waitFor(`/proc/${pid}/root/tmp/out.ready`, child);
  return { pid, stats: parseDebugMallocStats(fs.readFileSync(`/proc/${pid}/root/tmp/out`, "utf8")) };
}

/** The attached version is the one under test (tests/run.ts sets PYMEM_TEST_VERSION, "3.14.10"). */
function assertVersion(v: { major: number; minor: number; micro: number }): void {
  const want = process.env.PYMEM_TEST_VERSION;
  if (want) assert.equal(`${v.major}.${v.minor}.${v.micro}`, want);
}

function assertSameRows(
  snap: ReturnType<Awaited<ReturnType<typeof attachPython>>["heap"]>,
  stats: ReturnType<typeof parseDebugMallocStats>,
): void {
  assert.equal(stats.pymalloc, true);
  assert.ok(snap.sizeClasses.length >= 10);
  assert.deepEqual(snap.sizeClasses, stats.sizeClasses);
  assert.equal(snap.totals.arenas, stats.values["# arenas allocated current"]);
  assert.equal(snap.totals.bytesInUse, stats.values["# bytes in allocated blocks"]);
  assert.equal(snap.totals.bytesAvailable, stats.values["# bytes in available blocks"]);
  assert.equal(snap.walk.inconsistentPools, 0);
  assert.deepEqual(snap.warnings, []);
}

async function waitFor(file: string, child: ChildProcess, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (fs.readFileSync(file, "utf8") === "1") return;
    } catch { /* not yet, or not yet in its namespace */ }
    if (child.exitCode !== null) {
      throw new Error(`the containerised target exited (${child.exitCode}) before writing ${file}`);
    }
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("container: a target in its own mount namespace (pivot_root) is mapped like a local one", async () => {
  const inside = "/" + relative(root!, exe!); // e.g. /usr/bin/python3.14
  const { pid, stats } = await startContained(inside);

  // It is contained: another mount namespace, no host file system left inside, and it runs the tree's own binary.
  assert.notEqual(fs.readlinkSync(`/proc/${pid}/ns/mnt`), fs.readlinkSync("/proc/self/ns/mnt"));
  assert.deepEqual(fs.readdirSync(`/proc/${pid}/root/tmp`).sort(), [
    "out",
    "out.ready",
    "out.warmup",
    "out.warmup.ready",
  ]);
  assert.ok(!fs.existsSync(`/proc/${pid}/root/tmp/.old-root`));
  const maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8");
  assert.ok(maps.split("\n").some((l) => l.endsWith(` ${inside}`)), `${inside} in its maps`);
  assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), inside);

  const py = await attachPython(pid);
  try {
    assertVersion(py.version);
    assert.equal(py.library, inside); // the path as the target sees it; the bytes came through /proc/PID/root
    assertSameRows(py.heap(), stats);
  } finally {
    py.close();
  }
  const row = (await listPythonProcesses()).find((r) => r.pid === pid);
  assert.ok(row, `pid ${pid} listed`);
  assert.equal(row.version, process.env.PYMEM_TEST_VERSION ?? row.version);
  assert.equal(row.arenas, stats.values["# arenas allocated current"]);
}, { skip });

test("container: a path that exists on the host too, as another file, is read from the container's root", async () => {
  // The container runs its interpreter from /tmp/pymem-decoy-N/python; the host has a different executable at that
  // very path (another CPython when the machine has one). Attach must read the container's, through /proc/PID/root.
  const dir = fs.mkdtempSync("/tmp/pymem-decoy-");
  const path = join(dir, "python");
  const hostPython = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/sh"].find((p) => fs.existsSync(p))!;
  fs.copyFileSync(fs.realpathSync(hostPython), path);
  try {
    const { pid, stats } = await startContained("/" + relative(root!, exe!), path);
    assert.ok(fs.readFileSync(`/proc/${pid}/maps`, "utf8").includes(` ${path}\n`), `${path} in its maps`);
    assert.notDeepEqual(
      fs.readFileSync(path).subarray(0, 4096),
      fs.readFileSync(`/proc/${pid}/root${path}`).subarray(0, 4096),
    );
    const py = await attachPython(pid);
    try {
      assertVersion(py.version);
      assertSameRows(py.heap(), stats);
    } finally {
      py.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, { skip });

test("container: cleanup", async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    await new Promise<void>((r) => {
      c.once("exit", () => r());
      c.kill("SIGKILL");
    });
  }
});
