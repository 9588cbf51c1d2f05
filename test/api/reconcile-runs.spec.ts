import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { reconcileQueuedRuns, startWebServer } from '@pocketbench/api';
import { queueNameForDevice, queueNameForPool, sessionJobId, type SessionJobData } from '@pocketbench/contracts';
import { insertSession } from '@pocketbench/db';
import { device, registerDevices, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

describe('api/reconcileQueuedRuns', () => {
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

    const first = await reconcileQueuedRuns({ db: api.db.pool, queues: api.server.deps.queues });
    assert.deepEqual(first, { cells: 2, sessions: 5 });
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
    assert.deepEqual(order, ['head0', 'baseline0', 'head1', 'baseline1']);

    // Idempotent: a second pass finds the same cells, BullMQ keeps one job per id.
    await reconcileQueuedRuns({ db: api.db.pool, queues: api.server.deps.queues });
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
});
