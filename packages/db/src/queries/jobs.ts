import type { Backend, JobStatus, RunConfig } from '@pocketbench/contracts';
import type { NoRows, Queryable } from '../queryable.js';

/**
 * Session indices from here up belong to sessions posted from outside the farm
 * (`POST /api/v1/runs/:id/sessions`); below it the farm plans its own (0…, adaptive extras),
 * so an external result can never take the slot of a farm session still queued.
 */
export const EXTERNAL_SESSION_INDEX_BASE = 100_000;

/** One cell of a run's matrix (table `jobs`). */
export interface JobRow {
  id: string;
  runId: string;
  cellIndex: number;
  artifactId: string;
  baselineArtifactId: string | null;
  /** Fidelity reference of the cell (null: none). */
  referenceArtifactId: string | null;
  backend: Backend;
  pool: string;
  deviceId: string | null;
  status: JobStatus;
  reason: string | null;
  errorClass: string | null;
  sessionsPlanned: number;
  sessionsDone: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface NewJob {
  id: string;
  runId: string;
  cellIndex: number;
  artifactId: string;
  baselineArtifactId?: string | null;
  referenceArtifactId?: string | null;
  backend: string;
  pool: string;
  deviceId?: string | null;
  /**
   * `queued`, or `unsupported` (then `reason` says why no device can serve it), or `failed` (a
   * variant whose conversion failed; `errorClass` says what kind of fault).
   */
  status: 'queued' | 'unsupported' | 'failed';
  reason?: string | null;
  errorClass?: string | null;
  sessionsPlanned: number;
}

const JOB_COLUMNS = `id, run_id AS "runId", cell_index AS "cellIndex", artifact_id AS "artifactId",
  baseline_artifact_id AS "baselineArtifactId", reference_artifact_id AS "referenceArtifactId", backend, pool, device_id AS "deviceId", status, reason,
  error_class AS "errorClass", sessions_planned AS "sessionsPlanned", sessions_done AS "sessionsDone",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/** Inserts all cells of a run in one statement (a 1,000-cell run is one round trip). */
export async function insertJobs(q: Queryable, jobs: NewJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await q.query<NoRows>(
    `INSERT INTO jobs (id, run_id, cell_index, artifact_id, baseline_artifact_id, backend, pool, device_id,
                       status, reason, sessions_planned, finished_at, reference_artifact_id, error_class)
     SELECT id, run_id, cell_index, artifact_id, baseline_artifact_id, backend, pool, device_id, status, reason,
            sessions_planned, CASE WHEN status IN ('unsupported', 'failed') THEN now() END, reference_artifact_id, error_class
       FROM unnest($1::text[], $2::uuid[], $3::int[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[],
                   $9::text[], $10::text[], $11::int[], $12::uuid[], $13::text[])
         AS t(id, run_id, cell_index, artifact_id, baseline_artifact_id, backend, pool, device_id, status, reason,
              sessions_planned, reference_artifact_id, error_class)`,
    [
      jobs.map((j) => j.id),
      jobs.map((j) => j.runId),
      jobs.map((j) => j.cellIndex),
      jobs.map((j) => j.artifactId),
      jobs.map((j) => j.baselineArtifactId ?? null),
      jobs.map((j) => j.backend),
      jobs.map((j) => j.pool),
      jobs.map((j) => j.deviceId ?? null),
      jobs.map((j) => j.status),
      jobs.map((j) => j.reason ?? null),
      jobs.map((j) => j.sessionsPlanned),
      jobs.map((j) => j.referenceArtifactId ?? null),
      jobs.map((j) => j.errorClass ?? null),
    ],
  );
}

export async function getJob(q: Queryable, jobId: string): Promise<JobRow | null> {
  const { rows } = await q.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [jobId]);
  return rows[0] ?? null;
}

export async function listJobsForRun(q: Queryable, runId: string): Promise<JobRow[]> {
  const { rows } = await q.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE run_id = $1 ORDER BY cell_index`, [runId]);
  return rows;
}

export interface UnstartedJob extends JobRow {
  /** The run's resolved config, as its sessions were planned. */
  config: RunConfig;
}

/**
 * Cells still `queued` (of a run still queued or running) with no session stored: after a crash
 * between storing a run and enqueueing it, these are the cells that may have no queue jobs.
 */
