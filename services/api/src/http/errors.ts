import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '@pocketbench/db';
import { ApiError } from '../errors.js';

/** Express's own errors (body parser) carry `type` and `status`. */
interface HttpishError extends Error {
  type?: string;
  status?: number;
  statusCode?: number;
  limit?: number;
}

/** Seconds a client is told to wait (`Retry-After`) while Postgres or Redis is away. */
export const RETRY_AFTER_SEC = 5;

/** ioredis refusing a command because Redis is away (reconnecting, retries used up, closed). */
function isRedisUnavailable(err: unknown): boolean {
  const m = (err as Error)?.message ?? '';
  return /max retries per request|Connection is closed|Stream isn't writeable|enableOfflineQueue/i.test(m) || (err as { name?: string })?.name === 'MaxRetriesPerRequestError';
}

function toApiError(err: unknown, maxUploadBytes: number): ApiError {
  if (err instanceof ApiError) return err;
  if (isDatabaseUnavailable(err)) {
    return new ApiError(503, 'database_unavailable', `the database is unavailable (${(err as Error).message}); retry in a few seconds`, {
      retryAfterSec: RETRY_AFTER_SEC,
    });
  }
  if (isRedisUnavailable(err)) {
    return new ApiError(503, 'queue_unavailable', `the queue (Redis) is unavailable (${(err as Error).message}); retry in a few seconds`, {
      retryAfterSec: RETRY_AFTER_SEC,
    });
  }
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') {
      return new ApiError(413, 'payload_too_large', `the uploaded file is larger than the limit of ${Math.round(maxUploadBytes / 1048576)} MB (POCKETBENCH_MAX_UPLOAD_MB)`, {
        field: err.field,
        limitBytes: maxUploadBytes,
      });
    }
    if (err.code === 'LIMIT_UNEXPECTED_FILE') {
      return new ApiError(400, 'bad_request', `unexpected file field "${err.field}": send the model as the field "file"`, { field: err.field });
    }
    return new ApiError(400, 'bad_request', `multipart upload refused: ${err.message}${err.field ? ` (field ${err.field})` : ''}`, {
      field: err.field,
    });
  }
  const e = err as HttpishError;
  if (e?.type === 'entity.parse.failed') return new ApiError(400, 'malformed_json', `the request body is not valid JSON: ${e.message}`);
  if (e?.type === 'entity.too.large') return new ApiError(413, 'payload_too_large', `the request body is larger than ${e.limit} bytes`);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new ApiError(415, 'unsupported_media_type', e.message);
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, 'bad_request', e.message);
  return new ApiError(500, 'internal', 'internal error');
}

/** The one error handler: every failure leaves as `{error: {code, message, details}}`. */
export function errorHandler(logger: Logger, maxUploadBytes: number) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const api = toApiError(err, maxUploadBytes);
    if (api.status === 503) logger.warn({ code: api.code, err: (err as Error).message, method: req.method, url: req.originalUrl }, 'dependency unavailable; answered 503');
    else if (api.status >= 500) logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    else logger.debug({ code: api.code, method: req.method, url: req.originalUrl }, api.message);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (api.status === 503) res.setHeader('Retry-After', String(RETRY_AFTER_SEC));
    res.status(api.status).json({ error: { code: api.code, message: api.message, details: api.details ?? null } });
  };
}

export function notFoundHandler(req: Request, res: Response) {
  res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path}`, details: null } });
}
