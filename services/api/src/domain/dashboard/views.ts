// Page-shaped views: each composes the dashboard queries into one route's JSON.
// Every view is read as one caller may see it: a project token its own project's data only
// (another project's item is answered as missing), an admin everything.
import type {
  AlertList, AlertStatus, CompareRow, CompareSubject, CompareView, DeviceState, FleetView, RunFilterOptions, RunMatrix,
  RunsOverviewPage, RunStatus, Sendable, SeriesList,
} from '@pocketbench/contracts';
import {
  compareArtifacts, compareRunCells, getArtifactLabels, getRunLabels, getRunMatrix, getSeriesBudgets, getSeriesMeta, getSeriesPoints,
  getSessionDetail, listAlerts, listAlertsForSeries, listBaselineSegments, listFleet, listRunsOverview, listSeriesOverview, previousRunId,
  runFilterOptions, type CompareFigures, type Pool,
} from '@pocketbench/db';
import { notFound, validationFailed } from '../../errors.js';
import { canReadProjectNamed, listedProjectName, readableProject, type Principal } from '../auth/tokens.js';
import { runLineage } from '../conversions/lineage.js';
import { viewDeviceState } from './device-state.js';
import { histogram } from './histogram.js';

/** The action a worker token is refused (403): it reads no dashboard data. */
const READING = 'the dashboard';

/** A page of a list (defaults: 50 rows from the first). */
interface Page {
  limit?: number;
  offset?: number;
}

/** The dashboard's queries as their schemas (schemas.ts) let them through. */
export type RunsOverviewQuery = Page & { project?: string; branch?: string; status?: RunStatus };
export type SeriesListQuery = Page & { project?: string; model?: string; backend?: string; deviceModel?: string; alerting?: boolean };
export interface SeriesQuery {
  /** @defaultValue `main`; `*` for every branch */
  branch?: string;
  /** @defaultValue 300 */
  limit?: number;
  before?: string;
}
export interface CompareQuery {
  runs?: string[];
  artifacts?: string[];
  run?: string;
}
export type AlertListQuery = Page & { status?: AlertStatus; project?: string; series?: number };

/** The Runs page: newest runs first with their verdicts. */
export function runsOverviewFor(db: Pool, principal: Principal, q: RunsOverviewQuery): Promise<Sendable<RunsOverviewPage>> {
  return listRunsOverview(db, { ...q, project: listedProjectName(principal, q.project, READING) });
}

/** Project and branch names for the Runs filters: a project token sees its own project and only the branches its runs were on. */
export function runFiltersFor(db: Pool, principal: Principal): Promise<RunFilterOptions> {
  return runFilterOptions(db, readableProject(principal, READING)?.id);
}

/** A run's matrix, the run before it on its branch, and what it converted. */
export async function runMatrixView(db: Pool, principal: Principal, id: string): Promise<Sendable<RunMatrix>> {
  const matrix = await getRunMatrix(db, id);
  if (!matrix || !canReadProjectNamed(principal, matrix.run.project, READING)) throw notFound(`run ${id} does not exist`);
  const [previous, lineage] = await Promise.all([previousRunId(db, id), runLineage(db, id)]);
  return { ...matrix, previousRunId: previous, lineage };
}

/** The Series page's list: series with their newest medians and active alerts. */
export function seriesListFor(db: Pool, principal: Principal, q: SeriesListQuery): Promise<Sendable<SeriesList>> {
  return listSeriesOverview(db, { ...q, project: listedProjectName(principal, q.project, READING) });
}

/** The Alerts page: newest detections first, with counts per status. */
export function alertListFor(db: Pool, principal: Principal, q: AlertListQuery): Promise<Sendable<AlertList>> {
  const { series, ...filter } = q;
  return listAlerts(db, { ...filter, seriesId: series, project: listedProjectName(principal, q.project, READING) });
}

