import {
  CONVERSION_SEED, CONVERTER_VERSION, DEFAULT_CALIBRATION_SAMPLES, conversionId, recipeKeyText,
  type SessionJob, type Backend, type ConversionFormat, type ConversionJobData, type ConversionRecipe, type RunConfig,
} from '@pocketbench/contracts';
import {
  claimSlotsToPlan, countAddedCells, deleteRun, ensureConversion, getArtifact, getArtifactsByIds, getCalibrationSet, getConversion, getRun,
  getRunByIdempotencyKey, insertJobs, insertRun, insertRunConversions, listDevices, listOpenConversions, listRunConversions, withTransaction,
  type ArtifactRow, type CalibrationSetRow, type ConversionRow, type DeviceRow, type NewJob, type Pool, type RunRow,
} from '@pocketbench/db';
import type { Logger } from 'pino';
import { ApiError, validationFailed } from '../../errors.js';
import type { ConversionQueue } from '../../infra/conversion-queue.js';
import type { SessionQueues } from '../../infra/session-queues.js';
import type { ApiLimits } from '../../config.js';
import { PROJECT_NAME, canAccessProject, invalidProjectName, projectForWrite, type Principal } from '../auth/tokens.js';
import {
  cellQueueName, cellSessions, checkConfigLimits, overLimit, resolveConfig, resolveTargets, unsupportedReason, type ConversionRequest, type CreatedRun, type RunRequest, type Target,
} from '../runs/create-run.js';
import { checkFidelityConfig, explicitReferenceId } from '../fidelity/resolve-references.js';
import { calibrationMismatch } from './calibration.js';

export interface ConversionDeps {
  db: Pool;
  queues: SessionQueues;
  conversions?: ConversionQueue;
  logger?: Logger;
  /** The farm's quotas (loadConfig); a variants run is held to them like any run (the api always passes them). */
  config?: { limits: ApiLimits };
}

/** One output of a variants run, in cell order: its cells are slot × cellsPerSlot … */
interface Slot {
  variant: ConversionRecipe;
  format: ConversionFormat;
}

const DEFAULT_INPUT_SHAPE = [1, 3, 224, 224];

/**
 * A run whose matrix names variants of one fp32 TorchScript artifact. Everything is checked
 * before anything is stored or queued (the parent is TorchScript, the recipes exist, the
 * calibration set fits the input, the devices exist); then the run, one conversion per output
 * (existing ones reused: the cache) and the run's links to them are stored in one transaction,
 * and the conversion jobs enqueued. The cells of a variant are stored when its conversion ends.
 */
