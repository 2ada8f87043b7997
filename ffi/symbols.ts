/**
 * The one symbol table: every C function pymem calls by name, with its C prototype beside it.
 *
 * `python` holds libpython's exported API. Functions that only some versions export are `optional` and checked
 * where a feature needs them. Hidden (non-exported) functions are found through the ELF `.symtab` and called by
 * address with the prototypes in `hidden` (lib/core/hidden-symbols.ts); `callbacks` are the function pointers pymem
 * reads from CPython's structs, `allocatorLibrary` the statistics functions of jemalloc/tcmalloc/mimalloc, and
 * `generated` the entry points of pymem's own machine code (docs/architecture.md, "Generated machine code").
 * Each bound function's TypeScript signature is derived from its entry (ffi/types.ts, `NativeFn`).
 * `libc` holds the few C library functions pymem needs (global loading, symbol addresses, capturing a FILE*,
 * pointing file descriptor 1 elsewhere while the CLI's JSON owns stdout, a second thread for the heap walk).
 * @module
 */
import type { FnDef, NativeSymbols } from "./types.ts";

/** `PyStatus { int _type; const char *func; const char *err_msg; int exitcode; }`, returned by value. */
export const PyStatus = { struct: ["i32", "ptr", "ptr", "i32"] } as const;

