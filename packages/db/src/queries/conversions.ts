import type { CalibrationUploaded, Conversion, Stored } from '@pocketbench/contracts';
import type { NoRows, Queryable } from '../queryable.js';

/** A calibration set (.npz) for int8-static conversions (table `calibration_sets`). */
export type CalibrationSetRow = Stored<Omit<CalibrationUploaded, 'samples' | 'created'>, 'createdAt'>;

const CAL_COLUMNS = `id, project_id AS "projectId", sha256, size_bytes AS "sizeBytes", array_name AS "arrayName",
  dtype, shape, filename, created_at AS "createdAt"`;

/** Inserts a calibration set, or returns the project's existing one with the same bytes. */
export async function insertCalibrationSet(
  q: Queryable,
  c: Omit<CalibrationSetRow, 'id' | 'createdAt'>,
): Promise<{ calibration: CalibrationSetRow; created: boolean }> {
  const ins = await q.query<CalibrationSetRow>(
    `INSERT INTO calibration_sets (project_id, sha256, size_bytes, array_name, dtype, shape, filename)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (project_id, sha256) DO NOTHING RETURNING ${CAL_COLUMNS}`,
    [c.projectId, c.sha256, c.sizeBytes, c.arrayName, c.dtype, c.shape, c.filename],
  );
  if (ins.rows[0]) return { calibration: ins.rows[0], created: true };
  const { rows } = await q.query<CalibrationSetRow>(
    `SELECT ${CAL_COLUMNS} FROM calibration_sets WHERE project_id = $1 AND sha256 = $2`,
    [c.projectId, c.sha256],
  );
  return { calibration: rows[0], created: false };
}

export async function getCalibrationSet(q: Queryable, id: string): Promise<CalibrationSetRow | null> {
  const { rows } = await q.query<CalibrationSetRow>(`SELECT ${CAL_COLUMNS} FROM calibration_sets WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** Whether a calibration set (of `projectId`, when given) has this content hash. */
export async function calibrationShaExists(q: Queryable, sha256: string, projectId?: string): Promise<boolean> {
  const { rows } = await q.query<{ exists: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM calibration_sets WHERE sha256 = $1 AND ($2::uuid IS NULL OR project_id = $2)) AS exists`,
    [sha256, projectId ?? null],
  );
  return rows[0].exists;
}

/** One conversion of a parent artifact into one variant (table `conversions`). */
export type ConversionRow = Stored<Conversion, 'createdAt' | 'startedAt' | 'finishedAt'>;

const CONV_COLUMNS = `c.id, c.parent_artifact_id AS "parentArtifactId", c.variant, c.format, c.recipe_key AS "recipeKey",
  c.input_shape AS "inputShape", c.calibration_set_id AS "calibrationSetId", c.calibration_samples AS "calibrationSamples",
  c.status, c.reason, c.error_class AS "errorClass", c.unsupported_op AS "unsupportedOp", c.attempts,
  c.output_artifact_id AS "outputArtifactId", c.worker_host AS "workerHost", c.created_at AS "createdAt",
  c.started_at AS "startedAt", c.finished_at AS "finishedAt"`;

export type NewConversion = Pick<
  ConversionRow,
  'id' | 'parentArtifactId' | 'variant' | 'format' | 'recipeKey' | 'inputShape' | 'calibrationSetId' | 'calibrationSamples'
>;

/**
 * The conversion with this deterministic id, inserted when new. An existing one is returned as
 * it is: `done` is the cache hit, `queued`/`running` is shared with the run that asked first.
 * One that ended `failed` (an infrastructure fault after its retries) is queued again.
 */
