import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NpzError, readEvalSet, type EvalSet, type Sendable } from '@pocketbench/contracts';
import { artifactShaExists, getEvalSet, insertEvalSet, lockArtifactSha, withTransaction, type EvalSetRow, type Pool } from '@pocketbench/db';
import { ApiError, notFound, validationFailed } from '../../errors.js';
import type { ArtifactStore, TempArtifact } from '../artifacts/artifact-store.js';
import { canAccessProject, listedProject, projectForWrite, type Principal } from '../auth/tokens.js';

/** An eval set as the api shows it (its sha256 is its id), before res.json. */
export type EvalSetView = Sendable<EvalSet>;

export function evalSetView(e: EvalSetRow): EvalSetView {
  return {
    sha256: e.sha256, filename: e.filename, sizeBytes: e.sizeBytes, samples: e.samples, sampleShape: e.sampleShape,
    inputDtype: e.inputDtype, labels: { min: e.minLabel, max: e.maxLabel }, createdAt: e.createdAt,
  };
}

/**
 * The eval set with these bytes that the caller may read: in the project it names (a project
 * token only its own), else in any project an admin reaches. 404 for anything else.
 */
export async function getEvalSetFor(db: Pool, principal: Principal, sha256: string, project: string | undefined): Promise<EvalSetView> {
  const projectId = await listedProject(db, principal, project, 'reading eval sets');
  const e = projectId !== null && /^[0-9a-f]{64}$/.test(sha256) ? await getEvalSet(db, projectId, sha256) : null;
  if (!e) throw notFound(`no eval set with sha256 ${sha256}`);
  return evalSetView(e);
}

/**
 * Validates an uploaded `.npz` as an eval set (inputs [N, …], labels [N] class indices) and
 * stores it once under its sha256 next to the models. A refused upload leaves nothing behind:
 * no row, no file.
 */
export async function registerEvalSet(
  deps: { db: Pool; store: ArtifactStore },
  principal: Principal,
  temp: TempArtifact,
  originalName: string | undefined,
  fields: { project?: string },
): Promise<{ evalSet: EvalSetView; project: string; created: boolean }> {
  const { db, store } = deps;
  let committed: { created: boolean } | undefined;
  try {
    let info;
    try {
      info = readEvalSet(await readFile(temp.path)).info;
    } catch (err) {
      if (err instanceof NpzError) throw new ApiError(422, 'invalid_eval_set', `the eval set is not usable: ${err.message}`, { field: 'file' });
      throw err;
    }
    if (principal.kind === 'project') await projectForWrite(db, principal, fields.project, { create: false });
    return await withTransaction(db, async (tx) => {
      await lockArtifactSha(tx, temp.sha256);
      committed = await store.commit(temp);
      const project = await projectForWrite(tx, principal, fields.project, { create: true });
      const { evalSet, created } = await insertEvalSet(tx, {
        projectId: project.id,
        sha256: temp.sha256,
        filename: originalName ? path.basename(originalName) : null,
        sizeBytes: temp.sizeBytes,
        samples: info.count,
        sampleShape: info.sampleShape,
        inputDtype: info.inputDtype,
        minLabel: info.minLabel,
        maxLabel: info.maxLabel,
      });
      return { evalSet: evalSetView(evalSet), project: project.name, created };
    });
  } catch (err) {
    await store.discard(temp);
    if (committed?.created) {
      await withTransaction(db, async (tx) => {
        await lockArtifactSha(tx, temp.sha256);
        if (!(await artifactShaExists(tx, temp.sha256))) await store.remove(temp.sha256);
      }).catch(() => undefined);
    }
    throw err;
  }
}

/** An eval set of the project, or a 422 naming the field it came from. */
export async function evalSetFor(db: Pool, principal: Principal, projectId: string, sha256: string, field: string): Promise<EvalSetRow> {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw validationFailed(`${field}: "${sha256}" is not a sha256 (64 lowercase hex digits)`, { field });
  const e = canAccessProject(principal, projectId) ? await getEvalSet(db, projectId, sha256) : null;
  if (!e) throw validationFailed(`${field}: no eval set with sha256 ${sha256} in this project (upload it first: POST /api/v1/eval-sets)`, { field });
  return e;
}
