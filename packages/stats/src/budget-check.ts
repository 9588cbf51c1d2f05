import type { Verdict } from '@pocketbench/contracts';
import { drawReplicate, prepareSide, resampleState } from './bootstrap.js';
import { bootstrapPValue, DEFAULT_RESAMPLES, sessionsNeeded, tailLevel, type BootstrapOptions } from './compare.js';
import { seedNumber } from './rng.js';
import { quantileSorted } from './summary.js';
import { threeWayVerdict } from './verdict.js';

/** What a budget is checked on. */
export type BudgetSamples =
  /** Iteration times per session; the statistic is the median across sessions of each session's `quantile`. */
  | { kind: 'iterations'; sessions: ArrayLike<number>[]; quantile: number }
  /** One value per session (load time, peak RSS); the statistic is their median. */
  | { kind: 'sessions'; values: ArrayLike<number> }
  /** A value known exactly (model size): no interval. */
  | { kind: 'exact'; value: number };

export interface BudgetCheck {
  value: number;
  ciLow: number;
  ciHigh: number;
  /** The budget is an upper limit: pass when the interval is at or below it, fail when entirely above. */
  budget: number;
  verdict: Verdict;
  /** One-sided p-value of "value <= budget" (0 or 1 for exact values). */
  pValue: number;
  sessions: number;
  sessionsNeededEstimate: number | null;
}

/** Absolute budget (p50/p90 latency, load time, peak RSS, model size) with the same three-way rule as comparisons. */
export function checkBudget(samples: BudgetSamples, budget: number, options: BootstrapOptions = {}): BudgetCheck {
  if (!Number.isFinite(budget)) throw new RangeError('budget must be a finite number');
  if (samples.kind === 'exact') {
    const v = samples.value;
    const verdict: Verdict = v <= budget ? 'pass' : 'fail';
    return { value: v, ciLow: v, ciHigh: v, budget, verdict, pValue: verdict === 'fail' ? 0 : 1, sessions: 0, sessionsNeededEstimate: 0 };
  }
  const sessions = samples.kind === 'iterations' ? samples.sessions : Array.from(samples.values as ArrayLike<number>, (v) => [v]);
  const side = prepareSide(sessions, samples.kind === 'iterations' ? samples.quantile : 0.5);
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const rng = resampleState(seedNumber(options.seed));
  const draws = new Float64Array(resamples);
  let atOrBelow = 0;
  for (let i = 0; i < resamples; i++) {
    const d = drawReplicate(side, rng);
    draws[i] = d;
    if (d <= budget) atOrBelow++;
  }
  draws.sort();
  const tail = tailLevel(options.confidence ?? 0.95, side.sessions, options.expand ?? false);
  const ciLow = quantileSorted(draws, tail);
  const ciHigh = quantileSorted(draws, 1 - tail);
  const verdict = threeWayVerdict(ciLow, ciHigh, budget);
  return {
    value: side.estimate,
    ciLow,
    ciHigh,
    budget,
    verdict,
    pValue: bootstrapPValue(draws, budget, atOrBelow),
    sessions: side.sessions,
    sessionsNeededEstimate:
      verdict === 'inconclusive' ? sessionsNeeded(side.sessions, side.estimate, ciLow, ciHigh, budget) : 0,
  };
}
