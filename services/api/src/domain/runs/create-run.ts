import {
  BudgetsError, DEFAULT_RUN_CONFIG, inputBytes, parseBudgets, queueNameForDevice, queueNameForPool, runtimeForFormat, sessionJob,
  type Backend, type ConversionRecipe, type RunConfig, type SessionJob, type SessionJobData, type SessionRole,
} from '@pocketbench/contracts';
import {
  countRunsInFlight, deleteRun, getArtifactsByIds, getRunByIdempotencyKey, insertJobs, insertRun, listDevices, withTransaction,
  type ArtifactRow, type DeviceRow, type NewJob, type Pool,
} from '@pocketbench/db';
import { pairOrder } from '@pocketbench/stats';
import type { Logger } from 'pino';
import type { ApiLimits } from '../../config.js';
import { ApiError, validationFailed } from '../../errors.js';
import type { SessionQueues } from '../../infra/session-queues.js';

import { PROJECT_NAME, canAccessProject, invalidProjectName, projectForWrite, type Principal } from '../auth/tokens.js';
import { checkFidelityConfig, explicitReferenceId, resolveReferences } from '../fidelity/resolve-references.js';

/** How a run's variants are made (`conversion` in `POST /api/v1/runs`). */
export interface ConversionRequest {
  /** A calibration set id (`POST /api/v1/calibrations`) for int8-static. */
  calibration?: string;
  /** int8-static without a calibration set: this many seeded generated batches. @defaultValue 8 */
  calibrationSamples?: number;
  /** Also export the fp32 variant to ONNX (run on onnxruntime). @defaultValue false */
  onnx?: boolean;
}

export interface RunRequest {
  project?: string;
  commit?: string;
  branch?: string;
  mergeBase?: string;
  baselineBranch?: string;
  idempotencyKey?: string;
  /** Open the run for sessions measured outside the farm (POST /runs/:id/sessions). @defaultValue false */
  acceptExternalSessions?: boolean;
  matrix: {
    artifacts: string[];
    baselineArtifact?: string;
    backends: Backend[];
    devices: string[];
    /** Variants to convert the one fp32 TorchScript artifact into (a conversion job each); the cells run on them. */
    variants?: ConversionRecipe[];
  };
  /** How the variants are made (with `matrix.variants`). */
  conversion?: ConversionRequest;
  config?: Partial<RunConfig>;
  /** The budgets file (YAML text), stored with the run: the worker stops and the gate decides with its tolerances. */
  budgets?: string;
}

/** One cell as planned at submission. */
export interface PlannedCell {
  cellIndex: number;
  jobId: string;
  artifactId: string;
  baselineArtifactId: string | null;
  /** Fidelity reference of the cell (its outputs are what the cell's are compared with). */
  referenceArtifactId: string | null;
  backend: Backend;
  /** The pool or device name as given in the matrix. */
  target: string;
  pool: string;
  deviceId: string | null;
  queue: string | null;
  status: 'queued' | 'unsupported';
  reason: string | null;
  sessionsPlanned: number;
}

export interface CreatedRun {
  runId: string;
  /** false when the idempotency key matched an earlier run, which is returned instead. */
  created: boolean;
  cells?: PlannedCell[];
  /** Things the submitter should know (e.g. int8-static calibrated on generated inputs). */
  warnings?: string[];
}

export type Target =
  | { kind: 'device'; name: string; pool: string; devices: DeviceRow[] }
  | { kind: 'pool'; name: string; pool: string; devices: DeviceRow[] };

const AVAILABILITY: Record<string, number> = { online: 0, busy: 0, offline: 1, quarantined: 2 };

/**
 * Whether a device may serve a backend. An empty list means its harness has not reported yet
 * (a device registers before its first harness install): not known to lack it, so the cell is
 * queued and the harness itself records `unsupported` if it must.
 */
function mayServe(d: DeviceRow, backend: Backend): boolean {
  return d.backends.length === 0 || d.backends.includes(backend);
}

