import type { ArtifactList, Sendable } from '@pocketbench/contracts';
import { listArtifacts, type Pool } from '@pocketbench/db';
import { listedProject, type Principal } from '../auth/tokens.js';

/** The artifacts `principal` may list, newest first; a project token lists its own project's only. */
export async function listArtifactsFor(
  db: Pool,
  principal: Principal,
  q: { project?: string; model?: string; parent?: string; limit?: number; offset?: number },
): Promise<Sendable<ArtifactList>> {
  const projectId = await listedProject(db, principal, q.project, 'listing artifacts');
  if (projectId === null) return { artifacts: [] };
  return { artifacts: await listArtifacts(db, { projectId, model: q.model, parentArtifactId: q.parent, limit: q.limit, offset: q.offset }) };
}
