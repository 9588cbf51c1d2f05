// The Session page (#/sessions/:id): one session's figures, iterations and device state.
import type { SessionRole, SessionStatus } from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { num } from './common.js';

export interface SessionDetail {
  id: number;
  runId: string;
  jobId: string;
  seriesId: number | null;
  role: SessionRole;
  sessionIndex: number;
  attempt: number;
  status: SessionStatus;
  errorClass: string | null;
  errorMessage: string | null;
  commitSha: string | null;
  branch: string | null;
  project: string;
  model: string;
  variant: string;
  format: string;
  backendRequested: string;
  backendUsed: string | null;
  runtime: string | null;
  runtimeVersion: string | null;
  harnessVersion: string | null;
  device: { id: string | null; name: string | null; deviceModel: string | null; pool: string | null; arch: string | null; emulated: boolean };
  iterationsUs: number[];
  summary: {
    minUs: number | null; meanUs: number | null; p50Us: number | null; p90Us: number | null; p99Us: number | null;
    stddevUs: number | null; madUs: number | null; cv: number | null;
  };
  loadMs: number | null;
  firstInferenceMs: number | null;
  peakRssBytes: number | null;
  peakRssMethod: string | null;
  modelSizeBytes: number | null;
  deviceStateBefore: unknown;
  deviceStateAfter: unknown;
  createdAt: Date;
}

/** The `sessions` columns this page reads, with its run's, artifact's and device's labels. */
interface SessionDetailRow {
  id: number | string;
  run_id: string;
  job_id: string;
  series_id: number | string | null;
  role: SessionRole;
  session_index: number;
  attempt: number;
  status: SessionStatus;
  error_class: string | null;
  error_message: string | null;
  backend_requested: string;
  backend_used: string | null;
  runtime: string | null;
  runtime_version: string | null;
  harness_version: string | null;
  device_id: string | null;
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
  /** jsonb as the harness stored it (read defensively by the api's view). */
  device_state_before: unknown;
  device_state_after: unknown;
  created_at: Date;
  commit_sha: string | null;
  branch: string | null;
  project: string;
  model: string;
  variant: string;
  format: string;
  device_name: string | null;
  device_model: string | null;
  pool: string | null;
  device_emulated: boolean;
}

export async function getSessionDetail(q: Queryable, sessionId: number): Promise<SessionDetail | undefined> {
  const { rows } = await q.query<SessionDetailRow>(
    `SELECT s.*, r.commit_sha, r.branch, p.name AS project, m.name AS model, a.variant, a.format,
            d.name AS device_name, d.device_model, d.pool, coalesce(d.emulated, false) AS device_emulated
       FROM sessions s JOIN runs r ON r.id = s.run_id JOIN projects p ON p.id = r.project_id
       JOIN artifacts a ON a.id = s.artifact_id JOIN models m ON m.id = a.model_id
       LEFT JOIN devices d ON d.id = s.device_id
      WHERE s.id = $1`,
    [sessionId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id), runId: r.run_id, jobId: r.job_id, seriesId: num(r.series_id), role: r.role, sessionIndex: r.session_index,
    attempt: r.attempt, status: r.status, errorClass: r.error_class, errorMessage: r.error_message, commitSha: r.commit_sha,
    branch: r.branch, project: r.project, model: r.model, variant: r.variant, format: r.format,
    backendRequested: r.backend_requested, backendUsed: r.backend_used, runtime: r.runtime, runtimeVersion: r.runtime_version,
    harnessVersion: r.harness_version,
    device: { id: r.device_id, name: r.device_name ?? null, deviceModel: r.device_model ?? null, pool: r.pool ?? null, arch: r.device_arch,
      emulated: r.device_emulated },
    iterationsUs: (r.iterations_us ?? []).map(Number),
    summary: {
      minUs: num(r.min_us), meanUs: num(r.mean_us), p50Us: num(r.p50_us), p90Us: num(r.p90_us), p99Us: num(r.p99_us),
      stddevUs: num(r.stddev_us), madUs: num(r.mad_us), cv: num(r.cv),
    },
    loadMs: num(r.load_ms), firstInferenceMs: num(r.first_inference_ms), peakRssBytes: num(r.peak_rss_bytes),
    peakRssMethod: r.peak_rss_method, modelSizeBytes: num(r.model_size_bytes), deviceStateBefore: r.device_state_before,
    deviceStateAfter: r.device_state_after, createdAt: r.created_at,
  };
}
