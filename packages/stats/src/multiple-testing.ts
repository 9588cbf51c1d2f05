import type { Verdict } from '@pocketbench/contracts';

/**
 * Benjamini–Hochberg step-up procedure: which of the p-values are discoveries at false
 * discovery rate q, and the BH-adjusted p-values (same order as the input).
 */
export function benjaminiHochberg(pValues: readonly number[], q = 0.025): { rejected: boolean[]; adjusted: number[] } {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m).fill(1);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const [p, i] = order[r];
    running = Math.min(running, (p * m) / (r + 1));
    adjusted[i] = Math.min(1, running);
  }
  return { rejected: adjusted.map((a) => a <= q), adjusted };
}

export interface CellDecision {
  verdict: Verdict;
  /** One-sided p-value of "no regression beyond the limit". Exact checks give 0 or 1. */
  pValue: number;
}

/**
 * A run's cells after Benjamini–Hochberg: a cell keeps `fail` only if its p-value is still a
 * discovery at FDR q across all the run's checks; otherwise it becomes `inconclusive`.
 * q = 0.025 matches the one-sided side of a 95 % interval.
 */
export function adjustRunVerdicts<T extends CellDecision>(cells: readonly T[], q = 0.025): (T & { adjustedPValue: number })[] {
  const { rejected, adjusted } = benjaminiHochberg(cells.map((c) => c.pValue), q);
  return cells.map((c, i) => ({
    ...c,
    verdict: c.verdict === 'fail' && !rejected[i] ? 'inconclusive' : c.verdict,
    adjustedPValue: adjusted[i],
  }));
}
