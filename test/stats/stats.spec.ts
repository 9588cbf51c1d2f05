import assert from 'node:assert/strict';
import {
  adjustRunVerdicts,
  benjaminiHochberg,
  checkBudget,
  checkSessionHygiene,
  checkTemperatureCeiling,
  compareSessions,
  createRng,
  confirmedChangePoints,
  eDivisive,
  hygieneAction,
  incompleteBeta,
  iterationSummary,
  normalCdf,
  quantile,
  studentTQuantile,
  studentTTwoSidedP,
  summarize,
  tailLevel,
  worstVerdict,
} from '@pocketbench/stats';
import { drawReplicate, prepareSide, resampleState } from '../../packages/stats/src/bootstrap.js';
import { orderStatisticTable } from '../../packages/stats/src/order-statistic.js';

let rng = createRng(99);
const gauss = () => Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
const lognormalSession = (median: number, sigma: number, n = 100) => Array.from({ length: n }, () => median * Math.exp(sigma * gauss()));
const sessions = (k: number, median: number) => Array.from({ length: k }, () => lognormalSession(median * Math.exp(0.03 * gauss()), 0.05));

describe('stats', () => {
  // Every test starts from the same generator state, so no test depends on which ran before it.
  beforeEach(() => {
    rng = createRng(99);
  });

  describe('stats/summary', () => {
    it('gives min, mean, p50, p90, p99, stddev, MAD and CV', () => {
      const s = summarize([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
      assert.equal(s.n, 10);
      assert.equal(s.min, 1);
      assert.equal(s.mean, 5.5);
      assert.equal(s.p50, 5.5);
      assert.ok(Math.abs(s.p90 - 9.1) < 1e-12);
      assert.ok(Math.abs(s.p99 - 9.91) < 1e-12);
      assert.ok(Math.abs(s.stddev - 3.0276503540974917) < 1e-12);
      assert.equal(s.mad, 2.5);
      assert.ok(Math.abs(s.cv - 3.0276503540974917 / 5.5) < 1e-12);
    });

    it('summarizes iterations in the report\'s shape (the harness\'s summary): quantiles, MAD and CV', () => {
      const s = iterationSummary([5, 1, 4, 2, 3]);
      assert.equal(s.count, 5);
      assert.equal(s.minUs, 1);
      assert.equal(s.maxUs, 5);
      assert.equal(s.p50Us, 3);
      assert.equal(s.meanUs, 3);
      assert.equal(s.madUs, 1);
      assert.ok(Math.abs(s.p90Us - 4.6) < 1e-9);
      assert.ok(Math.abs(s.cv - Math.sqrt(2.5) / 3) < 1e-12);
      assert.equal(quantile([7], 0.9), 7);
      assert.throws(() => iterationSummary([]), /no iterations/);
    });

    it('refuses an empty session and non-finite values', () => {
      assert.throws(() => summarize([]), /at least one iteration/);
      assert.throws(() => summarize([1, NaN]), /not a finite number/);
    });
  });

  describe('stats/hygiene', () => {
    it('keeps a steady session and flags a noisy or drifting one with reasons', () => {
      assert.deepEqual(checkSessionHygiene(lognormalSession(1000, 0.03)).reasons, []);
      const noisy = checkSessionHygiene(lognormalSession(1000, 0.3));
      assert.equal(noisy.stable, false);
      assert.match(noisy.reasons[0], /robust CV .* exceeds the cap of 10\.0 %/);
      // A few outliers (a GC pause) blow up the classic CV but not the robust one the cap uses by default.
      const spiky = [...lognormalSession(1000, 0.02, 97), 40_000, 50_000, 60_000];
      assert.equal(checkSessionHygiene(spiky).stable, true);
      assert.ok(checkSessionHygiene(spiky).cv < 0.05);
      assert.match(checkSessionHygiene(spiky, { cvKind: 'classic' }).reasons[0], /^CV .* exceeds the cap/);
      // Medians of a short, noisy session's thirds differ by chance: not called a drift.
      const r = createRng(12);
      let byChance = 0;
      for (let t = 0; t < 200; t++) {
        const session = Array.from({ length: 15 }, () => 1000 * Math.exp(0.08 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r())));
        if (checkSessionHygiene(session).reasons.some((x) => x.includes("drift"))) byChance++;
      }
      assert.ok(byChance <= 2, `${byChance} of 200 steady short sessions called drifting`);
      const drifting = Array.from({ length: 90 }, (_, i) => 1000 * (1 + i / 200));
      const d = checkSessionHygiene(drifting, { cvCap: 1 });
      assert.equal(d.stable, false);
      assert.match(d.reasons[0], /first and last thirds drift apart by 28\.0 %/);
      assert.equal(checkSessionHygiene(drifting, { cvCap: 1, driftCap: 0.5 }).stable, true);
    });

    it('retries an unstable session once, then marks it unstable', () => {
      assert.equal(hygieneAction({ stable: true }, 1), 'keep');
      assert.equal(hygieneAction({ stable: false }, 1), 'retry');
      assert.equal(hygieneAction({ stable: false }, 2), 'unstable');
    });

    it('reads a temperature ceiling from a reading, a list or a sensor map', () => {
      assert.deepEqual(checkTemperatureCeiling({ cpu: 51.5, battery: 30, gpu: null }, 45), { overCeiling: true, maxC: 51.5, ceilingC: 45 });
      assert.equal(checkTemperatureCeiling([40, 44], 45).overCeiling, false);
      assert.equal(checkTemperatureCeiling(undefined).maxC, null);
    });
  });

  describe('stats/bootstrap internals', () => {
    it('draws replicates with the same distribution as a brute-force hierarchical bootstrap', () => {
      // Odd and even session counts, with ties. Odd iteration counts: a session's median is then
      // one order statistic, drawn exactly (an interpolated one is drawn as a mixture of its two
      // neighbouring ranks, which matters only for a handful of iterations).
      const cases = [
        [[1, 2, 3, 4, 5], [2, 4, 6, 8, 10], [3, 3, 9, 9, 12]],
        [[1, 2, 3, 4, 6], [2, 4, 6, 8, 10, 12, 14], [5, 7, 9], [1, 10, 11, 12, 13]],
      ];
      const r = createRng(8);
      for (const sessions of cases) {
        const trials = 60_000;
        const brute = new Map<number, number>();
        const fast = new Map<number, number>();
        const median = (xs: number[]) => {
          const s = [...xs].sort((a, b) => a - b);
          const h = (s.length - 1) / 2;
          return (s[Math.floor(h)] + s[Math.ceil(h)]) / 2;
        };
        for (let t = 0; t < trials; t++) {
          const picked = sessions.map(() => sessions[(r() * sessions.length) | 0]);
          const v = median(picked.map((s) => median(s.map(() => s[(r() * s.length) | 0]))));
          brute.set(v, (brute.get(v) ?? 0) + 1);
        }
        const side = prepareSide(sessions);
        const state = resampleState(4);
        for (let t = 0; t < trials; t++) {
          const v = drawReplicate(side, state);
          fast.set(v, (fast.get(v) ?? 0) + 1);
        }
        // Compare the two CDFs at every value either produced (Kolmogorov distance).
        const points = [...new Set([...brute.keys(), ...fast.keys()])].sort((a, b) => a - b);
        let cb = 0;
        let cf = 0;
        let worst = 0;
        for (const p of points) {
          cb += (brute.get(p) ?? 0) / trials;
          cf += (fast.get(p) ?? 0) / trials;
          worst = Math.max(worst, Math.abs(cb - cf));
        }
        assert.ok(worst < 0.015, `CDFs differ by ${worst} for ${JSON.stringify(sessions)}`);
      }
    });

    it("draws a resample's median index with the same distribution as brute-force resampling", () => {
      const n = 11;
      const table = orderStatisticTable(n, 0.5);
      const counts = new Array(n).fill(0);
      const trials = 40_000;
      const r = createRng(5);
      for (let t = 0; t < trials; t++) {
        const idx = Array.from({ length: n }, () => (r() * n) | 0).sort((a, b) => a - b);
        counts[idx[5]]++;
      }
      for (let j = 0; j < n; j++) {
        const i = j - table.start;
        const p = i < 0 || i >= table.cdf.length ? 0 : table.cdf[i] - (i > 0 ? table.cdf[i - 1] : 0);
        assert.ok(Math.abs(counts[j] / trials - p) < 0.01, `index ${j}: brute ${counts[j] / trials} vs table ${p}`);
      }
    });
  });

  describe('stats/compareSessions', () => {
    const head = sessions(8, 11_000);
    const base = sessions(8, 10_000);

    it('estimates the ratio of medians with an interval around it and a p-value', () => {
      const c = compareSessions(head, base);
      assert.ok(c.ciLow < c.ratio && c.ratio < c.ciHigh, JSON.stringify(c));
      assert.ok(Math.abs(c.ratio - 1.1) < 0.05);
      assert.equal(c.headSessions, 8);
      assert.ok(c.pValue > 0 && c.pValue <= 1);
    });

    it('gives a clear regression a p-value below 1 / (resamples + 1), so many-cell runs can still confirm it', () => {
      const c = compareSessions(sessions(10, 13_000), sessions(10, 10_000));
      assert.equal(c.verdict, 'fail');
      assert.ok(c.pValue < 1e-4, `p = ${c.pValue}`);
      const borderline = compareSessions(sessions(6, 10_500), sessions(6, 10_000));
      assert.ok(borderline.pValue > 0.01);
    });

    it('is deterministic for a seed, and the seed matters', () => {
      assert.deepEqual(compareSessions(head, base, { seed: 7 }), compareSessions(head, base, { seed: 7 }));
      assert.notEqual(compareSessions(head, base, { seed: 7 }).ciLow, compareSessions(head, base, { seed: 8 }).ciLow);
    });

    it('fails a clear slowdown, passes an identical artifact, and estimates sessions for a borderline one', () => {
      assert.equal(compareSessions(sessions(10, 13_000), sessions(10, 10_000)).verdict, 'fail');
      assert.equal(compareSessions(sessions(20, 10_000), sessions(20, 10_000)).verdict, 'pass');
      const borderline = compareSessions(sessions(3, 10_600), sessions(3, 10_000));
      if (borderline.verdict === 'inconclusive') assert.ok((borderline.sessionsNeededEstimate ?? 1) > 0);
    });

    it('widens the interval for few sessions when asked (expanded percentile bootstrap)', () => {
      const h = sessions(6, 10_000);
      const b = sessions(6, 10_000);
      const plain = compareSessions(h, b);
      const wide = compareSessions(h, b, { expand: true });
      assert.equal(wide.ratio, plain.ratio);
      assert.ok(wide.ciLow < plain.ciLow && wide.ciHigh > plain.ciHigh);
      assert.ok(Math.abs(tailLevel(0.95, 6, true) - 0.00243) < 1e-4);
      assert.ok(Math.abs(tailLevel(0.95, 6, false) - 0.025) < 1e-12);
    });

    it('refuses empty input', () => {
      assert.throws(() => compareSessions([], base), /at least one session/);
      assert.throws(() => compareSessions([[]], base), /session 0 has no values/);
    });
  });

  describe('stats/checkBudget', () => {
    it('checks an exact value (model size) without an interval', () => {
      assert.equal(checkBudget({ kind: 'exact', value: 14.2 }, 15).verdict, 'pass');
      const c = checkBudget({ kind: 'exact', value: 15.1 }, 15);
      assert.deepEqual([c.verdict, c.ciLow, c.ciHigh], ['fail', 15.1, 15.1]);
    });

    it("checks the sessions' p90 against a latency budget with the three-way rule", () => {
      const s = sessions(6, 10_000); // p90 ≈ 10 000 · e^(1.2816·0.05) ≈ 10 660 µs
      assert.equal(checkBudget({ kind: 'iterations', sessions: s, quantile: 0.9 }, 12_000).verdict, 'pass');
      assert.equal(checkBudget({ kind: 'iterations', sessions: s, quantile: 0.9 }, 9_500).verdict, 'fail');
      const edge = checkBudget({ kind: 'iterations', sessions: s, quantile: 0.9 }, 10_660);
      assert.ok(edge.ciLow < 10_660 && edge.ciHigh > 10_660);
      assert.equal(edge.verdict, 'inconclusive');
    });

    it('checks one value per session (load time, peak RSS)', () => {
      const c = checkBudget({ kind: 'sessions', values: [101, 99, 100, 102, 98, 100] }, 150);
      assert.equal(c.value, 100);
      assert.equal(c.verdict, 'pass');
    });
  });

  describe('stats/special functions', () => {
    it('matches tabulated values', () => {
      assert.ok(Math.abs(normalCdf(1.959963984540054) - 0.975) < 1e-6);
      assert.ok(Math.abs(normalCdf(-1) - 0.15865525) < 1e-6);
      assert.ok(Math.abs(studentTQuantile(0.05, 5) - 2.570582) < 1e-5);
      assert.ok(Math.abs(studentTTwoSidedP(2.228139, 10) - 0.05) < 1e-6);
      assert.ok(Math.abs(incompleteBeta(0.5, 2, 3) - 0.6875) < 1e-12);
    });
  });

  describe('stats/multiple testing and verdicts', () => {
    it('Benjamini–Hochberg matches the textbook example', () => {
      const p = [0.01, 0.04, 0.03, 0.005, 0.5];
      const { rejected, adjusted } = benjaminiHochberg(p, 0.05);
      assert.deepEqual(rejected, [true, true, true, true, false]);
      assert.ok(Math.abs(adjusted[3] - 0.025) < 1e-12);
      assert.ok(Math.abs(adjusted[1] - 0.05) < 1e-12);
    });

    it('turns a lone marginal failure among many cells into inconclusive', () => {
      const cells = [{ verdict: 'fail' as const, pValue: 0.02 }, ...Array.from({ length: 19 }, () => ({ verdict: 'pass' as const, pValue: 1 }))];
      assert.equal(adjustRunVerdicts(cells)[0].verdict, 'inconclusive');
      assert.equal(adjustRunVerdicts([{ verdict: 'fail' as const, pValue: 0.001 }, ...cells.slice(1)])[0].verdict, 'fail');
    });

    it('the run verdict is the worst', () => {
      assert.equal(worstVerdict(['pass', 'inconclusive', 'pass']), 'inconclusive');
      assert.equal(worstVerdict(['pass', 'fail', 'inconclusive']), 'fail');
      assert.equal(worstVerdict([]), 'inconclusive');
    });
  });

  describe('stats/eDivisive', () => {
    const noise = (n: number, level: number) => Array.from({ length: n }, () => level * (1 + 0.01 * gauss()));

    it('finds a step change where it happened', () => {
      assert.deepEqual(eDivisive([...noise(30, 100), ...noise(30, 110)]), [30]);
    });

    it('finds several changes in a long series across windows', () => {
      const series = [...noise(80, 100), ...noise(70, 115), ...noise(90, 100)];
      const raw = eDivisive(series);
      assert.ok(raw.includes(80) && raw.includes(150), `raw E-Divisive: ${raw}`);
      // What opens alerts: 10 sessions on each side and confirmed by the newest sessions.
      const confirmed = confirmedChangePoints(series);
      assert.ok(confirmed.includes(80) && confirmed.includes(150), `confirmed: ${confirmed}`);
    });

    it('stays quiet on noise alone', () => {
      assert.deepEqual(eDivisive(noise(200, 100)), []);
    });

    it('ignores changes smaller than minMagnitude', () => {
      const series = [...noise(40, 100), ...noise(40, 103)];
      assert.deepEqual(eDivisive(series), [40]);
      assert.deepEqual(eDivisive(series, { minMagnitude: 0.05 }), []);
    });

    it('is deterministic for a seed', () => {
      const series = [...noise(25, 100), ...noise(25, 103), ...noise(40, 100)];
      assert.deepEqual(eDivisive(series, { seed: 3 }), eDivisive(series, { seed: 3 }));
    });

    it('rarely alerts on noise alone (false alerts are what killed other farms)', () => {
      let alerts = 0;
      for (let s = 0; s < 50; s++) alerts += eDivisive(noise(100, 100), { seed: s }).length;
      console.log(`      ${alerts} change points in 50 noise-only series of 100 points`);
      assert.ok(alerts <= 3, `${alerts} change points in pure noise`);
    });

    it('refuses non-finite values', () => {
      assert.throws(() => eDivisive([1, 2, NaN]), /value 2 is not a finite number/);
    });
  });
});
