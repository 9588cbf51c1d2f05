import assert from 'node:assert/strict';
import {
  heartbeat, listDevices, markSilentDevicesOffline, recordDeviceOutcome, releaseDevice, upsertDevice, type DeviceRegistration,
} from '@pocketbench/db';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

describe('db/queries/devices', () => {
  let db: TestDatabase;
  before(async () => { db = await createTestDatabase(); });
  after(async () => db?.drop());

  const dev = (id: string, ttl = 15000): DeviceRegistration => ({
    id, name: id, platform: 'linux', arch: 'x86_64', deviceModel: 'box', pool: 'host-x86_64', host: 'h1',
    backends: ['cpu'], heartbeatTtlMs: ttl,
  });

  it('registers, heartbeats and lists devices with state and current job', async () => {
    const row = await upsertDevice(db.pool, dev('d1'));
    assert.equal(row.state, 'online');
    assert.deepEqual(await heartbeat(db.pool, 'd1', { state: 'busy', currentJobId: 'r.0.head.0' }), { state: 'busy', stateReason: null });
    const [d] = await listDevices(db.pool);
    assert.equal(d.state, 'busy');
    assert.equal(d.currentJobId, 'r.0.head.0');
    assert.equal(await heartbeat(db.pool, 'unknown', { state: 'online' }), undefined);
  });

  it('the reaper marks devices silent past their TTL offline, and only those', async () => {
    await upsertDevice(db.pool, dev('quiet', 50));
    await upsertDevice(db.pool, dev('chatty', 60_000));
    await new Promise((r) => setTimeout(r, 120));
    const ids = await markSilentDevicesOffline(db.pool);
    assert.ok(ids.includes('quiet'));
    assert.ok(!ids.includes('chatty'));
    const quiet = (await listDevices(db.pool)).find((d) => d.id === 'quiet')!;
    assert.equal(quiet.state, 'offline');
    assert.match(quiet.stateReason!, /no heartbeat since/);
    assert.equal((await heartbeat(db.pool, 'quiet', { state: 'online' }))!.state, 'online', 'a heartbeat brings it back');
  });

  it('quarantines after N consecutive failures, keeps it through heartbeats and re-registration, until released', async () => {
    await upsertDevice(db.pool, dev('flaky'));
    await recordDeviceOutcome(db.pool, 'flaky', false, 3, 'appium lost');
    await recordDeviceOutcome(db.pool, 'flaky', true, 3);
    await recordDeviceOutcome(db.pool, 'flaky', false, 3, 'appium lost');
    assert.equal((await recordDeviceOutcome(db.pool, 'flaky', false, 3, 'appium lost'))!.state, 'online');
    const q = await recordDeviceOutcome(db.pool, 'flaky', false, 3, 'session lost');
    assert.deepEqual(q, { state: 'quarantined', consecutiveFailures: 3 });
    assert.equal((await heartbeat(db.pool, 'flaky', { state: 'online' }))!.state, 'quarantined');
    assert.equal((await upsertDevice(db.pool, dev('flaky'))).state, 'quarantined');
    const row = (await listDevices(db.pool, { pool: 'host-x86_64' })).find((d) => d.id === 'flaky')!;
    assert.match(row.stateReason!, /3 consecutive failed sessions; last: session lost/);
    const released = await releaseDevice(db.pool, 'flaky');
    assert.equal(released!.state, 'online');
    assert.equal(released!.consecutiveFailures, 0);
  });
});