/** One series' head sessions over commits, its alerts, baseline segments and budgets; a page of points ends at `before`. */
export async function seriesView(db: Pool, principal: Principal, id: number, q: Omit<SeriesQuery, 'before'> & { before: Date | null }) {
  const meta = await getSeriesMeta(db, id);
  if (!meta || !canReadProjectNamed(principal, meta.project, READING)) throw notFound(`series ${id} does not exist`);
  const branch = q.branch ?? 'main';
  const opts = { branch: branch === '*' ? null : branch, limit: q.limit ?? 300, before: q.before };
  const [points, alerts, segments] = await Promise.all([
    getSeriesPoints(db, id, opts),
    listAlertsForSeries(db, id),
    listBaselineSegments(db, id),
  ]);
  const newestJobs = [...new Set(points.slice(-50).map((p) => p.jobId))];
  const budgets = await getSeriesBudgets(db, newestJobs);
  return {
    series: meta,
    branch: opts.branch,
    points,
    alerts,
    segments,
    budgets,
    /** Pass as `before` for the previous (older) page; null at the start of history. */
    nextBefore: points.length === opts.limit ? points[0].createdAt : null,
  };
}

export async function sessionView(db: Pool, principal: Principal, id: number) {
  const s = await getSessionDetail(db, id);
  if (!s || !canReadProjectNamed(principal, s.project, READING)) throw notFound(`session ${id} does not exist`);
  return {
    ...s,
    histogram: histogram(s.iterationsUs),
    deviceBefore: viewDeviceState(s.deviceStateBefore),
    deviceAfter: viewDeviceState(s.deviceStateAfter),
  };
}

/**
 * A state reason fit for every project: a quarantine reason quotes the failing session's error
 * (another project's model and message), so outside admins it says only what the state means.
 */
export function publicStateReason(state: string, reason: string | null): string | null {
  if (state === 'quarantined') return 'quarantined after repeated failed sessions; an admin releases it';
  return reason;
}

/**
 * The fleet as `principal` may see it: for a project token another project's work shows as
 * `busy` without its job, run or session ids, and state reasons (which may quote another
 * project's error) are reduced to what the state means.
 */
export async function fleetView(db: Pool, principal: Principal): Promise<Sendable<FleetView>> {
  const own = readableProject(principal, READING);
  const viewer = own ? { projectId: own.id } : undefined;
  const devices = (await listFleet(db)).map(({ lastDeviceState, currentProjectId, lastSessionProjectId, ...d }) => {
    const view = { ...d, lastState: viewDeviceState(lastDeviceState) };
    if (!viewer) return view;
    return {
      ...view,
      ...(currentProjectId !== viewer.projectId ? { currentJobId: null, currentRunId: null } : {}),
      ...(lastSessionProjectId !== viewer.projectId ? { lastSessionId: null } : {}),
      stateReason: publicStateReason(d.state, d.stateReason),
    };
  });
  const counts: Record<DeviceState, number> = { online: 0, busy: 0, offline: 0, quarantined: 0 };
  for (const d of devices) counts[d.state] = (counts[d.state] ?? 0) + 1;
  const pools = [...new Set(devices.map((d) => d.pool))].map((pool) => {
    const ds = devices.filter((d) => d.pool === pool);
    // Emulated pools are labelled as such wherever they are shown (`qemu-arm64 (emulated)`).
    return { pool, emulated: ds.every((d) => d.emulated), devices: ds.length, available: ds.filter((d) => d.state === 'online' && !d.heartbeatStale).length };
  });
  return { counts, pools, devices };
}

