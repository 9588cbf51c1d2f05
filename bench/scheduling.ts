// Scheduling overhead per job, from enqueue to harness start (target p50 <= 50 ms), through the
// real path: BullMQ on Redis → the worker's per-device consumer → Postgres bookkeeping → the
// device session over Appium (local target) → the harness. Jobs are sent one at a time to an
// idle device so each measures pick-up latency, not queueing behind other jobs.
//   enqueue → processor   : BullMQ delivery to the device's consumer
//   enqueue → device call : + duplicate check, markJobRunning, artifact cache, spec (the worker's part)
//   enqueue → harness     : + Appium round trips, model/harness checks on the device, harness process start
//                            (the report's own startedAt; same clock for the local target)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { SessionJobData, SessionJobResult } from '@pocketbench/contracts';
import { listSessionsForRun } from '@pocketbench/db';
import { createTestDatabase } from '../test/support/db.js';
import { testQueuePrefix } from '../test/support/redis.js';
import { cloneDevice, enqueue, fixturePaths, quietLogger, seedRun, seedWorkerCache, sessionQueue, SHARED_DATA_DIR, testWorkerConfig, waitFor } from '../test/worker/support.js';
import { loadDeviceLayer } from '../services/worker/src/device-layer.js';
import { WorkerHost } from '../services/worker/src/worker-host.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 30);

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.ceil(pos)] - s[lo]) * (pos - lo);
}

const db = await createTestDatabase();
const prefix = testQueuePrefix();
const layer = await loadDeviceLayer();
// Its own work directory on the target: never shares harness runs with a running service.
const workRoot = await mkdtemp(path.join(os.tmpdir(), 'pb-bench-'));
const appium = await layer.startAppiumServer({ appiumHome: path.join(SHARED_DATA_DIR, 'appium'), logger: quietLogger(), deviceRoots: [SHARED_DATA_DIR, workRoot] });
const [local] = (await layer.discoverLocalDevices({ dataDir: SHARED_DATA_DIR })).filter((d) => !d.emulated);
const pool = `bench-${Date.now()}`;
const toDeviceCall = new Map<string, number>();
const host = new WorkerHost({
  config: testWorkerConfig(db, prefix, { appiumUrl: appium.url }),
  logger: quietLogger(),
  deviceLayer: layer,
  db: db.pool,
  devices: [cloneDevice(local, `bench-${local.id}`, pool, workRoot)],
  onHarnessStart: (sessionJob: Job<SessionJobData, SessionJobResult>) => toDeviceCall.set(sessionJob.id!, Date.now() - sessionJob.timestamp),
});
try {
  await host.start();
  const onnx = (await fixturePaths()).onnx;
  const run = await seedRun(db.pool, { file: onnx, pool, prefix, sessions: JOBS + 1, config: { iterations: 1, warmup: 0 } });
  await seedWorkerCache(run.file);
  const q = sessionQueue(run.queueName, prefix);
  const pickup: number[] = [];
  const deviceCall: number[] = [];
  const harness: number[] = [];
  for (const [i, data] of run.sessions.entries()) {
    const sessionJob = await enqueue(q, data);
    await waitFor(`job ${i}`, async () => (await q.getJob(sessionJob.id!))?.finishedOn, 60_000, 5);
    const done = (await q.getJob(sessionJob.id!))!;
    if (i === 0) continue; // The first job opens the Appium session and installs the harness: not scheduling.
    pickup.push(done.processedOn! - done.timestamp);
    deviceCall.push(toDeviceCall.get(sessionJob.id!)!);
  }
  for (const s of await listSessionsForRun(db.pool, run.runId)) {
    if (s.sessionIndex === 0) continue;
    const { rows } = await db.pool.query('SELECT report FROM sessions WHERE id = $1', [s.id]);
    const sessionJob = await q.getJob(`${run.runId}.0.head.${s.sessionIndex}`);
    harness.push(new Date(rows[0].report.startedAt).getTime() - sessionJob!.timestamp);
  }
  const line = (name: string, v: number[]) =>
    `${name.padEnd(26)} p50 ${pct(v, 0.5).toFixed(1).padStart(7)} ms   p90 ${pct(v, 0.9).toFixed(1).padStart(7)} ms   max ${Math.max(...v).toFixed(1).padStart(7)} ms`;
  console.log(`scheduling overhead, ${JOBS} jobs one at a time on an idle device (${local.id}, local target)`);
  console.log(line('enqueue → processor', pickup));
  console.log(line('enqueue → device call', deviceCall));
  console.log(line('enqueue → harness start', harness));
  console.log(`target p50 <= 50 ms (enqueue → device call): ${pct(deviceCall, 0.5) <= 50 ? 'met' : 'NOT met'}`);
  await q.obliterate({ force: true });
  await q.close();
} finally {
  await host.close().catch(() => undefined);
  await appium.stop().catch(() => undefined);
  await db.drop();
  await rm(workRoot, { recursive: true, force: true });
}
process.exit(0);
