import { sessionJobId, type SessionRole } from '@pocketbench/contracts';
import { cancelRun as cancelRunRow, type Pool } from '@pocketbench/db';
import { ApiError } from '../../errors.js';
import type { SessionQueues } from '../../infra/session-queues.js';
import type { Principal } from '../auth/tokens.js';
import { cellQueueName } from './create-run.js';
import { loadRun } from './run-view.js';

/**
 * `POST /api/v1/runs/:id/cancel`: marks the run and its unfinished cells `cancelled`, then
 * removes their sessions still waiting in BullMQ (an active one finishes and is ignored).
 */
export async function cancelRun(deps: { db: Pool; queues: SessionQueues }, principal: Principal, runId: string): Promise<{ cancelledCells: number }> {
  const run = await loadRun(deps.db, principal, runId);
  const cells = await cancelRunRow(deps.db, run.id);
  if (!cells) throw new ApiError(409, 'run_finished', `run ${run.id} is already ${run.status}`);
  const byQueue = new Map<string, string[]>();
  for (const c of cells) {
    const queue = cellQueueName(c, deps.queues.prefix);
    const roles: SessionRole[] = c.hasBaseline ? ['head', 'baseline'] : ['head'];
    const perSide = Math.ceil(c.sessionsPlanned / roles.length);
    const list = byQueue.get(queue) ?? [];
    byQueue.set(queue, list);
    for (let s = 0; s < perSide; s++) {
      for (const role of roles) list.push(sessionJobId(run.id, c.cellIndex, role, s));
    }
  }
  await deps.queues.remove(byQueue);
  return { cancelledCells: cells.length };
}