export async function listUnstartedQueuedJobs(q: Queryable): Promise<UnstartedJob[]> {
  const { rows } = await q.query<UnstartedJob>(
    `SELECT j.id, j.run_id AS "runId", j.cell_index AS "cellIndex", j.artifact_id AS "artifactId",
            j.baseline_artifact_id AS "baselineArtifactId", j.reference_artifact_id AS "referenceArtifactId", j.backend, j.pool, j.device_id AS "deviceId", j.status, j.reason,
            j.error_class AS "errorClass", j.sessions_planned AS "sessionsPlanned", j.sessions_done AS "sessionsDone",
            j.created_at AS "createdAt", j.started_at AS "startedAt", j.finished_at AS "finishedAt", r.config
       FROM jobs j JOIN runs r ON r.id = j.run_id
      WHERE j.status = 'queued' AND r.status IN ('queued', 'running')
        AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.job_id = j.id)
      ORDER BY r.created_at, j.cell_index`,
  );
  return rows;
}

/**
 * Marks a cell (and its run) running when a worker starts one of its sessions.
 * Returns false when the cell is no longer runnable (failed, cancelled, done, unsupported or
 * unknown): the worker should then drop the session instead of running it.
 */
export async function markJobRunning(q: Queryable, jobId: string): Promise<boolean> {
  const { rows } = await q.query<{ ok: boolean }>(
    `WITH j AS (
       UPDATE jobs SET status = 'running', started_at = coalesce(started_at, now())
        WHERE id = $1 AND status IN ('queued', 'running')
        RETURNING run_id
     ), r AS (
       UPDATE runs SET status = 'running', started_at = coalesce(started_at, now())
         FROM j WHERE runs.id = j.run_id AND runs.status = 'queued'
     )
     SELECT EXISTS (SELECT 1 FROM j) AS ok`,
    [jobId],
  );
  return rows[0]?.ok ?? false;
}

/**
 * Run bookkeeping when one of its cells finishes: `done` and `failed` are what the cell adds to
 * those counters (0 or 1, or an SQL expression giving one; an `unsupported` cell adds to
 * neither). Counters by increment (each statement sees the row's latest version, so concurrent
 * completions stay exact); the run is `failed` only when no cell finished `done` and at least
 * one failed.
 */
function finishRunSql(done: 0 | 1 | string, failed: 0 | 1): string {
  return `UPDATE runs SET
       jobs_finished = runs.jobs_finished + 1,
       jobs_done = runs.jobs_done + ${done},
       jobs_failed = runs.jobs_failed + ${failed},
       started_at = coalesce(runs.started_at, now()),
       status = CASE
         WHEN runs.status = 'cancelled' THEN 'cancelled'
         WHEN runs.jobs_finished + 1 < runs.jobs_total THEN 'running'
         WHEN runs.jobs_done + ${done} = 0 AND runs.jobs_failed + ${failed} > 0 THEN 'failed'
         ELSE 'done' END,
       finished_at = CASE WHEN runs.jobs_finished + 1 >= runs.jobs_total THEN now() END`;
}

export interface SessionFinishedOutcome {
  /** The cell has now stored all its planned sessions. */
  jobDone: boolean;
  /** Every cell of the run has finished (done, failed or unsupported). */
  runDone: boolean;
}

/**
 * Counts one more finished session of a cell. Call it once per session newly stored (not
 * for a duplicate that the sessions table refused). When the count reaches the planned
 * number the cell is `done` — or `unsupported`, with the device's reason and error class,
 * when every session it stored came back `unsupported` — and when it was the run's last cell
 * the run is finished too.
 */
export async function recordSessionFinished(q: Queryable, jobId: string): Promise<SessionFinishedOutcome> {
  const { rows } = await q.query<{ job_status: string | null; run_finished: boolean | null }>(
    `WITH last AS (
       -- The newest stored session, and whether every stored session is unsupported.
       SELECT (SELECT bool_and(status = 'unsupported') FROM sessions WHERE job_id = $1) AS all_unsupported,
              s.error_class, s.error_message
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT error_class, error_message FROM sessions WHERE job_id = $1
                             ORDER BY created_at DESC, id DESC LIMIT 1) s ON true
     ), j AS (
       UPDATE jobs SET
           sessions_done = sessions_done + 1,
           started_at = coalesce(started_at, now()),
           status = CASE WHEN sessions_done + 1 < sessions_planned THEN 'running'
                         WHEN last.all_unsupported THEN 'unsupported' ELSE 'done' END,
           reason = CASE WHEN sessions_done + 1 >= sessions_planned AND last.all_unsupported
                         THEN coalesce(last.error_message, 'the device reported every session unsupported') ELSE jobs.reason END,
           error_class = CASE WHEN sessions_done + 1 >= sessions_planned AND last.all_unsupported
                              THEN last.error_class ELSE jobs.error_class END,
           finished_at = CASE WHEN sessions_done + 1 >= sessions_planned THEN now() END
         FROM last
        WHERE id = $1 AND status IN ('queued', 'running')
        RETURNING run_id, status
     ), r AS (
       ${finishRunSql(`(CASE WHEN j.status = 'done' THEN 1 ELSE 0 END)`, 0)}
         FROM j WHERE runs.id = j.run_id AND j.status IN ('done', 'unsupported')
         RETURNING runs.finished_at IS NOT NULL AS run_finished
     ), started AS (
       UPDATE runs SET status = 'running', started_at = coalesce(started_at, now())
         FROM j WHERE runs.id = j.run_id AND j.status = 'running' AND runs.status = 'queued'
     )
     SELECT (SELECT status FROM j) AS job_status, (SELECT run_finished FROM r) AS run_finished`,
    [jobId],
  );
  const row = rows[0];
  return { jobDone: row?.job_status === 'done' || row?.job_status === 'unsupported', runDone: row?.run_finished === true };
}

