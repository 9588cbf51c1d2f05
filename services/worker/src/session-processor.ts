import type { Job, Queue } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import {
  MODEL_FAULT_ERROR_CLASSES, runtimeForFormat, sessionJobId, type BenchInputSpec, type BenchReport, type SessionJobData, type SessionJobResult,
  validateBenchReport,
} from '@pocketbench/contracts';
import {
  addPlannedSessions, EXTERNAL_SESSION_INDEX_BASE, failJob, getJob, getJobArtifacts, getSessionByKey, insertSession, listSessionsForJob, markJobRunning,
  recordDeviceOutcome, recordSessionFinished, seriesInputSpec, withTransaction, type Pool, type Queryable,
} from '@pocketbench/db';
import { adaptiveNextStep, checkSessionHygiene, checkTemperatureCeiling, hygieneAction } from '@pocketbench/stats';
import type { ArtifactCache } from './artifact-cache.js';
import type { DeviceInfo, DeviceSession } from './devices/device-session.js';
import { InfrastructureError, ModelFaultError } from './errors.js';
import { inputsForArtifact } from './input-spec.js';
import { sessionJobOptions } from './job-options.js';

/** How long a failed job waits for a restarting Appium server before going back for its retry. */
const APPIUM_WAIT_MS = 30_000;

/** Faults that say nothing about the device's health (a crashing runner may be the model's doing). */
const NOT_THE_DEVICE = new Set(['harness_timeout', 'crash']);

export interface SessionProcessorDeps {
  pool: Pool;
  cache: ArtifactCache;
  deviceId: string;
  /** The device's reusable Appium session (opened on demand). */
  getSession(): Promise<DeviceSession>;
  /** Closes and forgets the session after an infrastructure fault, so the retry opens a fresh one. */
  dropSession(): Promise<void>;
  /** Device facts for the series key (device model, OS version). */
  deviceInfo(): Promise<DeviceInfo>;
  /** Queue of this device, for the extra sessions of an adaptive A/B cell. */
  deviceQueue: Queue<SessionJobData, SessionJobResult>;
  logger: Logger;
  cvCap: number;
  driftCap: number;
  quarantineAfter: number;
  /** Hottest thermal zone (°C) above which the session first waits for the device to cool. @defaultValue 45 */
  tempCeilingC?: number;
  /** @defaultValue 10000 */
  cooldownPollMs?: number;
  /** Longest cooldown; a device still hot after it runs the session anyway, stored `unstable`. @defaultValue 300000 */
  cooldownMaxMs?: number;
  /** True once the worker is shutting down: a fault then is the shutdown's, not the job's. */
  shuttingDown?(): boolean;
  /** Called when the device's state changes because of an outcome (quarantine). */
  onQuarantined?(reason: string): void;
  /**
   * Waits (up to `ms`) for this host's Appium server to answer; false when it did not. A fault
   * while Appium itself is down is the host's, not the device's: it does not count towards
   * quarantine, and the retry is released only once Appium is back.
   */
  waitForAppium?(ms: number): Promise<boolean>;
  /** Called just before the harness starts (scheduling overhead measurements). */
  onHarnessStart?(job: Job<SessionJobData, SessionJobResult>): void;
}

/** Validates a report against the contracts' BenchReport schema (the device layer did too; this is the processor's own guard). */
function checkReport(report: unknown): { ok: true; value: BenchReport } | { ok: false; message: string } {
  const r = validateBenchReport(report);
  return r.ok ? { ok: true, value: r.value } : { ok: false, message: r.errors.join('; ').slice(0, 1000) };
}

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Session hygiene: a device above its temperature ceiling waits (cooldown) before the session.
 * Returns why the session must not count (still too hot after the longest cooldown), or undefined.
 * A device without thermal zones (most VMs) is never held.
 */
async function coolDown(deps: SessionProcessorDeps, session: DeviceSession, log: Logger): Promise<string | undefined> {
  const ceilingC = deps.tempCeilingC ?? 45;
  const pollMs = deps.cooldownPollMs ?? 10_000;
  const maxMs = deps.cooldownMaxMs ?? 300_000;
  const started = Date.now();
  let check = checkTemperatureCeiling((await session.state()).thermalZones, ceilingC);
  if (!check.overCeiling) return undefined;
  log.info({ maxC: check.maxC, ceilingC, maxWaitMs: maxMs }, 'device above its temperature ceiling; cooling down before the session');
  while (check.overCeiling && Date.now() - started < maxMs) {
    if (deps.shuttingDown?.()) break;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, maxMs - (Date.now() - started)))));
    check = checkTemperatureCeiling((await session.state()).thermalZones, ceilingC);
  }
  const waitedMs = Date.now() - started;
  if (!check.overCeiling) {
    log.info({ maxC: check.maxC, ceilingC, waitedMs }, 'device cooled down');
    return undefined;
  }
  const reason = `too hot: ${check.maxC} °C is above the ${ceilingC} °C ceiling after ${Math.round(waitedMs / 1000)} s of cooldown`;
  log.warn({ maxC: check.maxC, ceilingC, waitedMs }, 'device still too hot after the longest cooldown; running the session, marked unstable');
  return reason;
}

