import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getConversion, getJob } from '@pocketbench/db';
import { ArtifactCache } from '../../services/worker/src/artifact-cache.js';
import { ConversionWorker } from '../../services/worker/src/conversion/conversion-worker.js';
import { detectConverter, type ConverterCapability } from '../../services/worker/src/conversion/converter.js';
import { device, registerDevices, startTestApi, type TestApi } from '../api/helpers.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { quietLogger, waitFor } from '../worker/support.js';
import { makeConversionModels, type ConversionModels } from './support.js';

/**
 * The conversion consumer against a real api, Postgres and Redis, with the api behind a TCP fault
 * proxy: an infrastructure fault (the api unreachable for the download) is retried by the queue
 * and the conversion then completes once, with its cells stored.
 */
describe('conversion/ConversionWorker: infrastructure faults are retried', function () {
  this.timeout(180_000);
  let api: TestApi;
  let tmp: string;
  let models: ConversionModels;
  let proxy: FaultProxy;
  let worker: ConversionWorker | undefined;
  let converter: ConverterCapability;

  before(async () => {
    api = await startTestApi();
    tmp = await mkdtemp(path.join(tmpdir(), 'pb-conv-worker-'));
    models = await makeConversionModels(path.join(tmp, 'models'));
    await registerDevices(api, [device({ id: 'h1' })]);
    const found = await detectConverter('/usr/bin/python3');
    assert.ok(!('unavailable' in found));
    converter = found;
    proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(api.url).port) });
  });
  after(async () => {
    await worker?.close();
    await proxy?.close();
    await api?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('retries a conversion whose download failed and completes it once the api answers again', async () => {
    const form = new FormData();
    form.append('model', 'convnet');
    form.append('file', new Blob([new Uint8Array(await readFile(models.convnet))]), 'convnet.pt');
    const parent = (await (await fetch(`${api.url}/api/v1/artifacts`, { method: 'POST', body: form })).json()) as { id: string };
    const run = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [parent.id], backends: ['cpu'], devices: ['host-x86_64'], variants: ['fp32'] }, config: { inputs: [{ name: 'x', shape: [1, 1, 8, 8], dtype: 'float32' }] } },
    });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    const conversionId = run.body.conversions[0].id as string;

    await proxy.refuse();
    const apiUrl = `http://127.0.0.1:${proxy.port}`;
    worker = new ConversionWorker({
      converter, db: api.db.pool, cache: new ArtifactCache({ dir: path.join(tmp, 'cache'), apiUrl }),
      connection: { host: '127.0.0.1', port: Number(new URL(process.env.POCKETBENCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379), maxRetriesPerRequest: null },
      queuePrefix: api.prefix, hostName: 'test-converter', apiUrl, workDir: path.join(tmp, 'work'), logger: quietLogger(),
    });
    await worker.start();
    await waitFor('the first attempt to fail', async () => ((await getConversion(api.db.pool, conversionId))!.attempts >= 1) || undefined, 30_000, 100);
    // ECONNREFUSED fails that attempt at once; the retry comes after the 2 s backoff (on a loaded
    // machine this poll may see the failure late, and a second refused attempt is also fine).
    await new Promise((r) => setTimeout(r, 1000));
    await proxy.restore();
    const done = await waitFor('the conversion to be done', async () => {
      const c = (await getConversion(api.db.pool, conversionId))!;
      return c.status === 'done' ? c : undefined;
    }, 60_000, 200);
    assert.ok(done.attempts >= 2 && done.attempts <= 3, `converted on a retry after the refused download (attempts ${done.attempts})`);
    assert.equal(done.workerHost, 'test-converter');
    const cell = await getJob(api.db.pool, `${run.body.id}.0`);
    assert.equal(cell?.status, 'queued');
    assert.equal(cell?.artifactId, done.outputArtifactId);
  });
});
