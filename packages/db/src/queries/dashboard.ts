// Read-only queries behind the dashboard's pages. Each one answers one page's question in one
// or two indexed statements, paginated on the server, so a page stays fast with 1,000,000 sessions.
import type { Queryable } from '../queryable.js';
import type { DeviceRow } from './devices.js';
import type { VerdictRow } from './verdicts.js';

export interface DashboardPage {
  /** @defaultValue 50 */
  limit?: number;
  /** @defaultValue 0 */
  offset?: number;
}

function pageOf(p: DashboardPage, max = 200): { limit: number; offset: number } {
  return { limit: Math.min(Math.max(p.limit ?? 50, 1), max), offset: Math.max(p.offset ?? 0, 0) };
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

// ---------------------------------------------------------------------------------------- runs

export interface RunsOverviewFilter extends DashboardPage {
  project?: string;
  branch?: string;
  status?: string;
}

export interface VerdictCounts {
  pass: number;
  fail: number;
  inconclusive: number;
}

export interface RunOverview {
  id: string;
  project: string;
  commitSha: string | null;
  branch: string | null;
  mergeBase: string | null;
  status: string;
  jobsTotal: number;
  jobsFinished: number;
  createdAt: Date;
  finishedAt: Date | null;
  /** The run's own verdict (the gate's answer), if it was decided. */
  verdict: string | null;
  /** Verdicts of its cells, counted per cell (a cell's worst metric). */
  cells: VerdictCounts;
}

/** Newest runs first, filtered by project name, branch and status; `total` counts all matches. */
export async function listRunsOverview(q: Queryable, f: RunsOverviewFilter): Promise<{ runs: RunOverview[]; total: number }> {
  const { limit, offset } = pageOf(f);
  const where = `($1::text IS NULL OR p.name = $1) AND ($2::text IS NULL OR r.branch = $2) AND ($3::text IS NULL OR r.status = $3)`;
  const params = [f.project ?? null, f.branch ?? null, f.status ?? null];
  const [list, count] = await Promise.all([
    q.query(
      `WITH page AS (
         SELECT r.id, p.name AS project, r.commit_sha, r.branch, r.merge_base, r.status, r.jobs_total, r.jobs_finished,
                r.created_at, r.finished_at
           FROM runs r JOIN projects p ON p.id = r.project_id
          WHERE ${where}
          ORDER BY r.created_at DESC, r.id DESC
          LIMIT $4 OFFSET $5)
       SELECT page.*, rv.verdict, cv.pass, cv.fail, cv.inconclusive
         FROM page
         LEFT JOIN LATERAL (SELECT verdict FROM verdicts WHERE run_id = page.id AND job_id IS NULL
                             ORDER BY created_at DESC, id DESC LIMIT 1) rv ON true
         LEFT JOIN LATERAL (
           SELECT count(*) FILTER (WHERE w = 0)::int AS pass, count(*) FILTER (WHERE w = 2)::int AS fail,
                  count(*) FILTER (WHERE w = 1)::int AS inconclusive
             FROM (SELECT max(CASE verdict WHEN 'fail' THEN 2 WHEN 'inconclusive' THEN 1 ELSE 0 END) AS w
                     FROM verdicts WHERE run_id = page.id AND job_id IS NOT NULL GROUP BY job_id) per_cell) cv ON true
        ORDER BY page.created_at DESC, page.id DESC`,
      [...params, limit, offset],
    ),
    q.query(`SELECT count(*)::int AS n FROM runs r JOIN projects p ON p.id = r.project_id WHERE ${where}`, params),
  ]);
  return {
    total: count.rows[0].n,
    runs: list.rows.map((r) => ({
      id: r.id, project: r.project, commitSha: r.commit_sha, branch: r.branch, mergeBase: r.merge_base, status: r.status,
      jobsTotal: r.jobs_total, jobsFinished: r.jobs_finished, createdAt: r.created_at, finishedAt: r.finished_at,
      verdict: r.verdict ?? null, cells: { pass: r.pass ?? 0, fail: r.fail ?? 0, inconclusive: r.inconclusive ?? 0 },
    })),
  };
}

/** Values for the runs page's filter menus. */
/** Projects and branches to filter runs by; with `projectId`, only that project and its branches. */
export async function runFilterOptions(q: Queryable, projectId?: string): Promise<{ projects: string[]; branches: string[] }> {
  const [p, b] = await Promise.all([
    q.query('SELECT name FROM projects WHERE $1::uuid IS NULL OR id = $1 ORDER BY name', [projectId ?? null]),
    q.query(`SELECT branch FROM (SELECT DISTINCT branch FROM runs WHERE branch IS NOT NULL AND ($1::uuid IS NULL OR project_id = $1)) b
              ORDER BY branch <> 'main', branch LIMIT 500`, [projectId ?? null]),
  ]);
  return { projects: p.rows.map((r) => r.name), branches: b.rows.map((r) => r.branch) };
}

// ---------------------------------------------------------------------------------- run matrix

export type MatrixVerdict = Pick<
  VerdictRow,
  'metric' | 'verdict' | 'headValue' | 'baselineValue' | 'ratio' | 'ciLow' | 'ciHigh' | 'budget' | 'baselineSource'
>;

/**
 * SQL: the pool named by `poolExpr` is emulated (every registered device in it is), so it is
 * labelled `<pool> (emulated)` wherever it is shown. A pool with no device left is not.
 */
export const poolEmulatedSql = (poolExpr: string): string =>
  `coalesce((SELECT bool_and(pd.emulated) FROM devices pd WHERE pd.pool = ${poolExpr}), false)`;

export interface MatrixCell {
  jobId: string;
  cellIndex: number;
  artifactId: string;
  pool: string;
  /** Every device of the pool is emulated (`qemu-arm64 (emulated)`). */
  emulated: boolean;
  backend: string;
  status: string;
  reason: string | null;
  sessionsPlanned: number;
  sessionsDone: number;
  sessionsOk: number;
  sessionsUnstable: number;
  /** Median over the cell's ok head sessions of each session's median / p90 (µs). */
  p50Us: number | null;
  p90Us: number | null;
  peakRssBytes: number | null;
  seriesId: number | null;
  /** One ok session near the cell's median, to open from the matrix. */
  sessionId: number | null;
  /** Worst verdict over the cell's metrics. */
  verdict: string | null;
  verdicts: MatrixVerdict[];
  /** Fidelity medians over ok head sessions (null without a fidelity pass): top-1 agreement %, eval-set top-1 %, drop in pp. */
  top1AgreementPct: number | null;
  accuracyTop1Pct: number | null;
  accuracyDropPct: number | null;
}

export interface MatrixArtifact {
  id: string;
  model: string;
  variant: string;
  format: string;
  sizeBytes: number;
  filename: string | null;
}

export interface RunMatrix {
  run: RunOverview & { baselineBranch: string; config: unknown; startedAt: Date | null };
  artifacts: MatrixArtifact[];
  columns: { pool: string; backend: string; emulated: boolean }[];
  cells: MatrixCell[];
  runVerdicts: MatrixVerdict[];
}

const VERDICT_RANK: Record<string, number> = { pass: 0, inconclusive: 1, fail: 2 };

function toVerdict(v: Record<string, any>): MatrixVerdict {
  return {
    metric: v.metric, verdict: v.verdict, headValue: num(v.head_value), baselineValue: num(v.baseline_value),
    ratio: num(v.ratio), ciLow: num(v.ci_low), ciHigh: num(v.ci_high), budget: num(v.budget), baselineSource: v.baseline_source,
  };
}

/** A run's matrix: rows are artifacts, columns pool × backend, each cell with figures and verdicts. */
export async function getRunMatrix(q: Queryable, runId: string): Promise<RunMatrix | undefined> {
  const run = await q.query(
    `SELECT r.id, p.name AS project, r.commit_sha, r.branch, r.merge_base, r.baseline_branch, r.status, r.jobs_total,
            r.jobs_finished, r.created_at, r.started_at, r.finished_at, r.config
       FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = $1`,
    [runId],
  );
  const r = run.rows[0];
  if (!r) return undefined;
  const [cells, verdicts] = await Promise.all([
    q.query(
      `SELECT j.id, j.cell_index, j.artifact_id, j.pool, j.backend, j.status, j.reason, j.sessions_planned, j.sessions_done,
              ${poolEmulatedSql('j.pool')} AS emulated, a.variant, a.format, a.size_bytes, a.filename, m.name AS model, agg.*
         FROM jobs j JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
         LEFT JOIN LATERAL (
           SELECT count(*) FILTER (WHERE s.status = 'ok')::int AS ok, count(*) FILTER (WHERE s.status = 'unstable')::int AS unstable,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.p50_us) FILTER (WHERE s.status = 'ok') AS p50,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.p90_us) FILTER (WHERE s.status = 'ok') AS p90,
                  max(s.peak_rss_bytes) FILTER (WHERE s.status = 'ok') AS rss,
                  max(s.series_id) AS series_id,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'agreement'->0->>'top1AgreementPct')::float8) FILTER (WHERE s.status = 'ok') AS agreement,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'accuracy'->>'top1Pct')::float8) FILTER (WHERE s.status = 'ok') AS accuracy,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'accuracy'->>'dropPct')::float8) FILTER (WHERE s.status = 'ok') AS accuracy_drop
             FROM sessions s WHERE s.job_id = j.id AND s.role = 'head') agg ON true
        WHERE j.run_id = $1
        ORDER BY j.cell_index`,
      [runId],
    ),
    q.query(
      `SELECT job_id, metric, verdict, head_value, baseline_value, ratio, ci_low, ci_high, budget, baseline_source
         FROM verdicts WHERE run_id = $1 ORDER BY created_at, id`,
      [runId],
    ),
  ]);
  // The session shown for a cell is the ok session whose median is closest to the cell's median.
  const okSessions = await q.query(
    `SELECT job_id, id, p50_us FROM sessions WHERE run_id = $1 AND role = 'head' AND status = 'ok'`,
    [runId],
  );
  const medianOf = new Map(cells.rows.map((c) => [c.id, num(c.p50)]));
  const sessionOf = new Map<string, { id: number; d: number }>();
  for (const s of okSessions.rows) {
    const d = Math.abs(Number(s.p50_us) - (medianOf.get(s.job_id) ?? 0));
    const best = sessionOf.get(s.job_id);
    if (!best || d < best.d || (d === best.d && Number(s.id) < best.id)) sessionOf.set(s.job_id, { id: Number(s.id), d });
  }
  const byJob = new Map<string, MatrixVerdict[]>();
  const runVerdicts: MatrixVerdict[] = [];
  for (const v of verdicts.rows) {
    if (v.job_id === null) runVerdicts.push(toVerdict(v));
    else byJob.set(v.job_id, [...(byJob.get(v.job_id) ?? []), toVerdict(v)]);
  }
  const artifacts = new Map<string, MatrixArtifact>();
  const columns = new Map<string, { pool: string; backend: string; emulated: boolean }>();
  const out: MatrixCell[] = cells.rows.map((c) => {
    artifacts.set(c.artifact_id, {
      id: c.artifact_id, model: c.model, variant: c.variant, format: c.format, sizeBytes: Number(c.size_bytes), filename: c.filename,
    });
    columns.set(`${c.pool}\u0000${c.backend}`, { pool: c.pool, backend: c.backend, emulated: c.emulated });
    const vs = byJob.get(c.id) ?? [];
    const worst = vs.reduce<string | null>((w, v) => (w === null || VERDICT_RANK[v.verdict] > VERDICT_RANK[w] ? v.verdict : w), null);
    return {
      jobId: c.id, cellIndex: c.cell_index, artifactId: c.artifact_id, pool: c.pool, emulated: c.emulated, backend: c.backend, status: c.status,
      reason: c.reason, sessionsPlanned: c.sessions_planned, sessionsDone: c.sessions_done, sessionsOk: c.ok ?? 0,
      sessionsUnstable: c.unstable ?? 0, p50Us: num(c.p50), p90Us: num(c.p90), peakRssBytes: num(c.rss),
      seriesId: num(c.series_id), sessionId: sessionOf.get(c.id)?.id ?? null, verdict: worst, verdicts: vs,
      top1AgreementPct: num(c.agreement), accuracyTop1Pct: num(c.accuracy), accuracyDropPct: num(c.accuracy_drop),
    };
  });
  const runVerdict = runVerdicts.length ? runVerdicts[runVerdicts.length - 1].verdict : null;
  const counts: VerdictCounts = { pass: 0, fail: 0, inconclusive: 0 };
  for (const c of out) if (c.verdict) counts[c.verdict as keyof VerdictCounts] += 1;
  return {
    run: {
      id: r.id, project: r.project, commitSha: r.commit_sha, branch: r.branch, mergeBase: r.merge_base,
      baselineBranch: r.baseline_branch, status: r.status, jobsTotal: r.jobs_total, jobsFinished: r.jobs_finished,
      createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at, config: r.config,
      verdict: runVerdict, cells: counts,
    },
    artifacts: [...artifacts.values()].sort((a, b) => a.model.localeCompare(b.model) || a.format.localeCompare(b.format) ||
      VARIANT_ORDER(a.variant) - VARIANT_ORDER(b.variant)),
    columns: [...columns.values()],
    cells: out,
    runVerdicts,
  };
}

function VARIANT_ORDER(v: string): number {
  const i = ['fp32', 'fp16', 'int8-dynamic', 'int8-static'].indexOf(v);
  return i < 0 ? 99 : i;
}

// -------------------------------------------------------------------------------------- series

export interface SeriesFilter extends DashboardPage {
  project?: string;
  model?: string;
  backend?: string;
  deviceModel?: string;
  /** Only series with at least one active alert. */
  alerting?: boolean;
}

export interface SeriesSummary extends Omit<SeriesMeta, 'inputSpec'> {
  activeAlerts: number;
  /** Newest first: the last (up to 30) ok head session medians, µs. */
  recentP50Us: number[];
  lastSessionAt: Date | null;
}

/** SQL: every registered device of series `s`'s device model is emulated. */
const MODEL_EMULATED = `coalesce((SELECT bool_and(md.emulated) FROM devices md WHERE md.device_model = s.device_model), false)`;

/** Series with their newest medians (a sparkline) and active alert count. */
export async function listSeriesOverview(q: Queryable, f: SeriesFilter): Promise<{ series: SeriesSummary[]; total: number }> {
  const { limit, offset } = pageOf(f);
  const where = `($1::text IS NULL OR p.name = $1) AND ($2::text IS NULL OR s.model = $2) AND ($3::text IS NULL OR s.backend = $3)
     AND ($4::text IS NULL OR s.device_model = $4)
     AND (NOT $5::boolean OR EXISTS (SELECT 1 FROM alerts a WHERE a.series_id = s.id AND a.status = 'active'))`;
  const params = [f.project ?? null, f.model ?? null, f.backend ?? null, f.deviceModel ?? null, f.alerting ?? false];
  const [list, count] = await Promise.all([
    q.query(
      `SELECT s.id, p.name AS project, s.model, s.variant, s.runtime, s.backend, s.device_model, s.os_major, s.harness_version,
              ${MODEL_EMULATED} AS emulated,
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
    q.query(`SELECT count(*)::int AS n FROM series s JOIN projects p ON p.id = s.project_id WHERE ${where}`, params),
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

export interface SeriesMeta {
  id: number;
  project: string;
  model: string;
  variant: string;
  runtime: string;
  backend: string;
  deviceModel: string;
  /** Every registered device of this model is emulated. */
  emulated: boolean;
  osMajor: string;
  harnessVersion: string;
  inputSpec: string;
}

export async function getSeriesMeta(q: Queryable, seriesId: number): Promise<SeriesMeta | undefined> {
  const { rows } = await q.query(
    `SELECT s.id, p.name AS project, s.model, s.variant, s.runtime, s.backend, s.device_model, s.os_major, s.harness_version,
            s.input_spec, ${MODEL_EMULATED} AS emulated
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

export interface SeriesPoint {
  sessionId: number;
  runId: string;
  jobId: string;
  commitSha: string | null;
  branch: string | null;
  createdAt: Date;
  status: string;
  p10Us: number | null;
  p50Us: number;
  p90Us: number | null;
}

export interface SeriesPointsFilter {
  /** Only sessions of runs on this branch; null for every branch. */
  branch?: string | null;
  /** Only sessions created strictly before this instant (the previous page). */
  before?: Date | null;
  /** @defaultValue 300 */
  limit?: number;
}

/** Head sessions (ok and unstable) of a series, oldest first, the newest `limit` before `before`. */
export async function getSeriesPoints(q: Queryable, seriesId: number, f: SeriesPointsFilter = {}): Promise<SeriesPoint[]> {
  const limit = Math.min(Math.max(f.limit ?? 300, 1), 2000);
  const { rows } = await q.query(
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

export interface SeriesBudget {
  /** `p50_ms` or `p90_ms` (the budgets file's keys). */
  metric: string;
  budgetMs: number;
}

/** Latency budgets the gate applied to the newest cells of this series. */
export async function getSeriesBudgets(q: Queryable, jobIds: string[]): Promise<SeriesBudget[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await q.query(
    `SELECT DISTINCT ON (metric) metric, budget FROM verdicts
      WHERE job_id = ANY($1::text[]) AND budget IS NOT NULL AND metric IN ('p50_ms', 'p90_ms')
      ORDER BY metric, created_at DESC, id DESC`,
    [jobIds],
  );
  return rows.map((r) => ({ metric: r.metric, budgetMs: Number(r.budget) }));
}

// ------------------------------------------------------------------------------------- session

export interface SessionDetail {
  id: number;
  runId: string;
  jobId: string;
  seriesId: number | null;
  role: string;
  sessionIndex: number;
  attempt: number;
  status: string;
  errorClass: string | null;
  errorMessage: string | null;
  commitSha: string | null;
  branch: string | null;
  project: string;
  model: string;
  variant: string;
  format: string;
  backendRequested: string;
  backendUsed: string | null;
  runtime: string | null;
  runtimeVersion: string | null;
  harnessVersion: string | null;
  device: { id: string | null; name: string | null; deviceModel: string | null; pool: string | null; arch: string | null; emulated: boolean };
  iterationsUs: number[];
  summary: {
    minUs: number | null; meanUs: number | null; p50Us: number | null; p90Us: number | null; p99Us: number | null;
    stddevUs: number | null; madUs: number | null; cv: number | null;
  };
  loadMs: number | null;
  firstInferenceMs: number | null;
  peakRssBytes: number | null;
  peakRssMethod: string | null;
  modelSizeBytes: number | null;
  deviceStateBefore: unknown;
  deviceStateAfter: unknown;
  createdAt: Date;
}

export async function getSessionDetail(q: Queryable, sessionId: number): Promise<SessionDetail | undefined> {
  const { rows } = await q.query(
    `SELECT s.*, r.commit_sha, r.branch, p.name AS project, m.name AS model, a.variant, a.format,
            d.name AS device_name, d.device_model, d.pool, coalesce(d.emulated, false) AS device_emulated
       FROM sessions s JOIN runs r ON r.id = s.run_id JOIN projects p ON p.id = r.project_id
       JOIN artifacts a ON a.id = s.artifact_id JOIN models m ON m.id = a.model_id
       LEFT JOIN devices d ON d.id = s.device_id
      WHERE s.id = $1`,
    [sessionId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: Number(r.id), runId: r.run_id, jobId: r.job_id, seriesId: num(r.series_id), role: r.role, sessionIndex: r.session_index,
    attempt: r.attempt, status: r.status, errorClass: r.error_class, errorMessage: r.error_message, commitSha: r.commit_sha,
    branch: r.branch, project: r.project, model: r.model, variant: r.variant, format: r.format,
    backendRequested: r.backend_requested, backendUsed: r.backend_used, runtime: r.runtime, runtimeVersion: r.runtime_version,
    harnessVersion: r.harness_version,
    device: { id: r.device_id, name: r.device_name ?? null, deviceModel: r.device_model ?? null, pool: r.pool ?? null, arch: r.device_arch,
      emulated: r.device_emulated },
    iterationsUs: (r.iterations_us ?? []).map(Number),
    summary: {
      minUs: num(r.min_us), meanUs: num(r.mean_us), p50Us: num(r.p50_us), p90Us: num(r.p90_us), p99Us: num(r.p99_us),
      stddevUs: num(r.stddev_us), madUs: num(r.mad_us), cv: num(r.cv),
    },
    loadMs: num(r.load_ms), firstInferenceMs: num(r.first_inference_ms), peakRssBytes: num(r.peak_rss_bytes),
    peakRssMethod: r.peak_rss_method, modelSizeBytes: num(r.model_size_bytes), deviceStateBefore: r.device_state_before,
    deviceStateAfter: r.device_state_after, createdAt: r.created_at,
  };
}

// ------------------------------------------------------------------------------------- compare

/** Figures of one cell or one artifact on one pool × backend. */
export interface CompareFigures {
  model: string;
  variant: string;
  format: string;
  artifactId: string;
  pool: string;
  /** Every device of the pool is emulated. */
  emulated: boolean;
  backend: string;
  deviceModel: string | null;
  sizeBytes: number;
  p50Us: number | null;
  p90Us: number | null;
  peakRssBytes: number | null;
  sessions: number;
  /** Fidelity (medians over the sessions that ran a fidelity pass): top-1 agreement with the reference, eval-set top-1, drop in pp. */
  top1AgreementPct: number | null;
  accuracyTop1Pct: number | null;
  accuracyDropPct: number | null;
}

const FIGURES = `m.name AS model, a.variant, a.format, a.id AS artifact_id, a.size_bytes,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.p50_us) AS p50, percentile_cont(0.5) WITHIN GROUP (ORDER BY s.p90_us) AS p90,
  max(s.peak_rss_bytes) AS rss, count(s.id)::int AS n, min(ser.device_model) AS device_model, ${poolEmulatedSql('j.pool')} AS emulated,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'agreement'->0->>'top1AgreementPct')::float8) AS agreement,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'accuracy'->>'top1Pct')::float8) AS accuracy,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'accuracy'->>'dropPct')::float8) AS accuracy_drop`;

function toFigures(r: Record<string, any>): CompareFigures {
  return {
    model: r.model, variant: r.variant, format: r.format, artifactId: r.artifact_id, pool: r.pool, emulated: r.emulated, backend: r.backend,
    deviceModel: r.device_model ?? null, sizeBytes: Number(r.size_bytes), p50Us: num(r.p50), p90Us: num(r.p90),
    peakRssBytes: num(r.rss), sessions: r.n,
    top1AgreementPct: num(r.agreement), accuracyTop1Pct: num(r.accuracy), accuracyDropPct: num(r.accuracy_drop),
  };
}

/** Per run, per cell: median of ok head session medians / p90s, max peak RSS. */
export async function compareRunCells(q: Queryable, runIds: string[]): Promise<Map<string, CompareFigures[]>> {
  const { rows } = await q.query(
    `SELECT j.run_id, j.pool, j.backend, ${FIGURES}
       FROM jobs j JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
       LEFT JOIN sessions s ON s.job_id = j.id AND s.role = 'head' AND s.status = 'ok'
       LEFT JOIN series ser ON ser.id = s.series_id
      WHERE j.run_id = ANY($1::uuid[])
      GROUP BY j.run_id, j.id, j.pool, j.backend, m.name, a.variant, a.format, a.id, a.size_bytes
      ORDER BY j.run_id, j.cell_index`,
    [runIds],
  );
  const out = new Map<string, CompareFigures[]>(runIds.map((id) => [id, []]));
  for (const r of rows) out.get(r.run_id)?.push(toFigures(r));
  return out;
}

/**
 * Per artifact, per pool × backend: figures over the artifact's newest ok head sessions
 * (`perArtifact` of them), or over one run's sessions when `runId` is given.
 */
export async function compareArtifacts(
  q: Queryable, artifactIds: string[], opts: { runId?: string | null; perArtifact?: number } = {},
): Promise<Map<string, CompareFigures[]>> {
  const { rows } = await q.query(
    `SELECT j.pool, j.backend, ${FIGURES}
       FROM artifacts a JOIN models m ON m.id = a.model_id
       CROSS JOIN LATERAL (
         SELECT x.id, x.job_id, x.series_id, x.p50_us, x.p90_us, x.peak_rss_bytes, x.fidelity FROM sessions x
          WHERE x.artifact_id = a.id AND x.role = 'head' AND x.status = 'ok' AND ($2::uuid IS NULL OR x.run_id = $2)
          ORDER BY x.created_at DESC LIMIT $3) s
       JOIN jobs j ON j.id = s.job_id
       LEFT JOIN series ser ON ser.id = s.series_id
      WHERE a.id = ANY($1::uuid[])
      GROUP BY j.pool, j.backend, m.name, a.variant, a.format, a.id, a.size_bytes`,
    [artifactIds, opts.runId ?? null, Math.min(Math.max(opts.perArtifact ?? 200, 1), 1000)],
  );
  const out = new Map<string, CompareFigures[]>(artifactIds.map((id) => [id, []]));
  for (const r of rows) out.get(r.artifact_id)?.push(toFigures(r));
  return out;
}

export interface ArtifactLabel {
  id: string;
  model: string;
  variant: string;
  format: string;
  sizeBytes: number;
  filename: string | null;
  project: string;
}

export async function getArtifactLabels(q: Queryable, ids: string[]): Promise<ArtifactLabel[]> {
  const { rows } = await q.query(
    `SELECT a.id, m.name AS model, a.variant, a.format, a.size_bytes, a.filename, p.name AS project
       FROM artifacts a JOIN models m ON m.id = a.model_id JOIN projects p ON p.id = m.project_id
      WHERE a.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({
    id: r.id, model: r.model, variant: r.variant, format: r.format, sizeBytes: Number(r.size_bytes), filename: r.filename, project: r.project,
  }));
}

export async function getRunLabels(q: Queryable, ids: string[]): Promise<RunOverview[]> {
  const { rows } = await q.query(
    `SELECT r.id, p.name AS project, r.commit_sha, r.branch, r.merge_base, r.status, r.jobs_total, r.jobs_finished, r.created_at,
            r.finished_at FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({
    id: r.id, project: r.project, commitSha: r.commit_sha, branch: r.branch, mergeBase: r.merge_base, status: r.status,
    jobsTotal: r.jobs_total, jobsFinished: r.jobs_finished, createdAt: r.created_at, finishedAt: r.finished_at, verdict: null,
    cells: { pass: 0, fail: 0, inconclusive: 0 },
  }));
}

/** The newest earlier run of the same project and branch: the default "compare with" for a run. */
export async function previousRunId(q: Queryable, runId: string): Promise<string | null> {
  const { rows } = await q.query(
    `SELECT p.id FROM runs r JOIN runs p ON p.project_id = r.project_id AND p.branch IS NOT DISTINCT FROM r.branch
                                      AND p.created_at < r.created_at
      WHERE r.id = $1 ORDER BY p.created_at DESC LIMIT 1`,
    [runId],
  );
  return rows[0]?.id ?? null;
}

// --------------------------------------------------------------------------------------- fleet

export interface FleetDevice
  extends Pick<
    DeviceRow,
    | 'id' | 'name' | 'platform' | 'arch' | 'soc' | 'os' | 'osVersion' | 'deviceModel' | 'pool' | 'host'
    | 'emulated' | 'backends' | 'state' | 'stateReason' | 'lastHeartbeatAt' | 'currentJobId' | 'consecutiveFailures'
  > {
  /** The heartbeat is older than the device's TTL: the reaper will (or should) mark it offline. */
  heartbeatStale: boolean;
  currentRunId: string | null;
  /** The project of the job in hand (views hide other projects' ids behind this). */
  currentProjectId: string | null;
  lastSessionAt: Date | null;
  lastSessionId: number | null;
  lastSessionProjectId: string | null;
  /** The latest session's device state (after, else before). */
  lastDeviceState: unknown;
}

export async function listFleet(q: Queryable): Promise<FleetDevice[]> {
  const { rows } = await q.query(
    `SELECT d.*, j.run_id AS current_run_id, jr.project_id AS current_project_id, ls.id AS last_session_id,
            ls.created_at AS last_session_at, ls.state AS last_state, ls.project_id AS last_session_project_id,
            (now() - d.last_heartbeat_at) > make_interval(secs => d.heartbeat_ttl_ms / 1000.0) AS stale
       FROM devices d
       LEFT JOIN jobs j ON j.id = d.current_job_id
       LEFT JOIN runs jr ON jr.id = j.run_id
       LEFT JOIN LATERAL (SELECT s.id, s.created_at, coalesce(s.device_state_after, s.device_state_before) AS state, sr.project_id
                            FROM sessions s JOIN runs sr ON sr.id = s.run_id
                           WHERE s.device_id = d.id ORDER BY s.created_at DESC LIMIT 1) ls ON true
      ORDER BY d.pool, d.id`,
  );
  return rows.map((r) => ({
    id: r.id, name: r.name, platform: r.platform, arch: r.arch, soc: r.soc, os: r.os, osVersion: r.os_version,
    deviceModel: r.device_model, pool: r.pool, host: r.host, emulated: r.emulated, backends: r.backends, state: r.state,
    stateReason: r.state_reason, lastHeartbeatAt: r.last_heartbeat_at, heartbeatStale: r.stale, currentJobId: r.current_job_id,
    currentRunId: r.current_run_id ?? null, currentProjectId: r.current_project_id ?? null,
    consecutiveFailures: r.consecutive_failures, lastSessionAt: r.last_session_at ?? null,
    lastSessionId: num(r.last_session_id), lastSessionProjectId: r.last_session_project_id ?? null, lastDeviceState: r.last_state ?? null,
  }));
}
