import assert from 'node:assert/strict';
import { ApiError, createToken } from '@pocketbench/api';
import { artifactBytesFilter, canAccessProject, projectForWrite, projectScope, readableProject } from '../../services/api/src/domain/auth/tokens.js';
import { gateRun } from '../../services/api/src/domain/gate/evaluate-run-gate.js';
import { listRunsView } from '../../services/api/src/domain/runs/run-view.js';
import { device, registerDevices, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

const ADMIN = 'admin-secret-for-tests-0123456789';

describe('api/auth', () => {
  let api: TestApi;
  let alpha: string;
  let beta: string;
  let betaArtifact: { id: string; sha256: string };
  let betaRun: string;

  before(async () => {
    api = await startTestApi({ POCKETBENCH_TOKEN: ADMIN });
    await registerDevices(api, [device({ id: 'host-a' })]);
  });
  after(async () => api?.close());

  it('needs a bearer token on /api/v1, except for the OpenAPI document and health', async () => {
    const none = await api.call('GET', '/api/v1/runs');
    assert.equal(none.status, 401);
    assert.match(none.body.error.message, /missing bearer token/);
    const wrong = await api.call('GET', '/api/v1/runs', { token: 'nope' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error.message, /unknown or revoked/);
    const malformed = await api.call('GET', '/api/v1/runs', { headers: { authorization: 'Basic abc' } });
    assert.equal(malformed.status, 401);
    assert.equal((await api.call('GET', '/api/v1/openapi.json')).status, 200);
    assert.equal((await api.call('GET', '/healthz')).status, 200);
    assert.equal((await api.call('GET', '/api/v1/runs', { token: ADMIN })).status, 200);
    const before = await api.db.pool.query('SELECT count(*)::int AS n FROM artifacts');
    const up = await upload(api, tinyOnnx(), { model: 'x' });
    assert.equal(up.status, 401);
    assert.equal((await api.db.pool.query('SELECT count(*)::int AS n FROM artifacts')).rows[0].n, before.rows[0].n);
  });

  it('issues project tokens with the admin token, stored only as a hash', async () => {
    const a = await api.call('POST', '/api/v1/tokens', { token: ADMIN, body: { project: 'alpha', name: 'ci' } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.match(a.body.token, /^pbt_/);
    assert.equal(a.body.project, 'alpha');
    alpha = a.body.token;
    beta = (await api.call('POST', '/api/v1/tokens', { token: ADMIN, body: { project: 'beta' } })).body.token;
    const { rows } = await api.db.pool.query('SELECT token_hash FROM tokens');
    assert.ok(rows.every((r) => !r.token_hash.includes(alpha) && /^[0-9a-f]{64}$/.test(r.token_hash)));
    const bad = await api.call('POST', '/api/v1/tokens', { token: ADMIN, body: { project: 'Not Valid' } });
    assert.equal(bad.status, 422);
    const byProject = await api.call('POST', '/api/v1/tokens', { token: alpha, body: { project: 'alpha' } });
    assert.equal(byProject.status, 403);
  });

  it('keeps a project token inside its project', async () => {
    const b = await upload(api, tinyOnnx('beta'), { model: 'm' }, { token: beta });
    assert.equal(b.status, 201);
    assert.equal(b.body.project, 'beta');
    betaArtifact = b.body;
    const run = await api.call('POST', '/api/v1/runs', {
      token: beta,
      body: { matrix: { artifacts: [betaArtifact.id], backends: ['cpu'], devices: ['host-a'] } },
    });
    assert.equal(run.status, 201);
    betaRun = run.body.id;

    const counts = async () => (await api.db.pool.query(`SELECT (SELECT count(*) FROM runs)::int AS r, (SELECT count(*) FROM artifacts)::int AS a`)).rows[0];
    const before = await counts();
    // Another project's run and artifacts do not exist for this token.
    assert.equal((await api.call('GET', `/api/v1/runs/${betaRun}`, { token: alpha })).status, 404);
    assert.equal((await api.call('GET', `/api/v1/runs/${betaRun}/results`, { token: alpha })).status, 404);
    assert.equal((await api.call('GET', `/api/v1/runs/${betaRun}/events`, { token: alpha })).status, 404);
    assert.equal((await api.call('GET', `/api/v1/artifacts/${betaArtifact.id}`, { token: alpha })).status, 404);
    assert.equal((await api.call('GET', `/api/v1/artifacts/${betaArtifact.sha256}/content`, { token: alpha })).status, 404);
    const ext = await api.call('POST', `/api/v1/runs/${betaRun}/sessions`, { token: alpha, body: { cellIndex: 0, report: {} } });
    assert.equal(ext.status, 404);
    const list = await api.call('GET', '/api/v1/runs', { token: alpha });
    assert.deepEqual(list.body.runs, []);
    assert.equal((await api.call('GET', '/api/v1/runs?project=beta', { token: alpha })).status, 403);
    // Writing into another project is forbidden, and nothing is stored.
    const into = await api.call('POST', '/api/v1/runs', {
      token: alpha,
      body: { project: 'beta', matrix: { artifacts: [betaArtifact.id], backends: ['cpu'], devices: ['host-a'] } },
    });
    assert.equal(into.status, 422, 'beta\'s artifact is unknown to alpha');
    const up = await upload(api, tinyOnnx('sneaky'), { model: 'm', project: 'beta' }, { token: alpha });
    assert.equal(up.status, 403);
    assert.match(up.body.error.message, /belongs to project "alpha" and cannot write to project "beta"/);
    assert.equal((await api.call('POST', '/api/v1/devices/host-a/release', { token: alpha })).status, 403);
    assert.deepEqual(await counts(), before);
    const projects = await api.call('GET', '/api/v1/projects', { token: alpha });
    assert.deepEqual(projects.body.projects.map((p: any) => p.name), ['alpha']);
    // The admin sees everything.
    assert.equal((await api.call('GET', `/api/v1/runs/${betaRun}`, { token: ADMIN })).status, 200);
  });

  it('lets a worker token read the artifact bytes of every project, and nothing that is a project\'s', async () => {
    const worker = (await api.call('POST', '/api/v1/tokens', { token: ADMIN, body: { kind: 'worker', name: 'farm-host' } })).body.token as string;
    const alphaBytes = tinyOnnx('alpha-w');
    const alphaArt = (await upload(api, alphaBytes, { model: 'm' }, { token: alpha })).body;
    for (const [art, bytes] of [[alphaArt, alphaBytes], [betaArtifact, tinyOnnx('beta')]] as const) {
      const res = await fetch(`${api.url}/api/v1/artifacts/${art.sha256}/content`, { headers: { authorization: `Bearer ${worker}` } });
      assert.equal(res.status, 200, `${art.project}'s bytes`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    }
    assert.equal((await api.call('GET', `/api/v1/artifacts/${'0'.repeat(64)}/content`, { token: worker })).status, 404);
    for (const [method, p] of [['GET', '/api/v1/runs'], ['GET', `/api/v1/runs/${betaRun}`], ['POST', `/api/v1/runs/${betaRun}/gate`], ['GET', '/api/v1/dashboard/runs'], ['GET', `/api/v1/artifacts/${alphaArt.id}`]]) {
      const res = await api.call(method, p, { token: worker, ...(method === 'POST' ? { body: { budgets: '' } } : {}) });
      assert.equal(res.status, 403, `${method} ${p}`);
    }
    // The scope itself is explicit, so no use case reads a worker as "every project".
    const principal = { kind: 'worker', tokenId: 't' } as const;
    assert.deepEqual(projectScope(principal), { kind: 'worker' });
    assert.equal(artifactBytesFilter(principal), undefined);
    assert.equal(canAccessProject(principal, (await api.db.pool.query(`SELECT id FROM projects WHERE name = 'alpha'`)).rows[0].id), false);
    assert.throws(() => readableProject(principal, 'listing runs'), (e: ApiError) => e.status === 403 && /listing runs needs an admin or project token; this is a worker token/.test(e.message));
    await assert.rejects(listRunsView(api.db.pool, principal, {}), (e: ApiError) => e.status === 403);
    await assert.rejects(gateRun(api.db.pool, principal, betaRun, { budgets: '' }), (e: ApiError) => e.status === 403);
    await assert.rejects(projectForWrite(api.db.pool, principal, undefined, { create: true }), (e: ApiError) => e.status === 403);
  });

  it('lists tokens without secrets and revokes them', async () => {
    const mine = await api.call('GET', '/api/v1/tokens', { token: alpha });
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body.tokens.map((t: { projectName: string }) => t.projectName), ['alpha']);
    assert.ok(!JSON.stringify(mine.body).includes('pbt_'));
    const all = await api.call('GET', '/api/v1/tokens', { token: ADMIN });
    const betaToken = all.body.tokens.find((t: { projectName: string }) => t.projectName === 'beta');
    assert.equal((await api.call('DELETE', `/api/v1/tokens/${betaToken.id}`, { token: alpha })).status, 404, 'not alpha\'s to revoke');
    const extra = (await api.call('POST', '/api/v1/tokens', { token: ADMIN, body: { project: 'alpha', name: 'old' } })).body;
    assert.equal((await api.call('GET', '/api/v1/runs', { token: extra.token })).status, 200);
    assert.equal((await api.call('DELETE', `/api/v1/tokens/${extra.id}`, { token: alpha })).status, 204);
    const after = await api.call('GET', '/api/v1/runs', { token: extra.token });
    assert.equal(after.status, 401);
    assert.match(after.body.error.message, /revoked/);
  });

  it('answers unknown /api/v1 paths with the JSON error shape', async () => {
    const res = await api.call('GET', '/api/v1/nothing-here', { token: ADMIN });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });
});

describe('api/auth open local mode', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => api?.close());

  it('serves loopback without a token, whatever tokens are issued or revoked later', async () => {
    assert.equal((await api.call('GET', '/api/v1/runs')).status, 200);
    const created = await createToken(api.db.pool, { project: 'solo' });
    // Open mode is a start-up setting: issuing a token neither closes it nor locks anyone out.
    assert.equal((await api.call('GET', '/api/v1/runs')).status, 200);
    assert.equal((await api.call('GET', '/api/v1/runs', { token: created.token })).status, 200);
    assert.equal((await api.call('GET', '/api/v1/runs', { token: 'pbt_not-a-token' })).status, 401, 'a wrong token is still refused');
  });
});
