// The Run page (#/runs/:id): the matrix of artifacts × pool × backend with figures and verdicts.
import type {
  JobStatus, MatrixArtifact, MatrixCell, MatrixColumn, MatrixVerdict, RunConfig, RunMatrix as RunMatrixDto, Stored, Verdict, VerdictCounts,
} from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { num, poolEmulatedSql } from './common.js';
import { toRunOverview, type RunLabelRow } from './runs.js';

/** The matrix as the db builds it (the api adds the previous run and a variants run's lineage). */
export type RunMatrix = Omit<RunMatrixDto, 'run' | 'previousRunId' | 'lineage'> & {
  run: Stored<RunMatrixDto['run'], 'createdAt' | 'finishedAt' | 'startedAt'>;
};

interface MatrixRunRow extends RunLabelRow {
  baseline_branch: string;
  started_at: Date | null;
  config: RunConfig;
}

interface MatrixCellRow {
  id: string;
  cell_index: number;
  artifact_id: string;
  pool: string;
  backend: string;
  status: JobStatus;
  reason: string | null;
  sessions_planned: number;
  sessions_done: number;
  emulated: boolean;
  variant: string;
  format: string;
  size_bytes: number | string;
  filename: string | null;
  model: string;
  ok: number | null;
  unstable: number | null;
  p50: number | null;
  p90: number | null;
  rss: number | string | null;
  series_id: number | string | null;
  agreement: number | null;
  accuracy: number | null;
  accuracy_drop: number | null;
  device_ids: string[] | null;
  runtime_label: string | null;
  gpu_adapter: string | null;
}

interface MatrixVerdictRow {
  job_id: string | null;
  metric: string;
  verdict: Verdict;
  head_value: number | null;
  baseline_value: number | null;
  ratio: number | null;
  ci_low: number | null;
  ci_high: number | null;
  budget: number | null;
  baseline_source: string | null;
}

interface OkSessionRow {
  job_id: string;
  id: number | string;
  p50_us: number;
}

const VERDICT_RANK: Record<Verdict, number> = { pass: 0, inconclusive: 1, fail: 2 };

function toVerdict(v: MatrixVerdictRow): MatrixVerdict {
  return {
    metric: v.metric, verdict: v.verdict, headValue: num(v.head_value), baselineValue: num(v.baseline_value),
    ratio: num(v.ratio), ciLow: num(v.ci_low), ciHigh: num(v.ci_high), budget: num(v.budget), baselineSource: v.baseline_source,
  };
}