/** Resolves each matrix target to a device id or a pool; an unknown name is a 422 naming it. */
export function resolveTargets(names: string[], devices: DeviceRow[]): Target[] {
  const byId = new Map(devices.map((d) => [d.id, d]));
  const byPool = new Map<string, DeviceRow[]>();
  for (const d of devices) byPool.set(d.pool, [...(byPool.get(d.pool) ?? []), d]);
  return names.map((name, i) => {
    const device = byId.get(name);
    if (device) return { kind: 'device', name, pool: device.pool, devices: [device] };
    const pool = byPool.get(name);
    if (pool) return { kind: 'pool', name, pool: name, devices: pool };
    const known = devices.length
      ? ` (registered pools: ${[...byPool.keys()].join(', ')}; devices: ${devices.map((d) => d.id).join(', ')})`
      : ' (no device is registered yet: start a worker with `pocketbench worker`)';
    throw validationFailed(`matrix.devices[${i}]: unknown device or pool "${name}"${known}`, {
      field: `matrix.devices[${i}]`,
      value: name,
    });
  });
}

/** A quota refusal: 422 (413 for sizes, 429 for runs in flight) naming the limit and its setting. */
export function overLimit(status: number, code: string, field: string, message: string, limit: number, setting: string): ApiError {
  return new ApiError(status, code, `${message} (limit ${limit}, ${setting})`, { field, limit, setting });
}

/** The farm's quotas on one run's config: sessions, iterations, minDurationMs, input bytes. */
export function checkConfigLimits(config: RunConfig, limits: ApiLimits): void {
  const { sessionsPerCell, iterationsPerSession, minDurationMs, inputBytes: maxInput } = limits;
  for (const f of ['sessions', 'maxSessions'] as const) {
    if (config[f] > sessionsPerCell) {
      throw overLimit(422, 'quota_exceeded', `config.${f}`, `config.${f} is ${config[f]}, above the sessions allowed per cell`, sessionsPerCell, 'POCKETBENCH_MAX_SESSIONS_PER_CELL');
    }
  }
  for (const f of ['iterations', 'warmup'] as const) {
    if (config[f] > iterationsPerSession) {
      throw overLimit(422, 'quota_exceeded', `config.${f}`, `config.${f} is ${config[f]}, above the iterations allowed per session`, iterationsPerSession, 'POCKETBENCH_MAX_ITERATIONS');
    }
  }
  if (config.minDurationMs > minDurationMs) {
    throw overLimit(422, 'quota_exceeded', 'config.minDurationMs', `config.minDurationMs is ${config.minDurationMs}, above the longest allowed`, minDurationMs, 'POCKETBENCH_MAX_MIN_DURATION_MS');
  }
  if (config.inputs) {
    const bytes = inputBytes(config.inputs);
    if (bytes > maxInput) {
      throw overLimit(413, 'input_too_large', 'config.inputs', `config.inputs take ${bytes} bytes per inference, above the input size allowed`, maxInput, 'POCKETBENCH_MAX_INPUT_MB');
    }
  }
}

export function resolveConfig(input: Partial<RunConfig> | undefined, paired: boolean, budgets?: string): RunConfig {
  // A/B runs are adaptive unless told otherwise: 6 per side, more while inconclusive.
  const config: RunConfig = { ...DEFAULT_RUN_CONFIG, sessions: paired ? 6 : DEFAULT_RUN_CONFIG.sessions, adaptive: paired, ...input };
  if (budgets !== undefined) {
    try {
      parseBudgets(budgets, 'budgets');
    } catch (err) {
      if (err instanceof BudgetsError) throw new ApiError(422, 'invalid_budgets', `the budgets file is invalid: ${err.message}`, { issues: err.issues });
      throw err;
    }
    config.budgets = budgets;
  }
  if (input?.maxSessions === undefined) config.maxSessions = Math.max(config.maxSessions, config.sessions);
  if (config.maxSessions < config.sessions) {
    throw validationFailed(`config.maxSessions (${config.maxSessions}) must be at least config.sessions (${config.sessions})`, {
      field: 'config.maxSessions',
    });
  }
  return config;
}

