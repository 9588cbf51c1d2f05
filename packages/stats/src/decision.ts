import type { Verdict } from '@pocketbench/contracts';
import { normalCdf, studentTQuantile, studentTTwoSidedP } from './special.js';
import { median, quantileSorted, sortedCopy } from './summary.js';
import { benjaminiHochberg } from './multiple-testing.js';
import { threeWayVerdict, worstVerdict } from './verdict.js';

/**
 * The one decision procedure of pocketbench: the worker's stopping rule (`adaptiveNextStep`),
 * the gate's regression verdict and the simulation all call `decideCell` with the same
 * options, so a cell the worker stopped as decided is decided the same way at the gate.
 *
 * Method (docs/statistics.md):
 * - a session is summarised by its median (and p90 for tail checks); ratios are taken on the
 *   log scale, where a session's noise is multiplicative;
 * - slow sessions are screened out first: in a paired run, a session whose log median sits
 *   more than `SLOW_SESSION_K` robust standard deviations above the (drift-following) level of
 *   both sides' sessions, and whose pair's log ratio is an outlier in its direction, is a
 *   throttled or disturbed session, excluded with its pair and the reason (at most a
 *   minority per side); historical baselines screen each side against its own median;
 * - paired runs (A B B A on one device) are analysed as per-pair log ratios, whose mean has a
 *   Student t interval (valid for few pairs, drift between neighbours cancels); historical
 *   baselines fall back to Welch's unpaired interval on log session medians;
 * - every look (the worker looks again after each batch of sessions) uses the same one-sided
 *   levels, `PASS_ALPHA` for the upper bound and `FAIL_ALPHA` / family for the lower one (a
 *   Pocock-type constant boundary; the family is the run's Benjamini–Hochberg family);
 * - fail when the interval lies above log(1 + δ), pass when at or below, else inconclusive,
 *   with futility (the cap cannot decide) and an estimate of the pairs that would.
 */

/** One session as the decision procedure sees it. */
export interface SessionPoint {
  /** Pair key for paired runs (the session index shared by head and baseline). */
  index: number;
  /** Position in time on the device (drift-aware screening); @defaultValue index */
  order?: number;
  /** Session median (any unit, the same on both sides). */
  p50: number;
  /** Session p90 (tail checks). */
  p90: number;
  /** Set when the device state showed throttling: the session is excluded, with this reason. */
  excludedReason?: string | null;
}

/** One regression check of a cell: the ratio of session medians (q 0.5) or p90s (q 0.9). */
export interface RegressionCheck {
  quantile: 0.5 | 0.9;
  /** head / baseline, exp of the mean per-pair log ratio (paired) or of the difference of mean logs. */
  ratio: number;
  ciLow: number;
  ciHigh: number;
  /** One-sided level of ciLow (the `fail` bound) and of ciHigh (the `pass` bound). */
  alphaLow: number;
  alphaHigh: number;
  verdict: Verdict;
  /** One-sided p-value of "ratio <= 1 + δ" (small = evidence of a regression); for Benjamini–Hochberg. */
  pValue: number;
  tolerance: number;
  method: 'paired' | 'unpaired';
  /** Pairs (paired) or the smaller side's sessions (unpaired) that entered the interval. */
  n: number;
  headSessions: number;
  baselineSessions: number;
  /** Median of the head's / baseline's kept session statistics. */
  head: number;
  baseline: number;
  /** More sessions per side that would likely decide; 0 when decided, null when none feasible would. */
  sessionsNeededEstimate: number | null;
  /** True when inconclusive and even the cap would very likely not decide. */
  futile: boolean;
  /** A side's kept sessions still form two levels (e.g. as many throttled sessions as clean ones): inconclusive until more sessions tell. */
  mixed: boolean;
  /** Mean log ratio, its standard error and degrees of freedom (for re-deriving bounds). */
  logEstimate: number;
  se: number;
  df: number;
}

