import assert from 'node:assert/strict';
import { confirmedChangePoints, createRng, newAlertPoints } from '@pocketbench/stats';

// Change points as deployed: detection re-runs over the series (newest 500 sessions of the
// baseline segment) after every new session, a change needs 10 sessions on each side and 10
// more that confirm it, and it opens an alert only when no alert sits within 10 sessions of it. Pure noise must open <= 0.2 false alerts per 1,000 sessions; a 5 % step
// must be found within ±10 sessions in >= 95 % of series. POCKETBENCH_SIM_TRIALS scales it.
const SCALE = Number(process.env.POCKETBENCH_SIM_TRIALS ?? 1000) / 1000;
const SESSION_CV = 0.03;

function gauss(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(rng() || 1e-12)) * Math.cos(2 * Math.PI * rng());
}

/** Replays a series session by session; returns the change indices that opened alerts. */
function deployed(values: number[], seed: number, from = 20): number[] {
  const cache = new Map<string, number[]>();
  const alerts: number[] = [];
  for (let n = from; n <= values.length; n++) {
    const view = values.slice(Math.max(0, n - 500), n);
    const offset = n - view.length;
    const changes = confirmedChangePoints(view, { seed, cache}).map((i) => i + offset);
    alerts.push(...newAlertPoints(changes, alerts));
  }
  return alerts;
}

function series(n: number, seed: number, step?: { at: number; ratio: number }): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => 10_000 * Math.exp(SESSION_CV * gauss(rng)) * (step && i >= step.at ? step.ratio : 1));
}

describe('stats/change points as deployed (re-run after every session)', function () {
  this.timeout(600_000);

  it('pure noise: at most 0.2 false alerts per 1,000 sessions', () => {
    const count = Math.max(4, Math.round(40 * SCALE));
    let alerts = 0;
    let sessions = 0;
    for (let s = 0; s < count; s++) {
      const v = series(500, 1000 + s);
      alerts += deployed(v, s).length;
      sessions += v.length;
    }
    const rate = (alerts / sessions) * 1000;
    console.log(`      pure noise (session CV ${SESSION_CV * 100} %): ${alerts} alert(s) in ${sessions} sessions = ${rate.toFixed(3)} per 1,000`);
    assert.ok(rate <= 0.2, `${rate} false alerts per 1,000 sessions`);
  });

  it('a 5 % step is found within ±10 sessions in >= 95 % of series, never with fewer than 10 sessions on a side', () => {
    const count = Math.max(20, Math.round(60 * SCALE));
    let found = 0;
    let early = 0;
    for (let s = 0; s < count; s++) {
      const v = series(200, 5000 + s, { at: 100, ratio: 1.05 });
      const cache = new Map<string, number[]>();
      // A change never opens with fewer than 10 sessions on either side of it.
      for (let n = 95; n < 125; n++) if (confirmedChangePoints(v.slice(0, n), { seed: s, cache }).some((i) => n - i < 10 || i < 10)) early++;
      if (deployed(v, s).some((i) => Math.abs(i - 100) <= 10)) found++;
    }
    console.log(`      5 % step in session CV ${SESSION_CV * 100} %: found within ±10 in ${found} of ${count} series; opened early ${early} times`);
    assert.equal(early, 0);
    assert.ok(found / count >= 0.95, `${found} of ${count}`);
  });
});