/**
 * `POST /api/v1/runs`: validates the matrix against the registered devices, stores the run and
 * its cells in one transaction (bulk insert), then enqueues one BullMQ job per session with a
 * deterministic id. A cell no device can serve is stored `unsupported` with the reason.
 * A failure to enqueue removes the run again, so nothing is left half-made.
 */
export async function createRun(
  deps: { db: Pool; queues: SessionQueues; logger?: Logger; config: { limits: ApiLimits } },
  principal: Principal,
  req: RunRequest,
): Promise<CreatedRun> {
  if (req.matrix.variants) throw new Error('createRun: a variants run goes through createVariantRun');
  const { db, queues } = deps;
  const { limits } = deps.config;
  const paired = req.matrix.baselineArtifact !== undefined;
  const config = resolveConfig(req.config, paired, req.budgets);
  checkConfigLimits(config, limits);

  const ids = [...new Set([...req.matrix.artifacts, ...(paired ? [req.matrix.baselineArtifact!] : [])])];
  const referenceId = explicitReferenceId(config);
  const [artifactRows, devices] = await Promise.all([getArtifactsByIds(db, referenceId ? [...ids, referenceId] : ids), listDevices(db)]);
  const artifacts = new Map(artifactRows.map((a) => [a.id, a]));
  const field = (id: string) =>
    id === req.matrix.baselineArtifact ? 'matrix.baselineArtifact' : `matrix.artifacts[${req.matrix.artifacts.indexOf(id)}]`;
  for (const id of ids) {
    const a = artifacts.get(id);
    if (!a || !canAccessProject(principal, a.projectId)) {
      throw validationFailed(`${field(id)}: unknown artifact "${id}" (upload it first: POST /api/v1/artifacts)`, { field: field(id) });
    }
  }
  if (req.project !== undefined && !PROJECT_NAME.test(req.project)) throw invalidProjectName('project', req.project);
  const first = artifacts.get(req.matrix.artifacts[0])!;
  const project = await projectForWrite(db, principal, req.project, { fallback: first.project, create: false });
  for (const id of ids) {
    const a = artifacts.get(id)!;
    if (a.format === 'pt') {
      throw validationFailed(
        `${field(id)}: artifact "${id}" is a TorchScript model (.pt), which no device runs: submit it with variants ` +
          '(matrix.variants, `--variants fp32,int8-dynamic,int8-static`) to have it converted, or save it with ' +
          'optimize_for_mobile(...)._save_for_lite_interpreter("model.ptl") (the lite interpreter needs bytecode.pkl)',
        { field: field(id) },
      );
    }
    if (a.projectId !== project.id) {
      throw validationFailed(`${field(id)}: artifact "${id}" belongs to project "${a.project}", not "${project.name}"`, {
        field: field(id),
      });
    }
  }

  if (req.idempotencyKey) {
    const existing = await getRunByIdempotencyKey(db, project.id, req.idempotencyKey);
    if (existing) return { runId: existing.id, created: false };
  }
  await checkFidelityConfig(db, principal, project.id, config, artifacts);
  const references = resolveReferences(config, req.matrix.artifacts.map((id) => artifacts.get(id)!), artifacts);

  const targets = resolveTargets(req.matrix.devices, devices);
  const cellCount = req.matrix.artifacts.length * req.matrix.backends.length * targets.length;
  if (cellCount > limits.cellsPerRun) {
    throw overLimit(422, 'quota_exceeded', 'matrix', `the matrix has ${cellCount} cells, above the cells allowed per run`, limits.cellsPerRun, 'POCKETBENCH_MAX_CELLS_PER_RUN');
  }
  const inFlight = await countRunsInFlight(db, project.id);
  if (inFlight >= limits.runsInFlight) {
    throw overLimit(
      429, 'quota_exceeded', 'project',
      `project "${project.name}" already has ${inFlight} runs queued or running; wait for one to finish or cancel one`,
      limits.runsInFlight, 'POCKETBENCH_MAX_RUNS_IN_FLIGHT',
    );
  }
  const baseline = paired ? artifacts.get(req.matrix.baselineArtifact!)! : undefined;

  // Plan cells: artifact-major, then backend, then target.
  const cells: PlannedCell[] = [];
  const spread = new Map<string, number>();
  for (const artifactId of req.matrix.artifacts) {
    const artifact = artifacts.get(artifactId)!;
    for (const backend of req.matrix.backends) {
      for (const target of targets) {
        const cellIndex = cells.length;
        const reason = unsupportedReason(artifact, baseline, backend, target);
        let deviceId: string | null = target.kind === 'device' ? target.devices[0].id : null;
        if (!reason && paired && target.kind === 'pool') {
          // A/B sessions interleave on one device: pick an available capable one, spreading cells.
          const capable = target.devices
            .filter((d) => mayServe(d, backend))
            .sort((a, b) => AVAILABILITY[a.state] - AVAILABILITY[b.state] || a.id.localeCompare(b.id));
          const best = capable.filter((d) => AVAILABILITY[d.state] === AVAILABILITY[capable[0].state]);
          const n = spread.get(target.pool) ?? 0;
          spread.set(target.pool, n + 1);
          deviceId = best[n % best.length].id;
        }
        cells.push({
          cellIndex,
          jobId: '',
          artifactId,
          baselineArtifactId: baseline?.id ?? null,
          referenceArtifactId: references.get(artifactId)?.id ?? null,
          backend,
          target: target.name,
          pool: target.pool,
          deviceId,
          queue: reason ? null : cellQueueName({ deviceId, pool: target.pool }, queues.prefix),
          status: reason ? 'unsupported' : 'queued',
          reason,
          sessionsPlanned: config.sessions * (paired ? 2 : 1),
        });
      }
    }
  }

  const matrix = { ...req.matrix };
  const unsupported = cells.filter((c) => c.status === 'unsupported').length;
  const inserted = await withTransaction(db, async (tx) => {
    const run = await insertRun(tx, {
      projectId: project.id,
      commit: req.commit,
      branch: req.branch,
      mergeBase: req.mergeBase,
      baselineBranch: req.baselineBranch,
      config,
      matrix,
      idempotencyKey: req.idempotencyKey,
      acceptsExternal: req.acceptExternalSessions ?? false,
      jobsTotal: cells.length,
      jobsFinished: unsupported,
    });
    if (!run) return null;
    for (const c of cells) c.jobId = `${run.id}.${c.cellIndex}`;
    await insertJobs(
      tx,
      cells.map<NewJob>((c) => ({
        id: c.jobId, runId: run.id, cellIndex: c.cellIndex, artifactId: c.artifactId, baselineArtifactId: c.baselineArtifactId,
        referenceArtifactId: c.referenceArtifactId, backend: c.backend, pool: c.pool, deviceId: c.deviceId, status: c.status, reason: c.reason, sessionsPlanned: c.sessionsPlanned,
      })),
    );
    return run;
  });
  if (!inserted) {
    // A concurrent submit with the same idempotency key won.
    const existing = await getRunByIdempotencyKey(db, project.id, req.idempotencyKey!);
    return { runId: existing!.id, created: false };
  }

  const byQueue = planSessions(inserted.id, cells, artifacts, baseline, config);
  try {
    await queues.addBulk(byQueue);
  } catch (err) {
    // Compensation: a failure here is logged, never hidden; a run left behind is re-enqueued by
    // the reconciler (reconcileRuns) on its next pass.
    for (const e of await queues.remove(new Map([...byQueue].map(([queue, sessionJobs]) => [queue, sessionJobs.map((j) => j.opts.jobId)])))) deps.logger?.error({ err: e, runId: inserted.id }, 'could not remove an enqueued session');
    await deleteRun(db, inserted.id).catch((e: unknown) =>
      deps.logger?.error({ err: e, runId: inserted.id }, 'could not delete the run whose sessions failed to enqueue'),
    );
    // The raw client error names hosts and ports: it goes to the log, the caller gets the gist.
    deps.logger?.error({ err, runId: inserted.id }, 'could not enqueue the run\'s sessions');
    throw new ApiError(503, 'queue_unavailable', 'could not enqueue the run\'s sessions: the queue is unavailable; nothing was stored, try again');
  }
  return { runId: inserted.id, created: true, cells };
}

