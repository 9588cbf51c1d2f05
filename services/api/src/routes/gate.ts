// POST /api/v1/runs/:id/gate — the merge gate's verdict for a finished run (issue 5).
import { Router } from 'express';
import { FIDELITY_BUDGET_FIELDS } from '@pocketbench/contracts';
import type { Pool } from '@pocketbench/db';
import type { GateResult } from '@pocketbench/stats';
import { gateRun, type GateRequest } from '../domain/gate/evaluate-run-gate.js';
import { principalOf } from '../http/auth.js';
import { jsonBody } from '../http/guard.js';
import { sendJson } from '../http/respond.js';
import { validate } from '../http/validate.js';
import { gateRequestSchema } from '../schemas.js';

export interface GateDeps {
  db: Pool;
}

/** `POST /api/v1/runs/:id/gate` as every route: schema, use case, JSON; errors go to the one error middleware. */
export function gateRoutes(deps: GateDeps): Router {
  const router = Router();
  // A budgets file is a few KB; its own limit, applied after authentication.
  router.use('/api/v1/runs/:id/gate', jsonBody('256kb'));

  router.post('/api/v1/runs/:id/gate', async (req, res) => {
    const request = validate<GateRequest>(gateRequestSchema, req.body ?? {});
    const result = await gateRun(deps.db, principalOf(res), req.params.id, request);
    sendJson<GateResult>(res, result);
  });
  return router;
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** OpenAPI 3.1 path items for the routes above, merged into /api/v1/openapi.json. */
export const gatePaths: Record<string, unknown> = {
  '/api/v1/runs/{id}/gate': {
    post: {
      operationId: 'gateRun',
      summary: "The merge gate's verdict for a finished run",
      description:
        'Compares every cell with its baseline (paired sessions, else the series at the merge base, else the latest run on ' +
        'the baseline branch inside the lookback window) and checks the budgets; verdicts are stored and returned. ' +
        'The run verdict is the worst cell verdict: pass, fail or inconclusive.',
      tags: ['gate'],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      requestBody: {
        required: false,
        content: {
          'application/json': {
            schema: gateRequestSchema,
          },
        },
      },
      responses: {
        '200': {
          description: 'The gate result: run verdict, and per cell and metric head, baseline, ratio with 95 % CI, budget, verdict, baseline source.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['runId', 'verdict', 'cells', 'counts'],
                properties: {
                  runId: { type: 'string' },
                  verdict: { enum: ['pass', 'fail', 'inconclusive'] },
                  baselineBranch: { type: 'string' },
                  commit: { type: ['string', 'null'] },
                  mergeBase: { type: ['string', 'null'] },
                  counts: { type: 'object', additionalProperties: { type: 'integer' } },
                  evaluatedAt: { type: 'string', format: 'date-time' },
                  cells: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        jobId: { type: 'string' },
                        cellIndex: { type: 'integer' },
                        model: { type: 'string' },
                        variant: { type: 'string' },
                        format: { type: 'string' },
                        backend: { type: 'string' },
                        pool: { type: 'string' },
                        verdict: { enum: ['pass', 'fail', 'inconclusive'] },
                        fidelity: { type: 'object', description: 'Medians over the head sessions\' fidelity passes: reference, top1AgreementPct, cosine, snrDb, accuracyTop1Pct, referenceAccuracyTop1Pct, accuracyDropPct …' },
                        checks: {
                          type: 'array',
                          items: {
                            type: 'object',
                            properties: {
                              metric: { enum: ['runs', 'regression', 'p50_ms', 'p90_ms', 'load_ms', 'peak_rss_mb', 'model_size_mb', ...FIDELITY_BUDGET_FIELDS] },
                              verdict: { enum: ['pass', 'fail', 'inconclusive'] },
                              head: { type: ['number', 'null'] },
                              baseline: { type: ['number', 'null'] },
                              ratio: { type: ['number', 'null'] },
                              ciLow: { type: ['number', 'null'] },
                              ciHigh: { type: ['number', 'null'] },
                              budget: { type: ['number', 'null'] },
                              baselineSource: { type: ['string', 'null'] },
                              headSessions: { type: 'integer' },
                              baselineSessions: { type: 'integer' },
                              pValue: { type: ['number', 'null'] },
                              adjustedPValue: { type: ['number', 'null'] },
                              sessionsNeededEstimate: { type: ['integer', 'null'] },
                              note: { type: 'string' },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        '404': errorResponse('Unknown run (code run_not_found).'),
        '409': errorResponse('The run is still queued or running (code run_in_progress).'),
        '422': errorResponse('Malformed budgets (code invalid_budgets, details.issues with line and field) or body (validation_failed).'),
      },
    },
  },
};
