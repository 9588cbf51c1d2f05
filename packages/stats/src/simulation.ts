import type { Verdict } from '@pocketbench/contracts';
import { adaptiveCap, adaptiveNextStep, DEFAULT_MAX_SESSIONS, DEFAULT_MIN_SESSIONS, pairedSessionOrder, pairOrder } from './adaptive.js';
import { adjustRegressionFamily, decideCell, sessionPoint, type RegressionCheck, type SessionPoint } from './decision.js';
import { mannWhitneyGreaterP } from './mann-whitney.js';
import { benjaminiHochberg } from './multiple-testing.js';
import { createRng, hashString, type Rng } from './rng.js';
import { worstVerdict } from './verdict.js';

/**
 * A noise model of A/B cells on one device (`npm run simulate -- --model '<json>'`). Sessions
 * are generated in the order the product schedules them (A B B A), their iterations lognormal.
 */
export interface SimulationModel {
  /** True head / baseline ratio of the median (1 = A/A). @defaultValue 1 */
  ratio: number;
  /** Session-to-session variation of a session's median (lognormal sigma). @defaultValue 0.03 */
  sessionCv: number;
  /** Iteration-to-iteration variation inside a session (lognormal sigma). @defaultValue 0.05 */
  iterSigma: number;
  /** Timed iterations per session. @defaultValue 50 */
  iterations: number;
  /** Fraction of iterations multiplied by `tailMult` (GC pauses, interrupts). @defaultValue 0 */
  tailProb: number;
  /** @defaultValue 1 */
  tailMult: number;
  /** Fraction of sessions (both sides) multiplied by `throttleMult`. @defaultValue 0 */
  throttleProb: number;
  /** @defaultValue 1 */
  throttleMult: number;
  /** Each successive session on the device this much slower (0.005 = 0.5 %). @defaultValue 0 */
  driftPerSession: number;
  /** Head's upper half stretched so its p90 rises by this factor, median unchanged. @defaultValue 1 */
  headP90Ratio: number;
  /** The budget's max_regression_pct (and max_p90_regression_pct with checkP90). @defaultValue 5 */
  tolerancePct: number;
  /** Check the p90 ratio too. @defaultValue false */
  checkP90: boolean;
  /** Cells in the run (Benjamini–Hochberg across them); a trial's verdict is the run's. @defaultValue 1 */
  cells: number;
  /** Configured maximum sessions per side. @defaultValue 40 */
  cap: number;
  /** The pool's session noise learned from history (sets the adaptive cap); null = none known. @defaultValue null */
  poolSessionCv: number | null;
}

export const DEFAULT_SIMULATION_MODEL: SimulationModel = {
  ratio: 1,
  sessionCv: 0.03,
  iterSigma: 0.05,
  iterations: 50,
  tailProb: 0,
  tailMult: 1,
  throttleProb: 0,
  throttleMult: 1,
  driftPerSession: 0,
  headP90Ratio: 1,
  tolerancePct: 5,
  checkP90: false,
  cells: 1,
  cap: DEFAULT_MAX_SESSIONS,
  poolSessionCv: null,
};

const RANGES: Record<Exclude<keyof SimulationModel, 'checkP90' | 'poolSessionCv'>, [number, number, 'int'?]> = {
  ratio: [0.01, 100],
  sessionCv: [0, 2],
  iterSigma: [0, 2],
  iterations: [1, 100_000, 'int'],
  tailProb: [0, 1],
  tailMult: [0.01, 1000],
  throttleProb: [0, 1],
  throttleMult: [0.01, 1000],
  driftPerSession: [-0.5, 0.5],
  headP90Ratio: [0.01, 100],
  tolerancePct: [0, 1000],
  cells: [1, 10_000, 'int'],
  cap: [DEFAULT_MIN_SESSIONS, 10_000, 'int'],
};

