import type { Artifact, ArtifactFormat, Stored } from '@pocketbench/contracts';
import type { AdvisoryLockRow, NoRows, Queryable } from '../queryable.js';

/** One file of a model, with its model and project names. */
export type ArtifactRow = Stored<Artifact, 'createdAt'>;

const COLUMNS = `a.id, a.model_id AS "modelId", m.name AS model, m.project_id AS "projectId", p.name AS project,
  a.sha256, a.format, a.variant, a.size_bytes AS "sizeBytes", a.filename,
  a.parent_artifact_id AS "parentArtifactId", a.recipe, a.created_at AS "createdAt"`;
const FROM = `artifacts a JOIN models m ON m.id = a.model_id JOIN projects p ON p.id = m.project_id`;

export interface NewArtifact {
  modelId: string;
  sha256: string;
  format: ArtifactFormat;
  variant: string;
  sizeBytes: number;
  filename?: string | null;
  parentArtifactId?: string | null;
  recipe?: Record<string, unknown> | null;
}

/**
 * Inserts an artifact, or returns the existing one for the same model, content and variant
 * (`created` false): uploading the same file twice yields one artifact.
 */
export async function insertArtifact(q: Queryable, a: NewArtifact): Promise<{ artifact: ArtifactRow; created: boolean }> {
  const { rows } = await q.query<{ id: string; created: boolean }>(
    `WITH ins AS (
       INSERT INTO artifacts (model_id, sha256, format, variant, size_bytes, filename, parent_artifact_id, recipe)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (model_id, sha256, variant) DO NOTHING RETURNING id
     )
     SELECT id, true AS created FROM ins
     UNION ALL
     SELECT id, false FROM artifacts WHERE model_id = $1 AND sha256 = $2 AND variant = $4
     LIMIT 1`,
    [a.modelId, a.sha256, a.format, a.variant, a.sizeBytes, a.filename ?? null, a.parentArtifactId ?? null,
      a.recipe ? JSON.stringify(a.recipe) : null],
  );
  // Empty only when a concurrent insert committed after this statement's snapshot.
  const hit = rows[0] ?? { id: (await q.query<{ id: string }>(
    `SELECT id FROM artifacts WHERE model_id = $1 AND sha256 = $2 AND variant = $3`, [a.modelId, a.sha256, a.variant])).rows[0].id, created: false };
  if (!hit.created && a.parentArtifactId) {
    // The same bytes uploaded earlier by hand: the conversion that made them again gives them their lineage.
    await q.query<NoRows>(`UPDATE artifacts SET parent_artifact_id = $2, recipe = $3 WHERE id = $1 AND parent_artifact_id IS NULL`, [
      hit.id, a.parentArtifactId, a.recipe ? JSON.stringify(a.recipe) : null,
    ]);
  }
  const artifact = await getArtifact(q, hit.id);
  return { artifact: artifact!, created: hit.created };
}

export async function getArtifact(q: Queryable, id: string): Promise<ArtifactRow | null> {
  const { rows } = await q.query<ArtifactRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE a.id = $1`, [id]);
  return rows[0] ?? null;
}

/** The artifacts among `ids` that exist (any order; missing ids are simply absent). */
export async function getArtifactsByIds(q: Queryable, ids: string[]): Promise<ArtifactRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ArtifactRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE a.id = ANY($1::uuid[])`, [ids]);
  return rows;
}

/** Whether some artifact (of `projectId`, when given) has this content hash. */
export async function artifactShaExists(q: Queryable, sha256: string, projectId?: string): Promise<boolean> {
  const { rows } = await q.query<{ exists: boolean }>(
    // Eval sets share the content store: their bytes are served and kept like a model's.
    `SELECT EXISTS (SELECT 1 FROM ${FROM} WHERE a.sha256 = $1 AND ($2::uuid IS NULL OR m.project_id = $2))
         OR EXISTS (SELECT 1 FROM eval_sets e WHERE e.sha256 = $1 AND ($2::uuid IS NULL OR e.project_id = $2)) AS exists`,
    [sha256, projectId ?? null],
  );
  return rows[0].exists;
}

export async function listArtifacts(
  q: Queryable,
  filter: { projectId?: string; model?: string; parentArtifactId?: string; limit?: number; offset?: number } = {},
): Promise<ArtifactRow[]> {
  const { rows } = await q.query<ArtifactRow>(
    `SELECT ${COLUMNS} FROM ${FROM}
      WHERE ($1::uuid IS NULL OR m.project_id = $1) AND ($2::text IS NULL OR m.name = $2)
        AND ($5::uuid IS NULL OR a.parent_artifact_id = $5)
      ORDER BY a.created_at DESC, a.id LIMIT $3 OFFSET $4`,
    [filter.projectId ?? null, filter.model ?? null, filter.limit ?? 100, filter.offset ?? 0, filter.parentArtifactId ?? null],
  );
  return rows;
}

/** Transaction-scoped advisory lock on a content hash (released at commit or rollback). */
export async function lockArtifactSha(tx: Queryable, sha256: string): Promise<void> {
  await tx.query<AdvisoryLockRow>('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [sha256]);
}
