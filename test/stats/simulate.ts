// Simulated A/B cells for the REGRESSION.md targets: lognormal iteration times, session
// medians varying with CV 3 %, adaptive sessions from 6 to 20 per side.
import type { Verdict } from '@pocketbench/contracts';
import { adaptiveNextStep, adjustRunVerdicts, createRng, type Comparison, type Rng } from '@pocketbench/stats';

export interface SimulationOptions {
  /** True head / baseline ratio. */
  slowdown: number;
  /** Between-session variation of the session median. @defaultValue 0.03 */
  sessionCv?: number;
  /** Lognormal sigma of iterations within a session. @defaultValue 0.05 */
  iterationSigma?: number;
  /** @defaultValue 50 */
  iterations?: number;
  tolerance?: number;
  resamples?: number;
}

export interface CellOutcome {
  verdict: Verdict;
  pValue: number;
  sessionsPerSide: number;
  comparison: Comparison;
}

function gaussian(rng: Rng): number {
  const u = rng() || 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function session(rng: Rng, medianUs: number, o: SimulationOptions): Float64Array {
  const n = o.iterations ?? 50;
  const sessionMedian = medianUs * Math.exp((o.sessionCv ?? 0.03) * gaussian(rng));
  const sigma = o.iterationSigma ?? 0.05;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sessionMedian * Math.exp(sigma * gaussian(rng));
  return out;
}

/** One adaptive paired cell, the way the worker runs it: 6 + 6, then more while inconclusive, up to 20. */
export function simulateCell(trialSeed: number, o: SimulationOptions): CellOutcome {
  const rng = createRng(trialSeed);
  const head: Float64Array[] = [];
  const baseline: Float64Array[] = [];
  for (;;) {
    const step = adaptiveNextStep(head, baseline, { tolerance: o.tolerance ?? 0.05, resamples: o.resamples, seed: trialSeed });
    if (step.decided) {
      const c = step.comparison!;
      return { verdict: c.verdict, pValue: c.pValue, sessionsPerSide: head.length, comparison: c };
    }
    // Interleaved A B A B on the same device.
    for (let i = 0; i < step.addPerSide; i++) {
      head.push(session(rng, 10_000 * o.slowdown, o));
      baseline.push(session(rng, 10_000, o));
    }
  }
}

export interface Rates {
  trials: number;
  pass: number;
  fail: number;
  inconclusive: number;
  meanSessionsPerSide: number;
}

export function simulateRates(trials: number, seed: number, o: SimulationOptions): Rates {
  const counts = { pass: 0, fail: 0, inconclusive: 0 };
  let sessions = 0;
  for (let t = 0; t < trials; t++) {
    const r = simulateCell(seed * 1_000_003 + t, o);
    counts[r.verdict]++;
    sessions += r.sessionsPerSide;
  }
  return {
    trials,
    pass: counts.pass / trials,
    fail: counts.fail / trials,
    inconclusive: counts.inconclusive / trials,
    meanSessionsPerSide: sessions / trials,
  };
}

/** A run of `cells` A/A cells; true when any cell fails after Benjamini–Hochberg. */
export function simulateRunAnyFail(trialSeed: number, cells: number, o: SimulationOptions): { anyFail: boolean; sessions: number } {
  const outcomes = Array.from({ length: cells }, (_, c) => simulateCell(trialSeed * 101 + c, o));
  const adjusted = adjustRunVerdicts(outcomes);
  return { anyFail: adjusted.some((c) => c.verdict === 'fail'), sessions: outcomes.reduce((s, c) => s + c.sessionsPerSide, 0) / cells };
}
