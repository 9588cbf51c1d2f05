import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import type { Pool } from '@pocketbench/db';
import type { ArtifactCache } from '../artifact-cache.js';
import type { SessionPolicy } from '../config.js';
import type { DeviceInfo, DeviceSession } from '../devices/device-session.js';

/** What the session processor of one device is given by its DeviceWorker. */
export interface SessionDeps {
  pool: Pool;
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
  /** Called when the device's state changes because of an outcome (quarantine). */
  onQuarantined?(reason: string): void;
  /**
   * Waits (up to `ms`) for this host's Appium server to answer; false when it did not. A fault
   * while Appium itself is down is the host's, not the device's: it does not count towards
   * quarantine, and the retry is released only once Appium is back.
   */
  waitForAppium?(ms: number): Promise<boolean>;
  /** Called just before the harness starts (scheduling overhead measurements). */
  onHarnessStart?(sessionJob: Job<SessionJobData, SessionJobResult>): void;
}
