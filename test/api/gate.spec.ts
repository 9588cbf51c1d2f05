import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { parseBudgets } from '@pocketbench/contracts';
import { listVerdictsForRun } from '@pocketbench/db';
import { renderGateJUnit, renderGateMarkdown, type GateResult } from '@pocketbench/stats';
import { evaluateRunGate, GateError } from '../../services/api/src/domain/gate/index.js';
import pino from 'pino';
import { errorHandler } from '../../services/api/src/http/errors.js';
import { gatePaths, gateRoutes } from '../../services/api/src/routes/gate.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import {
  createGateFixture,
  insertArtifact,
  insertJob,
  insertRun,
  insertSeries,
  insertSessions,
  type GateFixture,
} from '../stats/gate-fixtures.js';

const MANDATE = `rules:
  - match: { model: mobilenet_v2 }
    model_size_mb: 15
    p90_ms: 50
`;

function withoutClock(r: GateResult) {
  return { ...r, evaluatedAt: '' };
}

describe('api/gate', () => {
  let tdb: TestDatabase;
  let f: GateFixture;
  let head: string;
  let base: string;

  before(async () => {
    tdb = await createTestDatabase();
    f = await createGateFixture(tdb.pool);
    head = await insertArtifact(f, { sizeBytes: 14_000_000, tag: 'head' });
    base = await insertArtifact(f, { sizeBytes: 13_900_000, tag: 'base' });
  });
  after(async () => tdb?.drop());

  async function pairedRun(headUs: number, baseUs: number, seed: number): Promise<string> {
    const runId = await insertRun(f);
    const jobId = await insertJob(f, runId, { artifactId: head, baselineArtifactId: base });
    await insertSessions(f, { runId, jobId, artifactId: head, count: 6, medianUs: headUs, seed });
    await insertSessions(f, { runId, jobId, artifactId: base, role: 'baseline', count: 6, medianUs: baseUs, seed: seed + 1 });
    return runId;
  }

  describe('evaluateRunGate', () => {
    it('fails a paired A/B run with a clearly slower head, stores the verdicts, and puts the failure first', async () => {
      const runId = await pairedRun(12_000, 10_000, 1);
      const r = await evaluateRunGate(tdb.pool, runId, parseBudgets(MANDATE));
      assert.equal(r.verdict, 'fail');
      const checks = r.cells[0].checks;
      const regression = checks.find((c) => c.metric === 'regression')!;
      assert.equal(regression.verdict, 'fail');
      assert.equal(regression.baselineSource, 'paired');
      assert.ok(regression.ratio! > 1.15 && regression.ratio! < 1.25, `ratio ${regression.ratio}`);
      assert.ok(regression.ciLow! > 1.05 && regression.ciLow! < regression.ratio! && regression.ratio! < regression.ciHigh!);
      assert.equal(regression.budget, 5);
      assert.equal(checks.find((c) => c.metric === 'p90_ms')!.verdict, 'pass');
      const size = checks.find((c) => c.metric === 'model_size_mb')!;
      assert.equal(size.verdict, 'pass');
      assert.ok(Math.abs(size.head! - 14_000_000 / 1048576) < 1e-9);

      const stored = await listVerdictsForRun(tdb.pool, runId);
      assert.deepEqual(stored.map((v) => [v.jobId === null ? 'run' : v.metric, v.verdict]).sort(), [
        ['model_size_mb', 'pass'],
        ['p90_ms', 'pass'],
        ['regression', 'fail'],
        ['run', 'fail'],
      ]);
      assert.equal(stored.find((v) => v.metric === 'regression')!.baselineSource, 'paired');

      const md = renderGateMarkdown(r);
      const rows = md.split('\n').filter((l) => l.startsWith('| '));
      assert.match(rows[1], /fail \| mobilenet_v2 fp32 onnx · cpu · host-x86_64 \| regression \|/);
      assert.match(md, /pocketbench gate: \*\*fail\*\*/);
      const xml = renderGateJUnit(r);
      assert.match(xml, /<testsuites name="pocketbench gate" tests="3" failures="1"/);
      assert.match(xml, /<failure type="regression" message="Head is 2\d\.\d % slower/);
    });

    it('never fails the same artifact against itself, and gives the same answer twice', async () => {
      const runId = await pairedRun(10_000, 10_000, 10);
      const a = await evaluateRunGate(tdb.pool, runId, parseBudgets(MANDATE));
      assert.notEqual(a.verdict, 'fail');
      const b = await evaluateRunGate(tdb.pool, runId, parseBudgets(MANDATE));
      assert.deepEqual(withoutClock(a), withoutClock(b));
      assert.equal((await listVerdictsForRun(tdb.pool, runId)).length, 4, 're-gating replaces the verdicts');
    });

    it('excludes unstable sessions from the verdict and says so', async () => {
      const runId = await pairedRun(10_000, 10_000, 20);
      const jobId = `${runId}.0`;
      await insertSessions(f, { runId, jobId, artifactId: head, count: 3, medianUs: 50_000, status: 'unstable', seed: 22, firstIndex: 10 });
      const r = await evaluateRunGate(tdb.pool, runId, parseBudgets(''));
      const regression = r.cells[0].checks[0];
      assert.equal(regression.headSessions, 6);
      assert.ok(regression.ratio! < 1.05);
      assert.match(regression.note ?? '', /3 session\(s\) excluded \(3 unstable\)/);
    });

    it('fails an absolute budget: model size exactly, p90 with its interval', async () => {
      const runId = await pairedRun(10_000, 10_000, 30);
      const r = await evaluateRunGate(
        tdb.pool,
        runId,
        parseBudgets('rules:\n  - match: { pool: host-* }\n    model_size_mb: 10\n    p90_ms: 5\n    peak_rss_mb: 100\n    load_ms: 1000\n'),
      );
      const by = Object.fromEntries(r.cells[0].checks.map((c) => [c.metric, c]));
      assert.equal(by.model_size_mb.verdict, 'fail');
      assert.equal(by.model_size_mb.ciLow, by.model_size_mb.ciHigh);
      assert.equal(by.p90_ms.verdict, 'fail');
      assert.ok(by.p90_ms.ciLow! > 5 && by.p90_ms.head! > 10 && by.p90_ms.head! < 12);
      assert.equal(by.peak_rss_mb.verdict, 'pass');
      assert.equal(by.load_ms.verdict, 'pass');
      assert.equal(r.verdict, 'fail');
    });

    it('compares with the series at the merge base when there is no paired baseline', async () => {
      const series = await insertSeries(f);
      const mainRun = await insertRun(f, { commit: 'aaaa1111bbbb2222', branch: 'main' });
      const mainJob = await insertJob(f, mainRun, { artifactId: base });
      await insertSessions(f, { runId: mainRun, jobId: mainJob, artifactId: base, seriesId: series, count: 6, medianUs: 10_000, seed: 40 });
      const prRun = await insertRun(f, { commit: 'cccc', branch: 'feature', mergeBase: 'aaaa1111bbbb2222' });
      const prJob = await insertJob(f, prRun, { artifactId: head });
      await insertSessions(f, { runId: prRun, jobId: prJob, artifactId: head, seriesId: series, count: 6, medianUs: 13_000, seed: 41 });
      const r = await evaluateRunGate(tdb.pool, prRun, parseBudgets(''));
      assert.equal(r.cells[0].checks[0].baselineSource, 'merge-base:aaaa1111bbbb');
      assert.equal(r.verdict, 'fail');
    });

    it('falls back to the latest run on the baseline branch inside the lookback window, else is inconclusive', async () => {
      const series = await insertSeries(f);
      const old = await insertRun(f, { commit: 'old0', branch: 'main', createdAt: new Date(Date.now() - 60 * 86_400_000) });
      const oldJob = await insertJob(f, old, { artifactId: base });
      await insertSessions(f, { runId: old, jobId: oldJob, artifactId: base, seriesId: series, count: 6, medianUs: 20_000, seed: 50, createdAt: new Date(Date.now() - 60 * 86_400_000) });
      const prRun = await insertRun(f, { commit: 'dddd', branch: 'feature', mergeBase: 'nobench' });
      const prJob = await insertJob(f, prRun, { artifactId: head });
      await insertSessions(f, { runId: prRun, jobId: prJob, artifactId: head, seriesId: series, count: 6, medianUs: 10_000, seed: 51 });
      const none = await evaluateRunGate(tdb.pool, prRun, parseBudgets(''));
      assert.equal(none.verdict, 'inconclusive');
      assert.match(none.cells[0].checks[0].note!, /No baseline: no paired baseline, no sessions of this series at the merge base nobench, none on branch main in the last 30 days/);

      const recent = await insertRun(f, { commit: 'eeee5555', branch: 'release' });
      const recentJob = await insertJob(f, recent, { artifactId: base });
      await insertSessions(f, { runId: recent, jobId: recentJob, artifactId: base, seriesId: series, count: 6, medianUs: 10_000, seed: 52 });
      const r = await evaluateRunGate(tdb.pool, prRun, parseBudgets(''), { baselineBranch: 'release' });
      assert.equal(r.cells[0].checks[0].baselineSource, 'branch:release@eeee5555');
      assert.equal(r.baselineBranch, 'release');
      assert.equal(r.verdict, 'pass');
      const longer = await evaluateRunGate(tdb.pool, prRun, parseBudgets(''), { lookbackDays: 90 });
      assert.equal(longer.cells[0].checks[0].baselineSource, 'branch:main@old0');
    });

    it('fails a cell whose head model cannot run on the device, naming the harness error', async () => {
      const runId = await insertRun(f, { status: 'failed' });
      const jobId = await insertJob(f, runId, { artifactId: head, status: 'failed' });
      await tdb.pool.query(
        `INSERT INTO sessions (job_id, run_id, role, session_index, artifact_id, status, error_class, error_message, backend_requested, report)
         VALUES ($1, $2, 'head', 0, $3, 'error', 'model_load', 'unsupported operator aten::foo', 'cpu', '{}')`,
        [jobId, runId, head],
      );
      const r = await evaluateRunGate(tdb.pool, runId, parseBudgets(MANDATE));
      assert.equal(r.verdict, 'fail');
      assert.equal(r.cells[0].checks.length, 1);
      assert.equal(r.cells[0].checks[0].metric, 'runs');
      assert.match(r.cells[0].checks[0].note!, /The head model failed on the device \(model_load: unsupported operator aten::foo\)/);
    });

    it('leaves a cell inconclusive when its job failed for infrastructure reasons', async () => {
      const runId = await insertRun(f, { status: 'failed' });
      await insertJob(f, runId, { artifactId: head, status: 'failed' });
      const r = await evaluateRunGate(tdb.pool, runId, parseBudgets(''));
      assert.equal(r.verdict, 'inconclusive');
      assert.match(r.cells[0].checks[0].note!, /No stable head sessions \(the cell failed/);
    });

    it('refuses an unknown run and a run still in progress', async () => {
      await assert.rejects(evaluateRunGate(tdb.pool, '00000000-0000-4000-8000-000000000000', parseBudgets('')), (e: unknown) => e instanceof GateError && e.status === 404);
      await assert.rejects(evaluateRunGate(tdb.pool, 'not-a-uuid', parseBudgets('')), /run "not-a-uuid" does not exist/);
      const running = await insertRun(f, { status: 'running', jobsTotal: 4 });
      await assert.rejects(evaluateRunGate(tdb.pool, running, parseBudgets('')), (e: unknown) => {
        assert.ok(e instanceof GateError);
        assert.equal(e.status, 409);
        assert.match(e.message, /is still running \(0 of 4 cells finished\)/);
        return true;
      });
    });

    it('lists a later failing cell (regression and size budget) before the passing earlier cells, in markdown and JUnit', async () => {
      const big = await insertArtifact(f, { sizeBytes: 20 * 1048576, tag: 'big' });
      const runId = await insertRun(f, { jobsTotal: 3 });
      // Cells 0 and 1 pass; cell 2 (last in matrix order) is slower and over its size budget.
      const cells = [
        { pool: 'host-a', artifactId: head, headUs: 9_000 },
        { pool: 'host-b', artifactId: head, headUs: 9_000 },
        { pool: 'host-late', artifactId: big, headUs: 12_500 },
      ];
      for (const [i, c] of cells.entries()) {
        const jobId = await insertJob(f, runId, { cellIndex: i, artifactId: c.artifactId, baselineArtifactId: base, pool: c.pool });
        await insertSessions(f, { runId, jobId, artifactId: c.artifactId, count: 6, medianUs: c.headUs, seed: 100 + 2 * i });
        await insertSessions(f, { runId, jobId, artifactId: base, role: 'baseline', count: 6, medianUs: 10_000, seed: 101 + 2 * i });
      }
      const r = await evaluateRunGate(tdb.pool, runId, parseBudgets('rules:\n  - match: { pool: host-* }\n    model_size_mb: 15\n'));
      assert.equal(r.verdict, 'fail');
      assert.deepEqual(r.cells.map((c) => c.verdict), ['pass', 'pass', 'fail']);

      const rows = renderGateMarkdown(r).split('\n').filter((l) => l.startsWith('| ')).slice(1);
      const summary = rows.map((l) => {
        const [verdict, cell, metric] = l.split(' | ');
        return `${verdict.split(' ').pop()} ${cell.split(' · ').pop()} ${metric}`;
      });
      assert.deepEqual(summary.slice(0, 2).sort(), ['fail host-late model_size_mb', 'fail host-late regression']);
      assert.deepEqual(summary.slice(2), [
        'pass host-a regression',
        'pass host-a model_size_mb',
        'pass host-b regression',
        'pass host-b model_size_mb',
      ]);

      const xml = renderGateJUnit(r);
      assert.match(xml, /<testsuites name="pocketbench gate" tests="6" failures="2"/);
      const cases = [...xml.matchAll(/<testcase classname="[^"]* · ([^"]+)" name="([^"]+)">\n(\s+<failure)?/g)].map(
        (m) => `${m[1]} ${m[2]}${m[3] ? ' FAILURE' : ''}`,
      );
      assert.equal(cases.length, 6);
      assert.deepEqual(cases.filter((c) => c.endsWith('FAILURE')).sort(), ['host-late model_size_mb FAILURE', 'host-late regression FAILURE']);
      assert.ok(cases[0].endsWith('FAILURE') && cases[1].endsWith('FAILURE'), `failures first: ${cases.join(', ')}`);
    });
  });

  describe('POST /api/v1/runs/:id/gate', () => {
    let server: Server;
    let url: string;
    before(async () => {
      const app = express();
      // As the api mounts it: behind authentication (here an admin caller) and the one error middleware.
      app.use((_req, res, next) => {
        res.locals.principal = { kind: 'admin', via: 'env' };
        next();
      });
      app.use(gateRoutes({ db: tdb.pool }));
      app.use(errorHandler(pino({ level: 'silent' }), 1 << 20));
      server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise((r) => server.close(r)));

    const post = async (runId: string, body: unknown) => {
      const res = await fetch(`${url}/api/v1/runs/${runId}/gate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the response is asserted field by field
      return { status: res.status, body: (await res.json()) as any };
    };

    it('answers 200 with the gate result', async () => {
      const runId = await pairedRun(12_000, 10_000, 60);
      const r = await post(runId, { budgets: MANDATE, baselineBranch: 'main' });
      assert.equal(r.status, 200);
      assert.equal(r.body.verdict, 'fail');
      assert.equal(r.body.cells[0].checks[0].metric, 'regression');
    });

    it('answers 404, 409 and 422 with the error shape', async () => {
      const unknown = await post('00000000-0000-4000-8000-000000000000', {});
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'run_not_found');
      const running = await post(await insertRun(f, { status: 'queued' }), {});
      assert.equal(running.status, 409);
      assert.equal(running.body.error.code, 'run_in_progress');
      const bad = await post(await pairedRun(10_000, 10_000, 70), { budgets: 'rules:\n  - match: { model: m }\n    p90_ms: fast\n' });
      assert.equal(bad.status, 422);
      assert.equal(bad.body.error.code, 'invalid_budgets');
      assert.match(bad.body.error.message, /budgets:3:13: rules\[0\]\.p90_ms: must be a positive number/);
      assert.deepEqual(bad.body.error.details.issues[0].line, 3);
      const field = await post('00000000-0000-4000-8000-000000000000', { budget: 'x' });
      assert.equal(field.status, 422);
      assert.equal(field.body.error.details.field, 'budget');
    });

    it('describes itself in OpenAPI', () => {
      const item = gatePaths['/api/v1/runs/{id}/gate'] as { post: { responses: Record<string, unknown> } };
      assert.deepEqual(Object.keys(item.post.responses).sort(), ['200', '404', '409', '422']);
    });
  });
});
