// The dashboard's data routes against a real server and a small seeded history: figures are
// checked against the sessions themselves, a bad query parameter gets a 422 naming it (a
// malformed id in the path a 400).
import assert from 'node:assert/strict';
import { createToken } from '@pocketbench/api';
import { seedDashboard } from '../../scripts/seed-dashboard.js';
import { startTestApi, type TestApi } from './helpers.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

describe('api: dashboard data routes', () => {
  let api: TestApi;
  let q: TestApi['db']['pool'];

  before(async () => {
    api = await startTestApi();
    q = api.db.pool;
    await seedDashboard(q, { runs: 40, sessionsPerCell: 3 });
  });
  after(async () => api?.close());

  const get = async (path: string) => {
    const r = await api.call('GET', path);
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };

  it('lists runs newest first with filters, verdicts and a total for paging', async () => {
    const all = await get('/api/v1/dashboard/runs?limit=10');
    assert.equal(all.total, 40);
    assert.equal(all.runs.length, 10);
    assert.equal(all.runs[0].status, 'running', 'the newest seeded run is still going');
    const dates = all.runs.map((r: { createdAt: string }) => Date.parse(r.createdAt));
    assert.deepEqual(dates, [...dates].sort((a, b) => b - a));
    const done = all.runs.find((r: { status: string }) => r.status === 'done');
    assert.ok(['pass', 'fail', 'inconclusive'].includes(done.verdict));
    assert.equal(done.cells.pass + done.cells.fail + done.cells.inconclusive, 10);

    const main = await get('/api/v1/dashboard/runs?project=camera-app&branch=main&status=done&limit=5&offset=5');
    const expected = (await q.query(`SELECT count(*)::int AS n FROM runs r JOIN projects p ON p.id = r.project_id
      WHERE p.name = 'camera-app' AND r.branch = 'main' AND r.status = 'done'`)).rows[0].n;
    assert.equal(main.total, expected);
    for (const r of main.runs) assert.deepEqual([r.project, r.branch, r.status], ['camera-app', 'main', 'done']);

    const filters = await get('/api/v1/dashboard/filters');
    assert.deepEqual(filters.projects, ['camera-app', 'voice-app']);
    assert.equal(filters.branches[0], 'main');
  });

  it('builds a run matrix whose figures are the medians of the cell\u2019s sessions', async () => {
    const { rows: [run] } = await q.query(`SELECT id FROM runs WHERE status = 'done' ORDER BY created_at DESC LIMIT 1`);
    const m = await get(`/api/v1/runs/${run.id}/matrix`);
    assert.equal(m.cells.length, 10);
    assert.equal(m.artifacts.length, 4);
    assert.deepEqual(m.columns.map((c: { pool: string; backend: string }) => `${c.pool}/${c.backend}`).sort(),
      ['host-x86_64/cpu', 'pixel-7/cpu', 'pixel-7/xnnpack', 'qemu-arm64/cpu']);
    const cell = m.cells[0];
    const { rows } = await q.query(`SELECT p50_us, p90_us, peak_rss_bytes FROM sessions WHERE job_id = $1 AND status = 'ok'`, [cell.jobId]);
    assert.ok(Math.abs(cell.p50Us - median(rows.map((r) => r.p50_us))) < 1e-6);
    assert.ok(Math.abs(cell.p90Us - median(rows.map((r) => r.p90_us))) < 1e-6);
    assert.equal(cell.peakRssBytes, Math.max(...rows.map((r) => Number(r.peak_rss_bytes))));
    const ratio = cell.verdicts.find((v: { ratio: number | null }) => v.ratio !== null);
    assert.ok(ratio.ciLow < ratio.ratio && ratio.ratio < ratio.ciHigh);
    assert.ok(cell.seriesId > 0 && cell.sessionId > 0, 'a cell links to its series and one session');
    // Says what ran: the devices, the runtime and its version; a GPU adapter only where a report names one.
    const ran = (await q.query(`SELECT DISTINCT device_id, runtime || ' ' || runtime_version AS rt FROM sessions WHERE job_id = $1 AND status = 'ok' ORDER BY device_id`, [cell.jobId])).rows;
    assert.deepEqual(cell.devices, [...new Set(ran.map((r) => r.device_id))]);
    assert.equal(cell.runtime, [...new Set(ran.map((r) => r.rt))].join(', '));
    assert.equal(cell.gpuAdapter, null);
    await q.query(`UPDATE sessions SET report = report || '{"backend":{"requested":"vulkan","used":"vulkan","adapter":{"name":"llvmpipe (LLVM 15.0.6, 256 bits)","deviceType":"cpu"}}}'::jsonb
                    WHERE job_id = $1`, [cell.jobId]);
    const lavapipe = (await get(`/api/v1/runs/${run.id}/matrix`)).cells.find((c: { jobId: string }) => c.jobId === cell.jobId);
    assert.equal(lavapipe.gpuAdapter, 'llvmpipe (LLVM 15.0.6, 256 bits) (cpu)');
    assert.ok(['pass', 'fail', 'inconclusive'].includes(m.run.verdict));
    assert.ok(m.previousRunId, 'an older run of the same branch to compare with');

    const missing = await api.call('GET', '/api/v1/runs/00000000-0000-4000-8000-000000000000/matrix');
    assert.equal(missing.status, 404);
    const bad = await api.call('GET', '/api/v1/runs/nope/matrix');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /run id must be a UUID/);
  });

  it('lists series with sparklines and serves one series with p10/p50/p90 points and budgets', async () => {
    const list = await get('/api/v1/series?project=voice-app&limit=100');
    assert.equal(list.total, 20);
    const s = list.series[0];
    assert.ok(s.recentP50Us.length > 0 && s.recentP50Us.length <= 30);

    const view = await get(`/api/v1/series/${s.id}`);
    assert.equal(view.series.id, s.id);
    assert.ok(view.points.length > 5);
    for (const p of view.points) {
      assert.equal(p.branch, 'main');
      assert.ok(p.p10Us <= p.p50Us && p.p50Us <= p.p90Us, `p10 ≤ p50 ≤ p90 for session ${p.sessionId}`);
    }
    const times = view.points.map((p: { createdAt: string }) => Date.parse(p.createdAt));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'oldest first');
    assert.deepEqual(view.budgets.map((b: { metric: string }) => b.metric), ['p90_ms']);

    const everyBranch = await get(`/api/v1/series/${s.id}?branch=*`);
    assert.ok(everyBranch.points.length > view.points.length);
    const page = await get(`/api/v1/series/${s.id}?branch=*&limit=10`);
    assert.equal(page.points.length, 10);
    const older = await get(`/api/v1/series/${s.id}?branch=*&limit=10&before=${encodeURIComponent(page.nextBefore)}`);
    assert.ok(Date.parse(older.points[9].createdAt) < Date.parse(page.points[0].createdAt), 'the previous page is older');

    const bad = await api.call('GET', `/api/v1/series/${s.id}?limit=5`);
    assert.equal(bad.status, 422);
    assert.match(bad.body.error.message, /limit is 5, must be >= 10/);
    assert.equal((await api.call('GET', '/api/v1/series/999999')).status, 404);
  });

  it('serves a session with its iterations, a histogram that counts them all and the device state', async () => {
    const { rows: [row] } = await q.query(`SELECT id, iterations_us FROM sessions WHERE status = 'ok' ORDER BY id LIMIT 1`);
    const s = await get(`/api/v1/sessions/${row.id}`);
    assert.deepEqual(s.iterationsUs, row.iterations_us);
    assert.equal(s.histogram.counts.reduce((a: number, b: number) => a + b, 0), row.iterations_us.length);
    assert.equal(s.histogram.edgesUs.length, s.histogram.counts.length + 1);
    assert.ok(s.deviceAfter.temperatureC > s.deviceBefore.temperatureC, 'the device warms up during a session');
    assert.equal(s.deviceBefore.cpuFreqMhz.length, 4);
    assert.equal((await api.call('GET', '/api/v1/sessions/0')).status, 400);
  });

  it('compares fp32 / int8-dynamic / int8-static with speed-ups against the first', async () => {
    const { rows } = await q.query(`SELECT a.id, a.variant FROM artifacts a JOIN models m ON m.id = a.model_id
      WHERE m.name = 'mobilenet_v2' AND a.format = 'ptl' ORDER BY a.size_bytes DESC`);
    assert.deepEqual(rows.map((r) => r.variant), ['fp32', 'int8-dynamic', 'int8-static']);
    const v = await get(`/api/v1/compare?artifacts=${rows.map((r) => r.id).join(',')}`);
    assert.equal(v.kind, 'artifacts');
    assert.equal(v.rows.length, 3, 'pixel-7 cpu, pixel-7 xnnpack, qemu-arm64 cpu');
    for (const row of v.rows) {
      const [fp32, dyn, stat] = row.cells;
      assert.equal(fp32.speedup, 1);
      assert.ok(Math.abs(stat.speedup - fp32.p50Us / stat.p50Us) < 1e-9);
      assert.ok(stat.speedup > dyn.speedup && dyn.speedup > 1, 'int8-static is fastest, then int8-dynamic');
      assert.ok(stat.sizeBytes < fp32.sizeBytes / 3);
    }

    const { rows: runs } = await q.query(`SELECT id FROM runs WHERE status = 'done' ORDER BY created_at DESC LIMIT 2`);
    const r = await get(`/api/v1/compare?runs=${runs[1].id},${runs[0].id}`);
    assert.equal(r.kind, 'runs');
    assert.equal(r.subjects.length, 2);

    const none = await api.call('GET', '/api/v1/compare');
    assert.equal(none.status, 422);
    assert.match(none.body.error.message, /"runs".*or "artifacts"/);
    const one = await api.call('GET', `/api/v1/compare?runs=${runs[0].id}`);
    assert.match(one.body.error.message, /runs must NOT have fewer than 2 items/);
    const unknown = await api.call('GET', `/api/v1/compare?runs=${runs[0].id},00000000-0000-4000-8000-000000000000`);
    assert.equal(unknown.status, 404);
  });

  it('shows the fleet with state counts, the current job and the latest temperature', async () => {
    const f = await get('/api/v1/fleet');
    assert.equal(f.devices.length, 7);
    assert.deepEqual(f.counts, { online: 4, busy: 1, offline: 1, quarantined: 1 });
    const busy = f.devices.find((d: { state: string }) => d.state === 'busy');
    assert.ok(busy.currentRunId, 'a busy device names the run it works for');
    const host = f.devices.find((d: { id: string }) => d.id === 'host-01');
    const { rows: [last] } = await q.query(`SELECT device_state_after FROM sessions WHERE device_id = 'host-01' ORDER BY created_at DESC LIMIT 1`);
    assert.equal(host.lastState.temperatureC, last.device_state_after.thermalZones.cpu);
    const iphone = f.devices.find((d: { id: string }) => d.id === 'iphone14-01');
    assert.equal(iphone.heartbeatStale, true);
  });

  it('documents every dashboard route in the OpenAPI document', async () => {
    const doc = await get('/api/v1/openapi.json');
    for (const p of ['/api/v1/dashboard/runs', '/api/v1/dashboard/filters', '/api/v1/runs/{id}/matrix', '/api/v1/series',
      '/api/v1/series/{id}', '/api/v1/series/{id}/detect-alerts', '/api/v1/sessions/{id}', '/api/v1/compare', '/api/v1/fleet',
      '/api/v1/alerts', '/api/v1/alerts/{id}/acknowledge', '/api/v1/alerts/{id}/dismiss']) {
      assert.ok(doc.paths[p], `${p} is documented`);
    }
  });

  it('serves the dashboard page and its bundled script', async () => {
    const html = await fetch(`${api.url}/`);
    assert.equal(html.status, 200);
    const text = await html.text();
    const src = /src="(\/assets\/app\.js\?v=[0-9a-f]+)"/.exec(text)?.[1];
    assert.ok(src, 'the page loads the bundle');
    const js = await fetch(`${api.url}${src}`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await js.text()).length > 50_000, 'chart.js is bundled in');
    const again = await fetch(`${api.url}/assets/app.js`, { headers: { 'if-none-match': js.headers.get('etag')! } });
    assert.equal(again.status, 304);
  });

  it('shows a project token only its own project', async () => {
    const { token } = await createToken(q, { project: 'voice-app' });
    const as = (path: string) => api.call('GET', path, { token });
    const runs = await as('/api/v1/dashboard/runs?limit=200');
    assert.equal(runs.status, 200);
    assert.ok(runs.body.runs.length > 0 && runs.body.runs.every((r: { project: string }) => r.project === 'voice-app'));
    assert.deepEqual((await as('/api/v1/dashboard/filters')).body.projects, ['voice-app']);
    const other = await as('/api/v1/dashboard/runs?project=camera-app');
    assert.equal(other.status, 403);
    assert.match(other.body.error.message, /belongs to project "voice-app"/);
    const series = await as('/api/v1/series?limit=200');
    assert.ok(series.body.series.every((s: { project: string }) => s.project === 'voice-app'));
    const { rows: [camera] } = await q.query(`SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id WHERE p.name = 'camera-app' LIMIT 1`);
    assert.equal((await as(`/api/v1/runs/${camera.id}/matrix`)).status, 404);
  });

  it('answers a project token\'s request for another project\'s series, session or comparison as missing', async () => {
    const { token } = await createToken(q, { project: 'voice-app' });
    const as = (method: string, path: string) => api.call(method, path, { token });
    const one = async (project: string, sql: string) =>
      (await q.query(`${sql} JOIN projects p ON p.id = x.project_id WHERE p.name = $1 ORDER BY 1 LIMIT 1`, [project])).rows[0].id;
    const series = { camera: await one('camera-app', 'SELECT x.id FROM series x'), voice: await one('voice-app', 'SELECT x.id FROM series x') };
    assert.equal((await as('GET', `/api/v1/series/${series.voice}`)).status, 200);
    const hidden = await as('GET', `/api/v1/series/${series.camera}`);
    assert.deepEqual([hidden.status, hidden.body.error.message], [404, `series ${series.camera} does not exist`]);
    assert.equal((await as('POST', `/api/v1/series/${series.camera}/detect-alerts`)).status, 404);
    const session = (await q.query('SELECT id FROM sessions WHERE series_id = $1 LIMIT 1', [series.camera])).rows[0].id;
    assert.equal((await as('GET', `/api/v1/sessions/${session}`)).status, 404);

    const runs = {
      camera: await one('camera-app', `SELECT x.id FROM runs x`),
      voice: await one('voice-app', `SELECT x.id FROM runs x`),
    };
    const compared = await as('GET', `/api/v1/compare?runs=${runs.voice},${runs.camera}`);
    assert.deepEqual([compared.status, compared.body.error.message], [404, `run ${runs.camera} does not exist`]);
    const artifacts = (await q.query(`SELECT a.id FROM artifacts a JOIN models m ON m.id = a.model_id JOIN projects p ON p.id = m.project_id
      WHERE p.name = 'camera-app' LIMIT 2`)).rows.map((r) => r.id);
    assert.equal((await as('GET', `/api/v1/compare?artifacts=${artifacts.join(',')}`)).status, 404);
    assert.equal((await as('GET', '/api/v1/alerts?project=camera-app')).status, 403);
  });
});