function pivot(
  subjects: CompareSubject[], figures: CompareFigures[][], keyOf: (f: CompareFigures) => string, byArtifact: boolean,
): CompareRow[] {
  const rows = new Map<string, CompareRow>();
  figures.forEach((list, col) => {
    for (const f of list) {
      const key = keyOf(f);
      let row = rows.get(key);
      if (!row) {
        row = {
          key, model: byArtifact ? null : f.model, variant: byArtifact ? null : f.variant, format: byArtifact ? null : f.format,
          pool: f.pool, emulated: f.emulated, backend: f.backend, deviceModel: f.deviceModel, cells: subjects.map(() => null),
        };
        rows.set(key, row);
      }
      row.deviceModel ??= f.deviceModel;
      row.cells[col] = {
        sizeBytes: f.sizeBytes, p50Us: f.p50Us, p90Us: f.p90Us, peakRssBytes: f.peakRssBytes, sessions: f.sessions, speedup: null,
        top1AgreementPct: f.top1AgreementPct, accuracyTop1Pct: f.accuracyTop1Pct, accuracyDropPct: f.accuracyDropPct,
      };
    }
  });
  for (const row of rows.values()) {
    const ref = row.cells[0]?.p50Us;
    for (const c of row.cells) if (c && ref && c.p50Us) c.speedup = ref / c.p50Us;
  }
  return [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
}

const short = (sha: string | null) => (sha ? sha.slice(0, 8) : 'no commit');
const lower = (id: string) => id.toLowerCase();

/** Runs or artifacts side by side, whichever the query names (one of the two). */
export async function compareView(db: Pool, principal: Principal, q: CompareQuery): Promise<CompareView> {
  if (q.runs && q.artifacts) throw validationFailed('give either "runs" or "artifacts", not both', { field: 'artifacts' });
  if (q.runs) return compareRunsView(db, principal, q.runs.map(lower));
  if (q.artifacts) return compareArtifactsView(db, principal, q.artifacts.map(lower), q.run ? lower(q.run) : null);
  throw validationFailed('query parameter "runs" (2–4 run ids) or "artifacts" (2–6 artifact ids) is required', { field: 'runs' });
}

/** Two or more runs side by side, cell by cell (same model, variant, format, pool, backend). */
export async function compareRunsView(db: Pool, principal: Principal, runIds: string[]): Promise<CompareView> {
  const labels = await getRunLabels(db, runIds);
  const missing = runIds.filter((id) => !labels.some((l) => l.id === id));
  if (missing.length) throw notFound(`run ${missing[0]} does not exist`);
  const hidden = runIds.find((id) => !canReadProjectNamed(principal, labels.find((l) => l.id === id)!.project, READING));
  if (hidden) throw notFound(`run ${hidden} does not exist`);
  const subjects = runIds.map((id) => {
    const r = labels.find((l) => l.id === id)!;
    return { id, label: `${r.branch ?? '?'} @ ${short(r.commitSha)}`, detail: `${r.project} · ${new Date(r.createdAt).toISOString()}`, project: r.project };
  });
  const cells = await compareRunCells(db, runIds);
  const rows = pivot(subjects, runIds.map((id) => cells.get(id) ?? []),
    (f) => `${f.model}\u0000${f.format}\u0000${f.variant}\u0000${f.pool}\u0000${f.backend}`, false);
  return { kind: 'runs' as const, subjects, rows };
}

/** Two or more artifacts (e.g. fp32 / int8-dynamic / int8-static) per pool × backend; the first is the reference. */
export async function compareArtifactsView(db: Pool, principal: Principal, artifactIds: string[], runId: string | null): Promise<CompareView> {
  const labels = await getArtifactLabels(db, artifactIds);
  const missing = artifactIds.filter((id) => !labels.some((l) => l.id === id));
  if (missing.length) throw notFound(`artifact ${missing[0]} does not exist`);
  const hidden = artifactIds.find((id) => !canReadProjectNamed(principal, labels.find((l) => l.id === id)!.project, READING));
  if (hidden) throw notFound(`artifact ${hidden} does not exist`);
  const subjects = artifactIds.map((id) => {
    const a = labels.find((l) => l.id === id)!;
    return { id, label: `${a.model} ${a.variant} (${a.format})`, detail: `${a.project} · ${a.filename ?? id}`, project: a.project };
  });
  const figures = await compareArtifacts(db, artifactIds, { runId });
  const rows = pivot(subjects, artifactIds.map((id) => figures.get(id) ?? []), (f) => `${f.pool}\u0000${f.backend}`, true);
  return { kind: 'artifacts' as const, subjects, rows };
}
