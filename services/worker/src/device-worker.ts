import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { queueNameForDevice, queueNameForPool, type SessionJobData, type SessionJobResult } from '@pocketbench/contracts';
import { getJob, heartbeat, isDatabaseUnavailable, markDeviceOffline, upsertDevice, type DeviceRow, type Pool } from '@pocketbench/db';
import type { ArtifactCache } from './artifact-cache.js';
import type { ReferenceOutputs } from './session/reference-outputs.js';
import type { DeviceConfig, DeviceInfo, DeviceSession } from './devices/device-session.js';
import type { SessionPolicy } from './config.js';
import type { ReportSpool } from './report-spool.js';
import { storeHeldSession } from './session/record-outcome.js';
import type { HeldSession, SessionDeps } from './session/session-deps.js';
import { createSessionProcessor } from './session-processor.js';

export interface DeviceWorkerOptions {
  device: DeviceConfig;
  db: Pool;
  cache: ArtifactCache;
  connection: ConnectionOptions;
  /** Queue name prefix shared with the api. */
  queuePrefix: string;
  /** BullMQ key prefix in Redis. @defaultValue 'bull' */
  bullPrefix?: string;
  hostName: string;
  openSession(): Promise<DeviceSession>;
  logger: Logger;
  heartbeatMs: number;
  heartbeatTtlMs: number;
  /** How sessions are run and judged (loadConfig's `session`). */
  policy: SessionPolicy;
  /** Computes fidelity reference outputs on this host (shared by the host's devices). */
  referenceOutputs?: ReferenceOutputs;
  shutdownGraceMs: number;
  /** BullMQ lock of the job in hand; the stalled-job check runs every half of it. @defaultValue 30000 */
  jobLockMs?: number;
  onHarnessStart?(sessionJob: Job<SessionJobData, SessionJobResult>): void;
  /** See SessionDeps.publishRunFinished. */
  publishRunFinished?(runId: string): Promise<void>;
  /** See SessionDeps.waitForAppium. */
  waitForAppium?(ms: number): Promise<boolean>;
  /** Finished reports waiting for the database, shared by the host's devices (see SessionDeps.spool). */
  spool?: ReportSpool<HeldSession>;
  /** See SessionDeps.storeGiveUpMs. */
  storeGiveUpMs?: number;
}

/** How long a job handed back by a paused device waits before another consumer may take it. */
const HAND_BACK_DELAY_MS = 250;
/** How long a job that found the database away waits before it is tried again (no attempt used). */
const DATABASE_WAIT_MS = 5000;

/**
 * One device: one BullMQ consumer on its pool queue and one on its own queue, never more than
 * one session at a time between them; heartbeats; its reusable Appium session.
 */
export class DeviceWorker {
  readonly id: string;
  private session?: DeviceSession;
  private opening?: Promise<DeviceSession>;
  private info?: DeviceInfo;
  private workers: Worker<SessionJobData, SessionJobResult>[] = [];
  private deviceQueue?: Queue<SessionJobData, SessionJobResult>;
  private timer?: NodeJS.Timeout;
  private currentJobId: string | null = null;
  /** The job in hand and its lock token, to hand it back at shutdown; `cancelled` once its cell was. */
  private active?: { sessionJob: Job<SessionJobData, SessionJobResult>; token?: string; cancelled: boolean };
  /** Serialises the two consumers: the device runs one session at a time. */
  private lock: Promise<void> = Promise.resolve();
  private quarantined = false;
  /** Set while this host cannot record heartbeats for longer than the TTL: it counts as offline. */
  private selfOffline = false;
  private lastBeatOk = Date.now();
  private closing?: Promise<void>;
  private readonly log: Logger;

  constructor(private readonly opts: DeviceWorkerOptions) {
    this.id = opts.device.id;
    this.log = opts.logger.child({ deviceId: this.id, pool: opts.device.pool });
  }

  get queueNames(): string[] {
    return [queueNameForPool(this.opts.device.pool, this.opts.queuePrefix), queueNameForDevice(this.id, this.opts.queuePrefix)];
  }

  get isPaused(): boolean {
    return this.quarantined || this.selfOffline;
  }

  private pauseConsumers(): void {
    for (const w of this.workers) void w.pause(true).catch(() => undefined);
  }

  private resumeConsumers(): void {
    for (const w of this.workers) {
      if (!w.isRunning()) void w.run().catch((e) => this.log.error({ err: (e as Error).message }, 'consumer stopped'));
      w.resume();
    }
  }

  private async getSession(): Promise<DeviceSession> {
    if (this.session) return this.session;
    this.opening ??= this.opts.openSession().then(
      (s) => {
        this.session = s;
        this.opening = undefined;
        return s;
      },
      (err) => {
        this.opening = undefined;
        throw err;
      },
    );
    return this.opening;
  }

