import type { CellFigures as CellFiguresDto, RunConfig, RunSession, RunStatus, SessionRole, Stored } from '@pocketbench/contracts';
import type { NoRows, Queryable } from '../queryable.js';

/** One submission, with its project's name and progress counters. */
export interface RunRow {
  id: string;
  projectId: string;
  project: string;
  commit: string | null;
  branch: string | null;
  mergeBase: string | null;
  baselineBranch: string;
  config: RunConfig;
  matrix: Record<string, unknown>;
  status: RunStatus;
  idempotencyKey: string | null;
  /** Open for sessions measured outside the farm (POST /runs/:id/sessions). */
  acceptsExternal: boolean;
  jobsTotal: number;
  jobsFinished: number;
  jobsDone: number;
  jobsFailed: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const COLUMNS = `r.id, r.project_id AS "projectId", p.name AS project, r.commit_sha AS commit, r.branch,
  r.merge_base AS "mergeBase", r.baseline_branch AS "baselineBranch", r.config, r.matrix, r.status,
  r.idempotency_key AS "idempotencyKey", r.accepts_external AS "acceptsExternal", r.jobs_total AS "jobsTotal", r.jobs_finished AS "jobsFinished",
  r.jobs_done AS "jobsDone", r.jobs_failed AS "jobsFailed", r.created_at AS "createdAt",
  r.started_at AS "startedAt", r.finished_at AS "finishedAt"`;
const FROM = `runs r JOIN projects p ON p.id = r.project_id`;

export interface NewRun {
  projectId: string;
  commit?: string | null;
  branch?: string | null;
  mergeBase?: string | null;
  baselineBranch?: string | null;
  config: RunConfig;
  matrix: Record<string, unknown>;
  idempotencyKey?: string | null;
  /** @defaultValue false */
  acceptsExternal?: boolean;
  jobsTotal: number;
  /** Cells already finished at submission (the `unsupported` ones). */
  jobsFinished: number;
}

/**
 * Inserts a run; returns null when the project already has a run with this idempotency key
 * (the caller then answers with that run). A run whose every cell is already finished
 * (all unsupported) is stored `done`.
 */
export async function insertRun(q: Queryable, run: NewRun): Promise<{ id: string } | null> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO runs (project_id, commit_sha, branch, merge_base, baseline_branch, config, matrix, idempotency_key,
                       jobs_total, jobs_finished, status, finished_at, accepts_external)
     VALUES ($1, $2, $3, $4, coalesce($5, 'main'), $6, $7, $8, $9::int, $10::int,
             CASE WHEN $10::int >= $9::int THEN 'done' ELSE 'queued' END, CASE WHEN $10::int >= $9::int THEN now() END, $11)
     ON CONFLICT (project_id, idempotency_key) DO NOTHING
     RETURNING id`,
    [
      run.projectId, run.commit ?? null, run.branch ?? null, run.mergeBase ?? null, run.baselineBranch ?? null,
      JSON.stringify(run.config), JSON.stringify(run.matrix), run.idempotencyKey ?? null, run.jobsTotal, run.jobsFinished,
      run.acceptsExternal ?? false,
    ],
  );
  return rows[0] ?? null;
}

/** Runs of the project not finished yet (queued or running): the in-flight quota counts these. */
export async function countRunsInFlight(q: Queryable, projectId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM runs WHERE project_id = $1 AND status IN ('queued', 'running')`,
    [projectId],
  );
  return rows[0].n;
}

export async function getRun(q: Queryable, id: string): Promise<RunRow | null> {
  const { rows } = await q.query<RunRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE r.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function getRunByIdempotencyKey(q: Queryable, projectId: string, key: string): Promise<RunRow | null> {
  const { rows } = await q.query<RunRow>(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE r.project_id = $1 AND r.idempotency_key = $2`,
    [projectId, key],
  );
  return rows[0] ?? null;
}

/** Removes a run and everything under it (compensation when it could not be enqueued). */
export async function deleteRun(q: Queryable, id: string): Promise<void> {
  await q.query<NoRows>(`DELETE FROM runs WHERE id = $1`, [id]);
}

export interface RunFilter {
  projectId?: string;
  branch?: string;
  status?: RunStatus;
  /** @defaultValue 50 */
  limit?: number;
  /** @defaultValue 0 */
  offset?: number;
}

/** Newest first, with the total count matching the filter (for pagination). */
export async function listRuns(q: Queryable, f: RunFilter = {}): Promise<{ runs: RunRow[]; total: number }> {
  const where = `($1::uuid IS NULL OR r.project_id = $1) AND ($2::text IS NULL OR r.branch = $2)
                 AND ($3::text IS NULL OR r.status = $3)`;
  const params = [f.projectId ?? null, f.branch ?? null, f.status ?? null];
  const [list, count] = await Promise.all([
    q.query<RunRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE ${where} ORDER BY r.created_at DESC, r.id LIMIT $4 OFFSET $5`, [
      ...params, f.limit ?? 50, f.offset ?? 0,
    ]),
    q.query<{ total: number }>(`SELECT count(*)::int AS total FROM runs r WHERE ${where}`, params),
  ]);
  return { runs: list.rows, total: count.rows[0].total };
}

