/**
 * In-process extras for the types that pin the most: a few sample objects (a bounded repr), the chain of referrers
 * that keeps one alive up to a root (a module global, a class attribute, a frame), and, when tracemalloc is
 * tracing, where it was allocated. Runs Python under the GIL; objects are found again by id() among gc.get_objects()
 * and their referents, never by casting an address, so an object freed meanwhile is simply not found.
 * @module
 */
import type { PythonHost } from "../core/host.ts";

/** The most types, and samples per type, `explain()` takes. */
export const EXPLAIN_MAX = 100;

/** Options of {@link explainSamples}. */
export interface ExplainOptions {
  /** Samples per type (default 3). */
  samples?: number;
  /** Longest referrer chain searched (default 8). */
  depth?: number;
  /** Time budget of the whole search, ms (default 3000): no user code runs; the deadline is checked between steps. */
  timeMs?: number;
  /** Longest repr kept (default 200 characters). */
  reprChars?: number;
}

/** One sample object of a pinning type. */
export interface Sample {
  address: bigint;
  /**
   * A repr that runs none of the user's code, cut to `reprChars`: builtin values as Python shows them (containers
   * to 6 items and 2 levels), any other object as `<module.Class object at 0x…>`; null when the object was not found.
   */
  repr: string | null;
  /** How it is kept alive, root first: "module __main__ ['keep'] [12]"; null when no root was found in time. */
  path: string | null;
  /** tracemalloc's traceback of the allocation ("file:line", most recent last); null when not tracing. */
  traceback: string[] | null;
}

