import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { runtimeForFormat, type BenchInputSpec, type BenchSpec, type SessionJobData, type SessionJobResult } from '@pocketbench/contracts';
import { getSessionByKey, markJobRunning } from '@pocketbench/db';
import { InfrastructureError, ModelFaultError } from '../errors.js';
import { inputsForArtifact } from '../input-spec.js';
import { enqueuePlannedAdaptive } from './adaptive.js';
import { checkFitsDevice } from './device-fit.js';
import { storeHeldSession } from './record-outcome.js';
import type { SessionDeps } from './session-deps.js';

/** Whether the session job is to run: not when its result is stored already or its cell is over. */
export type Preparation = { run: true } | { run: false; result: SessionJobResult };

/**
 * Step 1: a duplicate delivery finds its stored result (and re-enqueues the adaptive extras the
 * first delivery may have died before enqueueing); a cell that is no longer runnable drops the
 * session; otherwise the cell is marked running.
 */
export async function prepareSession(deps: SessionDeps, sessionJob: Job<SessionJobData, SessionJobResult>, log: Logger): Promise<Preparation> {
  const data = sessionJob.data;
  const existing = await getSessionByKey(deps.db, data.jobId, data.role, data.sessionIndex);
  if (existing) {
    log.info({ sessionId: existing.id }, 'session already stored; duplicate delivery ignored');
    if (data.config.adaptive) await enqueuePlannedAdaptive(deps, data, log);
    return { run: false, result: { sessionId: String(existing.id), status: 'duplicate' } };
  }
  // Run here before, its report held until the database took it (an outage, a worker restart):
  // stored now, not run again.
  const held = deps.spool?.get({ jobId: data.jobId, role: data.role, sessionIndex: data.sessionIndex });
  if (held) {
    log.info({ heldMs: Date.now() - held.heldAt }, 'this session\'s report is held on this host; storing it instead of running it again');
    const stored = await storeHeldSession(deps, held, log);
    return { run: false, result: { sessionId: stored.dropped ? '' : String(stored.id), status: stored.dropped ? 'cancelled' : held.payload.session.status } };
  }
  if (!(await markJobRunning(deps.db, data.jobId))) {
    log.info('cell is no longer runnable (failed, cancelled or finished); session dropped');
    return { run: false, result: { sessionId: '', status: 'skipped' } };
  }
  return { run: true };
}

/** The model's inputs by (artifact, the run's inputs): two runs of one artifact may give different ones. */
export type InputsCache = Map<string, BenchInputSpec[]>;

/**
 * Step 1b: the artifact in the host cache (downloaded and hash-checked) and the BenchSpec the
 * device runs. An unreadable graph, or an input the harness cannot generate, is the model's
 * fault: no invented inputs, no retry.
 */
export async function buildSpec(deps: SessionDeps, data: SessionJobData, inputsCache: InputsCache): Promise<BenchSpec> {
  const device = await deps.deviceInfo();
  checkFitsDevice(data.artifact, [], device);
  const artifact = await deps.cache.ensure(data.artifact.sha256);
  const inputsKey = `${data.artifact.sha256}:${JSON.stringify(data.config.inputs ?? null)}`;
  let inputs = inputsCache.get(inputsKey);
  if (!inputs) {
    try {
      inputs = await inputsForArtifact(artifact.path, data.artifact.format, data.config.inputs);
    } catch (err) {
      throw new ModelFaultError('bad_spec', `cannot read the model's inputs: ${(err as Error).message}`);
    }
    inputsCache.set(inputsKey, inputs);
  }
  const runtime = runtimeForFormat(data.artifact.format);
  if (!runtime) throw new ModelFaultError('bad_spec', `no runtime runs the artifact format "${data.artifact.format}"`);
  // Before the session: what this device cannot take fails the cell as the model's fault.
  checkFitsDevice(data.artifact, inputs, device);
  const fidelity = await fidelitySpec(deps, data, inputs);
  return {
    specVersion: 1,
    artifact: { path: artifact.path, sha256: data.artifact.sha256, format: data.artifact.format },
    runtime,
    backend: data.backend,
    threads: data.config.threads,
    warmup: data.config.warmup,
    iterations: data.config.iterations,
    minDurationMs: data.config.minDurationMs,
    seed: 0,
    inputs,
    output: { topK: 5, digest: true },
    ...(fidelity ? { fidelity } : {}),
    timeBudgetSec: data.config.timeoutSec,
    labels: { runId: data.runId, jobId: data.jobId, role: data.role, sessionIndex: String(data.sessionIndex) },
  };
}

/**
 * The session's fidelity pass, when its cell has a reference or its run an eval set: the eval
 * set from the host cache, and the reference's outputs on the same samples, computed once on
 * this host's harness (ReferenceOutputs caches them). Host paths: the device session pushes the
 * files and rewrites them.
 */
async function fidelitySpec(deps: SessionDeps, data: SessionJobData, inputs: BenchInputSpec[]): Promise<BenchSpec['fidelity']> {
  const f = data.config.fidelity;
  if (!data.reference && !f?.evalSet) return undefined;
  const evalSet = f?.evalSet ? { path: (await deps.cache.ensure(f.evalSet)).path, sha256: f.evalSet } : undefined;
  const base = { ...(f?.inputs !== undefined ? { inputs: f.inputs } : {}), ...(f?.seed !== undefined ? { seed: f.seed } : {}), ...(evalSet ? { evalSet } : {}) };
  if (!data.reference) return base;
  if (!deps.referenceOutputs) throw new InfrastructureError('this worker host has no reference harness to compute fidelity reference outputs with');
  const refArtifact = await deps.cache.ensure(data.reference.sha256);
  const reference = await deps.referenceOutputs.ensure({
    reference: { path: refArtifact.path, sha256: data.reference.sha256, format: data.reference.format },
    inputs,
    fidelity: base,
  });
  return { ...base, reference };
}