export async function createVariantRun(deps: ConversionDeps, principal: Principal, req: RunRequest): Promise<CreatedRun> {
  const { db } = deps;
  const variants = req.matrix.variants!;
  const conv: ConversionRequest = req.conversion ?? {};
  if (req.matrix.artifacts.length !== 1) {
    throw validationFailed(
      `matrix.artifacts: variants are converted from one fp32 TorchScript model; give exactly one artifact (got ${req.matrix.artifacts.length})`,
      { field: 'matrix.artifacts' },
    );
  }
  if (req.matrix.baselineArtifact !== undefined) {
    throw validationFailed('matrix.baselineArtifact: a variants run is not paired; pair a variant artifact in a run of its own', {
      field: 'matrix.baselineArtifact',
    });
  }
  const parentId = req.matrix.artifacts[0];
  const parent = /^[0-9a-f-]{36}$/i.test(parentId) ? await getArtifact(db, parentId) : null;
  if (!parent || !canAccessProject(principal, parent.projectId)) {
    throw validationFailed(`matrix.artifacts[0]: unknown artifact "${parentId}" (upload it first: POST /api/v1/artifacts)`, {
      field: 'matrix.artifacts[0]',
    });
  }
  if (parent.format !== 'pt') {
    throw validationFailed(
      `matrix.artifacts[0]: artifact "${parentId}" is a ${parent.format} file; variants are converted from an fp32 TorchScript ` +
        'model (.pt written by torch.jit.save)',
      { field: 'matrix.artifacts[0]' },
    );
  }
  if (parent.variant !== 'fp32') {
    throw validationFailed(`matrix.artifacts[0]: the model to convert must be fp32; artifact "${parentId}" is ${parent.variant}`, {
      field: 'matrix.artifacts[0]',
    });
  }
  if (conv.onnx && !variants.includes('fp32')) {
    throw validationFailed('conversion.onnx: the ONNX export is made from the fp32 variant; include fp32 in the variants', {
      field: 'conversion.onnx',
    });
  }
  if (conv.calibration !== undefined && conv.calibrationSamples !== undefined) {
    throw validationFailed('conversion: give a calibration set or a number of generated calibration samples, not both', {
      field: 'conversion.calibrationSamples',
    });
  }
  const staticQuant = variants.includes('int8-static');
  if (!staticQuant && (conv.calibration !== undefined || conv.calibrationSamples !== undefined)) {
    throw validationFailed('conversion: calibration is only used by the int8-static variant, which is not asked for', {
      field: conv.calibration !== undefined ? 'conversion.calibration' : 'conversion.calibrationSamples',
    });
  }
  let calibration: CalibrationSetRow | null = null;
  if (conv.calibration !== undefined) {
    calibration = /^[0-9a-f-]{36}$/i.test(conv.calibration) ? await getCalibrationSet(db, conv.calibration) : null;
    if (!calibration || calibration.projectId !== parent.projectId) {
      throw validationFailed(
        `conversion.calibration: unknown calibration set "${conv.calibration}" of project "${parent.project}" (upload it first: POST /api/v1/calibrations)`,
        { field: 'conversion.calibration' },
      );
    }
  }

  if (req.project !== undefined && !PROJECT_NAME.test(req.project)) throw invalidProjectName('project', req.project);
  const project = await projectForWrite(db, principal, req.project, { fallback: parent.project, create: false });
  if (parent.projectId !== project.id) {
    throw validationFailed(`matrix.artifacts[0]: artifact "${parentId}" belongs to project "${parent.project}", not "${project.name}"`, {
      field: 'matrix.artifacts[0]',
    });
  }

  const config = resolveConfig(req.config, false);
  if (deps.config) checkConfigLimits(config, deps.config.limits);
  let inputShape: number[];
  if (config.inputs) {
    if (config.inputs.length !== 1 || config.inputs[0].dtype !== 'float32') {
      throw validationFailed('config.inputs: a model converted to variants takes one float32 input (one --input name:shape:float32)', {
        field: 'config.inputs',
      });
    }
    inputShape = config.inputs[0].shape;
  } else {
    // The calibration samples say what the model eats; without them the image default.
    inputShape = calibration ? [1, ...calibration.shape.slice(1)] : DEFAULT_INPUT_SHAPE;
    config.inputs = [{ name: 'input', shape: inputShape, dtype: 'float32' }];
  }
  if (calibration) {
    const why = calibrationMismatch(calibration, inputShape);
    if (why) throw validationFailed(`conversion.calibration: ${why}`, { field: 'conversion.calibration' });
  }
  const warnings: string[] = [];
  const generated = staticQuant && !calibration ? (conv.calibrationSamples ?? DEFAULT_CALIBRATION_SAMPLES) : undefined;
  if (generated !== undefined) {
    warnings.push(
      `int8-static is calibrated on ${generated} generated inputs (seeded normal noise); real data calibrates better: ` +
        'pass --calibration FILE.npz with samples of the model\'s real inputs',
    );
  }

  if (req.idempotencyKey) {
    const existing = await getRunByIdempotencyKey(db, project.id, req.idempotencyKey);
    if (existing) return { runId: existing.id, created: false };
  }
  // Fidelity (eval set, explicit reference) is checked as for any run; the default reference is
  // the fp32 .ptl variant, known once converted (planFinishedSlots).
  const referenceId = explicitReferenceId(config);
  const known = new Map((await getArtifactsByIds(db, referenceId ? [parent.id, referenceId] : [parent.id])).map((a) => [a.id, a]));
  await checkFidelityConfig(db, principal, project.id, config, known);
  const devices = await listDevices(db);
  const targets = resolveTargets(req.matrix.devices, devices);
  const slots: Slot[] = variants.flatMap<Slot>((v) =>
    v === 'fp32' && conv.onnx ? [{ variant: v, format: 'ptl' }, { variant: v, format: 'onnx' }] : [{ variant: v, format: 'ptl' }],
  );
  const cellsPerSlot = req.matrix.backends.length * targets.length;
  const cellsPerRun = deps.config?.limits.cellsPerRun ?? 10_000;
  if (slots.length * cellsPerSlot > cellsPerRun) {
    throw overLimit(422, 'quota_exceeded', 'matrix', `the matrix has ${slots.length * cellsPerSlot} cells, above the cells allowed per run`, cellsPerRun, 'POCKETBENCH_MAX_CELLS_PER_RUN');
  }
  if (!deps.conversions) throw new ApiError(503, 'conversions_unavailable', 'this api has no conversion queue configured');

  const stored = await withTransaction(db, async (tx) => {
    const run = await insertRun(tx, {
      projectId: project.id,
      commit: req.commit,
      branch: req.branch,
      mergeBase: req.mergeBase,
      baselineBranch: req.baselineBranch,
      config,
      matrix: {
        ...req.matrix,
        conversion: {
          onnx: conv.onnx ?? false,
          ...(calibration ? { calibration: calibration.id, calibrationSha256: calibration.sha256 } : {}),
          ...(generated !== undefined ? { calibrationSamples: generated } : {}),
        },
      },
      idempotencyKey: req.idempotencyKey,
      jobsTotal: slots.length * cellsPerSlot,
      jobsFinished: 0,
    });
    if (!run) return null;
    const conversions: ConversionRow[] = [];
    for (const s of slots) {
      const key = recipeKeyText({
        converter: CONVERTER_VERSION,
        variant: s.variant,
        format: s.format,
        inputShape,
        calibration: s.variant !== 'int8-static' ? null : calibration ? { sha256: calibration.sha256 } : { generated: generated! },
        seed: CONVERSION_SEED,
      });
      const { conversion } = await ensureConversion(tx, {
        id: conversionId(parent.id, key),
        parentArtifactId: parent.id,
        variant: s.variant,
        format: s.format,
        recipeKey: key,
        inputShape,
        calibrationSetId: s.variant === 'int8-static' ? (calibration?.id ?? null) : null,
        calibrationSamples: s.variant === 'int8-static' ? (generated ?? null) : null,
      });
      conversions.push(conversion);
    }
    await insertRunConversions(tx, run.id, conversions.map((c) => c.id));
    return { runId: run.id, conversions };
  });
  if (!stored) {
    const existing = await getRunByIdempotencyKey(db, project.id, req.idempotencyKey!);
    return { runId: existing!.id, created: false };
  }
  const open = stored.conversions.filter((c) => c.status === 'queued' || c.status === 'running');
  try {
    await deps.conversions.addBulk(open.map((c) => conversionJobData(c, parent, calibration)));
  } catch (err) {
    await deleteRun(db, stored.runId).catch((e: unknown) =>
      deps.logger?.error({ err: e, runId: stored.runId }, 'could not delete the run whose conversions failed to enqueue'),
    );
    throw new ApiError(503, 'queue_unavailable', `could not enqueue the run's conversions: ${(err as Error).message}`);
  }
  deps.logger?.info(
    { runId: stored.runId, conversions: stored.conversions.map((c) => ({ id: c.id, variant: c.variant, format: c.format, status: c.status })) },
    'variants run created',
  );
  // Conversions already made (the cache): their cells are stored and queued now.
  if (open.length < stored.conversions.length) await planFinishedSlots(deps, { runId: stored.runId });
  return { runId: stored.runId, created: true, warnings };
}

