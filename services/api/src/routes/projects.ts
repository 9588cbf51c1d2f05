import { Router } from 'express';
import type { CreatedToken, ProjectList, TokenKind, TokenList } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { issueToken, listProjectsFor, listTokensFor, revokeTokenFor } from '../domain/auth/token-admin.js';
import { requireAdmin } from '../domain/auth/tokens.js';
import { jsonBody } from '../http/guard.js';
import { principalOf } from '../http/auth.js';
import { sendJson } from '../http/respond.js';
import { validate } from '../http/validate.js';
import { tokenRequestSchema } from '../schemas.js';

export function projectRoutes(deps: AppDeps): Router {
  const router = Router();

  router.get('/api/v1/projects', async (_req, res) => {
    sendJson<ProjectList>(res, await listProjectsFor(deps.db, principalOf(res)));
  });

  router.post('/api/v1/tokens', jsonBody('16kb'), async (req, res) => {
    // Refused before the body is read: a caller who may not issue tokens learns nothing about its request.
    requireAdmin(principalOf(res), 'issuing tokens');
    const body = validate<{ project?: string; name?: string; admin?: boolean; kind?: TokenKind }>(tokenRequestSchema, req.body ?? {});
    const created = await issueToken(deps.db, principalOf(res), body);
    deps.logger.info({ tokenId: created.id, kind: created.kind, project: created.project }, 'token issued');
    sendJson<CreatedToken>(res, created, 201);
  });

  router.get('/api/v1/tokens', async (_req, res) => {
    sendJson<TokenList>(res, await listTokensFor(deps.db, principalOf(res)));
  });

  router.delete('/api/v1/tokens/:id', async (req, res) => {
    const id = await revokeTokenFor(deps.db, principalOf(res), req.params.id);
    deps.logger.info({ tokenId: id }, 'token revoked');
    res.status(204).end();
  });

  return router;
}
