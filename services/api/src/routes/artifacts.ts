import { Router, type Request, type Response } from 'express';
import type { Artifact, ArtifactList, ArtifactUploaded } from '@pocketbench/contracts';
import type { AppDeps } from '../deps.js';
import { listArtifactsFor } from '../domain/artifacts/artifact-list.js';
import { artifactContentPath, getArtifactFor, registerUpload, type UploadFields } from '../domain/artifacts/upload-artifact.js';
import { badRequest, unsupportedMediaType } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { artifactUpload, type UploadedFile } from '../http/upload.js';
import { sendJson } from '../http/respond.js';
import { queryToObject, validate } from '../http/validate.js';
import { artifactListQuerySchema, artifactUploadFieldsSchema } from '../schemas.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export function artifactRoutes(deps: AppDeps): Router {
  const router = Router();
  const upload = artifactUpload(deps.store, deps.config.maxUploadBytes);

  router.post(
    '/api/v1/artifacts',
    (req, _res, next) => {
      if (!req.is('multipart/form-data')) {
        return next(unsupportedMediaType('send the model as multipart/form-data with the file in the field "file" (and fields model, variant, project)'));
      }
      next();
    },
    upload,
    async (req: Request, res: Response) => {
      const file = req.file as UploadedFile | undefined;
      if (!file) throw badRequest('no file: send the model in the multipart field "file"', { field: 'file' });
      let fields: UploadFields;
      try {
        fields = validate<UploadFields>(artifactUploadFieldsSchema, { ...req.body });
      } catch (err) {
        await deps.store.discard({ path: file.path });
        throw err;
      }
      const result = await registerUpload(
        deps,
        principalOf(res),
        { path: file.path, sha256: file.sha256, sizeBytes: file.size },
        file.originalname,
        fields,
      );
      deps.logger.info({ artifactId: result.artifact.id, sha256: result.artifact.sha256, created: result.created }, 'artifact uploaded');
      sendJson<ArtifactUploaded>(res, { ...result.artifact, created: result.created, details: result.details }, result.created ? 201 : 200);
    },
  );

  router.get('/api/v1/artifacts', async (req, res) => {
    const q = validate<{ project?: string; model?: string; parent?: string; limit?: number; offset?: number }>(
      artifactListQuerySchema,
      queryToObject(req.query as Record<string, unknown>, ['limit', 'offset']),
    );
    sendJson<ArtifactList>(res, await listArtifactsFor(deps.db, principalOf(res), q));
  });

  router.get('/api/v1/artifacts/:id', async (req, res) => {
    sendJson<Artifact>(res, await getArtifactFor(deps.db, principalOf(res), req.params.id));
  });

  router.get('/api/v1/artifacts/:sha256/content', async (req, res) => {
    const file = await artifactContentPath(deps, principalOf(res), req.params.sha256);
    // Content-addressed: a cached copy with this ETag is this content.
    if (req.headers['if-none-match'] === `"${req.params.sha256}"`) return void res.status(304).end();
    const { size } = await stat(file);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(size));
    res.setHeader('ETag', `"${req.params.sha256}"`);
    res.setHeader('X-Content-SHA256', req.params.sha256);
    // A project's private model: only the caller's own cache may keep it, never a shared proxy.
    res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
    res.setHeader('Vary', 'Authorization');
    res.setHeader('Content-Disposition', 'attachment');
    const stream = createReadStream(file);
    stream.on('error', (err) => res.destroy(err));
    stream.pipe(res);
  });

  return router;
}
