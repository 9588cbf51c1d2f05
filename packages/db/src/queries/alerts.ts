// Alerts (change points over a series' session medians) and baseline segments (table `alerts`,
// `baseline_segments`, view `series_baseline_start`).
import type { Alert, AlertListItem as AlertListItemDto, AlertStatus, BaselineSegment as BaselineSegmentDto, Stored } from '@pocketbench/contracts';
import type { Queryable } from '../queryable.js';

export type AlertDirection = Alert['direction'];

/** An alert's instants (Dates until `res.json`). */
type AlertTimes = 'changedAt' | 'detectedAt' | 'statusChangedAt';

/** One alert (table `alerts`). */
export type AlertRow = Stored<Alert, AlertTimes>;

/** An alert with the series it belongs to, as lists show it. */
export type AlertListItem = Stored<AlertListItemDto, AlertTimes>;

export type NewAlert = Pick<
  AlertRow,
  | 'seriesId' | 'sessionId' | 'runId' | 'commitSha' | 'previousCommitSha' | 'direction' | 'beforeValue' | 'afterValue'
  | 'changePct' | 'pValue' | 'sessionsBefore' | 'sessionsAfter' | 'changedAt'
> &
  Partial<Pick<AlertRow, 'metric'>>;

const ALERT_COLUMNS = `a.id, a.series_id, a.session_id, a.run_id, a.commit_sha, a.previous_commit_sha, a.status, a.direction,
  a.metric, a.before_value, a.after_value, a.change_pct, a.p_value, a.sessions_before, a.sessions_after, a.changed_at,
  a.detected_at, a.status_changed_at, a.status_note`;

/** The columns of ALERT_COLUMNS as pg returns them (bigint ids and float8 values as numbers). */
interface AlertColumns {
  id: number | string;
  series_id: number | string;
  session_id: number | string;
  run_id: string | null;
  commit_sha: string | null;
  previous_commit_sha: string | null;
  status: AlertStatus;
  direction: AlertDirection;
  metric: string;
  before_value: number;
  after_value: number;
  change_pct: number;
  p_value: number | null;
  sessions_before: number;
  sessions_after: number;
  changed_at: Date;
  detected_at: Date;
  status_changed_at: Date | null;
  status_note: string | null;
}

interface AlertListColumns extends AlertColumns {
  project: string;
  model: string;
  variant: string;
  runtime: string;
  backend: string;
  device_model: string;
}

function toAlert(r: AlertColumns): AlertRow {
  return {
    id: Number(r.id), seriesId: Number(r.series_id), sessionId: Number(r.session_id), runId: r.run_id, commitSha: r.commit_sha,
    previousCommitSha: r.previous_commit_sha, status: r.status, direction: r.direction, metric: r.metric,
    beforeValue: Number(r.before_value), afterValue: Number(r.after_value), changePct: Number(r.change_pct),
    pValue: r.p_value === null ? null : Number(r.p_value), sessionsBefore: r.sessions_before, sessionsAfter: r.sessions_after,
    changedAt: r.changed_at, detectedAt: r.detected_at, statusChangedAt: r.status_changed_at, statusNote: r.status_note,
  };
}

/** Inserts new alerts; one already open for the same (series, session) is kept as it is. Returns those inserted. */
export async function insertAlerts(q: Queryable, alerts: NewAlert[]): Promise<AlertRow[]> {
  if (alerts.length === 0) return [];
  const { rows } = await q.query<AlertColumns>(
    `INSERT INTO alerts AS a (series_id, session_id, run_id, commit_sha, previous_commit_sha, direction, metric, before_value,
                              after_value, change_pct, p_value, sessions_before, sessions_after, changed_at)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                          $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::int[], $13::int[], $14::timestamptz[])
     ON CONFLICT (series_id, session_id) DO NOTHING
     RETURNING ${ALERT_COLUMNS}`,
    [
      alerts.map((a) => a.seriesId), alerts.map((a) => a.sessionId), alerts.map((a) => a.runId), alerts.map((a) => a.commitSha),
      alerts.map((a) => a.previousCommitSha), alerts.map((a) => a.direction), alerts.map((a) => a.metric ?? 'p50_us'),
      alerts.map((a) => a.beforeValue), alerts.map((a) => a.afterValue), alerts.map((a) => a.changePct),
      alerts.map((a) => a.pValue), alerts.map((a) => a.sessionsBefore), alerts.map((a) => a.sessionsAfter),
      alerts.map((a) => a.changedAt),
    ],
  );
  return rows.map(toAlert);
}

export async function getAlert(q: Queryable, id: number): Promise<AlertRow | undefined> {
  const { rows } = await q.query<AlertColumns>(`SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.id = $1`, [id]);
  return rows[0] ? toAlert(rows[0]) : undefined;
}