export interface ExcludedSession {
  role: 'head' | 'baseline';
  index: number;
  reason: string;
}

export interface RegressionDecision {
  /** Worst of the checks. */
  verdict: Verdict;
  checks: RegressionCheck[];
  excluded: ExcludedSession[];
}

export interface DecisionOptions {
  /** Allowed slowdown δ of the median (0.05 = 5 %), a budget's max_regression_pct / 100. @defaultValue 0.05 */
  tolerance?: number;
  /** Allowed slowdown of the p90 (max_p90_regression_pct / 100); null = no p90 check. @defaultValue null */
  p90Tolerance?: number | null;
  /** Analyse as pairs (same index on both sides) or as two independent samples. @defaultValue true */
  paired?: boolean;
  /**
   * Regression checks in the run's Benjamini–Hochberg family (cells × checks per cell, or an
   * upper bound of it): the `fail` bound is at FAIL_ALPHA / family, so a cell decided `fail`
   * stays a discovery at the gate. @defaultValue the cell's own checks (1, or 2 with p90)
   */
  family?: number;
  /** Pairs the cell may still reach (for futility): the cap minus sessions already scheduled, plus n. @defaultValue no futility */
  reachablePairs?: number;
}

/**
 * One-sided level of each bound at every look: a 95 % interval, fail when it lies above
 * 1 + δ, pass when it lies at or below (REGRESSION.md). The two bounds have the same level so
 * that a true ratio of exactly 1 + δ is as likely to pass as to fail: the gate leans neither
 * way at its own tolerance. The same level is the run's false discovery rate for
 * Benjamini–Hochberg. The worker looks again after every batch (6, 8, 10 … pairs) at this
 * constant level (a Pocock-type boundary); what the repeated looks cost at exactly 1 + δ, and
 * the error rates they give on every noise model, are measured by the simulation
 * (docs/statistics.md).
 */
export const PASS_ALPHA = 0.025;
/** One-sided level of the `fail` bound (divided by the run's family) and the run's FDR: see PASS_ALPHA. */
export const FAIL_ALPHA = 0.025;
/** Screening threshold for slow sessions, in robust standard deviations of the session level. */
export const SLOW_SESSION_K = 4;
/** A slow session is set aside only when its pair's log ratio is this many robust SDs of the clean pairs' beyond their median. */
const PAIR_CONFIRM_K = 3;
/** Below this robust spread (0.4 %) the screen calls nothing slow: quieter than measurement. */
const SCALE_FLOOR = 0.004;
/** Futility: stop when the chance that the reachable pairs decide is below this. */
const FUTILITY_POWER = 0.01;
/** Futility is judged only once the spread is estimated from this many pairs. */
const FUTILITY_MIN_PAIRS = 16;

const tCache = new Map<string, number>();
/** Upper one-sided t quantile: P(T_df > t) = alpha. */
export function tUpper(alpha: number, df: number): number {
  const key = `${alpha}:${df}`;
  let t = tCache.get(key);
  if (t === undefined) {
    t = studentTQuantile(2 * alpha, df);
    tCache.set(key, t);
  }
  return t;
}

/** A session's point from its iterations (index = session index, order = position on the device). */
export function sessionPoint(index: number, iterationsUs: ArrayLike<number>, extra: { order?: number; excludedReason?: string | null } = {}): SessionPoint {
  const sorted = sortedCopy(iterationsUs);
  return { index, p50: quantileSorted(sorted, 0.5), p90: quantileSorted(sorted, 0.9), ...extra };
}

