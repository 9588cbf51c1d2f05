import { validateBenchReport, type SessionRole } from '@pocketbench/contracts';
import {
  EXTERNAL_SESSION_INDEX_BASE, getArtifact, getDevice, getJob, insertSession, listJobsForRun, lockCell, nextExternalSessionIndex,
  withTransaction, type Pool,
} from '@pocketbench/db';
import { sessionFromReport } from '@pocketbench/stats';
import { ApiError, validationFailed } from '../../errors.js';
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
  // The report must have measured the cell's own file: a backend match alone lets any model in.
  const artifactId = role === 'baseline' ? job.baselineArtifactId! : job.artifactId;
  const artifact = (await getArtifact(db, artifactId))!;
  if (!report.model) {
    if (report.status === 'ok') {
      throw validationFailed(`report.model is missing, so it cannot be checked against the cell's ${role} artifact ${artifact.sha256}`, {
        field: 'report.model',
      });
    }
  } else {
    const reported = report.model.sha256.toLowerCase().replace(/^sha256:/, '');
    if (reported !== artifact.sha256) {
      throw validationFailed(
        `report.model.sha256 is ${reported} but cell ${req.cellIndex}'s ${role} artifact ${artifact.id} has sha256 ${artifact.sha256}`,
        { field: 'report.model.sha256', reported, expected: artifact.sha256 },
      );
    }
    if (report.model.format !== artifact.format) {
      throw validationFailed(
        `report.model.format is "${report.model.format}" but cell ${req.cellIndex}'s ${role} artifact ${artifact.id} is "${artifact.format}"`,
        { field: 'report.model.format' },
      );
    }
  }
  if (req.sessionIndex !== undefined && req.sessionIndex < EXTERNAL_SESSION_INDEX_BASE && job.status !== 'unsupported') {
    throw new ApiError(
      409,
      'session_index_reserved',
      `sessionIndex ${req.sessionIndex} is in the farm's range for cell ${req.cellIndex} (0–${EXTERNAL_SESSION_INDEX_BASE - 1}); ` +
        `external sessions use ${EXTERNAL_SESSION_INDEX_BASE} and up (omit sessionIndex to get the next free one)`,
      { field: 'sessionIndex', min: EXTERNAL_SESSION_INDEX_BASE },
    );
  }
  return withTransaction(db, async (tx) => {
    await lockCell(tx, job.id);
    // Above every index the farm may plan, so a queued farm session keeps its slot.
    const sessionIndex = req.sessionIndex ?? (await nextExternalSessionIndex(tx, job.id, role));
    const { id, inserted } = await insertSession(tx, sessionFromReport(report, {
      jobId: job.id,
      runId: run.id,
      role,
      sessionIndex,
      artifactId,
      deviceId: req.deviceId ?? null,
      source: 'external',
      seriesDevice: { deviceModel: req.deviceModel ?? report.host.cpuModel, osVersion: report.host.os },
    }));
    // Not counted towards the cell's planned sessions: those are the farm's, and counting an
    // external one would finish the cell early and make the farm drop its own results.
    const cell = await getJob(tx, job.id);
    return { sessionId: id, inserted, jobId: job.id, role, sessionIndex, cellStatus: cell!.status };
  });
}