export const python = {
  // --- version and lifecycle
  Py_GetVersion: { args: [], ret: "ptr" }, //                    const char *Py_GetVersion(void)
  Py_IsInitialized: { args: [], ret: "i32" }, //                 int Py_IsInitialized(void)
  Py_FinalizeEx: { args: [], ret: "i32" }, //                    int Py_FinalizeEx(void)
  PyPreConfig_InitPythonConfig: { args: ["buffer"], ret: "void" }, // void PyPreConfig_InitPythonConfig(PyPreConfig *config)
  Py_PreInitialize: { args: ["buffer"], ret: PyStatus }, //     PyStatus Py_PreInitialize(const PyPreConfig *src_config)
  // PEP 587 start-up (3.8+): the config lives in native memory (its size differs per version), passed by pointer.
  PyConfig_InitPythonConfig: { args: ["ptr"], ret: "void" }, //  void PyConfig_InitPythonConfig(PyConfig *config)
  PyConfig_SetBytesString: { args: ["ptr", "ptr", "buffer"], ret: PyStatus }, // PyStatus PyConfig_SetBytesString(PyConfig *config, wchar_t **config_str, const char *str)
  PyConfig_Clear: { args: ["ptr"], ret: "void" }, //             void PyConfig_Clear(PyConfig *config)
  Py_InitializeFromConfig: { args: ["ptr"], ret: PyStatus }, //  PyStatus Py_InitializeFromConfig(const PyConfig *config)
  // PEP 741 start-up (3.14+): options by name, errors as int + message; no struct layout involved.
  PyInitConfig_Create: { args: [], ret: "ptr", optional: true }, // PyInitConfig *PyInitConfig_Create(void)
  PyInitConfig_Free: { args: ["ptr"], ret: "void", optional: true }, // void PyInitConfig_Free(PyInitConfig *config)
  PyInitConfig_SetInt: { args: ["ptr", "buffer", "i64"], ret: "i32", optional: true }, // int PyInitConfig_SetInt(PyInitConfig *config, const char *name, int64_t value)
  PyInitConfig_SetStr: { args: ["ptr", "buffer", "buffer"], ret: "i32", optional: true }, // int PyInitConfig_SetStr(PyInitConfig *config, const char *name, const char *value)
  PyInitConfig_GetError: { args: ["ptr", "buffer"], ret: "i32", optional: true }, // int PyInitConfig_GetError(PyInitConfig *config, const char **err_msg)
  PyInitConfig_GetExitCode: { args: ["ptr", "buffer"], ret: "i32", optional: true }, // int PyInitConfig_GetExitCode(PyInitConfig *config, int *exitcode)
  Py_InitializeFromInitConfig: { args: ["ptr"], ret: "i32", optional: true }, // int Py_InitializeFromInitConfig(PyInitConfig *config)
  PyUnstable_ThreadState_SetStackProtection: { args: ["ptr", "ptr", "usize"], ret: "i32", optional: true }, // int PyUnstable_ThreadState_SetStackProtection(PyThreadState *tstate, void *stack_start_addr, size_t stack_size)  3.14+
  // --- GIL and thread states
  PyGILState_Ensure: { args: [], ret: "i32" }, //                PyGILState_STATE PyGILState_Ensure(void)
  PyGILState_Release: { args: ["i32"], ret: "void" }, //         void PyGILState_Release(PyGILState_STATE)
  PyEval_SaveThread: { args: [], ret: "ptr" }, //                PyThreadState *PyEval_SaveThread(void)
  PyEval_RestoreThread: { args: ["ptr"], ret: "void" }, //       void PyEval_RestoreThread(PyThreadState *)
  PyThreadState_Get: { args: [], ret: "ptr" }, //                PyThreadState *PyThreadState_Get(void)
  PyThreadState_Swap: { args: ["ptr"], ret: "ptr" }, //          PyThreadState *PyThreadState_Swap(PyThreadState *)
  PyInterpreterState_Main: { args: [], ret: "ptr" }, //          PyInterpreterState *PyInterpreterState_Main(void)
  PyInterpreterState_Head: { args: [], ret: "ptr" }, //          PyInterpreterState *PyInterpreterState_Head(void)
  PyInterpreterState_Next: { args: ["ptr"], ret: "ptr" }, //     PyInterpreterState *PyInterpreterState_Next(PyInterpreterState *)
  PyInterpreterState_GetID: { args: ["ptr"], ret: "i64" }, //    int64_t PyInterpreterState_GetID(PyInterpreterState *)
  Py_NewInterpreterFromConfig: { args: ["buffer", "buffer"], ret: PyStatus, optional: true }, // PyStatus Py_NewInterpreterFromConfig(PyThreadState **tstate_p, const PyInterpreterConfig *config)  3.12+
  Py_NewInterpreter: { args: [], ret: "ptr" }, //                PyThreadState *Py_NewInterpreter(void)
  Py_EndInterpreter: { args: ["ptr"], ret: "void" }, //          void Py_EndInterpreter(PyThreadState *tstate)
  PyInterpreterState_Get: { args: [], ret: "ptr", optional: true }, //  PyInterpreterState *PyInterpreterState_Get(void)  3.9+
  _PyInterpreterState_Get: { args: [], ret: "ptr", optional: true }, // 3.8 spelling of the above
  // --- running code and errors
  PyRun_StringFlags: { args: ["buffer", "i32", "ptr", "ptr", "ptr"], ret: "ptr" }, // PyObject *PyRun_StringFlags(const char *str, int start, PyObject *globals, PyObject *locals, PyCompilerFlags *flags)
  PyImport_AddModule: { args: ["buffer"], ret: "ptr" }, //       PyObject *PyImport_AddModule(const char *name)   (borrowed)
  PyModule_GetDict: { args: ["ptr"], ret: "ptr" }, //            PyObject *PyModule_GetDict(PyObject *module)     (borrowed)
  PyDict_New: { args: [], ret: "ptr" }, //                       PyObject *PyDict_New(void)
  PyDict_SetItemString: { args: ["ptr", "buffer", "ptr"], ret: "i32" }, // int PyDict_SetItemString(PyObject *p, const char *key, PyObject *val)
  PyDict_GetItemString: { args: ["ptr", "buffer"], ret: "ptr" }, // PyObject *PyDict_GetItemString(PyObject *p, const char *key)  (borrowed)
  PyEval_GetBuiltins: { args: [], ret: "ptr" }, //               PyObject *PyEval_GetBuiltins(void)   (borrowed; the current interpreter's)
  Py_IncRef: { args: ["ptr"], ret: "void" }, //                  void Py_IncRef(PyObject *)
  Py_DecRef: { args: ["ptr"], ret: "void" }, //                  void Py_DecRef(PyObject *)
  PyErr_Occurred: { args: [], ret: "ptr" }, //                   PyObject *PyErr_Occurred(void)
  PyErr_Fetch: { args: ["buffer", "buffer", "buffer"], ret: "void" }, // void PyErr_Fetch(PyObject **ptype, PyObject **pvalue, PyObject **ptraceback)
  PyErr_NormalizeException: { args: ["buffer", "buffer", "buffer"], ret: "void" }, // void PyErr_NormalizeException(PyObject **exc, PyObject **val, PyObject **tb)
  PyErr_GivenExceptionMatches: { args: ["ptr", "ptr"], ret: "i32" }, // int PyErr_GivenExceptionMatches(PyObject *given, PyObject *exc)
  PyObject_GetAttrString: { args: ["ptr", "buffer"], ret: "ptr" }, // PyObject *PyObject_GetAttrString(PyObject *o, const char *attr_name)
  PyErr_Clear: { args: [], ret: "void" }, //                     void PyErr_Clear(void)
  // --- converting results
  PyObject_Repr: { args: ["ptr"], ret: "ptr" }, //               PyObject *PyObject_Repr(PyObject *o)
  PyNumber_ToBase: { args: ["ptr", "i32"], ret: "ptr" }, //     PyObject *PyNumber_ToBase(PyObject *n, int base)
  PyObject_CallObject: { args: ["ptr", "ptr"], ret: "ptr" }, // PyObject *PyObject_CallObject(PyObject *callable, PyObject *args)
  PySys_GetObject: { args: ["buffer"], ret: "ptr" }, //          PyObject *PySys_GetObject(const char *name)   (borrowed)
  PyObject_Str: { args: ["ptr"], ret: "ptr" }, //                PyObject *PyObject_Str(PyObject *o)
  PyType_IsSubtype: { args: ["ptr", "ptr"], ret: "i32" }, //     int PyType_IsSubtype(PyTypeObject *a, PyTypeObject *b)
  PyObject_IsTrue: { args: ["ptr"], ret: "i32" }, //             int PyObject_IsTrue(PyObject *o)
  PyUnicode_AsUTF8AndSize: { args: ["ptr", "buffer"], ret: "ptr" }, // const char *PyUnicode_AsUTF8AndSize(PyObject *unicode, Py_ssize_t *size)
  PyLong_AsLongLongAndOverflow: { args: ["ptr", "buffer"], ret: "i64" }, // long long PyLong_AsLongLongAndOverflow(PyObject *obj, int *overflow)
  PyFloat_AsDouble: { args: ["ptr"], ret: "f64" }, //            double PyFloat_AsDouble(PyObject *pyfloat)
  PyBytes_AsStringAndSize: { args: ["ptr", "buffer", "buffer"], ret: "i32" }, // int PyBytes_AsStringAndSize(PyObject *obj, char **buffer, Py_ssize_t *length)
  // --- memory domains (PyMem_Raw* need no GIL; PyMem_* and PyObject_* do)
  PyMem_RawMalloc: { args: ["usize"], ret: "ptr" }, //           void *PyMem_RawMalloc(size_t n)
  PyMem_RawCalloc: { args: ["usize", "usize"], ret: "ptr" }, //  void *PyMem_RawCalloc(size_t nelem, size_t elsize)
  PyMem_RawRealloc: { args: ["ptr", "usize"], ret: "ptr" }, //   void *PyMem_RawRealloc(void *p, size_t n)
  PyMem_RawFree: { args: ["ptr"], ret: "void" }, //              void PyMem_RawFree(void *p)
  PyMem_Malloc: { args: ["usize"], ret: "ptr" }, //              void *PyMem_Malloc(size_t n)
  PyMem_Calloc: { args: ["usize", "usize"], ret: "ptr" }, //     void *PyMem_Calloc(size_t nelem, size_t elsize)
  PyMem_Realloc: { args: ["ptr", "usize"], ret: "ptr" }, //      void *PyMem_Realloc(void *p, size_t n)
  PyMem_Free: { args: ["ptr"], ret: "void" }, //                 void PyMem_Free(void *p)
  PyObject_Malloc: { args: ["usize"], ret: "ptr" }, //           void *PyObject_Malloc(size_t n)
  PyObject_Calloc: { args: ["usize", "usize"], ret: "ptr" }, //  void *PyObject_Calloc(size_t nelem, size_t elsize)
  PyObject_Realloc: { args: ["ptr", "usize"], ret: "ptr" }, //   void *PyObject_Realloc(void *p, size_t n)
  PyObject_Free: { args: ["ptr"], ret: "void" }, //              void PyObject_Free(void *p)
  // --- allocator control
  PyMem_GetAllocator: { args: ["i32", "buffer"], ret: "void" }, // void PyMem_GetAllocator(PyMemAllocatorDomain domain, PyMemAllocatorEx *allocator)
  PyMem_SetAllocator: { args: ["i32", "buffer"], ret: "void" }, // void PyMem_SetAllocator(PyMemAllocatorDomain domain, PyMemAllocatorEx *allocator)
  PyMem_SetupDebugHooks: { args: [], ret: "void" }, //           void PyMem_SetupDebugHooks(void)
  PyObject_GetArenaAllocator: { args: ["buffer"], ret: "void" }, // void PyObject_GetArenaAllocator(PyObjectArenaAllocator *allocator)
  PyObject_SetArenaAllocator: { args: ["buffer"], ret: "void" }, // void PyObject_SetArenaAllocator(PyObjectArenaAllocator *allocator)
  _PyMem_GetCurrentAllocatorName: { args: [], ret: "ptr" }, //   const char *_PyMem_GetCurrentAllocatorName(void)
  _PyObject_DebugMallocStats: { args: ["ptr"], ret: "i32" }, //  int _PyObject_DebugMallocStats(FILE *out)
  _Py_GetAllocatedBlocks: { args: [], ret: "isize", optional: true }, // Py_ssize_t _Py_GetAllocatedBlocks(void)  exported up to 3.11
  // --- thread states of a sub-interpreter created through CPython's _interpreters module (lib/interpreters.ts)
  PyThreadState_New: { args: ["ptr"], ret: "ptr" }, //          PyThreadState *PyThreadState_New(PyInterpreterState *interp)
  PyThreadState_Clear: { args: ["ptr"], ret: "void" }, //        void PyThreadState_Clear(PyThreadState *tstate)
  PyThreadState_Delete: { args: ["ptr"], ret: "void" }, //       void PyThreadState_Delete(PyThreadState *tstate)
  PyInterpreterState_ThreadHead: { args: ["ptr"], ret: "ptr" }, // PyThreadState *PyInterpreterState_ThreadHead(PyInterpreterState *interp)
  PyThreadState_Next: { args: ["ptr"], ret: "ptr" }, //          PyThreadState *PyThreadState_Next(PyThreadState *tstate)
} as const satisfies Record<string, FnDef>;

