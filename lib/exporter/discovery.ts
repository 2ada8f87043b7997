/**
 * Which processes a scrape looks at, and the labels that name them.
 *
 * The scrape's main process only reads files that never wait on a target: the /proc directory, /proc/PID/stat
 * (start time, state, flags) and /proc/PID/cgroup. Everything that takes the target's mmap lock — /proc/PID/maps,
 * /proc/PID/cmdline, its memory — is read by a worker under a deadline (lib/exporter/worker.ts), because a target
 * stuck in the kernel with that lock held would block the reader with it.
 *
 * A process is identified by pid + start time (clock ticks since boot, field 22 of stat): a recycled pid is a new
 * process. `comm` joins the key for "not Python" verdicts, so a shell that execs python is looked at again.
 * @module
 */
import * as fs from "node:fs";
import { parseStat, type ProcStat, readStat } from "../machine/proc.ts";

export { parseStat, type ProcStat, readStat };

/** The key of a process in the attachment cache: pid and start time. */
export const processKey = (s: { pid: number; start: number }): string => `${s.pid}:${s.start}`;

/**
 * Every live user-space process, or just `pids` when given (those that exist). Zombies (killed, not yet reaped)
 * and kernel threads are left out; so are the pids in `ignore` (the exporter and its workers).
 */
export function listProcesses(pids: readonly number[] | undefined, ignore: ReadonlySet<number>): ProcStat[] {
  const out: ProcStat[] = [];
  const all = pids ?? fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
  for (const pid of all) {
    if (ignore.has(pid)) continue;
    const s = readStat(pid);
    if (!s || s.kernelThread || s.state === "Z" || s.state === "X" || s.state === "x") continue;
    out.push(s);
  }
  return out;
}

/** Container and pod of a process, from its cgroup path, when it runs in one. */
export interface ContainerIds {
  /** The 64-hex container id (Docker, containerd, CRI-O, Podman), "" when none. */
  container: string;
  /** The Kubernetes pod UID (with dashes), "" when none. */
  pod: string;
}

/**
 * Container and pod ids from the text of /proc/PID/cgroup (v1 or v2). Recognises the paths Docker, containerd,
 * CRI-O, Podman and the kubelet (cgroupfs and systemd drivers) create:
 * `/docker/<id>`, `/system.slice/docker-<id>.scope`, `/kubepods/burstable/pod<uid>/<id>`,
 * `/kubepods.slice/…/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`, `libpod-<id>`.
 */
export function parseCgroup(text: string): ContainerIds {
  let container = "", pod = "";
  for (const line of text.split("\n")) {
    const path = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
    if (!path) continue;
    const c = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:\/|$)/.exec(path);
    if (c && !container) container = c[1];
    const p = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(path);
    if (p && !pod) pod = p[1].replace(/_/g, "-");
  }
  return { container, pod };
}

/** Container and pod ids of a process; both "" when it is not in a container or is gone. */
export function containerOf(pid: number): ContainerIds {
  try {
    return parseCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  } catch {
    return { container: "", pod: "" };
  }
}

/** The longest `cmd` label: enough to tell workers apart, short enough for a dashboard legend. */
export const CMD_LABEL_MAX = 60;

/**
 * A short `cmd` label from argv: the program's base name and its arguments, paths shortened to their base name,
 * cut at {@link CMD_LABEL_MAX} characters. A process that rewrote its title (setproctitle: one argv string with
 * spaces) keeps that title.
 */
export function cmdLabel(argv: readonly string[]): string {
  if (argv.length === 0) return "";
  const base = (s: string) => (s.includes("/") && !s.includes(" ") ? s.slice(s.lastIndexOf("/") + 1) || s : s);
  const text = argv.map(base).join(" ").replace(/\s+/g, " ").trim();
  return text.length > CMD_LABEL_MAX ? `${text.slice(0, CMD_LABEL_MAX - 1)}…` : text;
}

/** argv from the NUL-separated text of /proc/PID/cmdline. */
export function parseCmdline(text: string): string[] {
  const parts = text.split("\0");
  if (parts.length && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Whether a process name or argv[0] looks like a Python interpreter (for processes whose maps we may not read). */
export function looksLikePython(comm: string, argv0 = ""): boolean {
  const base = argv0.slice(argv0.lastIndexOf("/") + 1);
  return /python/i.test(comm) || /^python/i.test(base);
}