/** Residuals of log medians from a side's level: a Theil–Sen line over time (paired) or the median, fitted on `fit` only. */
function residualsOf(side: SessionPoint[], fit: boolean[], paired: boolean): number[] {
  const y = side.map((s) => Math.log(s.p50));
  const t = side.map((s) => s.order ?? s.index);
  const idx = side.map((_, i) => i).filter((i) => fit[i]);
  if (idx.length < 2) return y.map(() => 0);
  let slope = 0;
  if (paired && idx.length >= 4) {
    const slopes: number[] = [];
    for (let a = 0; a < idx.length; a++) {
      for (let b = a + 1; b < idx.length; b++) {
        const i = idx[a];
        const j = idx[b];
        if (t[j] !== t[i]) slopes.push((y[j] - y[i]) / (t[j] - t[i]));
      }
    }
    slope = slopes.length ? median(slopes) : 0;
  }
  const level = median(idx.map((i) => y[i] - slope * t[i]));
  return y.map((v, i) => v - level - slope * t[i]);
}

/**
 * Slow-session screen: residuals of log session medians from each side's level (a Theil–Sen
 * line over time order for paired runs, so drift on the device is not taken for slowness; the
 * median for historical baselines), scaled by the MAD of both sides' residuals. Refitted
 * without the sessions set aside until nothing changes, so a few throttled sessions cannot
 * hide each other by inflating the scale. Slow only: throttling and interference make a
 * session slower, never faster; and only a minority of a side, a majority being its level.
 */
function screenSlow(head: SessionPoint[], baseline: SessionPoint[], paired: boolean): { slow: Map<SessionPoint, string>; suspects: Map<SessionPoint, number> } {
  if (paired) return screenSlowPaired(head, baseline);
  const sides = [head, baseline];
  const out = new Map<SessionPoint, string>();
  const suspects = new Map<SessionPoint, number>();
  if (head.length + baseline.length < 8) return { slow: out, suspects };
  let keep = sides.map((side) => side.map(() => true));
  for (let round = 0; round < 5; round++) {
    const residuals = sides.map((side, k) => residualsOf(side, keep[k], paired));
    const kept = residuals.flatMap((r, k) => r.filter((_, i) => keep[k][i]));
    const scale = Math.max(SCALE_FLOOR, 1.4826 * median(kept.map((r) => Math.abs(r))));
    const next = sides.map((side, k) => {
      const most = Math.floor((side.length - 1) / 2);
      const slow = new Set(
        side
          .map((_, i) => ({ i, z: residuals[k][i] / scale }))
          .filter((x) => x.z > SLOW_SESSION_K)
          .sort((a, b) => b.z - a.z)
          .slice(0, most)
          .map((x) => x.i),
      );
      return side.map((_, i) => !slow.has(i));
    });
    const changed = next.some((side, k) => side.some((v, i) => v !== keep[k][i]));
    keep = next;
    if (!changed || round === 4) {
      sides.forEach((side, k) =>
        side.forEach((s, i) => {
          // A kept session still far from its side's level: the side is a mixture (as many
          // throttled sessions as clean ones, or a faster cluster), its level unknown yet.
          if (keep[k][i]) {
            if (Math.abs(residuals[k][i] / scale) > SLOW_SESSION_K) suspects.set(s, Math.abs(residuals[k][i]));
            return;
          }
          const z = residuals[k][i] / scale;
          out.set(s, `slow session: ${(Math.expm1(residuals[k][i]) * 100).toFixed(0)} % above its side's level (${z.toFixed(1)} robust SDs; throttling or interference suspected)`);
        }),
      );
      break;
    }
  }
  return { slow: out, suspects };
}

/** Residuals from one Theil–Sen line over time fitted on the kept points (both sides together, the head's shift removed). */
function jointResiduals(t: number[], z: number[], keep: boolean[]): number[] {
  const idx = t.map((_, i) => i).filter((i) => keep[i]);
  const slopes: number[] = [];
  for (let a = 0; a < idx.length; a++) {
    for (let b = a + 1; b < idx.length; b++) {
      const i = idx[a];
      const j = idx[b];
      if (t[j] !== t[i]) slopes.push((z[j] - z[i]) / (t[j] - t[i]));
    }
  }
  const slope = slopes.length ? median(slopes) : 0;
  const level = median(idx.map((i) => z[i] - slope * t[i]));
  return z.map((v, i) => v - level - slope * t[i]);
}

