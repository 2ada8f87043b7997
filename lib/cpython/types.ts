/**
 * The shape of one generated row (lib/cpython/layouts.generated.ts): offsets and sizes in bytes, as
 * tools/cpython-layouts.c prints them for one release (x86-64 / aarch64 LP64). A group a release does not have is
 * absent (e.g. `interp` before 3.12, `debugOffsets` before 3.13).
 * @module
 */

/** One CPython minor's numbers. */
export interface CPythonLayout {
  /** The release the row was generated from ("3.12.1"); every release of the minor must give the same numbers. */
  release: string;
  /** PEP 587 `PyConfig`: its size, the fields pymem sets, and `_PyConfig_INIT_PYTHON`. */
  config: {
    size: number;
    configInit: number;
    installSignalHandlers: number;
    home: number;
    prefix: number;
    execPrefix: number;
    initPython: number;
  };
  /** `PyPreConfig` (`_config_init` holds `config.initPython` after PyPreConfig_InitPythonConfig). */
  preConfig: { size: number; configInit: number; coerceCLocale: number; coerceCLocaleWarn: number; allocator: number };
  /** `PyStatus`, returned by value; `typeExit` is `_PyStatus_TYPE_EXIT`. */
  status: { size: number; type: number; func: number; errMsg: number; exitcode: number; typeExit: number };
  /** What an object looks like inside a block (lib/objects/layout.ts builds its rows from these). */
  object: {
    /** sizeof(PyGC_Head): before every object of a Py_TPFLAGS_HAVE_GC type. */
    gcHead: number;
    /** PyTypeObject field offsets. */
    tpName: number;
    tpBasicsize: number;
    tpItemsize: number;
    tpFlags: number;
    /** tp_base: the chain a subclass is followed up to the built-in container whose layout its instances share. */
    tpBase: number;
    tpDictoffset: number;
    /** sizeof(PyASCIIObject): the smallest str (a compact ASCII one is this plus its characters and a NUL). */
    asciiObject: number;
    /** Offsets of the pointers to the buffers of the built-in containers (PyListObject.ob_item, …). */
    listItems: number;
    dictKeys: number;
    dictValues: number;
    setTable: number;
    /**
     * PyODictObject.od_fast_nodes (od_fast_nodes_size follows it): after the PyDictObject and od_first, od_last (its
     * struct is private to Objects/odictobject.c).
     */
    odictFastNodes: number;
    /** PyByteArrayObject.ob_bytes: a bytearray's payload, a block of its own. */
    bytearrayBytes: number;
    /** PyUnicodeObject.data: the characters of a str subclass's instance, a block of their own. */
    unicodeData: number;
    /**
     * xml.etree's C Element (its struct is private to Modules/_elementtree.c): its size, where it points to its
     * ElementObjectExtra, and where that points to its children array (past four, a block of its own).
     */
    elementSize: number;
    elementExtra: number;
    elementChildren: number;
    /** PyTypeObject.tp_dict: a class's namespace, where its __module__ is read. */
    tpDict: number;
    /**
     * The keys object of a dict (PyDictKeysObject; 3.8–3.10's is private to Objects/dict-common.h): 1 when its size
     * is stored as log2 (3.11+, with the index width as log2 and a kind: 0 general, 1 unicode), 0 when dk_size is the
     * size itself (its index width 1, 2, 4 or 8 bytes by size); where those fields, dk_nentries and the indices are;
     * and the bytes of an entry (`{hash, key, value}`) and of a 3.11+ unicode entry (`{key, value}`).
     */
    dictKeysLog2: number;
    dictKeysSize: number;
    dictKeysIndexBytes: number;
    dictKeysKind: number;
    dictKeysNentries: number;
    dictKeysIndices: number;
    dictEntry: number;
    dictUnicodeEntry: number;
    /**
     * Type flags that add two more words of pre-header (3.11: MANAGED_DICT; 3.12+: MANAGED_DICT | MANAGED_WEAKREF,
     * i.e. Py_TPFLAGS_PREHEADER); 0 before 3.11.
     */
    preHeaderFlags: number;
    /**
     * 3.11+: where an instance of a MANAGED_DICT type keeps its materialized __dict__, relative to the object (-24:
     * 3.11 `_PyObject_ManagedDictPointer`; 3.12 the untagged word of `_PyObject_DictOrValuesPointer`; 3.13+
     * `MANAGED_DICT_OFFSET`).
     */
    managedDict?: number;
    /**
     * 3.11/3.12: where an instance of a MANAGED_DICT type keeps the pointer to its values array (a buffer of its own),
     * relative to the object: 3.11 `obj - 32` (`_PyObject_ValuesPointer`); 3.12 `obj - 24`. 3.13+ keep the values
     * inline.
     */
    instanceValues?: number;
    /** 1 when the values pointer shares a tagged word with the dict (3.12: stored minus 1, low bit set). */
    instanceValuesTagged?: number;
  };
  /** obmalloc's geometry; `radixTree` and `rawAllocatedBlocks` are 0 or 1. */
  obmalloc: {
    poolSize: number;
    arenaSize: number;
    poolOverhead: number;
    alignment: number;
    sizeClasses: number;
    radixTree: number;
    rawAllocatedBlocks: number;
  };
  /** `struct pool_header`. */
  pool: {
    count: number;
    freeblock: number;
    nextpool: number;
    prevpool: number;
    arenaindex: number;
    szidx: number;
    nextoffset: number;
    maxnextoffset: number;
    size: number;
  };
  /** `struct arena_object`. */
  arena: {
    address: number;
    poolAddress: number;
    nfreepools: number;
    ntotalpools: number;
    freepools: number;
    nextarena: number;
    prevarena: number;
    size: number;
  };
  /** 3.12+: `struct _obmalloc_state` with the default geometry. */
  state?: {
    usedpools: number;
    arenas: number;
    maxarenas: number;
    unusedArenaObjects: number;
    usableArenas: number;
    nfp2lasta: number;
    narenasCurrentlyAllocated: number;
    ntimesArenaAllocated: number;
    narenasHighwater: number;
    rawAllocatedBlocks: number;
    arenaMapRoot: number;
    size: number;
  };
  /** 3.12+: `PyInterpreterState` (`obmalloc`: the embedded state in 3.12, a pointer to it from 3.13). */
  interp?: { obmalloc: number; featureFlags: number; next: number; id: number; size: number };
  /** 3.12+: `_PyRuntimeState`. */
  runtime?: {
    obmalloc: number;
    allocatorsRaw: number;
    allocatorsObj: number;
    interpretersHead: number;
    interpretersMain: number;
    size: number;
  };
  /** 3.12+: PEP 684 `PyInterpreterConfig`, its `gil` values and `Py_RTFLAGS_USE_MAIN_OBMALLOC`. */
  interpreterConfig?: {
    size: number;
    useMainObmalloc: number;
    allowFork: number;
    allowExec: number;
    allowThreads: number;
    allowDaemonThreads: number;
    checkMultiInterpExtensions: number;
    gil: number;
    gilDefault: number;
    gilShared: number;
    gilOwn: number;
    useMainObmallocFlag: number;
  };
  /** 3.13+: where each field pymem reads lies inside `_Py_DebugOffsets` (the head of `_PyRuntime`). */
  debugOffsets?: {
    cookie: number;
    version: number;
    freeThreaded: number;
    runtimeInterpretersHead: number;
    interpSize: number;
    interpId: number;
    interpNext: number;
    tpName: number;
    tpFlags: number;
    listItems: number;
    dictKeys: number;
    dictValues: number;
    asciiObject: number;
    size: number;
  };
  /**
   * 3.13+ built WITH_MIMALLOC: the mimalloc CPython carries (lib/mimalloc/). Keyed by `version` (MI_MALLOC_VERSION,
   * 212 for 2.1.2, 20502 for 2.5.2), which can differ between releases of one minor: the reader checks the layout
   * against the heap it reads before trusting it. `debug` is MI_DEBUG (2 in a Py_DEBUG build, which adds the `keys`
   * words to mi_page_t and encodes the free lists).
   */
  mimalloc?: {
    version: number;
    debug: number;
    encodeFreelist: number;
    freeThreaded: number;
    segmentSize: number;
    sliceSize: number;
    slicesPerSegment: number;
    smallObjMax: number;
    mediumObjMax: number;
    largeObjMax: number;
    binHuge: number;
    binFull: number;
    heapCount: number;
  };
  /** `mi_page_t` (one per slice in the segment header). `pageStart` 2.5+ only, `hugeBlockSize` 2.1 only. */
  miPage?: {
    size: number;
    sliceCount: number;
    sliceOffset: number;
    capacity: number;
    reserved: number;
    flags: number;
    free: number;
    localFree: number;
    used: number;
    usedBytes: number;
    blockSize: number;
    blockSizeBytes: number;
    pageStart?: number;
    hugeBlockSize?: number;
    xthreadFree: number;
    xheap: number;
    next: number;
    prev: number;
  };
  /** `mi_segment_t`: `headerSize` is where `slices` begins; `kindHuge` is MI_SEGMENT_HUGE. */
  miSegment?: {
    headerSize: number;
    segmentSize: number;
    abandoned: number;
    used: number;
    cookie: number;
    segmentSlices: number;
    segmentInfoSlices: number;
    kind: number;
    kindHuge: number;
    sliceEntries: number;
    threadId: number;
    slices: number;
  };
  /** `mi_heap_t`, its `mi_page_queue_t` entries (`pages[MI_BIN_FULL + 1]`) and the two `mi_tld_t` heap fields. */
  miHeap?: {
    size: number;
    tld: number;
    threadId: number;
    cookie: number;
    pageCount: number;
    next: number;
    tag: number;
    pages: number;
    queueSize: number;
    queueFirst: number;
    queueBlockSize: number;
    tldHeapBacking: number;
    tldHeaps: number;
  };
}
