// Times every dashboard page's data request against a seeded database (scripts/seed-dashboard.ts):
//   node --import tsx scripts/seed-dashboard.ts --create --database-url postgres://postgres@127.0.0.1:5432/pocketbench_dashboard
//   node --import tsx bench/dashboard.ts [--database-url …] [--repeat 20]
// Prints one line per request (p50 / p95 / max ms) and a JSON summary; the target is < 300 ms each.
import express from 'express';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createPool } from '@pocketbench/db';
import { ApiError } from '../services/api/src/errors.js';
import { detectAlertsForSeries } from '../services/api/src/domain/alerts/index.js';
import { uiRoutes } from '../services/api/src/routes/ui.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/pocketbench_dashboard' },
    repeat: { type: 'string', default: '20' },
  },
});
const repeat = Number(values.repeat);
const db = createPool(values['database-url']!, 10);
const app = express();
app.use(uiRoutes({ db }));
app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  const e = err instanceof ApiError ? err : new ApiError(500, 'internal', String(err));
  res.status(e.status).json({ error: { code: e.code, message: e.message } });
});
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const counts = (await db.query(`SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM sessions)::int AS sessions,
  (SELECT count(*) FROM series)::int AS series`)).rows[0];

// Alerts first: detection over every series (what the after-run trigger and the sweeper do).
const seriesIds = (await db.query('SELECT id FROM series ORDER BY id')).rows.map((r) => Number(r.id));
const t0 = performance.now();
let opened = 0;
const perSeries: number[] = [];
for (const id of seriesIds) {
  const t = performance.now();
  opened += (await detectAlertsForSeries(db, id)).length;
  perSeries.push(performance.now() - t);
}
const detectMs = performance.now() - t0;

const pick = async (sql: string) => (await db.query(sql)).rows[0];
const newest = await pick('SELECT id FROM runs ORDER BY created_at DESC LIMIT 1');
const older = await pick('SELECT id FROM runs ORDER BY created_at DESC OFFSET 5000 LIMIT 1');
const prev = await pick(`SELECT r2.id FROM runs r1 JOIN runs r2 ON r2.project_id = r1.project_id AND r2.created_at < r1.created_at
  AND r2.branch = r1.branch WHERE r1.id = '${older.id}' ORDER BY r2.created_at DESC LIMIT 1`);
const busiest = await pick(`SELECT series_id AS id FROM alerts GROUP BY series_id ORDER BY count(*) DESC LIMIT 1`)
  ?? await pick('SELECT min(id) AS id FROM series');
const session = await pick(`SELECT id FROM sessions ORDER BY id DESC OFFSET 12345 LIMIT 1`);
const arts = (await db.query(`SELECT a.id FROM artifacts a JOIN models m ON m.id = a.model_id WHERE m.name = 'mobilenet_v2'
  AND a.format = 'ptl' ORDER BY a.size_bytes DESC`)).rows.map((r) => r.id);
const alert = await pick(`SELECT id FROM alerts ORDER BY id LIMIT 1`);

const requests: [string, string][] = [
  ['Runs: first page', '/api/v1/dashboard/runs?limit=50'],
  ['Runs: page 100 filtered (project, branch main, done)', '/api/v1/dashboard/runs?project=camera-app&branch=main&status=done&limit=50&offset=2500'],
  ['Runs: filter menus', '/api/v1/dashboard/filters'],
  ['Run page: matrix (newest, running)', `/api/v1/runs/${newest.id}/matrix`],
  ['Run page: matrix (old run)', `/api/v1/runs/${older.id}/matrix`],
  ['Series list', '/api/v1/series?limit=50'],
  ['Series list: alerting only', '/api/v1/series?alerting=true'],
  ['Series chart (300 newest on main)', `/api/v1/series/${busiest.id}`],
  ['Series chart (1000, every branch)', `/api/v1/series/${busiest.id}?branch=*&limit=1000`],
  ['Session (histogram + device state)', `/api/v1/sessions/${session.id}`],
  ['Compare two runs', `/api/v1/compare?runs=${older.id},${prev.id}`],
  ['Compare fp32 / int8-dynamic / int8-static', `/api/v1/compare?artifacts=${arts.join(',')}`],
  ['Fleet', '/api/v1/fleet'],
  ['Alerts: active', '/api/v1/alerts?status=active'],
  ['Alerts: all', '/api/v1/alerts'],
];
if (alert) requests.push(['Alerts: one series', `/api/v1/alerts?series=${busiest.id}`]);

const results: { name: string; p50: number; p95: number; max: number }[] = [];
for (const [name, path] of requests) {
  const times: number[] = [];
  for (let i = 0; i < repeat + 3; i++) {
    const t = performance.now();
    const res = await fetch(base + path);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    if (i >= 3) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  results.push({ name, p50: q(0.5), p95: q(0.95), max: times[times.length - 1] });
}

console.log(`database: ${counts.runs} runs, ${counts.sessions} sessions, ${counts.series} series`);
console.log(`change-point detection: ${seriesIds.length} series in ${detectMs.toFixed(0)} ms (max ${Math.max(...perSeries).toFixed(0)} ms per series), ${opened} alerts opened`);
console.log('| request | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|');
for (const r of results) console.log(`| ${r.name} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.max.toFixed(1)} |`);
const worst = Math.max(...results.map((r) => r.p95));
console.log(JSON.stringify({ counts, detectMs: Math.round(detectMs), opened, worstP95Ms: Math.round(worst), under300: worst < 300 }));
server.close();
await db.end();
