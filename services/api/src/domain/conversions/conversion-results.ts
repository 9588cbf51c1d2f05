import { finishConversion, getArtifact, getConversion, type ArtifactRow, type ConversionRow, type Pool } from '@pocketbench/db';
import { ApiError, forbidden, notFound, validationFailed } from '../../errors.js';
import { describePrincipal, readableProject, type Principal } from '../auth/tokens.js';

/** Conversions are reported by converter hosts (a worker token) or an admin, never a project. */
function requireConverter(p: Principal): void {
  if (p.kind === 'project') throw forbidden(`reporting a conversion needs a worker or admin token; ${describePrincipal(p)}`);
}
import type { ArtifactStore, TempArtifact } from '../artifacts/artifact-store.js';
import { detectArtifactFormat } from '../artifacts/detect-format.js';
import { registerUpload } from '../artifacts/upload-artifact.js';
import { planFinishedSlots, type ConversionDeps } from './variant-run.js';

/** Why a conversion ended without an output, as the converter host reports it. */
export interface ConversionFailure {
  /** `unsupported`: the model cannot be converted (an op without a quantized kernel); `failed`: any other error. */
  status: 'unsupported' | 'failed';
  errorClass: string;
  reason: string;
  op?: string;
}

/** `GET /api/v1/conversions/:id` and the reports below: the conversion, or a 404. */
export async function loadConversion(db: Pool, id: string): Promise<ConversionRow> {
  const c = await getConversion(db, id);
  if (!c) throw notFound(`conversion "${id}" does not exist`);
  return c;
}

/**
 * `GET /api/v1/conversions/:id`: a conversion of the caller's project (its parent artifact's);
 * another project's is answered as missing, like any project data.
 */
export async function readConversion(db: Pool, principal: Principal, id: string): Promise<ConversionRow> {
  const own = readableProject(principal, 'reading a conversion');
  const c = await loadConversion(db, id);
  if (own && (await getArtifact(db, c.parentArtifactId))?.projectId !== own.id) throw notFound(`conversion "${id}" does not exist`);
  return c;
}

/**
 * `POST /api/v1/conversions/:id/output` (converter hosts): the converted file becomes an
 * artifact of the parent's model with its variant, parent and recipe; the conversion is `done`
 * and the cells waiting for it are stored and queued. A second report of the same conversion
 * (a retried job) answers with the stored output and changes nothing.
 */
export async function recordConversionOutput(
  deps: ConversionDeps & { store: ArtifactStore },
  principal: Principal,
  id: string,
  temp: TempArtifact,
  recipe: Record<string, unknown>,
): Promise<{ artifact: ArtifactRow; created: boolean }> {
  try {
    requireConverter(principal);
    const c = await loadConversion(deps.db, id);
    if (c.status === 'done' && c.outputArtifactId) {
      await deps.store.discard(temp);
      return { artifact: (await getArtifact(deps.db, c.outputArtifactId))!, created: false };
    }
    if (c.status !== 'queued' && c.status !== 'running') {
      throw new ApiError(409, 'conversion_finished', `conversion "${id}" already ended ${c.status}: ${c.reason ?? ''}`);
    }
    const detected = await detectArtifactFormat(temp.path).catch((err: Error) => {
      throw validationFailed(`the converted file is not a valid ${c.format}: ${err.message}`, { field: 'file' });
    });
    if (detected.format !== c.format) {
      throw validationFailed(`conversion "${id}" makes a ${c.format} file; this is a ${detected.format}`, { field: 'file' });
    }
    const parent = (await getArtifact(deps.db, c.parentArtifactId))!;
    // Stored for the parent's project on the farm's behalf (a worker token writes to no project itself).
    const { artifact, created } = await registerUpload(deps, { kind: 'admin', via: 'token', tokenId: principal.kind === 'project' ? undefined : principal.tokenId }, temp, `${parent.model}-${c.variant}.${c.format}`, {
      project: parent.project, model: parent.model, variant: c.variant, parentArtifactId: parent.id, recipe,
    });
    await finishConversion(deps.db, id, { status: 'done', outputArtifactId: artifact.id });
    deps.logger?.info({ conversionId: id, artifactId: artifact.id, variant: c.variant, format: c.format, sizeBytes: artifact.sizeBytes }, 'conversion done');
    // Every slot that can be planned now: this one, and those that waited for this fp32 reference.
    await planFinishedSlots(deps);
    return { artifact, created };
  } finally {
    await deps.store.discard(temp);
  }
}

/**
 * `POST /api/v1/conversions/:id/failure` (converter hosts): the conversion ends `unsupported` or
 * `failed` with the reason (naming the op when one is to blame); the variant's cells are stored
 * with that status and reason, and the run's other variants go on. Returns the conversion as it is now.
 */
export async function recordConversionFailure(
  deps: ConversionDeps, principal: Principal, id: string, f: ConversionFailure,
): Promise<ConversionRow | null> {
  requireConverter(principal);
  const c = await loadConversion(deps.db, id);
  const reason = f.op && !f.reason.includes(f.op) ? `${f.reason} (op ${f.op})` : f.reason;
  const ended = await finishConversion(deps.db, id, { status: f.status, errorClass: f.errorClass, reason, unsupportedOp: f.op ?? null });
  if (ended) deps.logger?.warn({ conversionId: id, variant: c.variant, status: f.status, errorClass: f.errorClass, op: f.op, reason }, 'conversion ended without an output');
  await planFinishedSlots(deps);
  return getConversion(deps.db, id);
}
