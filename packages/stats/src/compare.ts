import type { Verdict } from '@pocketbench/contracts';
import { drawReplicate, prepareSide, resampleState } from './bootstrap.js';
import { seedNumber } from './rng.js';
import { normalCdf, studentTQuantile } from './special.js';
import { quantileSorted } from './summary.js';
import { threeWayVerdict } from './verdict.js';

export interface BootstrapOptions {
  /** Seed of the resampler: the same data and seed always give the same interval. @defaultValue 0x5eed */
  seed?: number | string;
  /** Bootstrap replicates. @defaultValue 1000 */
  resamples?: number;
  /** Two-sided confidence level of the interval. @defaultValue 0.95 */
  confidence?: number;
  /**
   * Widen the percentile interval for few sessions (Hesterberg's expanded percentile
   * bootstrap: tail level from sqrt(n/(n-1))·t(n-1) instead of z). Off by default: with
   * adaptive sessions the plain interval already meets every target in REGRESSION.md, and
   * expanding cost ~30 % more sessions in simulation (docs/statistics.md). Worth it for
   * fixed, small session counts. @defaultValue false
   */
  expand?: boolean;
}

export interface CompareOptions extends BootstrapOptions {
  /** Allowed slowdown δ as a fraction (0.05 = 5 %): fail only when the ratio is surely above 1 + δ. @defaultValue 0.05 */
  tolerance?: number;
  /** Per-session statistic compared. @defaultValue 0.5 (the session median) */
  quantile?: number;
}

export interface Comparison {
  /** median(head session medians) / median(baseline session medians); > 1 means head is slower. */
  ratio: number;
  ciLow: number;
  ciHigh: number;
  verdict: Verdict;
  /**
   * One-sided bootstrap p-value of "ratio <= 1 + δ" (small = evidence of a regression); feed
   * it to Benjamini–Hochberg. See bootstrapPValue for the far tail.
   */
  pValue: number;
  /** Sessions to add per side that would likely decide an inconclusive cell; 0 when decided, null when no feasible number would. */
  sessionsNeededEstimate: number | null;
  head: number;
  baseline: number;
  headSessions: number;
  baselineSessions: number;
  tolerance: number;
}

export const DEFAULT_TOLERANCE = 0.05;
export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_SEED = 0x5eed;

/**
 * Head against baseline: ratio of medians of session medians with a seeded hierarchical
 * bootstrap interval (sessions, then iterations within each) and the three-way verdict.
 * `head` and `baseline` are lists of sessions, each a list of iteration times.
 */
export function compareSessions(head: ArrayLike<number>[], baseline: ArrayLike<number>[], options: CompareOptions = {}): Comparison {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const confidence = options.confidence ?? 0.95;
  const q = options.quantile ?? 0.5;
  if (!(tolerance >= 0)) throw new RangeError('tolerance must be >= 0');
  if (!(resamples >= 10)) throw new RangeError('resamples must be >= 10');
  const h = prepareSide(head, q);
  const b = prepareSide(baseline, q);
  const rng = resampleState(seedNumber(options.seed));
  const limit = 1 + tolerance;
  const ratios = new Float64Array(resamples);
  let atOrBelow = 0;
  for (let i = 0; i < resamples; i++) {
    const r = drawReplicate(h, rng) / drawReplicate(b, rng);
    ratios[i] = r;
    if (r <= limit) atOrBelow++;
  }
  ratios.sort();
  const n = Math.min(h.sessions, b.sessions);
  const tail = tailLevel(confidence, n, options.expand ?? false);
  const ciLow = quantileSorted(ratios, tail);
  const ciHigh = quantileSorted(ratios, 1 - tail);
  const ratio = h.estimate / b.estimate;
  const verdict = threeWayVerdict(ciLow, ciHigh, limit);
  return {
    ratio,
    ciLow,
    ciHigh,
    verdict,
    pValue: bootstrapPValue(ratios, limit, atOrBelow),
    sessionsNeededEstimate: verdict === 'inconclusive' ? sessionsNeeded(n, ratio, ciLow, ciHigh, limit) : 0,
    head: h.estimate,
    baseline: b.estimate,
    headSessions: h.sessions,
    baselineSessions: b.sessions,
    tolerance,
  };
}

/** Below this many replicates on the null side, the p-value comes from the normal tail (see bootstrapPValue). */
const FEW_IN_TAIL = 10;

/**
 * One-sided p-value of "statistic <= limit" from sorted bootstrap replicates. The empirical
 * (count + 1) / (B + 1) cannot go below 1 / (B + 1), which would stop Benjamini–Hochberg from
 * ever confirming one clear regression in a run of more than ~25 checks; so when fewer than
 * 10 replicates fall on the null side, the tail is extrapolated with a normal fitted to the
 * replicates (on the log scale for positive statistics). Never above the empirical value.
 */
export function bootstrapPValue(sortedReplicates: Float64Array, limit: number, countAtOrBelow: number): number {
  const B = sortedReplicates.length;
  const empirical = (countAtOrBelow + 1) / (B + 1);
  if (countAtOrBelow >= FEW_IN_TAIL) return empirical;
  const positive = sortedReplicates[0] > 0 && limit > 0;
  const f = positive ? Math.log : (x: number) => x;
  let mean = 0;
  for (let i = 0; i < B; i++) mean += f(sortedReplicates[i]);
  mean /= B;
  let ss = 0;
  for (let i = 0; i < B; i++) ss += (f(sortedReplicates[i]) - mean) ** 2;
  const sd = Math.sqrt(ss / (B - 1));
  const z = (f(limit) - mean) / sd;
  const normal = sd > 0 ? normalCdf(z) : f(limit) < mean ? 0 : 1;
  return Math.min(empirical, normal);
}

const tailCache = new Map<string, number>();

/** Lower tail probability of the interval: (1 - confidence) / 2, expanded for n sessions. */
export function tailLevel(confidence: number, n: number, expand: boolean): number {
  const alpha = 1 - confidence;
  if (!expand || n < 2) return alpha / 2;
  const key = `${confidence}:${n}`;
  let tail = tailCache.get(key);
  if (tail === undefined) {
    tail = normalCdf(-Math.sqrt(n / (n - 1)) * studentTQuantile(alpha, n - 1));
    tailCache.set(key, tail);
  }
  return tail;
}

/** Interval width shrinks like 1/sqrt(n): sessions per side to add so the interval clears the limit. */
export function sessionsNeeded(n: number, estimate: number, ciLow: number, ciHigh: number, limit: number): number | null {
  const halfWidth = (ciHigh - ciLow) / 2;
  const distance = Math.abs(estimate - limit);
  if (distance < 1e-9 * Math.max(1, Math.abs(limit))) return null;
  const total = Math.ceil(n * (halfWidth / distance) ** 2);
  if (!Number.isFinite(total) || total > 10_000) return null;
  return Math.max(1, total - n);
}
