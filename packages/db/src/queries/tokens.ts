import type { Queryable } from '../queryable.js';

export interface TokenRow {
  id: string;
  /** null for an admin token. */
  projectId: string | null;
  projectName: string | null;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const COLUMNS = `t.id, t.project_id AS "projectId", p.name AS "projectName", t.name,
  t.created_at AS "createdAt", t.revoked_at AS "revokedAt"`;

/** Stores a token by the sha256 (hex) of its secret; the secret itself is never stored. */
export async function insertToken(
  q: Queryable,
  token: { projectId: string | null; name: string; tokenHash: string },
): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `WITH t AS (
       INSERT INTO tokens (project_id, name, token_hash) VALUES ($1, $2, $3) RETURNING *
     )
     SELECT ${COLUMNS} FROM t LEFT JOIN projects p ON p.id = t.project_id`,
    [token.projectId, token.name, token.tokenHash],
  );
  return rows[0];
}

/** The live (not revoked) token whose secret hashes to `tokenHash`. */
export async function findTokenByHash(q: Queryable, tokenHash: string): Promise<TokenRow | null> {
  const { rows } = await q.query<TokenRow>(
    `SELECT ${COLUMNS} FROM tokens t LEFT JOIN projects p ON p.id = t.project_id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** Whether any live token exists (no token and no admin token configured = open local mode). */
export async function anyTokenExists(q: Queryable): Promise<boolean> {
  const { rows } = await q.query<{ exists: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM tokens WHERE revoked_at IS NULL) AS exists`,
  );
  return rows[0].exists;
}

export async function listTokens(q: Queryable, projectId?: string): Promise<TokenRow[]> {
  const { rows } = await q.query<TokenRow>(
    `SELECT ${COLUMNS} FROM tokens t LEFT JOIN projects p ON p.id = t.project_id
      WHERE $1::uuid IS NULL OR t.project_id = $1 ORDER BY t.created_at`,
    [projectId ?? null],
  );
  return rows;
}

export async function revokeToken(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query(`UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return (rowCount ?? 0) > 0;
}
