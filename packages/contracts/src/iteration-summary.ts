import type { IterationSummary } from './bench-report.js';

// The summary a BenchReport carries and the farm stores, defined once here (with the report it
// belongs to) so that the harness, which depends on contracts only, and packages/stats agree.

/** Summary of one session's timed iterations, in the unit given (µs for iterations). */
export interface SessionSummary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  stddev: number;
  /** Median absolute deviation from the median (unscaled). */
  mad: number;
  /** Coefficient of variation: stddev / mean. */
  cv: number;
}

/** Quantile of an ascending-sorted array, linear interpolation between order statistics (R type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  // A plain loop: Float64Array.from goes through the iterator protocol and is several times slower.
  const n = values.length;
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = values[i];
  a.sort();
  return a;
}

/** min, mean, p50, p90, p99, stddev (sample), MAD and CV of one session's iterations. */
export function summarize(iterationsUs: ArrayLike<number>): SessionSummary {
  const n = iterationsUs.length;
  if (n === 0) throw new RangeError('summarize: no iterations (it needs at least one iteration)');
  const sorted = sortedCopy(iterationsUs);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(sorted[i])) throw new RangeError(`iteration ${i} is not a finite number`);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i] - mean) ** 2;
  const stddev = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const p50 = quantileSorted(sorted, 0.5);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(sorted[i] - p50);
  dev.sort();
  return {
    n,
    min: sorted[0],
    mean,
    p50,
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    stddev,
    mad: quantileSorted(dev, 0.5),
    cv: mean > 0 ? stddev / mean : 0,
  };
}

/**
 * The one summary of a session's iterations in the BenchReport's shape (µs names, count and
 * max too): the harness puts it in its report and sessionFromReport (packages/stats) stores it.
 */
export function iterationSummary(iterationsUs: ArrayLike<number>): IterationSummary {
  const s = summarize(iterationsUs);
  let max = -Infinity;
  for (let i = 0; i < iterationsUs.length; i++) if (iterationsUs[i] > max) max = iterationsUs[i];
  return {
    count: s.n, minUs: s.min, meanUs: s.mean, p50Us: s.p50, p90Us: s.p90, p99Us: s.p99, maxUs: max, stddevUs: s.stddev, madUs: s.mad, cv: s.cv,
  };
}