/** Name of the project an alert's series belongs to (access checks), or undefined for an unknown alert. */
export async function alertProject(q: Queryable, id: number): Promise<string | undefined> {
  const { rows } = await q.query<{ name: string }>(
    `SELECT p.name FROM alerts a JOIN series s ON s.id = a.series_id JOIN projects p ON p.id = s.project_id WHERE a.id = $1`,
    [id],
  );
  return rows[0]?.name;
}

/** Every alert of a series (any status), oldest change first. */
export async function listAlertsForSeries(q: Queryable, seriesId: number): Promise<AlertRow[]> {
  const { rows } = await q.query<AlertColumns>(`SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.series_id = $1 ORDER BY a.changed_at, a.id`, [seriesId]);
  return rows.map(toAlert);
}

export interface AlertFilter {
  status?: AlertStatus;
  project?: string;
  seriesId?: number;
  /** @defaultValue 50 */
  limit?: number;
  /** @defaultValue 0 */
  offset?: number;
}

/** Newest detections first; `counts` has the number of alerts per status under the other filters. */
export async function listAlerts(
  q: Queryable, f: AlertFilter,
): Promise<{ alerts: AlertListItem[]; total: number; counts: Record<AlertStatus, number> }> {
  const limit = Math.min(Math.max(f.limit ?? 50, 1), 200);
  const offset = Math.max(f.offset ?? 0, 0);
  const scope = `($1::text IS NULL OR p.name = $1) AND ($2::bigint IS NULL OR a.series_id = $2)`;
  const [list, counts] = await Promise.all([
    q.query<AlertListColumns>(
      `SELECT ${ALERT_COLUMNS}, p.name AS project, s.model, s.variant, s.runtime, s.backend, s.device_model
         FROM alerts a JOIN series s ON s.id = a.series_id JOIN projects p ON p.id = s.project_id
        WHERE ${scope} AND ($3::text IS NULL OR a.status = $3)
        ORDER BY a.detected_at DESC, a.changed_at DESC, a.id DESC
        LIMIT $4 OFFSET $5`,
      [f.project ?? null, f.seriesId ?? null, f.status ?? null, limit, offset],
    ),
    q.query<{ status: AlertStatus; n: number }>(
      `SELECT a.status, count(*)::int AS n
         FROM alerts a JOIN series s ON s.id = a.series_id JOIN projects p ON p.id = s.project_id
        WHERE ${scope} GROUP BY a.status`,
      [f.project ?? null, f.seriesId ?? null],
    ),
  ]);
  const byStatus: Record<AlertStatus, number> = { active: 0, acknowledged: 0, dismissed: 0 };
  for (const r of counts.rows) byStatus[r.status] = r.n;
  return {
    alerts: list.rows.map((r) => ({
      ...toAlert(r),
      series: { project: r.project, model: r.model, variant: r.variant, runtime: r.runtime, backend: r.backend, deviceModel: r.device_model },
    })),
    total: f.status ? byStatus[f.status] : byStatus.active + byStatus.acknowledged + byStatus.dismissed,
    counts: byStatus,
  };
}

/** Locks an alert's row for the transaction and reads its status: two people clicking at once give one transition. */
export async function lockAlertStatus(tx: Queryable, id: number): Promise<AlertStatus | undefined> {
  const { rows } = await tx.query<{ status: AlertStatus }>('SELECT status FROM alerts WHERE id = $1 FOR UPDATE', [id]);
  return rows[0]?.status;
}

/**
 * Moves an alert from `active` to `to`, only if it is still active (the caller reports a
 * conflict otherwise). Returns the updated row, or undefined when no active alert had that id.
 */
export async function transitionAlert(q: Queryable, id: number, to: Exclude<AlertStatus, 'active'>, note: string | null): Promise<AlertRow | undefined> {
  const { rows } = await q.query<AlertColumns>(
    `UPDATE alerts a SET status = $2, status_changed_at = now(), status_note = $3
      WHERE a.id = $1 AND a.status = 'active' RETURNING ${ALERT_COLUMNS}`,
    [id, to, note],
  );
  return rows[0] ? toAlert(rows[0]) : undefined;
}

/** Where a series' baseline starts again (table `baseline_segments`). */
export type BaselineSegment = Stored<BaselineSegmentDto, 'startsAt' | 'createdAt'>;

interface BaselineSegmentColumns {
  id: number | string;
  series_id: number | string;
  starts_at: Date;
  start_session_id: number | string | null;
  alert_id: number | string | null;
  created_at: Date;
}

function toSegment(r: BaselineSegmentColumns): BaselineSegment {
  return {
    id: Number(r.id), seriesId: Number(r.series_id), startsAt: r.starts_at,
    startSessionId: r.start_session_id === null ? null : Number(r.start_session_id),
    alertId: r.alert_id === null ? null : Number(r.alert_id), createdAt: r.created_at,
  };
}

