/*
 * Every per-version number pymem uses, printed by compiling this file against one CPython release's own headers
 * (tools/cpython-layouts.ts does it: gcc -DPy_BUILD_CORE -I<include> -I<pyconfig.h's folder>). One line per number:
 * "<group>.<field> <value>". A field that a release does not have is not printed.
 *
 * Where a number cannot come from offsetof/sizeof of an installed header, the branch that prints it says where it
 * comes from instead.
 */
#define Py_BUILD_CORE 1
#define NDEBUG 1
#include "Python.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#if __has_include("internal/pycore_initconfig.h")
#include "internal/pycore_initconfig.h"
#endif
#if __has_include("internal/pycore_runtime.h")
#include "internal/pycore_runtime.h"
#endif
#if __has_include("internal/pycore_interp.h")
#include "internal/pycore_interp.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000 && __has_include("internal/pycore_object.h")
#include "internal/pycore_object.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000 && __has_include("internal/pycore_dict.h")
#include "internal/pycore_dict.h"
#endif
#if __has_include("internal/pycore_obmalloc.h")
#include "internal/pycore_obmalloc.h"
#define HAVE_OBMALLOC_H 1
#endif
#if __has_include("internal/pycore_debug_offsets.h")
#include "internal/pycore_debug_offsets.h"
#endif

#define N(key, value) printf("%s %lld\n", key, (long long)(value))
#define OFF(key, type, field) N(key, offsetof(type, field))

#ifndef HAVE_OBMALLOC_H
/*
 * 3.8–3.11: obmalloc's structs and geometry are private to Objects/obmalloc.c, which is not installed. The two
 * structs are declared here as that file declares them (the same fields and types in 3.8–3.11, and in 3.12+'s
 * pycore_obmalloc.h), so their offsets still come from the compiler.
 */
struct pool_header {
  union { void *_padding; unsigned int count; } ref;
  void *freeblock;
  struct pool_header *nextpool;
  struct pool_header *prevpool;
  unsigned int arenaindex;
  unsigned int szidx;
  unsigned int nextoffset;
  unsigned int maxnextoffset;
};
struct arena_object {
  uintptr_t address;
  void *pool_address;
  unsigned int nfreepools;
  unsigned int ntotalpools;
  struct pool_header *freepools;
  struct arena_object *nextarena;
  struct arena_object *prevarena;
};
/* Objects/obmalloc.c, 64-bit: ALIGNMENT 16 (3.8+), SMALL_REQUEST_THRESHOLD 512 */
#define ALIGNMENT 16
#define NB_SMALL_SIZE_CLASSES (512 / ALIGNMENT)
#if PY_VERSION_HEX >= 0x030A0000
/* 3.10/3.11: USE_LARGE_POOLS and USE_LARGE_ARENAS (on for 64-bit): POOL_BITS 14, ARENA_BITS 20; the radix tree
   (WITH_PYMALLOC_RADIX_TREE) is on by default. */
#define POOL_SIZE (1 << 14)
#define ARENA_SIZE (1 << 20)
#define WITH_PYMALLOC_RADIX_TREE 1
#else
/* 3.8/3.9: POOL_SIZE = SYSTEM_PAGE_SIZE (4 KiB), ARENA_SIZE 256 KiB; no radix tree. */
#define POOL_SIZE (1 << 12)
#define ARENA_SIZE (1 << 18)
#endif
#define POOL_OVERHEAD ((sizeof(struct pool_header) + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT)
#endif

