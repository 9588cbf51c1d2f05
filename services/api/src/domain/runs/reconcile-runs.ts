import { getArtifactsByIds, listUnstartedQueuedJobs, type Pool } from '@pocketbench/db';
import type { Logger } from 'pino';
import type { QueuedSession, SessionQueues } from '../../infra/session-queues.js';
import { cellQueueName, cellSessions } from './create-run.js';

export interface ReconcileResult {
  /** Cells still queued with no stored session whose sessions were (re)submitted. */
  cells: number;
  /** Session jobs submitted; BullMQ keeps the existing job for an id it already has. */
  sessions: number;
}

/**
 * Re-enqueues the sessions of every cell still `queued` with no session stored. createRun commits
 * the run before enqueueing, so a crash in between leaves cells no worker will ever see. The
 * job ids are the deterministic `sessionJobId`s and BullMQ ignores an id it already holds, so
 * this is idempotent: run it at every API start, or any time.
 */
export async function reconcileQueuedRuns(deps: { db: Pool; queues: SessionQueues; logger?: Logger }): Promise<ReconcileResult> {
  const jobs = await listUnstartedQueuedJobs(deps.db);
  if (jobs.length === 0) return { cells: 0, sessions: 0 };
  const ids = [...new Set(jobs.flatMap((j) => [j.artifactId, ...(j.baselineArtifactId ? [j.baselineArtifactId] : [])]))];
  const artifacts = new Map((await getArtifactsByIds(deps.db, ids)).map((a) => [a.id, a]));
  const byQueue = new Map<string, QueuedSession[]>();
  let sessions = 0;
  for (const j of jobs) {
    const queue = cellQueueName(j, deps.queues.prefix);
    const baseline = j.baselineArtifactId ? artifacts.get(j.baselineArtifactId) : undefined;
    const list = cellSessions(j.runId, { ...j, jobId: j.id }, artifacts.get(j.artifactId)!, baseline, j.config);
    byQueue.set(queue, [...(byQueue.get(queue) ?? []), ...list]);
    sessions += list.length;
  }
  await deps.queues.addBulk(byQueue);
  deps.logger?.info({ cells: jobs.length, sessions }, 'reconciled queued cells with no stored session');
  return { cells: jobs.length, sessions };
}
