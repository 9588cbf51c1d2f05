import { validateBenchReport, type SessionRole } from '@pocketbench/contracts';
import {
  getDevice, insertSession, listJobsForRun, recordSessionFinished, withTransaction, type Pool,
} from '@pocketbench/db';
import { validationFailed } from '../../errors.js';
import type { Principal } from '../auth/tokens.js';
import { loadRun } from './run-view.js';

export interface ExternalSessionRequest {
  cellIndex: number;
  role?: SessionRole;
  sessionIndex?: number;
  deviceId?: string;
  deviceModel?: string;
  report: unknown;
}

export interface ExternalSessionResult {
  sessionId: number;
  /** false when (cell, role, sessionIndex) already had a result: the first one is kept. */
  inserted: boolean;
  jobId: string;
  role: SessionRole;
  sessionIndex: number;
  cellStatus: string;
}

/**
 * `POST /api/v1/runs/:id/sessions`: a BenchReport measured outside the farm joins a cell of
 * the run (source `external`), so it gets the same figures and statistics. It counts towards
 * the cell's progress like a farm session.
 */
export async function addExternalSession(db: Pool, principal: Principal, runId: string, req: ExternalSessionRequest): Promise<ExternalSessionResult> {
  const run = await loadRun(db, principal, runId);
  const checked = validateBenchReport(req.report);
  if (!checked.ok) {
    throw validationFailed(`report is not a valid BenchReport: ${checked.errors[0]}`, { field: 'report', problems: checked.errors });
  }
  const report = checked.value;
  const job = (await listJobsForRun(db, run.id)).find((j) => j.cellIndex === req.cellIndex);
  if (!job) throw validationFailed(`cellIndex ${req.cellIndex} is not a cell of run ${run.id}`, { field: 'cellIndex' });
  const role: SessionRole = req.role ?? 'head';
  if (role === 'baseline' && !job.baselineArtifactId) {
    throw validationFailed(`cell ${req.cellIndex} is not a paired A/B cell, so it has no baseline role`, { field: 'role' });
  }
  if (req.deviceId && !(await getDevice(db, req.deviceId))) {
    throw validationFailed(`deviceId "${req.deviceId}" is not a registered device`, { field: 'deviceId' });
  }
  if (report.backend.requested !== job.backend) {
    throw validationFailed(`report.backend.requested is "${report.backend.requested}" but cell ${req.cellIndex} benchmarks backend "${job.backend}"`, {
      field: 'report.backend.requested',
    });
  }
  return withTransaction(db, async (tx) => {
    // Serialises concurrent external posts to one cell so "next free index" is well defined.
    await tx.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [job.id]);
    let sessionIndex = req.sessionIndex;
    if (sessionIndex === undefined) {
      const { rows } = await tx.query<{ next: number }>(
        'SELECT coalesce(max(session_index) + 1, 0)::int AS next FROM sessions WHERE job_id = $1 AND role = $2',
        [job.id, role],
      );
      sessionIndex = rows[0].next;
    }
    const status = report.status === 'ok' ? 'ok' : report.status === 'unsupported' ? 'unsupported' : 'error';
    const { id, inserted } = await insertSession(tx, {
      jobId: job.id,
      runId: run.id,
      role,
      sessionIndex,
      artifactId: role === 'baseline' ? job.baselineArtifactId! : job.artifactId,
      deviceId: req.deviceId ?? null,
      status,
      errorClass: report.error?.class ?? null,
      errorMessage: report.error?.message ?? null,
      backendRequested: report.backend.requested,
      backendUsed: report.backend.used,
      runtime: report.runtime.name,
      runtimeVersion: report.runtime.version,
      harnessVersion: report.harness.version,
      deviceArch: report.host.arch,
      iterationsUs: report.timing?.iterationsUs ?? [],
      loadMs: report.timing?.modelLoadMs ?? null,
      firstInferenceMs: report.timing?.firstInferenceMs ?? null,
      peakRssBytes: report.memory?.peakRssBytes ?? null,
      peakRssMethod: report.memory?.method ?? null,
      modelSizeBytes: report.model?.sizeBytes ?? null,
      deviceStateBefore: report.device.before,
      deviceStateAfter: report.device.after,
      report,
      source: 'external',
      series: {
        deviceModel: req.deviceModel ?? report.host.cpuModel,
        osVersion: report.host.os,
        inputSpec: (report.spec as { inputs?: unknown }).inputs ?? null,
      },
    });
    if (inserted) await recordSessionFinished(tx, job.id);
    const { rows } = await tx.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [job.id]);
    return { sessionId: id, inserted, jobId: job.id, role, sessionIndex, cellStatus: rows[0].status };
  });
}