int main(void) {
  printf("release %s\n", PY_VERSION);
  N("hex", PY_VERSION_HEX);

  /* PEP 587 PyConfig / PyPreConfig / PyStatus (lib/core/startup.ts, lib/python.ts). */
  N("config.size", sizeof(PyConfig));
  OFF("config.configInit", PyConfig, _config_init);
  OFF("config.installSignalHandlers", PyConfig, install_signal_handlers);
  OFF("config.home", PyConfig, home);
  OFF("config.prefix", PyConfig, prefix);
  OFF("config.execPrefix", PyConfig, exec_prefix);
  N("config.initPython", _PyConfig_INIT_PYTHON);
  N("preConfig.size", sizeof(PyPreConfig));
  OFF("preConfig.configInit", PyPreConfig, _config_init);
  OFF("preConfig.coerceCLocale", PyPreConfig, coerce_c_locale);
  OFF("preConfig.coerceCLocaleWarn", PyPreConfig, coerce_c_locale_warn);
  OFF("preConfig.allocator", PyPreConfig, allocator);
  N("status.size", sizeof(PyStatus));
  OFF("status.type", PyStatus, _type);
  OFF("status.func", PyStatus, func);
  OFF("status.errMsg", PyStatus, err_msg);
  OFF("status.exitcode", PyStatus, exitcode);
  N("status.typeExit", _PyStatus_TYPE_EXIT);

  /* Objects inside blocks (lib/objects/layout.ts). */
  N("object.gcHead", sizeof(PyGC_Head));
  OFF("object.tpName", PyTypeObject, tp_name);
  OFF("object.tpBasicsize", PyTypeObject, tp_basicsize);
  OFF("object.tpItemsize", PyTypeObject, tp_itemsize);
  OFF("object.tpFlags", PyTypeObject, tp_flags);
  OFF("object.tpBase", PyTypeObject, tp_base);
  OFF("object.tpDictoffset", PyTypeObject, tp_dictoffset);
  N("object.asciiObject", sizeof(PyASCIIObject));
  OFF("object.listItems", PyListObject, ob_item);
  OFF("object.dictKeys", PyDictObject, ma_keys);
  OFF("object.dictValues", PyDictObject, ma_values);
  OFF("object.setTable", PySetObject, table);
  /* struct _odictobject is private to Objects/odictobject.c (3.8-3.15 alike): PyDictObject od_dict, then
   * od_first, od_last, od_fast_nodes. */
  N("object.odictFastNodes", sizeof(PyDictObject) + 2 * sizeof(void *));
  OFF("object.bytearrayBytes", PyByteArrayObject, ob_bytes);
  /* A str subclass's instance is a legacy PyUnicodeObject whose characters are a block of their own (data.any). */
  OFF("object.unicodeData", PyUnicodeObject, data);
  /* xml.etree's C Element is private to Modules/_elementtree.c (3.8-3.15 alike): PyObject_HEAD, tag, text, tail,
   * extra, weakreflist; its ElementObjectExtra: attrib, length, allocated, children, _children[4]. */
  N("object.elementSize", sizeof(PyObject) + 5 * sizeof(void *));
  N("object.elementExtra", sizeof(PyObject) + 3 * sizeof(void *));
  N("object.elementChildren", 3 * sizeof(void *));
  /* A class's namespace (its __module__), read from its dict's keys object: PyTypeObject.tp_dict, then the keys. */
  OFF("object.tpDict", PyTypeObject, tp_dict);
#if PY_VERSION_HEX >= 0x030B0000
  N("object.dictKeysLog2", 1);
  OFF("object.dictKeysSize", PyDictKeysObject, dk_log2_size);
  OFF("object.dictKeysIndexBytes", PyDictKeysObject, dk_log2_index_bytes);
  OFF("object.dictKeysKind", PyDictKeysObject, dk_kind);
  OFF("object.dictKeysNentries", PyDictKeysObject, dk_nentries);
  OFF("object.dictKeysIndices", PyDictKeysObject, dk_indices);
  N("object.dictEntry", sizeof(PyDictKeyEntry));
  N("object.dictUnicodeEntry", sizeof(PyDictUnicodeEntry));
#else
  /* 3.8-3.10: struct _dictkeysobject is private to Objects/dict-common.h (not installed), alike in the three:
   * dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries, dk_indices[]; entries {hash, key, value}; the index width
   * follows dk_size (1, 2, 4 or 8 bytes). */
  N("object.dictKeysLog2", 0);
  N("object.dictKeysSize", sizeof(Py_ssize_t));
  N("object.dictKeysIndexBytes", 0);
  N("object.dictKeysKind", 0);
  N("object.dictKeysNentries", 3 * sizeof(Py_ssize_t) + sizeof(void *));
  N("object.dictKeysIndices", 4 * sizeof(Py_ssize_t) + sizeof(void *));
  N("object.dictEntry", sizeof(Py_hash_t) + 2 * sizeof(PyObject *));
  N("object.dictUnicodeEntry", 0);
#endif
#if defined(Py_TPFLAGS_PREHEADER)
  N("object.preHeaderFlags", Py_TPFLAGS_PREHEADER);
#elif defined(Py_TPFLAGS_MANAGED_DICT)
  N("object.preHeaderFlags", Py_TPFLAGS_MANAGED_DICT);
#else
  N("object.preHeaderFlags", 0);
#endif
  {
    /* Where a MANAGED_DICT instance keeps its dict and values: asked of the release's own inline helpers. */
    _Alignas(16) char buf[128];
    PyObject *o = (PyObject *)(buf + 64);
    (void)o;
#if PY_VERSION_HEX >= 0x030D0000
    /* 3.13+: the values are inline; the dict pointer is at MANAGED_DICT_OFFSET. */
    N("object.managedDict", MANAGED_DICT_OFFSET);
#elif PY_VERSION_HEX >= 0x030C0000
    /* 3.12: one tagged word, the dict or (values pointer - 1) | 1: _PyObject_DictOrValuesPointer. */
    N("object.managedDict", (char *)_PyObject_DictOrValuesPointer(o) - (char *)o);
    N("object.instanceValues", (char *)_PyObject_DictOrValuesPointer(o) - (char *)o);
    N("object.instanceValuesTagged", 1);
#elif PY_VERSION_HEX >= 0x030B0000
    N("object.managedDict", (char *)_PyObject_ManagedDictPointer(o) - (char *)o);
    N("object.instanceValues", (char *)_PyObject_ValuesPointer(o) - (char *)o);
    N("object.instanceValuesTagged", 0);
#endif
  }

  /* obmalloc (lib/obmalloc/layout.ts). */
  N("obmalloc.poolSize", POOL_SIZE);
  N("obmalloc.arenaSize", ARENA_SIZE);
  N("obmalloc.poolOverhead", POOL_OVERHEAD);
  N("obmalloc.alignment", ALIGNMENT);
  N("obmalloc.sizeClasses", NB_SMALL_SIZE_CLASSES);
#ifdef WITH_PYMALLOC_RADIX_TREE
  N("obmalloc.radixTree", 1);
#else
  N("obmalloc.radixTree", 0);
#endif
  /* raw_allocated_blocks: a global of Objects/obmalloc.c from 3.9 (not installed), a state field from 3.12. */
  N("obmalloc.rawAllocatedBlocks", PY_VERSION_HEX >= 0x03090000);
  OFF("pool.count", struct pool_header, ref);
  OFF("pool.freeblock", struct pool_header, freeblock);
  OFF("pool.nextpool", struct pool_header, nextpool);
  OFF("pool.prevpool", struct pool_header, prevpool);
  OFF("pool.arenaindex", struct pool_header, arenaindex);
  OFF("pool.szidx", struct pool_header, szidx);
  OFF("pool.nextoffset", struct pool_header, nextoffset);
  OFF("pool.maxnextoffset", struct pool_header, maxnextoffset);
  N("pool.size", sizeof(struct pool_header));
  OFF("arena.address", struct arena_object, address);
  OFF("arena.poolAddress", struct arena_object, pool_address);
  OFF("arena.nfreepools", struct arena_object, nfreepools);
  OFF("arena.ntotalpools", struct arena_object, ntotalpools);
  OFF("arena.freepools", struct arena_object, freepools);
  OFF("arena.nextarena", struct arena_object, nextarena);
  OFF("arena.prevarena", struct arena_object, prevarena);
  N("arena.size", sizeof(struct arena_object));
#ifdef HAVE_OBMALLOC_H
  OFF("state.usedpools", struct _obmalloc_state, pools.used);
  OFF("state.arenas", struct _obmalloc_state, mgmt.arenas);
  OFF("state.maxarenas", struct _obmalloc_state, mgmt.maxarenas);
  OFF("state.unusedArenaObjects", struct _obmalloc_state, mgmt.unused_arena_objects);
  OFF("state.usableArenas", struct _obmalloc_state, mgmt.usable_arenas);
  OFF("state.nfp2lasta", struct _obmalloc_state, mgmt.nfp2lasta);
  OFF("state.narenasCurrentlyAllocated", struct _obmalloc_state, mgmt.narenas_currently_allocated);
  OFF("state.ntimesArenaAllocated", struct _obmalloc_state, mgmt.ntimes_arena_allocated);
  OFF("state.narenasHighwater", struct _obmalloc_state, mgmt.narenas_highwater);
  OFF("state.rawAllocatedBlocks", struct _obmalloc_state, mgmt.raw_allocated_blocks);
  OFF("state.arenaMapRoot", struct _obmalloc_state, usage.arena_map_root);
  N("state.size", sizeof(struct _obmalloc_state));

  /* 3.12+: PyInterpreterState and _PyRuntimeState (lib/obmalloc, lib/attach, lib/interpreters). */
#if PY_VERSION_HEX >= 0x030D0000
  OFF("interp.obmalloc", PyInterpreterState, obmalloc); /* a pointer */
#else
  OFF("interp.obmalloc", PyInterpreterState, obmalloc); /* the struct itself */
#endif
  OFF("interp.featureFlags", PyInterpreterState, feature_flags);
  OFF("interp.next", PyInterpreterState, next);
  OFF("interp.id", PyInterpreterState, id);
  N("interp.size", sizeof(PyInterpreterState));
  OFF("runtime.obmalloc", _PyRuntimeState, obmalloc);
  OFF("runtime.allocatorsRaw", _PyRuntimeState, allocators.standard.raw);
  OFF("runtime.allocatorsObj", _PyRuntimeState, allocators.standard.obj);
  OFF("runtime.interpretersHead", _PyRuntimeState, interpreters.head);
  OFF("runtime.interpretersMain", _PyRuntimeState, interpreters.main);
  N("runtime.size", sizeof(_PyRuntimeState));

  /* PEP 684 PyInterpreterConfig (lib/interpreters/config.ts). */
  N("interpreterConfig.size", sizeof(PyInterpreterConfig));
  OFF("interpreterConfig.useMainObmalloc", PyInterpreterConfig, use_main_obmalloc);
  OFF("interpreterConfig.allowFork", PyInterpreterConfig, allow_fork);
  OFF("interpreterConfig.allowExec", PyInterpreterConfig, allow_exec);
  OFF("interpreterConfig.allowThreads", PyInterpreterConfig, allow_threads);
  OFF("interpreterConfig.allowDaemonThreads", PyInterpreterConfig, allow_daemon_threads);
  OFF("interpreterConfig.checkMultiInterpExtensions", PyInterpreterConfig, check_multi_interp_extensions);
  OFF("interpreterConfig.gil", PyInterpreterConfig, gil);
  N("interpreterConfig.gilDefault", PyInterpreterConfig_DEFAULT_GIL);
  N("interpreterConfig.gilShared", PyInterpreterConfig_SHARED_GIL);
  N("interpreterConfig.gilOwn", PyInterpreterConfig_OWN_GIL);
  N("interpreterConfig.useMainObmallocFlag", Py_RTFLAGS_USE_MAIN_OBMALLOC);
#endif

#if PY_VERSION_HEX >= 0x030D0000 && defined(WITH_MIMALLOC) && defined(MI_MALLOC_VERSION)
  /*
   * 3.13+: the mimalloc CPython carries (Objects/mimalloc, headers in internal/mimalloc), read by lib/mimalloc/. Its
   * layout follows the mimalloc release, not CPython's minor (3.14.10 and 3.15.2 carry 2.5.2, 3.13 2.1.2), so the
   * version is printed and the reader checks it; MI_DEBUG follows Py_DEBUG (pycore_mimalloc.h), and with it the
   * encoded free lists and the `keys` words of mi_page_t. Fields of one release only are printed under #if.
   */
#define SZ(type, field) sizeof(((type *)0)->field)
  N("mimalloc.version", MI_MALLOC_VERSION);
  N("mimalloc.debug", MI_DEBUG);
#ifdef MI_ENCODE_FREELIST
  N("mimalloc.encodeFreelist", 1);
#else
  N("mimalloc.encodeFreelist", 0);
#endif
#ifdef Py_GIL_DISABLED
  N("mimalloc.freeThreaded", 1);
#else
  N("mimalloc.freeThreaded", 0);
#endif
  N("mimalloc.segmentSize", MI_SEGMENT_SIZE);
  N("mimalloc.sliceSize", MI_SEGMENT_SLICE_SIZE);
  N("mimalloc.slicesPerSegment", MI_SLICES_PER_SEGMENT);
  N("mimalloc.smallObjMax", MI_SMALL_OBJ_SIZE_MAX);
  N("mimalloc.mediumObjMax", MI_MEDIUM_OBJ_SIZE_MAX);
  N("mimalloc.largeObjMax", MI_LARGE_OBJ_SIZE_MAX);
  N("mimalloc.binHuge", MI_BIN_HUGE);
  N("mimalloc.binFull", MI_BIN_FULL);
  N("mimalloc.heapCount", _Py_MIMALLOC_HEAP_COUNT);
  N("miPage.size", sizeof(mi_page_t));
  OFF("miPage.sliceCount", mi_page_t, slice_count);
  OFF("miPage.sliceOffset", mi_page_t, slice_offset);
  OFF("miPage.capacity", mi_page_t, capacity);
  OFF("miPage.reserved", mi_page_t, reserved);
  OFF("miPage.flags", mi_page_t, flags);
  OFF("miPage.free", mi_page_t, free);
  OFF("miPage.localFree", mi_page_t, local_free);
  OFF("miPage.used", mi_page_t, used);
  N("miPage.usedBytes", SZ(mi_page_t, used));
#if MI_MALLOC_VERSION >= 20000 /* 2.5.2 (five digits): block_size a size_t, and page_start */
  OFF("miPage.blockSize", mi_page_t, block_size);
  N("miPage.blockSizeBytes", SZ(mi_page_t, block_size));
  OFF("miPage.pageStart", mi_page_t, page_start);
#else
  /* 2.1.2: xblock_size (u32); a block of MI_HUGE_BLOCK_SIZE or more takes its size from the page's span. The
     blocks start at the page's first slice plus 3 block sizes (blocks of 8–64 bytes) or one (65–512), else at
     once: segment.c's _mi_segment_page_start_from_slice, which no header declares. */
  OFF("miPage.blockSize", mi_page_t, xblock_size);
  N("miPage.blockSizeBytes", SZ(mi_page_t, xblock_size));
  N("miPage.hugeBlockSize", MI_HUGE_BLOCK_SIZE);
#endif
  OFF("miPage.xthreadFree", mi_page_t, xthread_free);
  OFF("miPage.xheap", mi_page_t, xheap);
  OFF("miPage.next", mi_page_t, next);
  OFF("miPage.prev", mi_page_t, prev);
  N("miSegment.headerSize", offsetof(mi_segment_t, slices));
  OFF("miSegment.segmentSize", mi_segment_t, segment_size);
  OFF("miSegment.abandoned", mi_segment_t, abandoned);
  OFF("miSegment.used", mi_segment_t, used);
  OFF("miSegment.cookie", mi_segment_t, cookie);
  OFF("miSegment.segmentSlices", mi_segment_t, segment_slices);
  OFF("miSegment.segmentInfoSlices", mi_segment_t, segment_info_slices);
  OFF("miSegment.kind", mi_segment_t, kind);
  N("miSegment.kindHuge", MI_SEGMENT_HUGE);
  OFF("miSegment.sliceEntries", mi_segment_t, slice_entries);
  OFF("miSegment.threadId", mi_segment_t, thread_id);
  OFF("miSegment.slices", mi_segment_t, slices);
  N("miHeap.size", sizeof(mi_heap_t));
  OFF("miHeap.tld", mi_heap_t, tld);
  OFF("miHeap.threadId", mi_heap_t, thread_id);
  OFF("miHeap.cookie", mi_heap_t, cookie);
  OFF("miHeap.pageCount", mi_heap_t, page_count);
  OFF("miHeap.next", mi_heap_t, next);
  OFF("miHeap.tag", mi_heap_t, tag);
  OFF("miHeap.pages", mi_heap_t, pages);
  N("miHeap.queueSize", sizeof(mi_page_queue_t));
  OFF("miHeap.queueFirst", mi_page_queue_t, first);
  OFF("miHeap.queueBlockSize", mi_page_queue_t, block_size);
  OFF("miHeap.tldHeapBacking", mi_tld_t, heap_backing);
  OFF("miHeap.tldHeaps", mi_tld_t, heaps);
#undef SZ
#endif

#if PY_VERSION_HEX >= 0x030D0000
  /* 3.13+: where each field of _Py_DebugOffsets (the head of _PyRuntime) is (lib/core/debug-offsets.ts). */
  OFF("debugOffsets.cookie", _Py_DebugOffsets, cookie);
  OFF("debugOffsets.version", _Py_DebugOffsets, version);
  OFF("debugOffsets.freeThreaded", _Py_DebugOffsets, free_threaded);
  OFF("debugOffsets.runtimeInterpretersHead", _Py_DebugOffsets, runtime_state.interpreters_head);
  OFF("debugOffsets.interpSize", _Py_DebugOffsets, interpreter_state.size);
  OFF("debugOffsets.interpId", _Py_DebugOffsets, interpreter_state.id);
  OFF("debugOffsets.interpNext", _Py_DebugOffsets, interpreter_state.next);
  OFF("debugOffsets.tpName", _Py_DebugOffsets, type_object.tp_name);
  OFF("debugOffsets.tpFlags", _Py_DebugOffsets, type_object.tp_flags);
  OFF("debugOffsets.listItems", _Py_DebugOffsets, list_object.ob_item);
  OFF("debugOffsets.dictKeys", _Py_DebugOffsets, dict_object.ma_keys);
  OFF("debugOffsets.dictValues", _Py_DebugOffsets, dict_object.ma_values);
  OFF("debugOffsets.asciiObject", _Py_DebugOffsets, unicode_object.asciiobject_size);
  N("debugOffsets.size", sizeof(_Py_DebugOffsets));
#endif
  return 0;
}
