import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { SessionJobData, SessionJobResult, SessionRecord } from '@pocketbench/contracts';
import type { Pool } from '@pocketbench/db';
import type { ArtifactCache } from '../artifact-cache.js';
import type { SessionPolicy } from '../config.js';
import type { DeviceInfo, DeviceSession } from '../devices/device-session.js';
import type { ReportSpool } from '../report-spool.js';

/** A finished session as the spool holds it until the database takes it. */
export interface HeldSession {
  data: SessionJobData;
  session: SessionRecord;
  modelFault?: { errorClass: string; message: string };
}
import type { ReferenceOutputs } from './reference-outputs.js';

/** What the session processor of one device is given by its DeviceWorker. */
export interface SessionDeps {
  db: Pool;
  cache: ArtifactCache;
  deviceId: string;
  /** Hygiene caps, cooldown and quarantine, from loadConfig. */
  policy: SessionPolicy;
  /** The device's reusable Appium session (opened on demand). */
  getSession(): Promise<DeviceSession>;
  /** Closes and forgets the session after an infrastructure fault, so the retry opens a fresh one. */
  dropSession(): Promise<void>;
  /** Device facts for the series key (device model, OS version). */
  deviceInfo(): Promise<DeviceInfo>;
  /** Queue of this device, for the extra sessions of an adaptive A/B cell. */
  deviceQueue: Queue<SessionJobData, SessionJobResult>;
  logger: Logger;
  /** True once the worker is shutting down: a fault then is the shutdown's, not the job's. */
  shuttingDown?(): boolean;
  /** True once the session's cell was cancelled (or ended) while it ran: nothing is stored, no fault counted. */
  cancelled?(): boolean;
  /**
   * Where a finished report waits (memory and the host's disk) until the database takes it: an
   * outage is waited out, a worker restart loses nothing. Without one the report is stored directly.
   */
  spool?: ReportSpool<HeldSession>;
  /** How long a store failing for a reason other than an outage is retried before the cell fails. @defaultValue 120000 */
  storeGiveUpMs?: number;
  /** Called when the device's state changes because of an outcome (quarantine). */
  onQuarantined?(reason: string): void;
  /**
   * Waits (up to `ms`) for this host's Appium server to answer; false when it did not. A fault
   * while Appium itself is down is the host's, not the device's: it does not count towards
   * quarantine, and the retry is released only once Appium is back.
   */
  waitForAppium?(ms: number): Promise<boolean>;
  /** Says that the run just finished (a committed session or failed cell ended it): the api reacts (alerts). */
  publishRunFinished?(runId: string): Promise<void>;
  /** Called just before the harness starts (scheduling overhead measurements). */
  onHarnessStart?(sessionJob: Job<SessionJobData, SessionJobResult>): void;
  /** Computes (and caches) fidelity reference outputs on this host; needed by cells with a reference. */
  referenceOutputs?: ReferenceOutputs;
}
