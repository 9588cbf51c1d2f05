import assert from 'node:assert/strict';
import {
  adaptiveCap, adaptiveNextStep, adjustRegressionFamily, createRng, decideCell, FAIL_ALPHA, pairedSessionOrder, pairOrder, sessionPoint,
  type SessionPoint,
} from '@pocketbench/stats';

function gauss(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
}

/** n pairs of sessions: head at `ratio` × baseline, session noise `cv`, head sessions listed in `slowHead` ×1.3. */
function pairs(n: number, ratio: number, cv: number, seed: number, slowHead: number[] = []): { head: SessionPoint[]; baseline: SessionPoint[] } {
  const rng = createRng(seed);
  const side = (role: 'head' | 'baseline') =>
    Array.from({ length: n }, (_, k) => {
      const level = 10_000 * (role === 'head' ? ratio : 1) * Math.exp(cv * gauss(rng)) * (role === 'head' && slowHead.includes(k) ? 1.3 : 1);
      const it = Array.from({ length: 50 }, () => level * Math.exp(0.05 * gauss(rng)));
      return sessionPoint(k, it, { order: pairedSessionOrder(role, k) });
    });
  return { head: side('head'), baseline: side('baseline') };
}

describe('stats/decision (one procedure for the worker and the gate)', () => {
  it('interleaves counterbalanced: A B, B A, A B, B A', () => {
    assert.deepEqual([0, 1, 2, 3].map((k) => pairOrder(k).join(' ')), ['head baseline', 'baseline head', 'head baseline', 'baseline head']);
    assert.deepEqual([0, 1].flatMap((k) => [pairedSessionOrder('head', k), pairedSessionOrder('baseline', k)]), [0, 1, 3, 2]);
  });

  it('a clear regression fails, a clear no-change passes, with intervals on the right side of 1 + δ', () => {
    const slow = pairs(8, 1.2, 0.03, 1);
    const d = decideCell(slow.head, slow.baseline);
    assert.equal(d.verdict, 'fail');
    assert.ok(d.checks[0].ciLow > 1.05 && d.checks[0].ratio > 1.1);
    const same = pairs(8, 1, 0.03, 2);
    const e = decideCell(same.head, same.baseline);
    assert.equal(e.verdict, 'pass');
    assert.ok(e.checks[0].ciHigh <= 1.05);
    assert.deepEqual(decideCell(same.head, same.baseline), e, 'the same sessions give the same decision');
  });

  it('pairs by session index: a drift shared by neighbours cancels, the unpaired fallback does not see pairs', () => {
    const rng = createRng(4);
    const mk = (role: 'head' | 'baseline', k: number) => {
      const slot = pairedSessionOrder(role, k);
      return sessionPoint(k, Array.from({ length: 50 }, () => 10_000 * 1.02 ** slot * Math.exp(0.01 * gauss(rng))), { order: slot });
    };
    const head = Array.from({ length: 10 }, (_, k) => mk('head', k));
    const baseline = Array.from({ length: 10 }, (_, k) => mk('baseline', k));
    const paired = decideCell(head, baseline);
    assert.equal(paired.verdict, 'pass', `paired ratio ${paired.checks[0].ratio}`);
    assert.ok(Math.abs(paired.checks[0].ratio - 1) < 0.01);
    const unpaired = decideCell(head, baseline, { paired: false });
    assert.equal(unpaired.checks[0].method, 'unpaired');
    assert.ok(unpaired.checks[0].ciHigh - unpaired.checks[0].ciLow > 5 * (paired.checks[0].ciHigh - paired.checks[0].ciLow));
  });

  it('sets throttled-looking slow sessions aside, with the reason, and decides on the rest', () => {
    const { head, baseline } = pairs(10, 1, 0.02, 5, [2, 7]);
    const d = decideCell(head, baseline);
    assert.deepEqual(d.excluded.map((e) => `${e.role}#${e.index}`).sort(), ['head#2', 'head#7']);
    assert.match(d.excluded[0].reason, /slow session: \d+ % above the level of the sessions around it/);
    assert.equal(d.verdict, 'pass');
    // A session the device flagged (throttling seen in its state) is excluded with that reason.
    const flagged = head.map((s, i) => (i === 0 ? { ...s, excludedReason: 'throttled: CPU frequency fell 30 %' } : s));
    assert.ok(decideCell(flagged, baseline).excluded.some((e) => e.reason.startsWith('throttled')));
  });

  it('slow sessions piled on one side are found against both sides\' level (no false fail), a pair slowed on both sides stays', () => {
    // A/A, 12 pairs, 5 head sessions throttled ×1.3 and none of the baseline's: a per-side fit
    // would take the head's level to be between the two; against both sides they stand out.
    const { head, baseline } = pairs(12, 1, 0.03, 11, [1, 4, 5, 8, 10]);
    const d = decideCell(head, baseline);
    assert.deepEqual(d.excluded.map((e) => `${e.role}#${e.index}`).sort(), ['head#1', 'head#10', 'head#4', 'head#5', 'head#8']);
    assert.notEqual(d.verdict, 'fail');
    assert.ok(Math.abs(Math.log(d.checks[0].ratio)) < 0.04, `ratio ${d.checks[0].ratio}`);
    // Pair 3 slowed on both sides (a busy stretch on the device): its log ratio is fair, it stays.
    const busy = (s: SessionPoint) => (s.index === 3 ? { ...s, p50: s.p50 * 1.3, p90: s.p90 * 1.3 } : s);
    const both = decideCell(baseline.map(busy), pairs(12, 1, 0.03, 12).baseline.map(busy));
    assert.ok(!both.excluded.some((e) => e.index === 3), JSON.stringify(both.excluded));
  });

  it('checks the p90 ratio with its own tolerance', () => {
    const { head, baseline } = pairs(12, 1, 0.02, 6);
    const stretched = head.map((s) => ({ ...s, p90: s.p90 * 1.2 }));
    const d = decideCell(stretched, baseline, { p90Tolerance: 0.05 });
    assert.deepEqual(d.checks.map((c) => [c.quantile, c.verdict]), [[0.5, 'pass'], [0.9, 'fail']]);
  });

  it('adaptive: tops up to 6, decides, says how many more, stops at the cap or when futile', () => {
    assert.deepEqual(adaptiveNextStep([], []), { decided: false, addPerSide: 6, reason: 'below-minimum' });
    const clear = pairs(6, 1.3, 0.03, 7);
    assert.equal(adaptiveNextStep(clear.head, clear.baseline).reason, 'decided');
    const near = pairs(6, 1.05, 0.05, 8);
    const step = adaptiveNextStep(near.head, near.baseline);
    assert.equal(step.decided, false);
    assert.ok(step.addPerSide >= 2 && step.addPerSide % 2 === 0, 'even batches keep A B B A counterbalanced');
    assert.ok((step.decision!.checks[0].sessionsNeededEstimate ?? 0) >= 1);
    assert.equal(adaptiveNextStep(near.head, near.baseline, { cap: 6 }).reason, 'cap');
    assert.deepEqual(adaptiveNextStep([], [], { scheduledPerSide: 40 }), { decided: true, addPerSide: 0, reason: 'cap' });
    // Exactly at the limit with a wide spread: 40 per side cannot decide, so it stops early.
    const stuck = pairs(16, 1.05, 0.12, 9);
    const futile = adaptiveNextStep(stuck.head, stuck.baseline);
    if (futile.reason === 'futile') assert.equal(futile.decision!.checks[0].futile, true);
    else assert.equal(futile.decided, false);
  });

  it('the cap follows the pool noise up to the configured maximum', () => {
    assert.equal(adaptiveCap(null), 40);
    assert.ok(adaptiveCap(0.005) < adaptiveCap(0.02));
    assert.equal(adaptiveCap(0.08, 0.05, 40), 40);
    assert.equal(adaptiveCap(0.08, 0.05, 24), 24);
  });

  it('Benjamini–Hochberg over the family keeps every fail the worker stopped on, and adjusts the bound', () => {
    const slow = pairs(8, 1.25, 0.03, 10);
    const family = 10;
    const cells = [decideCell(slow.head, slow.baseline, { family }).checks[0]];
    for (let i = 0; i < family - 1; i++) {
      const same = pairs(8, 1, 0.03, 20 + i);
      cells.push(decideCell(same.head, same.baseline, { family }).checks[0]);
    }
    assert.equal(cells[0].verdict, 'fail');
    assert.equal(cells[0].alphaLow, FAIL_ALPHA / family);
    const adjusted = adjustRegressionFamily(cells);
    assert.equal(adjusted[0].verdict, 'fail');
    assert.ok(adjusted[0].ciLow > 1.05);
    assert.ok(adjusted.slice(1).every((c) => c.verdict !== 'fail'));
  });
});
