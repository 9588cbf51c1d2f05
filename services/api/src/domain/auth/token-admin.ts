// Projects and tokens as their routes serve them: who may list, issue and revoke what.
import { isUuid, type CreatedToken, type ProjectList, type Sendable, type TokenKind, type TokenList } from '@pocketbench/contracts';
import { listProjects, listTokens, revokeToken, type Pool } from '@pocketbench/db';
import { forbidden, notFound } from '../../errors.js';
import { createToken, readableProject, requireAdmin, type Principal } from './tokens.js';

/** The projects the caller reaches (a project token: its own), with their model and run counts. */
export async function listProjectsFor(db: Pool, principal: Principal): Promise<Sendable<ProjectList>> {
  return { projects: await listProjects(db, readableProject(principal, 'listing projects')?.id) };
}

/**
 * Issues a token for an admin. Open mode lets loopback callers in without a token; it never
 * hands out credentials that outrank a project's (an anonymous caller minting an admin token
 * was finding 2 of issue 11).
 */
export async function issueToken(
  db: Pool, principal: Principal, request: { project?: string; name?: string; admin?: boolean; kind?: TokenKind },
): Promise<CreatedToken> {
  requireAdmin(principal, 'issuing tokens');
  if (principal.kind === 'admin' && principal.via === 'open' && (request.admin || (request.kind !== undefined && request.kind !== 'project'))) {
    throw forbidden('admin and worker tokens are issued only with the configured admin token (POCKETBENCH_TOKEN), not in open local mode');
  }
  return createToken(db, request);
}

/** The tokens the caller reaches, never their secrets: only ids, names, projects and dates. */
export async function listTokensFor(db: Pool, principal: Principal): Promise<Sendable<TokenList>> {
  return { tokens: await listTokens(db, readableProject(principal, 'listing tokens')?.id) };
}

/** Revokes a live token the caller reaches; any other id (or one already revoked) is a 404. Returns its id. */
export async function revokeTokenFor(db: Pool, principal: Principal, id: string): Promise<string> {
  const visible = isUuid(id) ? (await listTokens(db, readableProject(principal, 'revoking tokens')?.id)).find((t) => t.id === id) : undefined;
  if (!visible || !(await revokeToken(db, visible.id))) throw notFound(`token "${id}" does not exist or is already revoked`);
  return visible.id;
}
