import assert from 'node:assert/strict';
import os from 'node:os';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../worker/support.js';
import { currentJobOf, faultGround, spawnWorker, startFarm, storedSessions, type Farm, type WorkerProcess } from './farm.js';

/**
 * Two worker hosts serving one farm, each its own `services/worker` process with its own device
 * and its own network path to Postgres and Redis (a fault proxy per host and service: its link).
 * One host cut off mid-session (its links stall: connections open, nothing flows), and one
 * killed with SIGKILL: their sessions run on the other host or after it returns, exactly once.
 */
describe('faults: two worker hosts, one cut off from the network and one killed mid-session', function () {
  this.timeout(300_000);
  let farm: Farm;
  const links: Record<string, { db: FaultProxy; redis: FaultProxy }> = {};
  const workers: WorkerProcess[] = [];
  const suffix = Math.random().toString(36).slice(2, 7);

  const g = faultGround(async () => {
    for (const w of workers) await w.kill().catch(() => undefined);
    await farm?.close();
    for (const l of Object.values(links)) {
      await l.db.close();
      await l.redis.close();
    }
  });

  before(async function () {
    this.timeout(600_000);
    const u = new URL(g.db.url);
    for (const h of ['a', 'b']) {
      links[h] = {
        db: await startFaultProxy({ host: u.hostname, port: Number(u.port || 5432) }),
        redis: await startFaultProxy({ host: '127.0.0.1', port: g.redis.port }),
      };
    }
    // The api and its reconciler; the workers are the processes below (pool: this machine's).
    farm = await startFarm(g.base, g.db.url, { databaseUrl: g.db.url, redisUrl: g.redis.url, hosts: [], pool: `host-${os.machine()}` });
    for (const h of ['a', 'b']) {
      workers.push(await spawnWorker(g.base, farm, {
        hostName: `mh${h}-${suffix}`, databaseUrl: links[h].db.rewrite(g.db.url), redisUrl: links[h].redis.rewrite(g.redis.url),
      }));
    }
  });
  it('a host cut off mid-session: its session runs elsewhere or when it returns, every session stored exactly once', async () => {
    const [a] = workers;
    const artifact = await farm.upload();
    const runId = await farm.submit(artifact, { sessions: 10, iterations: 200, warmup: 2 });
    await waitFor('host a running a session', async () => (await currentJobOf(farm.db, a.deviceId)) !== null, 120_000, 20);
    links.a.db.stall();
    links.a.redis.stall();
    const cut = Date.now();
    // Host b finishes the run alone (host a's job comes back once its lock lapses).
    const r = await farm.waitForRun(runId, 120_000);
    console.log(`      (host a cut off → run done on host b in ${((Date.now() - cut) / 1000).toFixed(1)} s)`);
    assert.deepEqual(r, { status: 'done', sessions: 10, distinct: 10, planned: 10 });
    // Host a comes back: whatever it still held is a duplicate, refused by the unique key.
    await links.a.db.restore();
    await links.a.redis.restore();
    await new Promise((res) => setTimeout(res, 3000));
    assert.equal(await storedSessions(farm.db, runId), 10);
    assert.equal(a.proc.exitCode, null, 'host a rode it out');
    // And serves again.
    const next = await farm.submit(artifact, { sessions: 4, iterations: 20, warmup: 1 });
    assert.deepEqual(await farm.waitForRun(next, 120_000), { status: 'done', sessions: 4, distinct: 4, planned: 4 });
  });

  it('a host killed with SIGKILL mid-session: the other host runs its session, stored once', async () => {
    const b = workers[1];
    const artifact = await farm.upload();
    const runId = await farm.submit(artifact, { sessions: 8, iterations: 200, warmup: 2 });
    await waitFor('host b running a session', async () => (await currentJobOf(farm.db, b.deviceId)) !== null, 120_000, 20);
    await b.kill('SIGKILL');
    const killed = Date.now();
    const r = await farm.waitForRun(runId, 120_000);
    console.log(`      (host b killed → run done on host a in ${((Date.now() - killed) / 1000).toFixed(1)} s)`);
    assert.deepEqual(r, { status: 'done', sessions: 8, distinct: 8, planned: 8 });
  });
});
