import assert from 'node:assert/strict';
import { loadConfig } from '../../services/worker/src/config.js';

describe('worker/config', () => {
  it('parses defaults once: heartbeat 5 s, TTL 1.5 periods, reaper a quarter period', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' });
    assert.equal(c.heartbeatMs, 5000);
    assert.equal(c.heartbeatTtlMs, 7500);
    assert.equal(c.reaperMs, 1250);
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.apiUrl, 'http://127.0.0.1:8080');
    assert.equal(c.session.quarantineAfter, 3);
    assert.equal(c.deviceFilter, undefined);
    assert.equal(c.hostDeviceHarness, 'auto');
  });

  it('names the variable that is missing or wrong', () => {
    assert.throws(() => loadConfig({}), /DATABASE_URL is not set/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://x/db', POCKETBENCH_HEARTBEAT_MS: 'soon' }), /POCKETBENCH_HEARTBEAT_MS must be an integer/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://x/db', REDIS_URL: 'not a url' }), /REDIS_URL is not a valid URL/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://x/db', POCKETBENCH_CV_CAP: '-1' }), /POCKETBENCH_CV_CAP/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://x/db', POCKETBENCH_HOST_DEVICE_HARNESS: 'fast' }), /POCKETBENCH_HOST_DEVICE_HARNESS must be auto, native or node, got "fast"/);
  });

  it('reads the device filter as ids or pools', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://x/db', POCKETBENCH_WORKER_DEVICES: 'host-x86_64, qemu-arm64' });
    assert.deepEqual(c.deviceFilter, ['host-x86_64', 'qemu-arm64']);
  });
});
