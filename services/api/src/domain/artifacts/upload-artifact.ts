import path from 'node:path';
import { isUuid } from '@pocketbench/contracts';
import {
  artifactShaExists, calibrationShaExists, ensureModel, getArtifact, insertArtifact, lockArtifactSha, withTransaction, type ArtifactRow, type Pool,
} from '@pocketbench/db';
import { notFound, validationFailed } from '../../errors.js';
import { artifactBytesFilter, canAccessProject, projectForWrite, type Principal } from '../auth/tokens.js';
import type { ArtifactStore, TempArtifact } from './artifact-store.js';
import { detectArtifactFormat } from './detect-format.js';

export interface UploadFields {
  model?: string;
  variant?: string;
  project?: string;
  /** Set by a conversion: the artifact this one was made from, and how. */
  parentArtifactId?: string;
  recipe?: Record<string, unknown>;
}

export interface UploadResult {
  artifact: ArtifactRow;
  /** false when this model already had this file (same sha256 and variant). */
  created: boolean;
  details: Record<string, unknown>;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Turns an uploaded temp file into an artifact: detects the format from the bytes, stores
 * the file once under its sha256, records project → model → artifact. On any refusal or
 * failure the temp file is gone and nothing new stays in the store or the database.
 */
export async function registerUpload(
  deps: { db: Pool; store: ArtifactStore },
  principal: Principal,
  temp: TempArtifact,
  originalName: string | undefined,
  fields: UploadFields,
): Promise<UploadResult> {
  const { db, store } = deps;
  let committed: { created: boolean } | undefined;
  try {
    const detected = await detectArtifactFormat(temp.path);
    const model = fields.model ?? (originalName ? path.basename(originalName).replace(/\.[^.]*$/, '') : undefined);
    if (!model) throw validationFailed('model is required (a name such as mobilenet_v2)', { field: 'model' });
    if (!MODEL_NAME.test(model)) {
      throw validationFailed(`model "${model}" is not a valid model name (letters, digits, ".", "_", "-"; at most 128)`, { field: 'model' });
    }
    // Refusals that need no write come first (403 for another project's token).
    if (principal.kind === 'project') await projectForWrite(db, principal, fields.project, { create: false });
    return await withTransaction(db, async (tx) => {
      // Held until commit/rollback: the file check, the row and (below) the cleanup decision of
      // every upload of these bytes are serialised, so no row can point at a removed file.
      await lockArtifactSha(tx, temp.sha256);
      committed = await store.commit(temp);
      const project = await projectForWrite(tx, principal, fields.project, { create: true });
      const m = await ensureModel(tx, project.id, model);
      const { artifact, created } = await insertArtifact(tx, {
        modelId: m.id,
        sha256: temp.sha256,
        format: detected.format,
        variant: fields.variant ?? 'fp32',
        sizeBytes: temp.sizeBytes,
        filename: originalName ? path.basename(originalName) : null,
        parentArtifactId: fields.parentArtifactId ?? null,
        recipe: fields.recipe ?? null,
      });
      return { artifact, created, details: detected.details };
    });
  } catch (err) {
    await store.discard(temp);
    // Only remove stored bytes this upload put there and no committed or in-flight artifact row
    // references: an upload in flight holds the lock until it commits, and one that comes after
    // this decision stores the file again. If the check itself fails the file stays (an orphan
    // file is harmless, a row without its file is not).
    if (committed?.created) {
      await removeIfUnreferenced(db, store, temp.sha256).catch(() => undefined);
    }
    throw err;
  }
}

async function removeIfUnreferenced(db: Pool, store: ArtifactStore, sha256: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    await lockArtifactSha(tx, sha256);
    if (!(await artifactShaExists(tx, sha256))) await store.remove(sha256);
  });
}

export async function getArtifactFor(db: Pool, principal: Principal, id: string): Promise<ArtifactRow> {
  const a = isUuid(id) ? await getArtifact(db, id) : null;
  if (!a || !canAccessProject(principal, a.projectId)) throw notFound(`artifact "${id}" does not exist`);
  return a;
}

/** The stored file of a content hash the caller may read (a worker token reads any; a project token its own). */
export async function artifactContentPath(
  deps: { db: Pool; store: ArtifactStore },
  principal: Principal,
  sha256: string,
): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw validationFailed(`"${sha256}" is not a sha256 (64 lowercase hex digits)`, { field: 'sha256' });
  const projectId = artifactBytesFilter(principal);
  // Calibration sets live in the same content-addressed store (converter hosts download them here).
  const visible = (await artifactShaExists(deps.db, sha256, projectId)) || (await calibrationShaExists(deps.db, sha256, projectId));
  if (!visible || !(await deps.store.has(sha256))) throw notFound(`no artifact with sha256 ${sha256}`);
  return deps.store.pathFor(sha256);
}
