import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import pino from 'pino';
import {
  DEFAULT_RUN_CONFIG, queueNameForDevice, queueNameForPool, sessionJobId, type Backend, type RunConfig, type SessionJobData,
  type SessionJobResult,
} from '@pocketbench/contracts';
import { ensureModel, ensureProject, insertArtifact, insertJobs, insertRun, type Pool } from '@pocketbench/db';
import { ensureFixtures } from '@pocketbench/harness';
import { TEST_REDIS_URL } from '../support/redis.js';
import { loadConfig, type SessionPolicy, type WorkerConfig } from '../../services/worker/src/config.js';
import type { DeviceConfig } from '../../services/worker/src/devices/device-session.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Harness bundle, Appium home (with the driver installed by setup) and fixtures are shared and cached here. */
export const SHARED_DATA_DIR = process.env.POCKETBENCH_DATA_DIR ?? path.join(REPO_ROOT, '.pocketbench');

export const quietLogger = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface FixtureFile {
  path: string;
  sha256: string;
  sizeBytes: number;
}

async function describeFile(p: string): Promise<FixtureFile> {
  const bytes = await readFile(p);
  return { path: p, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: (await stat(p)).size };
}

/** The tiny CNN fixture (.onnx and .ptl fp32) from the shared fixtures helper. */
export async function fixturePaths(): Promise<{ onnx: string; ptl: string; ptlInt8: string }> {
  const fx: any = await ensureFixtures(SHARED_DATA_DIR, ['tiny_cnn']);
  const entries: { key: string; path: string }[] = fx.models
    ? fx.models.map((m: any) => ({ key: String(m.file), path: String(m.path) }))
    : Object.entries(fx).map(([key, p]) => ({ key, path: String(p) }));
  const find = (suffix: string) => {
    const hit = entries.find((e) => e.key.endsWith(suffix) || e.path.endsWith(suffix));
    if (!hit) throw new Error(`fixture *${suffix} missing from ${JSON.stringify(entries.map((e) => e.key))}`);
    return hit.path;
  };
  return { onnx: find('tiny_cnn-fp32.onnx'), ptl: find('tiny_cnn-fp32.ptl'), ptlInt8: find('tiny_cnn-int8-static.ptl') };
}

/**
 * Worker settings for tests. The tiny CNN runs in ~50 µs per iteration, where scheduler jitter
 * alone exceeds the 10 % CV cap: hygiene is turned off here (cap 1000 %) except in the test
 * that is about it, so the other tests' outcomes do not depend on the machine's load.
 */
/**
 * This machine under another device id, in its own work directory on the target: devices of
 * one test never share harness runs (or orphan reaping) with other tests or a running service.
 */
export function cloneDevice(local: DeviceConfig, id: string, pool: string, workRoot: string): DeviceConfig {
  return { ...local, id, name: id, pool, capabilities: { ...local.capabilities, 'pocketbench:workDir': path.join(workRoot, id) } };
}

/** Overrides of a test's worker config; `session` is merged into the loaded policy. */
export type WorkerConfigOverrides = Partial<Omit<WorkerConfig, 'session'>> & { session?: Partial<SessionPolicy> };

export function testWorkerConfig(db: { url: string }, prefix: string, overrides: WorkerConfigOverrides = {}): WorkerConfig {
  const loaded = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      POCKETBENCH_DATA_DIR: SHARED_DATA_DIR,
      POCKETBENCH_QUEUE_PREFIX: prefix,
      POCKETBENCH_URL: 'http://127.0.0.1:9',
      POCKETBENCH_SHUTDOWN_GRACE_MS: '30000',
  });
  return { ...loaded, ...overrides, session: { ...loaded.session, cvCap: 10, driftCap: 10, ...overrides.session } };
}

/** Puts an artifact in the worker's host cache, as a download would. */
export async function seedWorkerCache(file: FixtureFile, cacheDir = path.join(SHARED_DATA_DIR, 'worker-cache')): Promise<void> {
  const dir = path.join(cacheDir, 'artifacts');
  await mkdir(dir, { recursive: true });
  await copyFile(file.path, path.join(dir, file.sha256));
}