/** One more consecutive failure on the device; quarantine pauses its consumers. */
async function countDeviceFailure(deps: SessionProcessorDeps, message: string): Promise<void> {
  const outcome = await recordDeviceOutcome(deps.pool, deps.deviceId, false, deps.quarantineAfter, message).catch(() => undefined);
  if (outcome?.state === 'quarantined') deps.onQuarantined?.(message);
}

/** The BullMQ processor of one device: one session job → one stored session. */
export function createSessionProcessor(deps: SessionProcessorDeps) {
  const inputsBySha = new Map<string, BenchInputSpec[]>();

  return async function processSession(job: Job<SessionJobData, SessionJobResult>): Promise<SessionJobResult> {
    const data = job.data;
    const log = deps.logger.child({ runId: data.runId, jobId: data.jobId, queueJobId: job.id, deviceId: deps.deviceId });

    const existing = await getSessionByKey(deps.pool, data.jobId, data.role, data.sessionIndex);
    if (existing) {
      log.info({ sessionId: existing.id }, 'session already stored; duplicate delivery ignored');
      // The first delivery may have died between its commit and enqueueing the adaptive extras.
      if (data.config.adaptive) await enqueuePlannedAdaptive(deps, data, log);
      return { sessionId: String(existing.id), status: 'duplicate' };
    }
    if (!(await markJobRunning(deps.pool, data.jobId))) {
      log.info('cell is no longer runnable (failed, cancelled or finished); session dropped');
      return { sessionId: '', status: 'skipped' };
    }

    let report: BenchReport;
    let hygieneReasons: string[] = [];
    let unstable = false;
    let tooHot: string | undefined;
    try {
      const artifact = await deps.cache.ensure(data.artifact.sha256);
      const inputsKey = `${data.artifact.sha256}:${JSON.stringify(data.config.inputs ?? null)}`;
      let inputs = inputsBySha.get(inputsKey);
      if (!inputs) {
        try {
          inputs = await inputsForArtifact(artifact.path, data.artifact.format, data.config.inputs);
        } catch (err) {
          // An unreadable graph, or an input the harness cannot generate, is the model's fault:
          // no invented inputs, no retry.
          throw new ModelFaultError('bad_spec', `cannot read the model's inputs: ${(err as Error).message}`);
        }
        // Keyed by the run's inputs too: two runs of one artifact may give different ones.
        inputsBySha.set(inputsKey, inputs);
      }
      const runtime = runtimeForFormat(data.artifact.format);
      const spec = {
        specVersion: 1,
        artifact: { path: artifact.path, sha256: data.artifact.sha256, format: data.artifact.format },
        runtime,
        backend: data.backend,
        threads: data.config.threads,
        warmup: data.config.warmup,
        iterations: data.config.iterations,
        minDurationMs: data.config.minDurationMs,
        seed: 0,
        inputs,
        output: { topK: 5, digest: true },
        timeBudgetSec: data.config.timeoutSec,
        labels: { runId: data.runId, jobId: data.jobId, role: data.role, sessionIndex: String(data.sessionIndex) },
      };
      tooHot = await coolDown(deps, await deps.getSession(), log);
      for (let attempt = 1; ; attempt++) {
        const session = await deps.getSession();
        deps.onHarnessStart?.(job);
        log.info({ attempt, attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted, backend: data.backend, iterations: data.config.iterations }, 'harness start');
        const raw = await session.runHarness({ spec, artifactPath: artifact.path, artifactSha256: data.artifact.sha256 });
        const checked = checkReport(raw);
        if (!checked.ok) throw new InfrastructureError(`the device returned an invalid report: ${checked.message}`);
        report = checked.value;
        if (report.status !== 'ok') break;
        const hygiene = checkSessionHygiene(report.timing?.iterationsUs ?? [], { cvCap: deps.cvCap, driftCap: deps.driftCap });
        const action = hygieneAction(hygiene, attempt);
        if (action === 'keep') break;
        hygieneReasons = hygiene.reasons;
        if (action === 'unstable') {
          unstable = true;
          break;
        }
        log.warn({ reasons: hygiene.reasons }, 'session failed hygiene; running it once more');
      }
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const errorClass = (err as InfrastructureError).errorClass ?? 'infrastructure';
      if (err instanceof ModelFaultError) {
        log.warn({ errorClass, err: message }, 'model fault before the run; the cell fails');
        await failJob(deps.pool, data.jobId, errorClass, message);
        throw new UnrecoverableError(`${errorClass}: ${message}`);
      }
      if (deps.shuttingDown?.()) {
        log.warn({ err: message }, 'session interrupted by the shutdown; the job goes back to the queue');
        throw err;
      }
      log.warn({ err: message, attempt: job.attemptsMade + 1, of: job.opts.attempts ?? 1 }, 'infrastructure fault');
      await deps.dropSession().catch(() => undefined);
      const appiumUp = deps.waitForAppium ? await deps.waitForAppium(0) : true;
      if (!appiumUp) {
        log.warn('the Appium server is down; waiting for it before the retry');
        await deps.waitForAppium!(APPIUM_WAIT_MS);
      } else if (!NOT_THE_DEVICE.has(errorClass)) {
        // A harness killed by the backstop is the model's slowness as often as the device's fault.
        await countDeviceFailure(deps, message);
      }
      if (isLastAttempt(job)) await failJob(deps.pool, data.jobId, errorClass, message);
      throw err;
    }

    const r = report!;
    const modelFault = r.status === 'error' && r.error && MODEL_FAULT_ERROR_CLASSES.has(r.error.class);
    if (r.status === 'error' && !modelFault) {
      const message = r.error?.message ?? 'the harness reported an error';
      await deps.dropSession().catch(() => undefined);
      if (!NOT_THE_DEVICE.has(r.error?.class ?? '')) await countDeviceFailure(deps, message);
      log.warn({ errorClass: r.error?.class, err: message }, 'harness error (retried)');
      if (isLastAttempt(job)) await failJob(deps.pool, data.jobId, r.error?.class ?? 'internal', message);
      throw new InfrastructureError(`harness ${r.error?.class ?? 'error'}: ${message}`);
    }
    await recordDeviceOutcome(deps.pool, deps.deviceId, true).catch(() => undefined);

    if (tooHot && r.status === 'ok') {
      // Never let a session run on a hot device into a baseline or verdict.
      unstable = true;
      hygieneReasons = [...hygieneReasons, tooHot];
    }
    const info = await deps.deviceInfo().catch((err: Error) => {
      // The session is kept, but without device facts it cannot join its series.
      log.warn({ err: err.message }, 'could not read the device info; session stored without a series');
      return undefined;
    });
    const status = r.status === 'ok' ? (unstable ? 'unstable' : 'ok') : r.status;
    const stored = await withTransaction(deps.pool, async (tx) => {
      const s = await insertSession(tx, {
        jobId: data.jobId,
        runId: data.runId,
        role: data.role,
        sessionIndex: data.sessionIndex,
        attempt: job.attemptsMade + 1,
        artifactId: data.artifact.id,
        deviceId: deps.deviceId,
        status,
        errorClass: r.error?.class ?? (unstable ? 'unstable' : null),
        errorMessage: r.error?.message ?? (unstable ? hygieneReasons.join('; ') : r.backend.reason ?? null),
        backendRequested: r.backend.requested ?? data.backend,
        backendUsed: r.backend.used,
        runtime: r.runtime.name,
        runtimeVersion: r.runtime.version,
        harnessVersion: r.harness.version,
        deviceArch: r.host?.arch,
        iterationsUs: r.timing?.iterationsUs ?? [],
        loadMs: r.timing?.modelLoadMs,
        firstInferenceMs: r.timing?.firstInferenceMs,
        peakRssBytes: r.memory?.peakRssBytes,
        peakRssMethod: r.memory?.method,
        modelSizeBytes: r.model?.sizeBytes ?? data.artifact.sizeBytes,
        deviceStateBefore: r.device?.before,
        deviceStateAfter: r.device?.after,
        report: r,
        series: r.status === 'ok' && info ? {
          deviceModel: info.deviceModel,
          osVersion: info.osVersion,
          inputSpec: seriesInputSpec(r.spec),
        } : undefined,
      });
      if (!s.inserted) return { ...s, jobDone: false, runDone: false, addedPerSide: 0 };
      if (modelFault) {
        const f = await failJob(tx, data.jobId, r.error!.class, r.error!.message);
        return { ...s, jobDone: true, runDone: f.runDone, addedPerSide: 0 };
      }
      // Adaptive A/B decides before the session is counted, in this transaction: the cell (and
      // run) never reads finished while more sessions are coming.
      const addedPerSide = data.config.adaptive ? await planAdaptive(tx, data) : 0;
      return { ...s, ...(await recordSessionFinished(tx, data.jobId)), addedPerSide };
    });
    log.info({ sessionId: stored.id, status, inserted: stored.inserted, jobDone: stored.jobDone, runDone: stored.runDone, addedPerSide: stored.addedPerSide }, 'session stored');

    if (modelFault) {
      // Kept on the BullMQ job too: the harness's own message, no retries.
      throw new UnrecoverableError(`${r.error!.class}: ${r.error!.message}`);
    }
    // After the commit; deterministic ids make this idempotent, and a failure here is retried
    // through the duplicate path above.
    if (data.config.adaptive && (stored.addedPerSide > 0 || !stored.inserted)) await enqueuePlannedAdaptive(deps, data, log);
    return { sessionId: String(stored.id), status };
  };
}

