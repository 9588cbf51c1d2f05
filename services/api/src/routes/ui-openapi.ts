// OpenAPI 3.1 path items of the dashboard's routes (merged into /api/v1/openapi.json by app.ts).
// Query parameters come from the schemas the routes validate with; a bad one is a 422, a
// malformed id in the path a 400.
import { queryParams } from '../openapi.js';
import { alertListQuerySchema, compareQuerySchema, dashboardRunsQuerySchema, seriesListQuerySchema, seriesQuerySchema } from '../schemas.js';

type Param = { name: string; in: 'path'; required: true; description: string; schema: Record<string, unknown> };

const path = (name: string, description: string, schema: Record<string, unknown>): Param =>
  ({ name, in: 'path', required: true, description, schema });
const uuid = { type: 'string', format: 'uuid' };
const positive = { type: 'integer', minimum: 1 };

const error = { description: 'Error: `{error: {code, message}}` naming the bad field.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const ok = (description: string, properties: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', properties } } },
});
const arr = { type: 'array', items: { type: 'object' } };

const alertAction = (verb: string, effect: string) => ({
  post: {
    tags: ['alerts'],
    summary: `${verb} an alert`,
    description: `${effect} Only an \`active\` alert can change; repeating the same action is a no-op; otherwise 409.`,
    parameters: [path('id', 'Alert id.', positive)],
    requestBody: {
      required: false,
      content: { 'application/json': { schema: { type: 'object', properties: { note: { type: 'string', maxLength: 2000 } } } } },
    },
    responses: {
      200: ok('The alert (and, when acknowledged, the baseline segment it started).', { alert: { type: 'object' }, segment: { type: 'object' } }),
      400: error, 404: error, 409: error,
    },
  },
});

export const uiPaths: Record<string, unknown> = {
  '/api/v1/dashboard/runs': {
    get: {
      tags: ['dashboard'],
      summary: 'Runs, newest first, with their verdict and per-cell verdict counts',
      parameters: queryParams(dashboardRunsQuerySchema),
      responses: { 200: ok('A page of runs and the number of matches.', { runs: arr, total: { type: 'integer' } }), 422: error },
    },
  },
  '/api/v1/dashboard/filters': {
    get: {
      tags: ['dashboard'],
      summary: 'Project and branch names for the runs filters',
      responses: { 200: ok('Filter values.', { projects: { type: 'array', items: { type: 'string' } }, branches: { type: 'array', items: { type: 'string' } } }) },
    },
  },
  '/api/v1/runs/{id}/matrix': {
    get: {
      tags: ['dashboard'],
      summary: "A run's matrix: artifacts × (pool, backend) with p50, p90, peak RSS, size and verdicts",
      description: 'Cells carry the median of their ok head sessions\u2019 medians and p90s, the worst verdict over their metrics, every verdict (ratio with its 95 % interval, budget) and the series id.',
      parameters: [path('id', 'Run id.', uuid)],
      responses: {
        200: ok('The matrix.', { run: { type: 'object' }, artifacts: arr, columns: arr, cells: arr, runVerdicts: arr, previousRunId: { type: ['string', 'null'] } }),
        400: error, 404: error,
      },
    },
  },
  '/api/v1/series': {
    get: {
      tags: ['series'],
      summary: 'Series with their newest session medians (sparkline) and active alerts',
      parameters: queryParams(seriesListQuerySchema),
      responses: { 200: ok('A page of series.', { series: arr, total: { type: 'integer' } }), 422: error },
    },
  },
  '/api/v1/series/{id}': {
    get: {
      tags: ['series'],
      summary: "One series' head sessions over commits (p10/p50/p90), alerts, baseline segments and budgets",
      parameters: [path('id', 'Series id.', positive), ...queryParams(seriesQuerySchema)],
      responses: {
        200: ok('The series.', { series: { type: 'object' }, branch: { type: ['string', 'null'] }, points: arr, alerts: arr, segments: arr, budgets: arr, nextBefore: { type: ['string', 'null'] } }),
        400: error, 404: error, 422: error,
      },
    },
  },
  '/api/v1/series/{id}/detect-alerts': {
    post: {
      tags: ['alerts'],
      summary: 'Run change-point detection on a series now',
      description: 'E-Divisive means (window 50, p ≤ 0.001) over the ok head session medians on the baseline branch since the current baseline segment; opens an alert per new change point.',
      parameters: [path('id', 'Series id.', positive)],
      responses: { 200: ok('The alerts opened (none when nothing changed).', { opened: arr }), 400: error, 404: error },
    },
  },
  '/api/v1/sessions/{id}': {
    get: {
      tags: ['series'],
      summary: "One session: every iteration, a histogram, summary figures and the device state before and after",
      parameters: [path('id', 'Session id.', positive)],
      responses: { 200: ok('The session.', { iterationsUs: { type: 'array', items: { type: 'integer' } }, histogram: { type: 'object' }, summary: { type: 'object' }, deviceBefore: { type: ['object', 'null'] }, deviceAfter: { type: ['object', 'null'] } }), 400: error, 404: error },
    },
  },
  '/api/v1/compare': {
    get: {
      tags: ['dashboard'],
      summary: 'Runs or artifacts side by side: size, p50, p90, peak RSS and speed-up per pool × backend',
      description: 'Give `runs` (cells matched by model, format, variant, pool, backend) or `artifacts` (e.g. fp32, int8-dynamic, int8-static; figures over their newest sessions or one `run`). The first is the reference: speed-up = its p50 / this p50.',
      parameters: queryParams(compareQuerySchema),
      responses: { 200: ok('Subjects (columns) and rows.', { kind: { enum: ['runs', 'artifacts'] }, subjects: arr, rows: arr }), 404: error, 422: error },
    },
  },
  '/api/v1/fleet': {
    get: {
      tags: ['dashboard'],
      summary: 'Devices with pool, state, heartbeat, current job and temperature of their latest session',
      responses: { 200: ok('Counts per state, pools and devices.', { counts: { type: 'object' }, pools: arr, devices: arr }) },
    },
  },
  '/api/v1/alerts': {
    get: {
      tags: ['alerts'],
      summary: 'Alerts (change points after merge), newest first, with counts per status',
      parameters: queryParams(alertListQuerySchema),
      responses: { 200: ok('A page of alerts.', { alerts: arr, total: { type: 'integer' }, counts: { type: 'object' } }), 422: error },
    },
  },
  '/api/v1/alerts/{id}/acknowledge': alertAction('Acknowledge', 'Accepts the change: the series gets a new baseline segment starting at the change, so historical baselines ignore older sessions.'),
  '/api/v1/alerts/{id}/dismiss': alertAction('Dismiss', 'Marks the change point as noise; baselines are unchanged.'),
};