export function unsupportedReason(artifact: ArtifactRow, baseline: ArtifactRow | undefined, backend: Backend, target: Target): string | null {
  for (const a of baseline ? [artifact, baseline] : [artifact]) {
    if (!runtimeForFormat(a.format)) return `no pocketbench harness runs ${a.format} artifacts yet (artifact ${a.id})`;
  }
  if (target.devices.some((d) => mayServe(d, backend))) return null;
  const offers = [...new Set(target.devices.flatMap((d) => d.backends))].join(', ') || 'none';
  return target.kind === 'device'
    ? `device ${target.name} does not support backend ${backend} (it offers: ${offers})`
    : `no device in pool ${target.name} supports backend ${backend} (they offer: ${offers})`;
}

/** One queued job per session; paired cells interleave head and baseline counterbalanced (A B B A …). */
function planSessions(
  runId: string,
  cells: PlannedCell[],
  artifacts: Map<string, ArtifactRow>,
  baseline: ArtifactRow | undefined,
  config: RunConfig,
): Map<string, SessionJob[]> {
  const byQueue = new Map<string, SessionJob[]>();
  for (const c of cells) {
    if (!c.queue) continue;
    const list = byQueue.get(c.queue) ?? [];
    byQueue.set(c.queue, list);
    const reference = c.referenceArtifactId ? artifacts.get(c.referenceArtifactId) : undefined;
    list.push(...cellSessions(runId, c, artifacts.get(c.artifactId)!, baseline, config, config.sessions, reference));
  }
  return byQueue;
}

