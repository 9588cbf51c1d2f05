import { decideCell, type RegressionDecision, type DecisionOptions, type SessionPoint } from './decision.js';

/** Sessions per side an adaptive A/B cell may reach unless configured otherwise (REGRESSION.md). */
export const DEFAULT_MAX_SESSIONS = 40;
/** Sessions per side before the first look. */
export const DEFAULT_MIN_SESSIONS = 6;

export interface AdaptiveOptions extends Omit<DecisionOptions, 'reachablePairs'> {
  /** Sessions per side before any decision. @defaultValue 6 */
  minPerSide?: number;
  /** Never schedule beyond this many sessions per side (see `adaptiveCap`). @defaultValue 40 */
  cap?: number;
  /** Smallest batch to add per side; batches are even so A B B A stays counterbalanced. @defaultValue 2 */
  minStep?: number;
  /**
   * Sessions already run per side, counting the unstable and failed ones that `head` and
   * `baseline` leave out: the cap applies to these, so a device that keeps producing unstable
   * sessions cannot schedule forever. @defaultValue the larger of head.length and baseline.length
   */
  scheduledPerSide?: number;
}

export interface AdaptiveStep {
  /** True when no more sessions should be scheduled (decided, futile, or at the cap). */
  decided: boolean;
  /** Sessions to add on each side (head and baseline) before looking again. */
  addPerSide: number;
  /** Why it stopped or goes on, in a few words. */
  reason: 'below-minimum' | 'decided' | 'futile' | 'cap' | 'inconclusive';
  /** The decision that led to this step (absent while below minPerSide). */
  decision?: RegressionDecision;
}

/**
 * The order of pair `k` on the device: A B, then B A, … (A B B A A B B A): a linear drift on
 * the device adds as much to the head as to the baseline over every two pairs.
 */
export function pairOrder(k: number): readonly ['head', 'baseline'] | readonly ['baseline', 'head'] {
  return k % 2 === 0 ? (['head', 'baseline'] as const) : (['baseline', 'head'] as const);
}

/** Position in time on the device of a paired session (for the drift-aware slow-session screen). */
export function pairedSessionOrder(role: 'head' | 'baseline', index: number): number {
  return 2 * index + (pairOrder(index)[0] === role ? 0 : 1);
}

/**
 * The cap that follows the pool's measured session noise: enough pairs to tell a true ratio
 * half a tolerance away from the limit with 80 % power when sessions vary by `sessionCv`,
 * between the minimum and `maxCap`. Without a measurement (no history): `maxCap`.
 */
export function adaptiveCap(sessionCv: number | null | undefined, tolerance = 0.05, maxCap = DEFAULT_MAX_SESSIONS, minPerSide = DEFAULT_MIN_SESSIONS): number {
  if (sessionCv === null || sessionCv === undefined || !(sessionCv > 0)) return maxCap;
  const pairSd = Math.SQRT2 * sessionCv;
  const gap = Math.log1p(tolerance) - Math.log1p(tolerance / 2);
  // z(0.98) + z(0.80): the look's level and the power wanted.
  const pairs = Math.ceil((((2.054 + 0.842) * pairSd) / gap) ** 2);
  const even = pairs + (pairs % 2);
  return Math.max(minPerSide, Math.min(maxCap, even));
}

/**
 * Called after an A/B cell's planned sessions finish: decide now, or schedule `addPerSide` more
 * sessions on each side (interleaved A B B A) and look again. The decision is `decideCell`'s,
 * the same the gate gives on the same sessions.
 */
export function adaptiveNextStep(head: SessionPoint[], baseline: SessionPoint[], options: AdaptiveOptions = {}): AdaptiveStep {
  const minPerSide = options.minPerSide ?? DEFAULT_MIN_SESSIONS;
  const cap = options.cap ?? DEFAULT_MAX_SESSIONS;
  const minStep = options.minStep ?? 2;
  const n = Math.min(head.length, baseline.length);
  const scheduled = Math.max(options.scheduledPerSide ?? 0, head.length, baseline.length);
  const room = Math.max(0, cap - scheduled);
  if (n < minPerSide && room > 0) return { decided: false, addPerSide: Math.min(room, minPerSide - n), reason: 'below-minimum' };
  if (n === 0) return { decided: true, addPerSide: 0, reason: 'cap' };
  const decision = decideCell(head, baseline, { ...options, reachablePairs: n + room });
  const open = decision.checks.filter((c) => c.verdict === 'inconclusive');
  if (!open.length) return { decided: true, addPerSide: 0, reason: 'decided', decision };
  if (room === 0) return { decided: true, addPerSide: 0, reason: 'cap', decision };
  if (open.every((c) => c.futile)) return { decided: true, addPerSide: 0, reason: 'futile', decision };
  // Small batches: the estimate of what would decide is rough early, and an extra look is cheap
  // next to a session; towards the estimate by at most an eighth more per look when far.
  const wanted = Math.max(...open.map((c) => c.sessionsNeededEstimate ?? room));
  let add = Math.max(minStep, Math.min(wanted, Math.floor(n / 8)));
  add += add % 2;
  return { decided: false, addPerSide: Math.min(room, add), reason: 'inconclusive', decision };
}
