import type { BenchReport, IterationSummary } from './bench-report.js';
import type { BenchFidelity } from './fidelity.js';
import type { SessionRole, SessionStatus } from './vocabulary.js';

/** The summary columns of a stored session (µs), as `sessionFromReport` computes them. */
export type SessionSummaryColumns = Pick<IterationSummary, 'minUs' | 'meanUs' | 'p50Us' | 'p90Us' | 'p99Us' | 'stddevUs' | 'madUs' | 'cv'>;

/**
 * One `sessions` row to store: built from a BenchReport by `sessionFromReport`
 * (packages/stats) for the worker and external sessions alike; packages/db stores it as given.
 */
export interface SessionRecord {
  jobId: string;
  runId: string;
  role: SessionRole;
  sessionIndex: number;
  /** @defaultValue 1 */
  attempt?: number;
  artifactId: string;
  deviceId?: string | null;
  status: SessionStatus;
  errorClass?: string | null;
  errorMessage?: string | null;
  backendRequested: string;
  backendUsed?: string | null;
  runtime?: string | null;
  runtimeVersion?: string | null;
  harnessVersion?: string | null;
  deviceArch?: string | null;
  /** Every timed iteration, µs (integers, as stored). */
  iterationsUs?: readonly number[];
  /** Summary of `iterationsUs`; the columns stay empty without it. */
  summary?: SessionSummaryColumns | null;
  loadMs?: number | null;
  firstInferenceMs?: number | null;
  peakRssBytes?: number | null;
  peakRssMethod?: string | null;
  modelSizeBytes?: number | null;
  deviceStateBefore?: unknown;
  deviceStateAfter?: unknown;
  /** The whole BenchReport (or, for a session that never produced one, what is known). */
  report: BenchReport | Record<string, unknown>;
  /** @defaultValue 'farm' */
  source?: 'farm' | 'external';
  /** The report's fidelity pass (agreement with the reference, eval-set accuracy), when it ran one. */
  fidelity?: BenchFidelity | null;
  /** Series facts beyond the artifact's project/model/variant; the series row is upserted when present. */
  series?: { deviceModel: string; osVersion?: string | null; inputSpec: unknown };
}

/**
 * The input-spec part of a series key, from the spec a BenchReport echoes: the inputs and the
 * seed. Farm and external sessions both use this, so they share one history.
 */
export function seriesInputSpec(spec: unknown): { inputs: unknown; seed: unknown } {
  const s = (spec ?? {}) as { inputs?: unknown; seed?: unknown };
  return { inputs: s.inputs ?? null, seed: s.seed ?? 0 };
}
