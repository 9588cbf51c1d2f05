import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startWebServer, type WebServer } from '@pocketbench/api';
import { queueNameForDevice, queueNameForPool, seriesInputSpec, sessionJobId, type SessionJobData } from '@pocketbench/contracts';
import { failJob, insertSession, markJobRunning, recordSessionFinished } from '@pocketbench/db';
import { iterationSummary } from '@pocketbench/stats';
import { device, registerDevices, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

export function benchReport(
  over: { iterationsUs?: number[]; backend?: string; status?: 'ok' | 'error'; sha256?: string; format?: string; seed?: number } = {},
) {
  const iterationsUs = over.iterationsUs ?? [1000, 1100, 1200, 1300, 5000];
  const snapshot = { takenAt: new Date().toISOString(), thermalZones: {}, cpuFreqKhz: [], governor: null, loadAvg: [0, 0, 0] };
  return {
    reportVersion: 1,
    status: over.status ?? 'ok',
    harness: { name: 'android-harness', version: '1.0.0' },
    spec: { inputs: [{ name: 'x', shape: [1, 4], dtype: 'float32' }], ...(over.seed !== undefined ? { seed: over.seed } : {}) },
    runtime: { name: 'onnxruntime', version: '1.22.0' },
    backend: { requested: over.backend ?? 'cpu', used: over.backend ?? 'cpu' },
    model: { path: '/data/local/tmp/m.onnx', sha256: over.sha256 ?? 'b'.repeat(64), sizeBytes: 1234, format: over.format ?? 'onnx' },
    timing: { modelLoadMs: 12.5, firstInferenceMs: 3, warmup: 2, iterationsUs, timedDurationMs: 10 },
    summary: { count: iterationsUs.length, minUs: 1000, meanUs: 1920, p50Us: 1200, p90Us: 3680, p99Us: 4870, maxUs: 5000, stddevUs: 1500, madUs: 100, cv: 0.78 },
    output: { index: 0, dtype: 'float32', shape: [1, 4], topK: [0, 1, 2, 3], inputDigest: `sha256:${'c'.repeat(64)}` },
    memory: { peakRssBytes: 50 * 1024 * 1024, method: 'PSS' },
    device: { before: snapshot, after: snapshot },
    host: { arch: 'aarch64', cpuModel: 'Pixel 8', cores: 8, kernel: '6.1', os: 'Android 14' },
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

describe('api/runs', () => {
  let api: TestApi;
  let head: string;
  let base: string;
  let headSha: string;
  let baseSha: string;
  const queues: Queue[] = [];
  const queue = (name: string) => {
    const q = new Queue<SessionJobData>(name, { connection: api.redis, prefix: api.prefix });
    queues.push(q);
    return q;
  };
  const jobs = async (name: string) => (await queue(name).getJobs(['waiting'], 0, -1, true)).map((j) => j!);

  before(async () => {
    api = await startTestApi();
    await registerDevices(api, [
      device({ id: 'host-a', backends: ['cpu', 'xnnpack'] }),
      device({ id: 'host-b', backends: ['cpu'] }),
      device({ id: 'qemu-1', pool: 'qemu-arm64', arch: 'aarch64', emulated: true, backends: ['cpu'] }),
    ]);
    const h = (await upload(api, tinyOnnx('head'), { model: 'relu', project: 'demo' })).body;
    await upload(api, tinyOnnx('other'), { model: 'other', project: 'default' });
    const b = (await upload(api, tinyOnnx('base'), { model: 'relu', project: 'demo' })).body;
    [head, headSha, base, baseSha] = [h.id, h.sha256, b.id, b.sha256];
    assert.match(headSha, /^[0-9a-f]{64}$/);
    assert.ok(head && base);
  });
  after(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await api?.close();
  });

  async function counts() {
    const { rows } = await api.db.pool.query(
      `SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM jobs) AS jobs,
              (SELECT count(*)::int FROM projects) AS projects`,
    );
    const keys = await api.redis.keys(`${api.prefix}:*:id`);
    return { ...rows[0], queuedKeys: keys.length, waiting: await queueWaiting() };
  }
  async function queueWaiting() {
    let n = 0;
    for (const name of [queueNameForPool('host-x86_64', api.prefix), queueNameForPool('qemu-arm64', api.prefix),
      queueNameForDevice('host-a', api.prefix), queueNameForDevice('host-b', api.prefix), queueNameForDevice('qemu-1', api.prefix)]) {
      n += await queue(name).count();
    }
    return n;
  }

  it('accepts a matrix, stores every cell, and enqueues one job per session with deterministic ids', async () => {
    const res = await api.call('POST', '/api/v1/runs', {
      body: {
        project: 'demo', commit: 'abc123', branch: 'feature', mergeBase: 'def456',
        matrix: { artifacts: [head], backends: ['cpu', 'xnnpack'], devices: ['host-x86_64', 'qemu-1'] },
        config: { iterations: 20, sessions: 2, warmup: 1 },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const run = res.body;
    assert.equal(run.status, 'queued');
    assert.equal(run.cells.length, 4);
    assert.equal(run.branch, 'feature');
    assert.deepEqual(run.cells.map((c: any) => [c.cellIndex, c.jobId, c.backend, c.pool, c.status]), [
      [0, `${run.id}.0`, 'cpu', 'host-x86_64', 'queued'],
      [1, `${run.id}.1`, 'cpu', 'qemu-arm64', 'queued'],
      [2, `${run.id}.2`, 'xnnpack', 'host-x86_64', 'queued'],
      [3, `${run.id}.3`, 'xnnpack', 'qemu-arm64', 'unsupported'],
    ]);
    assert.match(run.cells[3].reason, /device qemu-1 does not support backend xnnpack \(it offers: cpu\)/);
    // The emulated device's cells say so (shown as "qemu-arm64 (emulated)"); the host's do not.
    assert.deepEqual(run.cells.map((c: any) => c.emulated), [false, true, false, true]);
    assert.equal(run.progress.jobsTotal, 4);
    assert.equal(run.progress.jobsFinished, 1, 'the unsupported cell is finished at once');

    const pool = await jobs(queueNameForPool('host-x86_64', api.prefix));
    const mine = pool.filter((j) => j.data.runId === run.id);
    assert.deepEqual(mine.map((j) => j.id), [
      sessionJobId(run.id, 0, 'head', 0), sessionJobId(run.id, 0, 'head', 1),
      sessionJobId(run.id, 2, 'head', 0), sessionJobId(run.id, 2, 'head', 1),
    ]);
    const d = mine[0].data;
    assert.equal(d.jobId, `${run.id}.0`);
    assert.equal(d.backend, 'cpu');
    assert.equal(d.artifact.id, head);
    assert.equal(d.artifact.format, 'onnx');
    assert.match(d.artifact.sha256, /^[0-9a-f]{64}$/);
    assert.equal(d.config.iterations, 20);
    assert.equal(d.config.sessions, 2);
    assert.equal(d.config.warmup, 1);
    assert.equal(mine[0].opts.attempts, 3);
    assert.deepEqual(mine[0].opts.backoff, { type: 'exponential', delay: 2000 });
    const dev = await jobs(queueNameForDevice('qemu-1', api.prefix));
    assert.deepEqual(dev.filter((j) => j.data.runId === run.id).map((j) => [j.id, j.data.deviceId]), [
      [sessionJobId(run.id, 1, 'head', 0), 'qemu-1'],
      [sessionJobId(run.id, 1, 'head', 1), 'qemu-1'],
    ]);
  });

  it('returns the same run for the same idempotency key, and enqueues nothing twice', async () => {
    const body = { project: 'demo', idempotencyKey: 'ci-42', matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-b'] } };
    const first = await api.call('POST', '/api/v1/runs', { body });
    assert.equal(first.status, 201);
    const before = await counts();
    const [second, third] = await Promise.all([api.call('POST', '/api/v1/runs', { body }), api.call('POST', '/api/v1/runs', { body })]);
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    assert.equal(third.body.id, first.body.id);
    assert.deepEqual(await counts(), before);
  });

  it('queues cells for a device whose harness has not reported its backends yet', async () => {
    await registerDevices(api, [device({ id: 'fresh-1', pool: 'fresh', backends: [] })]);
    const res = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [head], backends: ['vulkan'], devices: ['fresh'] } } });
    assert.equal(res.status, 201);
    assert.equal(res.body.cells[0].status, 'queued');
    await api.db.pool.query(`DELETE FROM runs WHERE id = $1`, [res.body.id]);
    await api.db.pool.query(`DELETE FROM devices WHERE id = 'fresh-1'`);
    await queue(queueNameForPool('fresh', api.prefix)).obliterate({ force: true });
  });

  it('interleaves paired A/B sessions counterbalanced, A B B A, on one device of the pool', async () => {
    const res = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], baselineArtifact: base, backends: ['cpu'], devices: ['host-x86_64'] }, config: { sessions: 3 } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const cell = res.body.cells[0];
    assert.ok(['host-a', 'host-b'].includes(cell.deviceId));
    assert.equal(cell.baselineArtifact.id, base);
    assert.equal(cell.sessionsPlanned, 6);
    const q = await jobs(queueNameForDevice(cell.deviceId, api.prefix));
    const mine = q.filter((j) => j.data.runId === res.body.id);
    assert.deepEqual(mine.map((j) => `${j.data.role}${j.data.sessionIndex}:${j.data.artifact.id === head ? 'A' : 'B'}`), [
      'head0:A', 'baseline0:B', 'baseline1:B', 'head1:A', 'head2:A', 'baseline2:B',
    ]);
    assert.equal(res.body.project, 'demo', 'project defaults to the artifacts\' project');
  });

  const bad: [string, () => unknown, number, RegExp][] = [
    ['an unknown device', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: ['pixel-9'] } }), 422, /matrix\.devices\[0\]: unknown device or pool "pixel-9"/],
    ['an unknown backend', () => ({ matrix: { artifacts: [head], backends: ['cpu', 'tpu'], devices: ['host-a'] } }), 422, /matrix\.backends\[1\] is "tpu", expected one of cpu/],
    ['iterations 0', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] }, config: { iterations: 0 } }), 422, /config\.iterations is 0, must be >= 1/],
    ['iterations -5', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] }, config: { iterations: -5 } }), 422, /config\.iterations/],
    ['absurd iterations', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] }, config: { iterations: 1e9 } }), 422, /config\.iterations is 1000000000, must be <= 100000/],
    ['a fractional thread count', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] }, config: { threads: 1.5 } }), 422, /config\.threads must be integer/],
    ['an unknown config field', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] }, config: { iters: 5 } }), 422, /config\.iters is not a known field/],
    ['an unknown artifact', () => ({ matrix: { artifacts: ['00000000-0000-4000-8000-000000000000'], backends: ['cpu'], devices: ['host-a'] } }), 422, /matrix\.artifacts\[0\]: unknown artifact/],
    ['no matrix', () => ({ project: 'demo' }), 422, /matrix is required/],
    ['a project that does not exist', () => ({ project: 'ghost', matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] } }), 422, /project "ghost" does not exist/],
    ['an artifact of another project', () => ({ project: 'default', matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a'] } }), 422, /belongs to project "demo", not "default"/],
    ['an empty device list', () => ({ matrix: { artifacts: [head], backends: ['cpu'], devices: [] } }), 422, /matrix\.devices must NOT have fewer than 1 items/],
    ['malformed JSON', () => '{"matrix": {"artifacts": [', 400, /not valid JSON/],
  ];
  for (const [what, body, status, message] of bad) {
    it(`refuses ${what} with ${status}, naming it, and stores or enqueues nothing`, async () => {
      const before = await counts();
      const res = await api.call('POST', '/api/v1/runs', { body: body() });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(res.body.error.message, message);
      assert.ok(res.body.error.code);
      assert.deepEqual(await counts(), before);
    });
  }

  it('reports progress and per-cell figures aggregated from stored sessions', async () => {
    const created = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-a', 'host-b'] }, config: { sessions: 2 } },
    });
    const run = created.body;
    const [c0, c1] = run.cells;
    assert.equal(await markJobRunning(api.db.pool, c0.jobId), true);
    for (const s of [0, 1]) {
      await insertSession(api.db.pool, {
        jobId: c0.jobId, runId: run.id, role: 'head', sessionIndex: s, artifactId: head, deviceId: 'host-a', status: 'ok',
        backendRequested: 'cpu', backendUsed: 'cpu', runtime: 'onnxruntime', deviceArch: 'x86_64',
        iterationsUs: s === 0 ? [1000, 2000, 3000] : [4000, 5000], summary: iterationSummary(s === 0 ? [1000, 2000, 3000] : [4000, 5000]),
        loadMs: s === 0 ? 10 : 20, peakRssBytes: 100 + s, peakRssMethod: 'VmHWM', modelSizeBytes: 77, report: {},
      });
      await recordSessionFinished(api.db.pool, c0.jobId);
    }
    await failJob(api.db.pool, c1.jobId, 'model_load', 'corrupt model');
    const got = await api.call('GET', `/api/v1/runs/${run.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'done');
    assert.equal(got.body.progress.fraction, 1);
    const f = got.body.cells[0].figures;
    assert.equal(f.sessionsOk, 2);
    assert.equal(f.iterations, 5);
    // Sessions are the unit: the median over sessions of each session's percentile.
    assert.equal(f.p50Ms, (2 + 4.5) / 2);
    assert.equal(f.loadMs, 15);
    assert.equal(f.peakRssBytes, 101);
    assert.equal(f.modelSizeBytes, 77);
    assert.equal(f.backendUsed, 'cpu');
    assert.equal(f.deviceArch, 'x86_64');
    assert.ok(Math.abs(f.p90Ms - (2.8 + 4.9) / 2) < 1e-9, String(f.p90Ms));
    assert.equal(f.minMs, 1);
    assert.equal(got.body.cells[1].status, 'failed');
    assert.equal(got.body.cells[1].reason, 'corrupt model');
    assert.equal(got.body.cells[1].errorClass, 'model_load');
    assert.equal(got.body.cells[1].figures, null);

    const results = await api.call('GET', `/api/v1/runs/${run.id}/results?iterations=true`);
    assert.deepEqual(results.body.cells[0].sessions.map((s: any) => s.iterationsUs), [[1000, 2000, 3000], [4000, 5000]]);
  });

  it('lists runs with filters and pagination', async () => {
    const all = await api.call('GET', '/api/v1/runs?project=demo&limit=2');
    assert.equal(all.status, 200);
    assert.equal(all.body.runs.length, 2);
    assert.ok(all.body.total >= 4);
    assert.equal(all.body.nextOffset, 2);
    const feature = await api.call('GET', '/api/v1/runs?branch=feature');
    assert.equal(feature.body.runs.length, 1);
    assert.equal(feature.body.runs[0].commit, 'abc123');
    const done = await api.call('GET', '/api/v1/runs?status=done');
    assert.ok(done.body.runs.every((r: any) => r.status === 'done'));
    const badStatus = await api.call('GET', '/api/v1/runs?status=finished');
    assert.equal(badStatus.status, 422);
    assert.match(badStatus.body.error.message, /status is "finished", expected one of queued/);
    const badLimit = await api.call('GET', '/api/v1/runs?limit=abc');
    assert.equal(badLimit.status, 422);
    assert.equal((await api.call('GET', '/api/v1/runs/00000000-0000-4000-8000-000000000000')).status, 404);
  });

  it('stores a cell no device can serve as unsupported, and a run of only such cells as done', async () => {
    const res = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], backends: ['coreml'], devices: ['host-x86_64'] } },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.status, 'done');
    assert.equal(res.body.cells[0].status, 'unsupported');
    assert.match(res.body.cells[0].reason, /no device in pool host-x86_64 supports backend coreml/);
  });

  it('streams progress as server-sent events and ends when the run is done', async () => {
    const created = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-b'] }, config: { sessions: 2 } },
    });
    const jobId = created.body.cells[0].jobId;
    const res = await fetch(`${api.url}/api/v1/runs/${created.body.id}/events`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const progress = (async () => {
      await new Promise((r) => setTimeout(r, 120));
      await recordSessionFinished(api.db.pool, jobId);
      await new Promise((r) => setTimeout(r, 120));
      await recordSessionFinished(api.db.pool, jobId);
    })();
    const text = await res.text(); // ends only when the server closes the stream
    await progress;
    const events = text.split('\n\n').filter((e) => e.startsWith('id:')).map((e) => {
      const name = /event: (\w+)/.exec(e)![1];
      return { name, data: JSON.parse(/data: (.*)/.exec(e)![1]) };
    });
    assert.equal(events[0].name, 'progress');
    assert.equal(events[0].data.sessionsDone, 0);
    assert.ok(events.some((e) => e.name === 'progress' && e.data.sessionsDone === 1));
    const last = events[events.length - 1];
    assert.equal(last.name, 'done');
    assert.equal(last.data.status, 'done');
    assert.equal(last.data.sessionsDone, 2);
  });

  it('accepts BenchReports measured outside the farm into a cell, once per session index, above the farm\'s indices', async () => {
    const created = await api.call('POST', '/api/v1/runs', {
      body: { acceptExternalSessions: true, matrix: { artifacts: [head], backends: ['cpu'], devices: ['qemu-arm64'] } },
    });
    const runId = created.body.id;
    const ok = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: benchReport({ sha256: headSha }), deviceModel: 'Pixel 8' } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    // The farm's session 0 is still queued: the external one must not take its slot.
    assert.equal(ok.body.sessionIndex, 100_000);
    // Nor count towards the farm's plan: the cell waits for the farm's own session.
    assert.equal(ok.body.cellStatus, 'queued');
    const dup = await api.call('POST', `/api/v1/runs/${runId}/sessions`, {
      body: { cellIndex: 0, sessionIndex: 100_000, report: benchReport({ sha256: headSha, iterationsUs: [1] }) },
    });
    assert.equal(dup.status, 200);
    assert.equal(dup.body.inserted, false);
    const { rows } = await api.db.pool.query(`SELECT source, iterations_us, series_id FROM sessions WHERE run_id = $1`, [runId]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].source, 'external');
    assert.deepEqual(rows[0].iterations_us, [1000, 1100, 1200, 1300, 5000]);
    assert.ok(rows[0].series_id);
    const run = await api.call('GET', `/api/v1/runs/${runId}`);
    assert.equal(run.body.status, 'queued');
    assert.equal(run.body.cells[0].figures.deviceArch, 'aarch64');

    // The farm still stores its own session 0 afterwards (it is not dropped as a duplicate).
    const farm = await insertSession(api.db.pool, {
      jobId: `${runId}.0`, runId, role: 'head', sessionIndex: 0, artifactId: head, status: 'ok', backendRequested: 'cpu', report: {},
    });
    assert.equal(farm.inserted, true);
    assert.deepEqual(await recordSessionFinished(api.db.pool, `${runId}.0`), { jobDone: true, runDone: true });
    const next = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: benchReport({ sha256: headSha }) } });
    assert.equal(next.status, 201);
    assert.equal(next.body.sessionIndex, 100_001);

    const farmSlot = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, sessionIndex: 1, report: benchReport({ sha256: headSha }) } });
    assert.equal(farmSlot.status, 409);
    assert.equal(farmSlot.body.error.code, 'session_index_reserved');
    assert.match(farmSlot.body.error.message, /sessionIndex 1 is in the farm's range for cell 0/);

    const invalid = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: { ...benchReport({ sha256: headSha }), host: { arch: 'x' } } } });
    assert.equal(invalid.status, 422);
    assert.match(invalid.body.error.message, /report is not a valid BenchReport: \/host/);
    const wrongCell = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 9, report: benchReport({ sha256: headSha }) } });
    assert.equal(wrongCell.status, 422);
    assert.match(wrongCell.body.error.message, /cellIndex 9 is not a cell/);
    const wrongBackend = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: benchReport({ sha256: headSha, backend: 'vulkan' }) } });
    assert.equal(wrongBackend.status, 422);
    const wrongModel = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: benchReport({ sha256: baseSha }) } });
    assert.equal(wrongModel.status, 422);
    assert.equal(wrongModel.body.error.message, `report.model.sha256 is ${baseSha} but cell 0's head artifact ${head} has sha256 ${headSha}`);
    const wrongFormat = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: benchReport({ sha256: headSha, format: 'ptl' }) } });
    assert.equal(wrongFormat.status, 422);
    assert.match(wrongFormat.body.error.message, /report.model.format is "ptl" but cell 0's head artifact .* is "onnx"/);
    const noModel = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, report: { ...benchReport(), model: undefined } } });
    assert.equal(noModel.status, 422);
    assert.match(noModel.body.error.message, /\/model: is required/);
    assert.equal((await api.db.pool.query(`SELECT count(*)::int AS n FROM sessions WHERE run_id = $1`, [runId])).rows[0].n, 3);
  });

  it('checks an external baseline report against the baseline artifact, and shares the farm\'s series', async () => {
    const created = await api.call('POST', '/api/v1/runs', {
      body: { acceptExternalSessions: true, matrix: { artifacts: [head], baselineArtifact: base, backends: ['cpu'], devices: ['host-a'] } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = created.body.id;
    const headAsBaseline = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, role: 'baseline', report: benchReport({ sha256: headSha }) } });
    assert.equal(headAsBaseline.status, 422);
    assert.equal(headAsBaseline.body.error.message, `report.model.sha256 is ${headSha} but cell 0's baseline artifact ${base} has sha256 ${baseSha}`);
    const report = benchReport({ sha256: baseSha, seed: 7 });
    const ok = await api.call('POST', `/api/v1/runs/${runId}/sessions`, { body: { cellIndex: 0, role: 'baseline', report, deviceModel: 'Pixel 8' } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.sessionIndex, 100_000);

    // A farm session of the same model, device and inputs (stored the way the worker does) joins the same series.
    const farm = await insertSession(api.db.pool, {
      jobId: `${runId}.0`, runId, role: 'baseline', sessionIndex: 0, artifactId: base, status: 'ok', backendRequested: 'cpu',
      runtime: 'onnxruntime', harnessVersion: '1.0.0', report: {},
      series: { deviceModel: 'Pixel 8', osVersion: 'Android 14', inputSpec: seriesInputSpec(report.spec) },
    });
    const { rows } = await api.db.pool.query(
      `SELECT s.session_index, s.series_id, se.input_spec FROM sessions s JOIN series se ON se.id = s.series_id WHERE s.run_id = $1 ORDER BY 1`,
      [runId],
    );
    assert.equal(rows.length, 2);
    assert.equal(rows[0].series_id, rows[1].series_id, 'farm and external sessions share one series');
    assert.equal(Number(rows[0].series_id), Number((await api.db.pool.query('SELECT series_id FROM sessions WHERE id = $1', [farm.id])).rows[0].series_id));
    assert.match(rows[1].input_spec, /"seed":7/);
    const otherSeed = await api.call('POST', `/api/v1/runs/${runId}/sessions`, {
      body: { cellIndex: 0, role: 'baseline', report: benchReport({ sha256: baseSha, seed: 8 }), deviceModel: 'Pixel 8' },
    });
    assert.equal(otherSeed.status, 201);
    const s3 = await api.db.pool.query('SELECT series_id FROM sessions WHERE id = $1', [otherSeed.body.sessionId]);
    assert.notEqual(s3.rows[0].series_id, rows[0].series_id, 'a different input seed is a different series');
  });

  it('lists devices and releases a quarantined one', async () => {
    await api.db.pool.query(`UPDATE devices SET state = 'quarantined', state_reason = '3 failures' WHERE id = 'host-b'`);
    const list = await api.call('GET', '/api/v1/devices');
    assert.equal(list.status, 200);
    const b = list.body.devices.find((d: any) => d.id === 'host-b');
    assert.equal(b.state, 'quarantined');
    assert.equal(list.body.devices.find((d: any) => d.id === 'qemu-1').poolLabel, 'qemu-arm64 (emulated)');
    const released = await api.call('POST', '/api/v1/devices/host-b/release');
    assert.equal(released.status, 200);
    assert.equal(released.body.state, 'online');
    assert.equal((await api.call('POST', '/api/v1/devices/nope/release')).status, 404);
  });
});

