import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseSimulationModel, simulate, simulateTrial, type SimulationModel, type SimulationRates } from '@pocketbench/stats';

// The targets of REGRESSION.md and the statistics issue, measured with the product's own
// scheduling (adaptiveNextStep) and gate decision (decideCell + Benjamini–Hochberg) on
// simulated sessions, against the yardstick (Mann–Whitney U on session medians shifted by δ,
// p < 0.01, same sessions, same schedule). Rates are printed so a reader sees the margin.
// POCKETBENCH_SIM_TRIALS raises the trial count (docs/statistics.md has a 20,000-trial run).
const TRIALS = Number(process.env.POCKETBENCH_SIM_TRIALS ?? 1000);
const RUN_TRIALS = Math.round(TRIALS / 5);
const OFF_TRIALS = Math.round(TRIALS / 2);
/** The product is worse than the yardstick on a model when its own errors beat the yardstick's this clearly (one-sided sign test). */
const WORSE_P = 0.01;

function pct(x: number): string {
  return `${(x * 100).toFixed(2)} %`;
}
function line(r: SimulationRates): string {
  return `pass ${pct(r.pass)}, fail ${pct(r.fail)}, inconclusive ${pct(r.inconclusive)}, ${r.meanSessionsPerSide.toFixed(2)} sessions/side`;
}

interface Paired {
  product: SimulationRates;
  yardstick: SimulationRates;
  /** Trials where only the product erred, and where only the yardstick did. */
  productOnly: number;
  yardstickOnly: number;
  /** Mean and standard error of (product − yardstick) sessions per side, trial by trial. */
  sessionsDiff: number;
  sessionsDiffSe: number;
}

/**
 * Both procedures on the same simulated sessions, trial by trial (common random numbers: a
 * trial's sessions are generated once, pair by pair, and each procedure reads as many as it
 * schedules), the same seeds `simulate` uses. The comparison is paired: what differs between
 * the two on a trial is the procedure, not the noise.
 */
function paired(model: SimulationModel, trials: number, seed: number, error: 'fail' | 'miss' | 'none'): Paired {
  const counts = { product: { pass: 0, fail: 0, inconclusive: 0 }, yardstick: { pass: 0, fail: 0, inconclusive: 0 } };
  let productOnly = 0;
  let yardstickOnly = 0;
  const diffs: number[] = [];
  let ps = 0;
  let ys = 0;
  const wrong = (v: string) => (error === 'fail' ? v === 'fail' : error === 'miss' ? v !== 'fail' : false);
  for (let t = 0; t < trials; t++) {
    const trialSeed = (seed >>> 0) * 1_000_003 + t;
    const p = simulateTrial(model, trialSeed, 'product');
    const y = simulateTrial(model, trialSeed, 'yardstick');
    counts.product[p.verdict]++;
    counts.yardstick[y.verdict]++;
    if (wrong(p.verdict) && !wrong(y.verdict)) productOnly++;
    if (wrong(y.verdict) && !wrong(p.verdict)) yardstickOnly++;
    diffs.push(p.sessionsPerSide - y.sessionsPerSide);
    ps += p.sessionsPerSide;
    ys += y.sessionsPerSide;
  }
  const rates = (c: Record<string, number>, s: number): SimulationRates => ({ trials, pass: c.pass / trials, fail: c.fail / trials, inconclusive: c.inconclusive / trials, meanSessionsPerSide: s / trials });
  const mean = diffs.reduce((x, y) => x + y, 0) / trials;
  const sd = Math.sqrt(diffs.reduce((x, d) => x + (d - mean) ** 2, 0) / Math.max(1, trials - 1));
  return { product: rates(counts.product, ps), yardstick: rates(counts.yardstick, ys), productOnly, yardstickOnly, sessionsDiff: mean, sessionsDiffSe: sd / Math.sqrt(trials) };
}

/** One-sided exact sign test: P(X >= k) for X ~ Binomial(n, 1/2). */
function signTestP(k: number, n: number): number {
  let p = 0;
  let c = 1;
  for (let i = 0; i <= n; i++) {
    if (i >= k) p += c;
    c = (c * (n - i)) / (i + 1);
  }
  return p / 2 ** n;
}

