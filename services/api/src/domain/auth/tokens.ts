import { createHash, timingSafeEqual } from 'node:crypto';
import type { CreatedToken } from '@pocketbench/contracts';
import {
  ensureProject, findTokenByHash, getProjectByName, hashToken, insertToken, newTokenSecret,
  type Pool, type ProjectRow, type Queryable, type TokenKind,
} from '@pocketbench/db';
import { ApiError, forbidden, unauthorized, validationFailed } from '../../errors.js';

export { hashToken };
export type { CreatedToken };

/**
 * Who is calling: an admin (the configured token, an admin token row, or — only on a server
 * started in open local mode on loopback — a request without a token), one project's token,
 * or a worker's token (artifact bytes only).
 */
export type Principal =
  | { kind: 'admin'; via: 'env' | 'token' | 'open'; tokenId?: string }
  | { kind: 'project'; projectId: string; project: string; tokenId: string }
  | { kind: 'worker'; tokenId: string };

export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const DEFAULT_PROJECT = 'default';

/**
 * Issues a token: a project token (`project` given; the project is created when new), an admin
 * token (`admin: true` or `kind: 'admin'`) or a worker token (`kind: 'worker'`). Used by
 * `POST /api/v1/tokens` and by `pocketbench token create`.
 */
export async function createToken(
  db: Pool,
  opts: { project?: string; name?: string; admin?: boolean; kind?: TokenKind },
): Promise<CreatedToken> {
  const kind: TokenKind = opts.kind ?? (opts.admin ? 'admin' : 'project');
  if (opts.admin && kind !== 'admin') throw validationFailed(`admin: true contradicts kind "${kind}"`, { field: 'kind' });
  if (kind !== 'project' && opts.project) throw validationFailed(`a ${kind} token belongs to no project: drop "project"`, { field: 'project' });
  if (kind === 'project' && !opts.project) throw validationFailed('project is required for a project token (or ask for kind admin or worker)', { field: 'project' });
  let project: ProjectRow | null = null;
  if (opts.project) {
    if (!PROJECT_NAME.test(opts.project)) throw invalidProjectName('project', opts.project);
    project = await ensureProject(db, opts.project);
  }
  const secret = newTokenSecret();
  const name = opts.name?.trim() || (kind === 'project' ? `${opts.project} token` : kind);
  const row = await insertToken(db, { kind, projectId: project?.id ?? null, name, tokenHash: hashToken(secret) });
  return { token: secret, id: row.id, kind: row.kind, name: row.name, project: row.projectName, admin: row.kind === 'admin' };
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

/** How the api authenticates, fixed at start-up (loadConfig). */
export interface AuthSettings {
  /** The configured admin token (`POCKETBENCH_TOKEN`). */
  adminToken?: string;
  /**
   * Open local mode: a request without a token acts as admin. Only ever true for a server bound
   * to loopback without a configured token; issuing or revoking tokens never changes it.
   */
  openMode: boolean;
}

/** Resolves the caller from an `Authorization` header; throws 401 for a missing, malformed or unknown token. */
export async function resolvePrincipal(db: Pool, auth: AuthSettings, authorization: string | undefined): Promise<Principal> {
  if (authorization === undefined || authorization.trim() === '') {
    if (auth.openMode) return { kind: 'admin', via: 'open' };
    throw unauthorized('missing bearer token: send "Authorization: Bearer <token>" (pocketbench token create issues one)');
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) throw unauthorized('the Authorization header must be "Bearer <token>"');
  const secret = m[1];
  if (auth.adminToken !== undefined && sameSecret(secret, auth.adminToken)) return { kind: 'admin', via: 'env' };
  const row = await findTokenByHash(db, hashToken(secret));
  if (!row) throw unauthorized('unknown or revoked bearer token');
  if (row.kind === 'admin') return { kind: 'admin', via: 'token', tokenId: row.id };
  if (row.kind === 'worker') return { kind: 'worker', tokenId: row.id };
  return { kind: 'project', projectId: row.projectId!, project: row.projectName!, tokenId: row.id };
}

/** One phrase for refusals: which token this is. */
export function describePrincipal(p: Principal): string {
  if (p.kind === 'project') return `this token belongs to project "${p.project}"`;
  if (p.kind === 'worker') return 'this is a worker token (it may only fetch artifact bytes)';
  return 'this is an admin token';
}

export function requireAdmin(p: Principal, action: string): void {
  if (p.kind !== 'admin') throw forbidden(`${action} needs an admin token; ${describePrincipal(p)}`);
}

/**
 * Which projects a caller reaches: every one (an admin), its own (a project token), or none, only
 * artifact bytes (a worker token). Explicit for each, so no caller reads "no project" as "every project".
 */
export type ProjectScope = { kind: 'all' } | { kind: 'project'; id: string; name: string } | { kind: 'worker' };

export function projectScope(p: Principal): ProjectScope {
  switch (p.kind) {
    case 'admin':
      return { kind: 'all' };
    case 'project':
      return { kind: 'project', id: p.projectId, name: p.project };
    case 'worker':
      return { kind: 'worker' };
  }
}

/**
 * The one project a read of project data is limited to (id and name), undefined for every
 * project (an admin). A worker token reads no project's data: 403 naming `action`.
 */
export function readableProject(p: Principal, action: string): { id: string; name: string } | undefined {
  const scope = projectScope(p);
  if (scope.kind === 'worker') throw forbidden(`${action} needs an admin or project token; ${describePrincipal(p)}`);
  return scope.kind === 'project' ? { id: scope.id, name: scope.name } : undefined;
}

/**
 * The project whose artifact bytes (models, calibration sets, by sha256) a caller may fetch,
 * undefined for any: a worker fetches any project's, since it runs them; a project token its own.
 */
export function artifactBytesFilter(p: Principal): string | undefined {
  const scope = projectScope(p);
  return scope.kind === 'project' ? scope.id : undefined;
}

/**
 * The project a list is limited to, from the caller and the project it names: a project token
 * its own (403 when it names another), an admin the one named (null: no such project, so an
 * empty list) or every project (undefined). A worker token lists no project's data (403).
 */
export async function listedProject(
  db: Queryable, p: Principal, requested: string | undefined, action: string,
): Promise<string | undefined | null> {
  const own = ownListedProject(p, requested, action);
  if (own) return own.id;
  if (requested === undefined) return undefined;
  return (await getProjectByName(db, requested))?.id ?? null;
}

/** As `listedProject`, by name (the dashboard's read model filters by project name): undefined for every project. */
export function listedProjectName(p: Principal, requested: string | undefined, action: string): string | undefined {
  return ownListedProject(p, requested, action)?.name ?? requested;
}

/** The project token's own project a list is limited to (403 when it names another); undefined for an admin. */
function ownListedProject(p: Principal, requested: string | undefined, action: string): { id: string; name: string } | undefined {
  const own = readableProject(p, action);
  if (own && requested !== undefined && requested !== own.name) throw forbidden(`this token belongs to project "${own.name}" and cannot read "${requested}"`);
  return own;
}

/** Whether the caller may read or write this project's data (workers: no project's). */
export function canAccessProject(p: Principal, projectId: string): boolean {
  const scope = projectScope(p);
  return scope.kind === 'all' || (scope.kind === 'project' && scope.id === projectId);
}

/**
 * Whether the caller may read the data of the project named `name` (the dashboard's views carry
 * project names; what it may not read is answered as missing). A worker token reads none: 403 naming `action`.
 */
export function canReadProjectNamed(p: Principal, name: string, action: string): boolean {
  const own = readableProject(p, action);
  return own === undefined || own.name === name;
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
  if (p.kind === 'worker') throw forbidden(`writing to a project needs an admin or project token; ${describePrincipal(p)}`);
  const name = requested ?? opts.fallback ?? DEFAULT_PROJECT;
  if (opts.create) return ensureProject(q, name);
  const found = await getProjectByName(q, name);
  if (!found) throw validationFailed(`project "${name}" does not exist`, { field: 'project' });
  return found;
}
