/**
 * Fidelity: how far a cell's outputs are from its reference's on the same inputs, and its
 * accuracy on a labelled eval set. Measured once per session outside the timed loop.
 * Documented for harness authors in device-agents/harness/README.md ("Fidelity pass").
 */

/** @defaultValue 32 seeded fidelity inputs per session */
export const DEFAULT_FIDELITY_INPUTS = 32;
/** Fidelity inputs are generated from this seed unless the spec says otherwise (kept apart from the timed input's seed). */
export const DEFAULT_FIDELITY_SEED = 1_000_000;

/** BenchSpec.fidelity: asks the harness for a fidelity pass after the timed loop. */
export interface BenchFidelitySpec {
  /**
   * Seeded inputs, each run once: sample k of input i is generated with seed
   * `seed + k * inputs.length + i`. @defaultValue 32
   */
  inputs?: number;
  /** @defaultValue 1000000 */
  seed?: number;
  /** A labelled eval set on the device (`.npz` with `inputs` and `labels`); its samples follow the seeded ones. */
  evalSet?: { path: string; sha256: string };
  /**
   * The reference's outputs on the same samples (seeded, then eval set), as one file of
   * little-endian float32: sample by sample, each of `outputs` in order.
   */
  reference?: { path: string; sha256: string; outputs: { shape: number[] }[] };
  /** Also write this session's raw fidelity outputs here, in the reference file's layout (the host computing a reference). */
  outputsPath?: string;
}

/** Agreement of one model output with the reference's, over every fidelity sample. */
export interface FidelityOutputMetrics {
  index: number;
  shape: number[];
  /** Rows compared: samples × the output's leading dimensions (classes are the last dimension). */
  rows: number;
  top1Agree: number;
  top1AgreementPct: number;
  /** Mean of |top-5 ∩ reference top-5| / 5, in %. */
  top5OverlapPct: number;
  /** Mean cosine similarity of each sample's output with the reference's. */
  cosine: number;
  cosineMin: number;
  maxAbsError: number;
  /** 10·log10(Σ ref² / Σ (out − ref)²); null when the outputs are identical (no noise at all). */
  snrDb: number | null;
}

export interface FidelityAccuracy {
  /** Which output is ranked against the labels (the spec's `output.index`). */
  output: number;
  samples: number;
  top1Correct: number;
  top5Correct: number;
  top1Pct: number;
  top5Pct: number;
  /** The reference's accuracy on the same samples, from its outputs. */
  reference?: { top1Correct: number; top5Correct: number; top1Pct: number; top5Pct: number };
  /** reference top-1 % − this top-1 %, in percentage points (positive: worse than the reference). */
  dropPct?: number;
  /** Paired counts for the interval on the drop: samples only the reference got right, and only this model. */
  discordant?: { referenceOnly: number; modelOnly: number };
}

/** BenchReport.fidelity: present when the spec asked for a fidelity pass and it ran. */
export interface BenchFidelity {
  seededInputs: number;
  evalSamples: number;
  seed: number;
  /** `sha256:<hex>` of every fidelity input's bytes, in order. */
  inputDigest: string;
  outputs: { index: number; dtype: string; shape: number[] }[];
  /** `sha256:<hex>` of the reference outputs file compared against, when there was one. */
  referenceDigest?: string;
  agreement?: FidelityOutputMetrics[];
  accuracy?: FidelityAccuracy;
}

/** RunConfig.fidelity: what the run asks for (the reference is resolved per cell). */
export interface RunFidelityConfig {
  /** Seeded inputs per session. @defaultValue 32 */
  inputs?: number;
  /** @defaultValue 1000000 */
  seed?: number;
  /** sha256 of an eval set uploaded with `POST /api/v1/eval-sets`. */
  evalSet?: string;
  /**
   * Artifact id of the reference for every cell; `none` turns the default off. Default: per
   * model, its fp32 artifact in the run (a `.ptl` before an `.onnx`), else no reference.
   */
  reference?: string;
}

/** Per-cell fidelity figures as results show them: medians over the cell's ok head sessions. */
export interface CellFidelity {
  reference: { artifactId: string; variant: string; format: string; sha256: string } | null;
  sessions: number;
  top1AgreementPct: number | null;
  top5OverlapPct: number | null;
  cosine: number | null;
  maxAbsError: number | null;
  snrDb: number | null;
  accuracyTop1Pct: number | null;
  accuracyTop5Pct: number | null;
  referenceAccuracyTop1Pct: number | null;
  accuracyDropPct: number | null;
}
