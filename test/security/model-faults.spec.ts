// The attack catalogue of issue 11, row 10: one project's model or input must never quarantine
// a shared device. The whole loop: the api, a worker host serving a device through a real
// Appium server with our driver and the real harness, real Postgres and Redis.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getDevice } from '@pocketbench/db';
import { loadConfig, startWebServer, type WebServer } from '../../services/api/src/index.js';
import { checkFitsDevice, MAX_TRANSFER_BYTES } from '../../services/worker/src/session/device-fit.js';
import { loadDeviceLayer } from '../../services/worker/src/device-layer.js';
import { WorkerHost } from '../../services/worker/src/worker-host.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { TEST_REDIS_URL, testQueuePrefix } from '../support/redis.js';
import { cloneDevice, fixturePaths, quietLogger, SHARED_DATA_DIR, testWorkerConfig, waitFor } from '../worker/support.js';
import { ADMIN } from './support.js';

const GiB = 1024 ** 3;

describe('security: a model fault never quarantines a shared device (issue 11, row 10)', function () {
  this.timeout(600_000);

  it('judges the model and its inputs against the device before a session', () => {
    const input = (shape: number[]) => [{ name: 'x', shape, dtype: 'float32' as const }];
    const device = { memoryBytes: 8 * GiB };
    assert.doesNotThrow(() => checkFitsDevice({ sizeBytes: 14 * 1024 * 1024 }, input([1, 3, 224, 224]), device));
    assert.throws(() => checkFitsDevice({ sizeBytes: 400 * 1024 * 1024 }, input([1]), device), (e: Error & { errorClass?: string }) =>
      e.errorClass === 'model_too_large' && /400\.0 MiB, more than the 320\.0 MiB one transfer/.test(e.message));
    assert.throws(() => checkFitsDevice({ sizeBytes: MAX_TRANSFER_BYTES / 2 }, input([1]), { memoryBytes: 64 * 1024 * 1024 }), /more than the device's 64\.0 MiB of memory/);
    assert.throws(() => checkFitsDevice({ sizeBytes: 1000 }, input([1024, 1024, 1024]), device), (e: Error & { errorClass?: string }) =>
      e.errorClass === 'input_too_large' && /4096\.0 MiB per inference/.test(e.message));
    assert.doesNotThrow(() => checkFitsDevice({ sizeBytes: 1000 }, input([1024, 1024, 1024]), { memoryBytes: 0 }), 'unknown memory is not judged');
  });

  describe('through the api and a worker', () => {
    let db: TestDatabase;
    let api: WebServer;
    let host: WorkerHost;
    let tmp: string;
    let deviceId: string;
    let onnx: string;
    const call = async (method: string, p: string, token: string, body?: unknown) => {
      const res = await fetch(`${api.url}${p}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const upload = async (token: string, model: string) => {
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(await readFile(onnx))]), `${model}.onnx`);
      form.set('model', model);
      const res = await fetch(`${api.url}/api/v1/artifacts`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
      return (await res.json()) as { id: string };
    };
    const finished = (token: string, runId: string) =>
      waitFor(`run ${runId} finished`, async () => {
        const r = await call('GET', `/api/v1/runs/${runId}`, token);
        return ['done', 'failed', 'cancelled'].includes(r.body.status) ? r.body : undefined;
      }, 240_000, 250);

    before(async function () {
      this.timeout(900_000);
      db = await createTestDatabase();
      tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-sec-faults-'));
      ({ onnx } = await fixturePaths());
      const prefix = testQueuePrefix();
      api = await startWebServer({
        config: loadConfig({
          PORT: '0', DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, POCKETBENCH_TOKEN: ADMIN, POCKETBENCH_DATA_DIR: path.join(tmp, 'api'),
          POCKETBENCH_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent',
          // The farm allows large inputs; the device still refuses what it cannot hold.
          POCKETBENCH_MAX_INPUT_MB: String(64 * 1024),
        }),
        migrate: false,
      });
      const layer = await loadDeviceLayer();
      const local = (await layer.discoverLocalDevices({ dataDir: SHARED_DATA_DIR })).find((d) => !d.emulated && d.platform === 'linux')!;
      deviceId = `shared-${prefix.slice(-6)}`;
      const worker = await call('POST', '/api/v1/tokens', ADMIN, { kind: 'worker', name: 'faults-host' });
      host = new WorkerHost({
        config: {
          ...testWorkerConfig(db, prefix, { session: { quarantineAfter: 2 } }),
          apiUrl: api.url, apiToken: worker.body.token, cacheDir: path.join(tmp, 'worker-cache'),
        },
        deviceLayer: layer,
        devices: [cloneDevice(local, deviceId, `shared-pool-${prefix.slice(-6)}`, path.join(tmp, 'devices'))],
        logger: quietLogger(),
      });
      await host.start();
    });
    after(async () => {
      await host?.close().catch(() => undefined);
      await api?.close().catch(() => undefined);
      await db?.drop();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it('inputs too large for the device fail one project\'s cells as its model\'s fault; the device serves the next project', async () => {
      const alpha = (await call('POST', '/api/v1/tokens', ADMIN, { project: 'alpha' })).body.token as string;
      const beta = (await call('POST', '/api/v1/tokens', ADMIN, { project: 'beta' })).body.token as string;
      const art = await upload(alpha, 'greedy');
      const device = (await getDevice(db.pool, deviceId))!;
      const memory = Number((device.info as { memoryBytes?: number }).memoryBytes);
      assert.ok(memory > 0, 'the device reports its memory');
      // One inference's inputs: half the device's memory, in float32.
      const elements = Math.ceil(memory / 2 / 4 / (1024 * 1024));
      // More model faults in a row than quarantineAfter (2).
      for (let i = 0; i < 3; i++) {
        const run = await call('POST', '/api/v1/runs', alpha, {
          matrix: { artifacts: [art.id], backends: ['cpu'], devices: [deviceId] },
          config: { iterations: 5, warmup: 1, inputs: [{ name: 'input', shape: [elements, 1024, 1024], dtype: 'float32' }] },
        });
        assert.equal(run.status, 201, JSON.stringify(run.body));
        const done = await finished(alpha, run.body.id);
        assert.equal(done.status, 'failed');
        const results = await call('GET', `/api/v1/runs/${run.body.id}/results`, alpha);
        const cell = results.body.cells[0];
        assert.equal(cell.errorClass ?? cell.error_class, 'input_too_large', JSON.stringify(cell).slice(0, 400));
        assert.match(JSON.stringify(cell), /more than the .* a session may use for them/);
      }
      const after = (await getDevice(db.pool, deviceId))!;
      assert.notEqual(after.state, 'quarantined');
      assert.equal(after.consecutiveFailures, 0, 'no model fault counted against the device');

      const theirs = await upload(beta, 'fine');
      const run = await call('POST', '/api/v1/runs', beta, { matrix: { artifacts: [theirs.id], backends: ['cpu'], devices: [deviceId] }, config: { iterations: 5, warmup: 1 } });
      assert.equal(run.status, 201, JSON.stringify(run.body));
      const done = await finished(beta, run.body.id);
      assert.equal(done.status, 'done', JSON.stringify(done).slice(0, 400));
    });
  });
});
