import type { BenchInputSpec } from './bench-spec.js';
import type { RunFidelityConfig } from './fidelity.js';
import type { ArtifactFormat, Backend, SessionRole } from './vocabulary.js';

/** Queue name for a pool; one BullMQ queue per pool, one consumer per device. */
export function queueNameForPool(pool: string, prefix = 'pocketbench'): string {
  return `${prefix}.pool.${pool}`;
}

/**
 * Deterministic BullMQ job id for one session of one cell: a double submit or a retry
 * maps to the same id, so BullMQ refuses the duplicate and the sessions table's unique key
 * refuses a second result.
 */
export function sessionJobId(runId: string, cellIndex: number, role: SessionRole, sessionIndex: number): string {
  return `${runId}.${cellIndex}.${role}.${sessionIndex}`;
}

/** Payload of one queued session: everything a worker needs without reading the run. */
export interface SessionJobData {
  runId: string;
  /** Id of the `jobs` row (one cell of the matrix). */
  jobId: string;
  cellIndex: number;
  role: SessionRole;
  sessionIndex: number;
  artifact: { id: string; sha256: string; format: ArtifactFormat; sizeBytes: number };
  backend: Backend;
  pool: string;
  /** Set when the cell targets one device rather than a pool. */
  deviceId?: string;
  config: RunConfig;
  /** The cell's fidelity reference (its outputs are computed on the worker host), when it has one. */
  reference?: { id: string; sha256: string; format: ArtifactFormat };
}

/**
 * BullMQ options of every session job, whoever adds it (the api at submission, the worker for
 * adaptive extras): infrastructure faults are retried with exponential backoff; finished jobs
 * leave Redis (results live in Postgres), failed ones stay a week for inspection. Plain data,
 * structurally BullMQ's `JobsOptions`.
 */
export const SESSION_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** One session job as it is added to a queue (BullMQ's `addBulk` entry). */
export interface SessionJob {
  name: 'session';
  data: SessionJobData;
  opts: typeof SESSION_JOB_OPTIONS & { jobId: string };
}

/**
 * The one builder of session jobs. The deterministic id makes a second add (double submit,
 * reconciliation, a re-delivered adaptive plan) a no-op.
 */
export function sessionJob(data: SessionJobData): SessionJob {
  return { name: 'session', data, opts: { ...SESSION_JOB_OPTIONS, jobId: sessionJobId(data.runId, data.cellIndex, data.role, data.sessionIndex) } };
}

export interface SessionJobResult {
  sessionId: string;
  status: string;
}

/** How each session of a run is executed. */
export interface RunConfig {
  /** @defaultValue 5 */
  warmup: number;
  /** @defaultValue 50 */
  iterations: number;
  /** Sessions per side (head, and baseline when paired). @defaultValue 1 (6 for A/B runs) */
  sessions: number;
  /** @defaultValue 1 */
  threads: number;
  /** Harness time budget per session in seconds. @defaultValue 300 */
  timeoutSec: number;
  /**
   * Minimum timed duration per session in milliseconds: the harness keeps timing past
   * `iterations` until this much time was timed, so a sub-millisecond model still gets a precise
   * session median (TFLite's benchmark_model times at least 1 s too). @defaultValue 1000
   */
  minDurationMs: number;
  /**
   * Adaptive A/B: add sessions while inconclusive, up to this many per side (the configured
   * maximum; the worker's cap follows the pool's measured session noise below it). @defaultValue 40
   */
  maxSessions: number;
  /** Adaptive A/B (add sessions while inconclusive, stop when decided or futile). @defaultValue true for A/B runs, false otherwise */
  adaptive: boolean;
  /**
   * The budgets file (YAML text) given at submission (`submit --budgets`), stored with the run:
   * the worker's stopping rule and the gate decide with the same tolerances. Absent: 5 %.
   */
  budgets?: string;
  /**
   * The model's inputs, when given: used as they are. When not given they are read from an ONNX
   * graph; a `.ptl` model (positional, untyped) gets one `input` of 1×3×224×224 float32.
   */
  inputs?: Pick<BenchInputSpec, 'name' | 'shape' | 'dtype'>[];
  /**
   * Fidelity pass (agreement with a reference, eval-set accuracy). A cell runs it when it has a
   * reference or the run an eval set.
   */
  fidelity?: RunFidelityConfig;
}

export const DEFAULT_RUN_CONFIG: RunConfig = {
  warmup: 5,
  iterations: 50,
  sessions: 1,
  threads: 1,
  timeoutSec: 300,
  minDurationMs: 1000,
  maxSessions: 40,
  adaptive: false,
};

/** Queue for sessions pinned to one device (paired A/B cells, `--devices <id>`). */
export function queueNameForDevice(deviceId: string, prefix = 'pocketbench'): string {
  return `${prefix}.device.${deviceId}`;
}

/** Queue of the farm's events: workers publish, the api reacts (alerts). */
export function eventsQueueName(prefix = 'pocketbench'): string {
  return `${prefix}.events`;
}

/** A run reached its final state (done or failed) by the session a worker just stored. */
export interface RunFinishedEvent {
  runId: string;
}

/** One `run.finished` event as it is added to the events queue. */
export interface RunFinishedJob {
  name: 'run.finished';
  data: RunFinishedEvent;
  opts: { jobId: string; attempts: number; backoff: { type: 'exponential'; delay: number }; removeOnComplete: true; removeOnFail: { age: number } };
}

/** The event for a run; one id per run, so a worker that publishes it twice adds it once. */
export function runFinishedJob(runId: string): RunFinishedJob {
  return {
    name: 'run.finished',
    data: { runId },
    opts: { jobId: `run.finished.${runId}`, attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } },
  };
}