/** The queue payload of a stored conversion. */
export function conversionJobData(
  c: ConversionRow,
  parent: Pick<ArtifactRow, 'id' | 'sha256'>,
  calibration: Pick<CalibrationSetRow, 'sha256'> | null,
): ConversionJobData {
  return {
    conversionId: c.id,
    parent: { id: parent.id, sha256: parent.sha256 },
    variant: c.variant,
    format: c.format,
    inputShape: c.inputShape,
    ...(c.variant === 'int8-static' && calibration ? { calibration: { sha256: calibration.sha256 } } : {}),
    ...(c.calibrationSamples !== null ? { calibrationSamples: c.calibrationSamples } : {}),
    seed: CONVERSION_SEED,
  };
}

/**
 * The fidelity reference of a variants run's cells: an explicit `config.fidelity.reference`
 * (`none`: no reference), else — as for any run with several files of one model — its fp32
 * variant, the `.ptl` before the `.onnx`, when converted. Slots are planned only once the fp32
 * conversions have ended (claimSlotsToPlan), so the answer does not change between slots.
 */
async function variantReference(q: Parameters<typeof getArtifact>[0], run: RunRow): Promise<ArtifactRow | null> {
  const explicit = run.config.fidelity?.reference;
  if (explicit === 'none') return null;
  if (explicit) return getArtifact(q, explicit);
  const conversions = await listRunConversions(q, run.id);
  if (conversions.length < 2) return null;
  const fp32 = ['ptl', 'onnx']
    .map((f) => conversions.find((c) => c.variant === 'fp32' && c.format === f && c.outputArtifactId))
    .find(Boolean);
  return fp32 ? getArtifact(q, fp32.outputArtifactId!) : null;
}

