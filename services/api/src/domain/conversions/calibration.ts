import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NpzError, readNpzHeaders } from '@pocketbench/contracts';
import { insertCalibrationSet, withTransaction, type CalibrationSetRow, type Pool } from '@pocketbench/db';
import { ApiError } from '../../errors.js';
import { projectForWrite, type Principal } from '../auth/tokens.js';
import type { ArtifactStore, TempArtifact } from '../artifacts/artifact-store.js';

/** Most calibration batches a conversion takes (static quantization needs tens to hundreds). */
export const MAX_CALIBRATION_SAMPLES = 4096;
const FLOAT_DTYPES = new Set(['f4', 'f8', 'f2']);

/**
 * `POST /api/v1/calibrations`: an `.npz` of model inputs for int8-static calibration. The array
 * used is `inputs` (so an eval set with `inputs` and `labels` works too), else the only one; it
 * must be floating point with a leading samples axis. Stored once by sha256 in the artifact store.
 * On any refusal nothing is left behind.
 */
export async function registerCalibration(
  deps: { db: Pool; store: ArtifactStore; maxBytes: number },
  principal: Principal,
  temp: TempArtifact,
  originalName: string | undefined,
  fields: { project?: string },
): Promise<{ calibration: CalibrationSetRow; created: boolean }> {
  try {
    let arrays;
    try {
      // Headers only: a calibration set is gigabytes of samples the api never decodes; it may inflate to 4× the upload limit.
      arrays = [...readNpzHeaders(await readFile(temp.path), { maxInflatedBytes: deps.maxBytes * 4 })].map(([name, a]) => ({ name, ...a }));
    } catch (err) {
      if (err instanceof NpzError) throw new ApiError(422, 'invalid_calibration', `calibration set: ${err.message}`, { field: 'file' });
      throw err;
    }
    const chosen = arrays.find((a) => a.name === 'inputs') ?? (arrays.length === 1 ? arrays[0] : undefined);
    if (!chosen) {
      throw new ApiError(422, 'invalid_calibration',
        `calibration set: it holds ${arrays.map((a) => a.name).join(', ')}; name the model inputs "inputs" (numpy.savez(f, inputs=x))`, { field: 'file' });
    }
    if (!FLOAT_DTYPES.has(chosen.dtype)) {
      throw new ApiError(422, 'invalid_calibration', `calibration set: array ${chosen.name} has dtype ${chosen.descr}; model inputs must be float32`, { field: 'file' });
    }
    if (chosen.shape.length < 2 || chosen.shape[0] < 1) {
      throw new ApiError(422, 'invalid_calibration',
        `calibration set: array ${chosen.name} has shape (${chosen.shape.join(', ')}); expected samples first, e.g. (16, 3, 224, 224)`, { field: 'file' });
    }
    if (chosen.shape[0] > MAX_CALIBRATION_SAMPLES) {
      throw new ApiError(422, 'invalid_calibration',
        `calibration set: ${chosen.shape[0]} samples; at most ${MAX_CALIBRATION_SAMPLES}`, { field: 'file' });
    }
    return await withTransaction(deps.db, async (tx) => {
      const project = await projectForWrite(tx, principal, fields.project, { create: true });
      await deps.store.commit(temp);
      return insertCalibrationSet(tx, {
        projectId: project.id, sha256: temp.sha256, sizeBytes: temp.sizeBytes, arrayName: chosen.name, dtype: chosen.descr,
        shape: chosen.shape, filename: originalName ? path.basename(originalName) : null,
      });
    });
  } finally {
    // Committed files were moved away; anything else is a refusal's leftover.
    await deps.store.discard(temp);
  }
}

/**
 * Whether calibration samples fit the model input: each sample is one input without its batch
 * axis (N × C×H×W for a 1×C×H×W input) or a whole input (N × 1×C×H×W). Returns the refusal, or null.
 */
export function calibrationMismatch(cal: CalibrationSetRow, inputShape: number[]): string | null {
  const sample = cal.shape.slice(1);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(sample, inputShape.slice(1)) || same(sample, inputShape)) return null;
  return `the calibration set's samples are ${sample.join('×')} (array ${cal.arrayName} is ${cal.shape.join('×')}) but the model input is ` +
    `${inputShape.join('×')}: give samples of ${inputShape.slice(1).join('×')} (or pass the input shape with --input)`;
}
