import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig as loadApiConfig, startWebServer, type WebServer } from '../../services/api/src/index.js';
import { loadDeviceLayer, type DeviceLayer } from '../../services/worker/src/device-layer.js';
import type { DeviceConfig } from '../../services/worker/src/devices/device-session.js';
import { WorkerHost } from '../../services/worker/src/worker-host.js';
import { quietLogger, REPO_ROOT, testWorkerConfig, type WorkerConfigOverrides } from '../worker/support.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { testQueuePrefix, TEST_REDIS_URL } from './redis.js';

const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');

/**
 * Runs the CLI as a user would (a child process) against the api at `url`, with `token` as
 * POCKETBENCH_TOKEN (none by default). @defaultValue timeoutMs 120000
 */
export function cli(args: string[], url: string, opts: { timeoutMs?: number; token?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, POCKETBENCH_URL: url, POCKETBENCH_TOKEN: opts.token ?? '' },
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 16 << 20,
    }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** An api and a worker host on this machine, as an end-to-end spec runs against them. */
export interface E2eStack {
  db: TestDatabase;
  api: WebServer;
  host: WorkerHost;
  /** This stack's own directory (api data, worker cache, device work dirs); removed by close(). */
  tmp: string;
  prefix: string;
  /** Stops the worker host and the api, drops the database, removes `tmp`; never rejects. */
  close(): Promise<void>;
}

export interface E2eStackOptions {
  /** Names the stack's temporary directory (`pb-<name>-…`). */
  name: string;
  /** Worker settings on top of the test defaults (testWorkerConfig). */
  worker?: WorkerConfigOverrides;
  /** The devices the host serves, from the real device layer; discovered by the host when omitted. */
  devices?: (layer: DeviceLayer, stack: { prefix: string; tmp: string }) => Promise<DeviceConfig[]>;
}

/**
 * The api (HTTP on port 0, open local mode) and a worker host in-process on this machine, on a
 * test database of their own and the test Redis under a queue prefix of their own, the worker's
 * artifact cache this stack's own (so it really downloads): real Appium, harness, Postgres, Redis.
 */
export async function startE2eStack(opts: E2eStackOptions): Promise<E2eStack> {
  const db = await createTestDatabase();
  const tmp = await mkdtemp(path.join(os.tmpdir(), `pb-${opts.name}-`));
  const prefix = testQueuePrefix();
  let api: WebServer | undefined;
  let host: WorkerHost | undefined;
  const close = async () => {
    await host?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    api = await startWebServer({
      config: loadApiConfig({
        PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL,
        POCKETBENCH_DATA_DIR: path.join(tmp, 'api'), POCKETBENCH_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent',
      }),
      migrate: false,
    });
    const layer = opts.devices ? await loadDeviceLayer() : undefined;
    host = new WorkerHost({
      config: { ...testWorkerConfig(db, prefix, opts.worker), apiUrl: api.url, cacheDir: path.join(tmp, 'worker-cache') },
      ...(layer && opts.devices ? { deviceLayer: layer, devices: await opts.devices(layer, { prefix, tmp }) } : {}),
      logger: quietLogger(),
    });
    await host.start();
    return { db, api, host, tmp, prefix, close };
  } catch (err) {
    await close();
    throw err;
  }
}