// The search, in Python. It calls no code of the user's: no __repr__, __getattribute__, __iter__, __eq__, items()
// or property, not even through isinstance (which asks __class__). Everything goes through the C slots of the
// builtin types (dict.items(d), list.__iter__(l), the getset descriptors of type and module), so no object can make
// it wait, raise or change the heap it describes; the deadline is checked between steps, each of them bounded by the
// heap's size. Why not call user code under a bound instead: a trace or profile function and sys.setswitchinterval
// do not interrupt a C-level sleep or a blocking lock; PyThreadState_SetAsyncExc is seen only between bytecodes; a
// signal.setitimer alarm interrupts them, but only on the main thread of the main interpreter, and it would take
// SIGALRM and ITIMER_REAL from the host runtime and the user's own code. Our own containers and frame are left out
// of the referrers.
const HELPER = String.raw`
def _pymem_explain(wanted, depth, budget, reprchars):
    import gc, itertools, sys, time, types
    t0 = time.monotonic()
    def late():
        return time.monotonic() - t0 > budget
    try:
        import tracemalloc
        tracing = tracemalloc.is_tracing()
    except Exception:
        tracing = False
    qualname = type.__dict__['__qualname__'].__get__
    modname = type.__dict__['__module__'].__get__
    typedict = type.__dict__['__dict__'].__get__
    proxyitems = types.MappingProxyType.items
    typemro = type.__dict__['__mro__'].__get__
    GETSET = types.GetSetDescriptorType
    MEMBER = types.MemberDescriptorType
    def tname(t):
        try:
            q, m = qualname(t), modname(t)
        except Exception:
            return '?'
        q = q if type(q) is str else '?'
        return q if type(m) is not str or m == 'builtins' else m + '.' + q
    # A code object's name and file name can be str subclasses (code.replace() takes them): '%s' would call their
    # __str__. str.__str__ copies one as a plain str; issubclass, not isinstance, which would ask __class__.
    def plain(s):
        return str.__str__(s) if issubclass(type(s), str) else '?'
    # A repr of builtin values (bounded), and <module.Class object at 0x…> for everything else.
    def srepr(o, n, level=2):
        t = type(o)
        if o is None or t is bool or t is float or t is complex:
            return t.__repr__(o)[:n]
        if t is int:
            bits = int.bit_length(o)
            return int.__repr__(o)[:n] if bits < 3000 else '<int of %d bits>' % bits
        if t is str or t is bytes:
            return t.__repr__(o[:n])[:n]
        if t is list or t is tuple or t is set or t is frozenset or t is dict:
            if level <= 0:
                return '...'
            items = dict.items(o) if t is dict else t.__iter__(o)
            parts = []
            for x in items:
                if len(parts) == 6:
                    parts.append('...')
                    break
                if t is dict:
                    parts.append(srepr(x[0], n, level - 1) + ': ' + srepr(x[1], n, level - 1))
                else:
                    parts.append(srepr(x, n, level - 1))
            body = ', '.join(parts)
            if t is list:
                text = '[%s]' % body
            elif t is tuple:
                text = '(%s)' % (body + ',' if len(parts) == 1 else body)
            elif t is dict:
                text = '{%s}' % body
            elif not parts:
                text = t.__name__ + '()'
            else:
                text = ('{%s}' if t is set else 'frozenset({%s})') % body
            return text[:n]
        if issubclass(t, type):
            return ("<class '%s'>" % tname(o))[:n]
        return ('<%s object at %#x>' % (tname(t), id(o)))[:n]
    found = {}
    # wanted: address -> address of the type it had when classified (0: any). An object of another type at that
    # address now took a freed one's place, and is not a sample of the classified type.
    def ok(o):
        t = wanted.get(id(o))
        return t is not None and (t == 0 or id(type(o)) == t)
    objs = gc.get_objects()
    for i, o in enumerate(objs):
        if ok(o):
            found[id(o)] = o
        if i & 4095 == 0 and late():
            break
    # An object the collector does not track (a str, an int, a tuple or dict of only such) is found among the
    # referents of one it does, or one level deeper, in an untracked tuple or dict. Its holder is remembered: the
    # referrer search (gc.get_referrers) only sees tracked holders, and would lose the chain at the untracked one.
    via = {}
    if len(found) < len(wanted) and not late():
        for o in objs:
            # A dict whose keys are all str does not report them to the collector (dict_traverse visits its values
            # only): its keys are looked at here, through dict's own C method.
            keys = dict.keys(o) if issubclass(type(o), dict) else ()
            for r in itertools.chain(gc.get_referents(o), keys):
                if id(r) not in found and ok(r):
                    found[id(r)] = r
                    via[id(r)] = o
                # Identity, not "in (tuple, dict)": that compares with ==, which a metaclass may define.
                if (type(r) is tuple or type(r) is dict) and not gc.is_tracked(r):
                    inner = itertools.chain(dict.keys(r), dict.values(r)) if type(r) is dict else tuple.__iter__(r)
                    for r2 in inner:
                        if id(r2) not in found and ok(r2):
                            found[id(r2)] = r2
                            via[id(r2)] = r
                            via[id(r)] = o
            if len(found) == len(wanted) or late():
                break
    del objs
    # No user code runs below (C descriptors and builtin methods only); whatever is raised all the same,
    # SystemExit and KeyboardInterrupt included, makes that fact unknown, never the call fail.
    modules = {}
    mdict = types.ModuleType.__dict__['__dict__'].__get__
    if type(sys.modules) is dict:
        for n, m in list(dict.items(sys.modules)):
            if type(n) is str and issubclass(type(m), types.ModuleType):
                try:
                    d = mdict(m)
                except Exception:
                    continue
                if type(d) is dict:
                    modules[id(d)] = n
    me = sys._getframe()
    def attribute(holder, child):
        # The instance dict and slots, found through the C descriptors of the classes, never a user's property.
        for base in typemro(type(holder)):
            for k, v in proxyitems(typedict(base)):
                if type(k) is not str:
                    continue
                if k == '__dict__' and type(v) is GETSET:
                    try:
                        d = v.__get__(holder)
                    except Exception:
                        continue
                    if type(d) is dict:
                        for a, x in dict.items(d):
                            if x is child and type(a) is str:
                                return '.%s' % a
                elif type(v) is MEMBER:
                    try:
                        if v.__get__(holder) is child:
                            return '.%s' % k
                    except Exception:
                        pass
        return None
    def how(holder, child):
        t = type(holder)
        try:
            if issubclass(t, dict):
                for k, v in dict.items(holder):
                    if v is child:
                        return '[%s]' % srepr(k, 80)
                    if k is child:
                        return '{key %s}' % srepr(k, 80)
            elif issubclass(t, list) or issubclass(t, tuple):
                for i, v in enumerate((list if issubclass(t, list) else tuple).__iter__(holder)):
                    if v is child:
                        return '[%d]' % i
            elif issubclass(t, set) or issubclass(t, frozenset):
                return '{member}'
            step = attribute(holder, child)
            if step is not None:
                return step
        except BaseException:
            pass
        return ' <%s>' % tname(t)
    def root(o):
        t = type(o)
        if t is dict and id(o) in modules:
            return 'module %s' % modules[id(o)]
        if t is types.FrameType:
            c = o.f_code
            return 'frame of %s (%s:%d)' % (plain(c.co_name), plain(c.co_filename), o.f_lineno)
        if issubclass(t, type):
            return 'class %s' % tname(o)
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
                    if late():
                        return None
            frontier = nxt[:500]
            mine.add(id(frontier))
            if not frontier:
                return None
        return None
    out = {}
    for a in wanted:
        o = found.get(a)
        if o is None:
            out[a] = [None, None, None]
            continue
        # Bounded by itself (6 items, 2 levels, reprchars): given even past the deadline, which only paths wait for.
        try:
            text = srepr(o, reprchars)
        except BaseException:
            text = None
        try:
            p = path(o) if not late() else None
        except BaseException:
            p = None
        tb = None
        if tracing:
            t = tracemalloc.get_object_traceback(o)
            if t is not None:
                tb = ['%s:%d' % (plain(f.filename), f.lineno) for f in t]
        out[a] = [text, p, tb]
    # Cycles (srepr's own cell, this frame in 'me') would outlive the call until a collection, and the next
    # snapshot would count this helper's frame, cells and functions among the user's objects.
    srepr = me = None
    return out
`;

