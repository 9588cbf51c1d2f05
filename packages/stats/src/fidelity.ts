import type { Verdict } from '@pocketbench/contracts';

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;

/**
 * Wilson score interval of a binomial proportion k/n (as fractions). Unlike the Wald interval it
 * stays inside [0, 1] and keeps its coverage at 0 % and 100 %, which is where agreement lives.
 */
export function wilsonInterval(k: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n the bound on that side is exact (rounding would leave 0.9999999999999999).
  return [k <= 0 ? 0 : Math.max(0, centre - half), k >= n ? 1 : Math.min(1, centre + half)];
}

/** Paired outcomes of a reference and a model on the same labelled samples. */
export interface PairedAccuracy {
  samples: number;
  referenceCorrect: number;
  modelCorrect: number;
  /** Samples only the reference got right, and only the model. */
  referenceOnly: number;
  modelOnly: number;
}

/**
 * Interval of the accuracy drop (reference − model, as a fraction) on paired samples: Newcombe's
 * hybrid score method for a difference of paired proportions (Newcombe 1998, method 10). Both
 * ran on the same eval set, so the interval uses the pairing: a variant that differs from the
 * reference on 2 of 400 digits is known to be close even though each accuracy alone is uncertain.
 */
export function pairedDropInterval(p: PairedAccuracy, z = Z95): { drop: number; low: number; high: number } {
  const n = p.samples;
  const p1 = p.referenceCorrect / n;
  const p2 = p.modelCorrect / n;
  const [l1, u1] = wilsonInterval(p.referenceCorrect, n, z);
  const [l2, u2] = wilsonInterval(p.modelCorrect, n, z);
  const both = p.referenceCorrect - p.referenceOnly;
  const neither = n - both - p.referenceOnly - p.modelOnly;
  const den = Math.sqrt(p.referenceCorrect * (n - p.referenceCorrect) * p.modelCorrect * (n - p.modelCorrect));
  const phi = den > 0 ? (both * neither - p.referenceOnly * p.modelOnly) / den : 0;
  const drop = p1 - p2;
  const delta = Math.sqrt(Math.max(0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2));
  const eps = Math.sqrt(Math.max(0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2));
  return { drop, low: Math.max(-1, drop - delta), high: Math.min(1, drop + eps) };
}

export interface LimitCheck {
  value: number;
  ciLow: number;
  ciHigh: number;
  verdict: Verdict;
}

/** Three-way rule against a lower limit: an interval entirely below it fails, at or above passes. */
export function threeWayAtLeast(ciLow: number, ciHigh: number, limit: number): Verdict {
  if (ciHigh < limit) return 'fail';
  if (ciLow >= limit) return 'pass';
  return 'inconclusive';
}

/** `min_top1_agreement_pct`: k of n rows agreed; Wilson interval in %, checked against a lower limit. */
export function checkAgreementAtLeast(k: number, n: number, minPct: number): LimitCheck {
  const [lo, hi] = wilsonInterval(k, n);
  const ciLow = lo * 100;
  const ciHigh = hi * 100;
  return { value: n ? (100 * k) / n : 0, ciLow, ciHigh, verdict: threeWayAtLeast(ciLow, ciHigh, minPct) };
}

/** `max_accuracy_drop_pct`: paired interval of the drop in percentage points against an upper limit. */
export function checkDropAtMost(p: PairedAccuracy, maxPct: number): LimitCheck {
  const { drop, low, high } = pairedDropInterval(p);
  const ciLow = low * 100;
  const ciHigh = high * 100;
  const verdict: Verdict = ciLow > maxPct ? 'fail' : ciHigh <= maxPct ? 'pass' : 'inconclusive';
  return { value: drop * 100, ciLow, ciHigh, verdict };
}
