import type { Queryable } from '../queryable.js';

export interface ModelRow {
  id: string;
  projectId: string;
  name: string;
  createdAt: Date;
}

const COLUMNS = `id, project_id AS "projectId", name, created_at AS "createdAt"`;

/** Returns the project's model with this name, creating it first when needed. */
export async function ensureModel(q: Queryable, projectId: string, name: string): Promise<ModelRow> {
  const { rows } = await q.query<ModelRow>(
    `WITH ins AS (
       INSERT INTO models (project_id, name) VALUES ($1, $2) ON CONFLICT (project_id, name) DO NOTHING
       RETURNING ${COLUMNS}
     )
     SELECT * FROM ins UNION ALL SELECT ${COLUMNS} FROM models WHERE project_id = $1 AND name = $2 LIMIT 1`,
    [projectId, name],
  );
  if (rows[0]) return rows[0];
  // A concurrent insert committed after this statement's snapshot: read it now.
  const again = await q.query<ModelRow>(`SELECT ${COLUMNS} FROM models WHERE project_id = $1 AND name = $2`, [projectId, name]);
  return again.rows[0];
}

export async function listModels(q: Queryable, projectId: string): Promise<ModelRow[]> {
  const { rows } = await q.query<ModelRow>(`SELECT ${COLUMNS} FROM models WHERE project_id = $1 ORDER BY name`, [projectId]);
  return rows;
}
