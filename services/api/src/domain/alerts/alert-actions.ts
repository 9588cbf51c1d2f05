import type { AlertStatus } from '@pocketbench/contracts';
import {
  alertProject, getAlert, getSeriesMeta, insertBaselineSegment, lockAlertStatus, transitionAlert, withTransaction,
  type AlertRow, type BaselineSegment, type Pool,
} from '@pocketbench/db';
import { ApiError, notFound } from '../../errors.js';
import { canReadProjectNamed, type Principal } from '../auth/tokens.js';
import { detectAlertsForSeries } from './detect-alerts.js';

export interface AlertActionResult {
  alert: AlertRow;
  /** The baseline segment an acknowledgement started (absent for dismissals and repeats). */
  segment?: BaselineSegment;
}

const conflict = (message: string) => new ApiError(409, 'conflict', message);

async function transition(db: Pool, id: number, to: Exclude<AlertStatus, 'active'>, note: string | null): Promise<AlertActionResult> {
  return withTransaction(db, async (tx) => {
    // Row lock so two people clicking at once give one transition and one repeat.
    const status = await lockAlertStatus(tx, id);
    if (!status) throw notFound(`alert ${id} does not exist`);
    if (status === to) return { alert: (await getAlert(tx, id))! };
    if (status !== 'active') throw conflict(`alert ${id} is already ${status}; only an active alert can be ${to}`);
    const alert = (await transitionAlert(tx, id, to, note))!;
    if (to === 'dismissed') return { alert };
    // The change is real and accepted: baselines of this series start at the change.
    const segment = await insertBaselineSegment(tx, {
      seriesId: alert.seriesId, startsAt: alert.changedAt, startSessionId: alert.sessionId, alertId: alert.id,
    });
    return { alert, segment };
  });
}

/**
 * Accepts the change: the alert becomes `acknowledged` and the series gets a new baseline
 * segment starting at the change, so historical baselines ignore the sessions before it.
 * Repeating it is a no-op; a dismissed alert cannot be acknowledged (409).
 */
export function acknowledgeAlert(db: Pool, id: number, note: string | null = null): Promise<AlertActionResult> {
  return transition(db, id, 'acknowledged', note);
}

/** Marks the change point as noise; baselines are unchanged. Repeating it is a no-op. */
export function dismissAlert(db: Pool, id: number, note: string | null = null): Promise<AlertActionResult> {
  return transition(db, id, 'dismissed', note);
}

/** The action a worker token is refused (403): alerts are the dashboard's. */
const READING = 'the dashboard';

/** An alert decided from the dashboard: another project's alert is answered as missing. */
export async function decideAlertFor(
  db: Pool, principal: Principal, id: number, to: Exclude<AlertStatus, 'active'>, note: string | null,
): Promise<AlertActionResult> {
  const project = await alertProject(db, id);
  if (project === undefined || !canReadProjectNamed(principal, project, READING)) throw notFound(`alert ${id} does not exist`);
  return transition(db, id, to, note);
}

/** Change-point detection on one series now, asked from the dashboard; returns the alerts it opened. */
export async function detectAlertsFor(db: Pool, principal: Principal, seriesId: number): Promise<AlertRow[]> {
  const meta = await getSeriesMeta(db, seriesId);
  if (!meta || !canReadProjectNamed(principal, meta.project, READING)) throw notFound(`series ${seriesId} does not exist`);
  return detectAlertsForSeries(db, seriesId);
}
