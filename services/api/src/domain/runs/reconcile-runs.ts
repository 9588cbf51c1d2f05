import type { Job } from 'bullmq';
import type { SessionJob, SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import { failJob, finishSettledRuns, getArtifactsByIds, listLiveJobs, type Pool } from '@pocketbench/db';
import type { Logger } from 'pino';
import type { SessionQueues } from '../../infra/session-queues.js';
import { cellQueueName, cellSessions } from './create-run.js';

export interface ReconcileResult {
  /** Live cells with at least one planned session neither stored nor in the queue: (re)enqueued. */
  cells: number;
  /** Session jobs (re)enqueued by their deterministic ids. */
  sessions: number;
  /** Cells failed because a session's queue job had used all its attempts (the worker could not say so). */
  failedCells: number;
  /** Active session jobs whose worker is gone (no lock) for longer than `staleLeaseMs`: put back in the queue. */
  releasedLeases: number;
  /** Runs whose cells were all final but whose row was not: finished. */
  finishedRuns: number;
}

export interface ReconcileOptions {
  db: Pool;
  queues: SessionQueues;
  logger?: Logger;
  /** Cells of runs younger than this are left to their submitter (createRun enqueues after its commit). @defaultValue 0 */
  minAgeMs?: number;
  /**
   * How long an active job may have no lock (its worker died and no consumer of its queue has
   * run BullMQ's stalled check) before the reconciler puts it back itself. @defaultValue 60000
   */
  staleLeaseMs?: number;
  /** When each lock-less active job was first seen (kept between passes by `startReconciler`). */
  lockless?: Map<string, number>;
}

/** A session job as BullMQ holds it. */
type QueuedSessionJob = Job<SessionJobData, SessionJobResult>;

/**
 * Postgres is the system of record, Redis a cache of work: every planned session of a live cell
 * that is neither stored, nor in its queue, nor leased by a live worker is enqueued again under
 * its deterministic `sessionJobId` (BullMQ keeps one job per id, the sessions table one row per
 * key, so a pass is idempotent and may run any time, on any number of api instances). It covers
 * cells never started (a crash between a run's commit and its enqueue), `running` cells with some
 * sessions stored (a Redis restart that lost the queue), and adaptive extras (counted in the
 * cell's `sessionsPlanned`). A session job that used all its attempts without its cell being
 * failed (the database was away when it gave up) fails the cell with the job's reason; a run whose
 * cells are all final but whose row is not is finished.
 */
export async function reconcileRuns(opts: ReconcileOptions): Promise<ReconcileResult> {
  const { db, queues, logger } = opts;
  const result: ReconcileResult = { cells: 0, sessions: 0, failedCells: 0, releasedLeases: 0, finishedRuns: 0 };
  const staleLeaseMs = opts.staleLeaseMs ?? 60_000;
  const lockless = opts.lockless ?? new Map<string, number>();
  const seenLockless = new Set<string>();

  const jobs = await listLiveJobs(db, opts.minAgeMs ?? 0);
  const ids = [...new Set(jobs.flatMap((j) => [j.artifactId, ...(j.baselineArtifactId ? [j.baselineArtifactId] : []), ...(j.referenceArtifactId ? [j.referenceArtifactId] : [])]))];
  const artifacts = ids.length ? new Map((await getArtifactsByIds(db, ids)).map((a) => [a.id, a])) : new Map();
  const byQueue = new Map<string, SessionJob[]>();
  for (const j of jobs) {
    const head = artifacts.get(j.artifactId);
    if (!head) continue;
    const baseline = j.baselineArtifactId ? artifacts.get(j.baselineArtifactId) : undefined;
    const perSide = Math.ceil(j.sessionsPlanned / (j.baselineArtifactId ? 2 : 1));
    const stored = new Set(j.storedKeys);
    const reference = j.referenceArtifactId ? artifacts.get(j.referenceArtifactId) : undefined;
    const missing = cellSessions(j.runId, { ...j, jobId: j.id }, head, baseline, j.config, perSide, reference).filter(
      (s) => !stored.has(`${s.data.role}.${s.data.sessionIndex}`),
    );
    if (missing.length === 0) continue;
    const queueName = cellQueueName(j, queues.prefix);
    const queue = queues.get(queueName);
    const toAdd: SessionJob[] = [];
    let failedReason: string | undefined;
    const client = queues.connection;
    const exists = (await client.pipeline(missing.map((s) => ['exists', queue.toKey(s.opts.jobId)])).exec()) ?? [];
    const present = missing.filter((_, i) => exists[i]?.[1] === 1);
    toAdd.push(...missing.filter((_, i) => exists[i]?.[1] !== 1));
    // One round trip for the state of every session job still in Redis.
    const states = present.length
      ? ((await client
          .pipeline(present.flatMap((s) => [
            ['zscore', queue.toKey('failed'), s.opts.jobId],
            ['zscore', queue.toKey('completed'), s.opts.jobId],
            ['exists', `${queue.toKey(s.opts.jobId)}:lock`],
            ['lpos', queue.toKey('active'), s.opts.jobId],
          ]))
          .exec()) ?? [])
      : [];
    for (const [i, s] of present.entries()) {
      const [failed, completed, lock, active] = states.slice(i * 4, i * 4 + 4).map((r) => r?.[1]);
      if (failed !== null && failed !== undefined) {
        const job = (await queue.getJob(s.opts.jobId)) as QueuedSessionJob | undefined;
        failedReason ??= job?.failedReason || 'the session job failed after its last attempt';
      } else if (completed !== null && completed !== undefined) {
        // Completed without a stored session (skipped while the cell looked finished, or a
        // result that never reached the database): run it again.
        await queue.remove(s.opts.jobId).catch(() => undefined);
        toAdd.push(s);
      } else if (active !== null && active !== undefined && lock !== 1) {
        const key = `${queueName}:${s.opts.jobId}`;
        seenLockless.add(key);
        const since = lockless.get(key) ?? Date.now();
        lockless.set(key, since);
        if (Date.now() - since < staleLeaseMs) continue;
        // Its worker is gone and no consumer of the queue has returned it: put it back.
        try {
          await queue.remove(s.opts.jobId);
          toAdd.push(s);
          result.releasedLeases++;
          lockless.delete(key);
        } catch (err) {
          logger?.warn({ err: (err as Error).message, queueJobId: s.opts.jobId }, 'could not release a lock-less active session job');
        }
      }
    }
    if (failedReason !== undefined) {
      // Its attempts are spent: end the cell with the reason rather than leave it running.
      const errorClass = /^([a-z_]+):/.exec(failedReason)?.[1] ?? 'attempts_exhausted';
      await failJob(db, j.id, errorClass, `a session used all its attempts: ${failedReason}`);
      result.failedCells++;
      logger?.warn({ runId: j.runId, jobId: j.id, reason: failedReason }, 'cell failed: a session job had used all its attempts');
      continue;
    }
    if (toAdd.length === 0) continue;
    byQueue.set(queueName, [...(byQueue.get(queueName) ?? []), ...toAdd]);
    result.cells++;
    result.sessions += toAdd.length;
  }
  for (const key of lockless.keys()) if (!seenLockless.has(key)) lockless.delete(key);
  if (byQueue.size) await queues.addBulk(byQueue);
  const finished = await finishSettledRuns(db);
  result.finishedRuns = finished.length;
  if (result.sessions || result.failedCells || result.finishedRuns || result.releasedLeases) {
    logger?.info({ ...result, finishedRunIds: finished }, 'reconciled planned sessions with the queue');
  }
  return result;
}

export interface Reconciler {
  /** Runs one pass now (tests, start-up: `minAgeMs` 0 takes every run); passes never overlap. */
  runOnce(minAgeMs?: number): Promise<ReconcileResult | undefined>;
  stop(): Promise<void>;
}

/**
 * Runs `reconcileRuns` every `intervalMs` (0: only when `runOnce` is called). A pass that fails
 * (Redis or Postgres away) is logged and tried again at the next tick, so a lost queue heals
 * within one interval of both being back.
 */
export function startReconciler(opts: Omit<ReconcileOptions, 'lockless'> & { intervalMs: number }): Reconciler {
  const lockless = new Map<string, number>();
  let running: Promise<ReconcileResult | undefined> | undefined;
  let stopped = false;
  let failing = false;
  const runOnce = (minAgeMs = opts.minAgeMs) => {
    running ??= reconcileRuns({ ...opts, minAgeMs, lockless })
      .then(
        (r) => {
          if (failing) opts.logger?.info('reconciler pass succeeded again');
          failing = false;
          return r;
        },
        (err: Error) => {
          if (!failing) opts.logger?.warn({ err: err.message }, 'reconciler pass failed; trying again at the next interval');
          failing = true;
          return undefined;
        },
      )
      .finally(() => (running = undefined));
    return running;
  };
  const timer = opts.intervalMs > 0 ? setInterval(() => {
    if (!stopped) void runOnce();
  }, opts.intervalMs) : undefined;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
