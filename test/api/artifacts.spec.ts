import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Real PyTorch archives: a lite-interpreter .ptl, a plain TorchScript .pt, a torch.save pickle and a non-PyTorch zip. */
function makeTorchFiles(dir: string): void {
  execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import sys, zipfile, torch
d = sys.argv[1]
m = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU()).eval())
m._save_for_lite_interpreter(d + '/m.ptl')
torch.jit.save(m, d + '/m.pt')
torch.save(torch.nn.Linear(4, 2), d + '/pickle.pt')
with zipfile.ZipFile(d + '/other.zip', 'w') as z:
    z.writestr('readme.txt', 'not a model')
`,
      dir,
    ],
    { stdio: 'pipe' },
  );
}

describe('api/artifacts', () => {
  let api: TestApi;
  let torchDir: string;
  const torch: Record<string, Buffer> = {};

  before(async () => {
    api = await startTestApi();
    torchDir = await mkdtemp(path.join(tmpdir(), 'pb-torch-'));
    makeTorchFiles(torchDir);
    for (const f of ['m.ptl', 'm.pt', 'pickle.pt', 'other.zip']) torch[f] = await readFile(path.join(torchDir, f));
  });
  after(async () => {
    await api?.close();
    if (torchDir) await rm(torchDir, { recursive: true, force: true });
  });

  async function storeFiles(): Promise<string[]> {
    const root = path.join(api.dataDir, 'artifacts');
    try {
      return (await readdir(root, { recursive: true })).map(String).sort();
    } catch {
      return [];
    }
  }
  async function artifactRows(): Promise<number> {
    return (await api.db.pool.query('SELECT count(*)::int AS n FROM artifacts')).rows[0].n;
  }
  async function assertNothingLeft(before: { files: string[]; rows: number }) {
    assert.deepEqual(await storeFiles(), before.files, 'no file left in the store or its tmp dir');
    assert.equal(await artifactRows(), before.rows, 'no artifact row');
  }
  async function snapshot() {
    return { files: await storeFiles(), rows: await artifactRows() };
  }

  it('stores an ONNX model once by sha256, detected from content, and serves it back', async () => {
    const bytes = tinyOnnx();
    const first = await upload(api, bytes, { model: 'relu', variant: 'fp32', project: 'demo' }, { filename: 'weird.name.bin' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.format, 'onnx');
    assert.equal(first.body.sha256, sha(bytes));
    assert.equal(first.body.sizeBytes, bytes.length);
    assert.equal(first.body.project, 'demo');
    assert.equal(first.body.model, 'relu');
    assert.equal(first.body.details.irVersion, 8);

    const again = await upload(api, bytes, { model: 'relu', project: 'demo' });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.created, false);

    const stored = path.join(api.dataDir, 'artifacts', first.body.sha256.slice(0, 2), first.body.sha256);
    assert.deepEqual(await readFile(stored), bytes);

    const meta = await api.call('GET', `/api/v1/artifacts/${first.body.id}`);
    assert.equal(meta.status, 200);
    assert.equal(meta.body.sha256, first.body.sha256);

    const res = await fetch(`${api.url}/api/v1/artifacts/${first.body.sha256}/content`);
    assert.equal(res.status, 200);
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(sha(got), first.body.sha256, 'the served bytes hash to the address');
    assert.equal(res.headers.get('etag'), `"${first.body.sha256}"`);
    const cached = await fetch(`${api.url}/api/v1/artifacts/${first.body.sha256}/content`, { headers: { 'if-none-match': `"${first.body.sha256}"` } });
    assert.equal(cached.status, 304);

    const list = await api.call('GET', '/api/v1/artifacts?project=demo');
    assert.deepEqual(list.body.artifacts.map((a: { id: string }) => a.id), [first.body.id]);
  });

  it('names the model after the file when no model field is given', async () => {
    const res = await upload(api, tinyOnnx('other-producer'), {}, { filename: 'mobilenet_v2.onnx' });
    assert.equal(res.status, 201);
    assert.equal(res.body.model, 'mobilenet_v2');
    assert.equal(res.body.project, 'default');
  });

  it('detects a lite-interpreter archive as ptl regardless of its name', async () => {
    const res = await upload(api, torch['m.ptl'], { model: 'lin', variant: 'int8-dynamic' }, { filename: 'model.onnx' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.format, 'ptl');
    assert.equal(res.body.variant, 'int8-dynamic');
  });

  it('accepts a TorchScript model (torch.jit.save) as format pt, the parent variants are converted from', async () => {
    const res = await upload(api, torch['m.pt'], { model: 'lin' }, { filename: 'lin.pt' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.format, 'pt');
    assert.equal(res.body.parentArtifactId, null);
  });

  const refusals: [string, () => Buffer, number, RegExp][] = [
    ['garbage', () => Buffer.from('this is not a model at all, just text\n'.repeat(20)), 415, /expected an ONNX model/],
    ['an empty file', () => Buffer.alloc(0), 422, /empty/],
    ['a truncated ONNX model', () => tinyOnnx().subarray(0, tinyOnnx().length - 7), 422, /ONNX.*(truncated|remain)/],
    ['a torch.save pickle (not TorchScript)', () => torch['pickle.pt'], 422, /not TorchScript.*torch\.jit\.save/],
    ['a zip that is not a PyTorch archive', () => torch['other.zip'], 415, /not a PyTorch model/],
    ['a truncated zip', () => torch['m.ptl'].subarray(0, 200), 422, /zip archive.*truncated/],
  ];
  for (const [what, bytes, status, message] of refusals) {
    it(`refuses ${what} with ${status} and leaves nothing behind`, async () => {
      const before = await snapshot();
      const res = await upload(api, bytes(), { model: 'bad' });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(res.body.error.message, message);
      assert.equal(res.body.error.details.field, 'file');
      await assertNothingLeft(before);
    });
  }

  it('refuses a bad variant or project name, naming the field, and leaves nothing behind', async () => {
    const before = await snapshot();
    const v = await upload(api, tinyOnnx('x1'), { model: 'm', variant: 'fp8' });
    assert.equal(v.status, 422);
    assert.match(v.body.error.message, /variant is "fp8", expected one of fp32/);
    const p = await upload(api, tinyOnnx('x2'), { model: 'm', project: 'Bad Name!' });
    assert.equal(p.status, 422);
    assert.match(p.body.error.message, /project/);
    await assertNothingLeft(before);
  });

  it('refuses a request that is not multipart, or has no file', async () => {
    const json = await api.call('POST', '/api/v1/artifacts', { body: { model: 'x' } });
    assert.equal(json.status, 415);
    assert.match(json.body.error.message, /multipart\/form-data/);
    const form = new FormData();
    form.append('model', 'x');
    const res = await fetch(`${api.url}/api/v1/artifacts`, { method: 'POST', body: form });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /field "file"/);
  });

  it('answers 404 for unknown ids and hashes', async () => {
    assert.equal((await api.call('GET', '/api/v1/artifacts/00000000-0000-0000-0000-000000000000')).status, 404);
    assert.equal((await api.call('GET', '/api/v1/artifacts/not-a-uuid')).status, 404);
    assert.equal((await api.call('GET', `/api/v1/artifacts/${'0'.repeat(64)}/content`)).status, 404);
    assert.equal((await api.call('GET', '/api/v1/artifacts/xyz/content')).status, 422);
  });
});

describe('api/artifacts size limit', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ POCKETBENCH_MAX_UPLOAD_MB: '1' });
  });
  after(async () => api?.close());

  it('refuses a file over the limit with 413 and keeps nothing', async () => {
    const big = Buffer.concat([tinyOnnx(), Buffer.alloc(1024 * 1024 + 10, 1)]);
    const res = await upload(api, big, { model: 'big' });
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.match(res.body.error.message, /larger than the limit of 1 MB/);
    const tmp = path.join(api.dataDir, 'artifacts', 'tmp');
    const left = await readdir(tmp).catch(() => []);
    assert.deepEqual(left, []);
    assert.equal((await api.db.pool.query('SELECT count(*)::int AS n FROM artifacts')).rows[0].n, 0);
  });
});