export const libc = {
  dlopen: { args: ["buffer", "i32"], ret: "ptr" }, //            void *dlopen(const char *filename, int flags)
  dlclose: { args: ["ptr"], ret: "i32" }, //                     int dlclose(void *handle)
  dlsym: { args: ["ptr", "buffer"], ret: "ptr" }, //             void *dlsym(void *handle, const char *symbol)
  dlerror: { args: [], ret: "ptr" }, //                          char *dlerror(void)
  dladdr: { args: ["ptr", "buffer"], ret: "i32" }, //            int dladdr(const void *addr, Dl_info *info)
  open_memstream: { args: ["ptr", "ptr"], ret: "ptr" }, //       FILE *open_memstream(char **ptr, size_t *sizeloc)
  fclose: { args: ["ptr"], ret: "i32" }, //                      int fclose(FILE *stream)
  fopen: { args: ["buffer", "buffer"], ret: "ptr" }, //          FILE *fopen(const char *pathname, const char *mode)
  fflush: { args: ["ptr"], ret: "i32" }, //                      int fflush(FILE *stream)   NULL: every output stream
  fcntl: { args: ["i32", "i32", "i32"], ret: "i32" }, //         int fcntl(int fd, int cmd, ...)   here F_DUPFD_CLOEXEC with an int
  dup2: { args: ["i32", "i32"], ret: "i32" }, //                 int dup2(int oldfd, int newfd)
  open: { args: ["buffer", "i32"], ret: "i32" }, //              int open(const char *pathname, int flags)   (no O_CREAT: no mode)
  close: { args: ["i32"], ret: "i32" }, //                       int close(int fd)
  memfd_create: { args: ["buffer", "u32"], ret: "i32", optional: true }, // int memfd_create(const char *name, unsigned int flags)  glibc 2.27+
  pread: { args: ["i32", "buffer", "usize", "i64"], ret: "isize" }, // ssize_t pread(int fd, void *buf, size_t count, off_t offset)
  write: { args: ["i32", "buffer", "usize"], ret: "isize" }, //  ssize_t write(int fd, const void *buf, size_t count)
  malloc: { args: ["usize"], ret: "ptr" }, //                    void *malloc(size_t size)
  mmap: { args: ["ptr", "usize", "i32", "i32", "i32", "i64"], ret: "ptr" }, // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
  mprotect: { args: ["ptr", "usize", "i32"], ret: "i32" }, //    int mprotect(void *addr, size_t len, int prot)
  munmap: { args: ["ptr", "usize"], ret: "i32" }, //             int munmap(void *addr, size_t length)
  getpid: { args: [], ret: "i32" }, //                           pid_t getpid(void)
  process_vm_readv: { args: ["i32", "buffer", "usize", "buffer", "usize", "usize"], ret: "isize" }, // ssize_t process_vm_readv(pid_t pid, const struct iovec *local_iov, unsigned long liovcnt, const struct iovec *remote_iov, unsigned long riovcnt, unsigned long flags)
  __errno_location: { args: [], ret: "ptr" }, //                 int *__errno_location(void)
  free: { args: ["ptr"], ret: "void" }, //                       void free(void *ptr)
  dlinfo: { args: ["ptr", "i32", "buffer"], ret: "i32", optional: true }, // int dlinfo(void *handle, int request, void *info)  glibc 2.34+ in libc
  pthread_create: { args: ["buffer", "ptr", "ptr", "ptr"], ret: "i32", optional: true }, // int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)  glibc 2.34+ in libc
  pthread_join: { args: ["u64", "ptr"], ret: "i32", optional: true }, // int pthread_join(pthread_t thread, void **retval)
  pthread_sigmask: { args: ["i32", "buffer", "buffer"], ret: "i32", optional: true }, // int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset)  glibc 2.32+ in libc
} as const satisfies Record<string, FnDef>;

