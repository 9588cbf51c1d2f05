/** Names shared by code, SQL, API and UI (see shared/DESIGN.md, "Vocabulary"). */

/** `pt` is a full TorchScript model: not runnable on a device, the parent that variants are converted from. */
export const ARTIFACT_FORMATS = ['ptl', 'onnx', 'tflite', 'pte', 'pt'] as const;
export type ArtifactFormat = (typeof ARTIFACT_FORMATS)[number];

export const VARIANTS = ['fp32', 'fp16', 'int8-dynamic', 'int8-static'] as const;
export type Variant = (typeof VARIANTS)[number];

export const BACKENDS = ['cpu', 'xnnpack', 'vulkan', 'nnapi', 'coreml'] as const;
export type Backend = (typeof BACKENDS)[number];

export const RUNTIMES = ['onnxruntime', 'pytorch-lite'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export const PLATFORMS = ['linux', 'android', 'ios'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const DEVICE_STATES = ['online', 'busy', 'offline', 'quarantined'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export const RUN_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A job is one cell of a run's matrix. */
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'unsupported', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A session is one harness execution on one device. */
export const SESSION_STATUSES = ['ok', 'unstable', 'error', 'unsupported'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** `head` is the artifact under test, `baseline` the paired A/B reference. */
export const SESSION_ROLES = ['head', 'baseline'] as const;
export type SessionRole = (typeof SESSION_ROLES)[number];

export const VERDICTS = ['pass', 'fail', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const ALERT_STATUSES = ['active', 'acknowledged', 'dismissed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** Runtime that executes a given artifact format on the reference harness. */
export function runtimeForFormat(format: ArtifactFormat): Runtime | undefined {
  if (format === 'onnx') return 'onnxruntime';
  if (format === 'ptl') return 'pytorch-lite';
  return undefined;
}

/** Run, artifact and project ids are UUIDs: the one pattern the api's schemas and lookups use. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID_RE = new RegExp(UUID_PATTERN);

/** Whether `id` can name a row at all (anything else is "does not exist", without a query). */
export function isUuid(id: string): boolean {
  return UUID_RE.test(id);
}
