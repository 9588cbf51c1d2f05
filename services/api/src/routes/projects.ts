import { Router } from 'express';
import type { CreatedToken, ProjectList, TokenList } from '@pocketbench/contracts';
import { listProjects, listTokens, revokeToken } from '@pocketbench/db';
import type { AppDeps } from '../deps.js';
import { createToken, requireAdmin } from '../domain/auth/tokens.js';
import { forbidden, notFound } from '../errors.js';
import { jsonBody } from '../http/guard.js';
import { principalOf } from '../http/auth.js';
import { sendJson } from '../http/respond.js';
import { validate } from '../http/validate.js';
import { tokenRequestSchema } from '../schemas.js';

export function projectRoutes(deps: AppDeps): Router {
  const router = Router();

  router.get('/api/v1/projects', async (_req, res) => {
    const p = principalOf(res);
    sendJson<ProjectList>(res, { projects: await listProjects(deps.db, p.kind === 'project' ? p.projectId : undefined) });
  });

  router.post('/api/v1/tokens', jsonBody('16kb'), async (req, res) => {
    const p = principalOf(res);
    requireAdmin(p, 'issuing tokens');
    const body = validate<{ project?: string; name?: string; admin?: boolean; kind?: 'admin' | 'project' | 'worker' }>(tokenRequestSchema, req.body ?? {});
    // Open mode lets loopback callers in without a token; it never hands out credentials that
    // outrank a project's (an anonymous caller minting an admin token was finding 2 of issue 11).
    if (p.kind === 'admin' && p.via === 'open' && (body.admin || (body.kind !== undefined && body.kind !== 'project'))) {
      throw forbidden('admin and worker tokens are issued only with the configured admin token (POCKETBENCH_TOKEN), not in open local mode');
    }
    const created = await createToken(deps.db, body);
    deps.logger.info({ tokenId: created.id, kind: created.kind, project: created.project }, 'token issued');
    sendJson<CreatedToken>(res, created, 201);
  });

  router.get('/api/v1/tokens', async (_req, res) => {
    const p = principalOf(res);
    // Never the secrets: only ids, names, projects and dates.
    sendJson<TokenList>(res, { tokens: await listTokens(deps.db, p.kind === 'project' ? p.projectId : undefined) });
  });

  router.delete('/api/v1/tokens/:id', async (req, res) => {
    const p = principalOf(res);
    const visible = /^[0-9a-f-]{36}$/i.test(req.params.id)
      ? (await listTokens(deps.db, p.kind === 'project' ? p.projectId : undefined)).find((t) => t.id === req.params.id)
      : undefined;
    if (!visible || !(await revokeToken(deps.db, visible.id))) throw notFound(`token "${req.params.id}" does not exist or is already revoked`);
    deps.logger.info({ tokenId: visible.id }, 'token revoked');
    res.status(204).end();
  });

  return router;
}
