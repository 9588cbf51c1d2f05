import type { SessionRecord, SessionRole, SessionStatus } from '@pocketbench/contracts';
import { canonicalJson, osMajor, upsertSeries } from './series.js';
import type { Queryable } from '../queryable.js';
import { EXTERNAL_SESSION_INDEX_BASE } from './jobs.js';

/** One harness execution's result, as `sessionFromReport` (packages/stats) builds it. */
export type InsertSessionInput = SessionRecord;

/**
 * Stores one session. Idempotent on (job_id, role, session_index): a retried or duplicated
 * queue job finds the first result and gets `inserted: false` with its id.
 */
export async function insertSession(q: Queryable, input: InsertSessionInput): Promise<{ id: number; inserted: boolean }> {
  const iterations = (input.iterationsUs ?? []).map((v) => Math.round(v));
  const s = input.summary;
  let seriesId: number | null = null;
  if (input.series && input.runtime && input.harnessVersion) {
    const { rows } = await q.query<{ project_id: string; model: string; variant: string }>(
      `SELECT m.project_id, m.name AS model, a.variant FROM artifacts a JOIN models m ON m.id = a.model_id WHERE a.id = $1`,
      [input.artifactId],
    );
    if (!rows[0]) throw new Error(`artifact ${input.artifactId} does not exist`);
    seriesId = await upsertSeries(q, {
      projectId: rows[0].project_id,
      model: rows[0].model,
      variant: rows[0].variant,
      runtime: input.runtime,
      backend: input.backendRequested,
      deviceModel: input.series.deviceModel,
      osMajor: osMajor(input.series.osVersion),
      harnessVersion: input.harnessVersion,
      inputSpec: canonicalJson(input.series.inputSpec),
    });
  }
  const { rows } = await q.query<{ id: number | string }>(
    `INSERT INTO sessions (job_id, run_id, role, session_index, attempt, artifact_id, device_id, series_id, status,
       error_class, error_message, backend_requested, backend_used, runtime, runtime_version, harness_version, device_arch,
       iterations_us, min_us, mean_us, p50_us, p90_us, p99_us, stddev_us, mad_us, cv, load_ms, first_inference_ms,
       peak_rss_bytes, peak_rss_method, model_size_bytes, device_state_before, device_state_after, report, source, fidelity)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
       $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)
     ON CONFLICT (job_id, role, session_index) DO NOTHING
     RETURNING id`,
    [
      input.jobId, input.runId, input.role, input.sessionIndex, input.attempt ?? 1, input.artifactId, input.deviceId ?? null,
      seriesId, input.status, input.errorClass ?? null, input.errorMessage ?? null, input.backendRequested,
      input.backendUsed ?? null, input.runtime ?? null, input.runtimeVersion ?? null, input.harnessVersion ?? null,
      input.deviceArch ?? null, iterations, s?.minUs ?? null, s?.meanUs ?? null, s?.p50Us ?? null, s?.p90Us ?? null,
      s?.p99Us ?? null, s?.stddevUs ?? null, s?.madUs ?? null, s?.cv ?? null, input.loadMs ?? null,
      input.firstInferenceMs ?? null, input.peakRssBytes ?? null, input.peakRssMethod ?? null, input.modelSizeBytes ?? null,
      jsonOrNull(input.deviceStateBefore), jsonOrNull(input.deviceStateAfter), JSON.stringify(input.report ?? {}),
      input.source ?? 'farm', jsonOrNull(input.fidelity),
    ],
  );
  if (rows[0]) return { id: Number(rows[0].id), inserted: true };
  const existing = await q.query<{ id: number | string }>(
    'SELECT id FROM sessions WHERE job_id = $1 AND role = $2 AND session_index = $3',
    [input.jobId, input.role, input.sessionIndex],
  );
  return { id: Number(existing.rows[0].id), inserted: false };
}

