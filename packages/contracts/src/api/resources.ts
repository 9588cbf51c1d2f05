// Artifacts, devices, projects, tokens, eval sets, calibrations, conversions and health:
// what their routes answer (services/api/src/routes/*.ts).
import type { ConversionFormat, ConversionRecipe, ConversionStatus } from '../conversions.js';
import type { CellFidelity } from '../fidelity.js';
import type { ArtifactFormat, DeviceState, Platform } from '../vocabulary.js';
import type { IsoTimestamp } from './wire.js';

// ------------------------------------------------------------------ artifacts

export interface Artifact {
  id: string;
  modelId: string;
  model: string;
  projectId: string;
  project: string;
  sha256: string;
  format: ArtifactFormat;
  variant: string;
  sizeBytes: number;
  filename: string | null;
  /** The artifact this one was converted from (a variant's fp32 TorchScript parent). */
  parentArtifactId: string | null;
  /** How it was made from its parent (torch version, qconfig, calibration hash, …). */
  recipe: Record<string, unknown> | null;
  createdAt: IsoTimestamp;
}

/** `POST /api/v1/artifacts`: 201 for new bytes, 200 when this model already had this file. */
export interface ArtifactUploaded extends Artifact {
  created: boolean;
  /** What the format detection read from the bytes. */
  details: Record<string, unknown>;
}

/** `GET /api/v1/artifacts`. */
export interface ArtifactList {
  artifacts: Artifact[];
}

// ------------------------------------------------------------------ devices

export interface Device {
  id: string;
  name: string;
  platform: Platform;
  arch: string;
  abi: string | null;
  soc: string | null;
  os: string | null;
  osVersion: string | null;
  deviceModel: string;
  pool: string;
  host: string;
  emulated: boolean;
  backends: string[];
  state: DeviceState;
  stateReason: string | null;
  currentJobId: string | null;
  consecutiveFailures: number;
  lastHeartbeatAt: IsoTimestamp;
  heartbeatTtlMs: number;
  info: Record<string, unknown>;
  registeredAt: IsoTimestamp;
  /** The owning project; null for a shared farm device. */
  projectId: string | null;
}

/** A device as `GET /api/v1/devices` lists it. */
export interface DeviceListed extends Device {
  /** `<pool> (emulated)` for an emulated device. */
  poolLabel: string;
}

/** `GET /api/v1/devices`. */
export interface DeviceList {
  devices: DeviceListed[];
}

// ------------------------------------------------------------------ projects and tokens

export interface ProjectSummary {
  id: string;
  name: string;
  createdAt: IsoTimestamp;
  models: number;
  runs: number;
  lastRunAt: IsoTimestamp | null;
}

/** `GET /api/v1/projects`. */
export interface ProjectList {
  projects: ProjectSummary[];
}

/** admin: everything; project: one project's data; worker: artifact bytes, nothing else. */
export type TokenKind = 'admin' | 'project' | 'worker';

/** A token without its secret (only ids, names, projects and dates are ever listed). */
export interface TokenSummary {
  id: string;
  kind: TokenKind;
  /** The project of a project token; null for admin and worker tokens. */
  projectId: string | null;
  projectName: string | null;
  name: string;
  createdAt: IsoTimestamp;
  revokedAt: IsoTimestamp | null;
}

/** `GET /api/v1/tokens`. */
export interface TokenList {
  tokens: TokenSummary[];
}

/** `POST /api/v1/tokens` (201). */
export interface CreatedToken {
  /** The bearer secret; shown once, only its sha256 is stored. */
  token: string;
  id: string;
  kind: TokenKind;
  name: string;
  project: string | null;
  admin: boolean;
}

// ------------------------------------------------------------------ eval sets, calibrations, conversions

/** `GET /api/v1/eval-sets/:sha256`. */
export interface EvalSet {
  sha256: string;
  filename: string | null;
  sizeBytes: number;
  samples: number;
  sampleShape: number[];
  inputDtype: string;
  labels: { min: number; max: number };
  createdAt: IsoTimestamp;
}

/** `POST /api/v1/eval-sets`: 201 for a new set, 200 when the project had these bytes. */
export interface EvalSetUploaded extends EvalSet {
  project: string;
  created: boolean;
}

/** `POST /api/v1/calibrations`: 201 for a new set, 200 when the project had these bytes. */
export interface CalibrationUploaded {
  id: string;
  projectId: string;
  sha256: string;
  sizeBytes: number;
  arrayName: string;
  dtype: string;
  shape: number[];
  filename: string | null;
  createdAt: IsoTimestamp;
  /** `shape[0]`. */
  samples: number;
  created: boolean;
}

/** `GET /api/v1/conversions/:id` (and the answer to `/failure`). */
export interface Conversion {
  id: string;
  parentArtifactId: string;
  variant: ConversionRecipe;
  format: ConversionFormat;
  recipeKey: string;
  inputShape: number[];
  calibrationSetId: string | null;
  calibrationSamples: number | null;
  status: ConversionStatus;
  reason: string | null;
  errorClass: string | null;
  unsupportedOp: string | null;
  attempts: number;
  outputArtifactId: string | null;
  workerHost: string | null;
  createdAt: IsoTimestamp;
  startedAt: IsoTimestamp | null;
  finishedAt: IsoTimestamp | null;
}

/** `POST /api/v1/conversions/:id/output`: the converted model as an artifact. */
export interface ConversionOutputStored extends Artifact {
  created: boolean;
}

// ------------------------------------------------------------------ health

/** `GET /healthz`. */
export interface Liveness {
  status: 'ok';
}

/** `GET /readyz`: 200 when every check is ok, 503 otherwise (the reason stays in the log). */
export interface Readiness {
  status: 'ok' | 'unavailable';
  checks: Record<string, 'ok' | 'unavailable'>;
}

/**
 * One row of `GET /api/v1/fidelity`: agreement with the reference per artifact × runtime × backend × device,
 * the figures medians over the row's sessions (as a cell's fidelity is over the cell's).
 */
export interface FidelityAgreementRow
  extends Pick<
    CellFidelity,
    'sessions' | 'top1AgreementPct' | 'top5OverlapPct' | 'cosine' | 'maxAbsError' | 'snrDb' | 'accuracyTop1Pct' | 'accuracyDropPct'
  > {
  model: string;
  variant: string;
  format: string;
  artifactSha256: string;
  runtime: string | null;
  backend: string;
  deviceArch: string | null;
  deviceModel: string | null;
  reference: { model: string; variant: string; format: string; sha256: string };
  runs: number;
  lastRunId: string;
  lastAt: IsoTimestamp;
}

/** `GET /api/v1/fidelity`. */
export interface FidelityAgreement {
  rows: FidelityAgreementRow[];
}

/** `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the api. */
export type OpenApiDocument = Record<string, unknown>;