/** A model from JSON text or an object: unknown fields and bad values are errors naming the field. */
export function parseSimulationModel(input: string | object): SimulationModel {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      throw new TypeError(`--model is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TypeError('--model must be a JSON object');
  const model: SimulationModel = { ...DEFAULT_SIMULATION_MODEL };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'checkP90') {
      if (typeof value !== 'boolean') throw new TypeError(`model.checkP90 must be true or false (got ${JSON.stringify(value)})`);
      model.checkP90 = value;
    } else if (key === 'poolSessionCv') {
      if (value !== null && !(typeof value === 'number' && value > 0 && value < 2)) throw new TypeError(`model.poolSessionCv must be null or a number in (0, 2) (got ${JSON.stringify(value)})`);
      model.poolSessionCv = value;
    } else if (key in RANGES) {
      const [lo, hi, kind] = RANGES[key as keyof typeof RANGES];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi || (kind === 'int' && !Number.isInteger(value))) {
        throw new TypeError(`model.${key} must be ${kind === 'int' ? 'an integer' : 'a number'} from ${lo} to ${hi} (got ${JSON.stringify(value)})`);
      }
      (model as unknown as Record<string, number>)[key] = value;
    } else {
      throw new TypeError(`model.${key}: unknown field (expected ${Object.keys(DEFAULT_SIMULATION_MODEL).join(', ')})`);
    }
  }
  return model;
}

export interface SimulationRates {
  trials: number;
  /** Fractions of trials (runs) whose verdict was pass / fail / inconclusive. */
  pass: number;
  fail: number;
  inconclusive: number;
  /** Sessions scheduled per side, averaged over cells and trials. */
  meanSessionsPerSide: number;
}

/** Which decision the simulation scores: the product's (worker + gate) or the yardstick's. */
export type SimulationMethod = 'product' | 'yardstick';

function gaussian(rng: Rng): number {
  const u = rng() || 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** The sessions of one cell, generated lazily pair by pair in device order so every method sees the same ones. */
class SessionStream {
  readonly head: SessionPoint[] = [];
  readonly baseline: SessionPoint[] = [];
  private readonly rng: Rng;
  private readonly stretch: number;

  constructor(
    private readonly model: SimulationModel,
    seed: number,
  ) {
    this.rng = createRng(seed);
    // p90 / median of a lognormal is exp(1.2816 sigma); stretch the upper half so it becomes headP90Ratio times that.
    const p90 = Math.exp(1.2816 * model.iterSigma);
    this.stretch = model.headP90Ratio === 1 || p90 === 1 ? 1 : Math.max(0, (model.headP90Ratio * p90 - 1) / (p90 - 1));
  }

  ensure(pairs: number): void {
    while (this.head.length < pairs) {
      const k = this.head.length;
      for (const role of pairOrder(k)) {
        const order = pairedSessionOrder(role, k);
        const point = sessionPoint(k, this.iterations(role, order), { order });
        (role === 'head' ? this.head : this.baseline).push(point);
      }
    }
  }

  private iterations(role: 'head' | 'baseline', slot: number): Float64Array {
    const m = this.model;
    const rng = this.rng;
    let level = 10_000 * (role === 'head' ? m.ratio : 1) * (1 + m.driftPerSession) ** slot * Math.exp(m.sessionCv * gaussian(rng));
    if (m.throttleProb > 0 && rng() < m.throttleProb) level *= m.throttleMult;
    const stretch = role === 'head' ? this.stretch : 1;
    const out = new Float64Array(m.iterations);
    for (let i = 0; i < m.iterations; i++) {
      let x = level * Math.exp(m.iterSigma * gaussian(rng));
      if (stretch !== 1 && x > level) x = level + (x - level) * stretch;
      if (m.tailProb > 0 && rng() < m.tailProb) x *= m.tailMult;
      out[i] = x;
    }
    return out;
  }
}

interface CellResult {
  /** The product's checks (for the gate's Benjamini–Hochberg), or the yardstick's verdict and p-value. */
  checks: RegressionCheck[];
  yardstick?: { verdict: Verdict; pValue: number };
  sessionsPerSide: number;
}

/** The product: the worker's stopping rule, then the gate's decision on the sessions it ran. */
function productCell(stream: SessionStream, model: SimulationModel): CellResult {
  const tolerance = model.tolerancePct / 100;
  // As the worker does: the run's family is its cells times the checks per cell.
  const options = { tolerance, p90Tolerance: model.checkP90 ? tolerance : null, paired: true, family: model.cells * (model.checkP90 ? 2 : 1) };
  const cap = adaptiveCap(model.poolSessionCv, tolerance, model.cap);
  let n = 0;
  for (;;) {
    const step = adaptiveNextStep(stream.head.slice(0, n), stream.baseline.slice(0, n), { ...options, cap });
    if (step.decided) break;
    n += step.addPerSide;
    stream.ensure(n);
  }
  const gate = decideCell(stream.head.slice(0, n), stream.baseline.slice(0, n), options);
  return { checks: gate.checks, sessionsPerSide: n };
}

/** Yardstick: Mann–Whitney U on session medians shifted by δ, p < 0.01, with the same schedule (6, +2 … up to the cap). */
function yardstickCell(stream: SessionStream, model: SimulationModel): CellResult {
  const limit = 1 + model.tolerancePct / 100;
  const cap = model.cap;
  for (let n = DEFAULT_MIN_SESSIONS; ; n = Math.min(cap, n + 2)) {
    stream.ensure(n);
    const h = stream.head.slice(0, n).map((s) => s.p50);
    const b = stream.baseline.slice(0, n).map((s) => s.p50 * limit);
    const pFail = mannWhitneyGreaterP(h, b);
    const pPass = mannWhitneyGreaterP(b, h);
    const verdict: Verdict = pFail < 0.01 ? 'fail' : pPass < 0.01 ? 'pass' : 'inconclusive';
    if (verdict !== 'inconclusive' || n >= cap) return { checks: [], yardstick: { verdict, pValue: pFail }, sessionsPerSide: n };
  }
}

/** One trial: a run of `model.cells` cells; its verdict is the worst cell's after Benjamini–Hochberg. */
export function simulateTrial(model: SimulationModel, seed: number, method: SimulationMethod = 'product'): { verdict: Verdict; sessionsPerSide: number } {
  const cells: CellResult[] = [];
  for (let c = 0; c < model.cells; c++) {
    const stream = new SessionStream(model, hashString(`${seed}:${c}`));
    cells.push(method === 'product' ? productCell(stream, model) : yardstickCell(stream, model));
  }
  let perCell: Verdict[];
  if (method === 'product') {
    // The gate's last step: Benjamini–Hochberg over the run's regression checks.
    const all = cells.flatMap((c, i) => c.checks.map((k) => ({ ...k, cell: i })));
    const adjusted = adjustRegressionFamily(all);
    perCell = cells.map((_, i) => worstVerdict(adjusted.filter((k) => k.cell === i).map((k) => k.verdict)));
  } else {
    const { rejected } = benjaminiHochberg(cells.map((c) => c.yardstick!.pValue), 0.01);
    perCell = cells.map((c, i) => (c.yardstick!.verdict === 'fail' && !rejected[i] ? 'inconclusive' : c.yardstick!.verdict));
  }
  return { verdict: worstVerdict(perCell), sessionsPerSide: cells.reduce((s, c) => s + c.sessionsPerSide, 0) / cells.length };
}

/** Rates over `trials` seeded trials: the same model, trials and seed always give the same line. */
export function simulate(model: SimulationModel, trials: number, seed: number, method: SimulationMethod = 'product'): SimulationRates {
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`trials must be a positive integer (got ${trials})`);
  const counts: Record<Verdict, number> = { pass: 0, fail: 0, inconclusive: 0 };
  let sessions = 0;
  for (let t = 0; t < trials; t++) {
    const r = simulateTrial(model, (seed >>> 0) * 1_000_003 + t, method);
    counts[r.verdict]++;
    sessions += r.sessionsPerSide;
  }
  return { trials, pass: counts.pass / trials, fail: counts.fail / trials, inconclusive: counts.inconclusive / trials, meanSessionsPerSide: sessions / trials };
}
