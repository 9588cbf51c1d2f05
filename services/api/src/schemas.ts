// JSON Schemas of every request body and query, used both to validate at the boundary and in
// the OpenAPI document, so the two cannot drift apart.
import { ALERT_STATUSES, BACKENDS, CONVERSION_RECIPES, INPUT_DTYPES, RUN_STATUSES, SESSION_ROLES, UUID_PATTERN, VARIANTS } from '@pocketbench/contracts';

const PROJECT = '^[a-z0-9][a-z0-9._-]{0,63}$';

/** Bounds of a run's config: wide enough for any real use, narrow enough to refuse typos. */
export const RUN_CONFIG_LIMITS = {
  warmup: [0, 10_000],
  iterations: [1, 100_000],
  sessions: [1, 100],
  threads: [1, 64],
  timeoutSec: [1, 7_200],
  minDurationMs: [0, 3_600_000],
  maxSessions: [1, 200],
} as const;

export const runConfigSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'How each session runs; every field optional (defaults: warmup 5, iterations 50, sessions 1 — 6 for A/B —, threads 1, timeoutSec 300).',
  properties: {
    ...Object.fromEntries(
      Object.entries(RUN_CONFIG_LIMITS).map(([k, [min, max]]) => [k, { type: 'integer', minimum: min, maximum: max }]),
    ),
    adaptive: { type: 'boolean', description: 'A/B only: add sessions while a cell is inconclusive, up to maxSessions per side (default true for A/B runs).' },
    fidelity: {
      type: 'object',
      additionalProperties: false,
      description: 'Fidelity pass (never timed): agreement with a reference on seeded inputs and an eval set, eval-set accuracy. Runs in a cell that has a reference or when evalSet is given.',
      properties: {
        inputs: { type: 'integer', minimum: 0, maximum: 10_000, description: 'Seeded inputs per session (default 32).' },
        seed: { type: 'integer', minimum: 0, maximum: 4_294_967_295, description: 'Seed of the fidelity inputs (default 1000000).' },
        evalSet: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'sha256 of an eval set uploaded with POST /api/v1/eval-sets.' },
        reference: {
          type: 'string',
          minLength: 1,
          maxLength: 64,
          description: 'Artifact id of every cell\'s reference, or "none". Default: per model with several artifacts in the run, its fp32 artifact (.ptl before .onnx).',
        },
      },
    },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      description: 'The model\'s inputs (name, shape, dtype). Default: read from an ONNX graph; one `input` of 1×3×224×224 float32 for `.ptl`.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'shape', 'dtype'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 },
          shape: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
          dtype: { type: 'string', enum: [...INPUT_DTYPES] },
        },
      },
    },
  },
} as const;

export const runRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['matrix'],
  properties: {
    project: { type: 'string', pattern: PROJECT, description: 'Defaults to the token\'s project, else the first artifact\'s.' },
    commit: { type: 'string', minLength: 1, maxLength: 200 },
    branch: { type: 'string', minLength: 1, maxLength: 200 },
    mergeBase: { type: 'string', minLength: 1, maxLength: 200 },
    baselineBranch: { type: 'string', minLength: 1, maxLength: 200 },
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 200, description: 'A second submit with the same key returns the first run.' },
    acceptExternalSessions: {
      type: 'boolean',
      description: 'Open the run for sessions measured outside the farm (POST /api/v1/runs/{id}/sessions); closed by default.',
    },
    matrix: {
      type: 'object',
      additionalProperties: false,
      required: ['artifacts', 'backends', 'devices'],
      properties: {
        artifacts: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', pattern: UUID_PATTERN } },
        baselineArtifact: { type: 'string', pattern: UUID_PATTERN, description: 'Paired A/B: sessions of this artifact interleave with the head\'s on one device.' },
        backends: { type: 'array', minItems: 1, maxItems: 16, uniqueItems: true, items: { type: 'string', enum: [...BACKENDS] } },
        devices: {
          type: 'array',
          minItems: 1,
          maxItems: 1000,
          uniqueItems: true,
          items: { type: 'string', minLength: 1, maxLength: 200 },
          description: 'Pool names or device ids.',
        },
        variants: {
          type: 'array',
          minItems: 1,
          maxItems: CONVERSION_RECIPES.length,
          uniqueItems: true,
          items: { type: 'string', enum: [...CONVERSION_RECIPES] },
          description: 'Convert the one fp32 TorchScript artifact (.pt) into these variants (.ptl) and run the matrix on them.',
        },
      },
    },
    conversion: {
      type: 'object',
      additionalProperties: false,
      description: 'How the variants are made (with matrix.variants).',
      properties: {
        calibration: { type: 'string', pattern: UUID_PATTERN, description: 'Calibration set for int8-static (POST /api/v1/calibrations).' },
        calibrationSamples: { type: 'integer', minimum: 1, maximum: 1024, description: 'Without a calibration set: this many seeded generated batches (default 8).' },
        onnx: { type: 'boolean', description: 'Also export the fp32 variant to ONNX.' },
      },
    },
    config: runConfigSchema,
    budgets: {
      type: 'string',
      maxLength: 262_144,
      description: 'The budgets file (YAML text), stored with the run: the adaptive stopping rule and the gate use its tolerances (max_regression_pct, max_p90_regression_pct).',
    },
  },
} as const;