export interface SeededRun {
  runId: string;
  jobId: string;
  artifactId: string;
  /** One SessionJobData per planned session. */
  sessions: SessionJobData[];
  queueName: string;
}

/** A run of one cell stored the way the api stores it (project, model, artifact, run, job). */
export async function seedRun(
  db: Pool,
  opts: {
    file: string;
    format?: 'onnx' | 'ptl';
    /** Paired A/B: the baseline model file; sessions alternate head, baseline. */
    baseline?: string;
    backend?: Backend;
    pool?: string;
    deviceId?: string;
    sessions?: number;
    config?: Partial<RunConfig>;
    prefix: string;
  },
): Promise<SeededRun & { file: FixtureFile; baselineFile?: FixtureFile }> {
  const file = await describeFile(opts.file);
  const format = opts.format ?? (opts.file.endsWith('.ptl') ? 'ptl' : 'onnx');
  const project = await ensureProject(db, 'worker-test');
  const model = await ensureModel(db, project.id, 'tiny_cnn');
  const { artifact } = await insertArtifact(db, { modelId: model.id, sha256: file.sha256, format, variant: 'fp32', sizeBytes: file.sizeBytes });
  let baseline: { id: string; file: FixtureFile; format: 'onnx' | 'ptl' } | undefined;
  if (opts.baseline) {
    const bfile = await describeFile(opts.baseline);
    const bformat = opts.baseline.endsWith('.ptl') ? 'ptl' : 'onnx';
    const bmodel = await ensureModel(db, project.id, 'tiny_cnn_baseline');
    const b = await insertArtifact(db, { modelId: bmodel.id, sha256: bfile.sha256, format: bformat, variant: 'fp32', sizeBytes: bfile.sizeBytes });
    baseline = { id: b.artifact.id, file: bfile, format: bformat };
  }
  const sessions = opts.sessions ?? 1;
  const config: RunConfig = { ...DEFAULT_RUN_CONFIG, warmup: 2, iterations: 10, minDurationMs: 0, ...opts.config, sessions };
  const backend = opts.backend ?? 'cpu';
  const poolName = opts.pool ?? 'host-x86_64';
  const run = await insertRun(db, { projectId: project.id, config, matrix: {}, jobsTotal: 1, jobsFinished: 0 });
  const runId = run!.id;
  const jobId = `${runId}.0`;
  await insertJobs(db, [{
    id: jobId, runId, cellIndex: 0, artifactId: artifact.id, baselineArtifactId: baseline?.id ?? null, backend, pool: poolName,
    deviceId: opts.deviceId ?? null, status: 'queued', sessionsPlanned: baseline ? 2 * sessions : sessions,
  }]);
  const data: SessionJobData[] = [];
  for (let i = 0; i < sessions; i++) {
    data.push({
      runId, jobId, cellIndex: 0, role: 'head', sessionIndex: i,
      artifact: { id: artifact.id, sha256: file.sha256, format, sizeBytes: file.sizeBytes },
      backend, pool: poolName, deviceId: opts.deviceId, config,
    });
    if (baseline) {
      data.push({
        runId, jobId, cellIndex: 0, role: 'baseline', sessionIndex: i,
        artifact: { id: baseline.id, sha256: baseline.file.sha256, format: baseline.format, sizeBytes: baseline.file.sizeBytes },
        backend, pool: poolName, deviceId: opts.deviceId, config,
      });
    }
  }
  const queueName = opts.deviceId ? queueNameForDevice(opts.deviceId, opts.prefix) : queueNameForPool(poolName, opts.prefix);
  return { runId, jobId, artifactId: artifact.id, sessions: data, queueName, file, baselineFile: baseline?.file };
}

export function sessionQueue(name: string, prefix: string): Queue<SessionJobData, SessionJobResult> {
  return new Queue<SessionJobData, SessionJobResult>(name, { connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null } as any, prefix });
}

export async function enqueue(queue: Queue<SessionJobData, SessionJobResult>, data: SessionJobData, attempts = 3, backoffMs = 500) {
  return queue.add('session', data, {
    jobId: sessionJobId(data.runId, data.cellIndex, data.role, data.sessionIndex),
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: false,
    removeOnFail: false,
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