  private async dropSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.close();
  }

  private async deviceInfo(): Promise<DeviceInfo> {
    this.info ??= await (await this.getSession()).info();
    return this.info;
  }

  /** Reads the device's facts through Appium (afresh) and registers the device: at start, and when its row went missing. */
  private async register(): Promise<DeviceRow> {
    this.info = undefined;
    const info = await this.deviceInfo();
    const d = this.opts.device;
    return upsertDevice(this.opts.db, {
      id: d.id, name: d.name, platform: d.platform, arch: info.arch, os: info.os, osVersion: info.osVersion,
      deviceModel: info.deviceModel, pool: d.pool, host: this.opts.hostName, emulated: d.emulated, backends: info.backends,
      heartbeatTtlMs: this.opts.heartbeatTtlMs, info: { ...info },
      soc: typeof info.soc === 'string' ? info.soc : null, abi: typeof info.abi === 'string' ? info.abi : null,
      project: d.project ?? null,
    });
  }

  /** Registers the device, then starts consuming and heart-beating. */
  async start(): Promise<void> {
    const row = await this.register();
    const info = this.info!;
    this.quarantined = row.state === 'quarantined';
    const prefix = this.opts.bullPrefix;
    this.deviceQueue = new Queue(queueNameForDevice(this.id, this.opts.queuePrefix), { connection: this.opts.connection, prefix });
    const deps: SessionDeps = {
      db: this.opts.db,
      cache: this.opts.cache,
      deviceId: this.id,
      getSession: () => this.getSession(),
      dropSession: () => this.dropSession(),
      deviceInfo: () => this.deviceInfo(),
      deviceQueue: this.deviceQueue,
      logger: this.log,
      policy: this.opts.policy,
      onQuarantined: (reason) => this.pauseForQuarantine(reason),
      shuttingDown: () => this.closing !== undefined,
      cancelled: () => this.active?.cancelled === true,
      spool: this.opts.spool,
      storeGiveUpMs: this.opts.storeGiveUpMs,
      onHarnessStart: this.opts.onHarnessStart,
      waitForAppium: this.opts.waitForAppium,
      referenceOutputs: this.opts.referenceOutputs,
      publishRunFinished: this.opts.publishRunFinished,
    };
    const processor = createSessionProcessor(deps);
    void this.storeHeldReports(deps);
    const run = async (sessionJob: Job<SessionJobData, SessionJobResult>, token?: string) => {
      // A consumer can hold a job it fetched just as the device was paused: hand it back.
      if ((this.isPaused || this.closing) && token) {
        await sessionJob.moveToDelayed(Date.now() + HAND_BACK_DELAY_MS, token);
        throw new DelayedError();
      }
      return this.exclusive(sessionJob, async () => {
        this.active = { sessionJob, token, cancelled: false };
        try {
          return await processor(sessionJob);
        } catch (err) {
          // The database was away before the session ran: wait for it without using an attempt.
          if (token && isDatabaseUnavailable(err) && !this.closing) {
            this.log.warn({ queueJobId: sessionJob.id, err: (err as Error).message }, 'database unavailable; the job waits and is tried again');
            await sessionJob.moveToDelayed(Date.now() + DATABASE_WAIT_MS, token);
            throw new DelayedError();
          }
          throw err;
        } finally {
          this.active = undefined;
        }
      });
    };
    for (const name of this.queueNames) {
      const w = new Worker<SessionJobData, SessionJobResult>(name, run, {
        connection: this.opts.connection,
        prefix,
        concurrency: 1,
        autorun: !this.quarantined,
        // A worker that dies mid-job: its job becomes stalled and goes back to the queue.
        lockDuration: this.opts.jobLockMs ?? 30_000,
        stalledInterval: Math.round((this.opts.jobLockMs ?? 30_000) / 2),
        maxStalledCount: 2,
      });
      w.on('error', (err) => this.log.error({ err: err.message, queue: name }, 'queue consumer error'));
      w.on('failed', (sessionJob, err) => this.log.warn({ queueJobId: sessionJob?.id, err: err.message, attemptsMade: sessionJob?.attemptsMade }, 'session job failed'));
      this.workers.push(w);
    }
    if (this.quarantined) this.log.warn({ reason: row.stateReason }, 'device is quarantined; not consuming until released');
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatMs);
    this.timer.unref();
    this.log.info({ queues: this.queueNames, arch: info.arch, backends: info.backends }, 'device consuming');
  }

  /**
   * Reports of this device's sessions that a previous run of the worker finished but could not
   * store (the database was away, the worker was stopped or killed): stored now, in the
   * background, waiting out an outage that still lasts. A redelivered job finds them too.
   */
  private async storeHeldReports(deps: SessionDeps): Promise<void> {
    for (const entry of deps.spool?.list() ?? []) {
      if (entry.payload.session.deviceId !== this.id || this.closing) continue;
      const log = this.log.child({ runId: entry.payload.data.runId, jobId: entry.key.jobId });
      await storeHeldSession(deps, entry, log).catch((err: Error) => log.warn({ err: err.message }, 'a held report was not stored'));
    }
  }

  private async exclusive<T>(sessionJob: Job<SessionJobData, SessionJobResult>, fn: () => Promise<T>): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise((r) => (release = r));
    await prev;
    this.currentJobId = sessionJob.id ?? null;
    void this.beat();
    try {
      return await fn();
    } finally {
      this.currentJobId = null;
      release();
      void this.beat();
    }
  }

  private pauseForQuarantine(reason: string): void {
    if (this.quarantined) return;
    this.quarantined = true;
    this.log.warn({ reason }, 'device quarantined; consumers paused');
    this.pauseConsumers();
  }

  /** One heartbeat; learns of quarantine (pause) or release (resume) from the stored state. */
  async beat(): Promise<void> {
    if (this.closing) return;
    try {
      const state = await heartbeat(this.opts.db, this.id, {
        state: this.currentJobId ? 'busy' : 'online',
        currentJobId: this.currentJobId,
      });
      if (!state) {
        this.log.warn('device row missing; registering again');
        await this.register();
        return;
      }
      this.lastBeatOk = Date.now();
      await this.stopIfCancelled();
      if (this.selfOffline) {
        this.selfOffline = false;
        this.log.info('heartbeats recorded again; consuming again');
        if (!this.quarantined) this.resumeConsumers();
      }
      if (state.state === 'quarantined') this.pauseForQuarantine(state.stateReason ?? 'quarantined');
      else if (this.quarantined) {
        this.quarantined = false;
        this.log.info('device released; consuming again');
        this.resumeConsumers();
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'heartbeat failed');
      // Silent past the TTL means the fleet sees this device offline: take no new jobs either.
      if (!this.selfOffline && Date.now() - this.lastBeatOk > this.opts.heartbeatTtlMs) {
        this.selfOffline = true;
        this.log.warn('heartbeats failing past the TTL; consumers paused until they succeed');
        this.pauseConsumers();
      }
    }
  }

  /**
   * A run cancelled (or a cell failed) while its session runs: the device's Appium session is
   * deleted, which makes the driver kill the harness, so the device is free within one heartbeat;
   * the processor then stores nothing for it.
   */
  private async stopIfCancelled(): Promise<void> {
    const held = this.active;
    if (!held || held.cancelled) return;
    const cell = await getJob(this.opts.db, held.sessionJob.data.jobId);
    if (!cell || ['queued', 'running'].includes(cell.status)) return;
    held.cancelled = true;
    this.log.warn({ queueJobId: held.sessionJob.id, cell: cell.id, status: cell.status }, 'the session\'s cell is no longer runnable; stopping its harness');
    await this.dropSession().catch((err) => this.log.warn({ err: (err as Error).message }, 'closing the device session failed'));
  }

  /** Stops heart-beating without closing anything else. */
  stopHeartbeats(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * What a crashed host looks like to the fleet: heartbeats stop and the consumers vanish
   * without a goodbye (no offline mark, the job in hand is not finished). Used by the fleet tests.
   */
  async simulateCrash(): Promise<void> {
    this.stopHeartbeats();
    this.closing ??= Promise.all(this.workers.map((w) => w.close(true))).then(async () => {
      await this.deviceQueue?.close();
      await this.dropSession().catch(() => undefined);
    });
    await this.closing;
  }

  /**
   * Graceful stop, idempotent: finishes the job in hand (up to the grace period, then hands it
   * back to the queue), closes the Appium session, marks the device offline. Every step runs
   * even when one throws; the first error is rethrown at the end.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      const step = async (fn: () => Promise<unknown> | unknown) => {
        try {
          await fn();
        } catch (err) {
          errors.push(err);
        }
      };
      this.stopHeartbeats();
      await step(() => Promise.all(this.workers.map((w) => this.closeWorker(w))));
      await step(() => this.deviceQueue?.close());
      await step(() => this.opening?.catch(() => undefined));
      await step(() => this.dropSession());
      await step(() => markDeviceOffline(this.opts.db, this.id, 'worker stopped'));
      this.log.info('device stopped');
      if (errors.length) throw errors[0];
    })();
    return this.closing;
  }

  private async closeWorker(w: Worker<SessionJobData, SessionJobResult>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceful = w.close().then(() => true);
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.opts.shutdownGraceMs)));
    const finished = await Promise.race([graceful, timeout]);
    clearTimeout(timer);
    if (finished) return;
    const held = this.active;
    if (held?.token) {
      this.log.warn({ queueJobId: held.sessionJob.id }, 'job still running after the grace period; handing it back to the queue');
      // Back to waiting at once (not after the stalled-job check): another device takes it. A
      // result this device still stores is kept once: the redelivery finds it and stops.
      await held.sessionJob.moveToWait(held.token).catch((err) => this.log.warn({ err: (err as Error).message }, 'hand-back failed; the stalled-job check will return it'));
    }
    await w.close(true);
  }
}