interface Case {
  name: string;
  model: object;
  trials?: number;
  check: (r: SimulationRates) => void;
  /** The error to compare with the yardstick: wrongly failing (no regression) or missing one. */
  error: 'fail' | 'miss' | 'none';
}

const cases: Case[] = [
  { name: 'nominal A/A', model: {}, error: 'fail', check: (r) => { assert.ok(r.fail <= 0.005, 'fail'); assert.ok(r.pass >= 0.98, 'pass'); assert.ok(r.meanSessionsPerSide <= 8, 'sessions'); } },
  { name: 'nominal +10 %', model: { ratio: 1.1 }, error: 'miss', check: (r) => assert.ok(r.fail >= 0.98) },
  { name: 'nominal +2 %', model: { ratio: 1.02 }, error: 'fail', check: (r) => assert.ok(r.fail <= 0.02) },
  { name: 'drift 0.5 %/session A/A', model: { driftPerSession: 0.005 }, error: 'fail', check: (r) => { assert.ok(r.pass >= 0.95); assert.ok(r.fail <= 0.01); } },
  { name: 'drift 0.5 %/session +10 %', model: { driftPerSession: 0.005, ratio: 1.1 }, error: 'miss', check: (r) => assert.ok(r.fail >= 0.95) },
  { name: 'heavy tails A/A', model: { tailProb: 0.02, tailMult: 5 }, error: 'fail', check: (r) => { assert.ok(r.fail <= 0.005); assert.ok(r.pass >= 0.98); assert.ok(r.meanSessionsPerSide <= 8); } },
  { name: 'heavy tails +10 %', model: { tailProb: 0.02, tailMult: 5, ratio: 1.1 }, error: 'miss', check: (r) => assert.ok(r.fail >= 0.98) },
  { name: 'heavy tails +2 %', model: { tailProb: 0.02, tailMult: 5, ratio: 1.02 }, error: 'fail', check: (r) => assert.ok(r.fail <= 0.02) },
  { name: 'throttling A/A', model: { throttleProb: 0.25, throttleMult: 1.3 }, error: 'fail', check: (r) => { assert.ok(r.fail <= 0.01); assert.ok(r.pass >= 0.75); } },
  { name: 'throttling +10 %', model: { throttleProb: 0.25, throttleMult: 1.3, ratio: 1.1 }, error: 'miss', check: (r) => assert.ok(r.fail >= 0.75) },
  { name: 'noisy phone A/A', model: { sessionCv: 0.08 }, error: 'fail', check: (r) => assert.ok(r.fail <= 0.01) },
  { name: 'noisy phone +10 %', model: { sessionCv: 0.08, ratio: 1.1 }, error: 'miss', check: (r) => assert.ok(r.fail >= 0.7) },
  { name: 'noisy phone +15 %', model: { sessionCv: 0.08, ratio: 1.15 }, error: 'miss', check: (r) => assert.ok(r.fail >= 0.95) },
  { name: 'tail-only (p90 +10 %, p90 checked)', model: { headP90Ratio: 1.1, checkP90: true }, error: 'none', check: (r) => assert.ok(r.fail >= 0.8) },
  { name: '20-cell A/A run (any cell fails)', model: { cells: 20 }, trials: RUN_TRIALS, error: 'fail', check: (r) => assert.ok(r.fail <= 0.05) },
  // Models the targets do not name (other noise, other throttling, faster drift, other tails):
  // the targets' spirit — A/A rarely fails, a clear regression is caught — must hold there too.
  { name: 'off-grid: session CV 5 % A/A', model: { sessionCv: 0.05 }, trials: OFF_TRIALS, error: 'fail', check: (r) => { assert.ok(r.fail <= 0.01); assert.ok(r.pass >= 0.95); } },
  { name: 'off-grid: session CV 12 % +15 %', model: { sessionCv: 0.12, ratio: 1.15 }, trials: OFF_TRIALS, error: 'miss', check: (r) => { assert.ok(r.fail >= 0.8); assert.ok(r.pass <= 0.01); } },
  { name: 'off-grid: throttling 35 % × 1.25 A/A', model: { throttleProb: 0.35, throttleMult: 1.25 }, trials: OFF_TRIALS, error: 'fail', check: (r) => assert.ok(r.fail <= 0.01) },
  { name: 'off-grid: drift 1 %/session +10 %', model: { driftPerSession: 0.01, ratio: 1.1 }, trials: OFF_TRIALS, error: 'miss', check: (r) => assert.ok(r.fail >= 0.95) },
  { name: 'off-grid: tails 5 % × 3 A/A', model: { tailProb: 0.05, tailMult: 3 }, trials: OFF_TRIALS, error: 'fail', check: (r) => { assert.ok(r.fail <= 0.005); assert.ok(r.pass >= 0.98); } },
];

