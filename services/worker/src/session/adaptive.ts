import type { Logger } from 'pino';
import { sessionJob, type SessionJob, type SessionJobData } from '@pocketbench/contracts';
import { addPlannedSessions, EXTERNAL_SESSION_INDEX_BASE, getJob, getJobArtifacts, listSessionsForJob, type Queryable } from '@pocketbench/db';
import { pairOrder } from '@pocketbench/stats';
import { adaptiveStepForCell } from './adaptive-plan.js';
import type { SessionDeps } from './session-deps.js';

/**
 * Adaptive A/B, inside the session's transaction (the session just inserted, not yet counted):
 * when it is the cell's last planned session and the paired cell is still inconclusive, plans
 * more sessions per side (`addPlannedSessions`). Returns how many per side (0: none).
 */
export async function planAdaptive(tx: Queryable, data: SessionJobData): Promise<number> {
  const cell = await getJob(tx, data.jobId);
  if (!cell || cell.sessionsDone + 1 < cell.sessionsPlanned) return 0;
  const artifacts = await getJobArtifacts(tx, data.jobId);
  if (!artifacts?.baseline) return 0;
  // Only the farm's own sessions on this device: external ones (from 100000 up) are not paired.
  const sessions = (await listSessionsForJob(tx, data.jobId)).filter((s) => s.sessionIndex < EXTERNAL_SESSION_INDEX_BASE);
  const step = await adaptiveStepForCell(tx, data, sessions);
  if (step.decided || step.addPerSide <= 0) return 0;
  const planned = await addPlannedSessions(tx, data.jobId, step.addPerSide * 2);
  return planned ? step.addPerSide : 0;
}

/**
 * Enqueues the adaptive sessions the cell plans but has neither stored nor queued, on this
 * device's queue. Job ids are `sessionJobId(...)`, so one already queued (or retrying) is not
 * added twice: safe to call again after a crash between the commit and the enqueue.
 */
export async function enqueuePlannedAdaptive(deps: SessionDeps, data: SessionJobData, log: Logger): Promise<void> {
  const cell = await getJob(deps.db, data.jobId);
  if (!cell || !['queued', 'running'].includes(cell.status)) return;
  const artifacts = await getJobArtifacts(deps.db, data.jobId);
  if (!artifacts?.baseline) return;
  const perSide = Math.floor(cell.sessionsPlanned / 2);
  const stored = new Set((await listSessionsForJob(deps.db, data.jobId)).map((s) => `${s.role}.${s.sessionIndex}`));
  const sessionJobs: SessionJob[] = [];
  // The first `config.sessions` per side are the api's; the worker enqueues only what it planned.
  for (let sessionIndex = data.config.sessions; sessionIndex < perSide; sessionIndex++) {
    for (const role of pairOrder(sessionIndex)) {
      if (stored.has(`${role}.${sessionIndex}`)) continue;
      const a = role === 'head' ? artifacts.head : artifacts.baseline;
      sessionJobs.push(sessionJob({
        ...data,
        role,
        sessionIndex,
        deviceId: deps.deviceId,
        artifact: { id: a.id, sha256: a.sha256, format: a.format as SessionJobData['artifact']['format'], sizeBytes: a.sizeBytes },
      }));
    }
  }
  if (!sessionJobs.length) return;
  await deps.deviceQueue.addBulk(sessionJobs);
  log.info({ sessionsPlanned: cell.sessionsPlanned, enqueued: sessionJobs.map((j) => j.opts.jobId) }, 'adaptive A/B: planned sessions enqueued');
}