/** libpython's bound API, as `Native.api` holds it. */
export type PythonApi = NativeSymbols<typeof python>;
/** libc's bound functions, as `Native.libc` holds them. */
export type LibcApi = NativeSymbols<typeof libc>;

/** libpython functions some builds do not export, called by address when `.symtab` (or a decoder) finds them. */
export const hidden = {
  _Py_GetGlobalAllocatedBlocks: { args: [], ret: "isize" }, //   Py_ssize_t _Py_GetGlobalAllocatedBlocks(void)
  _PyInterpreterState_GetAllocatedBlocks: { args: ["ptr"], ret: "isize" }, // Py_ssize_t _PyInterpreterState_GetAllocatedBlocks(PyInterpreterState *)
  _PyInterpreterState_FinalizeAllocatedBlocks: { args: ["ptr"], ret: "void" }, // void _PyInterpreterState_FinalizeAllocatedBlocks(PyInterpreterState *)
  _PyMem_init_obmalloc: { args: ["ptr"], ret: "i32" }, //        int _PyMem_init_obmalloc(PyInterpreterState *interp)
  // A C bool comes back in the low byte only: the caller masks the i32 with 0xff.
  _PyMem_obmalloc_state_on_heap: { args: ["ptr"], ret: "i32" }, // bool _PyMem_obmalloc_state_on_heap(PyInterpreterState *interp)
  _PyObject_VirtualAlloc: { args: ["usize"], ret: "ptr" }, //    void *_PyObject_VirtualAlloc(size_t size)
  _PyObject_VirtualFree: { args: ["ptr", "usize"], ret: "void" }, // void _PyObject_VirtualFree(void *obj, size_t size)
} as const satisfies Record<string, FnDef>;

