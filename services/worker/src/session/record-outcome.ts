import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import type { SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import { failJob, insertSession, lockRunnableJob, recordDeviceOutcome, recordSessionFinished, withTransaction } from '@pocketbench/db';
import { sessionFromReport } from '@pocketbench/stats';
import { InfrastructureError } from '../errors.js';
import { storeHeld, StoreFailedError, type SpoolEntry } from '../report-spool.js';
import { enqueuePlannedAdaptive, planAdaptive } from './adaptive.js';
import type { SessionOutcome } from './classify-outcome.js';
import type { HeldSession, SessionDeps } from './session-deps.js';

/** How long a failed job waits for a restarting Appium server before going back for its retry. */
const APPIUM_WAIT_MS = 30_000;

function isLastAttempt(sessionJob: Job): boolean {
  return sessionJob.attemptsMade + 1 >= (sessionJob.opts.attempts ?? 1);
}

/** The circumstances classifyOutcome needs, read from the job and the host. */
export async function outcomeContext(deps: SessionDeps, sessionJob: Job, probeAppium: boolean) {
  const shuttingDown = deps.shuttingDown?.() ?? false;
  return {
    lastAttempt: isLastAttempt(sessionJob),
    shuttingDown,
    appiumUp: probeAppium && !shuttingDown && deps.waitForAppium ? await deps.waitForAppium(0) : true,
    cancelled: deps.cancelled?.() ?? false,
  };
}

/**
 * The session row, the cell's progress and the adaptive plan, in one transaction; a cell that
 * was cancelled or ended meanwhile takes no late result. Idempotent: the sessions table's unique
 * key makes a second store (a held report stored after a redelivery ran it again) a no-op.
 */
export async function storeSession(deps: SessionDeps, held: HeldSession, log: Logger) {
  const { data, session, modelFault } = held;
  const stored = await withTransaction(deps.db, async (tx) => {
    if (!(await lockRunnableJob(tx, data.jobId))) return { id: 0, inserted: false, dropped: true, jobDone: false, runDone: false, addedPerSide: 0 };
    const s = await insertSession(tx, session);
    if (!s.inserted) return { ...s, dropped: false, jobDone: false, runDone: false, addedPerSide: 0 };
    if (modelFault) {
      const f = await failJob(tx, data.jobId, modelFault.errorClass, modelFault.message);
      return { ...s, dropped: false, jobDone: true, runDone: f.runDone, addedPerSide: 0 };
    }
    // Adaptive A/B decides before the session is counted, in this transaction: the cell (and
    // run) never reads finished while more sessions are coming.
    const addedPerSide = data.config.adaptive ? await planAdaptive(tx, data) : 0;
    return { ...s, dropped: false, ...(await recordSessionFinished(tx, data.jobId)), addedPerSide };
  });
  if (stored.dropped) log.info('the cell was cancelled or ended before the session was stored; result dropped');
  else log.info(
    { sessionId: stored.id, status: session.status, inserted: stored.inserted, jobDone: stored.jobDone, runDone: stored.runDone, addedPerSide: stored.addedPerSide },
    'session stored',
  );
  if (stored.runDone) await deps.publishRunFinished?.(data.runId);
  // After the commit; deterministic ids make this idempotent, and a failure here is retried
  // through the duplicate path in prepareSession.
  if (!stored.dropped && data.config.adaptive && !modelFault && (stored.addedPerSide > 0 || !stored.inserted)) await enqueuePlannedAdaptive(deps, data, log);
  return stored;
}

/**
 * Stores a held session through the spool (waiting out an outage), or fails its cell when the
 * store keeps failing for another reason past `storeGiveUpMs`: no cell stays `running` on a result
 * that can never be stored.
 */
export async function storeHeldSession(deps: SessionDeps, entry: SpoolEntry<HeldSession>, log: Logger) {
  try {
    return await storeHeld(deps.spool!, entry, (held) => storeSession(deps, held, log), {
      logger: log,
      giveUpMs: deps.storeGiveUpMs,
      abandoned: () => deps.shuttingDown?.() ?? false,
    });
  } catch (err) {
    if (!(err instanceof StoreFailedError)) throw err;
    log.error({ err: err.message }, 'the session could not be stored; the cell fails');
    const { runDone } = await failJob(deps.db, entry.payload.data.jobId, 'infrastructure', err.message);
    if (runDone) await deps.publishRunFinished?.(entry.payload.data.runId);
    await deps.spool!.release(entry.key);
    throw new UnrecoverableError(`infrastructure: ${err.message}`);
  }
}

/** One more consecutive failure on the device; quarantine pauses its consumers. */
async function countDeviceFailure(deps: SessionDeps, message: string): Promise<void> {
  const outcome = await recordDeviceOutcome(deps.db, deps.deviceId, false, deps.policy.quarantineAfter, message).catch(() => undefined);
  if (outcome?.state === 'quarantined') deps.onQuarantined?.(message);
}

/**
 * Step 4: carries out the outcome. A stored session (with the cell's progress and the adaptive
 * plan, in one transaction) returns the job's result; every other outcome throws what BullMQ
 * needs (`UnrecoverableError` for no retry). `raised` is the fault the run threw, if it did.
 */
export async function recordOutcome(
  deps: SessionDeps,
  sessionJob: Job<SessionJobData, SessionJobResult>,
  outcome: SessionOutcome,
  log: Logger,
  raised?: unknown,
): Promise<SessionJobResult> {
  const data = sessionJob.data;
  if (outcome.action === 'fail-cell') {
    log.warn({ errorClass: outcome.errorClass, err: outcome.message }, 'model fault before the run; the cell fails');
    const { runDone } = await failJob(deps.db, data.jobId, outcome.errorClass, outcome.message);
    if (runDone) await deps.publishRunFinished?.(data.runId);
    throw new UnrecoverableError(`${outcome.errorClass}: ${outcome.message}`);
  }
  if (outcome.action === 'drop') {
    log.info({ err: outcome.message }, 'the cell was cancelled while its session ran; nothing stored');
    return { sessionId: '', status: 'cancelled' };
  }
  if (outcome.action === 'requeue') {
    log.warn({ err: outcome.message }, 'session interrupted by the shutdown; the job goes back to the queue');
    throw raised;
  }
  if (outcome.action === 'retry') {
    if (outcome.reported) log.warn({ errorClass: outcome.errorClass, err: outcome.message }, 'harness error (retried)');
    else log.warn({ err: outcome.message, attempt: sessionJob.attemptsMade + 1, of: sessionJob.opts.attempts ?? 1 }, 'infrastructure fault');
    await deps.dropSession().catch(() => undefined);
    if (outcome.waitForAppium) {
      log.warn('the Appium server is down; waiting for it before the retry');
      await deps.waitForAppium?.(APPIUM_WAIT_MS);
    } else if (outcome.blameDevice) {
      await countDeviceFailure(deps, outcome.message);
    }
    if (outcome.failCell && (await failJob(deps.db, data.jobId, outcome.errorClass, outcome.message)).runDone) {
      await deps.publishRunFinished?.(data.runId);
    }
    throw outcome.reported ? new InfrastructureError(`harness ${outcome.errorClass}: ${outcome.message}`) : raised;
  }

  const { report, unstableReasons, modelFault } = outcome;
  await recordDeviceOutcome(deps.db, deps.deviceId, true).catch(() => undefined);
  const info = await deps.deviceInfo().catch((err: Error) => {
    // The session is kept, but without device facts it cannot join its series.
    log.warn({ err: err.message }, 'could not read the device info; session stored without a series');
    return undefined;
  });
  const session = sessionFromReport(report, {
    jobId: data.jobId,
    runId: data.runId,
    role: data.role,
    sessionIndex: data.sessionIndex,
    attempt: sessionJob.attemptsMade + 1,
    artifactId: data.artifact.id,
    deviceId: deps.deviceId,
    artifactSizeBytes: data.artifact.sizeBytes,
    seriesDevice: report.status === 'ok' && info ? { deviceModel: info.deviceModel, osVersion: info.osVersion } : undefined,
    unstableReasons,
  });
  const held: HeldSession = { data, session, modelFault };
  const stored = deps.spool
    ? await storeHeldSession(deps, await deps.spool.hold({ jobId: data.jobId, role: data.role, sessionIndex: data.sessionIndex }, held), log)
    : await storeSession(deps, held, log);
  if (stored.dropped) return { sessionId: '', status: 'cancelled' };
  // Kept on the BullMQ job too: the harness's own message, no retries.
  if (modelFault) throw new UnrecoverableError(`${modelFault.errorClass}: ${modelFault.message}`);
  return { sessionId: String(stored.id), status: session.status };
}
