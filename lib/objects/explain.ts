/**
 * In-process extras for the types that pin the most: a few sample objects (a bounded repr), the chain of referrers
 * that keeps one alive up to a root (a module global, a class attribute, a frame), and, when tracemalloc is
 * tracing, where it was allocated. Runs Python under the GIL; objects are found again by id() among gc.get_objects()
 * and their referents, never by casting an address, so an object freed meanwhile is simply not found.
 * @module
 */
import type { PythonHost } from "../core/host.ts";

/** Options of {@link explainSamples}. */
export interface ExplainOptions {
  /** Samples per type (default 3). */
  samples?: number;
  /** Longest referrer chain searched (default 8). */
  depth?: number;
  /** Time budget of the whole search, ms (default 3000). */
  timeMs?: number;
  /** Longest repr kept (default 200 characters). */
  reprChars?: number;
}

/** One sample object of a pinning type. */
export interface Sample {
  address: bigint;
  /** reprlib.repr of the object, cut to `reprChars`; null when the object was not found or repr() failed. */
  repr: string | null;
  /** How it is kept alive, root first: "module __main__ ['keep'] [12]"; null when no root was found in time. */
  path: string | null;
  /** tracemalloc's traceback of the allocation ("file:line", most recent last); null when not tracing. */
  traceback: string[] | null;
}

// The search, in Python. Our own containers and frame are left out of the referrers.
const HELPER = String.raw`
def _pymem_explain(wanted, depth, budget, reprchars):
    import gc, sys, time, types, reprlib
    t0 = time.monotonic()
    try:
        import tracemalloc
        tracing = tracemalloc.is_tracing()
    except Exception:
        tracing = False
    found = {}
    # wanted: address -> address of the type it had when classified (0: any). An object of another type at that
    # address now took a freed one's place, and is not a sample of the classified type.
    def ok(o):
        t = wanted.get(id(o))
        return t is not None and (t == 0 or id(type(o)) == t)
    objs = gc.get_objects()
    for o in objs:
        if ok(o):
            found[id(o)] = o
    # An object the collector does not track (a str, an int, a tuple or dict of only such) is found among the
    # referents of one it does, or one level deeper, in an untracked tuple or dict. Its holder is remembered: the
    # referrer search (gc.get_referrers) only sees tracked holders, and would lose the chain at the untracked one.
    via = {}
    if len(found) < len(wanted):
        for o in objs:
            for r in gc.get_referents(o):
                if id(r) not in found and ok(r):
                    found[id(r)] = r
                    via[id(r)] = o
                if type(r) in (tuple, dict) and not gc.is_tracked(r):
                    for r2 in (r.values() if type(r) is dict else r):
                        if id(r2) not in found and ok(r2):
                            found[id(r2)] = r2
                            via[id(r2)] = r
                            via[id(r)] = o
            if len(found) == len(wanted) or time.monotonic() - t0 > budget:
                break
    del objs
    # Whatever user code raises while it is looked at (a __repr__, a __dict__ or __class__ property, a
    # __getattribute__), SystemExit and KeyboardInterrupt included, makes that fact unknown, never the call fail.
    modules = {}
    for n, m in list(sys.modules.items()):
        try:
            d = getattr(m, '__dict__', None)
        except BaseException:
            continue
        if type(d) is dict:
            modules[id(d)] = n
    me = sys._getframe()
    def how(holder, child):
        try:
            if isinstance(holder, dict):
                for k, v in holder.items():
                    if v is child:
                        return '[%r]' % (k,)
                    if k is child:
                        return '{key %r}' % (k,)
            elif isinstance(holder, (list, tuple)):
                for i, v in enumerate(holder):
                    if v is child:
                        return '[%d]' % i
            elif isinstance(holder, (set, frozenset)):
                return '{member}'
            d = getattr(holder, '__dict__', None)
            if isinstance(d, dict):
                for k, v in d.items():
                    if v is child:
                        return '.%s' % k
            for k in getattr(type(holder), '__slots__', ()):
                if getattr(holder, k, None) is child:
                    return '.%s' % k
        except BaseException:
            pass
        return ' <%s>' % type(holder).__name__
    def root(o):
        if type(o) is dict and id(o) in modules:
            return 'module %s' % modules[id(o)]
        if type(o) is types.FrameType:
            return 'frame of %s (%s:%d)' % (o.f_code.co_name, o.f_code.co_filename, o.f_lineno)
        if issubclass(type(o), type):
            try:
                return 'class %s.%s' % (getattr(o, '__module__', '?'), getattr(o, '__qualname__', o.__name__))
            except BaseException:
                return 'class ?'
        return None
    def path(obj):
        parent = {}
        keep = {id(obj): obj}
        frontier = [obj]
        mine = {id(parent), id(keep), id(frontier), id(found), id(me), id(wanted), id(via)}
        for _ in range(depth):
            nxt = []
            mine.add(id(nxt))
            for o in frontier:
                # Unnamed: a list left in a local would hold this level's referrers, and turn up as a referrer itself.
                for r in gc.get_referrers(o) + ([via[id(o)]] if id(o) in via else []):
                    if id(r) in keep or id(r) in mine or type(r) is types.FrameType and r.f_code is me.f_code:
                        continue
                    keep[id(r)] = r
                    parent[id(r)] = (id(o), how(r, o))
                    top = root(r)
                    if top is not None:
                        steps = []
                        at = id(r)
                        while at in parent:
                            up, step = parent[at]
                            steps.append(step)
                            at = up
                        return top + ' ' + ''.join(steps)
                    nxt.append(r)
                    if time.monotonic() - t0 > budget:
                        return None
            frontier = nxt[:500]
            mine.add(id(frontier))
            if not frontier:
                return None
        return None
    rep = reprlib.Repr()
    rep.maxother = rep.maxstring = reprchars
    out = {}
    for a in wanted:
        o = found.get(a)
        if o is None:
            out[a] = [None, None, None]
            continue
        try:
            text = rep.repr(o)[:reprchars]
            if type(text) is not str:
                text = None
        except BaseException:
            text = None
        try:
            p = path(o) if time.monotonic() - t0 <= budget else None
        except BaseException:
            p = None
        tb = None
        if tracing:
            t = tracemalloc.get_object_traceback(o)
            if t is not None:
                tb = ['%s:%d' % (f.filename, f.lineno) for f in t]
        out[a] = [text, p, tb]
    return out
`;

