// The Series page's list (#/series): every series with a sparkline of its newest medians and its alerts.
import type { SeriesSummary as SeriesSummaryDto, Stored } from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { MODEL_EMULATED_SQL, pageOf, type CountRow, type DashboardPage } from './common.js';
import type { SeriesLabelRow } from './series.js';

export interface SeriesFilter extends DashboardPage {
  project?: string;
  model?: string;
  backend?: string;
  deviceModel?: string;
  /** Only series with at least one active alert. */
  alerting?: boolean;
}

export type SeriesSummary = Stored<SeriesSummaryDto, 'lastSessionAt'>;

interface SeriesSummaryRow extends SeriesLabelRow {
  active_alerts: number;
  p50s: number[] | null;
  last_at: Date | null;
}

/** Series with their newest medians (a sparkline) and active alert count. */
export async function listSeriesOverview(q: Queryable, f: SeriesFilter): Promise<{ series: SeriesSummary[]; total: number }> {
  const { limit, offset } = pageOf(f);
  const where = `($1::text IS NULL OR p.name = $1) AND ($2::text IS NULL OR s.model = $2) AND ($3::text IS NULL OR s.backend = $3)
     AND ($4::text IS NULL OR s.device_model = $4)
     AND (NOT $5::boolean OR EXISTS (SELECT 1 FROM alerts a WHERE a.series_id = s.id AND a.status = 'active'))`;
  const params = [f.project ?? null, f.model ?? null, f.backend ?? null, f.deviceModel ?? null, f.alerting ?? false];
  const [list, count] = await Promise.all([
    q.query<SeriesSummaryRow>(
      `SELECT s.id, p.name AS project, s.model, s.variant, s.runtime, s.backend, s.device_model, s.os_major, s.harness_version,
              ${MODEL_EMULATED_SQL} AS emulated,
              (SELECT count(*)::int FROM alerts a WHERE a.series_id = s.id AND a.status = 'active') AS active_alerts,
              recent.p50s, recent.last_at
         FROM series s JOIN projects p ON p.id = s.project_id
         LEFT JOIN LATERAL (
           SELECT array_agg(x.p50_us ORDER BY x.created_at DESC) AS p50s, max(x.created_at) AS last_at
             FROM (SELECT p50_us, created_at FROM sessions
                    WHERE series_id = s.id AND role = 'head' AND status = 'ok'
                    ORDER BY created_at DESC LIMIT 30) x) recent ON true
        WHERE ${where}
        ORDER BY p.name, s.model, s.device_model, s.backend, s.runtime, s.variant, s.id
        LIMIT $6 OFFSET $7`,
      [...params, limit, offset],
    ),
    q.query<CountRow>(`SELECT count(*)::int AS n FROM series s JOIN projects p ON p.id = s.project_id WHERE ${where}`, params),
  ]);
  return {
    total: count.rows[0].n,
    series: list.rows.map((r) => ({
      id: Number(r.id), project: r.project, model: r.model, variant: r.variant, runtime: r.runtime, backend: r.backend,
      deviceModel: r.device_model, emulated: r.emulated, osMajor: r.os_major, harnessVersion: r.harness_version, activeAlerts: r.active_alerts,
      recentP50Us: (r.p50s ?? []).map(Number), lastSessionAt: r.last_at ?? null,
    })),
  };
}
