import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { conversionQueueName, queueNameForPool } from '@pocketbench/contracts';
import { reconcileConversions } from '../../services/api/src/domain/conversions/variant-run.js';
import { CONVERT_SCRIPT } from '../../services/worker/src/conversion/converter.js';
import { makeConversionModels, type ConversionModels } from '../conversion/support.js';
import { device, registerDevices, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

const exec = promisify(execFile);

async function uploadFile(api: TestApi, route: string, file: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(await readFile(file))]), path.basename(file));
  const res = await fetch(`${api.url}${route}`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as any };
}

describe('api/variants: a TorchScript model in, conversions queued, variant cells out', function () {
  this.timeout(120_000);
  let api: TestApi;
  let tmp: string;
  let models: ConversionModels;
  let conversionQueue: Queue;
  let parentId: string;

  const variantsRun = (over: Record<string, unknown> = {}, conversion: Record<string, unknown> = {}) => ({
    matrix: { artifacts: [parentId], backends: ['cpu'], devices: ['host-x86_64'], variants: ['fp32', 'int8-dynamic', 'int8-static'], ...over },
    conversion,
    config: { iterations: 3, warmup: 1 },
  });
  const counts = async () => {
    const { rows } = await api.db.pool.query<{ runs: number; conversions: number }>(
      'SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM conversions) AS conversions');
    return { ...rows[0], queued: (await conversionQueue.getJobs(['waiting', 'delayed', 'active'])).length };
  };

  before(async () => {
    api = await startTestApi();
    tmp = await mkdtemp(path.join(tmpdir(), 'pb-variants-'));
    models = await makeConversionModels(tmp);
    await registerDevices(api, [device({ id: 'h1' })]);
    conversionQueue = new Queue(conversionQueueName(api.prefix), { connection: api.redis, prefix: api.prefix });
    const up = await uploadFile(api, '/api/v1/artifacts', models.convnet, { model: 'convnet' });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal(up.body.format, 'pt');
    parentId = up.body.id;
  });
  after(async () => {
    await conversionQueue?.close();
    await api?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('refuses bad input before anything is stored or queued, naming the problem', async () => {
    const before = await counts();
    const onnx = await upload(api, tinyOnnx('variants-test'), { model: 'relu' });
    const notTorchScript = await api.call('POST', '/api/v1/runs', { body: { ...variantsRun({ artifacts: [onnx.body.id] }) } });
    assert.equal(notTorchScript.status, 422);
    assert.match(notTorchScript.body.error.message, /is a onnx file; variants are converted from an fp32 TorchScript model/);

    const badRecipe = await api.call('POST', '/api/v1/runs', { body: variantsRun({ variants: ['fp32', 'int4'] }) });
    assert.equal(badRecipe.status, 422);
    assert.match(badRecipe.body.error.message, /matrix\.variants\[1\] is "int4", expected one of fp32, int8-dynamic, int8-static/);

    const wrong = await uploadFile(api, '/api/v1/calibrations', models.calibrationWrong);
    assert.equal(wrong.status, 201, JSON.stringify(wrong.body));
    assert.deepEqual(wrong.body.shape, [4, 3, 8, 8]);
    const badShape = await api.call('POST', '/api/v1/runs', {
      body: { ...variantsRun({}, { calibration: wrong.body.id }), config: { inputs: [{ name: 'x', shape: [1, 1, 8, 8], dtype: 'float32' }] } },
    });
    assert.equal(badShape.status, 422);
    assert.match(badShape.body.error.message, /calibration set's samples are 3×8×8 .* but the model input is 1×1×8×8/);

    const notNpz = await uploadFile(api, '/api/v1/calibrations', models.convnet);
    assert.equal(notNpz.status, 422);
    assert.match(notNpz.body.error.message, /calibration set: the \.npz holds ".*", which is not an \.npy array|not an \.npz/);

    const direct = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [parentId], backends: ['cpu'], devices: ['host-x86_64'] } } });
    assert.equal(direct.status, 422);
    assert.match(direct.body.error.message, /TorchScript model \(\.pt\), which no device runs: submit it with variants/);

    const calibrationWithoutStatic = await api.call('POST', '/api/v1/runs', { body: variantsRun({ variants: ['fp32'] }, { calibrationSamples: 4 }) });
    assert.equal(calibrationWithoutStatic.status, 422);
    assert.match(calibrationWithoutStatic.body.error.message, /only used by the int8-static variant/);

    assert.deepEqual(await counts(), before, 'no run, no conversion, no queue job');
  });

  it('stores the run and one conversion per variant, queued under deterministic ids; the same request shares them', async () => {
    const cal = await uploadFile(api, '/api/v1/calibrations', models.calibration);
    assert.equal(cal.status, 201);
    const first = await api.call('POST', '/api/v1/runs', { body: variantsRun({}, { calibration: cal.body.id }) });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.deepEqual(first.body.warnings, []);
    assert.equal(first.body.parentArtifact.id, parentId);
    assert.deepEqual(first.body.conversions.map((c: any) => [c.variant, c.format, c.status]), [
      ['fp32', 'ptl', 'queued'], ['int8-dynamic', 'ptl', 'queued'], ['int8-static', 'ptl', 'queued'],
    ]);
    assert.deepEqual(first.body.cells, [], 'cells appear when their conversion ends');
    assert.equal(first.body.progress.jobsTotal, 3);
    assert.deepEqual(first.body.config.inputs, [{ name: 'input', shape: [1, 1, 8, 8], dtype: 'float32' }], 'input shape taken from the calibration set');
    const ids = first.body.conversions.map((c: any) => c.id);
    const jobs = await conversionQueue.getJobs(['waiting']);
    assert.deepEqual(jobs.map((j) => j.id).sort(), [...ids].sort());
    const staticJob = jobs.find((j) => j.data.variant === 'int8-static')!;
    assert.equal(staticJob.data.calibration.sha256, cal.body.sha256);

    const second = await api.call('POST', '/api/v1/runs', { body: variantsRun({}, { calibration: cal.body.id }) });
    assert.equal(second.status, 201);
    assert.deepEqual(second.body.conversions.map((c: any) => c.id), ids, 'same parent and recipe: the same conversions');
    assert.equal((await conversionQueue.getJobs(['waiting'])).length, 3, 'and no second job');

    const generated = await api.call('POST', '/api/v1/runs', { body: { ...variantsRun({ variants: ['int8-static'] }, { calibrationSamples: 4 }), config: { inputs: [{ name: 'x', shape: [1, 1, 8, 8], dtype: 'float32' }] } } });
    assert.equal(generated.status, 201);
    assert.match(generated.body.warnings[0], /int8-static is calibrated on 4 generated inputs .*real data calibrates better/);
    assert.notEqual(generated.body.conversions[0].id, ids[2], 'another calibration is another recipe');
  });

  it('rebuilds a lost conversion queue from Postgres', async () => {
    await conversionQueue.obliterate({ force: true });
    assert.equal((await conversionQueue.getJobs(['waiting'])).length, 0);
    const r = await reconcileConversions({ db: api.db.pool, queues: api.server.deps.queues, conversions: api.server.deps.conversions });
    assert.equal(r.enqueued, 4);
    assert.equal((await conversionQueue.getJobs(['waiting'])).length, 4);
  });

  it('turns a reported output into a variant artifact with parent and recipe, and stores and queues its cells; a failure makes them unsupported naming the op', async () => {
    const runs = await api.call('GET', '/api/v1/runs');
    const runId = runs.body.runs.at(-1).id;
    const view = (await api.call('GET', `/api/v1/runs/${runId}`)).body;
    const fp32 = view.conversions[0];
    const out = path.join(tmp, 'model.ptl');
    const { stdout } = await exec('/usr/bin/python3', [CONVERT_SCRIPT, '--model', models.convnet, '--recipe', 'fp32', '--out', out, '--input-shape', '1x1x8x8']);
    const { recipe } = JSON.parse(stdout);
    const form = new FormData();
    form.set('recipe', JSON.stringify(recipe));
    form.set('file', new Blob([new Uint8Array(await readFile(out))]), 'model.ptl');
    const res = await fetch(`${api.url}/api/v1/conversions/${fp32.id}/output`, { method: 'POST', body: form });
    const artifact = (await res.json()) as any;
    assert.equal(res.status, 201, JSON.stringify(artifact));
    assert.equal(artifact.format, 'ptl');
    assert.equal(artifact.variant, 'fp32');
    assert.equal(artifact.model, 'convnet');
    assert.equal(artifact.parentArtifactId, parentId);
    assert.equal(artifact.recipe.torchVersion, recipe.torchVersion);

    const again = await fetch(`${api.url}/api/v1/conversions/${fp32.id}/output`, { method: 'POST', body: form });
    assert.equal(again.status, 200, 'a retried report changes nothing');

    const fail = await api.call('POST', `/api/v1/conversions/${view.conversions[2].id}/failure`, {
      body: { status: 'unsupported', errorClass: 'unsupported_op', reason: 'int8-static ptl: quantized::conv3d has no qnnpack kernel', op: 'quantized::conv3d' },
    });
    assert.equal(fail.status, 200, JSON.stringify(fail.body));

    const after = (await api.call('GET', `/api/v1/runs/${runId}`)).body;
    assert.deepEqual(after.cells.map((c: any) => [c.cellIndex, c.artifact.variant, c.status]), [[0, 'fp32', 'queued'], [2, 'int8-static', 'unsupported']]);
    assert.match(after.cells[1].reason, /quantized::conv3d/);
    assert.equal(after.progress.jobsFinished, 1);
    assert.equal(after.status, 'running');
    const sessions = new Queue(queueNameForPool('host-x86_64', api.prefix), { connection: api.redis, prefix: api.prefix });
    try {
      // Both runs that asked for this fp32 conversion get their cell.
      const queued = await sessions.getJobs(['waiting']);
      assert.equal(queued.length, 2);
      assert.ok(queued.every((j) => j.data.artifact.id === artifact.id));
      assert.ok(queued.some((j) => j.data.runId === runId));
      assert.deepEqual(queued[0].data.config.inputs, [{ name: 'input', shape: [1, 1, 8, 8], dtype: 'float32' }]);
    } finally {
      await sessions.close();
    }
    const lineage = await api.call('GET', `/api/v1/artifacts?parent=${parentId}`);
    assert.deepEqual(lineage.body.artifacts.map((a: any) => a.id), [artifact.id]);
  });
});
