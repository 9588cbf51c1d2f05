import { Router } from 'express';
import { listDevices, ping } from '@pocketbench/db';
import { queueNameForDevice, queueNameForPool, type Liveness, type OpenApiDocument, type Readiness } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { sendJson } from '../http/respond.js';
import { requireAdmin, resolvePrincipal } from '../domain/auth/tokens.js';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref())]);
}

export function healthRoutes(deps: AppDeps, openapi: () => OpenApiDocument): Router {
  const router = Router();

  // Known queues for the depth gauge: every pool and device the fleet has registered.
  deps.metrics.onCollect(async () => {
    const devices = await listDevices(deps.db);
    const names = [
      ...new Set(devices.map((d) => d.pool)).values(),
    ].map((p) => queueNameForPool(p, deps.config.queuePrefix));
    names.push(...devices.map((d) => queueNameForDevice(d.id, deps.config.queuePrefix)));
    const depths = await withTimeout(deps.queues.depths(names), 2000, 'redis');
    deps.metrics.reset('pocketbench_queue_depth', 'Session jobs waiting, delayed or active per queue');
    for (const [queue, n] of depths) deps.metrics.set('pocketbench_queue_depth', 'Session jobs waiting, delayed or active per queue', { queue }, n);
  });

  router.get('/healthz', (_req, res) => {
    sendJson<Liveness>(res, { status: 'ok' });
  });

  // Anyone may ask whether the api is ready; the reason it is not stays in the log (a raw
  // driver error names hosts, ports and users).
  router.get('/readyz', async (_req, res) => {
    const checks: Readiness['checks'] = {};
    const check = (name: string, p: Promise<unknown>) =>
      p.then(
        () => (checks[name] = 'ok'),
        (err: Error) => {
          deps.logger.warn({ check: name, err: err.message }, 'readiness check failed');
          checks[name] = 'unavailable';
        },
      );
    await Promise.all([
      check('db', withTimeout(ping(deps.db), 2000, 'postgres')),
      check('redis', withTimeout(deps.queues.ping(), 2000, 'redis')),
    ]);
    const ok = Object.values(checks).every((v) => v === 'ok');
    sendJson<Readiness>(res, { status: ok ? 'ok' : 'unavailable', checks }, ok ? 200 : 503);
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
