import { createHash } from 'node:crypto';
import type { Variant } from './vocabulary.js';

/** Variants a conversion job can make from an fp32 TorchScript model (the recipe names). */
export const CONVERSION_RECIPES = ['fp32', 'int8-dynamic', 'int8-static'] as const satisfies readonly Variant[];
export type ConversionRecipe = (typeof CONVERSION_RECIPES)[number];

/** Formats a conversion writes: the lite interpreter's `.ptl`, and `.onnx` (fp32 only) on request. */
export const CONVERSION_FORMATS = ['ptl', 'onnx'] as const;
export type ConversionFormat = (typeof CONVERSION_FORMATS)[number];

export const CONVERSION_STATUSES = ['queued', 'running', 'done', 'failed', 'unsupported'] as const;
export type ConversionStatus = (typeof CONVERSION_STATUSES)[number];

/**
 * Version of the conversion script (services/worker/src/conversion/convert_model.py): part of
 * every recipe key, so changing what the script produces must bump it or the cache serves old outputs.
 */
export const CONVERTER_VERSION = 1;

/** Generated calibration batches for int8-static when no calibration set is given. */
export const DEFAULT_CALIBRATION_SAMPLES = 8;
/** Seed of the converter (generated calibration inputs, the check input). */
export const CONVERSION_SEED = 0;

/** The one BullMQ queue of conversion jobs; any worker host with the converter consumes it. */
export function conversionQueueName(prefix = 'pocketbench'): string {
  return `${prefix}.conversion`;
}

/** Everything that decides a conversion's output; the same key means the same output (the cache). */
export interface ConversionRecipeKey {
  converter: number;
  variant: ConversionRecipe;
  format: ConversionFormat;
  inputShape: number[];
  /** sha256 of the calibration .npz, or the number of generated batches (int8-static only). */
  calibration: { sha256: string } | { generated: number } | null;
  seed: number;
}

/** Canonical text of a recipe key (fixed field order). */
export function recipeKeyText(k: ConversionRecipeKey): string {
  return JSON.stringify({
    converter: k.converter, variant: k.variant, format: k.format, inputShape: k.inputShape, calibration: k.calibration, seed: k.seed,
  });
}

/**
 * Deterministic id of a conversion (its row and its BullMQ job): parent artifact × recipe key.
 * Submitting the same parent with the same recipe twice is one conversion.
 */
export function conversionId(parentArtifactId: string, recipeKey: string): string {
  return `conv-${createHash('sha256').update(`${parentArtifactId}\n${recipeKey}`).digest('hex').slice(0, 40)}`;
}

/** Payload of one conversion job: everything a converter host needs without reading the run. */
export interface ConversionJobData {
  conversionId: string;
  parent: { id: string; sha256: string };
  variant: ConversionRecipe;
  format: ConversionFormat;
  inputShape: number[];
  /** int8-static: the calibration set to download, or the number of generated batches. */
  calibration?: { sha256: string };
  calibrationSamples?: number;
  seed: number;
}

/** What the converter reports with a finished output (stored as the artifact's recipe). */
export interface ConversionRecipeRecord {
  name: ConversionRecipe;
  format: ConversionFormat;
  torchVersion: string;
  engine: string;
  seed: number;
  inputShape: number[];
  qconfig: string | null;
  calibration?: { source: 'file'; sha256: string; array: string; samples: number } | { source: 'generated'; samples: number; generator: string };
  [k: string]: unknown;
}
