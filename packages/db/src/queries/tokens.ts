import { createHash, randomBytes } from 'node:crypto';
import type { TokenKind } from '@pocketbench/contracts';
import type { NoRows, Queryable } from '../queryable.js';

export type { TokenKind };

export interface TokenRow {
  id: string;
  kind: TokenKind;
  /** The project of a project token; null for admin and worker tokens. */
  projectId: string | null;
  projectName: string | null;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const COLUMNS = `t.id, t.kind, t.project_id AS "projectId", p.name AS "projectName", t.name,
  t.created_at AS "createdAt", t.revoked_at AS "revokedAt"`;

/** The stored form of a bearer secret: sha256, hex. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new bearer secret: 256 random bits. */
export function newTokenSecret(): string {
  return `pbt_${randomBytes(32).toString('base64url')}`;
}

/**
 * Stores a token by the sha256 (hex) of its secret; the secret itself is never stored. A
 * project token has a `projectId`; admin and worker tokens have none (a CHECK enforces it).
 */
export async function insertToken(
  q: Queryable,
  token: { kind: TokenKind; projectId: string | null; name: string; tokenHash: string },
): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `WITH t AS (
       INSERT INTO tokens (kind, project_id, name, token_hash) VALUES ($1, $2, $3, $4) RETURNING *
     )
     SELECT ${COLUMNS} FROM t LEFT JOIN projects p ON p.id = t.project_id`,
    [token.kind, token.projectId, token.name, token.tokenHash],
  );
  return rows[0];
}

/**
 * Issues a worker token named `name`, revoking earlier live worker tokens of that name first
 * (`pocketbench up` mints one per start). Returns the secret, shown only to the caller.
 */
export async function mintWorkerToken(q: Queryable, name: string): Promise<{ id: string; token: string }> {
  await q.query<NoRows>(`UPDATE tokens SET revoked_at = now() WHERE kind = 'worker' AND name = $1 AND revoked_at IS NULL`, [name]);
  const token = newTokenSecret();
  const row = await insertToken(q, { kind: 'worker', projectId: null, name, tokenHash: hashToken(token) });
  return { id: row.id, token };
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

export async function listTokens(q: Queryable, projectId?: string): Promise<TokenRow[]> {
  const { rows } = await q.query<TokenRow>(
    `SELECT ${COLUMNS} FROM tokens t LEFT JOIN projects p ON p.id = t.project_id
      WHERE $1::uuid IS NULL OR t.project_id = $1 ORDER BY t.created_at`,
    [projectId ?? null],
  );
  return rows;
}

export async function revokeToken(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query<NoRows>(`UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return (rowCount ?? 0) > 0;
}