export async function insertBaselineSegment(
  q: Queryable, s: { seriesId: number; startsAt: Date; startSessionId: number | null; alertId: number | null },
): Promise<BaselineSegment> {
  const { rows } = await q.query<BaselineSegmentColumns>(
    `INSERT INTO baseline_segments (series_id, starts_at, start_session_id, alert_id) VALUES ($1, $2, $3, $4)
     RETURNING id, series_id, starts_at, start_session_id, alert_id, created_at`,
    [s.seriesId, s.startsAt, s.startSessionId, s.alertId],
  );
  return toSegment(rows[0]);
}

export async function listBaselineSegments(q: Queryable, seriesId: number): Promise<BaselineSegment[]> {
  const { rows } = await q.query<BaselineSegmentColumns>(
    `SELECT id, series_id, starts_at, start_session_id, alert_id, created_at FROM baseline_segments
      WHERE series_id = $1 ORDER BY starts_at, id`,
    [seriesId],
  );
  return rows.map(toSegment);
}

/**
 * Where the series' current baseline segment starts: historical baselines use only sessions
 * with `created_at >= startsAt`. Null when no change point was acknowledged (whole history).
 */
export async function baselineSegmentStart(q: Queryable, seriesId: number): Promise<Date | null> {
  const { rows } = await q.query<{ starts_at: Date }>('SELECT starts_at FROM series_baseline_start WHERE series_id = $1', [seriesId]);
  return rows[0]?.starts_at ?? null;
}

/** One session median of a series, as change-point detection reads it. */
export interface DetectionPoint {
  sessionId: number;
  runId: string;
  commitSha: string | null;
  createdAt: Date;
  p50Us: number;
}

interface DetectionColumns {
  id: number | string;
  run_id: string;
  created_at: Date;
  p50_us: number;
  commit_sha: string | null;
  /** The run's branch is its baseline branch (merged work). */
  merged: boolean | null;
}

/**
 * The newest `limit` ok head sessions of a series on runs of their baseline branch (what was
 * merged), created at or after `since`, oldest first.
 */
export async function seriesMediansForDetection(
  q: Queryable, seriesId: number, opts: { since: Date | null; limit: number },
): Promise<DetectionPoint[]> {
  // Walks the (series_id, created_at) index newest first in batches and filters by branch on the
  // joined run; one statement misjudges "branch = baseline_branch" and scans every run instead.
  const out: DetectionPoint[] = [];
  let cursor: { at: Date; id: number } | null = null;
  const batch = Math.min(Math.max(opts.limit * 2, 200), 5000);
  while (out.length < opts.limit) {
    const { rows } = await q.query<DetectionColumns>(
      `SELECT s.id, s.run_id, s.created_at, s.p50_us, r.commit_sha, r.branch = r.baseline_branch AS merged
         FROM (SELECT id, run_id, created_at, p50_us FROM sessions
                WHERE series_id = $1 AND role = 'head' AND status = 'ok' AND p50_us IS NOT NULL
                  AND ($2::timestamptz IS NULL OR created_at >= $2)
                  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
                ORDER BY created_at DESC, id DESC LIMIT $5) s
         JOIN runs r ON r.id = s.run_id
        ORDER BY s.created_at DESC, s.id DESC`,
      [seriesId, opts.since, cursor?.at ?? null, cursor?.id ?? 0, batch],
    );
    for (const r of rows) {
      if (r.merged && out.length < opts.limit) {
        out.push({ sessionId: Number(r.id), runId: r.run_id, commitSha: r.commit_sha, createdAt: r.created_at, p50Us: Number(r.p50_us) });
      }
    }
    if (rows.length < batch) break;
    const last: DetectionColumns = rows[rows.length - 1];
    cursor = { at: last.created_at, id: Number(last.id) };
  }
  return out.reverse();
}

/** Series with head sessions from a run (what a finished run may have moved). */
export async function seriesOfRun(q: Queryable, runId: string): Promise<number[]> {
  const { rows } = await q.query<{ series_id: number | string }>(
    `SELECT DISTINCT series_id FROM sessions WHERE run_id = $1 AND series_id IS NOT NULL AND role = 'head' ORDER BY series_id`,
    [runId],
  );
  return rows.map((r) => Number(r.series_id));
}

/** Series with an ok head session created after `since` (a periodic sweep's work list). */
export async function seriesWithSessionsSince(q: Queryable, since: Date): Promise<number[]> {
  const { rows } = await q.query<{ id: number | string }>(
    `SELECT s.id FROM series s
      WHERE EXISTS (SELECT 1 FROM sessions x WHERE x.series_id = s.id AND x.created_at > $1 AND x.role = 'head' AND x.status = 'ok')
      ORDER BY s.id`,
    [since],
  );
  return rows.map((r) => Number(r.id));
}
