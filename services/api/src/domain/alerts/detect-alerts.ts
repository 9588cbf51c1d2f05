import { confirmedChangePoints, newAlertPoints, welchTTest } from '@pocketbench/stats';
import {
  baselineSegmentStart, getRun, insertAlerts, listAlertsForSeries, seriesMediansForDetection, seriesOfRun,
  type AlertRow, type NewAlert, type Pool,
} from '@pocketbench/db';

/** Minimal logger shape (pino's) so callers pass their own. */
export interface AlertLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DetectOptions {
  /** Newest sessions of the current baseline segment looked at. @defaultValue 500 */
  lookback?: number;
  /** E-Divisive window (REGRESSION.md). @defaultValue 50 */
  window?: number;
  /** Significance a change point must reach (REGRESSION.md). @defaultValue 0.001 */
  pValue?: number;
  /** Sessions a change needs on each side (the later ones confirm it) before an alert opens. @defaultValue 10 */
  minSide?: number;
  /**
   * A change point within this many sessions of an existing alert (any status) is the same
   * change seen again with more data, not a new one. @defaultValue 10
   */
  dedupeSessions?: number;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs change-point detection (E-Divisive means, window 50, p ≤ 0.001) over the series' ok head
 * session medians on its baseline branch since the current baseline segment started, and opens
 * an `active` alert for each new change point. Idempotent: running it again opens nothing new.
 * Returns the alerts it opened.
 */
export async function detectAlertsForSeries(db: Pool, seriesId: number, opts: DetectOptions = {}): Promise<AlertRow[]> {
  const since = await baselineSegmentStart(db, seriesId);
  const points = await seriesMediansForDetection(db, seriesId, { since, limit: opts.lookback ?? 500 });
  const minSide = opts.minSide ?? 10;
  if (points.length < 2 * minSide) return [];
  const values = points.map((p) => p.p50Us);
  const changes = confirmedChangePoints(values, { window: opts.window ?? 50, pValue: opts.pValue ?? 0.001, seed: seriesId, minSide });
  if (changes.length === 0) return [];

  const existing = await listAlertsForSeries(db, seriesId);
  // Where each known alert sits in this view: the first point at or after its change.
  const known = existing.map((a) => {
    const i = points.findIndex((p) => p.createdAt.getTime() >= a.changedAt.getTime());
    return i < 0 ? points.length : i;
  });
  const tolerance = opts.dedupeSessions ?? 10;
  const fresh: NewAlert[] = [];
  const opening = new Set(newAlertPoints(changes, known, tolerance));
  changes.forEach((at, k) => {
    if (!opening.has(at)) return;
    const before = values.slice(k === 0 ? 0 : changes[k - 1], at);
    const after = values.slice(at, k === changes.length - 1 ? values.length : changes[k + 1]);
    const b = median(before);
    const a = median(after);
    const first = points[at];
    fresh.push({
      seriesId, sessionId: first.sessionId, runId: first.runId, commitSha: first.commitSha,
      previousCommitSha: points[at - 1].commitSha,
      // Latency: a larger median is slower.
      direction: a > b ? 'regression' : 'improvement',
      beforeValue: b, afterValue: a, changePct: ((a - b) / b) * 100, pValue: welchTTest(before, after),
      sessionsBefore: before.length, sessionsAfter: after.length, changedAt: first.createdAt,
    });
  });
  return insertAlerts(db, fresh);
}

/**
 * After a run finishes: detection on every series it added sessions to, if the run is on its
 * baseline branch (post-merge history); a branch run opens no alerts. Returns the alerts opened.
 */
export async function detectAlertsAfterRun(db: Pool, runId: string, opts: DetectOptions & { logger?: AlertLogger } = {}): Promise<AlertRow[]> {
  const run = await getRun(db, runId);
  if (!run || run.branch !== run.baselineBranch) return [];
  const opened: AlertRow[] = [];
  for (const seriesId of await seriesOfRun(db, runId)) {
    const found = await detectAlertsForSeries(db, seriesId, opts);
    for (const a of found) {
      opts.logger?.info({ runId, seriesId, alertId: a.id, changePct: a.changePct, direction: a.direction }, 'alert opened');
    }
    opened.push(...found);
  }
  return opened;
}
