/**
 * Target processes of the glibc tests of objects in malloc chunks: a script started under the CPython being tested
 * (through tests/_launch.ts), a file it writes when ready, and its end.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { launched } from "./_launch.ts";
import { targetExecutable } from "./_attach_target.ts";

export const target: { exe: string; version: string } | undefined = targetExecutable();
export const skip: string | false = target ? false : `no interpreter found for ${process.env.PYMEM_LIBPYTHON}`;
const tmp = fs.mkdtempSync(join(os.tmpdir(), "pymem-chunks-"));
const children: ChildProcess[] = [];
let seq = 0;

export function startTarget(script: string, env: Record<string, string> = {}): { child: ChildProcess; out: string } {
  const n = seq++;
  const file = join(tmp, `target${n}.py`), out = join(tmp, `out${n}`);
  fs.writeFileSync(file, script);
  const [cmd, args] = launched(target!.exe, [file, out]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } });
  children.push(child);
  return { child, out };
}

export async function waitFile(out: string, child: ChildProcess): Promise<string> {
  const t0 = Date.now();
  while (!fs.existsSync(out)) {
    if (child.exitCode !== null) throw new Error(`target exited (${child.exitCode}) before writing ${out}`);
    if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting for ${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return fs.readFileSync(out, "utf8");
}

export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGKILL");
  });
}

export const WRITE = `
import json, os, signal
out = sys.argv[1]
with open(out + '.tmp', 'w') as fp:
    json.dump(REPORT, fp)
os.rename(out + '.tmp', out)
signal.pause()
`;

/** Ends every target started, and removes their files. */
export async function cleanup(): Promise<void> {
  await Promise.all(children.map(kill));
  fs.rmSync(tmp, { recursive: true, force: true });
}
