import type { FidelityAgreement, Sendable } from '@pocketbench/contracts';
import { listFidelityAgreement, type Pool } from '@pocketbench/db';
import { listedProject, type Principal } from '../auth/tokens.js';

/** Cross-runtime / cross-device agreement over the fidelity sessions of the projects `principal` may read. */
export async function listFidelityAgreementFor(
  db: Pool,
  principal: Principal,
  q: { project?: string; model?: string; reference?: string; limit?: number },
): Promise<Sendable<FidelityAgreement>> {
  const projectId = await listedProject(db, principal, q.project, 'reading fidelity');
  if (projectId === null) return { rows: [] };
  return { rows: await listFidelityAgreement(db, { projectId, model: q.model, referenceSha256: q.reference, limit: q.limit }) };
}
