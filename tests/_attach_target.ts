/**
 * Test tooling only: the Python workload an attach test runs in its target process (tests/attach_test.ts, and the
 * containerised target of tests/container_test.ts), so both compare attach's map with the same heap.
 * @module
 */

// The workload: a fragmented heap, then its own stats (printed to stderr, redirected to a file), then a readiness
// byte, then a sleep that waits in C without allocating, so the heap stays exactly as printed. The dry run takes the
// same path with no sleep, so nothing after the readiness byte runs for the first time (3.15 freed a 48-byte block
// on the first call of signal.pause() made after the stats, one read in three).
export const FRAGMENT = `
import sys, os, gc, time
out = sys.argv[1]
junk = [b'x' * (i % 200) if i % 3 else (i, float(i)) for i in range(300000)]
del junk[::2]
gc.collect()
gc.disable()
def dump(path, sleep):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    ready = os.open(path + '.ready', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    sys.stderr.flush()
    os.dup2(fd, 2)
    sys._debugmallocstats()
    os.dup2(saved, 2)
    os.write(ready, b'1')
    time.sleep(sleep)
    os.close(fd)
    os.close(ready)
    os.close(saved)
# A dry run first, so whatever the path caches on first use is allocated before the stats that count.
dump(out + '.warmup', 0)
dump(out, 1e9)
`;
