import { BENCH_ERROR_CLASSES, type BenchErrorClass } from './bench-report.js';

/**
 * Error classes the worker raises itself, before or around the harness: the device layer, the
 * artifact transfer, the report check. The harness's own classes are `BenchErrorClass`.
 */
export const WORKER_ERROR_CLASSES = [
  'infrastructure',
  'transfer',
  'device_unavailable',
  'harness_timeout',
  'harness_failed',
  'invalid_report',
  // Found by the worker before a session: what the submitted model or input asks is more than
  // the device can take (the model's fault, never the shared device's).
  'model_too_large',
  'input_too_large',
] as const;
export type WorkerErrorClass = (typeof WORKER_ERROR_CLASSES)[number];

/** Every class a failed session (or its job) can carry. */
export type ErrorClass = BenchErrorClass | WorkerErrorClass;
export const ERROR_CLASSES: readonly ErrorClass[] = [...BENCH_ERROR_CLASSES, ...WORKER_ERROR_CLASSES];

/** What a fault of one class means for the job, the device, the cell and the merge gate. */
export interface FaultPolicy {
  /** Another attempt may succeed: the queue retries the session job (with backoff). */
  retry: boolean;
  /** Counts towards the device's consecutive failures (quarantine). */
  blameDevice: boolean;
  /** The model's own fault: the session is stored and the cell fails at once, no retry. */
  failCell: boolean;
  /** A head session that ended in it fails the merge gate (the model cannot run). */
  failGate: boolean;
}

const MODEL_FAULT: FaultPolicy = { retry: false, blameDevice: false, failCell: true, failGate: true };
const DEVICE_FAULT: FaultPolicy = { retry: true, blameDevice: true, failCell: false, failGate: false };

/**
 * The one fault policy, read by the worker (retry, quarantine, cell) and the gate. Errors carry
 * their class from where they are raised; nothing is classified by its message.
 */
export const FAULT_POLICY: Readonly<Record<ErrorClass, FaultPolicy>> = {
  bad_spec: MODEL_FAULT,
  model_load: MODEL_FAULT,
  input_mismatch: MODEL_FAULT,
  inference: MODEL_FAULT,
  timeout: MODEL_FAULT,
  // A crashing runner may be the device: retried without blaming it. One that persisted through
  // the retries is the model's as far as the gate is concerned.
  crash: { retry: true, blameDevice: false, failCell: false, failGate: true },
  model_missing: DEVICE_FAULT,
  model_hash_mismatch: DEVICE_FAULT,
  internal: DEVICE_FAULT,
  // Not a fault: the session is stored `unsupported` and the cell says so.
  unsupported_backend: { retry: false, blameDevice: false, failCell: false, failGate: false },
  infrastructure: DEVICE_FAULT,
  transfer: DEVICE_FAULT,
  device_unavailable: DEVICE_FAULT,
  // Killed by the driver's backstop: the model's slowness as often as the device's fault.
  harness_timeout: { retry: true, blameDevice: false, failCell: false, failGate: false },
  harness_failed: DEVICE_FAULT,
  invalid_report: DEVICE_FAULT,
  model_too_large: MODEL_FAULT,
  input_too_large: MODEL_FAULT,
};

export function isErrorClass(c: unknown): c is ErrorClass {
  return typeof c === 'string' && Object.hasOwn(FAULT_POLICY, c);
}

/** The policy of a stored or raised class; a class this version does not know is treated as infrastructure. */
export function faultPolicy(errorClass: string | null | undefined): FaultPolicy {
  return isErrorClass(errorClass) ? FAULT_POLICY[errorClass] : FAULT_POLICY.infrastructure;
}

function classesWhere(pick: (p: FaultPolicy) => boolean): ReadonlySet<string> {
  return new Set(ERROR_CLASSES.filter((c) => pick(FAULT_POLICY[c])));
}

/**
 * Error classes that are the model's (or the spec's) own fault: another attempt cannot help.
 * The worker stores the session and fails the cell at once on these; the rest are retried.
 */
export const MODEL_FAULT_ERROR_CLASSES: ReadonlySet<string> = classesWhere((p) => p.failCell);

/** Classes of a head session that fail the merge gate (the model failed on the device). */
export const GATE_FAULT_ERROR_CLASSES: ReadonlySet<string> = classesWhere((p) => p.failGate);