function jsonOrNull(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

export interface SessionRow {
  id: number;
  jobId: string;
  runId: string;
  role: SessionRole;
  sessionIndex: number;
  attempt: number;
  artifactId: string;
  deviceId: string | null;
  seriesId: number | null;
  status: SessionStatus;
  errorClass: string | null;
  errorMessage: string | null;
  backendRequested: string;
  backendUsed: string | null;
  runtime: string | null;
  runtimeVersion: string | null;
  harnessVersion: string | null;
  deviceArch: string | null;
  iterationsUs: number[];
  minUs: number | null;
  meanUs: number | null;
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  stddevUs: number | null;
  madUs: number | null;
  cv: number | null;
  loadMs: number | null;
  firstInferenceMs: number | null;
  peakRssBytes: number | null;
  peakRssMethod: string | null;
  modelSizeBytes: number | null;
  deviceStateBefore: unknown;
  deviceStateAfter: unknown;
  source: string;
  createdAt: Date;
}

const SESSION_COLUMNS = `id, job_id, run_id, role, session_index, attempt, artifact_id, device_id, series_id, status,
  error_class, error_message, backend_requested, backend_used, runtime, runtime_version, harness_version, device_arch,
  iterations_us, min_us, mean_us, p50_us, p90_us, p99_us, stddev_us, mad_us, cv, load_ms, first_inference_ms,
  peak_rss_bytes, peak_rss_method, model_size_bytes, device_state_before, device_state_after, source, created_at`;

/** SESSION_COLUMNS as pg returns them (the Session page's query reads them with `s.*`). */
export interface SessionColumns {
  id: number | string;
  job_id: string;
  run_id: string;
  role: SessionRole;
  session_index: number;
  attempt: number;
  artifact_id: string;
  device_id: string | null;
  series_id: number | string | null;
  status: SessionStatus;
  error_class: string | null;
  error_message: string | null;
  backend_requested: string;
  backend_used: string | null;
  runtime: string | null;
  runtime_version: string | null;
  harness_version: string | null;
  device_arch: string | null;
  iterations_us: number[] | null;
  min_us: number | null;
  mean_us: number | null;
  p50_us: number | null;
  p90_us: number | null;
  p99_us: number | null;
  stddev_us: number | null;
  mad_us: number | null;
  cv: number | null;
  load_ms: number | null;
  first_inference_ms: number | null;
  peak_rss_bytes: number | string | null;
  peak_rss_method: string | null;
  model_size_bytes: number | string | null;
  /** jsonb as the harness stored it (read defensively by the api's views). */
  device_state_before: unknown;
  device_state_after: unknown;
  source: string;
  created_at: Date;
}

const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** A `sessions` row in camelCase: every query that reads whole sessions maps them here. */
export function toSessionRow(r: SessionColumns): SessionRow {
  return {
    id: Number(r.id), jobId: r.job_id, runId: r.run_id, role: r.role, sessionIndex: r.session_index, attempt: r.attempt,
    artifactId: r.artifact_id, deviceId: r.device_id, seriesId: numOrNull(r.series_id),
    status: r.status, errorClass: r.error_class, errorMessage: r.error_message, backendRequested: r.backend_requested,
    backendUsed: r.backend_used, runtime: r.runtime, runtimeVersion: r.runtime_version, harnessVersion: r.harness_version,
    deviceArch: r.device_arch, iterationsUs: (r.iterations_us ?? []).map(Number), minUs: r.min_us, meanUs: r.mean_us,
    p50Us: r.p50_us, p90Us: r.p90_us, p99Us: r.p99_us, stddevUs: r.stddev_us, madUs: r.mad_us, cv: r.cv,
    loadMs: r.load_ms, firstInferenceMs: r.first_inference_ms, peakRssBytes: numOrNull(r.peak_rss_bytes),
    peakRssMethod: r.peak_rss_method, modelSizeBytes: numOrNull(r.model_size_bytes), deviceStateBefore: r.device_state_before,
    deviceStateAfter: r.device_state_after, source: r.source, createdAt: r.created_at,
  };
}

/** Every session of a run, in (job, role, session index) order; iterations included. */
export async function listSessionsForRun(q: Queryable, runId: string): Promise<SessionRow[]> {
  const { rows } = await q.query<SessionColumns>(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE run_id = $1 ORDER BY job_id, role, session_index`,
    [runId],
  );
  return rows.map(toSessionRow);
}

/** Sessions of one job (cell), in role then session order. */
export async function listSessionsForJob(q: Queryable, jobId: string): Promise<SessionRow[]> {
  const { rows } = await q.query<SessionColumns>(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE job_id = $1 ORDER BY role, session_index`,
    [jobId],
  );
  return rows.map(toSessionRow);
}

/** The stored session for (job, role, session index), if any: a duplicate delivery finds it here. */
export async function getSessionByKey(
  q: Queryable,
  jobId: string,
  role: SessionRole,
  sessionIndex: number,
): Promise<{ id: number; status: SessionStatus } | undefined> {
  const { rows } = await q.query<{ id: number | string; status: SessionStatus }>(
    'SELECT id, status FROM sessions WHERE job_id = $1 AND role = $2 AND session_index = $3',
    [jobId, role, sessionIndex],
  );
  return rows[0] ? { id: Number(rows[0].id), status: rows[0].status } : undefined;
}

export interface CellArtifact {
  id: string;
  sha256: string;
  format: string;
  sizeBytes: number;
}

interface JobArtifactsColumns {
  h_id: string;
  h_sha: string;
  h_format: string;
  h_size: number | string;
  b_id: string | null;
  b_sha: string | null;
  b_format: string | null;
  b_size: number | string | null;
}

/** The head and (for A/B cells) baseline artifacts of a job, for scheduling more sessions. */
export async function getJobArtifacts(
  q: Queryable,
  jobId: string,
): Promise<{ head: CellArtifact; baseline: CellArtifact | null } | undefined> {
  const { rows } = await q.query<JobArtifactsColumns>(
    `SELECT h.id AS h_id, h.sha256 AS h_sha, h.format AS h_format, h.size_bytes AS h_size,
            b.id AS b_id, b.sha256 AS b_sha, b.format AS b_format, b.size_bytes AS b_size
       FROM jobs j JOIN artifacts h ON h.id = j.artifact_id LEFT JOIN artifacts b ON b.id = j.baseline_artifact_id
      WHERE j.id = $1`,
    [jobId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    head: { id: r.h_id, sha256: r.h_sha, format: r.h_format, sizeBytes: Number(r.h_size) },
    baseline: r.b_id && r.b_sha && r.b_format ? { id: r.b_id, sha256: r.b_sha, format: r.b_format, sizeBytes: Number(r.b_size) } : null,
  };
}

/**
 * Locks the cell's `jobs` row for the transaction: concurrent external posts to one cell are
 * serialised, so "the next free session index" is well defined.
 */
export async function lockCell(tx: Queryable, jobId: string): Promise<void> {
  await tx.query<{ id: string }>('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [jobId]);
}

/** The next free external session index of (cell, role): above every index the farm may plan. */
export async function nextExternalSessionIndex(tx: Queryable, jobId: string, role: SessionRole): Promise<number> {
  const { rows } = await tx.query<{ next: number }>(
    'SELECT greatest(coalesce(max(session_index) + 1, 0), $3)::int AS next FROM sessions WHERE job_id = $1 AND role = $2',
    [jobId, role, EXTERNAL_SESSION_INDEX_BASE],
  );
  return rows[0].next;
}

/** What the adaptive stopping rule needs to know about a cell beyond its sessions. */
export interface CellDecisionContext {
  model: string;
  variant: string;
  backend: string;
  pool: string;
  /** Cells in the run (the Benjamini–Hochberg family's size, with the checks per cell). */
  jobsTotal: number;
}

export async function getCellDecisionContext(q: Queryable, jobId: string): Promise<CellDecisionContext | undefined> {
  const { rows } = await q.query<CellDecisionContext>(
    `SELECT m.name AS model, a.variant, j.backend, j.pool, r.jobs_total AS "jobsTotal"
       FROM jobs j JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id JOIN runs r ON r.id = j.run_id
      WHERE j.id = $1`,
    [jobId],
  );
  return rows[0];
}

/**
 * The pool's measured session noise: the median, over its most recent cells with at least 4
 * stable head sessions, of the standard deviation of log session medians within the cell
 * (repeats of one artifact on one device). Null while fewer than 3 such cells exist.
 */
export async function poolSessionNoise(q: Queryable, pool: string, recentCells = 50): Promise<number | null> {
  const { rows } = await q.query<{ cv: number | null; cells: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY sd)::float8 AS cv, count(*)::int AS cells FROM (
       SELECT stddev_samp(ln(s.p50_us)) AS sd
         FROM sessions s JOIN jobs j ON j.id = s.job_id
        WHERE j.pool = $1 AND s.status = 'ok' AND s.role = 'head' AND s.source = 'farm' AND s.p50_us > 0
        GROUP BY s.job_id HAVING count(*) >= 4
        ORDER BY max(s.created_at) DESC LIMIT $2) t`,
    [pool, recentCells],
  );
  const r = rows[0];
  return r && r.cells >= 3 && r.cv !== null ? Number(r.cv) : null;
}
