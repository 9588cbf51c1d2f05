import { evalSampleFits, isUuid, runtimeForFormat, type RunConfig } from '@pocketbench/contracts';
import type { ArtifactRow, Pool } from '@pocketbench/db';
import { validationFailed } from '../../errors.js';
import type { Principal } from '../auth/tokens.js';
import { evalSetFor } from './register-eval-set.js';

/** The run config's fidelity fields that name something to fetch: the explicit reference. */
export function explicitReferenceId(config: Partial<RunConfig> | undefined): string | undefined {
  const r = config?.fidelity?.reference;
  return r && r !== 'none' ? r : undefined;
}

/**
 * Checks the run's fidelity config before anything is stored (422 naming the field):
 * the eval set exists in the project and fits the run's declared input, the explicit reference
 * is an artifact of the project that a harness can run, and there is something to measure.
 */
export async function checkFidelityConfig(
  db: Pool,
  principal: Principal,
  projectId: string,
  config: RunConfig,
  artifacts: Map<string, ArtifactRow>,
): Promise<void> {
  const f = config.fidelity;
  if (!f) return;
  if (f.reference !== undefined && f.reference !== 'none') {
    if (!isUuid(f.reference)) {
      throw validationFailed(`config.fidelity.reference: "${f.reference}" is not an artifact id (or "none")`, { field: 'config.fidelity.reference' });
    }
    const ref = artifacts.get(f.reference);
    if (!ref || ref.projectId !== projectId) {
      throw validationFailed(`config.fidelity.reference: unknown artifact "${f.reference}" in this project (upload it first)`, { field: 'config.fidelity.reference' });
    }
    if (!runtimeForFormat(ref.format)) {
      throw validationFailed(`config.fidelity.reference: no pocketbench harness runs ${ref.format} artifacts, so its outputs cannot be computed`, { field: 'config.fidelity.reference' });
    }
  }
  if (f.evalSet !== undefined) {
    const e = await evalSetFor(db, principal, projectId, f.evalSet, 'config.fidelity.evalSet');
    if (config.inputs && config.inputs.length !== 1) {
      throw validationFailed(`config.fidelity.evalSet: an eval set needs a model with one input; config.inputs declares ${config.inputs.length}`, { field: 'config.fidelity.evalSet' });
    }
    const misfit = config.inputs ? evalSampleFits(e.sampleShape, config.inputs[0].shape) : null;
    if (misfit) throw validationFailed(`config.fidelity.evalSet: ${misfit}`, { field: 'config.fidelity.evalSet' });
  } else if (f.inputs === 0) {
    throw validationFailed('config.fidelity.inputs: 0 seeded inputs and no eval set leaves nothing to measure', { field: 'config.fidelity.inputs' });
  }
}

/**
 * The reference of each artifact of the run. An explicit `config.fidelity.reference` applies to
 * every cell; `none` turns fidelity references off. Otherwise, per model with more than one
 * artifact in the run, its fp32 artifact (a `.ptl` before an `.onnx`, then matrix order) is the
 * reference of all of that model's artifacts; a model without one has none.
 */
export function resolveReferences(config: RunConfig, runArtifacts: ArtifactRow[], all: Map<string, ArtifactRow>): Map<string, ArtifactRow | null> {
  const out = new Map<string, ArtifactRow | null>();
  const explicit = config.fidelity?.reference;
  if (explicit === 'none') {
    for (const a of runArtifacts) out.set(a.id, null);
    return out;
  }
  if (explicit) {
    const ref = all.get(explicit)!;
    for (const a of runArtifacts) out.set(a.id, ref);
    return out;
  }
  const byModel = new Map<string, ArtifactRow[]>();
  for (const a of runArtifacts) byModel.set(a.modelId, [...(byModel.get(a.modelId) ?? []), a]);
  const rank = (a: ArtifactRow) => (a.format === 'ptl' ? 0 : a.format === 'onnx' ? 1 : 2);
  for (const list of byModel.values()) {
    const unique = [...new Map(list.map((a) => [a.id, a])).values()];
    const candidates = unique.filter((a) => a.variant === 'fp32' && runtimeForFormat(a.format)).sort((x, y) => rank(x) - rank(y));
    const ref = unique.length > 1 ? (candidates[0] ?? null) : null;
    for (const a of unique) out.set(a.id, ref);
  }
  return out;
}