interface RunMatrix {
  backends: Backend[];
  devices: string[];
}

/** A matrix target resolved now; one no longer registered makes its cells `unsupported`. */
function resolveNow(name: string, devices: DeviceRow[]): Target | string {
  try {
    return resolveTargets([name], devices)[0];
  } catch {
    return `device or pool "${name}" is no longer registered`;
  }
}

/**
 * Stores the cells of every run slot whose conversion has ended (of one conversion, or one run):
 * on the variant's artifact when it was made, else `unsupported` (an op without a quantized
 * kernel) or `failed` with the conversion's reason. Then queues their sessions. Idempotent: a
 * slot's cells are stored once; sessions that could not be queued are queued again by
 * reconcileQueuedRuns.
 */
export async function planFinishedSlots(deps: ConversionDeps, filter: { conversionId?: string; runId?: string } = {}): Promise<number> {
  const planned = await withTransaction(deps.db, async (tx) => {
    const slots = (await claimSlotsToPlan(tx, filter.conversionId)).filter((s) => !filter.runId || s.runId === filter.runId);
    if (slots.length === 0) return [];
    const devices = await listDevices(tx);
    const out: { run: RunRow; artifact: ArtifactRow | null; reference: ArtifactRow | null; cells: (NewJob & { deviceId: string | null })[] }[] = [];
    for (const s of slots) {
      const run = (await getRun(tx, s.runId))!;
      const conversion = (await getConversion(tx, s.conversionId))!;
      const matrix = run.matrix as unknown as RunMatrix;
      const output = conversion.outputArtifactId ? await getArtifact(tx, conversion.outputArtifactId) : null;
      const reference = output ? await variantReference(tx, run) : null;
      const cellsPerSlot = matrix.backends.length * matrix.devices.length;
      const cells: (NewJob & { deviceId: string | null })[] = [];
      matrix.backends.forEach((backend, bi) => {
        matrix.devices.forEach((name, ti) => {
          const cellIndex = s.slot * cellsPerSlot + bi * matrix.devices.length + ti;
          const target = resolveNow(name, devices);
          const base = {
            id: `${run.id}.${cellIndex}`, runId: run.id, cellIndex, backend, baselineArtifactId: null,
            pool: typeof target === 'string' ? name : target.pool,
            deviceId: typeof target !== 'string' && target.kind === 'device' ? target.devices[0].id : null,
            sessionsPlanned: run.config.sessions,
          };
          if (!output) {
            cells.push({
              ...base, artifactId: conversion.parentArtifactId,
              status: conversion.status === 'unsupported' ? 'unsupported' : 'failed',
              reason: conversion.reason ?? `the ${conversion.variant} conversion failed`,
              errorClass: conversion.errorClass ?? 'conversion_error',
            });
            return;
          }
          const reason = typeof target === 'string' ? target : unsupportedReason(output, undefined, backend, target);
          cells.push({ ...base, artifactId: output.id, referenceArtifactId: reference?.id ?? null, status: reason ? 'unsupported' : 'queued', reason });
        });
      });
      await insertJobs(tx, cells);
      const finished = cells.filter((c) => c.status !== 'queued').length;
      await countAddedCells(tx, run.id, finished, cells.filter((c) => c.status === 'failed').length);
      out.push({ run, artifact: output, reference, cells });
    }
    return out;
  });
  const byQueue = new Map<string, SessionJob[]>();
  for (const { run, artifact, reference, cells } of planned) {
    for (const c of cells) {
      if (c.status !== 'queued' || !artifact) continue;
      const queue = cellQueueName({ deviceId: c.deviceId, pool: c.pool }, deps.queues.prefix);
      const list = byQueue.get(queue) ?? [];
      byQueue.set(queue, list);
      list.push(...cellSessions(run.id, { jobId: c.id, cellIndex: c.cellIndex, backend: c.backend as Backend, pool: c.pool, deviceId: c.deviceId },
        artifact, undefined, run.config as RunConfig, run.config.sessions, reference ?? undefined));
    }
  }
  if (byQueue.size) {
    await deps.queues.addBulk(byQueue).catch((err: unknown) =>
      deps.logger?.error({ err }, 'could not queue the sessions of converted variants; reconcileQueuedRuns queues them at the next start'),
    );
  }
  const count = planned.reduce((n, p) => n + p.cells.length, 0);
  if (count) deps.logger?.info({ runs: planned.map((p) => p.run.id), cells: count }, 'cells of converted variants stored');
  return count;
}

