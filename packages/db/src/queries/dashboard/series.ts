// The Series page (#/series/:id): one series' history, its budgets and (from alerts.ts) its alerts.
import type { SeriesPoint as SeriesPointDto, SeriesView, SessionStatus, Stored } from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { MODEL_EMULATED_SQL, num } from './common.js';

/** A series with its input spec, as the Series page heads it. */
export type SeriesMeta = SeriesView['series'];

/** A series' columns with its project's name and the emulated label. */
export interface SeriesLabelRow {
  id: number | string;
  project: string;
  model: string;
  variant: string;
  runtime: string;
  backend: string;
  device_model: string;
  os_major: string;
  harness_version: string;
  emulated: boolean;
}

interface SeriesMetaRow extends SeriesLabelRow {
  input_spec: string;
}

export async function getSeriesMeta(q: Queryable, seriesId: number): Promise<SeriesMeta | undefined> {
  const { rows } = await q.query<SeriesMetaRow>(
    `SELECT s.id, p.name AS project, s.model, s.variant, s.runtime, s.backend, s.device_model, s.os_major, s.harness_version,
            s.input_spec, ${MODEL_EMULATED_SQL} AS emulated
       FROM series s JOIN projects p ON p.id = s.project_id WHERE s.id = $1`,
    [seriesId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id), project: r.project, model: r.model, variant: r.variant, runtime: r.runtime, backend: r.backend,
    deviceModel: r.device_model, emulated: r.emulated, osMajor: r.os_major, harnessVersion: r.harness_version, inputSpec: r.input_spec,
  };
}

export type SeriesPoint = Stored<SeriesPointDto, 'createdAt'>;

export interface SeriesPointsFilter {
  /** Only sessions of runs on this branch; null for every branch. */
  branch?: string | null;
  /** Only sessions created strictly before this instant (the previous page). */
  before?: Date | null;
  /** @defaultValue 300 */
  limit?: number;
}

interface SeriesPointRow {
  id: number | string;
  run_id: string;
  job_id: string;
  commit_sha: string | null;
  branch: string | null;
  created_at: Date;
  status: SessionStatus;
  p50_us: number;
  p90_us: number | null;
  p10_us: number | null;
}

/** Head sessions (ok and unstable) of a series, oldest first, the newest `limit` before `before`. */
export async function getSeriesPoints(q: Queryable, seriesId: number, f: SeriesPointsFilter = {}): Promise<SeriesPoint[]> {
  const limit = Math.min(Math.max(f.limit ?? 300, 1), 2000);
  const { rows } = await q.query<SeriesPointRow>(
    `SELECT s.id, s.run_id, s.job_id, r.commit_sha, r.branch, s.created_at, s.status, s.p50_us, s.p90_us,
            (SELECT percentile_cont(0.1) WITHIN GROUP (ORDER BY x) FROM unnest(s.iterations_us) AS x) AS p10_us
       FROM sessions s JOIN runs r ON r.id = s.run_id
      WHERE s.series_id = $1 AND s.role = 'head' AND s.status IN ('ok', 'unstable') AND s.p50_us IS NOT NULL
        AND ($2::text IS NULL OR r.branch = $2) AND ($3::timestamptz IS NULL OR s.created_at < $3)
      ORDER BY s.created_at DESC, s.id DESC
      LIMIT $4`,
    [seriesId, f.branch ?? null, f.before ?? null, limit],
  );
  return rows.reverse().map((r) => ({
    sessionId: Number(r.id), runId: r.run_id, jobId: r.job_id, commitSha: r.commit_sha, branch: r.branch, createdAt: r.created_at,
    status: r.status, p10Us: num(r.p10_us), p50Us: Number(r.p50_us), p90Us: num(r.p90_us),
  }));
}

export type SeriesBudget = SeriesView['budgets'][number];

interface BudgetRow {
  metric: string;
  budget: number;
}

/** Latency budgets the gate applied to the newest cells of this series. */
export async function getSeriesBudgets(q: Queryable, jobIds: string[]): Promise<SeriesBudget[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await q.query<BudgetRow>(
    `SELECT DISTINCT ON (metric) metric, budget FROM verdicts
      WHERE job_id = ANY($1::text[]) AND budget IS NOT NULL AND metric IN ('p50_ms', 'p90_ms')
      ORDER BY metric, created_at DESC, id DESC`,
    [jobIds],
  );
  return rows.map((r) => ({ metric: r.metric, budgetMs: Number(r.budget) }));
}
