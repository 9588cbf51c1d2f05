// Alerts after merge: change points over seeded series (some step up 12 %, some down 10 %,
// the rest flat) open alerts exactly where the steps are; acknowledging one restarts the
// series' baseline; detection is idempotent and ignores branch runs.
import assert from 'node:assert/strict';
import { baselineSegmentStart } from '@pocketbench/db';
import { detectAlertsAfterRun, detectAlertsForSeries, startAlertSweeper } from '../../services/api/src/domain/alerts/index.js';
import { seedDashboard } from '../../scripts/seed-dashboard.js';
import pino from 'pino';
import { RunEvents } from '../../services/worker/src/run-events.js';
import { TEST_REDIS_URL } from '../support/redis.js';
import { startTestApi, type TestApi } from './helpers.js';

const redisUrl = new URL(TEST_REDIS_URL);

describe('api: alerts after merge', () => {
  let api: TestApi;
  let q: TestApi['db']['pool'];
  let seriesIds: number[];

  before(async () => {
    api = await startTestApi();
    q = api.db.pool;
    // 30 runs per model: the seed steps regress series with id % 3 = 0 by 12 % and improve
    // series with id % 4 = 1 by 10 % part-way through the main-branch history.
    await seedDashboard(q, { runs: 120, sessionsPerCell: 3 });
    seriesIds = (await q.query('SELECT id FROM series ORDER BY id')).rows.map((r) => Number(r.id));
  });
  after(async () => api?.close());

  it('opens an alert exactly for each seeded step, in the right direction, and none on flat series', async () => {
    const found = new Map<number, string[]>();
    for (const id of seriesIds) found.set(id, (await detectAlertsForSeries(q, id)).map((a) => a.direction).sort());
    let falseAlarms = 0;
    let missed = 0;
    for (const id of seriesIds) {
      const expected = [...(id % 4 === 1 ? ['improvement'] : []), ...(id % 3 === 0 ? ['regression'] : [])].sort();
      const got = found.get(id)!;
      missed += expected.filter((d) => !got.includes(d)).length;
      falseAlarms += Math.max(0, got.length - expected.length);
    }
    console.log(`      ${seriesIds.length} series: ${falseAlarms} false alarms, ${missed} missed steps`);
    assert.equal(missed, 0);
    assert.equal(falseAlarms, 0);

    const { rows: [a] } = await q.query(`SELECT * FROM alerts WHERE direction = 'regression' ORDER BY id LIMIT 1`);
    assert.ok(a.change_pct > 8 && a.change_pct < 16, `a 12 % step measures ${a.change_pct.toFixed(1)} %`);
    assert.ok(a.p_value <= 0.001);
    // The suspect commit is the first main-branch run after the step.
    const { rows: [run] } = await q.query('SELECT commit_sha, branch FROM runs WHERE id = $1', [a.run_id]);
    assert.equal(run.commit_sha, a.commit_sha);
    assert.equal(run.branch, 'main');
  });

  it('is idempotent: running detection again opens nothing', async () => {
    const before = (await q.query('SELECT count(*)::int AS n FROM alerts')).rows[0].n;
    for (const id of seriesIds) assert.deepEqual(await detectAlertsForSeries(q, id), []);
    assert.equal((await q.query('SELECT count(*)::int AS n FROM alerts')).rows[0].n, before);
  });

  it('lists alerts with counts per status through the API', async () => {
    const r = await api.call('GET', '/api/v1/alerts?status=active&limit=5');
    assert.equal(r.status, 200);
    assert.equal(r.body.alerts.length, 5);
    assert.equal(r.body.total, r.body.counts.active);
    assert.ok(r.body.alerts[0].series.model);
    const bad = await api.call('GET', '/api/v1/alerts?status=open');
    assert.equal(bad.status, 422);
    assert.match(bad.body.error.message, /status is "open", expected one of active, acknowledged, dismissed/);
  });

  it('acknowledging starts a new baseline segment at the change; repeats are no-ops; dismissed cannot be acknowledged', async () => {
    const { rows: [a] } = await q.query(`SELECT id, series_id, changed_at FROM alerts WHERE status = 'active' ORDER BY id LIMIT 1`);
    const { rows: [b] } = await q.query(
      `SELECT id, series_id FROM alerts WHERE status = 'active' AND series_id <> $1 ORDER BY id LIMIT 1`, [a.series_id]);
    assert.equal(await baselineSegmentStart(q, Number(a.series_id)), null);

    const ack = await api.call('POST', `/api/v1/alerts/${a.id}/acknowledge`, { body: { note: 'expected: new op fusion' } });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.alert.status, 'acknowledged');
    assert.equal(ack.body.alert.statusNote, 'expected: new op fusion');
    assert.equal(Date.parse(ack.body.segment.startsAt), a.changed_at.getTime());
    assert.equal((await baselineSegmentStart(q, Number(a.series_id)))?.getTime(), a.changed_at.getTime());

    const again = await api.call('POST', `/api/v1/alerts/${a.id}/acknowledge`);
    assert.equal(again.status, 200);
    assert.equal(again.body.segment, undefined, 'a repeat starts no second segment');
    assert.equal((await q.query('SELECT count(*)::int AS n FROM baseline_segments WHERE series_id = $1', [a.series_id])).rows[0].n, 1);

    // Detection after the acknowledgement looks only at the new segment: the change is not reopened.
    assert.deepEqual(await detectAlertsForSeries(q, Number(a.series_id)), []);

    const dismissed = await api.call('POST', `/api/v1/alerts/${b.id}/dismiss`, {});
    assert.equal(dismissed.body.alert.status, 'dismissed');
    assert.equal(await baselineSegmentStart(q, Number(b.series_id)), null, 'a dismissal moves no baseline');
    const conflict = await api.call('POST', `/api/v1/alerts/${b.id}/acknowledge`);
    assert.equal(conflict.status, 409);
    assert.match(conflict.body.error.message, /already dismissed/);

    assert.equal((await api.call('POST', '/api/v1/alerts/999999/dismiss')).status, 404);
    const badNote = await api.call('POST', `/api/v1/alerts/${b.id}/dismiss`, { body: { note: 42 } });
    assert.equal(badNote.status, 400);
    assert.match(badNote.body.error.message, /"note"/);
  });

  it('after a run: only a run on its baseline branch triggers detection', async () => {
    const { rows: [branchRun] } = await q.query(`SELECT id FROM runs WHERE branch <> 'main' AND status = 'done' LIMIT 1`);
    assert.deepEqual(await detectAlertsAfterRun(q, branchRun.id), []);
    // A new main-branch run whose sessions sit 25 % above a flat series opens an alert there.
    const flat = seriesIds.find((id) => id % 3 !== 0 && id % 4 !== 1)!;
    const opened = await appendSlowRun(flat, 1.25);
    const alerts = await detectAlertsAfterRun(q, opened);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].seriesId, flat);
    assert.equal(alerts[0].direction, 'regression');
    assert.equal(alerts[0].runId, opened);
  });

  it('the sweeper runs detection on series with new sessions', async () => {
    const flat = seriesIds.filter((id) => id % 3 !== 0 && id % 4 !== 1)[1];
    await appendSlowRun(flat, 1.3);
    const sweeper = startAlertSweeper(q, { intervalMs: 3_600_000 });
    try {
      assert.ok((await sweeper.sweep()) >= 1);
      assert.equal((await q.query(`SELECT count(*)::int AS n FROM alerts WHERE series_id = $1 AND status = 'active'`, [flat])).rows[0].n, 1);
    } finally {
      await sweeper.stop();
    }
  });

  it('the api runs detection when a worker publishes that a baseline run finished, with nobody watching the run', async () => {
    const flat = seriesIds.filter((id) => id % 3 !== 0 && id % 4 !== 1)[2];
    const runId = await appendSlowRun(flat, 1.3, 'running');
    assert.equal((await q.query('SELECT count(*)::int AS n FROM alerts WHERE series_id = $1', [flat])).rows[0].n, 0);
    await q.query(`UPDATE runs SET status = 'done', finished_at = now() WHERE id = $1`, [runId]);
    const events = new RunEvents({ connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, queuePrefix: api.prefix, bullPrefix: api.prefix }, pino({ level: 'silent' }));
    try {
      await events.runFinished(runId);
    } finally {
      await events.close();
    }
    let rows: unknown[] = [];
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      await api.server.deps.alerts!.settled();
      ({ rows } = await q.query(`SELECT run_id, direction FROM alerts WHERE series_id = $1 AND status = 'active'`, [flat]));
      if (rows.length) break;
    }
    assert.deepEqual(rows, [{ run_id: runId, direction: 'regression' }]);
  });

  /** Copies the series' newest main-branch run as a new run whose sessions are `factor` slower. Returns its id. */
  async function appendSlowRun(seriesId: number, factor: number, status = 'done'): Promise<string> {
    const { rows: [src] } = await q.query(
      `SELECT s.run_id, s.job_id FROM sessions s JOIN runs r ON r.id = s.run_id
        WHERE s.series_id = $1 AND r.branch = 'main' ORDER BY s.created_at DESC LIMIT 1`, [seriesId]);
    const { rows: [run] } = await q.query(
      `INSERT INTO runs (project_id, commit_sha, branch, config, status, created_at)
       SELECT project_id, md5(random()::text), 'main', config, $2, now() FROM runs WHERE id = $1 RETURNING id`, [src.run_id, status]);
    const jobId = `${run.id}.0`;
    await q.query(`INSERT INTO jobs (id, run_id, cell_index, artifact_id, backend, pool, status, sessions_planned, sessions_done)
      SELECT $2, $3, 0, artifact_id, backend, pool, 'done', 20, 20 FROM jobs WHERE id = $1`, [src.job_id, jobId, run.id]);
    // Twenty sessions: an alert needs 10 sessions after the change and 10 more that confirm it.
    await q.query(`INSERT INTO sessions (job_id, run_id, role, session_index, artifact_id, device_id, series_id, status,
        backend_requested, iterations_us, p50_us, p90_us, report, created_at)
      SELECT $2, $3, 'head', g, s.artifact_id, s.device_id, s.series_id, 'ok', s.backend_requested, s.iterations_us,
             s.p50_us * $4 * (1 + 0.01 * (g % 3 - 1)), s.p90_us * $4, '{}'::jsonb, now() + g * interval '1 second'
        FROM (SELECT * FROM sessions WHERE job_id = $1 LIMIT 1) s CROSS JOIN generate_series(0, 19) g`,
    [src.job_id, jobId, run.id, factor]);
    return run.id;
  }
});