export async function ensureConversion(q: Queryable, c: NewConversion): Promise<{ conversion: ConversionRow; created: boolean }> {
  const ins = await q.query<{ id: string }>(
    `INSERT INTO conversions (id, parent_artifact_id, variant, format, recipe_key, input_shape, calibration_set_id, calibration_samples)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [c.id, c.parentArtifactId, c.variant, c.format, c.recipeKey, c.inputShape, c.calibrationSetId, c.calibrationSamples],
  );
  if (!ins.rows[0]) {
    await q.query<NoRows>(
      `UPDATE conversions SET status = 'queued', reason = NULL, error_class = NULL, started_at = NULL, finished_at = NULL
        WHERE id = $1 AND status = 'failed' AND error_class = 'infrastructure'`,
      [c.id],
    );
  }
  return { conversion: (await getConversion(q, c.id))!, created: ins.rows.length > 0 };
}

export async function getConversion(q: Queryable, id: string): Promise<ConversionRow | null> {
  const { rows } = await q.query<ConversionRow>(`SELECT ${CONV_COLUMNS} FROM conversions c WHERE c.id = $1`, [id]);
  return rows[0] ?? null;
}

/**
 * A converter host takes the conversion: `running`, one more attempt, and its runs leave
 * `queued`. Returns the row as it is now; a finished one is returned unchanged (the job is then
 * a duplicate and has nothing to do).
 */
export async function markConversionRunning(q: Queryable, id: string, workerHost: string): Promise<ConversionRow | null> {
  await q.query<NoRows>(
    `WITH c AS (
       UPDATE conversions SET status = 'running', attempts = attempts + 1, worker_host = $2, started_at = coalesce(started_at, now())
        WHERE id = $1 AND status IN ('queued', 'running') RETURNING id
     )
     UPDATE runs SET status = 'running', started_at = coalesce(started_at, now())
       FROM run_conversions rc, c WHERE rc.conversion_id = c.id AND runs.id = rc.run_id AND runs.status = 'queued'`,
    [id, workerHost],
  );
  return getConversion(q, id);
}

/** Ends a conversion (`done` with its output, or `failed`/`unsupported` with the reason); false if it had already ended. */
export async function finishConversion(
  q: Queryable,
  id: string,
  end:
    | { status: 'done'; outputArtifactId: string }
    | { status: 'failed' | 'unsupported'; reason: string; errorClass: string; unsupportedOp?: string | null },
): Promise<boolean> {
  const { rowCount } = await q.query<NoRows>(
    `UPDATE conversions SET status = $2, output_artifact_id = $3, reason = $4, error_class = $5, unsupported_op = $6,
                            started_at = coalesce(started_at, now()), finished_at = now()
      WHERE id = $1 AND status IN ('queued', 'running')`,
    end.status === 'done'
      ? [id, 'done', end.outputArtifactId, null, null, null]
      : [id, end.status, null, end.reason.slice(0, 4000), end.errorClass, end.unsupportedOp ?? null],
  );
  return (rowCount ?? 0) > 0;
}

/** Links a run to the conversions it waits for, one slot per variant in the run's order. */
export async function insertRunConversions(q: Queryable, runId: string, conversionIds: string[]): Promise<void> {
  if (conversionIds.length === 0) return;
  await q.query<NoRows>(
    `INSERT INTO run_conversions (run_id, slot, conversion_id)
     SELECT $1, s.slot - 1, s.id FROM unnest($2::text[]) WITH ORDINALITY AS s(id, slot)`,
    [runId, conversionIds],
  );
}

/** A run's slot whose conversion has finished and whose cells are not stored yet. */
export interface SlotToPlan {
  runId: string;
  slot: number;
  conversionId: string;
}

/**
 * Claims the slots of unfinished runs whose conversion has ended and whose cells are not stored
 * yet (all of them, or those of one conversion), marking them planned; a run's non-fp32 slots
 * wait until its fp32 conversions have ended (their cells' fidelity reference). Call it in the
 * transaction that stores the cells: a concurrent caller waits on the row locks and then sees
 * them planned, so a slot's cells are stored exactly once.
 */
export async function claimSlotsToPlan(q: Queryable, conversionId?: string): Promise<SlotToPlan[]> {
  const { rows } = await q.query<SlotToPlan>(
    `WITH todo AS (
       SELECT rc.run_id, rc.slot FROM run_conversions rc
         JOIN conversions c ON c.id = rc.conversion_id
         JOIN runs r ON r.id = rc.run_id
        WHERE rc.planned_at IS NULL AND c.status IN ('done', 'failed', 'unsupported')
          AND r.status IN ('queued', 'running') AND ($1::text IS NULL OR rc.conversion_id = $1)
          -- The fp32 variant is the run's default fidelity reference: other variants wait for it.
          AND (c.variant = 'fp32' OR NOT EXISTS (
                SELECT 1 FROM run_conversions rc2 JOIN conversions c2 ON c2.id = rc2.conversion_id
                 WHERE rc2.run_id = rc.run_id AND c2.variant = 'fp32' AND c2.status IN ('queued', 'running')))
        FOR UPDATE OF rc SKIP LOCKED
     )
     UPDATE run_conversions rc SET planned_at = now() FROM todo
      WHERE rc.run_id = todo.run_id AND rc.slot = todo.slot AND rc.planned_at IS NULL
      RETURNING rc.run_id AS "runId", rc.slot, rc.conversion_id AS "conversionId"`,
    [conversionId ?? null],
  );
  return rows.sort((a, b) => a.runId.localeCompare(b.runId) || a.slot - b.slot);
}

/** A run's conversions in slot order, with their status and output. */
export interface RunConversionRow extends ConversionRow {
  slot: number;
  plannedAt: Date | null;
}

export async function listRunConversions(q: Queryable, runId: string): Promise<RunConversionRow[]> {
  const { rows } = await q.query<RunConversionRow>(
    `SELECT rc.slot, rc.planned_at AS "plannedAt", ${CONV_COLUMNS}
       FROM run_conversions rc JOIN conversions c ON c.id = rc.conversion_id
      WHERE rc.run_id = $1 ORDER BY rc.slot`,
    [runId],
  );
  return rows;
}

/** Conversions not finished (for rebuilding their queue jobs), oldest first, with what the job needs. */
export interface OpenConversion extends ConversionRow {
  parentSha256: string;
  calibrationSha256: string | null;
}

export async function listOpenConversions(q: Queryable): Promise<OpenConversion[]> {
  const { rows } = await q.query<OpenConversion>(
    `SELECT ${CONV_COLUMNS}, a.sha256 AS "parentSha256", cs.sha256 AS "calibrationSha256"
       FROM conversions c JOIN artifacts a ON a.id = c.parent_artifact_id
       LEFT JOIN calibration_sets cs ON cs.id = c.calibration_set_id
      WHERE c.status IN ('queued', 'running') ORDER BY c.created_at`,
  );
  return rows;
}

/**
 * Adds cells to a run after submission (a variant's cells once its conversion has ended):
 * counts the ones that are finished already (`unsupported`, `failed`) and finishes the run
 * when they were its last.
 */
export async function countAddedCells(q: Queryable, runId: string, finished: number, failed: number): Promise<void> {
  if (finished === 0) return;
  await q.query<NoRows>(
    `UPDATE runs SET
       jobs_finished = jobs_finished + $2,
       jobs_failed = jobs_failed + $3,
       started_at = coalesce(started_at, now()),
       status = CASE
         WHEN status = 'cancelled' THEN 'cancelled'
         WHEN jobs_finished + $2 < jobs_total THEN 'running'
         WHEN jobs_done = 0 AND jobs_failed + $3 > 0 THEN 'failed'
         ELSE 'done' END,
       finished_at = CASE WHEN jobs_finished + $2 >= jobs_total THEN now() END
     WHERE id = $1`,
    [runId, finished, failed],
  );
}
