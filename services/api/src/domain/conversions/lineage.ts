import type { RunLineage } from '@pocketbench/contracts';
import { getArtifactsByIds, listRunConversions, type Pool } from '@pocketbench/db';

/** null for a run that converted nothing. */
export async function runLineage(db: Pool, runId: string): Promise<RunLineage | null> {
  const conversions = await listRunConversions(db, runId);
  if (conversions.length === 0) return null;
  const ids = [...new Set(conversions.flatMap((c) => [c.parentArtifactId, ...(c.outputArtifactId ? [c.outputArtifactId] : [])]))];
  const artifacts = new Map((await getArtifactsByIds(db, ids)).map((a) => [a.id, a]));
  const parent = artifacts.get(conversions[0].parentArtifactId)!;
  return {
    parent: { id: parent.id, model: parent.model, filename: parent.filename, sha256: parent.sha256, sizeBytes: parent.sizeBytes },
    conversions: conversions.map((c) => {
      const out = c.outputArtifactId ? artifacts.get(c.outputArtifactId) : undefined;
      return {
        variant: c.variant, format: c.format, status: c.status, reason: c.reason, unsupportedOp: c.unsupportedOp,
        artifact: out ? { id: out.id, sha256: out.sha256, sizeBytes: out.sizeBytes } : null, recipe: out?.recipe ?? null,
      };
    }),
  };
}
