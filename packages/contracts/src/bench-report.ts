import type { BenchSpec } from './bench-spec.js';
import type { BenchFidelity } from './fidelity.js';

export const BENCH_REPORT_VERSION = 1 as const;

export const BENCH_REPORT_STATUSES = ['ok', 'unsupported', 'error'] as const;
export type BenchReportStatus = (typeof BENCH_REPORT_STATUSES)[number];

/** Why a session ended in `error` (or, for `unsupported_backend`, `unsupported`). */
export const BENCH_ERROR_CLASSES = [
  'bad_spec',
  'model_missing',
  'model_hash_mismatch',
  'model_load',
  'input_mismatch',
  'inference',
  'timeout',
  'crash',
  'unsupported_backend',
  'internal',
] as const;
export type BenchErrorClass = (typeof BENCH_ERROR_CLASSES)[number];

/**
 * How memory.peakRssBytes was measured. `VmHWM-emulator-host`: VmHWM read under an emulator
 * (qemu-user passes /proc through), so it is the host-side peak of the emulator process.
 */
export const PEAK_RSS_METHODS = ['VmHWM', 'VmHWM-emulator-host', 'PSS', 'phys_footprint'] as const;
export type PeakRssMethod = (typeof PEAK_RSS_METHODS)[number];

/** Device state at one instant; the same shape as the worker's `mobile: deviceState`. */
export interface DeviceSnapshot {
  takenAt: string;
  /** °C by thermal zone type; empty when the device exposes none. */
  thermalZones: Record<string, number>;
  cpuFreqKhz: number[];
  governor: string | null;
  loadAvg: [number, number, number];
  memAvailableBytes?: number;
  batteryPct?: number;
}

export interface HostFacts {
  arch: string;
  cpuModel: string;
  cores: number;
  kernel: string;
  os: string;
  memoryBytes?: number;
  emulated?: boolean;
}

export interface IterationSummary {
  count: number;
  minUs: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  stddevUs: number;
  madUs: number;
  /** stddev / mean */
  cv: number;
}

/**
 * What one harness session measured (schema: packages/contracts/schemas/bench-report.v1.schema.json).
 * `model`, `timing`, `summary`, `memory` and `output` are present when `status` is `ok`.
 */
export interface BenchReport {
  reportVersion: typeof BENCH_REPORT_VERSION;
  status: BenchReportStatus;
  error?: { class: BenchErrorClass; message: string };
  harness: { name: string; version: string };
  /** The spec as received; a raw object when it failed validation. */
  spec: BenchSpec | Record<string, unknown>;
  runtime: { name: string; version: string | null; detail?: Record<string, unknown> };
  backend: {
    requested: string;
    /** What actually executed every node; null when nothing ran. */
    used: string | null;
    adapter?: { name: string; deviceType?: string; driver?: string; apiVersion?: string; source?: string };
    reason?: string;
  };
  model?: { path: string; sha256: string; sizeBytes: number; format: string };
  timing?: {
    modelLoadMs: number;
    firstInferenceMs: number;
    warmup: number;
    /** Every timed iteration in µs, in order. */
    iterationsUs: number[];
    timedDurationMs: number;
  };
  summary?: IterationSummary;
  memory?: {
    peakRssBytes: number;
    method: PeakRssMethod;
    /** Proportional set size of the runner at the end of the session, where the kernel offers it. */
    pssBytes?: number;
    /** How pssBytes was read: `smaps_rollup` (/proc/self/smaps_rollup, Linux >= 4.14 and Android). */
    pssMethod?: 'smaps_rollup';
  };
  output?: {
    index: number;
    dtype: string;
    shape: number[];
    /** `sha256:<hex>` of the output as little-endian float32. */
    digest?: string;
    topK: number[];
    /** `sha256:<hex>` of the generated input bytes. */
    inputDigest: string;
  };
  /** Agreement with the reference and eval-set accuracy, when the spec asked for a fidelity pass. */
  fidelity?: BenchFidelity;
  device: { before: DeviceSnapshot; after: DeviceSnapshot };
  host: HostFacts;
  labels?: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  durationMs?: number;
}
