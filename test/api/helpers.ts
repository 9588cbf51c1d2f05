// Shared by the api specs: a real server on port 0 over a fresh database, a test-owned queue
// prefix on the real Redis, and a temp data dir; everything is removed by close().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, startWebServer, type WebServer } from '@pocketbench/api';
import { upsertDevice, type DeviceRegistration } from '@pocketbench/db';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { TEST_REDIS_URL, testQueuePrefix } from '../support/redis.js';

export interface TestApi {
  server: WebServer;
  url: string;
  db: TestDatabase;
  redis: Redis;
  prefix: string;
  dataDir: string;
  /** fetch relative to the server, JSON in and out, with the given bearer token. */
  call(method: string, p: string, opts?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const db = await createTestDatabase();
  // pg-pool resolves end() before its sockets close; DROP DATABASE … FORCE then kills them and
  // the error surfaces on the pool: expected at teardown, not a failure.
  db.pool.on('error', () => undefined);
  const prefix = testQueuePrefix();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pb-api-test-'));
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    POCKETBENCH_DATA_DIR: dataDir,
    POCKETBENCH_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    POCKETBENCH_EVENTS_POLL_MS: '50',
    ...env,
  });
  const server = await startWebServer({ config, db: db.pool, redis, migrate: false });
  return {
    server,
    url: server.url,
    db,
    redis,
    prefix,
    dataDir,
    async call(method, p, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      }
      const res = await fetch(`${server.url}${p}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await server.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function device(over: Partial<DeviceRegistration> & { id: string }): DeviceRegistration {
  return {
    name: over.id,
    platform: 'linux',
    arch: 'x86_64',
    deviceModel: 'test-host',
    pool: 'host-x86_64',
    host: 'test',
    backends: ['cpu'],
    ...over,
  };
}

export async function registerDevices(api: TestApi, devices: DeviceRegistration[]): Promise<void> {
  for (const d of devices) await upsertDevice(api.db.pool, d);
}

// ---- a minimal, valid ONNX model written by hand (Relu on float[1,4]) ----

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const ld = (field: number, payload: Buffer | string) => {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint(field * 8 + 2), varint(p.length), p]);
};
const vi = (field: number, n: number) => Buffer.concat([varint(field * 8), varint(n)]);

function valueInfo(name: string): Buffer {
  const dims = Buffer.concat([ld(1, vi(1, 1)), ld(1, vi(1, 4))]);
  const tensorType = Buffer.concat([vi(1, 1), ld(2, dims)]);
  return Buffer.concat([ld(1, name), ld(2, ld(1, tensorType))]);
}

/** A ModelProto: ir_version 8, opset 13, graph y = Relu(x) with x, y float[1,4]. */
export function tinyOnnx(producer = 'pocketbench-test'): Buffer {
  const node = Buffer.concat([ld(1, 'x'), ld(2, 'y'), ld(3, 'relu'), ld(4, 'Relu')]);
  const graph = Buffer.concat([ld(1, node), ld(2, 'g'), ld(11, valueInfo('x')), ld(12, valueInfo('y'))]);
  const opset = Buffer.concat([ld(1, ''), vi(2, 13)]);
  return Buffer.concat([vi(1, 8), ld(2, producer), ld(7, graph), ld(8, opset)]);
}

/** Uploads bytes as multipart; returns status and parsed body. */
export async function upload(
  api: TestApi,
  bytes: Buffer,
  fields: Record<string, string> = {},
  opts: { token?: string; filename?: string } = {},
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(bytes)]), opts.filename ?? 'model.bin');
  const res = await fetch(`${api.url}/api/v1/artifacts`, {
    method: 'POST',
    body: form,
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}
