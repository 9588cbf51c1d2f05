// Data routes behind the dashboard (runs overview, run matrix, series, sessions, compare, fleet,
// alerts) and the dashboard's own files at `/`. Mounted at the app's root by app.ts.
import express, { Router, type Request, type Response } from 'express';
import {
  ALERT_STATUSES, RUN_STATUSES, type AlertDecision, type AlertList, type AlertsDetected, type CompareView, type FleetView,
  type RunFilterOptions, type RunMatrix, type RunsOverviewPage, type SeriesList, type SeriesView, type SessionView,
} from '@pocketbench/contracts';
import type { Pool } from '@pocketbench/db';
import { badRequest } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { decideAlertFor, detectAlertsFor } from '../domain/alerts/index.js';
import {
  alertListFor, compareArtifactsView, compareRunsView, dashboardAssets, fleetView, runFiltersFor, runMatrixView, runsOverviewFor,
  seriesListFor, seriesView, sessionView,
} from '../domain/dashboard/index.js';
import { sendJson } from '../http/respond.js';
import * as p from '../http/query-params.js';

export { uiPaths } from './ui-openapi.js';

export interface UiDeps {
  db: Pool;
}

const page = (req: Request) => ({ limit: p.int(req, 'limit', 50, 1, 200), offset: p.int(req, 'offset', 0, 0, 1_000_000) });

export function uiRoutes(deps: UiDeps): Router {
  const { db } = deps;
  const r = Router();
  const json = express.json({ limit: '16kb' });

  r.get('/api/v1/dashboard/runs', async (req, res) => {
    sendJson<RunsOverviewPage>(res, await runsOverviewFor(db, principalOf(res), {
      project: p.text(req, 'project'), branch: p.text(req, 'branch'), status: p.oneOf(req, 'status', RUN_STATUSES), ...page(req),
    }));
  });

  r.get('/api/v1/dashboard/filters', async (_req, res) => {
    sendJson<RunFilterOptions>(res, await runFiltersFor(db, principalOf(res)));
  });

  r.get('/api/v1/runs/:id/matrix', async (req, res) => {
    sendJson<RunMatrix>(res, await runMatrixView(db, principalOf(res), p.uuid(req.params.id, 'run id')));
  });

  r.get('/api/v1/series', async (req, res) => {
    sendJson<SeriesList>(res, await seriesListFor(db, principalOf(res), {
      project: p.text(req, 'project'), model: p.text(req, 'model'), backend: p.text(req, 'backend'),
      deviceModel: p.text(req, 'deviceModel'), alerting: p.bool(req, 'alerting'), ...page(req),
    }));
  });

  r.get('/api/v1/series/:id', async (req, res) => {
    const branch = p.text(req, 'branch') ?? 'main';
    const id = p.pathId(req.params.id, 'series id');
    sendJson<SeriesView>(res, await seriesView(db, principalOf(res), id, {
      branch: branch === '*' ? null : branch, limit: p.int(req, 'limit', 300, 10, 2000), before: p.date(req, 'before'),
    }));
  });

  r.post('/api/v1/series/:id/detect-alerts', async (req, res) => {
    sendJson<AlertsDetected>(res, { opened: await detectAlertsFor(db, principalOf(res), p.pathId(req.params.id, 'series id')) });
  });

  r.get('/api/v1/sessions/:id', async (req, res) => {
    sendJson<SessionView>(res, await sessionView(db, principalOf(res), p.pathId(req.params.id, 'session id')));
  });

  r.get('/api/v1/compare', async (req, res) => {
    const runs = p.uuidList(req, 'runs', 2, 4);
    const artifacts = p.uuidList(req, 'artifacts', 2, 6);
    if (runs && artifacts) throw badRequest('give either "runs" or "artifacts", not both');
    if (runs) return sendJson<CompareView>(res, await compareRunsView(db, principalOf(res), runs));
    if (artifacts) {
      const run = p.text(req, 'run');
      return sendJson<CompareView>(res, await compareArtifactsView(db, principalOf(res), artifacts, run ? p.uuid(run, 'query parameter "run"') : null));
    }
    throw badRequest('query parameter "runs" (2–4 run ids) or "artifacts" (2–6 artifact ids) is required');
  });

  r.get('/api/v1/fleet', async (_req, res) => {
    sendJson<FleetView>(res, await fleetView(db, principalOf(res)));
  });

  r.get('/api/v1/alerts', async (req, res) => {
    const series = p.text(req, 'series');
    sendJson<AlertList>(res, await alertListFor(db, principalOf(res), {
      status: p.oneOf(req, 'status', ALERT_STATUSES), project: p.text(req, 'project'),
      seriesId: series === undefined ? undefined : p.pathId(series, 'query parameter "series"'), ...page(req),
    }));
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
