import {
  artifactListQuerySchema, artifactUploadFieldsSchema, errorSchema, externalSessionSchema, runConfigSchema, runListQuerySchema,
  runRequestSchema, tokenRequestSchema,
} from './schemas.js';

const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json({ $ref: '#/components/schemas/Error' }, description);
const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });
/** The query parameters of a query schema (schemas.ts); an array is one comma-separated value (`runs=a,b`). */
export const queryParams = (schema: { properties: Record<string, unknown> }) =>
  Object.entries(schema.properties).map(([name, s]) => ({
    name, in: 'query', required: false, schema: s, ...((s as { type?: string }).type === 'array' ? { style: 'form', explode: false } : {}),
  }));
const common = { '401': err('missing or unknown bearer token'), '403': err('the token may not do this') };
const anyObject = { type: 'object' };

/** The api's own path items (the dashboard's and the gate's are merged in by `buildOpenApi`). */
export const apiPaths: Record<string, Record<string, unknown>> = {
  '/healthz': { get: { summary: 'Liveness', tags: ['ops'], security: [], responses: { '200': json(anyObject) } } },
  '/readyz': {
    get: {
      summary: 'Readiness: Postgres and Redis answer',
      tags: ['ops'],
      security: [],
      responses: { '200': json(anyObject), '503': json(anyObject, 'a dependency is down') },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus metrics (http requests, runs created, queue depth)',
      tags: ['ops'],
      security: [],
      responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  },
  '/api/v1/openapi.json': {
    get: { summary: 'This document', tags: ['ops'], security: [], responses: { '200': json(anyObject) } },
  },
  '/api/v1/projects': {
    get: { summary: 'Projects visible to the token', tags: ['projects'], responses: { '200': json(anyObject), ...common } },
  },
  '/api/v1/tokens': {
    post: {
      summary: 'Issue a project token (or an admin token); admin only. The secret is returned once.',
      tags: ['projects'],
      requestBody: { required: true, content: { 'application/json': { schema: tokenRequestSchema } } },
      responses: { '201': json(anyObject, 'created'), '422': err('invalid request'), ...common },
    },
    get: {
      summary: 'Tokens visible to the caller (admin: all; project token: its project\'s), without secrets',
      tags: ['projects'],
      responses: { '200': json(anyObject), ...common },
    },
  },
  '/api/v1/tokens/{id}': {
    delete: {
      summary: 'Revoke a token (admin, or a token of the same project)',
      tags: ['projects'],
      parameters: [idParam('id', 'token id')],
      responses: { '204': { description: 'revoked' }, '404': err('unknown or already revoked'), ...common },
    },
  },
  '/api/v1/artifacts': {
    post: {
      summary: 'Upload a model file; the format is detected from its content (ONNX, .ptl)',
      tags: ['artifacts'],
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              required: ['file'],
              properties: { ...artifactUploadFieldsSchema.properties, file: { type: 'string', format: 'binary' } },
            },
          },
        },
      },
      responses: {
        '201': json({ $ref: '#/components/schemas/Artifact' }, 'stored'),
        '200': json({ $ref: '#/components/schemas/Artifact' }, 'this model already had this file'),
        '400': err('no file'),
        '413': err('larger than POCKETBENCH_MAX_UPLOAD_MB'),
        '415': err('not a model format pocketbench knows'),
        '422': err('a known format but truncated or corrupt, or a bad field'),
        ...common,
      },
    },
    get: {
      summary: 'List artifacts',
      tags: ['artifacts'],
      parameters: queryParams(artifactListQuerySchema),
      responses: { '200': json(anyObject), ...common },
    },
  },
  '/api/v1/artifacts/{id}': {
    get: {
      summary: 'Artifact metadata',
      tags: ['artifacts'],
      parameters: [idParam('id', 'artifact id')],
      responses: { '200': json({ $ref: '#/components/schemas/Artifact' }), '404': err('unknown artifact'), ...common },
    },
  },
  '/api/v1/artifacts/{sha256}/content': {
    get: {
      summary: 'The artifact bytes by content hash (workers verify the hash and cache by it)',
      tags: ['artifacts'],
      parameters: [idParam('sha256', 'sha256, 64 lowercase hex digits')],
      responses: {
        '200': { description: 'the file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        '304': { description: 'If-None-Match named this sha256: the cached copy is current' },
        '404': err('no such content'),
        ...common,
      },
    },
  },
  '/api/v1/runs': {
    post: {
      summary: 'Submit a run: artifacts × backends × devices/pools, with a run config',
      tags: ['runs'],
      requestBody: { required: true, content: { 'application/json': { schema: runRequestSchema } } },
      responses: {
        '201': json({ $ref: '#/components/schemas/Run' }, 'accepted'),
        '200': json({ $ref: '#/components/schemas/Run' }, 'the earlier run with the same idempotencyKey'),
        '400': err('malformed JSON'),
        '422': err('invalid matrix or config, naming the field'),
        '503': err('the queue is unavailable; nothing was stored'),
        ...common,
      },
    },
    get: {
      summary: 'List runs, newest first',
      tags: ['runs'],
      parameters: queryParams(runListQuerySchema),
      responses: { '200': json(anyObject), '422': err('bad filter'), ...common },
    },
  },
  '/api/v1/runs/{id}': {
    get: {
      summary: 'A run: status, progress, and per cell its figures (p50/p90/p99 ms, load ms, peak RSS, size, backend used, device arch)',
      tags: ['runs'],
      parameters: [idParam('id', 'run id')],
      responses: { '200': json({ $ref: '#/components/schemas/Run' }), '404': err('unknown run'), ...common },
    },
  },
  '/api/v1/runs/{id}/results': {
    get: {
      summary: 'A run with every session per cell (add ?iterations=true for every timed iteration in µs)',
      tags: ['runs'],
      parameters: [idParam('id', 'run id'), { name: 'iterations', in: 'query', required: false, schema: { type: 'boolean' } }],
      responses: { '200': json({ $ref: '#/components/schemas/Run' }), '404': err('unknown run'), ...common },
    },
  },
  '/api/v1/runs/{id}/events': {
    get: {
      summary: 'Progress as server-sent events (`progress`, then `done`; the stream then ends)',
      tags: ['runs'],
      parameters: [idParam('id', 'run id')],
      responses: { '200': { description: 'event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': err('unknown run'), ...common },
    },
  },
  '/api/v1/runs/{id}/sessions': {
    post: {
      summary: 'Add a BenchReport measured outside the farm to a cell of the run (source external)',
      tags: ['runs'],
      parameters: [idParam('id', 'run id')],
      requestBody: { required: true, content: { 'application/json': { schema: externalSessionSchema } } },
      responses: { '201': json(anyObject, 'stored'), '200': json(anyObject, 'already stored'), '404': err('unknown run'), '409': err('sessionIndex in the farm\'s range'), '422': err('invalid report, or it measured another file than the cell\'s artifact'), ...common },
    },
  },
  '/api/v1/runs/{id}/cancel': {
    post: {
      summary: 'Cancel a queued or running run: unfinished cells become cancelled, their waiting sessions leave the queue',
      tags: ['runs'],
      parameters: [idParam('id', 'run id')],
      responses: { '200': json({ $ref: '#/components/schemas/Run' }), '404': err('unknown run'), '409': err('the run is already finished'), ...common },
    },
  },
  '/api/v1/devices': {
    get: {
      summary: 'Registered devices: state, last heartbeat, current job',
      tags: ['devices'],
      parameters: [{ name: 'pool', in: 'query', required: false, schema: { type: 'string' } }],
      responses: { '200': json(anyObject), ...common },
    },
  },
  '/api/v1/devices/{id}/release': {
    post: {
      summary: 'Lift a quarantine (admin)',
      tags: ['devices'],
      parameters: [idParam('id', 'device id')],
      responses: { '200': json(anyObject), '404': err('unknown device'), ...common },
    },
  },
};

/** The OpenAPI 3.1 document served at /api/v1/openapi.json. */
export function buildOpenApi(...extraPaths: Record<string, unknown>[]): Record<string, unknown> {
  const paths: Record<string, unknown> = { ...apiPaths };
  for (const extra of extraPaths) {
    for (const [p, item] of Object.entries(extra)) {
      paths[p] = { ...((paths[p] as object | undefined) ?? {}), ...(item as object) };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'pocketbench',
      version: '1',
      description:
        'Device-farm benchmarking for on-device ML models. Bearer tokens on /api/v1 (except this document); ' +
        'errors are {error: {code, message, details}}.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: errorSchema,
        RunRequest: runRequestSchema,
        RunConfig: runConfigSchema,
        Artifact: {
          type: 'object',
          properties: {
            id: { type: 'string' }, model: { type: 'string' }, project: { type: 'string' }, sha256: { type: 'string' },
            format: { type: 'string', enum: ['onnx', 'ptl', 'tflite', 'pte'] }, variant: { type: 'string' },
            sizeBytes: { type: 'integer' }, filename: { type: ['string', 'null'] }, created: { type: 'boolean' },
          },
        },
        Run: {
          type: 'object',
          properties: {
            id: { type: 'string' }, project: { type: 'string' }, status: { type: 'string' }, progress: { type: 'object' },
            config: runConfigSchema,
            cells: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  cellIndex: { type: 'integer' }, jobId: { type: 'string' }, backend: { type: 'string' }, pool: { type: 'string' },
                  deviceId: { type: ['string', 'null'] },
                  emulated: { type: 'boolean', description: 'The cell\'s device (or every device of its pool) is emulated: shown as "<pool> (emulated)".' },
                  status: { type: 'string' }, reason: { type: ['string', 'null'] },
                  figures: { type: ['object', 'null'] }, baseline: { type: ['object', 'null'] },
                },
              },
            },
          },
        },
      },
    },
  };
}
