import { Router, type Request, type Response } from 'express';
import type {
  ExternalSessionStored, RunCancelled, RunCreated, RunList, RunStatus, RunView,
} from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { cancelRun } from '../domain/runs/cancel-run.js';
import { createRun, type RunRequest } from '../domain/runs/create-run.js';
import { createVariantRun } from '../domain/conversions/variant-run.js';
import { addExternalSession, type ExternalSessionRequest } from '../domain/runs/external-sessions.js';
import { getRunView, listRunsView, loadRun, runProgressEvent } from '../domain/runs/run-view.js';
import { principalOf } from '../http/auth.js';
import { jsonBody } from '../http/guard.js';
import { sendJson } from '../http/respond.js';
import { queryToObject, validate } from '../http/validate.js';
import { externalSessionSchema, runListQuerySchema, runRequestSchema } from '../schemas.js';

const FINAL: ReadonlySet<string> = new Set(['done', 'failed', 'cancelled']);

export function runRoutes(deps: AppDeps): Router {
  const router = Router();

  router.post('/api/v1/runs', jsonBody('512kb'), async (req, res) => {
    const body = validate<RunRequest>(runRequestSchema, req.body ?? {});
    const principal = principalOf(res);
    const result = body.matrix.variants ? await createVariantRun(deps, principal, body) : await createRun(deps, principal, body);
    if (result.created) {
      deps.metrics.inc('pocketbench_runs_created_total', 'Runs accepted by the api');
      deps.logger.info({ runId: result.runId, cells: result.cells?.length }, 'run created');
    }
    const view = await getRunView(deps.db, principal, result.runId);
    sendJson<RunCreated>(res, { ...view, created: result.created, warnings: result.warnings ?? [] }, result.created ? 201 : 200);
  });

  router.get('/api/v1/runs', async (req, res) => {
    const q = validate<{ project?: string; branch?: string; status?: RunStatus; limit?: number; offset?: number }>(
      runListQuerySchema,
      queryToObject(req.query as Record<string, unknown>, ['limit', 'offset']),
    );
    sendJson<RunList>(res, await listRunsView(deps.db, principalOf(res), q));
  });

  router.get('/api/v1/runs/:id', async (req, res) => {
    sendJson<RunView>(res, await getRunView(deps.db, principalOf(res), req.params.id));
  });

  router.get('/api/v1/runs/:id/results', async (req, res) => {
    const iterations = req.query.iterations === 'true' || req.query.iterations === '1';
    sendJson<RunView>(res, await getRunView(deps.db, principalOf(res), req.params.id, { sessions: true, iterations }));
  });

  // A BenchReport: every iteration of a session, up to the iteration quota.
  router.post('/api/v1/runs/:id/sessions', jsonBody('8mb'), async (req: Request<{ id: string }>, res: Response) => {
    const body = validate<ExternalSessionRequest>(externalSessionSchema, req.body ?? {});
    const result = await addExternalSession(deps.db, principalOf(res), req.params.id, body, deps.config.limits);
    sendJson<ExternalSessionStored>(res, result, result.inserted ? 201 : 200);
  });

  router.post('/api/v1/runs/:id/cancel', jsonBody('1kb'), async (req: Request<{ id: string }>, res: Response) => {
    const principal = principalOf(res);
    const { cancelledCells } = await cancelRun(deps, principal, req.params.id);
    deps.logger.info({ runId: req.params.id, cancelledCells }, 'run cancelled');
    sendJson<RunCancelled>(res, { ...(await getRunView(deps.db, principal, req.params.id)), cancelledCells });
  });

  router.get('/api/v1/runs/:id/events', async (req, res) => {
    const run = await loadRun(deps.db, principalOf(res), req.params.id);
    streamProgress(deps, run.id, res);
  });

  return router;
}

/**
 * Server-sent events: a `progress` event now and whenever the run's counters move (read from
 * Postgres every `eventsPollMs`), then one `done` event when it is finished, then the stream ends.
 */
function streamProgress(deps: AppDeps, runId: string, res: Response): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  let last = '';
  let seq = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let keepAlive = 0;
  const stop = () => {
    closed = true;
    if (timer) clearTimeout(timer);
  };
  res.on('close', stop);
  const send = (event: string, data: unknown) => res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const tick = async () => {
    if (closed) return;
    try {
      const data = await runProgressEvent(deps.db, runId);
      if (closed) return;
      if (!data) {
        send('error', { message: `run ${runId} no longer exists` });
        stop();
        return void res.end();
      }
      const key = JSON.stringify(data);
      if (key !== last) {
        last = key;
        send('progress', data);
      } else if (++keepAlive * deps.config.eventsPollMs >= 15_000) {
        keepAlive = 0;
        res.write(': keep-alive\n\n');
      }
      if (FINAL.has(data.status)) {
        send('done', data);
        stop();
        return void res.end();
      }
    } catch (err) {
      deps.logger.warn({ err, runId }, 'progress stream read failed');
    }
    if (!closed) timer = setTimeout(tick, deps.config.eventsPollMs);
  };
  void tick();
}
