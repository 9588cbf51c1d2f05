// Runs: POST/GET /api/v1/runs, /runs/:id, /runs/:id/results, /runs/:id/cancel, /runs/:id/events, /runs/:id/sessions.
import type { CellFidelity } from '../fidelity.js';
import type { RunConfig } from '../jobs.js';
import type { JobStatus, RunStatus, SessionRole, SessionStatus } from '../vocabulary.js';
import type { IsoTimestamp } from './wire.js';

export interface ArtifactRef {
  id: string;
  model: string;
  variant: string;
  format: string;
  sha256: string;
  sizeBytes: number;
  /** The artifact it was converted from (variants runs). */
  parentArtifactId?: string | null;
}

/** One conversion a variants run waits for (or waited for), in the run's variant order. */
export interface ConversionView {
  id: string;
  variant: string;
  format: string;
  status: string;
  reason: string | null;
  errorClass: string | null;
  unsupportedOp: string | null;
  attempts: number;
  /** The variant's artifact once made. */
  artifact: ArtifactRef | null;
  /** How it was made (torch version, qconfig, calibration hash), once made. */
  recipe: Record<string, unknown> | null;
  startedAt: IsoTimestamp | null;
  finishedAt: IsoTimestamp | null;
}

/** A cell's figures on one side (head or baseline), medians over its sessions. */
export interface CellFigures {
  sessions: number;
  sessionsOk: number;
  sessionsUnstable: number;
  sessionsError: number;
  sessionsUnsupported: number;
  /** Timed iterations the figures below are computed from. */
  iterations: number;
  /** Median over the `ok` sessions (the `unstable` ones when none is ok) of each session's percentile. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  minMs: number | null;
  /** Median over sessions. */
  loadMs: number | null;
  firstInferenceMs: number | null;
  /** Highest over sessions. */
  peakRssBytes: number | null;
  peakRssMethod: string | null;
  modelSizeBytes: number | null;
  backendUsed: string | null;
  deviceArch: string | null;
  deviceIds: string[];
  runtime: string | null;
  /** The runtime's own version string(s), comma-separated. */
  runtimeVersion: string | null;
  /** GPU backends: the adapter that ran the cell, `name (deviceType)` (lavapipe says `cpu`). */
  gpuAdapter: string | null;
  /** The harness (name and version) that measured the cell. */
  harness: string | null;
  lastError: string | null;
  peakRssMb: number | null;
  modelSizeMb: number | null;
}

/** One stored session as `/runs/:id/results` lists it. */
export interface RunSession {
  id: number;
  jobId: string;
  role: SessionRole;
  sessionIndex: number;
  attempt: number;
  deviceId: string | null;
  status: SessionStatus;
  errorClass: string | null;
  errorMessage: string | null;
  backendUsed: string | null;
  deviceArch: string | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  cv: number | null;
  loadMs: number | null;
  peakRssBytes: number | null;
  source: string;
  createdAt: IsoTimestamp;
  /** With `?iterations=true`. */
  iterationsUs?: number[];
}

export interface CellView {
  cellIndex: number;
  jobId: string;
  artifact: ArtifactRef;
  baselineArtifact: ArtifactRef | null;
  backend: string;
  pool: string;
  deviceId: string | null;
  /** The cell's device, or every device of its pool, is emulated: shown as `<pool> (emulated)`. */
  emulated: boolean;
  status: JobStatus;
  reason: string | null;
  errorClass: string | null;
  sessionsPlanned: number;
  sessionsDone: number;
  /** Figures of the head side; null until a session is stored. */
  figures: CellFigures | null;
  /** Figures of the baseline side of a paired A/B cell. */
  baseline: CellFigures | null;
  /** Agreement with the cell's reference and eval-set accuracy (medians over ok head sessions); null without a fidelity pass. */
  fidelity: CellFidelity | null;
  /** `/runs/:id/results` only. */
  sessions?: RunSession[];
}

export interface RunProgressCounts {
  jobsTotal: number;
  jobsFinished: number;
  jobsDone: number;
  jobsFailed: number;
  fraction: number;
}

/** A run as `GET /api/v1/runs` lists it. */
export interface RunSummary {
  id: string;
  project: string;
  commit: string | null;
  branch: string | null;
  mergeBase: string | null;
  baselineBranch: string;
  status: RunStatus;
  config: RunConfig;
  progress: RunProgressCounts;
  createdAt: IsoTimestamp;
  startedAt: IsoTimestamp | null;
  finishedAt: IsoTimestamp | null;
}

/** `GET /api/v1/runs/:id` (and `/results`, with each cell's sessions). */
export interface RunView extends RunSummary {
  matrix: Record<string, unknown>;
  /** Variants runs: the fp32 TorchScript model the variants are converted from. */
  parentArtifact: ArtifactRef | null;
  /** Variants runs: one conversion per variant (and `.onnx`), with status; their cells appear when they end. */
  conversions: ConversionView[];
  progress: RunProgressCounts & { sessionsPlanned: number; sessionsDone: number };
  cells: CellView[];
}

/** `POST /api/v1/runs`: 201 with a new run, 200 with the run an idempotency key already made. */
export interface RunCreated extends RunView {
  created: boolean;
  warnings: string[];
}

/** `POST /api/v1/runs/:id/cancel`. */
export interface RunCancelled extends RunView {
  cancelledCells: number;
}

/** `GET /api/v1/runs`. */
export interface RunList {
  runs: RunSummary[];
  total: number;
  limit: number;
  offset: number;
  nextOffset: number | null;
}

/** The data of `progress` and `done` events on `GET /api/v1/runs/:id/events`. */
export interface RunProgressEvent {
  runId: string;
  status: RunStatus;
  jobsTotal: number;
  jobsFinished: number;
  sessionsPlanned: number;
  sessionsDone: number;
  fraction: number;
  /** Variants runs: the conversion step, one entry per variant. */
  conversions?: { variant: string; format: string; status: string; reason: string | null }[];
}

/** `POST /api/v1/runs/:id/sessions`: 201 when stored, 200 when this session was already stored. */
export interface ExternalSessionStored {
  sessionId: number;
  inserted: boolean;
  jobId: string;
  role: SessionRole;
  sessionIndex: number;
  cellStatus: JobStatus;
}