/**
 * Fails a cell at once (model fault, or an infrastructure fault after the last retry), keeping
 * the error class and the harness's message on the job. Returns whether the run is now finished.
 * A cell already finished is left as it is.
 */
export async function failJob(
  q: Queryable,
  jobId: string,
  errorClass: string,
  message: string,
): Promise<{ runDone: boolean }> {
  const { rows } = await q.query<{ run_finished: boolean | null }>(
    `WITH j AS (
       UPDATE jobs SET status = 'failed', error_class = $2, reason = $3,
                       started_at = coalesce(started_at, now()), finished_at = now()
        WHERE id = $1 AND status IN ('queued', 'running')
        RETURNING run_id
     ), r AS (
       ${finishRunSql(0, 1)}
         FROM j WHERE runs.id = j.run_id
         RETURNING runs.finished_at IS NOT NULL AS run_finished
     )
     SELECT (SELECT run_finished FROM r) AS run_finished`,
    [jobId, errorClass, message.slice(0, 4000)],
  );
  return { runDone: rows[0]?.run_finished === true };
}

/**
 * Adaptive A/B: plans `n` more sessions (counted over both roles) for a cell still running.
 * The worker plans them in the transaction that stores the cell's last planned session, before
 * counting it, so a cell never finishes while more sessions are coming. Returns the new planned
 * count, or null when the cell is finished, failed, cancelled, unsupported or unknown.
 */
export async function addPlannedSessions(
  q: Queryable,
  jobId: string,
  n: number,
): Promise<{ sessionsPlanned: number } | null> {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`addPlannedSessions: n must be a positive integer, got ${n}`);
  const { rows } = await q.query<{ sessions_planned: number }>(
    `UPDATE jobs SET sessions_planned = sessions_planned + $2, status = 'running'
      WHERE id = $1 AND status IN ('queued', 'running')
      RETURNING sessions_planned`,
    [jobId, n],
  );
  return rows[0] ? { sessionsPlanned: rows[0].sessions_planned } : null;
}

export interface LiveJob extends UnstartedJob {
  /** `role.sessionIndex` of every farm session already stored for the cell. */
  storedKeys: string[];
}

/**
 * Every cell still `queued` or `running` in a run still `queued` or `running`, created at least
 * `minAgeMs` ago (a run being enqueued right now is its submitter's), with the run's config and
 * the farm sessions already stored: what the reconciler compares with the queue.
 */
export async function listLiveJobs(q: Queryable, minAgeMs = 0): Promise<LiveJob[]> {
  const { rows } = await q.query<LiveJob>(
    `SELECT j.id, j.run_id AS "runId", j.cell_index AS "cellIndex", j.artifact_id AS "artifactId",
            j.baseline_artifact_id AS "baselineArtifactId", j.reference_artifact_id AS "referenceArtifactId", j.backend, j.pool,
            j.device_id AS "deviceId", j.status, j.reason,
            j.error_class AS "errorClass", j.sessions_planned AS "sessionsPlanned", j.sessions_done AS "sessionsDone",
            j.created_at AS "createdAt", j.started_at AS "startedAt", j.finished_at AS "finishedAt", r.config,
            coalesce((SELECT array_agg(s.role || '.' || s.session_index) FROM sessions s
                       WHERE s.job_id = j.id AND s.session_index < ${EXTERNAL_SESSION_INDEX_BASE}), '{}') AS "storedKeys"
       FROM jobs j JOIN runs r ON r.id = j.run_id
      WHERE j.status IN ('queued', 'running') AND r.status IN ('queued', 'running')
        AND j.created_at <= now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY r.created_at, j.cell_index`,
    [minAgeMs],
  );
  return rows;
}

/**
 * Locks a cell for the rest of the transaction if it may still take a session (`queued` or
 * `running`); false when it was cancelled or ended meanwhile, so a late result is not stored.
 */
export async function lockRunnableJob(q: Queryable, jobId: string): Promise<boolean> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM jobs WHERE id = $1 AND status IN ('queued', 'running') FOR UPDATE`, [jobId]);
  return rows.length > 0;
}