/** Function pointers read from CPython's allocator structs, called by address. */
export const callbacks = {
  // PyMemAllocatorEx { void *ctx; malloc; calloc; realloc; free; }
  malloc: { args: ["ptr", "usize"], ret: "ptr" }, //             void *(*malloc)(void *ctx, size_t size)
  calloc: { args: ["ptr", "usize", "usize"], ret: "ptr" }, //    void *(*calloc)(void *ctx, size_t nelem, size_t elsize)
  realloc: { args: ["ptr", "ptr", "usize"], ret: "ptr" }, //     void *(*realloc)(void *ctx, void *ptr, size_t new_size)
  free: { args: ["ptr", "ptr"], ret: "void" }, //                void (*free)(void *ctx, void *ptr)
  // PyObjectArenaAllocator { void *ctx; alloc; free; }
  arenaAlloc: { args: ["ptr", "usize"], ret: "ptr" }, //         void *(*alloc)(void *ctx, size_t size)
  arenaFree: { args: ["ptr", "ptr", "usize"], ret: "void" }, //  void (*free)(void *ctx, void *ptr, size_t size)
} as const satisfies Record<string, FnDef>;

/** The statistics functions of the allocator libraries pymem installs, looked up in the installed library. */
export const allocatorLibrary = {
  mi_process_info: {
    args: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    ret: "void",
  }, // void mi_process_info(size_t *elapsed_msecs, size_t *user_msecs, size_t *system_msecs, size_t *current_rss, size_t *peak_rss, size_t *current_commit, size_t *peak_commit, size_t *page_faults)
  MallocExtension_GetNumericProperty: { args: ["buffer", "buffer"], ret: "i32" }, // int MallocExtension_GetNumericProperty(const char *property, size_t *value)
  mallctl: { args: ["buffer", "buffer", "buffer", "buffer", "usize"], ret: "i32" }, // int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
} as const satisfies Record<string, FnDef>;

