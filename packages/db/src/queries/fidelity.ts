import type { CellFidelity, EvalSet, FidelityAgreementRow as FidelityAgreementRowDto, Stored } from '@pocketbench/contracts';
import type { Queryable } from '../queryable.js';

/** A labelled eval set (table `eval_sets`): contracts' EvalSet with its project, the label range flat. */
export interface EvalSetRow extends Stored<Omit<EvalSet, 'labels'>, 'createdAt'> {
  projectId: string;
  minLabel: number;
  maxLabel: number;
}

const EVAL_COLUMNS = `project_id AS "projectId", sha256, filename, size_bytes::float8 AS "sizeBytes", samples,
  sample_shape AS "sampleShape", input_dtype AS "inputDtype", min_label AS "minLabel", max_label AS "maxLabel",
  created_at AS "createdAt"`;

/** Records an eval set for a project; the same bytes uploaded again return the first row (`created` false). */
export async function insertEvalSet(
  q: Queryable,
  e: Omit<EvalSetRow, 'createdAt'>,
): Promise<{ evalSet: EvalSetRow; created: boolean }> {
  const { rows } = await q.query<{ created: boolean }>(
    `INSERT INTO eval_sets (project_id, sha256, filename, size_bytes, samples, sample_shape, input_dtype, min_label, max_label)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (project_id, sha256) DO NOTHING
     RETURNING true AS created`,
    [e.projectId, e.sha256, e.filename, e.sizeBytes, e.samples, e.sampleShape, e.inputDtype, e.minLabel, e.maxLabel],
  );
  const evalSet = (await getEvalSet(q, e.projectId, e.sha256))!;
  return { evalSet, created: rows.length > 0 };
}

/** The eval set with these bytes in a project (any project's, oldest first, when none is given). */
export async function getEvalSet(q: Queryable, projectId: string | undefined, sha256: string): Promise<EvalSetRow | null> {
  const { rows } = await q.query<EvalSetRow>(
    `SELECT ${EVAL_COLUMNS} FROM eval_sets WHERE ($1::uuid IS NULL OR project_id = $1) AND sha256 = $2 ORDER BY created_at LIMIT 1`,
    [projectId ?? null, sha256],
  );
  return rows[0] ?? null;
}

/** Whether any (or this project's) eval set has these bytes: the content route serves them to workers. */
export async function evalSetShaExists(q: Queryable, sha256: string, projectId?: string): Promise<boolean> {
  const { rows } = await q.query<{ exists: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM eval_sets WHERE sha256 = $1 AND ($2::uuid IS NULL OR project_id = $2)) AS exists',
    [sha256, projectId ?? null],
  );
  return rows[0].exists;
}

// Figures of the first output (index 0) and of the accuracy, per session, as SQL expressions on s.fidelity.
const PER_SESSION = `
  (s.fidelity->'agreement'->0->>'top1AgreementPct')::float8 AS agreement,
  (s.fidelity->'agreement'->0->>'top5OverlapPct')::float8 AS top5,
  (s.fidelity->'agreement'->0->>'cosine')::float8 AS cosine,
  (s.fidelity->'agreement'->0->>'maxAbsError')::float8 AS max_abs,
  (s.fidelity->'agreement'->0->>'snrDb')::float8 AS snr,
  (s.fidelity->'agreement'->0->>'top1AgreementPct') IS NOT NULL AND s.fidelity->'agreement'->0->'snrDb' = 'null'::jsonb AS exact,
  (s.fidelity->'accuracy'->>'top1Pct')::float8 AS acc1,
  (s.fidelity->'accuracy'->>'top5Pct')::float8 AS acc5,
  (s.fidelity->'accuracy'->'reference'->>'top1Pct')::float8 AS ref_acc1,
  (s.fidelity->'accuracy'->>'dropPct')::float8 AS drop`;

const MEDIANS = `
  count(*)::int AS sessions,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY agreement) AS "top1AgreementPct",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY top5) AS "top5OverlapPct",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY cosine) AS cosine,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY max_abs) AS "maxAbsError",
  CASE WHEN bool_and(exact) THEN NULL ELSE percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(snr, 'Infinity'::float8)) END AS "snrDb",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY acc1) AS "accuracyTop1Pct",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY acc5) AS "accuracyTop5Pct",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY ref_acc1) AS "referenceAccuracyTop1Pct",
  percentile_cont(0.5) WITHIN GROUP (ORDER BY drop) AS "accuracyDropPct"`;

/** The columns of MEDIANS (camel-cased by their aliases): a cell's fidelity figures, without its reference. */
type MedianColumns = Omit<CellFidelity, 'reference'>;

interface CellFidelityColumns extends MedianColumns {
  jobId: string;
  refId: string | null;
  refVariant: string | null;
  refFormat: string | null;
  refSha: string | null;
}

/**
 * Each cell's fidelity: medians over its ok head sessions that ran a fidelity pass, with the
 * cell's reference. Cells without a reference and without fidelity sessions are left out.
 */
