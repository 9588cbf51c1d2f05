import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig as loadApiConfig, startWebServer, type WebServer } from '@pocketbench/api';
import { createPool, type Pool } from '@pocketbench/db';
import { loadDeviceLayer, type AppiumServerHandle, type DeviceLayer } from '../../services/worker/src/device-layer.js';
import type { DeviceConfig } from '../../services/worker/src/devices/device-session.js';
import type { WorkerConfig } from '../../services/worker/src/config.js';
import { WorkerHost } from '../../services/worker/src/worker-host.js';
import { tinyOnnx } from '../api/helpers.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startPrivateRedis, testQueuePrefix, type PrivateRedis } from '../support/redis.js';
import { cloneDevice, quietLogger, REPO_ROOT, SHARED_DATA_DIR, testWorkerConfig, waitFor } from '../worker/support.js';

/** What every fault test needs once: the device layer, one Appium server, this machine as a device. */
export interface FarmBase {
  layer: DeviceLayer;
  appium: AppiumServerHandle;
  local: DeviceConfig;
  workRoot: string;
  close(): Promise<void>;
}

export async function startFarmBase(): Promise<FarmBase> {
  const layer = await loadDeviceLayer();
  const workRoot = await mkdtemp(path.join(os.tmpdir(), 'pb-faults-'));
  // The devices' work directories are this test's: the server must allow them (POCKETBENCH_DEVICE_ROOTS).
  const appium = await layer.startAppiumServer({ appiumHome: path.join(SHARED_DATA_DIR, 'appium'), logger: quietLogger(), deviceRoots: [SHARED_DATA_DIR, workRoot] });
  const local = (await layer.discoverLocalDevices({ dataDir: SHARED_DATA_DIR })).find((d) => !d.emulated && d.platform === 'linux')!;
  assert.ok(local, 'this machine is a local Linux device');
  return {
    layer,
    appium,
    local,
    workRoot,
    async close() {
      await appium.stop().catch(() => undefined);
      await rm(workRoot, { recursive: true, force: true });
    },
  };
}

/** What every fault spec stands on: the farm base, a test database of its own and a private Redis. */
export interface FaultGround {
  base: FarmBase;
  db: TestDatabase;
  redis: PrivateRedis;
}

/**
 * Registers a fault spec's before/after hooks for its ground and returns it (filled in by
 * `before`). `teardownFirst` runs at the start of `after`: what the spec built on the ground
 * (its farm, proxies, worker processes) goes before the ground does.
 */
export function faultGround(teardownFirst: () => Promise<unknown> = async () => undefined): FaultGround {
  const ground = {} as FaultGround;
  before(async function () {
    this.timeout(600_000);
    ground.base = await startFarmBase();
    ground.db = await createTestDatabase();
    ground.redis = await startPrivateRedis();
  });
  after(async () => {
    await teardownFirst();
    await ground.redis?.stop();
    await ground.db?.drop();
    await ground.base?.close();
  });
  return ground;
}

export interface FarmOptions {
  /** What the api and workers use for Postgres (the test database itself, or a fault proxy in front of it). */
  databaseUrl: string;
  redisUrl: string;
  /** Device ids served by one worker host each entry (all in `pool`). */
  hosts: string[][];
  pool: string;
  /** @defaultValue '1000' */
  reconcileMs?: string;
  /** Worker settings for every host (job lock, store give-up, …). */
  worker?: Partial<WorkerConfig>;
}

/** One worker host's own way to the database and Redis (a fault proxy of its own: its network link). */
export interface HostLinks {
  databaseUrl?: string;
  redisUrl?: string;
}

/** An api and worker hosts wired like `pocketbench up` wires them, each with its own pools and Redis connections. */
export interface Farm {
  api: WebServer;
  hosts: WorkerHost[];
  prefix: string;
  /** A pool straight to the database (not through any fault proxy) for the test's own reads. */
  db: Pool;
  startHost(ids: string[], links?: HostLinks): Promise<WorkerHost>;
  upload(): Promise<string>;
  submit(artifactId: string, config: Record<string, unknown>): Promise<string>;
  /** Waits until the run is final; returns its status and how its sessions were stored. */
  waitForRun(runId: string, timeoutMs: number): Promise<{ status: string; sessions: number; distinct: number; planned: number }>;
  close(): Promise<void>;
}