describe('api/runs cancel', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
    await registerDevices(api, [device({ id: 'host-a' })]);
  });
  after(async () => api?.close());

  it('cancels a queued run: cells cancelled, waiting sessions removed; a second cancel is 409', async () => {
    const art = (await upload(api, tinyOnnx(), { model: 'm' })).body.id;
    const created = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [art], backends: ['cpu'], devices: ['host-x86_64', 'host-a'] }, config: { sessions: 3 } },
    });
    const q = new Queue(queueNameForPool('host-x86_64', api.prefix), { connection: api.redis, prefix: api.prefix });
    const qd = new Queue(queueNameForDevice('host-a', api.prefix), { connection: api.redis, prefix: api.prefix });
    try {
      assert.equal(await q.count(), 3);
      assert.equal(await qd.count(), 3);
      const res = await api.call('POST', `/api/v1/runs/${created.body.id}/cancel`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'cancelled');
      assert.equal(res.body.cancelledCells, 2);
      assert.deepEqual(res.body.cells.map((c: any) => c.status), ['cancelled', 'cancelled']);
      assert.equal(await q.count(), 0);
      assert.equal(await qd.count(), 0);
      assert.equal(await markJobRunning(api.db.pool, created.body.cells[0].jobId), false, 'a worker drops sessions of a cancelled cell');
      const again = await api.call('POST', `/api/v1/runs/${created.body.id}/cancel`);
      assert.equal(again.status, 409);
    } finally {
      await q.close();
      await qd.close();
    }
  });
});

describe('api/runs with Redis down', () => {
  let api: TestApi;
  let dead: Redis;
  let server: WebServer;
  before(async () => {
    api = await startTestApi();
    await registerDevices(api, [device({ id: 'host-a' })]);
    // Nothing listens on port 1: every Redis command fails after its retries.
    dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, lazyConnect: true });
    dead.on('error', () => undefined);
    server = await startWebServer({ config: api.server.deps.config, db: api.db.pool, redis: dead, migrate: false });
  });
  after(async () => {
    await server?.close();
    dead?.disconnect();
    await api?.close();
  });

  it('answers 503 and keeps no run when the sessions cannot be enqueued; readyz names Redis', async () => {
    const art = (await upload(api, tinyOnnx(), { model: 'm' })).body.id;
    const res = await fetch(`${server.url}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ matrix: { artifacts: [art], backends: ['cpu'], devices: ['host-a'] } }),
    });
    const body = await res.json();
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.error.code, 'queue_unavailable');
    const { rows } = await api.db.pool.query('SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM jobs)::int AS jobs');
    assert.deepEqual(rows[0], { runs: 0, jobs: 0 });
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.notEqual((await ready.json()).checks.redis, 'ok');
  });
});
