import type { Job } from 'bullmq';
import type { SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import { errorClassOf } from './errors.js';
import { classifyOutcome, type RunResult } from './session/classify-outcome.js';
import { buildSpec, prepareSession, type InputsCache } from './session/prepare-session.js';
import { outcomeContext, recordOutcome } from './session/record-outcome.js';
import { runWithHygiene } from './session/run-with-hygiene.js';
import type { SessionDeps } from './session/session-deps.js';

export type { SessionDeps } from './session/session-deps.js';
export { classifyOutcome, type OutcomeContext, type RunResult, type SessionOutcome } from './session/classify-outcome.js';
export { buildSpec, prepareSession } from './session/prepare-session.js';
export { runWithHygiene } from './session/run-with-hygiene.js';
export { recordOutcome } from './session/record-outcome.js';

/**
 * The BullMQ processor of one device: one session job → one stored session, in four steps:
 * prepare (duplicate delivery, cell state, spec) → run with hygiene → classifyOutcome (the
 * fault policy, pure) → record (store, fail the cell, retry or requeue).
 */
export function createSessionProcessor(deps: SessionDeps) {
  const inputsCache: InputsCache = new Map();

  return async function processSession(sessionJob: Job<SessionJobData, SessionJobResult>): Promise<SessionJobResult> {
    const data = sessionJob.data;
    const log = deps.logger.child({ runId: data.runId, jobId: data.jobId, queueJobId: sessionJob.id, deviceId: deps.deviceId });

    const preparation = await prepareSession(deps, sessionJob, log);
    if (!preparation.run) return preparation.result;

    let run: RunResult;
    let raised: unknown;
    try {
      run = await runWithHygiene(deps, await buildSpec(deps, data, inputsCache), sessionJob, log);
    } catch (err) {
      raised = err;
      run = { ran: false, errorClass: errorClassOf(err), message: (err as Error).message ?? String(err) };
    }
    const outcome = classifyOutcome(run, await outcomeContext(deps, sessionJob, !run.ran));
    return recordOutcome(deps, sessionJob, outcome, log, raised);
  };
}
