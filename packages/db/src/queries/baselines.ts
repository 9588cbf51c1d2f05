// Reads for the merge gate: a run's cells and sessions, and the historical baselines a cell
// is compared with when the run carries no paired baseline (shared/REGRESSION.md).
import type { RunStatus, SessionRole, SessionStatus } from '@pocketbench/contracts';
import type { Queryable } from '../queryable.js';

export interface GateRunRow {
  id: string;
  projectId: string;
  status: RunStatus;
  commit: string | null;
  branch: string | null;
  mergeBase: string | null;
  baselineBranch: string;
  jobsTotal: number;
  jobsFinished: number;
}

export async function getGateRun(q: Queryable, runId: string): Promise<GateRunRow | null> {
  const { rows } = await q.query<GateRunRow>(
    `SELECT id, project_id AS "projectId", status, commit_sha AS commit, branch, merge_base AS "mergeBase",
            baseline_branch AS "baselineBranch", jobs_total AS "jobsTotal", jobs_finished AS "jobsFinished"
       FROM runs WHERE id = $1`,
    [runId],
  );
  return rows[0] ?? null;
}

/** One cell of the run's matrix with what the budgets are matched by. */
export interface GateCellRow {
  jobId: string;
  cellIndex: number;
  status: string;
  reason: string | null;
  errorClass: string | null;
  backend: string;
  pool: string;
  deviceId: string | null;
  artifactId: string;
  baselineArtifactId: string | null;
  model: string;
  variant: string;
  format: string;
  sizeBytes: number;
}

export async function listGateCells(q: Queryable, runId: string): Promise<GateCellRow[]> {
  const { rows } = await q.query<GateCellRow>(
    `SELECT j.id AS "jobId", j.cell_index AS "cellIndex", j.status, j.reason, j.error_class AS "errorClass", j.backend, j.pool,
            j.device_id AS "deviceId", j.artifact_id AS "artifactId", j.baseline_artifact_id AS "baselineArtifactId",
            m.name AS model, a.variant, a.format, a.size_bytes AS "sizeBytes"
       FROM jobs j JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
      WHERE j.run_id = $1 ORDER BY j.cell_index`,
    [runId],
  );
  return rows;
}

/** What the gate needs of one session. */
export interface GateSessionRow {
  id: number;
  jobId: string;
  role: SessionRole;
  status: SessionStatus;
  errorClass: string | null;
  errorMessage: string | null;
  seriesId: number | null;
  /** Pair key of a paired cell (head and baseline sessions with the same index ran back to back). */
  sessionIndex: number;
  iterationsUs: number[];
  loadMs: number | null;
  peakRssBytes: number | null;
  modelSizeBytes: number | null;
  /** Set for historical baselines: the run and commit the session came from. */
  runId: string;
  commit: string | null;
}

const SESSION_COLUMNS = `s.id, s.job_id AS "jobId", s.role, s.status, s.error_class AS "errorClass",
  s.error_message AS "errorMessage", s.series_id AS "seriesId", s.session_index AS "sessionIndex",
  s.iterations_us AS "iterationsUs", s.load_ms AS "loadMs", s.peak_rss_bytes AS "peakRssBytes",
  s.model_size_bytes AS "modelSizeBytes", s.run_id AS "runId", r.commit_sha AS commit`;

/** Every session of a run (all statuses: the gate reports how many it excluded and why). */
export async function listGateSessions(q: Queryable, runId: string): Promise<GateSessionRow[]> {
  const { rows } = await q.query<GateSessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions s JOIN runs r ON r.id = s.run_id
      WHERE s.run_id = $1 ORDER BY s.job_id, s.role, s.session_index, s.attempt`,
    [runId],
  );
  return rows;
}

export interface HistoricalBaselineQuery {
  projectId: string;
  /** The series of the cell's head sessions. */
  seriesIds: number[];
  /** The run being gated; its own sessions never serve as its baseline. */
  excludeRunId: string;
}

/**
 * Stable head sessions of these series from runs at the merge-base commit, inside the series'
 * current baseline segment (an acknowledged alert starts a new one).
 */
export async function listMergeBaseSessions(
  q: Queryable,
  query: HistoricalBaselineQuery & { commit: string },
): Promise<GateSessionRow[]> {
  if (query.seriesIds.length === 0) return [];
  const { rows } = await q.query<GateSessionRow>(
    `SELECT ${SESSION_COLUMNS}
       FROM sessions s JOIN runs r ON r.id = s.run_id
       LEFT JOIN series_baseline_start b ON b.series_id = s.series_id
      WHERE r.project_id = $1 AND r.commit_sha = $2 AND r.id <> $3 AND s.series_id = ANY($4::bigint[])
        AND s.status = 'ok' AND s.role = 'head' AND (b.starts_at IS NULL OR s.created_at >= b.starts_at)
      ORDER BY s.created_at, s.id`,
    [query.projectId, query.commit, query.excludeRunId, query.seriesIds],
  );
  return rows;
}

/**
 * Stable head sessions of these series from the latest run on the baseline branch that has
 * any, created after `since` and inside the current baseline segment. One run, so one commit.
 */
export async function listBranchBaselineSessions(
  q: Queryable,
  query: HistoricalBaselineQuery & { branch: string; since: Date },
): Promise<GateSessionRow[]> {
  if (query.seriesIds.length === 0) return [];
  const { rows } = await q.query<GateSessionRow>(
    `WITH eligible AS (
       SELECT s.*, r.commit_sha, r.created_at AS run_created_at
         FROM sessions s JOIN runs r ON r.id = s.run_id
         LEFT JOIN series_baseline_start b ON b.series_id = s.series_id
        WHERE r.project_id = $1 AND r.branch = $2 AND r.id <> $3 AND s.series_id = ANY($4::bigint[])
          AND s.status = 'ok' AND s.role = 'head' AND s.created_at >= $5
          AND (b.starts_at IS NULL OR s.created_at >= b.starts_at)
     ), latest AS (
       SELECT run_id FROM eligible ORDER BY run_created_at DESC, run_id LIMIT 1
     )
     SELECT e.id, e.job_id AS "jobId", e.role, e.status, e.error_class AS "errorClass", e.error_message AS "errorMessage",
            e.series_id AS "seriesId", e.iterations_us AS "iterationsUs",
            e.load_ms AS "loadMs", e.peak_rss_bytes AS "peakRssBytes", e.model_size_bytes AS "modelSizeBytes",
            e.run_id AS "runId", e.commit_sha AS commit
       FROM eligible e JOIN latest l ON l.run_id = e.run_id
      ORDER BY e.created_at, e.id`,
    [query.projectId, query.branch, query.excludeRunId, query.seriesIds, query.since],
  );
  return rows;
}
