import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { upsertDevice } from '@pocketbench/db';
import { device, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

/** An .npz written by numpy from Python expressions per member. */
async function npz(dir: string, name: string, members: Record<string, string>): Promise<Buffer> {
  const file = path.join(dir, name);
  execFileSync('/usr/bin/python3', ['-c', `import numpy as np; np.savez(${JSON.stringify(file)}, ${Object.entries(members).map(([k, v]) => `${k}=${v}`).join(', ')})`]);
  return readFile(file);
}

async function uploadEvalSet(api: TestApi, bytes: Buffer, fields: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(bytes)]), 'eval.npz');
  const res = await fetch(`${api.url}/api/v1/eval-sets`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() };
}

describe('api/eval-sets and fidelity run config', () => {
  let api: TestApi;
  let dir: string;
  let good: Buffer;

  before(async () => {
    api = await startTestApi({ POCKETBENCH_MAX_EVAL_SET_MB: '1' });
    dir = await mkdtemp(path.join(tmpdir(), 'pb-eval-'));
    good = await npz(dir, 'good.npz', { inputs: 'np.random.RandomState(0).rand(20, 1, 8, 8).astype(np.float32)', labels: 'np.arange(20) % 10' });
    await upsertDevice(api.db.pool, device({ id: 'ev-1', pool: 'ev-pool', backends: ['cpu'] }));
  });
  after(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const storeFiles = async () => (await readdir(path.join(api.dataDir, 'artifacts'), { recursive: true }).catch(() => [])).filter((f) => /[0-9a-f]{64}$/.test(String(f))).length;
  const rows = async () => Number((await api.db.pool.query('SELECT count(*) FROM eval_sets')).rows[0].count);

  it('stores a valid eval set by sha256 with its facts, once', async () => {
    const a = await uploadEvalSet(api, good);
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(a.body.samples, 20);
    assert.deepEqual(a.body.sampleShape, [1, 8, 8]);
    assert.deepEqual(a.body.labels, { min: 0, max: 9 });
    assert.equal(a.body.inputDtype, 'f4');
    const again = await uploadEvalSet(api, good);
    assert.equal(again.status, 200);
    assert.equal(again.body.sha256, a.body.sha256);
    const got = await api.call('GET', `/api/v1/eval-sets/${a.body.sha256}`);
    assert.equal(got.status, 200);
    // Workers fetch it like a model, by hash.
    const content = await fetch(`${api.url}/api/v1/artifacts/${a.body.sha256}/content`);
    assert.equal(content.status, 200);
    assert.deepEqual(Buffer.from(await content.arrayBuffer()), good);
  });

  it('refuses bad eval sets with 422 naming the problem, leaving no row and no file', async () => {
    const beforeFiles = await storeFiles();
    const beforeRows = await rows();
    const cases: [Record<string, string>, RegExp][] = [
      [{ inputs: 'np.zeros((3, 4))', labels: 'np.array([1, -2, 0])' }, /labels\[1\] is -2/],
      [{ inputs: 'np.zeros((3, 4))', labels: 'np.array([1, 2])' }, /labels: shape \[2\] does not fit 3 inputs/],
      [{ inputs: 'np.zeros((3, 4))' }, /no 'labels' array/],
    ];
    for (const [i, [members, message]] of cases.entries()) {
      const r = await uploadEvalSet(api, await npz(dir, `bad-${i}.npz`, members));
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'invalid_eval_set');
      assert.match(r.body.error.message, message);
    }
    const notNpz = await uploadEvalSet(api, Buffer.from('just text'));
    assert.equal(notNpz.status, 422);
    assert.match(notNpz.body.error.message, /not an \.npz file/);
    assert.equal(await storeFiles(), beforeFiles);
    assert.equal(await rows(), beforeRows);
  });

  it('refuses an eval set over POCKETBENCH_MAX_EVAL_SET_MB with 413', async () => {
    const big = await npz(dir, 'big.npz', { inputs: 'np.zeros((40000, 8), np.float32)', labels: 'np.zeros(40000, np.int64)' });
    const r = await uploadEvalSet(api, big);
    assert.equal(r.status, 413);
    assert.match(r.body.error.message, /POCKETBENCH_MAX_EVAL_SET_MB/);
  });

  it('refuses a run whose eval set does not fit its declared input, or names an unknown eval set or reference (422, no run)', async () => {
    const evalSha = (await uploadEvalSet(api, good)).body.sha256 as string;
    const art = await upload(api, tinyOnnx('fid-a'), { model: 'fid' });
    const runsBefore = Number((await api.db.pool.query('SELECT count(*) FROM runs')).rows[0].count);
    const body = (config: unknown) => ({ matrix: { artifacts: [art.body.id], backends: ['cpu'], devices: ['ev-pool'] }, config });
    const misfit = await api.call('POST', '/api/v1/runs', { body: body({ inputs: [{ name: 'x', shape: [1, 3, 32, 32], dtype: 'float32' }], fidelity: { evalSet: evalSha } }) });
    assert.equal(misfit.status, 422);
    assert.match(misfit.body.error.message, /config\.fidelity\.evalSet: eval set samples have shape \[1, 8, 8\], which does not fit the model input \[1, 3, 32, 32\]/);
    const unknown = await api.call('POST', '/api/v1/runs', { body: body({ fidelity: { evalSet: 'f'.repeat(64) } }) });
    assert.equal(unknown.status, 422);
    assert.match(unknown.body.error.message, /config\.fidelity\.evalSet: no eval set with sha256 f{64}/);
    const badRef = await api.call('POST', '/api/v1/runs', { body: body({ fidelity: { reference: '00000000-0000-0000-0000-000000000000' } }) });
    assert.equal(badRef.status, 422);
    assert.match(badRef.body.error.message, /config\.fidelity\.reference: unknown artifact/);
    const nothing = await api.call('POST', '/api/v1/runs', { body: body({ fidelity: { inputs: 0 } }) });
    assert.equal(nothing.status, 422);
    assert.match(nothing.body.error.message, /nothing to measure/);
    assert.equal(Number((await api.db.pool.query('SELECT count(*) FROM runs')).rows[0].count), runsBefore);
  });

  it('gives each model\'s artifacts its fp32 artifact as default reference, .ptl first; an explicit one or none overrides', async () => {
    const fp32 = await upload(api, tinyOnnx('ref-fp32'), { model: 'refm', variant: 'fp32' });
    const int8 = await upload(api, tinyOnnx('ref-int8'), { model: 'refm', variant: 'int8-dynamic' });
    const lone = await upload(api, tinyOnnx('lone'), { model: 'lonely', variant: 'int8-static' });
    const submit = async (config?: unknown) => {
      const r = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [int8.body.id, fp32.body.id, lone.body.id], backends: ['cpu'], devices: ['ev-pool'] }, ...(config ? { config } : {}) } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return (await api.db.pool.query('SELECT artifact_id, reference_artifact_id FROM jobs WHERE run_id = $1 ORDER BY cell_index', [r.body.id])).rows.map((x) => x.reference_artifact_id);
    };
    assert.deepEqual(await submit(), [fp32.body.id, fp32.body.id, null]);
    assert.deepEqual(await submit({ fidelity: { reference: fp32.body.id } }), [fp32.body.id, fp32.body.id, fp32.body.id]);
    assert.deepEqual(await submit({ fidelity: { reference: 'none' } }), [null, null, null]);
  });
});
