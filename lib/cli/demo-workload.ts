/**
 * The built-in workload of `pymem heap --demo` (and `npm start`): the "RSS never goes down" pattern. Hundreds of
 * thousands of small objects of mixed sizes are created, a few hundredth of them survive, and the survivors keep
 * most arenas mapped although almost everything was freed.
 * @module
 */

/** Python source of the demo workload. Runs in well under a second on every supported CPython. */
export const DEMO_WORKLOAD = `\
import gc
records = [(i, float(i), str(i) * 3) for i in range(300_000)]
survivors = records[::400]
labels = [("label-%d" % i) * 2 for i in range(200_000)]
kept_labels = labels[::250]
del records, labels
gc.collect()
`;
