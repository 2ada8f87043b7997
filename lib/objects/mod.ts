/**
 * Entry points of lib/objects: classify a heap snapshot's blocks into an ObjectsSnapshot, reading this process or
 * another one.
 *
 * `HeapSnapshot` is defined here, over lib/obmalloc's walk (`ObmallocSnapshot`), because its `objects()` and
 * `.pinning()` classify blocks, which the obmalloc layer knows nothing of: whoever walks a heap hands its classifier
 * to the constructor.
 * @module
 */
import { ObmallocSnapshot, type SnapshotInfo, type WalkResult } from "../obmalloc/heap.ts";
import { ARENA, type ObmallocLayout } from "../obmalloc/layout.ts";
import type { PythonHost } from "../core/host.ts";
import { type ExplainOptions, explainSamples } from "./explain.ts";
import { PymemError } from "../errors.ts";
import { checkOptions, integerIn, isBoolean } from "../checks.ts";
import { RemoteMemory } from "../machine/remote.ts";
import { classifyBlocks, type ClassifyOptions } from "./classify.ts";
import { localObjectMemory, type ObjectMemory } from "./memory.ts";
import { ObjectsSnapshot, type PinningOptions, type PinningRow } from "./snapshot.ts";

export { ObjectsSnapshot } from "./snapshot.ts";
export type { BlockInfo, ObjectsTotals, PinningOptions, PinningRow, TypeRow } from "./snapshot.ts";
export type { ClassifyOptions } from "./classify.ts";
export type { TypeInfo } from "./types.ts";
export type { ObjectMemory } from "./memory.ts";
export type { ExplainOptions, Sample } from "./explain.ts";

/** Classify every block of `heap`, reading through `mem`. */
export function classifyHeap(
  heap: ObmallocSnapshot,
  layout: ObmallocLayout,
  mem: ObjectMemory,
  options: ClassifyOptions = {},
  explainer?: (addresses: bigint[], options: ExplainOptions, types: bigint[]) => ReturnType<typeof explainSamples>,
): ObjectsSnapshot {
  const t0 = performance.now();
  const c = classifyBlocks(heap, layout, mem, options);
  return new ObjectsSnapshot(heap, c, performance.now() - t0, explainer);
}

/** An interpreter samples can be asked of: its GIL (and thread state) taken, an expression evaluated in it. */
export type SampleSource = Pick<PythonHost, "withGIL" | "eval">;

/**
 * Whom a local heap's samples are asked of. Each object is looked for among the garbage collector's objects of one
 * interpreter, so a sub-interpreter's are found only by asking that interpreter; the samples one source did not
 * find are asked of the next (a legacy sub-interpreter shares main's heap: both hold objects in it).
 */
export interface SampleSources {
  /** Throws (CLOSED) once the interpreter the snapshot belongs to is gone, before anything is read or asked. */
  assertOpen(): void;
  /** In order; default: the current interpreter, for a heap viewed in place. */
  sources?: SampleSource[];
}

/** Ask `sources` in turn: a sample the first did not find (every field null) is asked of the next. */
function explainAcross(sources: SampleSource[], addresses: bigint[], options: ExplainOptions, types: bigint[]) {
  const out = explainSamples(sources[0] as PythonHost, addresses, options, types);
  for (const source of sources.slice(1)) {
    const missing = out.flatMap((s, i) => (s.repr === null && s.path === null && s.traceback === null ? [i] : []));
    if (!missing.length) break;
    const more = explainSamples(
      source as PythonHost,
      missing.map((i) => addresses[i]),
      options,
      missing.map((i) => types[i] ?? 0n),
    );
    missing.forEach((i, k) => (out[i] = more[k]));
  }
  return out;
}

/**
 * This process's heap: GIL held by the caller. Pools are viewed in place when `views` (the heap's only writer is
 * the thread holding the GIL); before that, the arena table is compared with the snapshot's, so an arena freed
 * since the snapshot is never viewed.
 */
export function classifyLocal(
  py: PythonHost,
  heap: ObmallocSnapshot,
  layout: ObmallocLayout,
  vars: { arenas: bigint; maxarenas: bigint },
  views: boolean,
  options: ClassifyOptions = {},
  ask?: SampleSources,
): ObjectsSnapshot {
  ask?.assertOpen();
  const native = py.native;
  const safe = RemoteMemory.ofSelf(native.backend, native.libc);
  try {
    if (views) checkArenasUnchanged(safe, heap, vars);
    // Samples are asked of Python: by default the current interpreter, only for the heap it allocates from (views).
    const sources = ask?.sources ?? (views ? [py] : []);
    const explainer = sources.length
      ? (a: bigint[], o: ExplainOptions, t: bigint[]) => {
        ask?.assertOpen();
        return explainAcross(sources, a, o, t);
      }
      : undefined;
    return classifyHeap(
      heap,
      layout,
      localObjectMemory(native.backend, safe, (n) => native.dlsym(n), views),
      options,
      explainer,
    );
  } finally {
    safe.close();
  }
}

