import type { IterationSummary } from '@pocketbench/contracts';

/** Linear-interpolated quantile of sorted values (the "type 7" definition numpy and R use). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Summary of one session's iterations; MAD is the raw median absolute deviation (unscaled). */
export function summarize(values: number[]): IterationSummary {
  if (values.length === 0) throw new Error('summarize: no iterations');
  const sorted = [...values].sort((a, b) => a - b);
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  const p50 = quantile(sorted, 0.5);
  const deviations = values.map((v) => Math.abs(v - p50)).sort((a, b) => a - b);
  const stddev = Math.sqrt(variance);
  return {
    count: n,
    minUs: sorted[0],
    meanUs: mean,
    p50Us: p50,
    p90Us: quantile(sorted, 0.9),
    p99Us: quantile(sorted, 0.99),
    maxUs: sorted[n - 1],
    stddevUs: stddev,
    madUs: quantile(deviations, 0.5),
    cv: mean > 0 ? stddev / mean : 0,
  };
}
