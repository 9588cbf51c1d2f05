import assert from 'node:assert/strict';
import { waitFor } from '../worker/support.js';
import { faultGround, startFarm, storedSessions, type Farm } from './farm.js';

/**
 * Redis is a cache of work: restarted mid-run with nothing kept on disk, every queued session
 * is lost, and the api's reconciler enqueues them again from Postgres. What a user notices: the
 * run ends, every planned session stored exactly once, within the stated bound.
 */
describe('faults: Redis restarted mid-run (private redis-server, nothing on disk)', function () {
  this.timeout(240_000);
  let farm: Farm | undefined;
  const g = faultGround(async () => farm?.close());

  it('heals the lost queue: every planned session stored exactly once, the run done within 60 s of Redis being back', async () => {
    farm = await startFarm(g.base, g.db.url, { databaseUrl: g.db.url, redisUrl: g.redis.url, hosts: [['rr-a', 'rr-b']], pool: 'faults-rr' });
    const artifact = await farm.upload();
    const runId = await farm.submit(artifact, { sessions: 12, iterations: 20, warmup: 1 });
    await waitFor('3 sessions stored', async () => (await storedSessions(farm!.db, runId)) >= 3, 120_000, 50);
    await g.redis.restart(3000);
    const back = Date.now();
    const beforeHeal = await storedSessions(farm.db, runId);
    assert.ok(beforeHeal < 12, 'the restart came while sessions were still queued');
    const r = await farm.waitForRun(runId, 90_000);
    const recoveryMs = Date.now() - back;
    console.log(`      (Redis back → run done in ${(recoveryMs / 1000).toFixed(1)} s; ${12 - beforeHeal} sessions re-enqueued from Postgres)`);
    assert.deepEqual(r, { status: 'done', sessions: 12, distinct: 12, planned: 12 });
    assert.ok(recoveryMs < 60_000, `recovered in ${recoveryMs} ms`);
    // The service answers afterwards.
    assert.equal((await fetch(`${farm.api.url}/readyz`)).status, 200);
  });
});
