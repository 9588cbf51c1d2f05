import type { Verdict } from '@pocketbench/contracts';

const SEVERITY: Record<Verdict, number> = { pass: 0, inconclusive: 1, fail: 2 };

/** The run's verdict is its worst cell's: fail > inconclusive > pass. An empty list is inconclusive. */
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict | undefined;
  for (const v of verdicts) if (worst === undefined || SEVERITY[v] > SEVERITY[worst]) worst = v;
  return worst ?? 'inconclusive';
}

/** Three-way rule against an upper limit: above it fails, below it passes, straddling is inconclusive. */
export function threeWayVerdict(ciLow: number, ciHigh: number, limit: number): Verdict {
  if (ciLow > limit) return 'fail';
  if (ciHigh <= limit) return 'pass';
  return 'inconclusive';
}

export function verdictSeverity(v: Verdict): number {
  return SEVERITY[v];
}
