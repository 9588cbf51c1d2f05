import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from '../worker/support.js';
import { currentJobOf, faultGround, startFarm, storedSessions, type Farm } from './farm.js';

/** Live processes whose command line mentions `needle` (the harness runs in the device's work dir). */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      if (/^\d+ \(.*\) Z /.test(stat)) return [];
      return readFileSync(`/proc/${d}/cmdline`, 'latin1').includes(needle) ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Cancelling a run whose session is running stops the harness on the device through the driver
 * (the worker deletes its Appium session, the driver kills what it started) within seconds, frees
 * the device for the next run and stores nothing for the cancelled one.
 */
describe('faults: a run cancelled while its session runs', function () {
  this.timeout(240_000);
  let farm: Farm | undefined;
  const g = faultGround(async () => farm?.close());

  it('frees the device within seconds through the driver and stores nothing for it', async () => {
    const deviceId = `cx-${Math.random().toString(36).slice(2, 7)}`;
    farm = await startFarm(g.base, g.db.url, { databaseUrl: g.db.url, redisUrl: g.redis.url, hosts: [[deviceId]], pool: 'faults-cancel' });
    const artifact = await farm.upload();
    // A session that would run for two minutes.
    const runId = await farm.submit(artifact, { sessions: 1, iterations: 10, warmup: 1, minDurationMs: 60_000, timeoutSec: 600 });
    await waitFor('the session running', async () => (await currentJobOf(farm!.db, deviceId)) !== null, 120_000, 50);
    await waitFor('the harness process on the device', async () => processesMentioning(`${g.base.workRoot}/${deviceId}`).length > 0, 60_000, 100);

    const cancelled = Date.now();
    const res = await fetch(`${farm.api.url}/api/v1/runs/${runId}/cancel`, { method: 'POST' });
    assert.equal(res.status, 200);
    await waitFor('the device free', async () => (await currentJobOf(farm!.db, deviceId)) === null, 30_000, 50);
    await waitFor('the harness gone', async () => processesMentioning(`${g.base.workRoot}/${deviceId}`).length === 0, 30_000, 50);
    const freedMs = Date.now() - cancelled;
    console.log(`      (cancel → harness stopped and device free in ${(freedMs / 1000).toFixed(1)} s)`);
    assert.ok(freedMs < 10_000, `freed in ${freedMs} ms`);

    // The device takes the next run at once; the cancelled one never gets a session.
    const next = await farm.submit(artifact, { sessions: 2, iterations: 20, warmup: 1 });
    assert.deepEqual(await farm.waitForRun(next, 120_000), { status: 'done', sessions: 2, distinct: 2, planned: 2 });
    assert.equal(await storedSessions(farm.db, runId), 0);
    const { rows } = await farm.db.query<{ state: string; consecutive_failures: number }>('SELECT state, consecutive_failures FROM devices WHERE id = $1', [deviceId]);
    assert.equal(rows[0].consecutive_failures, 0, 'a cancel is not the device\'s fault');
  });
});
