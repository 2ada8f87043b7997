/**
 * Test tooling only: a child process for tests/hardening_test.ts, for scenarios that break the process they run in
 * (a `__main__` without builtins, a closed stderr, two handles) or that must show it did not crash. argv[2] names
 * the scenario; the child prints one line `RESULT <json>` (errors included as { name, code, type, value, message }).
 * @module
 */
import { copyFileSync, readFileSync, renameSync, unlinkSync } from "node:fs";
import process from "node:process";
import { Worker } from "node:worker_threads";
import { openPython, type Python } from "../lib/mod.ts";

type Out = Record<string, unknown>;

/** An error as plain data, for the parent to assert on. */
function describe(e: unknown): Out {
  const err = e as {
    name?: string;
    code?: string;
    type?: string;
    value?: string;
    message?: string;
    traceback?: string;
  };
  return {
    name: err?.name,
    code: err?.code,
    type: err?.type,
    value: err?.value,
    message: err?.message,
    traceback: err?.traceback,
  };
}

function attempt(fn: () => unknown): Out {
  try {
    const value = fn();
    return { ok: true, value: typeof value === "bigint" ? `${value}n` : value };
  } catch (e) {
    return { ok: false, error: describe(e) };
  }
}

const scenarios: Record<string, (py: Python) => Out | Promise<Out>> = {
  // py.mallocHeap() around 50 MB of malloc'ed bytearrays (the parent sets LD_PRELOAD / MALLOC_CHECK_).
  mallocHeap50MB: (py) => {
    try {
      const before = py.mallocHeap().totals.inUse.bytes;
      py.run("_pymem_keep = [bytearray(5000) for _ in range(10000)]");
      return { grew: py.mallocHeap().totals.inUse.bytes - before };
    } catch (e) {
      return { error: describe(e) };
    }
  },
  // py.mallocTrim() and py.addressSpace() where malloc is not glibc's (the parent preloads jemalloc).
  mallocTrimReplaced: (py) => {
    const space = attempt(() => {
      const s = py.addressSpace();
      return { refused: s.malloc.refused, rss: s.total.rss, categories: s.categories };
    });
    return { trim: attempt(() => py.mallocTrim()), space };
  },
  // An exception raised while __main__ has no __builtins__ (issue 13, crash 1).
  noBuiltins: (py) => ({
    cleared: attempt(() => py.run("globals().clear()\nraise ValueError(1)")),
    evalCleared: attempt(() => py.eval("1/0")),
    deleted: attempt(() => py.run("del __builtins__\n1/0")),
    replaced: attempt(() => py.run("__builtins__ = 5\nraise KeyError('k')")),
    after: attempt(() => py.eval("6 * 7")),
  }),
  // Closing one handle inside another handle's withGIL (issue 13: hung on 3.11/3.12, aborted on 3.13).
  closeInOthersGil: async (py) => {
    const second = await openPython();
    const r: Out = {
      ownerInSecond: attempt(() => second.withGIL(() => py.close())),
      secondInOwner: attempt(() => py.withGIL(() => second.close())),
      still: attempt(() => py.eval("6 * 7")),
    };
    py.close();
    r.closed = py.closed && second.closed;
    return r;
  },
  // Libraries openPython refuses (another libpython, not a libpython) are unloaded again (issue 13).
  refusedUnloaded: async () => {
    const mapped = (name: string) => readFileSync("/proc/self/maps", "utf8").includes(`/${name}\n`);
    const r: Out = {};
    for (const library of JSON.parse(process.env.HARDEN_LIBRARIES ?? "[]") as string[]) {
      const name = library.slice(library.lastIndexOf("/") + 1);
      const before = mapped(name);
      let code: unknown = "opened";
      try {
        await openPython({ library });
      } catch (e) {
        code = (e as { code?: string }).code;
      }
      r[library] = { before, code, after: mapped(name) };
    }
    return r;
  },
  // A target for attach: this process, running the libpython named by HARDEN_LIBRARY, waits to be read.
  holdLibrary: async (py) => {
    py.run("data = [str(i) * 3 for i in range(20000)]");
    console.log("READY");
    await new Promise((r) => setTimeout(r, 60_000));
    return {};
  },
  // The loaded libpython (a copy, HARDEN_LIBRARY) is replaced on disk by another ELF file, then deleted: everything
  // that reads its symbols must still read the loaded one (issue 13: a changed file gives an error, not a fault).
  replacedOnDisk: (py) => {
    const copy = process.env.HARDEN_LIBRARY!;
    const figures = () => ({
      heap: attempt(() => py.heap().totals.blocksInUse > 0),
      blocks: attempt(() => py.allocator().getAllocatedBlocks() > 0),
      symbols: attempt(() => py.symbols.report().filter((r) => r.source === "hidden").map((r) => r.name).join(",")),
    });
    copyFileSync(process.env.HARDEN_OTHER!, `${copy}.tmp`);
    renameSync(`${copy}.tmp`, copy);
    const replaced = figures();
    unlinkSync(copy);
    return { replaced, deleted: figures() };
  },
  // Handles on other JavaScript threads (workers): the owner may not finalize under them (issue 13: it crashed their
  // next call); a worker that was terminated without closing its handle no longer counts.
  workerLifetime: async (py) => {
    const js = import.meta.url.endsWith(".js");
    const start = () => {
      const w = new Worker(new URL(js ? "./_worker_target.js" : "./_worker_target.ts", import.meta.url));
      const messages: Out[] = [];
      let wake: (() => void) | undefined;
      w.on("message", (m: Out) => (messages.push(m), wake?.()));
      w.on("error", (e: Error) => (messages.push({ error: e.message }), wake?.()));
      const next = async (): Promise<Out> => {
        for (const t0 = Date.now(); messages.length === 0 && Date.now() - t0 < 30_000;) {
          await new Promise<void>((r) => {
            const timer = setTimeout(r, 1000);
            wake = () => (clearTimeout(timer), r());
          });
        }
        return messages.shift() ?? { error: "no answer from the worker in 30 s" };
      };
      return { w, next };
    };
    const r: Out = {};
    const a = start();
    r.ready = await a.next();
    const b = start();
    await b.next();
    await b.w.terminate(); // never closed its handle
    r.refused = attempt(() => py.close());
    a.w.postMessage("eval");
    r.workerEval = await a.next();
    a.w.postMessage("close");
    r.workerClosed = await a.next();
    await a.w.terminate();
    // A terminated worker's thread ends a moment later, on some runtimes only after a few milliseconds.
    for (let i = 0; i < 250 && !py.closed; i++) {
      r.closed = attempt(() => py.close());
      if (!py.closed) await new Promise((res) => setTimeout(res, 20));
    }
    r.isClosed = py.closed;
    return r;
  },
};

const out: Out = {};
try {
  const py = await openPython(process.env.HARDEN_LIBRARY ? { library: process.env.HARDEN_LIBRARY } : {});
  out.minor = py.version.minor;
  Object.assign(out, await scenarios[process.argv[2]](py));
} catch (e) {
  out.fatal = describe(e);
}
console.log("RESULT " + JSON.stringify(out));
