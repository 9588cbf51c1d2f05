import { seriesWithSessionsSince, type Pool } from '@pocketbench/db';
import { detectAlertsForSeries, type AlertLogger, type DetectOptions } from './detect-alerts.js';

export interface AlertSweeperOptions extends DetectOptions {
  /** How often the sweep runs. @defaultValue 60000 */
  intervalMs?: number;
  logger?: AlertLogger;
}

export interface AlertSweeper {
  /** One sweep now: detection on every series with sessions since the previous sweep. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Periodic change-point detection for series that got new sessions (a safety net beside the
 * after-run trigger). The first sweep looks back one day. Sweeps never overlap.
 */
export function startAlertSweeper(db: Pool, opts: AlertSweeperOptions = {}): AlertSweeper {
  let since = new Date(Date.now() - 24 * 3600_000);
  let running: Promise<number> | null = null;
  let stopped = false;
  const sweep = (): Promise<number> => {
    if (running) return running;
    running = (async () => {
      const started = new Date();
      let opened = 0;
      for (const seriesId of await seriesWithSessionsSince(db, since)) {
        if (stopped) break;
        opened += (await detectAlertsForSeries(db, seriesId, opts)).length;
      }
      since = started;
      if (opened > 0) opts.logger?.info({ opened }, 'alert sweep opened alerts');
      return opened;
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => opts.logger?.warn({ err }, 'alert sweep failed'));
  }, opts.intervalMs ?? 60_000);
  timer.unref();
  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
