import { quantileSorted, sortedCopy } from '@pocketbench/contracts';

// The session summary itself lives with the BenchReport in contracts (the harness computes it too).
export { iterationSummary, quantileSorted, sortedCopy, summarize, type SessionSummary } from '@pocketbench/contracts';

export function median(values: ArrayLike<number>): number {
  return quantileSorted(sortedCopy(values), 0.5);
}

export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileSorted(sortedCopy(values), q);
}
