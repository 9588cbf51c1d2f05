import express, { type Express } from 'express';
import type { AppDeps } from './deps.js';
import { authenticate } from './http/auth.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { allowedHostsCheck, jsonOnlyWrites, sameOriginWrites, securityHeaders } from './http/guard.js';
import { buildOpenApi } from './openapi.js';
import { artifactRoutes } from './routes/artifacts.js';
import { conversionPaths, conversionRoutes } from './routes/conversions.js';
import { deviceRoutes } from './routes/devices.js';
import { fidelityPaths, fidelityRoutes } from './routes/fidelity.js';
import { gatePaths, gateRoutes } from './routes/gate.js';
import { healthRoutes } from './routes/health.js';
import { projectRoutes } from './routes/projects.js';
import { runRoutes } from './routes/runs.js';
import { uiPaths, uiRoutes } from './routes/ui.js';

/**
 * The Express app, without listening (tests and `startWebServer` listen). Every router
 * declares full paths so the OpenAPI test can read them off the router stacks.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      deps.metrics.inc('pocketbench_http_requests_total', 'HTTP requests by method, route and status', {
        method: req.method,
        route,
        status: String(res.statusCode),
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.logger.debug({ method: req.method, url: req.originalUrl, status: res.statusCode, ms }, 'request');
    });
    next();
  });
  // Before anything reads the request: headers on every answer, then who may ask at all.
  // No body is parsed here: each route parses its own, with its own limit, after authentication.
  app.use(securityHeaders());
  app.use(allowedHostsCheck(deps.config.allowedHosts));
  app.use(sameOriginWrites());

  const openapi = buildOpenApi(uiPaths, gatePaths, fidelityPaths, conversionPaths);
  app.use(healthRoutes(deps, () => openapi));
  app.use('/api/v1', authenticate(deps.db, deps.config));
  // The uploads are multipart (their routes refuse anything else).
  const UPLOADS = /^\/(?:artifacts|eval-sets|calibrations|conversions\/[^/]+\/output)$/;
  app.use('/api/v1', jsonOnlyWrites((req) => req.method === 'POST' && UPLOADS.test(req.path)));
  app.use(projectRoutes(deps));
  app.use(artifactRoutes(deps));
  app.use(runRoutes(deps));
  app.use(conversionRoutes(deps));
  app.use(deviceRoutes(deps));
  app.use(fidelityRoutes(deps));
  app.use(gateRoutes({ db: deps.db }));
  app.use(uiRoutes({ db: deps.db }));

  app.use('/api/v1', notFoundHandler);
  app.use(errorHandler(deps.logger, deps.config.maxUploadBytes));
  return app;
}
