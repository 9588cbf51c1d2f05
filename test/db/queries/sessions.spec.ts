import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { insertSession, listSessionsForRun, type InsertSessionInput } from '@pocketbench/db';
import { iterationSummary } from '@pocketbench/stats';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

describe('db/queries/sessions', () => {
  let db: TestDatabase;
  let runId: string;
  let artifactId: string;
  const jobId = 'job-under-test';

  before(async () => {
    db = await createTestDatabase();
    const p = await db.pool.query(`INSERT INTO projects (name) VALUES ('demo') RETURNING id`);
    const m = await db.pool.query(`INSERT INTO models (project_id, name) VALUES ($1, 'tiny_cnn') RETURNING id`, [p.rows[0].id]);
    const a = await db.pool.query(
      `INSERT INTO artifacts (model_id, sha256, format, size_bytes) VALUES ($1, $2, 'onnx', 1234) RETURNING id`,
      [m.rows[0].id, 'a'.repeat(64)],
    );
    artifactId = a.rows[0].id;
    const r = await db.pool.query(`INSERT INTO runs (project_id, config) VALUES ($1, '{}') RETURNING id`, [p.rows[0].id]);
    runId = r.rows[0].id;
    await db.pool.query(
      `INSERT INTO jobs (id, run_id, cell_index, artifact_id, backend, pool, sessions_planned) VALUES ($1, $2, 0, $3, 'cpu', 'host-x86_64', 2)`,
      [jobId, runId, artifactId],
    );
  });
  after(async () => db?.drop());

  function input(sessionIndex: number, iterationsUs: number[]): InsertSessionInput {
    return {
      jobId, runId, role: 'head', sessionIndex, artifactId, status: 'ok', backendRequested: 'cpu', backendUsed: 'cpu',
      runtime: 'onnxruntime', runtimeVersion: '1.22.0', harnessVersion: 'h1', deviceArch: 'x86_64', iterationsUs, summary: iterationSummary(iterationsUs),
      loadMs: 12.5, peakRssBytes: 50_000_000, modelSizeBytes: 1234, report: { iterationsUs },
      series: { deviceModel: 'test-box', osVersion: '6.1.0', inputSpec: { inputs: [{ name: 'x', shape: [1, 3, 8, 8] }], seed: 1 } },
    };
  }

  it('stores every iteration with summary columns and a series, once per (job, role, session)', async () => {
    const first = await insertSession(db.pool, input(0, [1000, 1100, 1200]));
    assert.equal(first.inserted, true);
    const dup = await insertSession(db.pool, input(0, [9, 9, 9]));
    assert.deepEqual(dup, { id: first.id, inserted: false });
    await insertSession(db.pool, input(1, [1300, 1400]));
    const rows = await listSessionsForRun(db.pool, runId);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0].iterationsUs, [1000, 1100, 1200]);
    assert.equal(rows[0].p50Us, 1100);
    assert.ok(rows[0].seriesId);
    assert.equal(rows[0].seriesId, rows[1].seriesId, 'same series for the same project/model/device/input');
    const series = await db.pool.query('SELECT model, variant, os_major FROM series');
    assert.deepEqual(series.rows, [{ model: 'tiny_cnn', variant: 'fp32', os_major: '6' }]);
  });

  it('stores an error session without iterations or series', async () => {
    const r = await insertSession(db.pool, {
      jobId, runId, role: 'baseline', sessionIndex: 0, artifactId, status: 'error', errorClass: 'model_load',
      errorMessage: 'protobuf parsing failed', backendRequested: 'cpu', report: { status: 'error' },
    });
    assert.equal(r.inserted, true);
    const rows = await listSessionsForRun(db.pool, runId);
    const err = rows.find((x) => x.role === 'baseline')!;
    assert.equal(err.status, 'error');
    assert.equal(err.seriesId, null);
    assert.equal(err.p50Us, null);
    assert.equal(err.errorMessage, 'protobuf parsing failed');
  });

  it('refuses a session of an unknown job without writing anything', async () => {
    await assert.rejects(insertSession(db.pool, { ...input(5, [1]), jobId: `nope-${randomUUID()}` }));
    const rows = await listSessionsForRun(db.pool, runId);
    assert.equal(rows.length, 3);
  });
});
