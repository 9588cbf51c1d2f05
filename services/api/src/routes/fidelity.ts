import { Router, type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';
import type { EvalSet, EvalSetUploaded, FidelityAgreement } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { listFidelityAgreementFor } from '../domain/fidelity/fidelity-agreement.js';
import { getEvalSetFor, registerEvalSet } from '../domain/fidelity/register-eval-set.js';
import { ApiError, badRequest, unsupportedMediaType } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { sendJson } from '../http/respond.js';
import { artifactUpload, type UploadedFile } from '../http/upload.js';
import { queryToObject, validate } from '../http/validate.js';

/** @defaultValue 64 MB when the config does not say */
const DEFAULT_MAX_EVAL_SET_BYTES = 64 * 1024 * 1024;
const PROJECT = '^[a-z0-9][a-z0-9._-]{0,63}$';

export const evalSetFieldsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { project: { type: 'string', pattern: PROJECT } },
} as const;

export const evalSetQuerySchema = {
  type: 'object',
  properties: { project: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const fidelityQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: { type: 'string', pattern: PROJECT },
    model: { type: 'string', minLength: 1, maxLength: 128 },
    reference: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'sha256 of the reference artifact' },
    limit: { type: 'integer', minimum: 1, maximum: 5000 },
  },
} as const;

export function fidelityRoutes(deps: AppDeps): Router {
  const router = Router();
  const maxBytes = deps.config.maxEvalSetBytes ?? DEFAULT_MAX_EVAL_SET_BYTES;
  const upload = artifactUpload(deps.store, maxBytes);

  router.post(
    '/api/v1/eval-sets',
    (req, _res, next) => {
      if (!req.is('multipart/form-data')) return next(unsupportedMediaType('send the eval set (.npz) as multipart/form-data in the field "file"'));
      next();
    },
    (req: Request, res: Response, next: NextFunction) =>
      upload(req, res, (err?: unknown) => {
        // The eval set's own limit, named as such (the model upload limit is another).
        if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') {
          return next(new ApiError(413, 'payload_too_large', `the eval set is larger than the limit of ${Math.round(maxBytes / 1048576)} MB (POCKETBENCH_MAX_EVAL_SET_MB)`, { field: 'file', limitBytes: maxBytes }));
        }
        next(err);
      }),
    async (req: Request, res: Response) => {
      const file = req.file as UploadedFile | undefined;
      if (!file) throw badRequest('no file: send the eval set (.npz with inputs and labels) in the multipart field "file"', { field: 'file' });
      let fields: { project?: string };
      try {
        fields = validate<{ project?: string }>(evalSetFieldsSchema, { ...req.body });
      } catch (err) {
        await deps.store.discard({ path: file.path });
        throw err;
      }
      const result = await registerEvalSet(deps, principalOf(res), { path: file.path, sha256: file.sha256, sizeBytes: file.size }, file.originalname, fields);
      deps.logger.info({ sha256: result.evalSet.sha256, samples: result.evalSet.samples, created: result.created }, 'eval set uploaded');
      sendJson<EvalSetUploaded>(res, { ...result.evalSet, project: result.project, created: result.created }, result.created ? 201 : 200);
    },
  );

  router.get('/api/v1/eval-sets/:sha256', async (req, res) => {
    const q = validate<{ project?: string }>(evalSetQuerySchema, queryToObject(req.query as Record<string, unknown>, []));
    sendJson<EvalSet>(res, await getEvalSetFor(deps.db, principalOf(res), req.params.sha256, q.project));
  });

  router.get('/api/v1/fidelity', async (req, res) => {
    const q = validate<{ project?: string; model?: string; reference?: string; limit?: number }>(
      fidelityQuerySchema,
      queryToObject(req.query as Record<string, unknown>, ['limit']),
    );
    sendJson<FidelityAgreement>(res, await listFidelityAgreementFor(deps.db, principalOf(res), q));
  });

  return router;
}

const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json({ $ref: '#/components/schemas/Error' }, description);

export const fidelityPaths: Record<string, Record<string, unknown>> = {
  '/api/v1/eval-sets': {
    post: {
      summary: 'Upload a labelled eval set: an .npz with inputs [N, …sample shape] and labels [N] (class indices); stored by sha256',
      tags: ['fidelity'],
      requestBody: {
        required: true,
        content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { ...evalSetFieldsSchema.properties, file: { type: 'string', format: 'binary' } } } } },
      },
      responses: {
        '201': json({ type: 'object' }, 'stored: { sha256, samples, sampleShape, inputDtype, labels: { min, max } }'),
        '200': json({ type: 'object' }, 'this project already had this eval set'),
        '400': err('no file'),
        '413': err('larger than POCKETBENCH_MAX_EVAL_SET_MB'),
        '415': err('not multipart'),
        '422': err('not an .npz, or inputs/labels missing, mis-shaped, non-integer or negative labels (code invalid_eval_set)'),
      },
    },
  },
  '/api/v1/eval-sets/{sha256}': {
    get: {
      summary: 'An eval set\'s facts',
      tags: ['fidelity'],
      parameters: [{ name: 'sha256', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': json({ type: 'object' }), '404': err('unknown eval set') },
    },
  },
  '/api/v1/fidelity': {
    get: {
      summary: 'Cross-runtime / cross-device agreement: every fidelity session grouped by artifact, runtime, backend, device arch and model, and reference; medians',
      tags: ['fidelity'],
      parameters: Object.entries(fidelityQuerySchema.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
      responses: { '200': json({ type: 'object', properties: { rows: { type: 'array', items: { type: 'object' } } } }) },
    },
  },
};
