/**
 * Side-by-side timing for bench/: every round runs each case once, in an order that alternates between rounds, and
 * a ratio is taken within each round (case / baseline of the same round). A burst of load from elsewhere then slows
 * both sides of a ratio alike, where timing one case after the other (all of A, then all of B) lets it land on one
 * side only: on a 2-CPU machine shared with other jobs, that moved sequential ratios by 2x and more from run to run.
 * @module
 */

/** A ratio of two cases: the median of the per-round ratios, with their p25 and p75 as the spread. */
export interface Ratio {
  median: number;
  low: number;
  high: number;
}

/** Milliseconds per call of one case: p25, median, p75 over the rounds. */
export interface Times {
  p25: number;
  p50: number;
  p75: number;
  samples: number[];
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/**
 * Run `cases` in interleaved rounds: unmeasured rounds until both `warmup` rounds are done and `warmupMs` has
 * passed, then rounds until both `rounds` are done and `minMs` has passed (at most `maxMs`). Returns each case's
 * times in milliseconds. A time-based warm-up is for engines whose tiers differ in kind, not only in speed: V8's
 * mid tier (Maglev) has no fast path for FFI calls, and code that is still there calls C 10-20x slower.
 */
export function runPaired(
  cases: Record<string, () => unknown>,
  { warmup = 20, warmupMs = 0, rounds = 100, minMs = 500, maxMs = 20_000 }: {
    warmup?: number;
    warmupMs?: number;
    rounds?: number;
    minMs?: number;
    maxMs?: number;
  } = {},
): Record<string, Times> {
  const names = Object.keys(cases);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  let start = performance.now(), warm = false, measured = 0;
  for (let r = 0;; r++) {
    if (!warm && r >= warmup && performance.now() - start >= warmupMs) {
      warm = true;
      start = performance.now();
    }
    const order = r % 2 ? [...names].reverse() : names;
    for (const name of order) {
      const t0 = performance.now();
      cases[name]();
      const t = performance.now() - t0;
      if (warm) samples[name].push(t);
    }
    if (!warm) continue;
    measured++;
    const elapsed = performance.now() - start;
    if (measured > rounds && elapsed >= minMs) break;
    if (elapsed >= maxMs && measured >= 5) break;
  }
  const out: Record<string, Times> = {};
  for (const name of names) {
    const sorted = [...samples[name]].sort((a, b) => a - b);
    out[name] = {
      p25: quantile(sorted, 0.25),
      p50: quantile(sorted, 0.5),
      p75: quantile(sorted, 0.75),
      samples: samples[name],
    };
  }
  return out;
}

/** `a / b`, round by round. */
export function ratioOf(a: Times, b: Times): Ratio {
  const r = a.samples.map((x, i) => x / b.samples[i]).sort((x, y) => x - y);
  return { median: quantile(r, 0.5), low: quantile(r, 0.25), high: quantile(r, 0.75) };
}
