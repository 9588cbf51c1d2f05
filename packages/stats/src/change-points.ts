import { createRng, type Rng } from './rng.js';
import { welchTTest } from './special.js';

export interface ChangePointOptions {
  /** Length of the sliding windows the series is cut into (half-overlapping). @defaultValue 50 */
  window?: number;
  /** A change point is kept only when the two segments around it differ with p at most this. @defaultValue 0.001 */
  pValue?: number;
  /** Smallest segment length considered. @defaultValue 3 */
  minSize?: number;
  /**
   * How a split is tested. `ttest` (Welch's t-test between the adjacent segments) is what
   * Apache Otava/Hunter uses; `permutation` is the original E-Divisive permutation test, seeded.
   * @defaultValue 'ttest'
   */
  significance?: 'ttest' | 'permutation';
  /** Permutations for `significance: 'permutation'`. @defaultValue 999 */
  permutations?: number;
  /** @defaultValue 0x5eed */
  seed?: number | string;
}

/**
 * E-Divisive means change points over a series (e.g. a series' session medians), as Apache
 * Otava/Hunter does: candidates by recursive energy-statistic splitting inside half-overlapping
 * windows at a looser threshold, then the weakest change point is removed until every one left
 * separates segments that differ with p <= pValue. Returns the indices where a new segment starts.
 */
export function eDivisive(values: readonly number[], options: ChangePointOptions = {}): number[] {
  const window = Math.max(4, options.window ?? 50);
  const pValue = options.pValue ?? 0.001;
  const minSize = Math.max(2, options.minSize ?? 3);
  const n = values.length;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`value ${i} is not a finite number`);
  });
  if (n < 2 * minSize) return [];
  const rng = createRng(options.seed ?? 0x5eed);
  const test = (a: readonly number[], b: readonly number[]) =>
    options.significance === 'permutation' ? permutationTest(a, b, options.permutations ?? 999, rng) : welchTTest(a, b);

  const candidates = new Set<number>();
  const step = Math.max(1, Math.floor(window / 2));
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + window);
    splitRecursive(values, start, end, minSize, Math.min(1, pValue * 10), test, candidates);
    if (end === n) break;
  }
  const points = [...candidates].sort((a, b) => a - b);

  // Merge: drop the least significant point until all remaining ones are significant.
  for (;;) {
    let worst = -1;
    let worstP = -1;
    for (let i = 0; i < points.length; i++) {
      const from = i === 0 ? 0 : points[i - 1];
      const to = i === points.length - 1 ? n : points[i + 1];
      const p = test(values.slice(from, points[i]), values.slice(points[i], to));
      if (p > worstP) {
        worstP = p;
        worst = i;
      }
    }
    if (worst < 0 || worstP <= pValue) return points;
    points.splice(worst, 1);
  }
}

function splitRecursive(
  values: readonly number[],
  from: number,
  to: number,
  minSize: number,
  threshold: number,
  test: (a: readonly number[], b: readonly number[]) => number,
  out: Set<number>,
): void {
  if (to - from < 2 * minSize) return;
  const segment = values.slice(from, to);
  const tau = bestSplit(segment, minSize);
  if (tau < 0) return;
  if (test(segment.slice(0, tau), segment.slice(tau)) > threshold) return;
  out.add(from + tau);
  splitRecursive(values, from, from + tau, minSize, threshold, test, out);
  splitRecursive(values, from + tau, to, minSize, threshold, test, out);
}

/** Split maximising the energy statistic Q(τ) = τ(n-τ)/n · Ê(τ), α = 1, in O(n²). */
export function bestSplit(x: readonly number[], minSize: number): number {
  const n = x.length;
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) total += Math.abs(x[i] - x[j]);
  // withinLeft(τ) sums pairs inside [0, τ), withinRight(τ) pairs inside [τ, n).
  let withinLeft = 0;
  let withinRight = total;
  let best = -1;
  let bestQ = -Infinity;
  for (let tau = 1; tau < n; tau++) {
    const moved = tau - 1;
    for (let i = 0; i < moved; i++) withinLeft += Math.abs(x[i] - x[moved]);
    for (let j = moved + 1; j < n; j++) withinRight -= Math.abs(x[moved] - x[j]);
    if (tau < minSize || n - tau < minSize) continue;
    const m = n - tau;
    const between = total - withinLeft - withinRight;
    const e = (2 * between) / (tau * m) - withinLeft / ((tau * (tau - 1)) / 2) - withinRight / ((m * (m - 1)) / 2);
    const q = ((tau * m) / n) * e;
    if (q > bestQ) {
      bestQ = q;
      best = tau;
    }
  }
  return best;
}

function permutationTest(a: readonly number[], b: readonly number[], permutations: number, rng: Rng): number {
  if (a.length < 2 || b.length < 2) return 1;
  const all = [...a, ...b];
  const observed = Math.abs(meanOf(all, 0, a.length) - meanOf(all, a.length, all.length));
  let asExtreme = 0;
  for (let p = 0; p < permutations; p++) {
    for (let i = all.length - 1; i > 0; i--) {
      const j = (rng() * (i + 1)) | 0;
      const t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    if (Math.abs(meanOf(all, 0, a.length) - meanOf(all, a.length, all.length)) >= observed - 1e-12) asExtreme++;
  }
  return (asExtreme + 1) / (permutations + 1);
}

function meanOf(x: readonly number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i];
  return s / (to - from);
}