/** The cell's queue: its device's when pinned (A/B cells, device targets), else its pool's. */
export function cellQueueName(cell: { deviceId: string | null; pool: string }, prefix: string): string {
  return cell.deviceId ? queueNameForDevice(cell.deviceId, prefix) : queueNameForPool(cell.pool, prefix);
}

/**
 * The sessions a cell is planned with (`perSide` per role: `config.sessions` at submission, more
 * once adaptive A/B added some), with their deterministic job ids: the same cell always gives the
 * same ids, so enqueueing them again (the reconciler) is a no-op.
 */
export function cellSessions(
  runId: string,
  c: { jobId: string; cellIndex: number; backend: Backend; pool: string; deviceId: string | null },
  headArtifact: ArtifactRow,
  baseline: ArtifactRow | undefined,
  config: RunConfig,
  perSide = config.sessions,
  reference?: ArtifactRow,
): SessionJob[] {
  const ref = (a: ArtifactRow) => ({ id: a.id, sha256: a.sha256, format: a.format, sizeBytes: a.sizeBytes });
  const head = ref(headArtifact);
  const base = baseline ? ref(baseline) : undefined;
  const list: SessionJob[] = [];
  for (let s = 0; s < perSide; s++) {
    // Counterbalanced A B, B A, … on the device: a drift adds as much to the head as to the baseline.
    const sides: [SessionRole, ReturnType<typeof ref>][] = base ? pairOrder(s).map((role) => [role, role === 'head' ? head : base]) : [['head', head]];
    for (const [role, artifact] of sides) {
      const data: SessionJobData = {
        runId, jobId: c.jobId, cellIndex: c.cellIndex, role, sessionIndex: s, artifact, backend: c.backend, pool: c.pool,
        ...(c.deviceId ? { deviceId: c.deviceId } : {}), config,
        ...(reference ? { reference: { id: reference.id, sha256: reference.sha256, format: reference.format } } : {}),
      };
      list.push(sessionJob(data));
    }
  }
  return list;
}