export async function startFarm(base: FarmBase, directDbUrl: string, opts: FarmOptions): Promise<Farm> {
  const prefix = testQueuePrefix();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pb-farm-api-'));
  const db = createPool(directDbUrl, 2);
  const api = await startWebServer({
    config: loadApiConfig({
      PORT: '0', HOST: '127.0.0.1', DATABASE_URL: opts.databaseUrl, REDIS_URL: opts.redisUrl, POCKETBENCH_DATA_DIR: dataDir,
      POCKETBENCH_QUEUE_PREFIX: prefix, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', POCKETBENCH_RECONCILE_MS: opts.reconcileMs ?? '1000',
      POCKETBENCH_ALERT_SWEEP_MS: '0',
    }),
    migrate: false,
  });
  const hosts: WorkerHost[] = [];
  const startHost = async (ids: string[], links: HostLinks = {}) => {
    const host = new WorkerHost({
      config: {
        ...testWorkerConfig({ url: links.databaseUrl ?? opts.databaseUrl }, prefix, {
          appiumUrl: base.appium.url, heartbeatMs: 500, heartbeatTtlMs: 2000, reaperMs: 250, shutdownGraceMs: 2000, ...opts.worker,
        }),
        redisUrl: links.redisUrl ?? opts.redisUrl,
        apiUrl: api.url,
        cacheDir: path.join(base.workRoot, 'cache'),
        logLevel: 'silent',
      },
      logger: quietLogger(),
      deviceLayer: base.layer,
      devices: ids.map((id) => cloneDevice(base.local, id, opts.pool, base.workRoot)),
    });
    hosts.push(host);
    await host.start();
    return host;
  };
  for (const ids of opts.hosts) await startHost(ids);
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${api.url}${p}`, {
      method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as { id?: string; error?: { message: string } } };
  };
  return {
    api,
    hosts,
    prefix,
    db,
    startHost,
    async upload() {
      const form = new FormData();
      form.append('model', 'relu');
      form.append('file', new Blob([new Uint8Array(tinyOnnx(`faults-${Math.random()}`))]), 'relu.onnx');
      const res = await fetch(`${api.url}/api/v1/artifacts`, { method: 'POST', body: form });
      const body = (await res.json()) as { id: string };
      assert.equal(res.status, 201, JSON.stringify(body));
      return body.id;
    },
    async submit(artifactId, config) {
      const r = await call('POST', '/api/v1/runs', { matrix: { artifacts: [artifactId], backends: ['cpu'], devices: [opts.pool] }, config });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id!;
    },
    async waitForRun(runId, timeoutMs) {
      const final = await waitFor(`run ${runId} to end`, async () => {
        const { rows } = await db.query<{ status: string }>('SELECT status FROM runs WHERE id = $1', [runId]);
        return ['done', 'failed', 'cancelled'].includes(rows[0]?.status) ? rows[0].status : undefined;
      }, timeoutMs, 200);
      const { rows } = await db.query<{ sessions: number; distinct: number; planned: number }>(
        `SELECT (SELECT count(*)::int FROM sessions WHERE run_id = $1) AS sessions,
                (SELECT count(DISTINCT (job_id, role, session_index))::int FROM sessions WHERE run_id = $1) AS distinct,
                (SELECT sum(sessions_planned)::int FROM jobs WHERE run_id = $1) AS planned`,
        [runId],
      );
      return { status: final, ...rows[0] };
    },
    async close() {
      for (const h of hosts) await h.close().catch(() => undefined);
      await api.close().catch(() => undefined);
      await db.end().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stored sessions of a run so far. */
export async function storedSessions(db: Pool, runId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE run_id = $1', [runId]);
  return rows[0].n;
}

/** A worker host as its own process (`services/worker/src/main.ts`), serving this machine under its own host name. */
export interface WorkerProcess {
  deviceId: string;
  proc: import('node:child_process').ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnWorker(
  base: FarmBase,
  farm: Farm,
  opts: { hostName: string; databaseUrl: string; redisUrl: string; env?: Record<string, string> },
): Promise<WorkerProcess> {
  const { spawn } = await import('node:child_process');
  const cacheDir = await mkdtemp(path.join(base.workRoot, `cache-${opts.hostName}-`));
  const deviceId = `host-${opts.hostName}`;
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'services/worker/src/main.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl,
      POCKETBENCH_URL: farm.api.url,
      POCKETBENCH_QUEUE_PREFIX: farm.prefix,
      POCKETBENCH_DATA_DIR: SHARED_DATA_DIR,
      POCKETBENCH_WORKER_CACHE_DIR: cacheDir,
      POCKETBENCH_HOST_NAME: opts.hostName,
      POCKETBENCH_WORKER_DEVICES: deviceId,
      APPIUM_URL: base.appium.url,
      POCKETBENCH_HEARTBEAT_MS: '500',
      POCKETBENCH_JOB_LOCK_MS: '4000',
      POCKETBENCH_SHUTDOWN_GRACE_MS: '2000',
      POCKETBENCH_CV_CAP: '10',
      POCKETBENCH_DRIFT_CAP: '10',
      LOG_LEVEL: 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await waitFor(`worker ${opts.hostName} ready`, async () => {
    if (proc.exitCode !== null) throw new Error(`worker ${opts.hostName} exited during start:\n${out.slice(-3000)}`);
    return /"msg":"worker ready"/.test(out);
  }, 120_000, 100);
  return {
    deviceId,
    proc,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    },
  };
}

/** The session job a device is running now (from its heartbeats), or null. */
export async function currentJobOf(db: Pool, deviceId: string): Promise<string | null> {
  const { rows } = await db.query<{ current_job_id: string | null }>('SELECT current_job_id FROM devices WHERE id = $1', [deviceId]);
  return rows[0]?.current_job_id ?? null;
}
