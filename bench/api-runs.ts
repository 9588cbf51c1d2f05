// How long the api takes to accept a 1,000-cell run (target ≤ 1 s): POST /api/v1/runs
// end to end against real Postgres and Redis — validation, device matching, bulk insert of
// the run and its cells, and `addBulk` of one BullMQ job per session. Figures go in docs/api.md.
import { Redis } from 'ioredis';
import { loadConfig, startWebServer } from '@pocketbench/api';
import { upsertDevice } from '@pocketbench/db';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '../test/support/db.js';
import { TEST_REDIS_URL, testQueuePrefix } from '../test/support/redis.js';
import { tinyOnnx } from '../test/api/helpers.js';

const ARTIFACTS = 10;
const BACKENDS = ['cpu', 'xnnpack'];
const DEVICES = 50;
const REPEATS = 7;

const db = await createTestDatabase();
db.pool.on('error', () => undefined);
const prefix = testQueuePrefix();
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
const dataDir = await mkdtemp(path.join(tmpdir(), 'pb-bench-api-'));
const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', POCKETBENCH_DATA_DIR: dataDir, POCKETBENCH_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
const server = await startWebServer({ config, db: db.pool, redis, migrate: false });

try {
  for (let i = 0; i < DEVICES; i++) {
    await upsertDevice(db.pool, {
      id: `dev-${i}`, name: `dev-${i}`, platform: 'android', arch: 'aarch64', deviceModel: 'phone', pool: `pool-${i % 5}`,
      host: 'bench', backends: ['cpu', 'xnnpack'],
    });
  }
  const artifacts: string[] = [];
  for (let i = 0; i < ARTIFACTS; i++) {
    const form = new FormData();
    form.append('model', `m${i}`);
    form.append('file', new Blob([new Uint8Array(tinyOnnx(`bench-${i}`))]), `m${i}.onnx`);
    const res = await fetch(`${server.url}/api/v1/artifacts`, { method: 'POST', body: form });
    artifacts.push(((await res.json()) as { id: string }).id);
  }
  const devices = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);
  const cells = ARTIFACTS * BACKENDS.length * DEVICES;

  async function submit(paired: boolean): Promise<{ ms: number; cells: number }> {
    const body = {
      matrix: { artifacts: paired ? artifacts.slice(1) : artifacts, backends: BACKENDS, devices, ...(paired ? { baselineArtifact: artifacts[0] } : {}) },
      config: { iterations: 50, sessions: 1 },
    };
    const t0 = performance.now();
    const res = await fetch(`${server.url}/api/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as { cells: unknown[] };
    const ms = performance.now() - t0;
    if (res.status !== 201) throw new Error(`submit failed: ${res.status} ${JSON.stringify(json)}`);
    return { ms, cells: json.cells.length };
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
  };

  await submit(false); // warm-up: JIT, connections, prepared queues
  const plain: number[] = [];
  for (let i = 0; i < REPEATS; i++) plain.push((await submit(false)).ms);
  const paired: number[] = [];
  let pairedCells = 0;
  for (let i = 0; i < REPEATS; i++) {
    const r = await submit(true);
    paired.push(r.ms);
    pairedCells = r.cells;
  }
  const list = await fetch(`${server.url}/api/v1/runs?limit=1`);
  const runId = ((await list.json()) as { runs: { id: string }[] }).runs[0].id;
  const t1 = performance.now();
  const view = await fetch(`${server.url}/api/v1/runs/${runId}`);
  await view.json();
  const viewMs = performance.now() - t1;

  // Figures of a finished 1,000-cell run: 20 sessions x 200 iterations per cell (4 M samples).
  const big = await submit(false);
  void big;
  const bigId = ((await (await fetch(`${server.url}/api/v1/runs?limit=1`)).json()) as { runs: { id: string }[] }).runs[0].id;
  await db.pool.query(
    `INSERT INTO sessions (job_id, run_id, role, session_index, artifact_id, device_id, status, backend_requested, backend_used,
                           device_arch, iterations_us, min_us, mean_us, p50_us, p90_us, p99_us, load_ms, peak_rss_bytes,
                           model_size_bytes, report)
     SELECT j.id, j.run_id, 'head', s, j.artifact_id, j.device_id, 'ok', j.backend, j.backend, 'aarch64',
            (SELECT array_agg((1000 + random() * 500)::int) FROM generate_series(1, 200) WHERE s >= 0),
            1000, 1250 + random(), 1250 + random(), 1450 + random(), 1495 + random(), 12.5, 50000000, 1234, '{}'
       FROM jobs j, generate_series(0, 19) s WHERE j.run_id = $1`,
    [bigId],
  );
  const tf = performance.now();
  const figured = (await (await fetch(`${server.url}/api/v1/runs/${bigId}`)).json()) as { cells: { figures: { iterations: number } }[] };
  const figuresMs = performance.now() - tf;
  if (figured.cells[0].figures.iterations !== 4000) throw new Error('figures not computed from the inserted sessions');

  const p = stats(plain);
  const a = stats(paired);
  console.log(`POST /api/v1/runs, ${cells} cells (${ARTIFACTS} artifacts x ${BACKENDS.length} backends x ${DEVICES} devices), 1 session each, ${REPEATS} runs:`);
  console.log(`  median ${p.median.toFixed(0)} ms, min ${p.min.toFixed(0)} ms, max ${p.max.toFixed(0)} ms  (target <= 1000 ms: ${p.median <= 1000 ? 'met' : 'MISSED'})`);
  console.log(`POST /api/v1/runs, ${pairedCells} paired A/B cells (2 queued sessions each, A B interleaved on one device), ${REPEATS} runs:`);
  console.log(`  median ${a.median.toFixed(0)} ms, min ${a.min.toFixed(0)} ms, max ${a.max.toFixed(0)} ms`);
  console.log(`GET /api/v1/runs/:id of a ${pairedCells}-cell run (no sessions yet): ${viewMs.toFixed(0)} ms`);
  console.log(`GET /api/v1/runs/:id of a finished ${cells}-cell run, 20 sessions x 200 iterations per cell (4 M samples): ${figuresMs.toFixed(0)} ms`);
} finally {
  await server.close();
  const keys = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  await redis.quit();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
}