/**
 * Rebuilds the conversion queue from Postgres: every conversion not finished is enqueued again
 * under its deterministic id (a no-op for a job the queue still holds), and every finished one
 * whose run cells were never stored gets them. Idempotent: run it at every api start.
 */
export async function reconcileConversions(deps: ConversionDeps): Promise<{ enqueued: number; cells: number }> {
  const open = await listOpenConversions(deps.db);
  if (open.length && deps.conversions) {
    await deps.conversions.addBulk(
      open.map((c) => conversionJobData(c, { id: c.parentArtifactId, sha256: c.parentSha256 }, c.calibrationSha256 ? { sha256: c.calibrationSha256 } : null)),
    );
  }
  const cells = await planFinishedSlots(deps);
  if (open.length || cells) deps.logger?.info({ conversions: open.length, cells }, 'reconciled conversions');
  return { enqueued: open.length, cells };
}

/**
 * Runs `reconcileConversions` now (`runOnce`) and every `intervalMs` (0: only on `runOnce`), so a
 * conversion queue lost with Redis heals within one interval. Passes never overlap; a failed one
 * (Redis or Postgres away) is logged and tried again at the next tick.
 */
export function startConversionReconciler(deps: ConversionDeps & { intervalMs: number }): { runOnce(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const runOnce = () => {
    running ??= reconcileConversions(deps)
      .then(() => undefined, (err: Error) => deps.logger?.warn({ err: err.message }, 'conversion reconciler pass failed; trying again at the next interval'))
      .finally(() => (running = undefined));
    return running;
  };
  const timer = deps.intervalMs > 0 ? setInterval(() => void runOnce(), deps.intervalMs) : undefined;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
