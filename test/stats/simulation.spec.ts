import assert from 'node:assert/strict';
import { adjustRunVerdicts } from '@pocketbench/stats';
import { simulateCell, simulateRates, simulateRunAnyFail, type Rates } from './simulate.js';

// The targets of shared/REGRESSION.md, measured by simulation. Rates are printed so a reader
// sees the margin, not only that the assertion held.
const TRIALS = 3000;
const RUN_TRIALS = 400;

function show(name: string, r: Rates): void {
  const rate = (x: number) => `${(x * 100).toFixed(2)} % (${Math.round(x * r.trials)})`;
  console.log(
    `      ${name}: pass ${rate(r.pass)}, fail ${rate(r.fail)}, inconclusive ${rate(r.inconclusive)} ` +
      `of ${r.trials} trials; mean sessions per side ${r.meanSessionsPerSide.toFixed(2)}`,
  );
}

describe('stats/simulation (REGRESSION.md targets)', () => {
  it('A/A: fails in <= 1 % of trials and passes in >= 90 %', () => {
    const r = simulateRates(TRIALS, 1, { slowdown: 1 });
    show('A/A', r);
    assert.ok(r.fail <= 0.01, `A/A fail rate ${r.fail}`);
    assert.ok(r.pass >= 0.9, `A/A pass rate ${r.pass}`);
  });

  it('A/B with a true 10 % slowdown: fails in >= 95 % of trials', () => {
    const r = simulateRates(TRIALS, 2, { slowdown: 1.1 });
    show('A/B +10 %', r);
    assert.ok(r.fail >= 0.95, `fail rate ${r.fail}`);
  });

  it('A/B with a true 2 % slowdown (inside the 5 % tolerance): fails in <= 5 % of trials', () => {
    const r = simulateRates(TRIALS, 3, { slowdown: 1.02 });
    show('A/B +2 %', r);
    assert.ok(r.fail <= 0.05, `fail rate ${r.fail}`);
  });

  it('20-cell run, all A/A: any cell fails in <= 5 % of trials (Benjamini–Hochberg across cells)', () => {
    let anyFail = 0;
    let sessions = 0;
    for (let t = 0; t < RUN_TRIALS; t++) {
      const r = simulateRunAnyFail(10_000 + t, 20, { slowdown: 1 });
      if (r.anyFail) anyFail++;
      sessions += r.sessions;
    }
    console.log(
      `      20-cell A/A run: any cell fails in ${((anyFail / RUN_TRIALS) * 100).toFixed(1)} % of ${RUN_TRIALS} trials; ` +
        `mean sessions per side ${(sessions / RUN_TRIALS).toFixed(2)}`,
    );
    assert.ok(anyFail / RUN_TRIALS <= 0.05);
  });

  it('a lone clear regression among 60 cells still fails after Benjamini–Hochberg', () => {
    let found = 0;
    const runs = 20;
    for (let t = 0; t < runs; t++) {
      const cells = Array.from({ length: 60 }, (_, c) => simulateCell(50_000 + t * 100 + c, { slowdown: c === 7 ? 1.3 : 1 }));
      const adjusted = adjustRunVerdicts(cells);
      assert.deepEqual(adjusted.flatMap((c, i) => (c.verdict === 'fail' && i !== 7 ? [i] : [])), []);
      if (adjusted[7].verdict === 'fail') found++;
    }
    console.log(`      a +30 % cell among 59 A/A cells: failed in ${found} of ${runs} runs`);
    assert.equal(found, runs);
  });

  it('same data twice: identical verdicts and intervals', () => {
    for (const slowdown of [1, 1.05, 1.1]) {
      const a = simulateCell(42, { slowdown });
      const b = simulateCell(42, { slowdown });
      assert.deepEqual(a, b);
    }
  });

  it('is sensitive: a 20 % slowdown never passes, and a 10 % speed-up never fails', () => {
    const slow = simulateRates(200, 4, { slowdown: 1.2 });
    const fast = simulateRates(200, 5, { slowdown: 0.9 });
    show('A/B +20 %', slow);
    show('A/B -10 %', fast);
    assert.equal(slow.pass, 0);
    assert.equal(fast.fail, 0);
    assert.ok(slow.fail >= 0.99);
  });
});
