import { Router } from 'express';
import { listProjects } from '@pocketbench/db';
import type { AppDeps } from '../deps.js';
import { createToken, requireAdmin } from '../domain/auth/tokens.js';
import { principalOf } from '../http/auth.js';
import { validate } from '../http/validate.js';
import { tokenRequestSchema } from '../schemas.js';

export function projectRoutes(deps: AppDeps): Router {
  const router = Router();

  router.get('/api/v1/projects', async (_req, res) => {
    const p = principalOf(res);
    res.json({ projects: await listProjects(deps.db, p.kind === 'project' ? p.projectId : undefined) });
  });

  router.post('/api/v1/tokens', async (req, res) => {
    requireAdmin(principalOf(res), 'issuing tokens');
    const body = validate<{ project?: string; name?: string; admin?: boolean }>(tokenRequestSchema, req.body ?? {});
    const created = await createToken(deps.db, body);
    deps.logger.info({ tokenId: created.id, project: created.project, admin: created.admin }, 'token issued');
    res.status(201).json(created);
  });

  return router;
}
