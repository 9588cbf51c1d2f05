import type { BenchFidelitySpec } from './fidelity.js';
import type { ArtifactFormat, Backend, Runtime } from './vocabulary.js';

/** Version of the BenchSpec document; a harness refuses versions it does not know. */
export const BENCH_SPEC_VERSION = 1 as const;

export const INPUT_DTYPES = ['float32', 'int64', 'int32', 'uint8'] as const;
export type InputDtype = (typeof INPUT_DTYPES)[number];

/** Bytes of one element of each input dtype. */
export const INPUT_DTYPE_BYTES: Readonly<Record<InputDtype, number>> = { float32: 4, int64: 8, int32: 4, uint8: 1 };

/** Bytes of all inputs of one inference together (what the harness generates and holds). */
export function inputBytes(inputs: readonly { shape: readonly number[]; dtype: InputDtype }[]): number {
  return inputs.reduce((sum, i) => sum + i.shape.reduce((n, d) => n * d, 1) * INPUT_DTYPE_BYTES[i.dtype], 0);
}

export interface BenchInputSpec {
  /** ONNX input name; for `.ptl` a label (inputs are positional). */
  name: string;
  shape: number[];
  dtype: InputDtype;
  /** Values are uniform in [low, high). @defaultValue [0, 1) for float32, [0, 256) for integers */
  distribution?: { low?: number; high?: number };
}

/**
 * What one harness session runs (schema: packages/contracts/schemas/bench-spec.v1.schema.json;
 * documented for harness authors in device-agents/harness/README.md).
 */
export interface BenchSpec {
  specVersion: typeof BENCH_SPEC_VERSION;
  artifact: { path: string; sha256: string; format: ArtifactFormat };
  runtime: Runtime;
  backend: Backend;
  threads: number;
  /** Untimed inferences; the first is reported as `firstInferenceMs`. */
  warmup: number;
  /** Timed inferences (at least this many). */
  iterations: number;
  /** Keep timing past `iterations` until the timed iterations add up to this. @defaultValue 0 */
  minDurationMs?: number;
  /** Seed of the generated input; input i uses seed + i. @defaultValue 0 */
  seed?: number;
  inputs: BenchInputSpec[];
  output?: {
    /** @defaultValue 0 */
    index?: number;
    /** @defaultValue 5 */
    topK?: number;
    /** @defaultValue true */
    digest?: boolean;
  };
  /** A fidelity pass after the timed loop (never timed): outputs on seeded inputs and an eval set, compared with a reference's. */
  fidelity?: BenchFidelitySpec;
  /** Wall-clock budget for the whole session in seconds. */
  timeBudgetSec: number;
  /** Opaque ids echoed into the report (run, job, session). */
  labels?: Record<string, string>;
}
