import { validateBenchReport, type BenchReport, type ExternalSessionStored, type SessionRole } from '@pocketbench/contracts';
import {
  EXTERNAL_SESSION_INDEX_BASE, getArtifact, getDevice, getJob, insertSession, listJobsForRun, listVerdictsForRun, lockCell, nextExternalSessionIndex,
  withTransaction, type Pool,
} from '@pocketbench/db';
import { sessionFromReport } from '@pocketbench/stats';
import { ApiError, validationFailed } from '../../errors.js';
import { MAX_PROBLEMS } from '../../http/validate.js';
import type { Principal } from '../auth/tokens.js';
import { loadRun } from './run-view.js';

/** The largest value an `integer` column holds: one iteration of 35.8 minutes, in µs. */
const MAX_INT4 = 2_147_483_647;

/** The first string anywhere in `value` holding a NUL (Postgres text cannot), as a field path. */
function nulField(value: unknown, where: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? where : undefined;
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = nulField(value[i], `${where}[${i}]`, depth + 1);
      if (f) return f;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\0')) return `${where}.(a key)`;
    const f = nulField(v, `${where}.${k}`, depth + 1);
    if (f) return f;
  }
  return undefined;
}

/** Refuses what the database would refuse (a 500), as a 422 naming the field. */
function checkStorable(req: ExternalSessionRequest, report: BenchReport, maxIterations: number): void {
  const nul = nulField(report, 'report') ?? nulField(req.deviceModel, 'deviceModel') ?? nulField(req.deviceId, 'deviceId');
  if (nul) throw validationFailed(`${nul} contains a NUL character, which cannot be stored`, { field: nul });
  const it = report.timing?.iterationsUs ?? [];
  if (it.length > maxIterations) {
    throw new ApiError(
      422, 'quota_exceeded',
      `report.timing.iterationsUs has ${it.length} iterations, above the iterations allowed per session (limit ${maxIterations}, POCKETBENCH_MAX_ITERATIONS)`,
      { field: 'report.timing.iterationsUs', limit: maxIterations, setting: 'POCKETBENCH_MAX_ITERATIONS' },
    );
  }
  const bad = it.findIndex((us) => !(Math.round(us) <= MAX_INT4));
  if (bad >= 0) {
    throw validationFailed(`report.timing.iterationsUs[${bad}] is ${it[bad]} µs, above the largest storable ${MAX_INT4} µs`, {
      field: `report.timing.iterationsUs[${bad}]`,
    });
  }
  const bytes: [string, number | undefined][] = [
    ['report.memory.peakRssBytes', report.memory?.peakRssBytes],
    ['report.model.sizeBytes', report.model?.sizeBytes],
  ];
  for (const [field, v] of bytes) {
    if (v !== undefined && v !== null && !(Number.isSafeInteger(Math.round(v)) && v >= 0)) {
      throw validationFailed(`${field} is ${v}, not a storable byte count`, { field });
    }
  }
  const ms: [string, number | undefined][] = [
    ['report.timing.modelLoadMs', report.timing?.modelLoadMs],
    ['report.timing.firstInferenceMs', report.timing?.firstInferenceMs],
  ];
  for (const [field, v] of ms) {
    if (v !== undefined && v !== null && !Number.isFinite(v)) throw validationFailed(`${field} is not a finite number`, { field });
  }
}

export interface ExternalSessionRequest {
  cellIndex: number;
  role?: SessionRole;
  sessionIndex?: number;
  deviceId?: string;
  deviceModel?: string;
  report: unknown;
}

/** What `POST /api/v1/runs/:id/sessions` answers. */
export type ExternalSessionResult = ExternalSessionStored;

/**
 * `POST /api/v1/runs/:id/sessions`: a BenchReport measured outside the farm joins a cell of
 * the run (source `external`), so it gets the same figures and statistics. Only a run created
 * with `acceptExternalSessions`, not cancelled or failed, and not yet gated takes them (a gate
 * verdict was decided on the sessions it saw); a device named must be the caller's project's.
 */
