/**
 * The code a CLI command runs in the embedded CPython (-c CODE, --demo, FILE.py with its arguments), run as
 * `python` would, with stdout redirected at the descriptor level when stdout carries JSON; and opening the
 * interpreter from the command-line options.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { type AllocatorName, openPython, type Python } from "../python.ts";
import { PythonError } from "../errors.ts";
import { DEMO_WORKLOAD } from "./demo-workload.ts";
import { type Context, ExitStatus, UsageError } from "./command.ts";
import { closedByCode, progress } from "./io.ts";
import { cstr } from "../core/native.ts";
import { hostOf } from "../obmalloc/host.ts";

/** A Python string literal for any JavaScript string (non-ASCII escaped, so the source stays ASCII). */
function pyString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\" || ch === "'") out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return out + "'";
}

/** What to run: -c CODE, --demo, or FILE.py with its arguments. */
export interface Workload {
  code?: string;
  file?: string;
  args: string[];
  /** Shown in reports: "-c", the file, "demo". */
  label?: string;
}

export function workloadOf(ctx: Context): Workload {
  const code = ctx.values.code as string | undefined;
  const demo = !!ctx.values.demo;
  const [first, ...rest] = ctx.positionals;
  if (code !== undefined && demo) throw new UsageError("give either -c CODE or --demo, not both");
  if (code !== undefined) return { code, args: ctx.positionals, label: "-c" };
  if (demo) {
    if (first !== undefined) throw new UsageError(`--demo takes no script (got "${first}")`);
    return { code: DEMO_WORKLOAD, args: [], label: "built-in demo (fragmenting)" };
  }
  if (first === undefined) return { args: [] };
  if (!existsSync(first)) throw new UsageError(`no such file: ${first}`);
  if (!statSync(first).isFile()) throw new UsageError(`not a file: ${first}`);
  return { file: resolve(first), args: rest, label: first };
}

/** fcntl command: duplicate a descriptor, close-on-exec (Linux <fcntl.h>). */
const F_DUPFD_CLOEXEC = 1030;
/** fcntl command: the descriptor's flags; -1 (EBADF) when it is not open. */
const F_GETFD = 1;
const O_RDONLY = 0;
const O_WRONLY = 1;

/**
 * Run the workload in `__main__` as python would: sys.argv, __file__ and sys.path[0] for a file. `quiet` sends the
 * code's stdout to stderr (stdout then carries JSON).
 */
export function runWorkload(py: Python, w: Workload, quiet: boolean): void {
  if (w.code === undefined && w.file === undefined) return;
  const argv = w.file !== undefined ? [w.file, ...w.args] : ["-c", ...w.args];
  const setup = ["import sys as _pymem_sys", `_pymem_sys.argv = [${argv.map(pyString).join(", ")}]`];
  if (w.file !== undefined) {
    setup.push(`__file__ = ${pyString(w.file)}`, `_pymem_sys.path.insert(0, ${pyString(dirname(w.file))})`);
  } else {
    setup.push("_pymem_sys.path.insert(0, '')");
  }
  if (quiet) setup.push("_pymem_stdout, _pymem_sys.stdout = _pymem_sys.stdout, _pymem_sys.stderr");
  setup.push("del _pymem_sys");
  py.run(setup.join("\n"));
  // Quiet: file descriptor 1 itself points at stderr while the code runs, so os.write(1, …), C extensions' printf
  // and child processes cannot interleave with the JSON either; it is restored (stdio flushed first) afterwards.
  const { libc } = hostOf(py).native;
  // The saved descriptor is close-on-exec: a child process must not inherit (and hold open) the real stdout.
  const savedStdout = quiet ? libc.fcntl(1, F_DUPFD_CLOEXEC, 3) : -1;
  if (savedStdout >= 0) libc.dup2(2, 1);
  try {
    if (w.file !== undefined) {
      py.run(`exec(compile(open(${pyString(w.file)}, 'rb').read(), ${pyString(w.file)}, 'exec'))`);
    } else {
      py.run(w.code!);
    }
  } catch (e) {
    if (e instanceof PythonError && e.exitCode !== undefined) {
      // As Python exits: code None or 0 ends the script normally, an int is the status, anything else (a str
      // "0", a float 3.0) is printed and the status is 1.
      const code = e.exitCode;
      if (code === null || code === 0) return;
      if (typeof code === "string") process.stderr.write(`${code}\n`);
      throw new ExitStatus(typeof code === "number" ? code & 0xff : 1);
    }
    if (e instanceof PythonError) {
      progress.clear();
      process.stderr.write(`${e.traceback || `${e.type}: ${e.value}`}\n`);
      throw new ExitStatus(1);
    }
    throw e;
  } finally {
    const restore = quiet ? "import sys as _s\n_s.stdout = _pymem_stdout\ndel _pymem_stdout\n" : "import sys as _s\n";
    try {
      py.run(`${restore}_s.stdout.flush()\n_s.stderr.flush()\ndel _s`);
    } catch { /* the script may have closed or replaced its streams */ }
    if (savedStdout >= 0) {
      libc.fflush(0n);
      libc.dup2(savedStdout, 1);
      libc.close(savedStdout);
    }
    // The code may have closed fd 0, 1 or 2: /dev/null goes there now, natively, before the runtime opens any file
    // (Deno's node:fs takes a file that lands on fd 2 for its own closed stderr, and the heap walk reads ELF files).
    // A report for a closed stdout is still an error (write() says so), not a silent /dev/null.
    for (let fd = 0; fd <= 2; fd++) {
      if (libc.fcntl(fd, F_GETFD, 0) !== -1) continue;
      libc.open(cstr("/dev/null"), fd === 0 ? O_RDONLY : O_WRONLY);
      closedByCode.add(fd);
    }
  }
}

export async function open(ctx: Context): Promise<Python> {
  const allocator = ctx.values.allocator as AllocatorName | undefined;
  progress.say("loading libpython");
  try {
    return await openPython({
      library: ctx.values.library as string | undefined,
      executable: ctx.values.python as string | undefined,
      allocator,
    });
  } catch (e) {
    // An unknown allocator name is bad usage, not a failure.
    if (e instanceof RangeError && /allocator/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
}
