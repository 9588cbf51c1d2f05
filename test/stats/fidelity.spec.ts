import assert from 'node:assert/strict';
import { parseBudgets, matchBudget, BudgetsError } from '@pocketbench/contracts';
import { checkAgreementAtLeast, checkDropAtMost, pairedDropInterval, renderGateJUnit, renderGateMarkdown, wilsonInterval, type GateResult } from '@pocketbench/stats';

/** A small seeded generator for the coverage simulations. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

describe('stats/fidelity: binomial intervals for agreement and accuracy drop', () => {
  it('Wilson interval: textbook values, stays in [0, 1] at 0 and n', () => {
    const [lo0, hi0] = wilsonInterval(0, 10);
    assert.equal(lo0, 0);
    assert.ok(Math.abs(hi0 - 0.2775) < 1e-4, String(hi0));
    const [lo10, hi10] = wilsonInterval(10, 10);
    assert.ok(Math.abs(lo10 - 0.7225) < 1e-4, String(lo10));
    assert.equal(hi10, 1);
    const [lo, hi] = wilsonInterval(81, 263);
    assert.ok(Math.abs(lo - 0.2553) < 1e-3 && Math.abs(hi - 0.3662) < 1e-3, `${lo} ${hi}`);
  });

  it('Wilson interval covers the true proportion about 95 % of the time', () => {
    const rnd = lcg(7);
    for (const [p, n] of [[0.98, 200], [0.5, 40], [0.995, 432]] as const) {
      let covered = 0;
      const sims = 4000;
      for (let i = 0; i < sims; i++) {
        let k = 0;
        for (let j = 0; j < n; j++) if (rnd() < p) k++;
        const [lo, hi] = wilsonInterval(k, n);
        if (lo <= p && p <= hi) covered++;
      }
      assert.ok(covered / sims > 0.92 && covered / sims < 0.99, `p ${p} n ${n}: coverage ${covered / sims}`);
    }
  });

  it('Newcombe paired interval of an accuracy drop: contains the estimate, flips with the sides, covers about 95 %', () => {
    const base = { samples: 400, referenceCorrect: 394, modelCorrect: 393, referenceOnly: 1, modelOnly: 0 };
    const d = pairedDropInterval(base);
    assert.ok(Math.abs(d.drop - 0.0025) < 1e-12);
    assert.ok(d.low < d.drop && d.drop < d.high);
    // Pairing makes it far narrower than two independent accuracies would.
    const [l1, u1] = wilsonInterval(394, 400);
    assert.ok(d.high - d.low < u1 - l1, `${d.high - d.low} vs ${u1 - l1}`);
    const flipped = pairedDropInterval({ samples: 400, referenceCorrect: 393, modelCorrect: 394, referenceOnly: 0, modelOnly: 1 });
    assert.ok(Math.abs(flipped.low + d.high) < 1e-12 && Math.abs(flipped.high + d.low) < 1e-12);
    // Coverage: reference right 90 %, the model loses 3 % of those and wins 1 % of the rest.
    const rnd = lcg(11);
    const truth = 0.9 * 0.03 - 0.1 * 0.01;
    let covered = 0;
    const sims = 3000;
    for (let i = 0; i < sims; i++) {
      const p = { samples: 300, referenceCorrect: 0, modelCorrect: 0, referenceOnly: 0, modelOnly: 0 };
      for (let j = 0; j < p.samples; j++) {
        const ref = rnd() < 0.9;
        const model = ref ? rnd() >= 0.03 : rnd() < 0.01;
        if (ref) p.referenceCorrect++;
        if (model) p.modelCorrect++;
        if (ref && !model) p.referenceOnly++;
        if (model && !ref) p.modelOnly++;
      }
      const ci = pairedDropInterval(p);
      if (ci.low <= truth && truth <= ci.high) covered++;
    }
    assert.ok(covered / sims > 0.92 && covered / sims < 0.99, `coverage ${covered / sims}`);
  });

  it('three-way checks: 432 of 432 passes 99 %, 0 of 432 fails, 32 of 32 cannot show 99 %', () => {
    assert.equal(checkAgreementAtLeast(432, 432, 99).verdict, 'pass');
    assert.equal(checkAgreementAtLeast(0, 432, 99).verdict, 'fail');
    const thin = checkAgreementAtLeast(32, 32, 99);
    assert.equal(thin.verdict, 'inconclusive');
    assert.ok(thin.ciLow < 99 && thin.ciHigh === 100);
    assert.equal(checkDropAtMost({ samples: 400, referenceCorrect: 394, modelCorrect: 393, referenceOnly: 1, modelOnly: 0 }, 2).verdict, 'pass');
    assert.equal(checkDropAtMost({ samples: 400, referenceCorrect: 394, modelCorrect: 0, referenceOnly: 394, modelOnly: 0 }, 2).verdict, 'fail');
    assert.equal(checkDropAtMost({ samples: 50, referenceCorrect: 45, modelCorrect: 44, referenceOnly: 2, modelOnly: 1 }, 2).verdict, 'inconclusive');
  });
});

describe('budgets: fidelity fields', () => {
  it('reads the mandate: size < 15 MB, p90 < 50 ms, accuracy drop <= 2 %', () => {
    const b = parseBudgets('rules:\n  - match: { model: "*" }\n    model_size_mb: 15\n    p90_ms: 50\n    max_accuracy_drop_pct: 2\n    min_top1_agreement_pct: 99\n    min_cosine: 0.999\n    min_snr_db: 30\n');
    const r = matchBudget(b, { model: 'm', variant: 'int8-static', backend: 'cpu', pool: 'p' });
    assert.equal(r.max_accuracy_drop_pct, 2);
    assert.equal(r.min_top1_agreement_pct, 99);
    assert.equal(r.min_cosine, 0.999);
    assert.equal(r.min_snr_db, 30);
  });

  it('refuses out-of-range fidelity budgets, naming the line and field', () => {
    assert.throws(() => parseBudgets('rules:\n  - match: { model: "*" }\n    min_top1_agreement_pct: 120\n'), (e: Error) => e instanceof BudgetsError && /3:\d+: rules\[0\]\.min_top1_agreement_pct: is a percentage: at most 100/.test(e.message));
    assert.throws(() => parseBudgets('defaults:\n  min_cosine: 1.5\n'), /defaults\.min_cosine: a cosine similarity is at most 1/);
    assert.throws(() => parseBudgets('defaults:\n  min_snr_db: -3\n'), /defaults\.min_snr_db: must be a positive number/);
  });
});

describe('gate report: fidelity checks in markdown and JUnit', () => {
  const result: GateResult = {
    runId: 'r1', verdict: 'fail', baselineBranch: 'main', commit: null, mergeBase: null, counts: { pass: 1, fail: 1, inconclusive: 0 }, evaluatedAt: '2026-12-02T00:00:00.000Z',
    cells: [
      {
        jobId: 'j0', cellIndex: 0, model: 'm', variant: 'int8-static', format: 'ptl', backend: 'cpu', pool: 'host', deviceId: null, verdict: 'pass',
        checks: [{ metric: 'max_accuracy_drop_pct', verdict: 'pass', head: 0.25, baseline: null, ratio: null, ciLow: -0.7, ciHigh: 1.36, budget: 2, baselineSource: null, headSessions: 1, baselineSessions: 0, pValue: null, adjustedPValue: null, sessionsNeededEstimate: null }],
        fidelity: { reference: { artifactId: 'a', variant: 'fp32', format: 'ptl', sha256: 'x' }, sessions: 1, top1AgreementPct: 100, top5OverlapPct: 99, cosine: 0.99993, maxAbsError: 0.01, snrDb: 41.5, accuracyTop1Pct: 98.25, accuracyTop5Pct: 100, referenceAccuracyTop1Pct: 98.5, accuracyDropPct: 0.25 },
      },
      {
        jobId: 'j1', cellIndex: 1, model: 'wrong', variant: 'fp32', format: 'ptl', backend: 'cpu', pool: 'host', deviceId: null, verdict: 'fail',
        checks: [{ metric: 'min_top1_agreement_pct', verdict: 'fail', head: 0, baseline: null, ratio: null, ciLow: 0, ciHigh: 0.88, budget: 99, baselineSource: null, headSessions: 1, baselineSessions: 0, pValue: null, adjustedPValue: null, sessionsNeededEstimate: null, note: 'Top-1 agreement with the reference is 0.0 %.' }],
      },
    ],
  };

  it('shows lower limits as ≥ with their unit, the drop in pp, and a fidelity table', () => {
    const md = renderGateMarkdown(result);
    assert.match(md, /\| ❌ fail \| wrong fp32 ptl · cpu · host \| min_top1_agreement_pct \| 0\.00 % \(0\.00–0\.880\) \| — \| — \| ≥ 99 % \| — \|/);
    assert.match(md, /\| ✅ pass \| m int8-static ptl · cpu · host \| max_accuracy_drop_pct \| 0\.250 pp \(-0\.700–1\.36\) \| — \| — \| ≤ 2 pp \| — \|/);
    assert.match(md, /### Fidelity\n\n\| cell \| reference \| top-1 agreement \| cosine \| SNR \| accuracy top-1 \| reference top-1 \| drop \|/);
    assert.match(md, /\| m int8-static ptl · cpu · host \| fp32 ptl \| 100\.0 % \| 0\.99993 \| 41\.50 dB \| 98\.25 % \| 98\.50 % \| 0\.250 pp \|/);
    const xml = renderGateJUnit(result);
    assert.match(xml, /name="min_top1_agreement_pct">\s*<failure type="regression" message="Top-1 agreement with the reference is 0\.0 %\."/);
  });
});
