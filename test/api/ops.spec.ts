import assert from 'node:assert/strict';
import type { Express } from 'express';
import { ConfigError, loadConfig } from '@pocketbench/api';
import { device, registerDevices, startTestApi, tinyOnnx, upload, type TestApi } from './helpers.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method + path served by an Express route, read from the router stacks. */
function expressRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const l of stack) {
      if (l.route) {
        for (const m of Object.keys(l.route.methods)) if (m !== '_all') out.push(`${m.toUpperCase()} ${l.route.path}`);
      } else if (l.handle?.stack) walk(l.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return [...new Set(out)].sort();
}

describe('api/ops', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
    await registerDevices(api, [device({ id: 'host-a' })]);
  });
  after(async () => api?.close());

  it('documents every route in the OpenAPI document, and documents nothing else', async () => {
    const doc = (await api.call('GET', '/api/v1/openapi.json')).body;
    assert.equal(doc.openapi, '3.1.0');
    const documented: string[] = [];
    for (const [p, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const m of Object.keys(item)) {
        if (['get', 'post', 'put', 'patch', 'delete'].includes(m)) documented.push(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`);
      }
    }
    const { createApp } = await import('@pocketbench/api');
    // The dashboard's page and static assets are not API; everything else is.
    const routes = expressRoutes(createApp(api.server.deps)).filter((r) => !/^GET \/(assets\/.*)?$/.test(r));
    assert.ok(routes.includes('POST /api/v1/runs'));
    assert.deepEqual(routes.filter((r) => !documented.includes(r)), [], 'routes missing from the OpenAPI document');
    assert.deepEqual(documented.filter((r) => !routes.includes(r)).sort(), [], 'documented paths no route serves');
  });

  it('answers health, readiness and Prometheus metrics', async () => {
    assert.deepEqual((await api.call('GET', '/healthz')).body, { status: 'ok' });
    const ready = await api.call('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { db: 'ok', redis: 'ok' });
    const art = await upload(api, tinyOnnx(), { model: 'm' });
    await api.call('POST', '/api/v1/runs', { body: { matrix: { artifacts: [art.body.id], backends: ['cpu'], devices: ['host-x86_64'] }, config: { sessions: 3 } } });
    const metrics = await api.call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    const text = metrics.body as string;
    assert.match(text, /pocketbench_http_requests_total\{method="POST",route="\/api\/v1\/runs",status="201"\} 1/);
    assert.match(text, /pocketbench_runs_created_total 1/);
    assert.match(text, new RegExp(`pocketbench_queue_depth\\{queue="${api.prefix}.pool.host-x86_64"\\} 3`));
  });
});

describe('api/config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.maxUploadBytes, 512 * 1024 * 1024);
    assert.equal(c.queuePrefix, 'pocketbench');
    assert.match(c.dataDir, /\.pocketbench$/);
    assert.equal(c.adminToken, undefined);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.alertSweepMs, 60_000);
    assert.equal(loadConfig({ POCKETBENCH_ALERT_SWEEP_MS: '0' }).alertSweepMs, 0, '0 turns the sweeper off');
  });

  it('fails fast naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /^PORT: must be an integer/],
      [{ PORT: '70000' }, /^PORT/],
      [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: must start with postgres:/],
      [{ REDIS_URL: 'not a url' }, /^REDIS_URL: is not a URL/],
      [{ POCKETBENCH_TOKEN: 'short' }, /^POCKETBENCH_TOKEN: must be at least 16/],
      [{ POCKETBENCH_MAX_UPLOAD_MB: '0' }, /^POCKETBENCH_MAX_UPLOAD_MB/],
      [{ POCKETBENCH_QUEUE_PREFIX: 'a:b' }, /^POCKETBENCH_QUEUE_PREFIX/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL/],
      [{ POCKETBENCH_ALERT_SWEEP_MS: '5' }, /^POCKETBENCH_ALERT_SWEEP_MS: must be 0 \(off\) or at least 100/],
      [{ POCKETBENCH_ALERT_SWEEP_MS: 'hourly' }, /^POCKETBENCH_ALERT_SWEEP_MS: must be an integer/],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && message.test(err.message));
    }
  });
});
