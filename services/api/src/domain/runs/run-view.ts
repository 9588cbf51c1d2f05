import type {
  ArtifactRef, CellFigures as Figures, RunList, RunProgressEvent,
  RunSummary as RunSummaryDto, RunView as RunViewDto, Sendable,
} from '@pocketbench/contracts';
import {
  emulatedTargets, getArtifactsByIds, getRun, getRunProgress, listCellFidelity, listCellFigures, listJobsForRun, listRunConversions, listRunSessions, listRuns,
  type ArtifactRow, type CellFigures, type JobRow, type Pool, type RunFilter, type RunRow, type SessionSummary,
} from '@pocketbench/db';
import { isUuid } from '@pocketbench/contracts';
import { notFound } from '../../errors.js';
import { canAccessProject, listedProject, type Principal } from '../auth/tokens.js';


/** Server-side forms of the run DTOs (their instants still Dates until res.json). */
export type RunSummary = Sendable<RunSummaryDto>;
export type RunView = Sendable<RunViewDto>;

export function summarize(run: RunRow): RunSummary {
  return {
    id: run.id,
    project: run.project,
    commit: run.commit,
    branch: run.branch,
    mergeBase: run.mergeBase,
    baselineBranch: run.baselineBranch,
    status: run.status,
    config: run.config,
    progress: {
      jobsTotal: run.jobsTotal,
      jobsFinished: run.jobsFinished,
      jobsDone: run.jobsDone,
      jobsFailed: run.jobsFailed,
      fraction: run.jobsTotal ? run.jobsFinished / run.jobsTotal : 1,
    },
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

/** The run if it exists and the caller may see it; another project's run is a plain 404. */
export async function loadRun(db: Pool, principal: Principal, runId: string): Promise<RunRow> {
  const run = isUuid(runId) ? await getRun(db, runId) : null;
  if (!run || !canAccessProject(principal, run.projectId)) throw notFound(`run "${runId}" does not exist`);
  return run;
}

function artifactRef(a: ArtifactRow): ArtifactRef {
  return {
    id: a.id, model: a.model, variant: a.variant, format: a.format, sha256: a.sha256, sizeBytes: a.sizeBytes,
    parentArtifactId: a.parentArtifactId,
  };
}

function figures(f: CellFigures | undefined): Figures | null {
  if (!f) return null;
  const { jobId: _j, role: _r, ...rest } = f;
  const mb = (b: number | null) => (b === null ? null : b / (1024 * 1024));
  return { ...rest, peakRssMb: mb(rest.peakRssBytes), modelSizeMb: mb(rest.modelSizeBytes) };
}

/** A run with every cell and its figures (aggregated from stored sessions). */
export async function getRunView(
  db: Pool,
  principal: Principal,
  runId: string,
  opts: { sessions?: boolean; iterations?: boolean } = {},
): Promise<RunView> {
  const run = await loadRun(db, principal, runId);
  const [jobs, figs, progress, sessions, fidelity, conversions] = await Promise.all([
    listJobsForRun(db, run.id),
    listCellFigures(db, run.id),
    getRunProgress(db, run.id),
    opts.sessions ? listRunSessions(db, run.id, opts.iterations) : Promise.resolve([]),
    listCellFidelity(db, run.id),
    listRunConversions(db, run.id),
  ]);
  const fidelityByJob = new Map(fidelity.map(({ jobId, ...f }) => [jobId, f]));
  const artifactIds = [...new Set([
    ...jobs.flatMap((j) => [j.artifactId, ...(j.baselineArtifactId ? [j.baselineArtifactId] : [])]),
    ...conversions.flatMap((c) => [c.parentArtifactId, ...(c.outputArtifactId ? [c.outputArtifactId] : [])]),
  ])];
  const [artifactRows, emulated] = await Promise.all([
    getArtifactsByIds(db, artifactIds),
    emulatedTargets(db, { pools: [...new Set(jobs.map((j) => j.pool))], deviceIds: jobs.flatMap((j) => (j.deviceId ? [j.deviceId] : [])) }),
  ]);
  const artifacts = new Map(artifactRows.map((a) => [a.id, a]));
  const figByKey = new Map(figs.map((f) => [`${f.jobId}|${f.role}`, f]));
  const sessionsByJob = new Map<string, SessionSummary[]>();
  for (const s of sessions) sessionsByJob.set(s.jobId, [...(sessionsByJob.get(s.jobId) ?? []), s]);
  const summary = summarize(run);
  // A variants run's cell k belongs to the conversion of slot k / cellsPerSlot; a cell whose
  // conversion made nothing is shown as that variant (its artifact row is the parent's).
  const m = run.matrix as { backends?: unknown[]; devices?: unknown[] };
  const cellsPerSlot = conversions.length ? (m.backends?.length ?? 1) * (m.devices?.length ?? 1) : 1;
  const cellArtifact = (j: JobRow): ArtifactRef => {
    const ref = artifactRef(artifacts.get(j.artifactId)!);
    const c = conversions[Math.floor(j.cellIndex / cellsPerSlot)];
    return c && !c.outputArtifactId ? { ...ref, variant: c.variant, format: c.format, parentArtifactId: c.parentArtifactId } : ref;
  };
  return {
    ...summary,
    matrix: run.matrix,
    parentArtifact: conversions.length ? artifactRef(artifacts.get(conversions[0].parentArtifactId)!) : null,
    conversions: conversions.map((c) => {
      const out = c.outputArtifactId ? artifacts.get(c.outputArtifactId) : undefined;
      return {
        id: c.id, variant: c.variant, format: c.format, status: c.status, reason: c.reason, errorClass: c.errorClass,
        unsupportedOp: c.unsupportedOp, attempts: c.attempts, artifact: out ? artifactRef(out) : null, recipe: out?.recipe ?? null,
        startedAt: c.startedAt, finishedAt: c.finishedAt,
      };
    }),
    progress: { ...summary.progress, sessionsPlanned: progress?.sessionsPlanned ?? 0, sessionsDone: progress?.sessionsDone ?? 0 },
    cells: jobs.map((j: JobRow) => ({
      cellIndex: j.cellIndex,
      jobId: j.id,
      artifact: cellArtifact(j),
      baselineArtifact: j.baselineArtifactId ? artifactRef(artifacts.get(j.baselineArtifactId)!) : null,
      backend: j.backend,
      pool: j.pool,
      deviceId: j.deviceId,
      emulated: j.deviceId ? emulated.devices.has(j.deviceId) : emulated.pools.has(j.pool),
      status: j.status,
      reason: j.reason,
      errorClass: j.errorClass,
      sessionsPlanned: j.sessionsPlanned,
      sessionsDone: j.sessionsDone,
      figures: figures(figByKey.get(`${j.id}|head`)),
      baseline: figures(figByKey.get(`${j.id}|baseline`)),
      fidelity: fidelityByJob.get(j.id) ?? null,
      ...(opts.sessions ? { sessions: sessionsByJob.get(j.id) ?? [] } : {}),
    })),
  };
}

/** Runs visible to the caller, newest first; a project token sees only its project. */
export async function listRunsView(
  db: Pool,
  principal: Principal,
  q: { project?: string; branch?: string; status?: RunFilter['status']; limit?: number; offset?: number },
): Promise<Sendable<RunList>> {
  const projectId = await listedProject(db, principal, q.project, 'listing runs');
  if (projectId === null) return { runs: [], total: 0, limit: q.limit ?? 50, offset: q.offset ?? 0, nextOffset: null };
  const limit = q.limit ?? 50;
  const offset = q.offset ?? 0;
  const { runs, total } = await listRuns(db, { projectId, branch: q.branch, status: q.status, limit, offset });
  return { runs: runs.map(summarize), total, limit, offset, nextOffset: offset + runs.length < total ? offset + runs.length : null };
}

/**
 * A run's progress as its event stream sends it, or null once the run is gone. Read again and
 * again for a run whose access `loadRun` decided when the stream opened.
 */
export async function runProgressEvent(db: Pool, runId: string): Promise<RunProgressEvent | null> {
  const [p, conversions] = await Promise.all([getRunProgress(db, runId), listRunConversions(db, runId)]);
  if (!p) return null;
  return {
    runId,
    status: p.status,
    jobsTotal: p.jobsTotal,
    jobsFinished: p.jobsFinished,
    sessionsPlanned: p.sessionsPlanned,
    sessionsDone: p.sessionsDone,
    fraction: p.jobsTotal ? p.jobsFinished / p.jobsTotal : 1,
    // Variants runs: the conversion step, one entry per variant.
    ...(conversions.length
      ? { conversions: conversions.map((c) => ({ variant: c.variant, format: c.format, status: c.status, reason: c.reason })) }
      : {}),
  };
}