/**
 * The paired slow-session screen (from 8 pairs on: fewer cannot tell a slow session from the
 * noise's own spread). Head and baseline run interleaved on one device, so apart from the
 * head's shift (the difference of the sides' medians) they share one level that moves in time
 * (drift): every session is compared with one Theil–Sen line fitted on both sides' sessions
 * together, residuals scaled by their MAD. Found from both sides, the level cannot be pulled
 * towards an unlucky side's many throttled sessions the way a per-side fit is. A session more
 * than `SLOW_SESSION_K` robust SDs above it is set aside when its pair confirms it (the pair's
 * log ratio an outlier among the clean pairs' in its direction); a pair slowed on both sides
 * (a busy stretch) is a fair comparison and stays. Slow only, refitted without the sessions
 * set aside until nothing changes, at most a minority of each side.
 */
function screenSlowPaired(head: SessionPoint[], baseline: SessionPoint[]): { slow: Map<SessionPoint, string>; suspects: Map<SessionPoint, number> } {
  const out = new Map<SessionPoint, string>();
  const suspects = new Map<SessionPoint, number>();
  if (head.length + baseline.length < 16) return { slow: out, suspects };
  const all = [
    ...head.map((s) => ({ s, head: true, y: Math.log(s.p50), t: s.order ?? 2 * s.index })),
    ...baseline.map((s) => ({ s, head: false, y: Math.log(s.p50), t: s.order ?? 2 * s.index + 1 })),
  ].sort((a, b) => a.t - b.t);
  let keep = all.map(() => true);
  let residuals: number[] = [];
  let scale = SCALE_FLOOR;
  for (let round = 0; round < 5; round++) {
    // The head's shift: the difference of the sides' medians (each robust to a minority of slow
    // sessions on its side; drift adds alike to both sides in A B B A order).
    const shift = median(all.filter((a, i) => keep[i] && a.head).map((a) => a.y)) - median(all.filter((a, i) => keep[i] && !a.head).map((a) => a.y));
    const z = all.map((a) => a.y - (a.head ? shift : 0));
    residuals = jointResiduals(all.map((a) => a.t), z, keep);
    scale = Math.max(SCALE_FLOOR, 1.4826 * median(residuals.filter((_, i) => keep[i]).map((r) => Math.abs(r))));
    const next = all.map(() => true);
    for (const side of [true, false]) {
      const members = all.map((a, i) => ({ a, i })).filter((x) => x.a.head === side);
      const most = Math.floor((members.length - 1) / 2);
      members
        .filter((x) => residuals[x.i] / scale > SLOW_SESSION_K)
        .sort((p, q) => residuals[q.i] - residuals[p.i])
        .slice(0, most)
        .forEach((x) => (next[x.i] = false));
    }
    const changed = next.some((v, i) => v !== keep[i]);
    keep = next;
    if (!changed) break;
  }
  // Confirmed by its pair: a slow session makes its pair's log ratio an outlier among the
  // pairs without a slow session, in its direction (a head slower than its partner, or a
  // baseline). Noise alone rarely does both, and a pair slowed on both sides (a busy stretch
  // on the device) is still a fair comparison: it stays.
  const idxOf = new Map(all.map((a, i) => [a.s, i]));
  const partnerOf = (i: number): number | undefined => {
    const other = (all[i].head ? baseline : head).find((s) => s.index === all[i].s.index);
    return other ? idxOf.get(other) : undefined;
  };
  const pairD = (hi: number, bi: number) => all[hi].y - all[bi].y;
  const clean: number[] = [];
  all.forEach((a, i) => {
    const j = partnerOf(i);
    if (a.head && j !== undefined && keep[i] && keep[j]) clean.push(pairD(i, j));
  });
  const returned = new Set<number>();
  const far: { s: SessionPoint; key: string; r: number }[] = [];
  if (clean.length >= 3) {
    const centre = median(clean);
    const dScale = Math.max(Math.SQRT2 * scale, 1.4826 * median(clean.map((v) => Math.abs(v - centre))));
    all.forEach((a, i) => {
      if (keep[i]) return;
      const j = partnerOf(i);
      if (j === undefined) return;
      const d = a.head ? pairD(i, j) : pairD(j, i);
      const beyond = ((a.head ? d - centre : centre - d) / dScale) > PAIR_CONFIRM_K;
      if (!beyond) returned.add(i);
    });
  }
  all.forEach((a, i) => {
    const z = residuals[i] / scale;
    if (returned.has(i)) return;
    if (keep[i]) {
      if (Math.abs(z) > SLOW_SESSION_K) far.push({ s: a.s, key: `${a.head}:${Math.sign(z)}`, r: Math.abs(residuals[i]) });
      return;
    }
    out.set(a.s, `slow session: ${(Math.expm1(residuals[i]) * 100).toFixed(0)} % above the level of the sessions around it (${z.toFixed(1)} robust SDs; throttling or interference suspected)`);
  });
  // Two levels on a side: at least two kept sessions far on the same side of the level in the
  // same direction (a single odd session is noise; a second level needs more than one).
  for (const key of new Set(far.map((f) => f.key))) {
    const group = far.filter((f) => f.key === key);
    if (group.length >= 2) for (const f of group) suspects.set(f.s, f.r);
  }
  return { slow: out, suspects };
}