describe('stats/simulation (REGRESSION.md targets, the gate\'s verdicts)', function () {
  this.timeout(300_000);

  for (const c of cases) {
    it(`${c.name}: ${c.error === 'none' ? 'meets its target' : 'meets its target, no worse than the yardstick on the same sessions'}`, () => {
      const model = parseSimulationModel(c.model);
      const trials = c.trials ?? TRIALS;
      const r = paired(model, trials, 12, c.error);
      const errs = `${c.error === 'fail' ? 'wrong fails' : 'missed regressions'} only the product's: ${r.productOnly}, only the yardstick's: ${r.yardstickOnly}`;
      console.log(`      ${c.name}: ${line(r.product)}  |  yardstick: ${line(r.yardstick)}${c.error === 'none' ? '' : `  |  ${errs}`}`);
      c.check(r.product);
      if (c.error === 'none') return;
      // Errors, paired: among the trials where exactly one procedure errs, the product must not
      // be the one significantly more often than a coin would be.
      const p = signTestP(r.productOnly, r.productOnly + r.yardstickOnly);
      assert.ok(p >= WORSE_P, `${errs} (sign test p = ${p.toPrecision(2)})`);
      // Sessions, paired: no more per side on average than the yardstick.
      assert.ok(r.sessionsDiff <= 0, `sessions: ${r.sessionsDiff.toFixed(2)} ± ${r.sessionsDiffSe.toFixed(2)} per side more than the yardstick`);
    });
  }

  it('at a true ratio of exactly 1 + δ the gate leans neither way: pass and fail about as often (printed)', () => {
    const r = simulate(parseSimulationModel({ ratio: 1.05 }), TRIALS, 13);
    console.log(`      boundary (true +5 %): ${line(r)}`);
    // Symmetric bounds: the difference of the two rates within 3 standard errors of zero.
    const se = Math.sqrt((r.pass + r.fail - (r.pass - r.fail) ** 2) / r.trials);
    assert.ok(Math.abs(r.pass - r.fail) <= 3 * se, `pass ${pct(r.pass)} vs fail ${pct(r.fail)}`);
    assert.ok(r.fail <= 0.15, 'repeated looks cost a bounded wrong-fail rate at the limit');
  });

  it('same data twice: identical verdicts and sessions', () => {
    for (const model of [{}, { ratio: 1.05 }, { throttleProb: 0.25, throttleMult: 1.3 }]) {
      const m = parseSimulationModel(model);
      assert.deepEqual(simulate(m, 50, 99), simulate(m, 50, 99));
      assert.deepEqual(simulateTrial(m, 5), simulateTrial(m, 5));
    }
  });

  it('npm run simulate prints exactly one JSON line with the stable fields', () => {
    const out = execFileSync('npm', ['run', '--silent', 'simulate', '--', '--model', '{"ratio":1.1,"sessionCv":0.03}', '--trials', '50', '--seed', '3'], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 1);
    const r = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(r), ['trials', 'pass', 'fail', 'inconclusive', 'meanSessionsPerSide']);
    assert.equal(r.trials, 50);
    assert.ok(r.fail > 0.9);
    assert.deepEqual(r, simulate(parseSimulationModel({ ratio: 1.1, sessionCv: 0.03 }), 50, 3));
  });

  it('rejects a bad model naming the field', () => {
    assert.throws(() => parseSimulationModel('{"ratio":"fast"}'), /model\.ratio must be a number/);
    assert.throws(() => parseSimulationModel('{"sesionCv":0.1}'), /model\.sesionCv: unknown field/);
    assert.throws(() => parseSimulationModel('{'), /not valid JSON/);
  });
});
