import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { getDevice } from '@pocketbench/db';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { TEST_REDIS_URL, testQueuePrefix } from '../support/redis.js';
import { ArtifactCache } from '../../services/worker/src/artifact-cache.js';
import { DeviceWorker } from '../../services/worker/src/device-worker.js';
import type { DeviceInfo, DeviceSession, DeviceStateSnapshot } from '../../services/worker/src/devices/device-session.js';
import { quietLogger, testWorkerConfig } from './support.js';

/** A phone's facts as the Android adapter reads them (the phone is the one thing that cannot exist here). */
const PHONE_INFO: DeviceInfo = {
  arch: 'aarch64', cpuModel: 'Tensor G2', cores: 8, memoryBytes: 8e9, os: 'Android', osVersion: '14', deviceModel: 'Pixel 7',
  backends: ['cpu', 'nnapi'], soc: 'GS201', abi: 'arm64-v8a',
};

describe('worker/device-worker: registration (real Postgres and Redis)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => db?.drop());

  it('registers again with the same facts (soc, abi) when its row went missing', async () => {
    const session: DeviceSession = {
      device: { id: 'pixel-1', name: 'pixel-1', platform: 'android', pool: 'pixel-7', emulated: false, capabilities: {} },
      info: async () => ({ ...PHONE_INFO }),
      state: async (): Promise<DeviceStateSnapshot> => ({ takenAt: new Date().toISOString(), thermalZones: {}, cpuFreqKhz: [], loadAvg: [0, 0, 0] }),
      runHarness: () => Promise.reject(new Error('not used')),
      close: async () => undefined,
    };
    const prefix = testQueuePrefix();
    const config = testWorkerConfig(db, prefix);
    const dw = new DeviceWorker({
      device: session.device, db: db.pool, cache: new ArtifactCache({ dir: path.join(os.tmpdir(), prefix), apiUrl: config.apiUrl }),
      connection: { host: new URL(TEST_REDIS_URL).hostname, port: Number(new URL(TEST_REDIS_URL).port || 6379), maxRetriesPerRequest: null }, queuePrefix: prefix, hostName: 'test-host', openSession: async () => session,
      logger: quietLogger(), heartbeatMs: 60_000, heartbeatTtlMs: 90_000, policy: config.session, shutdownGraceMs: 1000,
    });
    try {
      await dw.start();
      const first = await getDevice(db.pool, 'pixel-1');
      assert.equal(first?.soc, 'GS201');
      assert.equal(first?.abi, 'arm64-v8a');
      await db.pool.query(`DELETE FROM devices WHERE id = 'pixel-1'`);
      await dw.beat();
      const again = await getDevice(db.pool, 'pixel-1');
      assert.ok(again, 'registered again');
      assert.equal(again.soc, 'GS201');
      assert.equal(again.abi, 'arm64-v8a');
      assert.equal(again.deviceModel, 'Pixel 7');
    } finally {
      await dw.close();
    }
  });
});