function meanVar(x: number[]): { mean: number; variance: number } {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let ss = 0;
  for (const v of x) ss += (v - m) ** 2;
  return { mean: m, variance: x.length > 1 ? ss / (x.length - 1) : NaN };
}

/**
 * Head against baseline for one cell: the median check and, when `p90Tolerance` is set, the
 * p90 check, after the slow-session screen. Deterministic: the same sessions always give the
 * same verdicts and intervals (no resampling).
 */
export function decideCell(head: SessionPoint[], baseline: SessionPoint[], options: DecisionOptions = {}): RegressionDecision {
  const tolerance = options.tolerance ?? 0.05;
  if (!(tolerance >= 0)) throw new RangeError('tolerance must be >= 0');
  const paired = options.paired ?? true;
  const excluded: ExcludedSession[] = [];
  const given = (side: SessionPoint[], role: 'head' | 'baseline') =>
    side.filter((s) => {
      if (s.excludedReason) excluded.push({ role, index: s.index, reason: s.excludedReason });
      return !s.excludedReason && s.p50 > 0 && s.p90 > 0;
    });
  const h0 = given(head, 'head');
  const b0 = given(baseline, 'baseline');
  const { slow, suspects } = screenSlow(h0, b0, paired);
  const keep = (side: SessionPoint[], role: 'head' | 'baseline') =>
    side.filter((s) => {
      const reason = slow.get(s);
      if (reason) excluded.push({ role, index: s.index, reason });
      return !reason;
    });
  const h = keep(h0, 'head');
  const b = keep(b0, 'baseline');
  const p90 = options.p90Tolerance !== undefined && options.p90Tolerance !== null;
  const family = Math.max(options.family ?? (p90 ? 2 : 1), 1);
  const common = { paired, mixed: false, alphaPass: PASS_ALPHA, alphaFail: FAIL_ALPHA / family, reachable: options.reachablePairs };
  const run = (hs: SessionPoint[], bs: SessionPoint[], mixed: boolean) => {
    const c: RegressionCheck[] = [check(hs, bs, { ...common, mixed, quantile: 0.5, tolerance })];
    if (p90) c.push(check(hs, bs, { ...common, mixed, quantile: 0.9, tolerance: options.p90Tolerance! }));
    return c;
  };
  let checks = run(h, b, false);
  if (suspects.size) {
    // Sessions still far from their side's level after the screen (as many throttled as clean,
    // or a faster cluster): the side's level is uncertain by about that far. A verdict stands
    // only when the estimate is farther than that from the limit.
    const ambiguity = Math.max(...suspects.values());
    checks = checks.map((c) =>
      c.verdict === 'inconclusive' || Math.abs(c.logEstimate - Math.log1p(c.tolerance)) > ambiguity
        ? c
        : check(h, b, { ...common, mixed: true, quantile: c.quantile, tolerance: c.tolerance }),
    );
  }
  // The fast sessions must agree. Throttling and interference only slow a session down, so a
  // side's faster sessions show its level even when most of its sessions were slowed (more
  // than the screen may set aside): a verdict stands only when the ratio of the sides' lower
  // quartiles is on the same side of the limit as the estimate. A true change moves every
  // quantile; a side that was merely throttled more often does not move its lower quartile.
  checks = checks.map((c) => {
    if (c.verdict === 'inconclusive' || c.mixed) return c;
    const low = lowerQuartileLogRatio(h, b, c.quantile);
    const limit = Math.log1p(c.tolerance);
    const agrees = c.verdict === 'fail' ? low > limit : low <= limit;
    return agrees ? c : check(h, b, { ...common, mixed: true, quantile: c.quantile, tolerance: c.tolerance });
  });
  return { verdict: worstVerdict(checks.map((c) => c.verdict)), checks, excluded };
}