export interface RunProgress {
  status: RunStatus;
  jobsTotal: number;
  jobsFinished: number;
  sessionsPlanned: number;
  sessionsDone: number;
  finishedAt: Date | null;
}

/** Cheap progress read for polling (SSE). */
export async function getRunProgress(q: Queryable, id: string): Promise<RunProgress | null> {
  const { rows } = await q.query<RunProgress>(
    `SELECT r.status, r.jobs_total AS "jobsTotal", r.jobs_finished AS "jobsFinished", r.finished_at AS "finishedAt",
            coalesce((SELECT sum(sessions_planned) FROM jobs WHERE run_id = r.id AND status <> 'unsupported'), 0)::int AS "sessionsPlanned",
            coalesce((SELECT sum(sessions_done) FROM jobs WHERE run_id = r.id), 0)::int AS "sessionsDone"
       FROM runs r WHERE r.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Measured figures of one side (role) of a cell, aggregated over its sessions: contracts' figures before the MB conversions. */
export type CellFigures = Omit<CellFiguresDto, 'peakRssMb' | 'modelSizeMb'> & { jobId: string; role: SessionRole };

/**
 * Figures per cell and role for a run, from the `sessions` table's per-session summary
 * columns: sessions are the unit, so a cell's p50/p90/p99 is the median over its sessions of
 * each session's percentile (with one session, exactly that session's). Reading summaries
 * rather than every iteration keeps a 1,000-cell × 20-session run fast to show.
 */
export async function listCellFigures(q: Queryable, runId: string): Promise<CellFigures[]> {
  const { rows } = await q.query<CellFigures>(
    `WITH s AS (
       SELECT *, bool_or(status = 'ok') OVER (PARTITION BY job_id, role) AS has_ok FROM sessions WHERE run_id = $1
     ), u AS (
       SELECT * FROM s WHERE status = 'ok' OR (NOT has_ok AND status = 'unstable')
     ), per AS (
       SELECT job_id, role,
              coalesce(sum(cardinality(iterations_us)), 0)::int AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY p50_us) AS p50,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY p90_us) AS p90,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY p99_us) AS p99,
              avg(mean_us) AS mean, min(min_us) AS min,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY load_ms) AS load_ms,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY first_inference_ms) AS first_ms,
              max(peak_rss_bytes) AS rss, max(peak_rss_method) AS rss_method, max(model_size_bytes) AS size,
              string_agg(DISTINCT backend_used, ',') AS backend_used, string_agg(DISTINCT device_arch, ',') AS arch,
              string_agg(DISTINCT runtime, ',') AS runtime,
              string_agg(DISTINCT report->'runtime'->>'version', ',') AS runtime_version,
              string_agg(DISTINCT (report->'backend'->'adapter'->>'name') || coalesce(' (' || (report->'backend'->'adapter'->>'deviceType') || ')', ''), ',') AS gpu_adapter,
              string_agg(DISTINCT (report->'harness'->>'name') || ' ' || (report->'harness'->>'version'), ',') AS harness
         FROM u GROUP BY job_id, role
     ), counts AS (
       SELECT job_id, role, count(*)::int AS sessions,
              count(*) FILTER (WHERE status = 'ok')::int AS ok,
              count(*) FILTER (WHERE status = 'unstable')::int AS unstable,
              count(*) FILTER (WHERE status = 'error')::int AS error,
              count(*) FILTER (WHERE status = 'unsupported')::int AS unsupported,
              array_remove(array_agg(DISTINCT device_id), NULL) AS device_ids,
              (array_agg(coalesce(error_class || ': ', '') || error_message ORDER BY created_at DESC)
                 FILTER (WHERE error_message IS NOT NULL))[1] AS last_error,
              max(model_size_bytes) AS any_size, string_agg(DISTINCT device_arch, ',') AS any_arch
         FROM s GROUP BY job_id, role
     )
     SELECT c.job_id AS "jobId", c.role, c.sessions, c.ok AS "sessionsOk", c.unstable AS "sessionsUnstable",
            c.error AS "sessionsError", c.unsupported AS "sessionsUnsupported", coalesce(per.n, 0) AS iterations,
            per.p50 / 1000 AS "p50Ms", per.p90 / 1000 AS "p90Ms", per.p99 / 1000 AS "p99Ms",
            per.mean / 1000 AS "meanMs", per.min / 1000 AS "minMs",
            per.load_ms AS "loadMs", per.first_ms AS "firstInferenceMs", per.rss AS "peakRssBytes",
            per.rss_method AS "peakRssMethod", coalesce(per.size, c.any_size) AS "modelSizeBytes",
            per.backend_used AS "backendUsed", coalesce(per.arch, c.any_arch) AS "deviceArch",
            c.device_ids AS "deviceIds", per.runtime, per.runtime_version AS "runtimeVersion",
            per.gpu_adapter AS "gpuAdapter", per.harness, c.last_error AS "lastError"
       FROM counts c
       LEFT JOIN per ON per.job_id = c.job_id AND per.role = c.role
      ORDER BY c.job_id, c.role`,
    [runId],
  );
  return rows;
}

/** Per-session summaries of a run (raw iterations only when asked: they can be large). */
export type SessionSummary = Stored<RunSession, 'createdAt'>;

export async function listRunSessions(q: Queryable, runId: string, withIterations = false): Promise<SessionSummary[]> {
  const { rows } = await q.query<SessionSummary>(
    `SELECT id, job_id AS "jobId", role, session_index AS "sessionIndex", attempt, device_id AS "deviceId", status,
            error_class AS "errorClass", error_message AS "errorMessage", backend_used AS "backendUsed",
            device_arch AS "deviceArch", p50_us / 1000 AS "p50Ms", p90_us / 1000 AS "p90Ms", p99_us / 1000 AS "p99Ms",
            mean_us / 1000 AS "meanMs", cv, load_ms AS "loadMs", peak_rss_bytes AS "peakRssBytes", source,
            created_at AS "createdAt" ${withIterations ? `, iterations_us AS "iterationsUs"` : ''}
       FROM sessions WHERE run_id = $1 ORDER BY job_id, session_index, role`,
    [runId],
  );
  return rows;
}

/**
 * Cancels a run that is still queued or running: its unfinished cells become `cancelled` and
 * count as finished. Returns those cells (so their queued sessions can be removed), or null
 * when the run was already finished. A worker mid-session finds its cell cancelled and stops.
 */
export async function cancelRun(
  q: Queryable,
  runId: string,
): Promise<{ jobId: string; cellIndex: number; pool: string; deviceId: string | null; sessionsPlanned: number; hasBaseline: boolean }[] | null> {
  const { rows } = await q.query<{
    jobId: string | null; cellIndex: number; pool: string; deviceId: string | null; sessionsPlanned: number; hasBaseline: boolean;
  }>(
    `WITH r AS (
       SELECT id FROM runs WHERE id = $1 AND status IN ('queued', 'running') FOR UPDATE
     ), j AS (
       UPDATE jobs SET status = 'cancelled', finished_at = now(), reason = 'run cancelled'
         FROM r WHERE jobs.run_id = r.id AND jobs.status IN ('queued', 'running')
         RETURNING jobs.id, jobs.cell_index, jobs.pool, jobs.device_id, jobs.sessions_planned, jobs.baseline_artifact_id
     ), u AS (
       UPDATE runs SET status = 'cancelled', finished_at = now(), jobs_finished = runs.jobs_total
         FROM r WHERE runs.id = r.id RETURNING runs.id
     )
     SELECT j.id AS "jobId", j.cell_index AS "cellIndex", j.pool, j.device_id AS "deviceId",
            j.sessions_planned AS "sessionsPlanned", j.baseline_artifact_id IS NOT NULL AS "hasBaseline"
       FROM u LEFT JOIN j ON true`,
    [runId],
  );
  if (rows.length === 0) return null;
  return rows.filter((r) => r.jobId !== null) as { jobId: string; cellIndex: number; pool: string; deviceId: string | null; sessionsPlanned: number; hasBaseline: boolean }[];
}

/**
 * Runs still `queued` or `running` whose every cell is final (a crash between a cell's last
 * update and its run's, or counters out of step): their counters are recounted from the cells
 * and the run is finished like `finishRunSql` would have. Returns the ids finished.
 */
export async function finishSettledRuns(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `WITH settled AS (
       SELECT r.id,
              count(j.*)::int AS total,
              count(*) FILTER (WHERE j.status = 'done')::int AS done,
              count(*) FILTER (WHERE j.status = 'failed')::int AS failed
         FROM runs r JOIN jobs j ON j.run_id = r.id
        WHERE r.status IN ('queued', 'running')
          -- A variants run still waiting for a conversion has cells to come.
          AND NOT EXISTS (SELECT 1 FROM run_conversions rc WHERE rc.run_id = r.id AND rc.planned_at IS NULL)
        GROUP BY r.id
       HAVING bool_and(j.status NOT IN ('queued', 'running'))
     )
     UPDATE runs SET jobs_finished = settled.total, jobs_done = settled.done, jobs_failed = settled.failed,
                     status = CASE WHEN settled.done = 0 AND settled.failed > 0 THEN 'failed' ELSE 'done' END,
                     started_at = coalesce(runs.started_at, now()), finished_at = now()
       FROM settled
      WHERE runs.id = settled.id AND runs.status IN ('queued', 'running')
      RETURNING runs.id`,
  );
  return rows.map((r) => r.id);
}
