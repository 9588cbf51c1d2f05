import type { Queryable } from '../queryable.js';

export interface ProjectRow {
  id: string;
  name: string;
  createdAt: Date;
}

const COLUMNS = `id, name, created_at AS "createdAt"`;

/** Returns the project with this name, creating it first when it does not exist. */
export async function ensureProject(q: Queryable, name: string): Promise<ProjectRow> {
  const { rows } = await q.query<ProjectRow>(
    `WITH ins AS (
       INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}
     )
     SELECT * FROM ins UNION ALL SELECT ${COLUMNS} FROM projects WHERE name = $1 LIMIT 1`,
    [name],
  );
  return rows[0] ?? (await getProjectByName(q, name))!;
}

export async function getProjectByName(q: Queryable, name: string): Promise<ProjectRow | null> {
  const { rows } = await q.query<ProjectRow>(`SELECT ${COLUMNS} FROM projects WHERE name = $1`, [name]);
  return rows[0] ?? null;
}

export async function getProject(q: Queryable, id: string): Promise<ProjectRow | null> {
  const { rows } = await q.query<ProjectRow>(`SELECT ${COLUMNS} FROM projects WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export interface ProjectSummary extends ProjectRow {
  models: number;
  runs: number;
  lastRunAt: Date | null;
}

/** Projects with their model and run counts; `onlyId` restricts to one (a project token's own). */
export async function listProjects(q: Queryable, onlyId?: string): Promise<ProjectSummary[]> {
  const { rows } = await q.query<ProjectSummary>(
    `SELECT p.id, p.name, p.created_at AS "createdAt",
            (SELECT count(*)::int FROM models m WHERE m.project_id = p.id) AS models,
            (SELECT count(*)::int FROM runs r WHERE r.project_id = p.id) AS runs,
            (SELECT max(r.created_at) FROM runs r WHERE r.project_id = p.id) AS "lastRunAt"
       FROM projects p
      WHERE $1::uuid IS NULL OR p.id = $1
      ORDER BY p.name`,
    [onlyId ?? null],
  );
  return rows;
}