/**
 * For each address (objects of this process, as classified a moment ago), its sample facts. GIL held by the caller
 * or taken here. Addresses whose object is gone, or now holds an object of another type than `types[i]` (the type
 * it was classified as; 0n or absent: any), come back with every field null.
 */
export function explainSamples(
  py: PythonHost,
  addresses: bigint[],
  options: ExplainOptions = {},
  types: bigint[] = [],
): Sample[] {
  const depth = options.depth ?? 8, budget = (options.timeMs ?? 3000) / 1000, chars = options.reprChars ?? 200;
  for (const [k, v] of Object.entries({ depth, budget, chars })) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`explain: ${k} must be a non-negative number, got ${v}`);
  }
  if (addresses.length === 0) return [];
  return py.withGIL(() => {
    // The helper lives in a namespace of its own, never in __main__: a user's global of that name stays, and a
    // handle on another JavaScript thread explaining at the same time (CPython hands the GIL over between the two
    // Python calls) cannot delete it under this one. The namespace is cleared after the call: it and the helper's
    // __globals__ are a cycle, left for the collector (and seen as the user's objects) otherwise.
    const wanted = `{${addresses.map((a, i) => `${a}: ${types[i] ?? 0n}`).join(", ")}}`;
    const call = `ns['_pymem_explain'](${wanted}, ${Math.floor(depth)}, ${budget}, ${Math.floor(chars)})`;
    const json = py.eval(
      `(lambda ns: (exec(${JSON.stringify(HELPER)}, ns), ` +
        `__import__('json').dumps({str(k): v for k, v in ${call}.items()}), ns.clear())[1])({})`,
    ) as string;
    const got = JSON.parse(json) as Record<string, [string | null, string | null, string[] | null]>;
    return addresses.map((address) => {
      const [repr, path, traceback] = got[String(address)] ?? [null, null, null];
      return { address, repr, path, traceback };
    });
  });
}
