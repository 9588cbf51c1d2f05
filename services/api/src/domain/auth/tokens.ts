import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  anyTokenExists, ensureProject, findTokenByHash, getProjectByName, insertToken, type Pool, type ProjectRow, type Queryable,
} from '@pocketbench/db';
import { ApiError, forbidden, unauthorized, validationFailed } from '../../errors.js';

/** Who is calling: an admin (env token, admin token row, or open local mode) or one project's token. */
export type Principal =
  | { kind: 'admin'; via: 'env' | 'token' | 'open'; tokenId?: string }
  | { kind: 'project'; projectId: string; project: string; tokenId: string };

export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_PROJECT = 'default';

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface CreatedToken {
  /** The bearer secret; shown once, only its sha256 is stored. */
  token: string;
  id: string;
  name: string;
  project: string | null;
  admin: boolean;
}

/**
 * Issues a token: a project token (`project` given; the project is created when new) or an
 * admin token (`admin: true`). Used by `POST /api/v1/tokens` and by `pocketbench token create`.
 */
export async function createToken(
  db: Pool,
  opts: { project?: string; name?: string; admin?: boolean },
): Promise<CreatedToken> {
  if (opts.admin && opts.project) throw validationFailed('a token is either admin or for one project, not both', { field: 'project' });
  if (!opts.admin && !opts.project) throw validationFailed('project is required for a project token (or ask for admin: true)', { field: 'project' });
  let project: ProjectRow | null = null;
  if (opts.project) {
    if (!PROJECT_NAME.test(opts.project)) throw invalidProjectName('project', opts.project);
    project = await ensureProject(db, opts.project);
  }
  const secret = `pbt_${randomBytes(32).toString('base64url')}`;
  const name = opts.name?.trim() || (opts.admin ? 'admin' : `${opts.project} token`);
  const row = await insertToken(db, { projectId: project?.id ?? null, name, tokenHash: hashToken(secret) });
  return { token: secret, id: row.id, name: row.name, project: row.projectName, admin: row.projectId === null };
}

export function invalidProjectName(field: string, value: string): ApiError {
  return validationFailed(
    `${field} "${value}" is not a valid project name (lowercase letters, digits, ".", "_", "-"; at most 64; starting with a letter or digit)`,
    { field },
  );
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Resolves the caller from an `Authorization` header. Without a configured admin token and
 * with no token stored, the api is in open local mode: a request without a token acts as admin
 * (so `npm start` works out of the box); once a token exists every request needs one.
 */
export async function resolvePrincipal(db: Pool, adminToken: string | undefined, authorization: string | undefined): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '') {
    if (adminToken === undefined && !(await anyTokenExists(db))) return { kind: 'admin', via: 'open' };
    throw unauthorized('missing bearer token: send "Authorization: Bearer <token>" (pocketbench token create issues one)');
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) throw unauthorized('the Authorization header must be "Bearer <token>"');
  const secret = m[1];
  if (adminToken !== undefined && sameSecret(secret, adminToken)) return { kind: 'admin', via: 'env' };
  const row = await findTokenByHash(db, hashToken(secret));
  if (!row) throw unauthorized('unknown or revoked bearer token');
  if (row.projectId === null) return { kind: 'admin', via: 'token', tokenId: row.id };
  return { kind: 'project', projectId: row.projectId, project: row.projectName!, tokenId: row.id };
}

export function requireAdmin(p: Principal, action: string): void {
  if (p.kind !== 'admin') throw forbidden(`${action} needs an admin token; this token belongs to project "${p.project}"`);
}

/** Whether the caller may read or write this project's data. */
export function canAccessProject(p: Principal, projectId: string): boolean {
  return p.kind === 'admin' || p.projectId === projectId;
}

/**
 * The project a write goes to: a project token writes to its own project only (403 for
 * another); an admin names one, else `fallback`, else `default`. With `create` a missing
 * project is created (pass a transaction so a later refusal leaves no row); without, it is a 422.
 */
export async function projectForWrite(
  q: Queryable,
  p: Principal,
  requested: string | undefined,
  opts: { fallback?: string; create: boolean },
): Promise<ProjectRow> {
  if (requested !== undefined && !PROJECT_NAME.test(requested)) throw invalidProjectName('project', requested);
  if (p.kind === 'project') {
    if (requested !== undefined && requested !== p.project) {
      throw forbidden(`this token belongs to project "${p.project}" and cannot write to project "${requested}"`);
    }
    return (await getProjectByName(q, p.project))!;
  }
  const name = requested ?? opts.fallback ?? DEFAULT_PROJECT;
  if (opts.create) return ensureProject(q, name);
  const found = await getProjectByName(q, name);
  if (!found) throw validationFailed(`project "${name}" does not exist`, { field: 'project' });
  return found;
}
