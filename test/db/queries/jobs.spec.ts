import assert from 'node:assert/strict';
import {
  addPlannedSessions, ensureModel, ensureProject, failJob, getJob, getRun, insertArtifact, insertJobs, insertRun,
  insertSession, markJobRunning, recordSessionFinished, type NewJob,
} from '@pocketbench/db';
import { DEFAULT_RUN_CONFIG } from '@pocketbench/contracts';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

describe('db/queries/jobs', () => {
  let db: TestDatabase;
  let projectId: string;
  let artifactId: string;
  before(async () => {
    db = await createTestDatabase();
    projectId = (await ensureProject(db.pool, 'jobs-test')).id;
    const model = await ensureModel(db.pool, projectId, 'tiny');
    artifactId = (await insertArtifact(db.pool, { modelId: model.id, sha256: 'a'.repeat(64), format: 'onnx', variant: 'fp32', sizeBytes: 10 })).artifact.id;
  });
  after(async () => db?.drop());

  async function makeRun(cells: { sessions: number; status?: 'queued' | 'unsupported' }[]) {
    const run = await insertRun(db.pool, {
      projectId, config: DEFAULT_RUN_CONFIG, matrix: {}, jobsTotal: cells.length,
      jobsFinished: cells.filter((c) => c.status === 'unsupported').length,
    });
    assert.ok(run);
    const jobs: NewJob[] = cells.map((c, i) => ({
      id: `${run.id}.${i}`, runId: run.id, cellIndex: i, artifactId, backend: 'cpu', pool: 'host-x86_64',
      status: c.status ?? 'queued', sessionsPlanned: c.sessions, reason: c.status === 'unsupported' ? 'no device' : null,
    }));
    await insertJobs(db.pool, jobs);
    return run.id;
  }

  it('walks a run from queued through running to done', async () => {
    const runId = await makeRun([{ sessions: 2 }, { sessions: 1 }, { sessions: 1, status: 'unsupported' }]);
    assert.equal((await getRun(db.pool, runId))!.status, 'queued');
    assert.equal(await markJobRunning(db.pool, `${runId}.0`), true);
    assert.equal((await getRun(db.pool, runId))!.status, 'running');
    assert.deepEqual(await recordSessionFinished(db.pool, `${runId}.0`), { jobDone: false, runDone: false });
    assert.deepEqual(await recordSessionFinished(db.pool, `${runId}.0`), { jobDone: true, runDone: false });
    // A late duplicate call on a finished cell changes nothing.
    assert.deepEqual(await recordSessionFinished(db.pool, `${runId}.0`), { jobDone: false, runDone: false });
    assert.equal(await markJobRunning(db.pool, `${runId}.2`), false, 'unsupported cells are not runnable');
    assert.deepEqual(await recordSessionFinished(db.pool, `${runId}.1`), { jobDone: true, runDone: true });
    const run = (await getRun(db.pool, runId))!;
    assert.equal(run.status, 'done');
    assert.equal(run.jobsFinished, 3);
    assert.ok(run.finishedAt);
    assert.equal((await getJob(db.pool, `${runId}.0`))!.sessionsDone, 2);
  });

  it('fails a run only when no cell succeeded, and keeps the error on the job', async () => {
    const runId = await makeRun([{ sessions: 1 }, { sessions: 1 }]);
    assert.deepEqual(await failJob(db.pool, `${runId}.0`, 'ModelError', 'corrupt model: bad protobuf'), { runDone: false });
    assert.equal(await markJobRunning(db.pool, `${runId}.0`), false);
    assert.deepEqual(await failJob(db.pool, `${runId}.1`, 'InfraError', 'appium gone'), { runDone: true });
    assert.equal((await getRun(db.pool, runId))!.status, 'failed');
    const cell = (await getJob(db.pool, `${runId}.0`))!;
    assert.equal(cell.status, 'failed');
    assert.equal(cell.errorClass, 'ModelError');
    assert.equal(cell.reason, 'corrupt model: bad protobuf');

    const mixed = await makeRun([{ sessions: 1 }, { sessions: 1 }]);
    await failJob(db.pool, `${mixed}.0`, 'ModelError', 'x');
    await recordSessionFinished(db.pool, `${mixed}.1`);
    assert.equal((await getRun(db.pool, mixed))!.status, 'done');
  });

  it('counts concurrent completions exactly', async () => {
    const runId = await makeRun(Array.from({ length: 20 }, () => ({ sessions: 3 })));
    const calls = [];
    for (let i = 0; i < 20; i++) for (let s = 0; s < 3; s++) calls.push(recordSessionFinished(db.pool, `${runId}.${i}`));
    const results = await Promise.all(calls);
    assert.equal(results.filter((r) => r.jobDone).length, 20);
    assert.equal(results.filter((r) => r.runDone).length, 1);
    const run = (await getRun(db.pool, runId))!;
    assert.equal(run.status, 'done');
    assert.equal(run.jobsFinished, 20);
  });

  it('ends a cell whose every session came back unsupported as unsupported, with the device\'s reason', async () => {
    const runId = await makeRun([{ sessions: 2 }, { sessions: 2 }]);
    const store = async (cell: number, index: number, status: 'ok' | 'unsupported') => {
      const s = await insertSession(db.pool, {
        jobId: `${runId}.${cell}`, runId, role: 'head', sessionIndex: index, artifactId, status, backendRequested: 'vulkan',
        errorClass: status === 'unsupported' ? 'unsupported_backend' : null,
        errorMessage: status === 'unsupported' ? 'no Vulkan adapter on this device' : null,
        iterationsUs: status === 'ok' ? [100, 101, 102] : [], report: {},
      });
      assert.ok(s.inserted);
      return recordSessionFinished(db.pool, `${runId}.${cell}`);
    };
    assert.deepEqual(await store(0, 0, 'unsupported'), { jobDone: false, runDone: false });
    assert.deepEqual(await store(0, 1, 'unsupported'), { jobDone: true, runDone: false });
    const cell = (await getJob(db.pool, `${runId}.0`))!;
    assert.equal(cell.status, 'unsupported');
    assert.equal(cell.reason, 'no Vulkan adapter on this device');
    assert.equal(cell.errorClass, 'unsupported_backend');
    assert.ok(cell.finishedAt);
    // One measured session among unsupported ones: the cell is done.
    await store(1, 0, 'unsupported');
    assert.deepEqual(await store(1, 1, 'ok'), { jobDone: true, runDone: true });
    assert.equal((await getJob(db.pool, `${runId}.1`))!.status, 'done');
    const run = (await getRun(db.pool, runId))!;
    assert.equal(run.status, 'done');
    assert.equal(run.jobsFinished, 2);
    assert.equal(run.jobsDone, 1, 'an unsupported cell is finished but not done');
    assert.equal(run.jobsFailed, 0);
  });

  it('adds adaptive sessions to a running cell only', async () => {
    const runId = await makeRun([{ sessions: 2 }]);
    assert.deepEqual(await addPlannedSessions(db.pool, `${runId}.0`, 2), { sessionsPlanned: 4 });
    for (let i = 0; i < 3; i++) await recordSessionFinished(db.pool, `${runId}.0`);
    assert.deepEqual(await recordSessionFinished(db.pool, `${runId}.0`), { jobDone: true, runDone: true });
    assert.equal(await addPlannedSessions(db.pool, `${runId}.0`, 2), null, 'a finished cell stays finished');
    assert.equal((await getRun(db.pool, runId))!.status, 'done');
    await failJob(db.pool, `${runId}.0`, 'X', 'ignored: already done');
    assert.equal((await getJob(db.pool, `${runId}.0`))!.status, 'done');
    assert.equal(await addPlannedSessions(db.pool, 'nope.0', 1), null);
  });

  it('stores a run whose every cell is unsupported as done', async () => {
    const runId = await makeRun([{ sessions: 1, status: 'unsupported' }]);
    assert.equal((await getRun(db.pool, runId))!.status, 'done');
  });
});
