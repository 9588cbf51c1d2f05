// The Session page (#/sessions/:id): one session's figures, iterations and device state.
import type { SessionView, Stored } from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { toSessionRow, type SessionColumns } from '../sessions.js';

/** The Session page's session: contracts' SessionView without what the api derives (histogram, device-state views). */
export type SessionDetail = Omit<Stored<SessionView, 'createdAt'>, 'histogram' | 'deviceBefore' | 'deviceAfter'>;

/** A whole `sessions` row (`s.*`) with its run's, artifact's and device's labels. */
interface SessionDetailRow extends SessionColumns {
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
  const s = toSessionRow(r);
  return {
    id: s.id, runId: s.runId, jobId: s.jobId, seriesId: s.seriesId, role: s.role, sessionIndex: s.sessionIndex, attempt: s.attempt,
    status: s.status, errorClass: s.errorClass, errorMessage: s.errorMessage, commitSha: r.commit_sha, branch: r.branch,
    project: r.project, model: r.model, variant: r.variant, format: r.format, backendRequested: s.backendRequested,
    backendUsed: s.backendUsed, runtime: s.runtime, runtimeVersion: s.runtimeVersion, harnessVersion: s.harnessVersion,
    device: { id: s.deviceId, name: r.device_name ?? null, deviceModel: r.device_model ?? null, pool: r.pool ?? null, arch: s.deviceArch,
      emulated: r.device_emulated },
    iterationsUs: s.iterationsUs,
    summary: {
      minUs: s.minUs, meanUs: s.meanUs, p50Us: s.p50Us, p90Us: s.p90Us, p99Us: s.p99Us, stddevUs: s.stddevUs, madUs: s.madUs, cv: s.cv,
    },
    loadMs: s.loadMs, firstInferenceMs: s.firstInferenceMs, peakRssBytes: s.peakRssBytes, peakRssMethod: s.peakRssMethod,
    modelSizeBytes: s.modelSizeBytes, deviceStateBefore: s.deviceStateBefore, deviceStateAfter: s.deviceStateAfter, createdAt: s.createdAt,
  };
}