/** A run's matrix: rows are artifacts, columns pool × backend, each cell with figures and verdicts. */
export async function getRunMatrix(q: Queryable, runId: string): Promise<RunMatrix | undefined> {
  const run = await q.query<MatrixRunRow>(
    `SELECT r.id, p.name AS project, r.commit_sha, r.branch, r.merge_base, r.baseline_branch, r.status, r.jobs_total,
            r.jobs_finished, r.created_at, r.started_at, r.finished_at, r.config
       FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = $1`,
    [runId],
  );
  const r = run.rows[0];
  if (!r) return undefined;
  const [cells, verdicts] = await Promise.all([
    q.query<MatrixCellRow>(
      `SELECT j.id, j.cell_index, j.artifact_id, j.pool, j.backend, j.status, j.reason, j.sessions_planned, j.sessions_done,
              ${poolEmulatedSql('j.pool')} AS emulated, a.variant, a.format, a.size_bytes, a.filename, m.name AS model, agg.*
         FROM jobs j JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
         LEFT JOIN LATERAL (
           SELECT count(*) FILTER (WHERE s.status = 'ok')::int AS ok, count(*) FILTER (WHERE s.status = 'unstable')::int AS unstable,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.p50_us) FILTER (WHERE s.status = 'ok') AS p50,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.p90_us) FILTER (WHERE s.status = 'ok') AS p90,
                  max(s.peak_rss_bytes) FILTER (WHERE s.status = 'ok') AS rss,
                  max(s.series_id) AS series_id,
                  array_remove(array_agg(DISTINCT s.device_id ORDER BY s.device_id) FILTER (WHERE s.status = 'ok'), NULL) AS device_ids,
                  string_agg(DISTINCT s.runtime || coalesce(' ' || s.runtime_version, ''), ', ') FILTER (WHERE s.status = 'ok') AS runtime_label,
                  string_agg(DISTINCT (s.report->'backend'->'adapter'->>'name') || coalesce(' (' || (s.report->'backend'->'adapter'->>'deviceType') || ')', ''), ', ')
                    FILTER (WHERE s.status = 'ok') AS gpu_adapter,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'agreement'->0->>'top1AgreementPct')::float8) FILTER (WHERE s.status = 'ok') AS agreement,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'accuracy'->>'top1Pct')::float8) FILTER (WHERE s.status = 'ok') AS accuracy,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY (s.fidelity->'accuracy'->>'dropPct')::float8) FILTER (WHERE s.status = 'ok') AS accuracy_drop
             FROM sessions s WHERE s.job_id = j.id AND s.role = 'head') agg ON true
        WHERE j.run_id = $1
        ORDER BY j.cell_index`,
      [runId],
    ),
    q.query<MatrixVerdictRow>(
      `SELECT job_id, metric, verdict, head_value, baseline_value, ratio, ci_low, ci_high, budget, baseline_source
         FROM verdicts WHERE run_id = $1 ORDER BY created_at, id`,
      [runId],
    ),
  ]);
  // The session shown for a cell is the ok session whose median is closest to the cell's median.
  const okSessions = await q.query<OkSessionRow>(
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
  const columns = new Map<string, MatrixColumn>();
  const out: MatrixCell[] = cells.rows.map((c) => {
    artifacts.set(c.artifact_id, {
      id: c.artifact_id, model: c.model, variant: c.variant, format: c.format, sizeBytes: Number(c.size_bytes), filename: c.filename,
    });
    columns.set(`${c.pool}\u0000${c.backend}`, { pool: c.pool, backend: c.backend, emulated: c.emulated });
    const vs = byJob.get(c.id) ?? [];
    const worst = vs.reduce<Verdict | null>((w, v) => (w === null || VERDICT_RANK[v.verdict] > VERDICT_RANK[w] ? v.verdict : w), null);
    return {
      jobId: c.id, cellIndex: c.cell_index, artifactId: c.artifact_id, pool: c.pool, emulated: c.emulated, backend: c.backend, status: c.status,
      reason: c.reason, sessionsPlanned: c.sessions_planned, sessionsDone: c.sessions_done, sessionsOk: c.ok ?? 0,
      sessionsUnstable: c.unstable ?? 0, p50Us: num(c.p50), p90Us: num(c.p90), peakRssBytes: num(c.rss),
      seriesId: num(c.series_id), sessionId: sessionOf.get(c.id)?.id ?? null, verdict: worst, verdicts: vs,
      top1AgreementPct: num(c.agreement), accuracyTop1Pct: num(c.accuracy), accuracyDropPct: num(c.accuracy_drop),
      devices: c.device_ids ?? [], runtime: c.runtime_label, gpuAdapter: c.gpu_adapter,
    };
  });
  const runVerdict = runVerdicts.length ? runVerdicts[runVerdicts.length - 1].verdict : null;
  const counts: VerdictCounts = { pass: 0, fail: 0, inconclusive: 0 };
  for (const c of out) if (c.verdict) counts[c.verdict] += 1;
  return {
    run: {
      ...toRunOverview(r, runVerdict, counts),
      baselineBranch: r.baseline_branch, startedAt: r.started_at, config: r.config,
    },
    artifacts: [...artifacts.values()].sort((a, b) => a.model.localeCompare(b.model) || a.format.localeCompare(b.format) ||
      variantOrder(a.variant) - variantOrder(b.variant)),
    columns: [...columns.values()],
    cells: out,
    runVerdicts,
  };
}

function variantOrder(v: string): number {
  const i = ['fp32', 'fp16', 'int8-dynamic', 'int8-static'].indexOf(v);
  return i < 0 ? 99 : i;
}

interface PreviousRunRow {
  id: string;
}

/** The newest earlier run of the same project and branch: the Run page's default "compare with". */
export async function previousRunId(q: Queryable, runId: string): Promise<string | null> {
  const { rows } = await q.query<PreviousRunRow>(
    `SELECT p.id FROM runs r JOIN runs p ON p.project_id = r.project_id AND p.branch IS NOT DISTINCT FROM r.branch
                                      AND p.created_at < r.created_at
      WHERE r.id = $1 ORDER BY p.created_at DESC LIMIT 1`,
    [runId],
  );
  return rows[0]?.id ?? null;
}
