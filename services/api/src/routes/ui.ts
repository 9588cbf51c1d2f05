// Data routes behind the dashboard (runs overview, run matrix, series, sessions, compare, fleet,
// alerts) and the dashboard's own files at `/`. Mounted at the app's root by app.ts.
import express, { Router, type Request, type Response } from 'express';
import type {
  AlertDecision, AlertList, AlertsDetected, CompareView, FleetView, RunFilterOptions, RunMatrix, RunsOverviewPage, SeriesList,
  SeriesView, SessionView,
} from '@pocketbench/contracts';
import type { Pool } from '@pocketbench/db';
import { principalOf } from '../http/auth.js';
import { decideAlertFor, detectAlertsFor } from '../domain/alerts/index.js';
import {
  alertListFor, compareView, dashboardAssets, fleetView, runFiltersFor, runMatrixView, runsOverviewFor, seriesListFor, seriesView,
  sessionView, type AlertListQuery, type CompareQuery, type RunsOverviewQuery, type SeriesListQuery, type SeriesQuery,
} from '../domain/dashboard/index.js';
import { sendJson } from '../http/respond.js';
import { validate } from '../http/validate.js';
import * as p from '../http/query-params.js';
import { alertListQuerySchema, compareQuerySchema, dashboardRunsQuerySchema, seriesListQuerySchema, seriesQuerySchema } from '../schemas.js';

export { uiPaths } from './ui-openapi.js';

export interface UiDeps {
  db: Pool;
}

const PAGE = ['limit', 'offset'];

export function uiRoutes(deps: UiDeps): Router {
  const { db } = deps;
  const r = Router();
  const json = express.json({ limit: '16kb' });

  r.get('/api/v1/dashboard/runs', async (req, res) => {
    const q = validate<RunsOverviewQuery>(dashboardRunsQuerySchema, p.dashboardQuery(req, { integers: PAGE }));
    sendJson<RunsOverviewPage>(res, await runsOverviewFor(db, principalOf(res), q));
  });

  r.get('/api/v1/dashboard/filters', async (_req, res) => {
    sendJson<RunFilterOptions>(res, await runFiltersFor(db, principalOf(res)));
  });

  r.get('/api/v1/runs/:id/matrix', async (req, res) => {
    sendJson<RunMatrix>(res, await runMatrixView(db, principalOf(res), p.uuid(req.params.id, 'run id')));
  });

  r.get('/api/v1/series', async (req, res) => {
    const q = validate<SeriesListQuery>(seriesListQuerySchema, p.dashboardQuery(req, { integers: PAGE, booleans: ['alerting'] }));
    sendJson<SeriesList>(res, await seriesListFor(db, principalOf(res), q));
  });

  r.get('/api/v1/series/:id', async (req, res) => {
    const id = p.pathId(req.params.id, 'series id');
    const q = validate<SeriesQuery>(seriesQuerySchema, p.dashboardQuery(req, { integers: ['limit'] }));
    sendJson<SeriesView>(res, await seriesView(db, principalOf(res), id, { ...q, before: p.date(q.before, 'before') }));
  });

  r.post('/api/v1/series/:id/detect-alerts', async (req, res) => {
    sendJson<AlertsDetected>(res, { opened: await detectAlertsFor(db, principalOf(res), p.pathId(req.params.id, 'series id')) });
  });

  r.get('/api/v1/sessions/:id', async (req, res) => {
    sendJson<SessionView>(res, await sessionView(db, principalOf(res), p.pathId(req.params.id, 'session id')));
  });

  r.get('/api/v1/compare', async (req, res) => {
    const q = validate<CompareQuery>(compareQuerySchema, p.dashboardQuery(req, { lists: ['runs', 'artifacts'] }));
    sendJson<CompareView>(res, await compareView(db, principalOf(res), q));
  });

  r.get('/api/v1/fleet', async (_req, res) => {
    sendJson<FleetView>(res, await fleetView(db, principalOf(res)));
  });

  r.get('/api/v1/alerts', async (req, res) => {
    const q = validate<AlertListQuery>(alertListQuerySchema, p.dashboardQuery(req, { integers: [...PAGE, 'series'] }));
    sendJson<AlertList>(res, await alertListFor(db, principalOf(res), q));
  });

  const decide = (to: 'acknowledged' | 'dismissed') => async (req: Request<{ id: string }>, res: Response) => {
    const id = p.pathId(req.params.id, 'alert id');
    sendJson<AlertDecision>(res, await decideAlertFor(db, principalOf(res), id, to, p.note(req.body)));
  };
  r.post('/api/v1/alerts/:id/acknowledge', json, decide('acknowledged'));
  r.post('/api/v1/alerts/:id/dismiss', json, decide('dismissed'));

  // The dashboard itself: one HTML page (hash routes), one bundled script, one stylesheet.
  const sendAsset = (type: string, pick: (a: Awaited<ReturnType<typeof dashboardAssets>>) => string) =>
    async (req: Request, res: Response) => {
      const assets = await dashboardAssets();
      const etag = `"${assets.version}"`;
      res.setHeader('ETag', etag);
      res.setHeader('Cache-Control', 'no-cache');
      if (req.headers['if-none-match'] === etag) return void res.status(304).end();
      res.type(type).send(pick(assets));
    };
  r.get('/', sendAsset('html', (a) => a.html));
  r.get('/assets/app.js', sendAsset('js', (a) => a.js));
  r.get('/assets/app.css', sendAsset('css', (a) => a.css));
  return r;
}