/** Entry points of pymem's generated machine code; each `.s` source beside its bytes documents the contract. */
export const generated = {
  // lib/obmalloc/pool-pass.x86_64.s, the heap walk's pool pass and its parked second thread:
  poolWalk: { args: ["buffer", "buffer", "usize", "usize", "buffer", "buffer", "buffer"], ret: "void" }, // void walk(const double *firsts, const uint32_t *carved, uint64_t narenas, uint64_t stride, uint32_t *records, uint32_t *arenaUsed, uint64_t *perClass)
  poolChunks: { args: ["ptr", "u64"], ret: "void" }, //           void chunks(Team *t, uint64_t who)
  poolPost: { args: ["ptr", "ptr"], ret: "void" }, //             void post(Control *c, Team *t)
  poolSettle: { args: ["ptr"], ret: "u32" }, //                   uint32_t settle(Control *c)
  poolFinish: { args: ["ptr"], ret: "u32" }, //                   uint32_t finish(Control *c)
  poolStop: { args: ["ptr"], ret: "void" }, //                    void stop(Control *c)
  classifyBatch: { args: ["ptr", "buffer", "buffer"], ret: "void" }, // void classify_batch(Job *j, uint16_t *kinds, const uint8_t *words)   lib/objects/classify-pass.x86_64.s
  countKinds: { args: ["buffer", "buffer", "u64", "buffer", "buffer", "u64"], ret: "u64" }, // uint64_t count_kinds(const uint16_t *kinds, const uint32_t *poolBase, uint64_t npools, uint32_t *scratch, uint32_t *out, uint64_t cap)
  readvLoop: { args: ["ptr"], ret: "ptr" }, //                    void *readv_loop(uint64_t *a)   lib/machine/remote.x86_64.s
  stackPointer: { args: [], ret: "u64" }, //                      uint64_t sp(void)   lib/core/stack-pointer.*.s
  callLoop: { args: ["ptr", "ptr", "ptr", "usize", "usize"], ret: "void" }, // void loop(alloc, free, void *ctx, size_t n, size_t size)   lib/machine/call-loop.x86_64.s
} as const satisfies Record<string, FnDef>;