/**
 * For each address (objects of this process, as classified a moment ago), its sample facts. GIL held by the caller
 * or taken here. Addresses whose object is gone, or now holds an object of another type than `types[i]` (the type
 * it was classified as; 0n or absent: any), come back with every field null.
 */
export function explainSamples(py: PythonHost, addresses: bigint[], options: ExplainOptions = {}, types: bigint[] = []): Sample[] {
  const depth = options.depth ?? 8, budget = (options.timeMs ?? 3000) / 1000, chars = options.reprChars ?? 200;
  for (const [k, v] of Object.entries({ depth, budget, chars })) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`explain: ${k} must be a non-negative number, got ${v}`);
  }
  if (addresses.length === 0) return [];
  return py.withGIL(() => {
    // The helper lives in a namespace of its own, never in __main__: a user's global of that name stays, and a
    // handle on another JavaScript thread explaining at the same time (CPython hands the GIL over between the two
    // Python calls) cannot delete it under this one.
    const json = py.eval(
      `(lambda ns: (exec(${JSON.stringify(HELPER)}, ns), __import__('json').dumps({str(k): v for k, v in ns['_pymem_explain']({${addresses.map((a, i) => `${a}: ${types[i] ?? 0n}`).join(", ")}}, ${Math.floor(depth)}, ${budget}, ${Math.floor(chars)}).items()}))[1])({})`,
    ) as string;
    const got = JSON.parse(json) as Record<string, [string | null, string | null, string[] | null]>;
    return addresses.map((address) => {
      const [repr, path, traceback] = got[String(address)] ?? [null, null, null];
      return { address, repr, path, traceback };
    });
  });
}