/**
 * Adaptive A/B, inside the session's transaction (the session just inserted, not yet counted):
 * when it is the cell's last planned session and the paired cell is still inconclusive, plans
 * more sessions per side (`addPlannedSessions`). Returns how many per side (0: none).
 */
async function planAdaptive(tx: Queryable, data: SessionJobData): Promise<number> {
  const job = await getJob(tx, data.jobId);
  if (!job || job.sessionsDone + 1 < job.sessionsPlanned) return 0;
  const artifacts = await getJobArtifacts(tx, data.jobId);
  if (!artifacts?.baseline) return 0;
  // Only the farm's own sessions on this device: external ones (from 100000 up) are not paired.
  const sessions = (await listSessionsForJob(tx, data.jobId)).filter((s) => s.sessionIndex < EXTERNAL_SESSION_INDEX_BASE);
  const ok = sessions.filter((s) => s.status === 'ok');
  const head = ok.filter((s) => s.role === 'head').map((s) => s.iterationsUs);
  const baseline = ok.filter((s) => s.role === 'baseline').map((s) => s.iterationsUs);
  // Every stored session counts towards the cap, unstable ones too: a device that only
  // produces unstable sessions must not schedule forever.
  const scheduledPerSide = Math.max(...(['head', 'baseline'] as const).map((role) => sessions.filter((s) => s.role === role).length));
  const step = adaptiveNextStep(head, baseline, { cap: data.config.maxSessions, scheduledPerSide });
  if (step.decided || step.addPerSide <= 0) return 0;
  const planned = await addPlannedSessions(tx, data.jobId, step.addPerSide * 2);
  return planned ? step.addPerSide : 0;
}

