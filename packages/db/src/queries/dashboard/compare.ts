// The Compare page (#/compare): runs side by side cell by cell, or artifacts per pool × backend.
import type { MatrixArtifact } from '@pocketbench/contracts';
import type { Queryable } from '../../queryable.js';
import { num, poolEmulatedSql } from './common.js';
import { toRunOverview, type RunLabelRow, type RunOverview } from './runs.js';

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

/** The columns of FIGURES with the pool and backend they are grouped by. */
interface FiguresRow {
  pool: string;
  backend: string;
  model: string;
  variant: string;
  format: string;
  artifact_id: string;
  size_bytes: number | string;
  p50: number | null;
  p90: number | null;
  rss: number | string | null;
  n: number;
  device_model: string | null;
  emulated: boolean;
  agreement: number | null;
  accuracy: number | null;
  accuracy_drop: number | null;
}

function toFigures(r: FiguresRow): CompareFigures {
  return {
    model: r.model, variant: r.variant, format: r.format, artifactId: r.artifact_id, pool: r.pool, emulated: r.emulated, backend: r.backend,
    deviceModel: r.device_model ?? null, sizeBytes: Number(r.size_bytes), p50Us: num(r.p50), p90Us: num(r.p90),
    peakRssBytes: num(r.rss), sessions: r.n,
    top1AgreementPct: num(r.agreement), accuracyTop1Pct: num(r.accuracy), accuracyDropPct: num(r.accuracy_drop),
  };
}

interface RunFiguresRow extends FiguresRow {
  run_id: string;
}

/** Per run, per cell: median of ok head session medians / p90s, max peak RSS. */
export async function compareRunCells(q: Queryable, runIds: string[]): Promise<Map<string, CompareFigures[]>> {
  const { rows } = await q.query<RunFiguresRow>(
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
  const { rows } = await q.query<FiguresRow>(
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

/** An artifact's label (as the matrix shows it) with its project's name. */
export interface ArtifactLabel extends MatrixArtifact {
  project: string;
}

interface ArtifactLabelRow {
  id: string;
  model: string;
  variant: string;
  format: string;
  size_bytes: number | string;
  filename: string | null;
  project: string;
}

export async function getArtifactLabels(q: Queryable, ids: string[]): Promise<ArtifactLabel[]> {
  const { rows } = await q.query<ArtifactLabelRow>(
    `SELECT a.id, m.name AS model, a.variant, a.format, a.size_bytes, a.filename, p.name AS project
       FROM artifacts a JOIN models m ON m.id = a.model_id JOIN projects p ON p.id = m.project_id
      WHERE a.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({
    id: r.id, model: r.model, variant: r.variant, format: r.format, sizeBytes: Number(r.size_bytes), filename: r.filename, project: r.project,
  }));
}

/** The runs' labels (no verdicts: the compare page names its columns by branch and commit). */
export async function getRunLabels(q: Queryable, ids: string[]): Promise<RunOverview[]> {
  const { rows } = await q.query<RunLabelRow>(
    `SELECT r.id, p.name AS project, r.commit_sha, r.branch, r.merge_base, r.status, r.jobs_total, r.jobs_finished, r.created_at,
            r.finished_at FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => toRunOverview(r));
}
