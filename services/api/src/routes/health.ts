import { Router } from 'express';
import type { Liveness, OpenApiDocument, Readiness } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { sendJson } from '../http/respond.js';
import { requireAdmin, resolvePrincipal } from '../domain/auth/tokens.js';
import { checkReadiness, fleetQueueDepths } from '../domain/ops/health.js';

export function healthRoutes(deps: AppDeps, openapi: () => OpenApiDocument): Router {
  const router = Router();

  // Known queues for the depth gauge: every pool and device the fleet has registered.
  deps.metrics.onCollect(async () => {
    const depths = await fleetQueueDepths(deps, deps.config.queuePrefix);
    deps.metrics.reset('pocketbench_queue_depth', 'Session jobs waiting, delayed or active per queue');
    for (const [queue, n] of depths) deps.metrics.set('pocketbench_queue_depth', 'Session jobs waiting, delayed or active per queue', { queue }, n);
  });

  router.get('/healthz', (_req, res) => {
    sendJson<Liveness>(res, { status: 'ok' });
  });

  // Anyone may ask whether the api is ready; the reason it is not stays in the log.
  router.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(deps);
    sendJson<Readiness>(res, readiness, readiness.status === 'ok' ? 200 : 503);
  });

  // Queue depths and traffic by route describe every project's work: admin token (or open mode) only.
  router.get('/metrics', async (req, res) => {
    requireAdmin(await resolvePrincipal(deps.db, deps.config, req.headers.authorization), 'reading /metrics');
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.send(await deps.metrics.render());
  });

  router.get('/api/v1/openapi.json', (_req, res) => {
    sendJson<OpenApiDocument>(res, openapi());
  });

  return router;
}
