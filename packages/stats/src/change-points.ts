import { createRng, hashString, type Rng } from './rng.js';
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
  /**
   * Window results by content: a window's candidates depend only on its values and the seed,
   * so re-running over a grown series (after every run, as deployed) recomputes only the
   * windows the new sessions touch. Optional; the answer is the same without it.
   */
  cache?: Map<string, number[]>;
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
  const seed = options.seed ?? 0x5eed;
  // Permutation p-values cannot go below 1 / (permutations + 1): candidates at 10 × pValue, but no stricter than 0.01.
  const candidateP = Math.min(1, Math.max(pValue * 10, 0.01));
  const minMagnitude = options.minMagnitude ?? 0;

  const candidates = new Set<number>();
  const step = Math.max(1, Math.floor(window / 2));
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + window);
    // Each window has its own permutation stream, seeded by its content: the same window
    // always gives the same candidates wherever it sits in the series.
    const key = `${seed}:${minSize}:${candidateP}:${permutations}:${values.slice(start, end).join(',')}`;
    let local = options.cache?.get(key);
    if (!local) {
      const found = new Set<number>();
      const rng = createRng(hashString(key));
      splitRecursive(values, start, end, { minSize, threshold: candidateP, permutations, rng }, found);
      local = [...found].map((i) => i - start);
      options.cache?.set(key, local);
    }
    for (const i of local) candidates.add(start + i);
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

/** Significance the confirming sessions alone must reach against the segment before the change. */
const CONFIRM_P = 0.005;

export interface DetectOptions extends ChangePointOptions {
  /** Sessions a change needs on each side before it may open an alert (REGRESSION.md: at least 10). @defaultValue 10 */
  minSide?: number;
  /**
   * Sessions that must arrive after a change was first proposed and agree with it: the change
   * must already be found without them, and they alone must differ from the segment before it
   * (Welch p <= 0.005, same direction). Fresh data, so re-running after every session does not
   * turn the search over all splits into a steady stream of false alerts. @defaultValue 10
   */
  confirm?: number;
}

/**
 * The split search, then segments of at least `minSide` on both sides of every change: of two
 * changes closer than that (found in different windows), the weaker one goes; a change too
 * close to either end waits for more sessions.
 */
function sidedChangePoints(values: readonly number[], options: ChangePointOptions, minSide: number): number[] {
  const points = eDivisive(values, { ...options, minSize: Math.max(options.minSize ?? minSide, 2) });
  const n = values.length;
  const strength = (k: number) => {
    const from = k === 0 ? 0 : points[k - 1];
    const to = k === points.length - 1 ? n : points[k + 1];
    return welchTTest(values.slice(from, points[k]), values.slice(points[k], to));
  };
  for (let k = 1; k < points.length; ) {
    if (points[k] - points[k - 1] >= minSide) {
      k++;
      continue;
    }
    points.splice(strength(k) > strength(k - 1) ? k : k - 1, 1);
    k = Math.max(1, k - 1);
  }
  return points.filter((at) => at >= minSide && n - at >= minSide);
}

/**
 * Change points that may open alerts (REGRESSION.md, "After merge"): E-Divisive with segments
 * of at least `minSide` sessions on both sides, found already before the newest `confirm`
 * sessions arrived, and confirmed by those sessions. Returns the indices where a new segment starts.
 */
export function confirmedChangePoints(values: readonly number[], options: DetectOptions = {}): number[] {
  const minSide = Math.max(2, options.minSide ?? 10);
  const confirm = Math.max(0, options.confirm ?? 10);
  const n = values.length;
  const now = sidedChangePoints(values, options, minSide);
  if (confirm === 0 || !now.length) return now;
  const before = sidedChangePoints(values.slice(0, n - confirm), options, minSide);
  const fresh = values.slice(n - confirm);
  return now.filter((at, k) => {
    if (!before.some((b) => Math.abs(b - at) <= minSide)) return false;
    const from = k === 0 ? 0 : now[k - 1];
    // Only the last change of the series has the fresh sessions on its new level.
    if (k !== now.length - 1) return true;
    const left = values.slice(from, at);
    const right = values.slice(at, n - confirm);
    const direction = Math.sign(meanOf(right) - meanOf(left));
    return Math.sign(meanOf(fresh) - meanOf(left)) === direction && welchTTest(left, fresh) <= CONFIRM_P;
  });
}

/**
 * Which change points open a new alert: those not within `dedupe` sessions of a known alert
 * (any status), which is the same change seen again with more data.
 */
export function newAlertPoints(changes: readonly number[], known: readonly number[], dedupe = 10): number[] {
  return changes.filter((at) => !known.some((i) => Math.abs(i - at) <= dedupe));
}