export async function addExternalSession(
  db: Pool,
  principal: Principal,
  runId: string,
  req: ExternalSessionRequest,
  limits: { iterationsPerSession: number },
): Promise<ExternalSessionResult> {
  const run = await loadRun(db, principal, runId);
  if (!run.acceptsExternal) {
    throw new ApiError(409, 'run_closed', `run ${run.id} was not created open for external sessions (acceptExternalSessions: true)`, { field: 'runId' });
  }
  if (run.status === 'cancelled' || run.status === 'failed') {
    throw new ApiError(409, 'run_closed', `run ${run.id} is ${run.status}: it takes no more sessions`, { field: 'runId', status: run.status });
  }
  if ((await listVerdictsForRun(db, run.id)).length > 0) {
    throw new ApiError(409, 'run_closed', `run ${run.id} has been gated: sessions added now would change evidence already decided on`, { field: 'runId' });
  }
  const checked = validateBenchReport(req.report);
  if (!checked.ok) {
    throw validationFailed(`report is not a valid BenchReport: ${checked.errors[0]?.slice(0, 400)}`, {
      field: 'report',
      problems: checked.errors.slice(0, MAX_PROBLEMS).map((e) => e.slice(0, 400)),
      ...(checked.errors.length > MAX_PROBLEMS ? { more: checked.errors.length - MAX_PROBLEMS } : {}),
    });
  }
  const report = checked.value;
  checkStorable(req, report, limits.iterationsPerSession);
  const cell = (await listJobsForRun(db, run.id)).find((j) => j.cellIndex === req.cellIndex);
  if (!cell) throw validationFailed(`cellIndex ${req.cellIndex} is not a cell of run ${run.id}`, { field: 'cellIndex' });
  const role: SessionRole = req.role ?? 'head';
  if (role === 'baseline' && !cell.baselineArtifactId) {
    throw validationFailed(`cell ${req.cellIndex} is not a paired A/B cell, so it has no baseline role`, { field: 'role' });
  }
  if (req.deviceId) {
    const device = await getDevice(db, req.deviceId);
    // A shared farm device belongs to no project: results on it come only from the farm.
    if (!device || (principal.kind !== 'admin' && device.projectId !== run.projectId)) {
      throw validationFailed(`deviceId "${req.deviceId}" is not a device of project "${run.project}"`, { field: 'deviceId' });
    }
  }
  if (report.backend.requested !== cell.backend) {
    throw validationFailed(`report.backend.requested is "${report.backend.requested}" but cell ${req.cellIndex} benchmarks backend "${cell.backend}"`, {
      field: 'report.backend.requested',
    });
  }
  // The report must have measured the cell's own file: a backend match alone lets any model in.
  const artifactId = role === 'baseline' ? cell.baselineArtifactId! : cell.artifactId;
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
  if (req.sessionIndex !== undefined && req.sessionIndex < EXTERNAL_SESSION_INDEX_BASE && cell.status !== 'unsupported') {
    throw new ApiError(
      409,
      'session_index_reserved',
      `sessionIndex ${req.sessionIndex} is in the farm's range for cell ${req.cellIndex} (0–${EXTERNAL_SESSION_INDEX_BASE - 1}); ` +
        `external sessions use ${EXTERNAL_SESSION_INDEX_BASE} and up (omit sessionIndex to get the next free one)`,
      { field: 'sessionIndex', min: EXTERNAL_SESSION_INDEX_BASE },
    );
  }
  return withTransaction(db, async (tx) => {
    await lockCell(tx, cell.id);
    // Above every index the farm may plan, so a queued farm session keeps its slot.
    const sessionIndex = req.sessionIndex ?? (await nextExternalSessionIndex(tx, cell.id, role));
    const { id, inserted } = await insertSession(tx, sessionFromReport(report, {
      jobId: cell.id,
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
    const stored = await getJob(tx, cell.id);
    return { sessionId: id, inserted, jobId: cell.id, role, sessionIndex, cellStatus: stored!.status };
  });
}