export async function listCellFidelity(q: Queryable, runId: string): Promise<(CellFidelity & { jobId: string })[]> {
  const { rows } = await q.query<CellFidelityColumns>(
    `WITH f AS (
       SELECT s.job_id, ${PER_SESSION}
         FROM sessions s WHERE s.run_id = $1 AND s.role = 'head' AND s.status = 'ok' AND s.fidelity IS NOT NULL
     ), m AS (
       SELECT job_id, ${MEDIANS} FROM f GROUP BY job_id
     )
     SELECT j.id AS "jobId", r.id AS "refId", r.variant AS "refVariant", r.format AS "refFormat", r.sha256 AS "refSha",
            coalesce(m.sessions, 0) AS sessions, m."top1AgreementPct", m."top5OverlapPct", m.cosine, m."maxAbsError", m."snrDb",
            m."accuracyTop1Pct", m."accuracyTop5Pct", m."referenceAccuracyTop1Pct", m."accuracyDropPct"
       FROM jobs j LEFT JOIN m ON m.job_id = j.id LEFT JOIN artifacts r ON r.id = j.reference_artifact_id
      WHERE j.run_id = $1 AND (m.job_id IS NOT NULL OR j.reference_artifact_id IS NOT NULL)
      ORDER BY j.cell_index`,
    [runId],
  );
  return rows.map((r) => ({
    jobId: r.jobId,
    reference: r.refId && r.refVariant && r.refFormat && r.refSha
      ? { artifactId: r.refId, variant: r.refVariant, format: r.refFormat, sha256: r.refSha }
      : null,
    sessions: r.sessions,
    top1AgreementPct: r.top1AgreementPct,
    top5OverlapPct: r.top5OverlapPct,
    cosine: r.cosine,
    maxAbsError: r.maxAbsError,
    snrDb: r.snrDb,
    accuracyTop1Pct: r.accuracyTop1Pct,
    accuracyTop5Pct: r.accuracyTop5Pct,
    referenceAccuracyTop1Pct: r.referenceAccuracyTop1Pct,
    accuracyDropPct: r.accuracyDropPct,
  }));
}

/** One row of the cross-runtime / cross-device agreement table. */
export type FidelityAgreementRow = Stored<FidelityAgreementRowDto, 'lastAt'>;

/** The agreement query's columns: the row's own fields (aliased to their names), MEDIANS, and the reference's. */
interface AgreementColumns extends MedianColumns, Omit<FidelityAgreementRow, 'reference' | keyof MedianColumns> {
  ref_model: string;
  ref_variant: string;
  ref_format: string;
  ref_sha: string;
}

/**
 * Agreement with the reference across runtimes, backends and devices: every stored fidelity
 * session of a project's models, grouped by (artifact, runtime, backend, device arch, device
 * model, reference), medians over sessions. A backend that computes wrong shows up as a row
 * whose agreement is low while the same artifact elsewhere agrees.
 */
export async function listFidelityAgreement(
  q: Queryable,
  filter: { projectId?: string; model?: string; referenceSha256?: string; limit?: number },
): Promise<FidelityAgreementRow[]> {
  const { rows } = await q.query<AgreementColumns>(
    `WITH f AS (
       SELECT m.name AS model, a.variant, a.format, a.sha256 AS artifact_sha, s.runtime, s.backend_requested AS backend,
              s.device_arch, d.device_model, rm.name AS ref_model, ra.variant AS ref_variant, ra.format AS ref_format,
              ra.sha256 AS ref_sha, s.run_id, s.created_at, ${PER_SESSION}
         FROM sessions s
         JOIN jobs j ON j.id = s.job_id
         JOIN artifacts ra ON ra.id = j.reference_artifact_id JOIN models rm ON rm.id = ra.model_id
         JOIN artifacts a ON a.id = s.artifact_id JOIN models m ON m.id = a.model_id
         LEFT JOIN devices d ON d.id = s.device_id
        WHERE s.role = 'head' AND s.status = 'ok' AND s.fidelity ? 'agreement'
          AND ($1::uuid IS NULL OR m.project_id = $1) AND ($2::text IS NULL OR m.name = $2) AND ($3::text IS NULL OR ra.sha256 = $3)
     )
     SELECT model, variant, format, artifact_sha AS "artifactSha256", runtime, backend, device_arch AS "deviceArch",
            device_model AS "deviceModel", ref_model, ref_variant, ref_format, ref_sha,
            count(DISTINCT run_id)::int AS runs, (array_agg(run_id ORDER BY created_at DESC))[1] AS "lastRunId",
            max(created_at) AS "lastAt", ${MEDIANS}
       FROM f
      GROUP BY model, variant, format, artifact_sha, runtime, backend, device_arch, device_model, ref_model, ref_variant, ref_format, ref_sha
      ORDER BY model, "top1AgreementPct" NULLS FIRST, variant, format, backend
      LIMIT $4`,
    [filter.projectId ?? null, filter.model ?? null, filter.referenceSha256 ?? null, filter.limit ?? 500],
  );
  return rows.map((r) => ({
    model: r.model,
    variant: r.variant,
    format: r.format,
    artifactSha256: r.artifactSha256,
    runtime: r.runtime,
    backend: r.backend,
    deviceArch: r.deviceArch,
    deviceModel: r.deviceModel,
    reference: { model: r.ref_model, variant: r.ref_variant, format: r.ref_format, sha256: r.ref_sha },
    sessions: r.sessions,
    runs: r.runs,
    lastRunId: r.lastRunId,
    lastAt: r.lastAt,
    top1AgreementPct: r.top1AgreementPct,
    top5OverlapPct: r.top5OverlapPct,
    cosine: r.cosine,
    maxAbsError: r.maxAbsError,
    snrDb: r.snrDb,
    accuracyTop1Pct: r.accuracyTop1Pct,
    accuracyDropPct: r.accuracyDropPct,
  }));
}

/** Head sessions' fidelity sections of a run, by job (the gate's input). */
export async function listRunFidelity(q: Queryable, runId: string): Promise<Map<string, unknown[]>> {
  const { rows } = await q.query<{ jobId: string; fidelity: unknown }>(
    `SELECT job_id AS "jobId", fidelity FROM sessions
      WHERE run_id = $1 AND role = 'head' AND status = 'ok' AND fidelity IS NOT NULL ORDER BY job_id, session_index`,
    [runId],
  );
  const out = new Map<string, unknown[]>();
  for (const r of rows) out.set(r.jobId, [...(out.get(r.jobId) ?? []), r.fidelity]);
  return out;
}
