import type { MatrixVerdict } from '@pocketbench/contracts';
import type { NoRows, Queryable } from '../queryable.js';

/** A verdict per cell (`jobId` set) or per run (`jobId` null): what the matrix shows of it, with its evidence. */
export interface VerdictRow extends MatrixVerdict {
  id: number;
  runId: string;
  jobId: string | null;
  evidence: Record<string, unknown>;
  createdAt: Date;
}

export type NewVerdict = Omit<VerdictRow, 'id' | 'createdAt' | 'evidence' | 'headValue' | 'baselineValue' | 'ratio' | 'ciLow' | 'ciHigh' | 'budget' | 'baselineSource'> &
  Partial<Pick<VerdictRow, 'evidence' | 'headValue' | 'baselineValue' | 'ratio' | 'ciLow' | 'ciHigh' | 'budget' | 'baselineSource'>>;

const COLUMNS = `id, run_id AS "runId", job_id AS "jobId", metric, verdict, head_value AS "headValue",
  baseline_value AS "baselineValue", ratio, ci_low AS "ciLow", ci_high AS "ciHigh", budget,
  baseline_source AS "baselineSource", evidence, created_at AS "createdAt"`;

/** Inserts verdicts in one statement. */
export async function insertVerdicts(q: Queryable, verdicts: NewVerdict[]): Promise<void> {
  if (verdicts.length === 0) return;
  const col = <K extends keyof NewVerdict>(k: K) => verdicts.map((v) => v[k] ?? null);
  await q.query<NoRows>(
    `INSERT INTO verdicts (run_id, job_id, metric, verdict, head_value, baseline_value, ratio, ci_low, ci_high,
                           budget, baseline_source, evidence)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[],
                          $8::float8[], $9::float8[], $10::float8[], $11::text[], $12::jsonb[])`,
    [
      col('runId'), col('jobId'), col('metric'), col('verdict'), col('headValue'), col('baselineValue'), col('ratio'),
      col('ciLow'), col('ciHigh'), col('budget'), col('baselineSource'),
      verdicts.map((v) => JSON.stringify(v.evidence ?? {})),
    ],
  );
}

/** Replaces a run's verdicts (a re-evaluated gate supersedes the previous one). Use in a transaction. */
export async function replaceVerdictsForRun(q: Queryable, runId: string, verdicts: NewVerdict[]): Promise<void> {
  await q.query<NoRows>(`DELETE FROM verdicts WHERE run_id = $1`, [runId]);
  await insertVerdicts(q, verdicts);
}

export async function listVerdictsForRun(q: Queryable, runId: string): Promise<VerdictRow[]> {
  const { rows } = await q.query<VerdictRow>(
    `SELECT ${COLUMNS} FROM verdicts WHERE run_id = $1 ORDER BY job_id NULLS FIRST, metric, id`,
    [runId],
  );
  return rows;
}
