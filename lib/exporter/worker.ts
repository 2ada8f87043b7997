/**
 * An exporter worker: a child process (same runtime as the exporter) that reads targets for the scrape. It keeps the
 * attachment cache; the exporter sends one job per line on stdin and reads one answer per line on stdout:
 *
 *   → {"id":1,"job":{"pid":…,"start":…,"comm":"…","scrape":3}}     ← {"id":1,"result":{"kind":"mapped",…}}
 *
 * and one `{"ready":true}` line once started. Reads from a target are synchronous system calls (they cannot be
 * cancelled from JavaScript), which is why they happen here: the exporter bounds them by killing this process.
 * The filter (--match/--exclude) comes as JSON in argv[2]. The worker ends when its stdin closes.
 * @module
 */
import process from "node:process";
import { AttachmentCache } from "./cache.ts";
import { collectTarget, compileFilter, type TargetFilter, type TargetJob } from "./collect.ts";

const filter = JSON.parse(process.argv[2] ?? "{}") as TargetFilter;
const re = compileFilter(filter);
const cache = new AttachmentCache();

let buffered = "";
let queue: Promise<void> = Promise.resolve();

function answer(line: string): Promise<void> {
  return new Promise((done) => process.stdout.write(line + "\n", () => done()));
}

async function handle(line: string): Promise<void> {
  let msg: { id: number; job: TargetJob };
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  const result = await collectTarget(msg.job, cache, filter, re);
  await answer(JSON.stringify({ id: msg.id, result }));
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buffered += chunk;
  for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line.trim()) queue = queue.then(() => handle(line));
  }
});
process.stdin.on("end", () => {
  void queue.then(() => {
    cache.close();
    process.exit(0);
  });
});
await answer(JSON.stringify({ ready: true }));
