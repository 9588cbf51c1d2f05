// POST /api/v1/runs/:id/gate — the merge gate's verdict for a finished run (issue 5).
import { Router, type Response } from 'express';
import { BudgetsError, FIDELITY_BUDGET_FIELDS, parseBudgets, type Budgets } from '@pocketbench/contracts';
import type { Pool } from '@pocketbench/db';
import { evaluateRunGate } from '../domain/gate/evaluate-run-gate.js';
import { GateError } from '../domain/gate/gate-error.js';
import { jsonBody } from '../http/guard.js';

export interface GateDeps {
  db: Pool;
}

interface GateRequest {
  budgets?: string;
  baselineBranch?: string;
  lookbackDays?: number;
}

const BRANCH = /^[A-Za-z0-9._/-]{1,200}$/;
const FIELDS = new Set(['budgets', 'baselineBranch', 'lookbackDays']);

export function gateRoutes(deps: GateDeps): Router {
  const router = Router();
  // A budgets file is a few KB; its own limit, applied after authentication.
  router.use('/api/v1/runs/:id/gate', jsonBody('256kb'));

  router.post('/api/v1/runs/:id/gate', async (req, res) => {
    const body = (req.body ?? {}) as unknown;
    const invalid = checkBody(body);
    if (invalid) return sendError(res, 422, 'validation_failed', invalid.message, { field: invalid.field });
    const request = body as GateRequest;
    let budgets: Budgets;
    try {
      budgets = parseBudgets(request.budgets ?? '', 'budgets');
    } catch (err) {
      if (err instanceof BudgetsError) {
        return sendError(res, 422, 'invalid_budgets', `the budgets file is invalid: ${err.message}`, { issues: err.issues });
      }
      throw err;
    }
    try {
      const principal = res.locals.principal as { kind?: string; projectId?: string | null } | undefined;
      const result = await evaluateRunGate(deps.db, req.params.id, budgets, {
        baselineBranch: request.baselineBranch,
        lookbackDays: request.lookbackDays,
        // A project token sees only its project's runs: anything else is "does not exist".
        ...(principal && principal.kind !== 'admin' ? { projectId: principal.projectId ?? '' } : {}),
      });
      res.status(200).json(result);
    } catch (err) {
      if (err instanceof GateError) return sendError(res, err.status, err.code, err.message, err.details);
      throw err;
    }
  });
  return router;
}

function checkBody(body: unknown): { field: string; message: string } | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { field: '(body)', message: 'the body must be a JSON object' };
  }
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!FIELDS.has(key)) return { field: key, message: `${key} is not a known field` };
  if (b.budgets !== undefined && typeof b.budgets !== 'string') {
    return { field: 'budgets', message: 'budgets must be the text of a budgets YAML file' };
  }
  if (b.baselineBranch !== undefined && (typeof b.baselineBranch !== 'string' || !BRANCH.test(b.baselineBranch))) {
    return { field: 'baselineBranch', message: 'baselineBranch must be a branch name' };
  }
  if (b.lookbackDays !== undefined && (!Number.isInteger(b.lookbackDays) || (b.lookbackDays as number) < 1 || (b.lookbackDays as number) > 3650)) {
    return { field: 'lookbackDays', message: 'lookbackDays must be an integer from 1 to 3650' };
  }
  return null;
}

function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  res.status(status).json({ error: { code, message, details: details ?? null } });
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
            schema: {
              type: 'object',
              additionalProperties: false,
              properties: {
                budgets: { type: 'string', description: 'Text of a budgets YAML file (docs/statistics.md).' },
                baselineBranch: { type: 'string', description: "Branch of the historical baseline; default the run's (main)." },
                lookbackDays: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
              },
            },
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
