import assert from 'node:assert/strict';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../worker/support.js';
import { faultGround, startFarm, storedSessions, type Farm } from './farm.js';

/**
 * Postgres going away (a restart, a failover: every connection cut, new ones refused) and a
 * database that stays up but refuses to store sessions. The api and the workers talk to
 * Postgres through a TCP fault proxy; the test reads the truth straight from the database.
 */
describe('faults: Postgres restarted, and storing sessions failing while it stays up', function () {
  this.timeout(240_000);
  let proxy: FaultProxy;
  let farm: Farm | undefined;
  const g = faultGround(async () => proxy?.close());

  before(async () => {
    const u = new URL(g.db.url);
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 5432) });
  });
  afterEach(async () => {
    await farm?.close();
    farm = undefined;
  });

  it('waits out a 10 s outage: 503 with Retry-After and /readyz unavailable meanwhile, nothing crashes, every session stored once', async () => {
    farm = await startFarm(g.base, g.db.url, {
      databaseUrl: proxy.rewrite(g.db.url), redisUrl: g.redis.url, hosts: [['pg-a', 'pg-b']], pool: 'faults-pg',
    });
    const artifact = await farm.upload();
    const runId = await farm.submit(artifact, { sessions: 8, iterations: 20, warmup: 1 });
    await waitFor('2 sessions stored', async () => (await storedSessions(farm!.db, runId)) >= 2, 120_000, 50);

    await proxy.refuse();
    const during = await fetch(`${farm.api.url}/api/v1/runs/${runId}`);
    assert.equal(during.status, 503);
    assert.equal(during.headers.get('retry-after'), '5');
    assert.equal(((await during.json()) as { error: { code: string } }).error.code, 'database_unavailable');
    const ready = await fetch(`${farm.api.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.notEqual(((await ready.json()) as { checks: { db: string } }).checks.db, 'ok');
    await new Promise((r) => setTimeout(r, 10_000));
    await proxy.restore();
    const back = Date.now();

    const r = await farm.waitForRun(runId, 120_000);
    const recoveryMs = Date.now() - back;
    console.log(`      (Postgres back → run done in ${(recoveryMs / 1000).toFixed(1)} s)`);
    assert.deepEqual(r, { status: 'done', sessions: 8, distinct: 8, planned: 8 });
    assert.ok(recoveryMs < 60_000, `recovered in ${recoveryMs} ms`);
    assert.equal((await fetch(`${farm.api.url}/api/v1/runs/${runId}`)).status, 200, 'the api answers again');
    assert.equal((await fetch(`${farm.api.url}/readyz`)).status, 200);
  });

  it('holds reports while storing fails for 6 s (the database up), then stores each once; past the give-up bound the cell fails with the reason', async () => {
    // The fault: every insert into sessions raises while the switch is on.
    await g.db.pool.query(`CREATE TABLE IF NOT EXISTS fault_switch (on_ boolean NOT NULL)`);
    await g.db.pool.query(`DELETE FROM fault_switch`);
    await g.db.pool.query(`INSERT INTO fault_switch VALUES (false)`);
    await g.db.pool.query(`CREATE OR REPLACE FUNCTION refuse_sessions() RETURNS trigger AS $$
      BEGIN IF (SELECT on_ FROM fault_switch LIMIT 1) THEN RAISE EXCEPTION 'injected: storing sessions is refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
    await g.db.pool.query(`CREATE OR REPLACE TRIGGER refuse_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_sessions()`);
    const fault = (on: boolean) => g.db.pool.query('UPDATE fault_switch SET on_ = $1', [on]);
    try {
      farm = await startFarm(g.base, g.db.url, {
        databaseUrl: g.db.url, redisUrl: g.redis.url, hosts: [['st-a', 'st-b']], pool: 'faults-store', worker: { storeGiveUpMs: 10_000 },
      });
      const artifact = await farm.upload();
      const runId = await farm.submit(artifact, { sessions: 6, iterations: 20, warmup: 1 });
      await waitFor('1 session stored', async () => (await storedSessions(farm!.db, runId)) >= 1, 120_000, 50);
      await fault(true);
      await new Promise((r) => setTimeout(r, 6000));
      assert.ok((await storedSessions(farm.db, runId)) < 6);
      await fault(false);
      const r = await farm.waitForRun(runId, 120_000);
      assert.deepEqual(r, { status: 'done', sessions: 6, distinct: 6, planned: 6 });

      // A store that never succeeds: the cell ends `failed` with the reason, nothing is left running.
      await fault(true);
      const stuck = await farm.submit(artifact, { sessions: 1, iterations: 20, warmup: 1 });
      const ended = await farm.waitForRun(stuck, 120_000);
      assert.equal(ended.status, 'failed');
      const { rows } = await farm.db.query<{ status: string; reason: string }>('SELECT status, reason FROM jobs WHERE run_id = $1', [stuck]);
      assert.equal(rows[0].status, 'failed');
      assert.match(rows[0].reason, /could not be stored for 10 s: injected: storing sessions is refused/);
    } finally {
      await fault(false).catch(() => undefined);
    }
  });
});