const LOW_QUANTILE = 0.1;
/** log of (head's lower quartile / baseline's lower quartile) of the sessions' medians or p90s. */
function lowerQuartileLogRatio(head: SessionPoint[], baseline: SessionPoint[], quantile: 0.5 | 0.9): number {
  const q = (side: SessionPoint[]) => quantileSorted(sortedCopy(side.map((s) => Math.log(quantile === 0.5 ? s.p50 : s.p90))), LOW_QUANTILE);
  return head.length && baseline.length ? q(head) - q(baseline) : NaN;
}

interface CheckParams {
  quantile: 0.5 | 0.9;
  tolerance: number;
  paired: boolean;
  mixed: boolean;
  alphaPass: number;
  alphaFail: number;
  reachable: number | undefined;
}

function check(head: SessionPoint[], baseline: SessionPoint[], p: CheckParams): RegressionCheck {
  const stat = (s: SessionPoint) => Math.log(p.quantile === 0.5 ? s.p50 : s.p90);
  const limit = Math.log1p(p.tolerance);
  let estimate: number;
  let se: number;
  let df: number;
  let n: number;
  let sd: number;
  if (p.paired) {
    const byIndex = new Map(baseline.map((s) => [s.index, s]));
    const d: number[] = [];
    for (const s of head) {
      const partner = byIndex.get(s.index);
      if (partner) d.push(stat(s) - stat(partner));
    }
    n = d.length;
    const mv = meanVar(d);
    estimate = mv.mean;
    sd = Math.sqrt(mv.variance);
    se = sd / Math.sqrt(n);
    df = n - 1;
  } else {
    const hs = head.map(stat);
    const bs = baseline.map(stat);
    n = Math.min(hs.length, bs.length);
    const a = meanVar(hs);
    const c = meanVar(bs);
    estimate = a.mean - c.mean;
    const va = a.variance / hs.length;
    const vb = c.variance / bs.length;
    se = Math.sqrt(va + vb);
    df = (va + vb) ** 2 / (va ** 2 / (hs.length - 1) + vb ** 2 / (bs.length - 1));
    // Spread of a difference of two sessions, the analogue of the paired sd.
    sd = se * Math.sqrt(n);
  }
  const base = {
    quantile: p.quantile,
    alphaLow: p.alphaFail,
    alphaHigh: p.alphaPass,
    tolerance: p.tolerance,
    method: p.paired ? ('paired' as const) : ('unpaired' as const),
    n,
    headSessions: head.length,
    baselineSessions: baseline.length,
    head: head.length ? Math.exp(median(head.map(stat))) : NaN,
    baseline: baseline.length ? Math.exp(median(baseline.map(stat))) : NaN,
    logEstimate: estimate,
    se,
    df,
  };
  if (n < 2 || !Number.isFinite(se) || !(df >= 1)) {
    return { ...base, ratio: Number.isFinite(estimate) ? Math.exp(estimate) : NaN, ciLow: NaN, ciHigh: NaN, verdict: 'inconclusive', pValue: 1, sessionsNeededEstimate: null, futile: false, mixed: p.mixed };
  }
  const cLow = tUpper(p.alphaFail, df);
  const cHigh = tUpper(p.alphaPass, df);
  const lo = estimate - cLow * se;
  const hi = estimate + cHigh * se;
  let verdict: Verdict = se === 0 ? (estimate > limit ? 'fail' : 'pass') : threeWayVerdict(lo, hi, limit);
  // A side that is a mixture of levels has no level to compare yet: more sessions, not a verdict.
  if (p.mixed) verdict = 'inconclusive';
  const tStat = se === 0 ? (estimate > limit ? Infinity : -Infinity) : (estimate - limit) / se;
  const pValue = p.mixed ? 1 : tStat > 0 ? studentTTwoSidedP(tStat, df) / 2 : 1 - studentTTwoSidedP(tStat, df) / 2;
  let needed: number | null = 0;
  let futile = false;
  if (verdict === 'inconclusive') {
    const c = estimate > limit ? cLow : cHigh;
    const distance = Math.abs(estimate - limit);
    const total = distance > 1e-9 ? Math.ceil(((c * sd) / distance) ** 2) : Infinity;
    needed = Number.isFinite(total) && total <= 10_000 ? Math.max(p.mixed ? 2 : 1, total - n) : null;
    if (p.reachable !== undefined && n >= FUTILITY_MIN_PAIRS && !p.mixed) {
      futile = p.reachable <= n || decidePower(estimate - limit, sd, n, p.reachable, cLow, cHigh) < FUTILITY_POWER;
    }
  }
  return { ...base, ratio: Math.exp(estimate), ciLow: Math.exp(lo), ciHigh: Math.exp(hi), verdict, pValue, sessionsNeededEstimate: needed, futile, mixed: p.mixed };
}

