// Data routes behind the dashboard (runs overview, run matrix, series, sessions, compare, fleet,
// alerts) and the dashboard's own files at `/`. Mounted at the app's root by app.ts.
import express, { Router, type Request, type Response } from 'express';
import {
  ALERT_STATUSES, RUN_STATUSES, type AlertDecision, type AlertList, type AlertsDetected, type CompareView, type FleetView,
  type RunFilterOptions, type RunMatrix, type RunsOverviewPage, type SeriesList, type SeriesView, type SessionView,
} from '@pocketbench/contracts';
import {
  alertProject, getRunMatrix, getSeriesMeta, listAlerts, listSeriesOverview, listRunsOverview, previousRunId, runFilterOptions, type Pool,
} from '@pocketbench/db';
import { badRequest, forbidden, notFound } from '../errors.js';
import { readableProject } from '../domain/auth/tokens.js';
import { principalOf } from '../http/auth.js';
import { acknowledgeAlert, detectAlertsForSeries, dismissAlert } from '../domain/alerts/index.js';
import {
  compareArtifactsView, compareRunsView, dashboardAssets, fleetView, seriesView, sessionView,
} from '../domain/dashboard/index.js';
import { runLineage } from '../domain/conversions/lineage.js';
import { sendJson } from '../http/respond.js';
import * as p from '../http/query-params.js';

export { uiPaths } from './ui-openapi.js';

export interface UiDeps {
  db: Pool;
}

/** The caller's own project, undefined for an admin; a worker token reads no dashboard data (403). */
function ownProject(res: Response): string | undefined {
  return readableProject(principalOf(res), 'the dashboard')?.name;
}

function ownProjectId(res: Response): string | undefined {
  return readableProject(principalOf(res), 'the dashboard')?.id;
}

/** A list filter: a project token may only ask for its own project (403 otherwise) and gets it by default. */
function projectFilter(req: Request, res: Response): string | undefined {
  const asked = p.text(req, 'project');
  const own = ownProject(res);
  if (own && asked !== undefined && asked !== own) throw forbidden(`this token belongs to project "${own}" and cannot read "${asked}"`);
  return own ?? asked;
}

/** One item of another project is reported as missing, like runs are. */
function visible(res: Response, project: string, what: string): void {
  const own = ownProject(res);
  if (own && own !== project) throw notFound(`${what} does not exist`);
}

const page = (req: Request) => ({ limit: p.int(req, 'limit', 50, 1, 200), offset: p.int(req, 'offset', 0, 0, 1_000_000) });

export function uiRoutes(deps: UiDeps): Router {
  const { db } = deps;
  const r = Router();
  const json = express.json({ limit: '16kb' });

  r.get('/api/v1/dashboard/runs', async (req, res) => {
    sendJson<RunsOverviewPage>(res, await listRunsOverview(db, {
      project: projectFilter(req, res), branch: p.text(req, 'branch'), status: p.oneOf(req, 'status', RUN_STATUSES), ...page(req),
    }));
  });

  r.get('/api/v1/dashboard/filters', async (_req, res) => {
    // A project token sees its own project and only the branches its runs were on.
    sendJson<RunFilterOptions>(res, await runFilterOptions(db, ownProjectId(res)));
  });

  r.get('/api/v1/runs/:id/matrix', async (req, res) => {
    const id = p.uuid(req.params.id, 'run id');
    const matrix = await getRunMatrix(db, id);
    if (!matrix) throw notFound(`run ${id} does not exist`);
    visible(res, matrix.run.project, `run ${id}`);
    const [previous, lineage] = await Promise.all([previousRunId(db, id), runLineage(db, id)]);
    sendJson<RunMatrix>(res, { ...matrix, previousRunId: previous, lineage });
  });

  r.get('/api/v1/series', async (req, res) => {
    sendJson<SeriesList>(res, await listSeriesOverview(db, {
      project: projectFilter(req, res), model: p.text(req, 'model'), backend: p.text(req, 'backend'),
      deviceModel: p.text(req, 'deviceModel'), alerting: p.bool(req, 'alerting'), ...page(req),
    }));
  });

  r.get('/api/v1/series/:id', async (req, res) => {
    const branch = p.text(req, 'branch') ?? 'main';
    const id = p.pathId(req.params.id, 'series id');
    const view = await seriesView(db, id, {
      branch: branch === '*' ? null : branch, limit: p.int(req, 'limit', 300, 10, 2000), before: p.date(req, 'before'),
    });
    visible(res, view.series.project, `series ${id}`);
    sendJson<SeriesView>(res, view);
  });

  r.post('/api/v1/series/:id/detect-alerts', async (req, res) => {
    const id = p.pathId(req.params.id, 'series id');
    const meta = await getSeriesMeta(db, id);
    if (!meta) throw notFound(`series ${id} does not exist`);
    visible(res, meta.project, `series ${id}`);
    sendJson<AlertsDetected>(res, { opened: await detectAlertsForSeries(db, id) });
  });

  r.get('/api/v1/sessions/:id', async (req, res) => {
    const id = p.pathId(req.params.id, 'session id');
    const view = await sessionView(db, id);
    visible(res, view.project, `session ${id}`);
    sendJson<SessionView>(res, view);
  });

  r.get('/api/v1/compare', async (req, res) => {
    const runs = p.uuidList(req, 'runs', 2, 4);
    const artifacts = p.uuidList(req, 'artifacts', 2, 6);
    if (runs && artifacts) throw badRequest('give either "runs" or "artifacts", not both');
    if (runs) {
      const view = await compareRunsView(db, runs);
      view.subjects.forEach((s) => visible(res, s.project, `run ${s.id}`));
      return sendJson<CompareView>(res, view);
    }
    if (artifacts) {
      const run = p.text(req, 'run');
      const view = await compareArtifactsView(db, artifacts, run ? p.uuid(run, 'query parameter "run"') : null);
      view.subjects.forEach((s) => visible(res, s.project, `artifact ${s.id}`));
      return sendJson<CompareView>(res, view);
    }
    throw badRequest('query parameter "runs" (2–4 run ids) or "artifacts" (2–6 artifact ids) is required');
  });

  r.get('/api/v1/fleet', async (_req, res) => {
    const projectId = ownProjectId(res);
    sendJson<FleetView>(res, await fleetView(db, projectId ? { projectId } : undefined));
  });

  r.get('/api/v1/alerts', async (req, res) => {
    const series = p.text(req, 'series');
    sendJson<AlertList>(res, await listAlerts(db, {
      status: p.oneOf(req, 'status', ALERT_STATUSES), project: projectFilter(req, res),
      seriesId: series === undefined ? undefined : p.pathId(series, 'query parameter "series"'), ...page(req),
    }));
  });

  const decide = (action: typeof acknowledgeAlert) => async (req: Request<{ id: string }>, res: Response) => {
    const id = p.pathId(req.params.id, 'alert id');
    const note = p.note(req.body);
    const project = await alertProject(db, id);
    if (project === undefined) throw notFound(`alert ${id} does not exist`);
    visible(res, project, `alert ${id}`);
    sendJson<AlertDecision>(res, await action(db, id, note));
  };
  r.post('/api/v1/alerts/:id/acknowledge', json, decide(acknowledgeAlert));
  r.post('/api/v1/alerts/:id/dismiss', json, decide(dismissAlert));

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