/**
 * Enqueues the adaptive sessions the cell plans but has neither stored nor queued, on this
 * device's queue. Job ids are `sessionJobId(...)`, so one already queued (or retrying) is not
 * added twice: safe to call again after a crash between the commit and the enqueue.
 */
async function enqueuePlannedAdaptive(deps: SessionProcessorDeps, data: SessionJobData, log: Logger): Promise<void> {
  const job = await getJob(deps.pool, data.jobId);
  if (!job || !['queued', 'running'].includes(job.status)) return;
  const artifacts = await getJobArtifacts(deps.pool, data.jobId);
  if (!artifacts?.baseline) return;
  const perSide = Math.floor(job.sessionsPlanned / 2);
  const stored = new Set((await listSessionsForJob(deps.pool, data.jobId)).map((s) => `${s.role}.${s.sessionIndex}`));
  const jobs = [];
  // The first `config.sessions` per side are the api's; the worker enqueues only what it planned.
  for (let sessionIndex = data.config.sessions; sessionIndex < perSide; sessionIndex++) {
    for (const role of ['head', 'baseline'] as const) {
      if (stored.has(`${role}.${sessionIndex}`)) continue;
      const a = role === 'head' ? artifacts.head : artifacts.baseline;
      jobs.push({
        name: 'session',
        data: {
          ...data,
          role,
          sessionIndex,
          deviceId: deps.deviceId,
          artifact: { id: a.id, sha256: a.sha256, format: a.format as SessionJobData['artifact']['format'], sizeBytes: a.sizeBytes },
        },
        opts: sessionJobOptions(sessionJobId(data.runId, data.cellIndex, role, sessionIndex)),
      });
    }
  }
  if (!jobs.length) return;
  await deps.deviceQueue.addBulk(jobs);
  log.info({ sessionsPlanned: job.sessionsPlanned, enqueued: jobs.map((j) => j.opts.jobId) }, 'adaptive A/B: planned sessions enqueued');
}