function checkArenasUnchanged(
  safe: RemoteMemory,
  heap: ObmallocSnapshot,
  vars: { arenas: bigint; maxarenas: bigint },
): void {
  const head = safe.tryRead(Number(vars.arenas), 8), max = safe.tryRead(Number(vars.maxarenas), 4);
  const w = heap.walk;
  const changed = () =>
    new PymemError(
      "INVALID_STATE",
      "the heap changed since this snapshot was taken (an arena was freed or moved): take a new snapshot with heap() and classify that",
    );
  if (!head || !max) throw changed();
  const arenas = Number(new DataView(head.buffer).getBigUint64(0, true)),
    maxarenas = new DataView(max.buffer).getUint32(0, true);
  const table = w.arenaIndex.length ? safe.tryRead(arenas, maxarenas * ARENA.size) : new Uint8Array(0);
  if (!table) throw changed();
  const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
  for (let a = 0; a < w.arenaIndex.length; a++) {
    const i = w.arenaIndex[a];
    if (i >= maxarenas || Number(v.getBigUint64(i * ARENA.size + ARENA.address, true)) !== w.arenaAddress[a]) {
      throw changed();
    }
  }
}

/** How one snapshot's blocks are classified: given by whoever walked the heap (in-process or attach). */
export type SnapshotClassifier = (snapshot: HeapSnapshot, options?: ClassifyOptions) => ObjectsSnapshot;

/**
 * A walk of the obmalloc heap (arenas, pools, size classes, totals, fragmentation) whose blocks can also be
 * classified into Python objects. The walk is lib/obmalloc's; the classifier is handed in by whoever walked the heap
 * (`py.heap()` reads this process, an attached heap another one), so each layer keeps to what it knows.
 */
export class HeapSnapshot extends ObmallocSnapshot {
  readonly #classify: SnapshotClassifier | undefined;
  #classified: ObjectsSnapshot | undefined;

  constructor(
    walk: WalkResult,
    layout: ObmallocLayout,
    info: SnapshotInfo,
    classify?: SnapshotClassifier,
    pinnedThreshold?: number,
  ) {
    super(walk, layout, info, pinnedThreshold);
    this.#classify = classify;
  }

  /**
   * Every block of the snapshot classified: the Python object in each live block, by type and per arena
   * (lib/objects). Computed on the first call without options and kept; the memory is read then, not when the
   * snapshot was taken. Throws PymemError("UNSUPPORTED") for a snapshot with no memory to read.
   */
  objects(options?: ClassifyOptions): ObjectsSnapshot {
    const classify = this.#classify;
    if (!classify) {
      throw new PymemError(
        "UNSUPPORTED",
        "this snapshot has no memory to classify (it was not taken by py.heap() or an attached heap())",
      );
    }
    // retries bounded as attachPython's: a pool a live target reused since the snapshot is torn on every re-read.
    if (options !== undefined) {
      return classify(
        this,
        checkOptions<ClassifyOptions>(options, "objects", {
          allocator: (v, name) => {
            if (v !== null && typeof v !== "string") {
              throw new TypeError(`${name} must be a string or null, got ${typeof v}`);
            }
            // An obmalloc heap is read as one of these two (the debug hooks' header or not): another name means nothing.
            if (v !== null && v !== "pymalloc" && v !== "pymalloc_debug") {
              throw new RangeError(`${name} must be "pymalloc", "pymalloc_debug" or null, got ${JSON.stringify(v)}`);
            }
            // An override is for a heap whose allocator pymem could not name; one that contradicts a known name would
            // shift (or not) every object by the debug header and classify nothing right.
            const known = this.info.allocator;
            if ((known === "pymalloc" || known === "pymalloc_debug") && v !== known) {
              throw new RangeError(
                `${name} ${
                  JSON.stringify(v)
                } contradicts this heap's allocator, ${known}: leave it out to use ${known}`,
              );
            }
          },
          retries: integerIn(0, 1000),
          native: isBoolean,
        }),
      );
    }
    return (this.#classified ??= classify(this));
  }

  /** What keeps the arenas mapped, by type: `objects().pinning(options)`. */
  pinning(options?: PinningOptions): PinningRow[] {
    return this.objects().pinning(options);
  }
}
