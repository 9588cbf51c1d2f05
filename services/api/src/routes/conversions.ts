import { Router, type Request, type Response } from 'express';
import type { CalibrationUploaded, Conversion, ConversionOutputStored } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { registerCalibration } from '../domain/conversions/calibration.js';
import { readConversion, recordConversionFailure, recordConversionOutput, type ConversionFailure } from '../domain/conversions/conversion-results.js';
import { badRequest, unsupportedMediaType, validationFailed } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { jsonBody } from '../http/guard.js';
import { sendJson } from '../http/respond.js';
import { artifactUpload, type UploadedFile } from '../http/upload.js';
import { validate } from '../http/validate.js';
import { calibrationUploadFieldsSchema, conversionFailureSchema } from '../schemas.js';

const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const ok = (description = 'OK') => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'conversion id (conv-…)' };
const multipart = (properties: Record<string, unknown>) => ({
  required: true,
  content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { ...properties, file: { type: 'string', format: 'binary' } } } } },
});

/** OpenAPI path items of the routes below (merged by buildOpenApi). */
export const conversionPaths: Record<string, Record<string, unknown>> = {
  '/api/v1/calibrations': {
    post: {
      summary: 'Upload a calibration set (.npz: array "inputs", samples × the input shape) for int8-static conversions',
      tags: ['variants'],
      requestBody: multipart(calibrationUploadFieldsSchema.properties),
      responses: { '201': ok('stored'), '200': ok('already stored'), '422': err('not an .npz, no float samples array, too many samples') },
    },
  },
  '/api/v1/conversions/{id}': {
    get: { summary: 'One conversion: status, reason, output artifact', tags: ['variants'], parameters: [idParam], responses: { '200': ok(), '404': err('unknown conversion') } },
  },
  '/api/v1/conversions/{id}/output': {
    post: {
      summary: 'Converter hosts (admin token): the converted file and its recipe; stores the variant artifact and its cells',
      tags: ['variants'],
      parameters: [idParam],
      requestBody: multipart({ recipe: { type: 'string', description: 'the converter\'s recipe as JSON' } }),
      responses: { '201': ok('stored'), '200': ok('already reported'), '409': err('the conversion already ended without output'), '422': err('not the expected format') },
    },
  },
  '/api/v1/conversions/{id}/failure': {
    post: {
      summary: 'Converter hosts (admin token): the conversion cannot be made; its cells become unsupported or failed with the reason',
      tags: ['variants'],
      parameters: [idParam],
      requestBody: { required: true, content: { 'application/json': { schema: conversionFailureSchema } } },
      responses: { '200': ok(), '404': err('unknown conversion') },
    },
  },
};

/** Calibration sets (uploaded by submitters) and conversion outcomes (reported by converter hosts). */
export function conversionRoutes(deps: AppDeps): Router {
  const router = Router();
  const upload = artifactUpload(deps.store, deps.config.maxUploadBytes);
  const multipart = (what: string) => (req: Request, _res: Response, next: (err?: unknown) => void) => {
    if (!req.is('multipart/form-data')) return next(unsupportedMediaType(`send ${what} as multipart/form-data with the file in the field "file"`));
    next();
  };
  const uploaded = async (req: Request) => {
    const file = req.file as UploadedFile | undefined;
    if (!file) throw badRequest('no file: send it in the multipart field "file"', { field: 'file' });
    return { path: file.path, sha256: file.sha256, sizeBytes: file.size, originalName: file.originalname };
  };

  router.post('/api/v1/calibrations', multipart('the calibration set (.npz)'), upload, async (req: Request, res: Response) => {
    const temp = await uploaded(req);
    let fields: { project?: string };
    try {
      fields = validate<{ project?: string }>(calibrationUploadFieldsSchema, { ...req.body });
    } catch (err) {
      await deps.store.discard(temp);
      throw err;
    }
    const { calibration, created } = await registerCalibration(
      { db: deps.db, store: deps.store, maxBytes: deps.config.maxUploadBytes }, principalOf(res), temp, temp.originalName, fields,
    );
    sendJson<CalibrationUploaded>(res, { ...calibration, samples: calibration.shape[0], created }, created ? 201 : 200);
  });

  router.get('/api/v1/conversions/:id', async (req, res) => {
    sendJson<Conversion>(res, await readConversion(deps.db, principalOf(res), req.params.id));
  });

  router.post('/api/v1/conversions/:id/output', multipart('the converted model'), upload, async (req: Request, res: Response) => {
    const temp = await uploaded(req);
    let recipe: Record<string, unknown>;
    try {
      recipe = JSON.parse(String(req.body?.recipe ?? ''));
      if (!recipe || typeof recipe !== 'object' || Array.isArray(recipe)) throw new Error('not an object');
    } catch (err) {
      await deps.store.discard(temp);
      throw validationFailed(`recipe must be the converter's recipe as a JSON object: ${(err as Error).message}`, { field: 'recipe' });
    }
    const { artifact, created } = await recordConversionOutput(deps, principalOf(res), String(req.params.id), temp, recipe);
    sendJson<ConversionOutputStored>(res, { ...artifact, created }, created ? 201 : 200);
  });

  router.post('/api/v1/conversions/:id/failure', jsonBody('64kb'), async (req: Request<{ id: string }>, res: Response) => {
    const body = validate<ConversionFailure>(conversionFailureSchema, req.body ?? {});
    sendJson<Conversion | null>(res, await recordConversionFailure(deps, principalOf(res), req.params.id, body));
  });

  return router;
}