/**
 * Conditional power: the chance that, if the true difference is today's estimate, the interval
 * at `total` pairs clears the limit on either side.
 */
function decidePower(gap: number, sd: number, n: number, total: number, cLow: number, cHigh: number): number {
  if (total <= n) return 0;
  const spread = (sd * Math.sqrt(total - n)) / total;
  const root = Math.sqrt(total);
  return normalCdf((gap - (cLow * sd) / root) / spread) + normalCdf((-gap - (cHigh * sd) / root) / spread);
}

/**
 * Benjamini–Hochberg over a run's regression checks at FDR q = FAIL_ALPHA, the gate's last
 * step: a check whose p-value is a discovery fails, its lower bound recomputed at level
 * q·R/m (R discoveries of m checks: the false-coverage-rate adjusted interval of Benjamini and
 * Yekutieli), so the shown interval lies above the limit too. A check `decideCell` already
 * failed at FAIL_ALPHA / m is always a discovery: the worker's stop and the gate agree.
 */
export function adjustRegressionFamily<T extends RegressionCheck>(checks: readonly T[], q = FAIL_ALPHA): (T & { adjustedPValue: number })[] {
  const { rejected, adjusted } = benjaminiHochberg(checks.map((c) => c.pValue), q);
  const m = checks.length;
  const discoveries = rejected.filter(Boolean).length;
  return checks.map((c, i) => {
    if (!rejected[i] || c.mixed || !(c.se > 0)) return { ...c, adjustedPValue: adjusted[i] };
    const alphaLow = (q * discoveries) / m;
    const lo = c.logEstimate - tUpper(alphaLow, c.df) * c.se;
    return { ...c, verdict: 'fail', alphaLow, ciLow: Math.exp(lo), sessionsNeededEstimate: 0, futile: false, adjustedPValue: adjusted[i] };
  });
}
