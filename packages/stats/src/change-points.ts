import { createRng, type Rng } from './rng.js';
import { welchTTest } from './special.js';

export interface ChangePointOptions {
  /** Length of the sliding windows the series is cut into (half-overlapping). @defaultValue 50 */
  window?: number;
  /** A change point is kept only when the two segments around it differ with p at most this. @defaultValue 0.001 */
  pValue?: number;
  /** Smallest segment length considered. @defaultValue 3 */
  minSize?: number;
  /** Permutations of the candidate test (E-Divisive's, which accounts for choosing the best split). @defaultValue 199 */
  permutations?: number;
  /** Seed of the permutations: the same series always gives the same change points. @defaultValue 0x5eed */
  seed?: number | string;
  /** Drop change points whose relative change of the mean is smaller than this (0.02 = 2 %), as Hunter's min_magnitude. @defaultValue 0 */
  minMagnitude?: number;
}

/**
 * E-Divisive means change points over a series (e.g. a series' session medians), as Apache
 * Otava/Hunter does: candidates by recursive energy-statistic splitting inside half-overlapping
 * windows (each split kept when a seeded permutation test gives p <= 10 × pValue), then the
 * weakest candidate is removed until every one left separates adjacent segments whose means
 * differ by Welch's t-test with p <= pValue. Returns the indices where a new segment starts.
 */
export function eDivisive(values: readonly number[], options: ChangePointOptions = {}): number[] {
  const window = Math.max(4, options.window ?? 50);
  const pValue = options.pValue ?? 0.001;
  const minSize = Math.max(2, options.minSize ?? 3);
  const permutations = Math.max(19, options.permutations ?? 199);
  const n = values.length;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`value ${i} is not a finite number`);
  });
  if (n < 2 * minSize) return [];
  const rng = createRng(options.seed ?? 0x5eed);
  const candidateP = Math.min(1, pValue * 10);
  const minMagnitude = options.minMagnitude ?? 0;

  const candidates = new Set<number>();
  const step = Math.max(1, Math.floor(window / 2));
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + window);
    splitRecursive(values, start, end, { minSize, threshold: candidateP, permutations, rng }, candidates);
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
      const left = values.slice(from, points[i]);
      const right = values.slice(points[i], to);
      const tooSmall = minMagnitude > 0 && Math.abs(meanOf(right) / meanOf(left) - 1) < minMagnitude;
      const p = tooSmall ? 1 : welchTTest(left, right);
      if (p > worstP) {
        worstP = p;
        worst = i;
      }
    }
    if (worst < 0 || worstP <= pValue) return points;
    points.splice(worst, 1);
  }
}

interface SplitOptions {
  minSize: number;
  threshold: number;
  permutations: number;
  rng: Rng;
}

function splitRecursive(values: readonly number[], from: number, to: number, o: SplitOptions, out: Set<number>): void {
  if (to - from < 2 * o.minSize) return;
  const segment = values.slice(from, to);
  const { tau, q } = bestSplit(segment, o.minSize);
  if (tau < 0) return;
  // Permutation test of the best split's statistic: how often does shuffled data split as well?
  const shuffled = [...segment];
  let asGood = 0;
  for (let p = 0; p < o.permutations; p++) {
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = (o.rng() * (i + 1)) | 0;
      const t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    if (bestSplit(shuffled, o.minSize).q >= q) asGood++;
  }
  if ((asGood + 1) / (o.permutations + 1) > o.threshold) return;
  out.add(from + tau);
  splitRecursive(values, from, from + tau, o, out);
  splitRecursive(values, from + tau, to, o, out);
}

/** Split maximising the energy statistic Q(τ) = τ(n-τ)/n · Ê(τ), α = 1, in O(n²). */
export function bestSplit(x: readonly number[], minSize: number): { tau: number; q: number } {
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
  return { tau: best, q: bestQ };
}

function meanOf(x: readonly number[]): number {
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}
