/**
 * Test tooling only: the Python workload an attach test runs in its target process (tests/attach_test.ts, and the
 * containerised target of tests/container_test.ts), so both compare attach's map with the same heap.
 * @module
 */

// The workload: a fragmented heap, then its own stats (printed to stderr, redirected to a file), then a readiness
// byte, then signal.pause(), which waits in C without allocating, so the heap stays exactly as printed.
export const FRAGMENT = `
import sys, os, gc, signal
out = sys.argv[1]
junk = [b'x' * (i % 200) if i % 3 else (i, float(i)) for i in range(300000)]
del junk[::2]
gc.collect()
gc.disable()
def dump(path, final):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ready = os.open(path + '.ready', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    sys.stderr.flush()
    os.dup2(fd, 2)
    sys._debugmallocstats()
    os.dup2(saved, 2)
    os.write(ready, b'1')
    if final:
        signal.pause()
    os.close(fd)
    os.close(ready)
    os.close(saved)
# A dry run first, so whatever the path caches on first use is allocated before the stats that count.
dump(out + '.warmup', False)
dump(out, True)
`;