export const runListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: { type: 'string', pattern: PROJECT },
    branch: { type: 'string', minLength: 1 },
    status: { type: 'string', enum: [...RUN_STATUSES] },
    limit: { type: 'integer', minimum: 1, maximum: 500 },
    offset: { type: 'integer', minimum: 0 },
  },
} as const;

export const artifactListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: { type: 'string', pattern: PROJECT },
    model: { type: 'string', minLength: 1 },
    parent: { type: 'string', pattern: UUID_PATTERN, description: 'Only the variants converted from this artifact (lineage).' },
    limit: { type: 'integer', minimum: 1, maximum: 500 },
    offset: { type: 'integer', minimum: 0 },
  },
} as const;

export const artifactUploadFieldsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', description: 'Defaults to the file name without extension.' },
    variant: { type: 'string', enum: [...VARIANTS], description: 'Defaults to fp32.' },
    project: { type: 'string', pattern: PROJECT },
  },
} as const;

export const calibrationUploadFieldsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { project: { type: 'string', pattern: PROJECT } },
} as const;

export const conversionFailureSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'errorClass', 'reason'],
  properties: {
    status: { type: 'string', enum: ['unsupported', 'failed'] },
    errorClass: { type: 'string', minLength: 1, maxLength: 100 },
    reason: { type: 'string', minLength: 1, maxLength: 8000 },
    op: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

export const tokenRequestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: { type: 'string', pattern: PROJECT },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    admin: { type: 'boolean', description: 'Same as kind: admin.' },
    kind: {
      type: 'string',
      enum: ['admin', 'project', 'worker'],
      description: 'project (default with `project`): one project\'s data; admin: everything; worker: fetches artifact bytes, nothing else.',
    },
  },
} as const;

export const externalSessionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cellIndex', 'report'],
  properties: {
    cellIndex: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    role: { type: 'string', enum: [...SESSION_ROLES] },
    sessionIndex: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'Defaults to the next free external index (100000 and up; below is the farm\'s, refused with 409 in a farm-run cell); give it to make retries idempotent.' },
    deviceId: { type: 'string', minLength: 1, maxLength: 200, description: 'A device of the caller\'s project, when the report came from one.' },
    deviceModel: { type: 'string', minLength: 1, maxLength: 200, description: 'Device model for the series (defaults to the report host\'s CPU model).' },
    report: { type: 'object', description: 'A BenchReport (packages/contracts/schemas/bench-report.v1.schema.json).' },
  },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
} as const;

/** `POST /api/v1/runs/:id/gate`. */
export const gateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    budgets: { type: 'string', description: 'Text of a budgets YAML file (docs/statistics.md).' },
    baselineBranch: { type: 'string', pattern: '^[A-Za-z0-9._/-]{1,200}$', description: "Branch of the historical baseline; default the run's (main)." },
    lookbackDays: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
  },
} as const;

// The dashboard's queries (read by `dashboardQuery`: integers, booleans and comma-separated
// lists typed, an empty value absent). Unknown parameters are ignored, as the dashboard always did.
const filterText = (description: string) => ({ type: 'string', maxLength: 200, description }) as const;
const dashboardPage = {
  limit: { type: 'integer', minimum: 1, maximum: 200, description: 'Page size (default 50).' },
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'Rows to skip (default 0).' },
} as const;
const idList = (what: string, min: number, max: number) =>
  ({ type: 'array', minItems: min, maxItems: max, items: { type: 'string', pattern: UUID_PATTERN }, description: `${min}–${max} ${what} ids, comma-separated.` }) as const;

export const dashboardRunsQuerySchema = {
  type: 'object',
  properties: {
    project: filterText('Project name.'),
    branch: filterText('Branch name.'),
    status: { type: 'string', enum: [...RUN_STATUSES], description: 'Run status.' },
    ...dashboardPage,
  },
} as const;

export const seriesListQuerySchema = {
  type: 'object',
  properties: {
    project: filterText('Project name.'),
    model: filterText('Model name.'),
    backend: filterText('Backend.'),
    deviceModel: filterText('Device model.'),
    alerting: { type: 'boolean', description: 'Only series with an active alert (true/1, false/0).' },
    ...dashboardPage,
  },
} as const;

export const seriesQuerySchema = {
  type: 'object',
  properties: {
    branch: filterText('Only runs on this branch (default `main`); `*` for every branch.'),
    limit: { type: 'integer', minimum: 10, maximum: 2000, description: 'Points (default 300).' },
    before: { type: 'string', maxLength: 200, description: 'Only sessions created before this instant (ISO 8601; the `nextBefore` of the newer page).' },
  },
} as const;

export const compareQuerySchema = {
  type: 'object',
  properties: {
    runs: idList('run', 2, 4),
    artifacts: idList('artifact', 2, 6),
    run: { type: 'string', pattern: UUID_PATTERN, description: 'With `artifacts`: only sessions of this run.' },
  },
} as const;

export const alertListQuerySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: [...ALERT_STATUSES], description: 'Alert status.' },
    project: filterText('Project name.'),
    series: { type: 'integer', minimum: 1, maximum: 999_999_999_999_999, description: 'Series id.' },
    ...dashboardPage,
  },
} as const;
