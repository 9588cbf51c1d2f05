import assert from 'node:assert/strict';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { reconcileRuns, startWebServer } from '@pocketbench/api';
import { queueNameForDevice, queueNameForPool, sessionJobId, type SessionJobData } from '@pocketbench/contracts';
import { addPlannedSessions, getJob, getRun, insertSession, markJobRunning, recordSessionFinished } from '@pocketbench/db';
import { device, registerDevices, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

describe('api/reconcileRuns', () => {
  let api: TestApi;
  let head: string;
  let base: string;
  const queues: Queue<SessionJobData>[] = [];
  const queue = (name: string) => {
    const q = new Queue<SessionJobData>(name, { connection: api.redis, prefix: api.prefix });
    queues.push(q);
    return q;
  };
  const names = () => [queueNameForDevice('host-a', api.prefix), queueNameForPool('host-x86_64', api.prefix)];
  /** Every job id waiting in the run's queues, with duplicates if there were any. */
  async function waitingIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const name of names()) ids.push(...(await queue(name).getJobs(['waiting'], 0, -1, true)).map((j) => j!.id!));
    return ids.sort();
  }
  async function emptyQueues() {
    for (const name of names()) await queue(name).obliterate({ force: true });
    assert.deepEqual(await waitingIds(), []);
  }

  before(async () => {
    api = await startTestApi();
    await registerDevices(api, [device({ id: 'host-a' })]);
    head = (await upload(api, tinyOnnx('head'), { model: 'relu' })).body.id;
    base = (await upload(api, tinyOnnx('base'), { model: 'relu' })).body.id;
  });
  after(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await api?.close();
  });

  it('re-enqueues the sessions of queued cells with no stored session, exactly once, and nothing else', async () => {
    const paired = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], baselineArtifact: base, backends: ['cpu'], devices: ['host-a'] }, config: { sessions: 2 } },
    });
    const single = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [head, base], backends: ['cpu'], devices: ['host-x86_64'] } } });
    const cancelled = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-x86_64'] } } });
    for (const r of [paired, single, cancelled]) assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await api.call('POST', `/api/v1/runs/${cancelled.body.id}/cancel`)).status, 200);
    const before = await waitingIds();
    // Paired: 2 sessions × 2 sides; single: 2 cells × 1 session.
    assert.equal(before.length, 6);
    const byId = new Map<string, SessionJobData>();
    for (const name of names()) for (const j of await queue(name).getJobs(['waiting'], 0, -1, true)) byId.set(j!.id!, j!.data);

    // Cell 1 of the single run has a stored session: it started, so it is not the reconciler's.
    await insertSession(api.db.pool, {
      jobId: `${single.body.id}.1`, runId: single.body.id, role: 'head', sessionIndex: 0, artifactId: base, status: 'ok',
      backendRequested: 'cpu', report: {},
    });
    // The crash: the rows are committed, the queue jobs are gone.
    await emptyQueues();

    const first = await reconcileRuns({ db: api.db.pool, queues: api.server.deps.queues });
    assert.deepEqual(first, { cells: 2, sessions: 5, failedCells: 0, releasedLeases: 0, finishedRuns: 0 });
    const expected = [
      sessionJobId(paired.body.id, 0, 'head', 0), sessionJobId(paired.body.id, 0, 'baseline', 0),
      sessionJobId(paired.body.id, 0, 'head', 1), sessionJobId(paired.body.id, 0, 'baseline', 1),
      sessionJobId(single.body.id, 0, 'head', 0),
    ].sort();
    assert.deepEqual(await waitingIds(), expected);
    for (const name of names()) {
      for (const j of await queue(name).getJobs(['waiting'], 0, -1, true)) {
        assert.deepEqual(j!.data, byId.get(j!.id!), `job ${j!.id} is planned as at submission`);
        assert.equal(j!.opts.attempts, 3);
      }
    }
    // The device queue keeps the A B A B order.
    const order = (await queue(names()[0]).getJobs(['waiting'], 0, -1, true)).map((j) => `${j!.data.role}${j!.data.sessionIndex}`);
    // Counterbalanced as at submission: A B, then B A.
    assert.deepEqual(order, ['head0', 'baseline0', 'baseline1', 'head1']);

    // Idempotent: a second pass finds the same cells, BullMQ keeps one job per id.
    await reconcileRuns({ db: api.db.pool, queues: api.server.deps.queues });
    assert.deepEqual(await waitingIds(), expected);
  });

  it('runs at API start', async () => {
    await emptyQueues();
    const server = await startWebServer({ config: api.server.deps.config, db: api.db.pool, redis: api.redis, migrate: false });
    try {
      assert.equal((await waitingIds()).length, 5);
    } finally {
      await server.close();
    }
  });

  /** A stored session of a cell, counted like the worker counts it. */
  async function store(runId: string, cell: number, role: 'head' | 'baseline', sessionIndex: number, artifactId: string) {
    await markJobRunning(api.db.pool, `${runId}.${cell}`);
    await insertSession(api.db.pool, {
      jobId: `${runId}.${cell}`, runId, role, sessionIndex, artifactId, status: 'ok', backendRequested: 'cpu', report: {},
    });
    await recordSessionFinished(api.db.pool, `${runId}.${cell}`);
  }

  it('after a lost queue, enqueues only the missing sessions of a running cell, adaptive extras included', async () => {
    // The runs above are not this test's.
    for (const { id } of (await api.db.pool.query(`SELECT id FROM runs WHERE status IN ('queued', 'running')`)).rows) {
      await api.call('POST', `/api/v1/runs/${id}/cancel`);
    }
    await emptyQueues();
    const single = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-x86_64'] }, config: { sessions: 3 } },
    });
    const paired = await api.call('POST', '/api/v1/runs', {
      body: { matrix: { artifacts: [head], baselineArtifact: base, backends: ['cpu'], devices: ['host-a'] }, config: { sessions: 1, adaptive: true } },
    });
    for (const r of [single, paired]) assert.equal(r.status, 201, JSON.stringify(r.body));
    // 2 of 3 stored: the cell is running, as in the Redis-restart report.
    await store(single.body.id, 0, 'head', 0, head);
    await store(single.body.id, 0, 'head', 1, head);
    // The paired cell stored its first pair and planned one more pair (adaptive).
    await store(paired.body.id, 0, 'head', 0, head);
    assert.ok(await addPlannedSessions(api.db.pool, `${paired.body.id}.0`, 2));
    await store(paired.body.id, 0, 'baseline', 0, base);
    await emptyQueues();

    const r = await reconcileRuns({ db: api.db.pool, queues: api.server.deps.queues });
    assert.equal(r.sessions, 3);
    assert.deepEqual(await waitingIds(), [
      sessionJobId(single.body.id, 0, 'head', 2),
      sessionJobId(paired.body.id, 0, 'head', 1), sessionJobId(paired.body.id, 0, 'baseline', 1),
    ].sort());
    const extra = (await queue(names()[0]).getJob(sessionJobId(paired.body.id, 0, 'baseline', 1)))!;
    assert.equal(extra.data.artifact.id, base);
    assert.equal(extra.data.deviceId, 'host-a');
    // A pass while the jobs wait changes nothing.
    assert.equal((await reconcileRuns({ db: api.db.pool, queues: api.server.deps.queues })).sessions, 0);
    await api.call('POST', `/api/v1/runs/${single.body.id}/cancel`);
    await api.call('POST', `/api/v1/runs/${paired.body.id}/cancel`);
  });

  it('fails a cell whose session job used all its attempts, and finishes a run whose cells are all final', async () => {
    await emptyQueues();
    const run = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-x86_64'] } } });
    assert.equal(run.status, 201);
    // A consumer that gives up on the job while the database is away: the cell is never told.
    const worker = new Worker<SessionJobData>(names()[1], async () => {
      throw new UnrecoverableError('store_failed: the database did not answer');
    }, { connection: api.redis, prefix: api.prefix });
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    await markJobRunning(api.db.pool, `${run.body.id}.0`);
    const r = await reconcileRuns({ db: api.db.pool, queues: api.server.deps.queues });
    assert.equal(r.failedCells, 1);
    const cell = (await getJob(api.db.pool, `${run.body.id}.0`))!;
    assert.equal(cell.status, 'failed');
    assert.equal(cell.errorClass, 'store_failed');
    assert.match(cell.reason!, /used all its attempts: store_failed: the database did not answer/);
    assert.equal((await getRun(api.db.pool, run.body.id))!.status, 'failed');

    // Cells final, run row left running (a crash between the two updates).
    const stuck = await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [head], backends: ['cpu'], devices: ['host-x86_64'] } } });
    await api.db.pool.query(`UPDATE jobs SET status = 'done', sessions_done = 1, finished_at = now() WHERE run_id = $1`, [stuck.body.id]);
    await api.db.pool.query(`UPDATE runs SET status = 'running' WHERE id = $1`, [stuck.body.id]);
    const r2 = await reconcileRuns({ db: api.db.pool, queues: api.server.deps.queues });
    assert.equal(r2.finishedRuns, 1);
    const fixed = (await getRun(api.db.pool, stuck.body.id))!;
    assert.equal(fixed.status, 'done');
    assert.equal(fixed.jobsFinished, 1);
    assert.ok(fixed.finishedAt);
  });
});
