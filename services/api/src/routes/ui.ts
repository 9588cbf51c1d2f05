// Data routes behind the dashboard (runs overview, run matrix, series, sessions, compare, fleet,
// alerts) and the dashboard's own files at `/`. Mounted at the app's root by app.ts.
import express, { Router, type Request, type Response } from 'express';
import { ALERT_STATUSES, RUN_STATUSES } from '@pocketbench/contracts';
import {
  getRunMatrix, listAlerts, listSeriesOverview, listRunsOverview, previousRunId, runFilterOptions, type Pool,
} from '@pocketbench/db';
import { badRequest, notFound } from '../errors.js';
import { acknowledgeAlert, detectAlertsForSeries, dismissAlert } from '../domain/alerts/index.js';
import {
  compareArtifactsView, compareRunsView, dashboardAssets, fleetView, seriesView, sessionView,
} from '../domain/dashboard/index.js';
import * as p from './ui-params.js';

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
    res.json(await listRunsOverview(db, {
      project: p.text(req, 'project'), branch: p.text(req, 'branch'), status: p.oneOf(req, 'status', RUN_STATUSES), ...page(req),
    }));
  });

  r.get('/api/v1/dashboard/filters', async (_req, res) => {
    res.json(await runFilterOptions(db));
  });

  r.get('/api/v1/runs/:id/matrix', async (req, res) => {
    const id = p.uuid(req.params.id, 'run id');
    const matrix = await getRunMatrix(db, id);
    if (!matrix) throw notFound(`run ${id} does not exist`);
    res.json({ ...matrix, previousRunId: await previousRunId(db, id) });
  });

  r.get('/api/v1/series', async (req, res) => {
    res.json(await listSeriesOverview(db, {
      project: p.text(req, 'project'), model: p.text(req, 'model'), backend: p.text(req, 'backend'),
      deviceModel: p.text(req, 'deviceModel'), alerting: p.bool(req, 'alerting'), ...page(req),
    }));
  });

  r.get('/api/v1/series/:id', async (req, res) => {
    const branch = p.text(req, 'branch') ?? 'main';
    res.json(await seriesView(db, p.pathId(req.params.id, 'series id'), {
      branch: branch === '*' ? null : branch, limit: p.int(req, 'limit', 300, 10, 2000), before: p.date(req, 'before'),
    }));
  });

  r.post('/api/v1/series/:id/detect-alerts', async (req, res) => {
    const id = p.pathId(req.params.id, 'series id');
    res.json({ opened: await detectAlertsForSeries(db, id) });
  });

  r.get('/api/v1/sessions/:id', async (req, res) => {
    res.json(await sessionView(db, p.pathId(req.params.id, 'session id')));
  });

  r.get('/api/v1/compare', async (req, res) => {
    const runs = p.uuidList(req, 'runs', 2, 4);
    const artifacts = p.uuidList(req, 'artifacts', 2, 6);
    if (runs && artifacts) throw badRequest('give either "runs" or "artifacts", not both');
    if (runs) return void res.json(await compareRunsView(db, runs));
    if (artifacts) {
      const run = p.text(req, 'run');
      return void res.json(await compareArtifactsView(db, artifacts, run ? p.uuid(run, 'query parameter "run"') : null));
    }
    throw badRequest('query parameter "runs" (2–4 run ids) or "artifacts" (2–6 artifact ids) is required');
  });

  r.get('/api/v1/fleet', async (_req, res) => {
    res.json(await fleetView(db));
  });

  r.get('/api/v1/alerts', async (req, res) => {
    const series = p.text(req, 'series');
    res.json(await listAlerts(db, {
      status: p.oneOf(req, 'status', ALERT_STATUSES), project: p.text(req, 'project'),
      seriesId: series === undefined ? undefined : p.pathId(series, 'query parameter "series"'), ...page(req),
    }));
  });

  r.post('/api/v1/alerts/:id/acknowledge', json, async (req, res) => {
    res.json(await acknowledgeAlert(db, p.pathId(req.params.id, 'alert id'), p.note(req.body)));
  });

  r.post('/api/v1/alerts/:id/dismiss', json, async (req, res) => {
    res.json(await dismissAlert(db, p.pathId(req.params.id, 'alert id'), p.note(req.body)));
  });

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
