import type { Pool } from '@pocketbench/db';
import { detectAlertsAfterRun, type AlertLogger, type DetectOptions } from './detect-alerts.js';

/**
 * Runs `detectAlertsAfterRun` in the background when a worker publishes `run.finished`
 * (infra/run-events.ts). One detection per run at a time; `close()` waits for those under way
 * so the pool is not ended beneath them. The sweeper is the safety net for a lost event.
 */
export class AfterRunAlertTrigger {
  private readonly pending = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly db: Pool,
    private readonly opts: DetectOptions & { logger?: AlertLogger } = {},
  ) {}

  /** Starts detection for `runId` unless it is already running; never throws. */
  trigger(runId: string): void {
    if (this.closed || this.pending.has(runId)) return;
    const work = detectAlertsAfterRun(this.db, runId, this.opts)
      .then(() => undefined)
      .catch((err: unknown) => this.opts.logger?.warn({ err, runId }, 'after-run alert detection failed'))
      .finally(() => this.pending.delete(runId));
    this.pending.set(runId, work);
  }

  /** Detections still running (tests wait on this). */
  settled(): Promise<void> {
    return Promise.all(this.pending.values()).then(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
  }
}
