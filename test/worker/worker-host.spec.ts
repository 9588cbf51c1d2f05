import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { eventsQueueName, runFinishedJob, sessionJobId, type SessionJobData, type SessionJobResult } from '@pocketbench/contracts';
import { addPlannedSessions, getJob, listDevices, listSessionsForRun, recordDeviceOutcome, releaseDevice } from '@pocketbench/db';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { TEST_REDIS_URL, testQueuePrefix } from '../support/redis.js';
import { loadDeviceLayer, type AppiumServerHandle, type DeviceLayer } from '../../services/worker/src/device-layer.js';
import type { DeviceConfig } from '../../services/worker/src/devices/device-session.js';
import { WorkerHost } from '../../services/worker/src/worker-host.js';
import {
  cloneDevice, enqueue, fixturePaths, quietLogger, seedRun, seedWorkerCache, sessionQueue, SHARED_DATA_DIR, testWorkerConfig, waitFor,
  type WorkerConfigOverrides,
} from './support.js';

/**
 * The worker against real Redis, Postgres, Appium 3 with the pocketbench Linux driver, and the
 * reference harness on this machine (`local` target). No mocks.
 */
describe('worker/worker-host (real Redis, Postgres, Appium, harness)', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let layer: DeviceLayer;
  let appium: AppiumServerHandle;
  let local: DeviceConfig;
  let onnx: string;
  let ptl: string;
  let workRoot: string;
  const hosts: WorkerHost[] = [];
  const queues: ReturnType<typeof sessionQueue>[] = [];

  before(async function () {
    this.timeout(900_000);
    db = await createTestDatabase();
    layer = await loadDeviceLayer();
    workRoot = await mkdtemp(path.join(os.tmpdir(), 'pb-worker-devices-'));
    // The devices' work directories are this test's: the server must allow them (POCKETBENCH_DEVICE_ROOTS).
    appium = await layer.startAppiumServer({ appiumHome: path.join(SHARED_DATA_DIR, 'appium'), logger: quietLogger(), deviceRoots: [SHARED_DATA_DIR, workRoot] });
    const devices = await layer.discoverLocalDevices({ dataDir: SHARED_DATA_DIR });
    local = devices.find((d) => !d.emulated && d.platform === 'linux')!;
    assert.ok(local, 'this machine is discovered as a local Linux device');
    ({ onnx, ptl } = await fixturePaths());
  });

  afterEach(async () => {
    for (const h of hosts.splice(0)) await h.close().catch(() => undefined);
    for (const q of queues.splice(0)) await q.obliterate({ force: true }).catch(() => undefined).then(() => q.close());
  });

  after(async () => {
    await appium?.stop().catch(() => undefined);
    await db?.drop();
    if (workRoot) await rm(workRoot, { recursive: true, force: true });
  });

  /** A worker host serving `devices` (clones of this machine under other ids) in a test-owned pool. */
  async function startHost(
    prefix: string,
    pool: string,
    ids: string[],
    extra: {
      heartbeatMs?: number; cvCap?: number; shutdownGraceMs?: number; onHarnessStart?: (j: Job<SessionJobData, SessionJobResult>) => void;
      deviceLayer?: DeviceLayer; config?: WorkerConfigOverrides;
    } = {},
  ) {
    const heartbeatMs = extra.heartbeatMs ?? 5000;
    const host = new WorkerHost({
      config: testWorkerConfig(db, prefix, {
        appiumUrl: appium.url,
        heartbeatMs,
        heartbeatTtlMs: Math.round(heartbeatMs * 1.5),
        reaperMs: Math.max(20, Math.round(heartbeatMs / 4)),
        ...(extra.cvCap !== undefined ? { session: { cvCap: extra.cvCap } } : {}),
        ...(extra.shutdownGraceMs !== undefined ? { shutdownGraceMs: extra.shutdownGraceMs } : {}),
        ...extra.config,
      }),
      logger: quietLogger(),
      deviceLayer: extra.deviceLayer ?? layer,
      db: db.pool,
      devices: ids.map((id) => cloneDevice(local, id, pool, workRoot)),
      onHarnessStart: extra.onHarnessStart,
    });
    hosts.push(host);
    await host.start();
    return host;
  }

  function uniq(name: string) {
    return `${name}-${Math.random().toString(36).slice(2, 8)}`;
  }

  it('runs a queued session on this machine through Appium and stores every timed iteration', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 12, warmup: 2, minDurationMs: 0 } });
    await seedWorkerCache(run.file);
    await startHost(prefix, pool, [uniq('dev')]);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    const [s] = await waitFor('the session row', async () => {
      const rows = await listSessionsForRun(db.pool, run.runId);
      return rows.some((x) => x.status === 'ok') ? rows : undefined;
    });
    assert.equal(s.status, 'ok');
    // minDurationMs 0 (the default is 1 s of timing): exactly the iterations asked for.
    assert.equal(s.iterationsUs.length, 12, 'every timed iteration kept');
    assert.ok(s.iterationsUs.every((v) => v > 0));
    assert.equal(s.deviceArch, process.arch === 'x64' ? 'x86_64' : 'aarch64');
    assert.equal(s.backendUsed, 'cpu');
    assert.ok(s.p50Us! > 0 && s.p99Us! >= s.p50Us!);
    assert.ok(s.loadMs! > 0);
    assert.ok(s.peakRssBytes! > 1_000_000);
    assert.equal(s.modelSizeBytes, run.file.sizeBytes);
    assert.ok(s.seriesId, 'the session joined a series');
    const cell = await getJob(db.pool, run.jobId);
    assert.equal(cell!.status, 'done');
    // The run finished with this session: the worker said so on the events queue, for the api.
    const events = new Queue(eventsQueueName(prefix), { connection: { url: TEST_REDIS_URL, maxRetriesPerRequest: null } as never, prefix });
    queues.push(events as never);
    const published = await waitFor('the run.finished event', async () => (await events.getJob(runFinishedJob(run.runId).opts.jobId)) ?? undefined);
    assert.deepEqual(published.data, { runId: run.runId });
  });

  it('a session over the CV cap that cannot get better (sub-millisecond iterations) is not rerun: stored `unstable` with the reasons', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 10, warmup: 1 } });
    await seedWorkerCache(run.file);
    let starts = 0;
    // No real session has a robust CV of 0.001 %: both runs fail the cap.
    await startHost(prefix, pool, [uniq('dev')], { cvCap: 0.00001, onHarnessStart: () => starts++ });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    const [s] = await waitFor('the session row', async () => {
      const rows = await listSessionsForRun(db.pool, run.runId);
      return rows.length ? rows : undefined;
    });
    // The tiny model's noise is the timer's and the scheduler's: a second run would be no quieter.
    assert.equal(starts, 1, 'not rerun');
    assert.equal(s.status, 'unstable');
    assert.match(s.errorMessage ?? '', /CV .* exceeds the cap/);
    assert.equal(s.iterationsUs.length, 10, 'its iterations are kept');
    assert.equal((await getJob(db.pool, run.jobId))!.status, 'done');
  });

  /**
   * The real device layer, except that the device's thermal zones read `hotC(read)` °C: the
   * temperature sensor is a device fact this VM does not have.
   */
  function hotLayer(hotC: (read: number) => number, reads: { n: number }): DeviceLayer {
    return {
      ...layer,
      openDeviceSession: async (...args: Parameters<DeviceLayer['openDeviceSession']>) => {
        const real = await layer.openDeviceSession(...args);
        return {
          device: real.device,
          info: () => real.info(),
          state: async () => ({ ...(await real.state()), thermalZones: { 'cpu-thermal': hotC(reads.n++) } }),
          runHarness: (input) => real.runHarness(input),
          close: () => real.close(),
        };
      },
    };
  }

  it('a device above the temperature ceiling cools down first; still hot after the longest wait, the session is stored `unstable` (too hot)', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 5, warmup: 1, minDurationMs: 0 } });
    await seedWorkerCache(run.file);
    const reads = { n: 0 };
    const started = Date.now();
    await startHost(prefix, pool, [uniq('dev')], {
      deviceLayer: hotLayer(() => 80, reads),
      config: { session: { tempCeilingC: 45, cooldownPollMs: 100, cooldownMaxMs: 500 } },
    });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    const [s] = await waitFor('the session row', async () => {
      const rows = await listSessionsForRun(db.pool, run.runId);
      return rows.length ? rows : undefined;
    });
    assert.ok(Date.now() - started >= 500, 'the session waited the longest cooldown');
    // Each read is a real device-state probe (hundreds of ms on a loaded host), so only "read, then read
    // again before giving up" is certain within the 500 ms cooldown, not a number of polls.
    assert.ok(reads.n >= 2, `the temperature was read again while cooling (${reads.n} reads)`);
    assert.equal(s.status, 'unstable', 'a session on a hot device never counts as ok');
    assert.equal(s.errorClass, 'unstable');
    assert.match(s.errorMessage ?? '', /too hot: 80 °C is above the 45 °C ceiling/);
  });

  it('a hot device that cools below the ceiling runs the session as usual', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 5, warmup: 1, minDurationMs: 0 } });
    await seedWorkerCache(run.file);
    const reads = { n: 0 };
    // Two hot readings, then cool (the session's own before-state reads come after).
    await startHost(prefix, pool, [uniq('dev')], {
      deviceLayer: hotLayer((n) => (n < 2 ? 60 : 40), reads),
      config: { session: { tempCeilingC: 45, cooldownPollMs: 50, cooldownMaxMs: 60_000 } },
    });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    const [s] = await waitFor('the session row', async () => {
      const rows = await listSessionsForRun(db.pool, run.runId);
      return rows.length ? rows : undefined;
    });
    assert.ok(reads.n >= 3, `read until cool (${reads.n} reads)`);
    assert.equal(s.status, 'ok');
    assert.equal(s.errorMessage, null);
  });

  /** A protobuf field: tag, then a varint or length-delimited payload. */
  function pbField(field: number, value: number | Uint8Array | string): Buffer {
    const varint = (n: number) => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
      out.push(n);
      return Buffer.from(out);
    };
    if (typeof value === 'number') return Buffer.concat([varint(field * 8), varint(value)]);
    const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
    return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
  }

  it('an ONNX model whose input the harness cannot generate fails the cell at once (model fault, no invented input)', async () => {
    // ModelProto{ir_version 8, opset_import{version 13}, graph{input "x": float16 (elem_type 10) [1, 4], output "y": float [1, 4]}}
    const dims = Buffer.concat([pbField(1, pbField(1, 1)), pbField(1, pbField(1, 4))]);
    const valueInfo = Buffer.concat([pbField(1, 'x'), pbField(2, pbField(1, Buffer.concat([pbField(1, 10), pbField(2, dims)])))]);
    const outInfo = Buffer.concat([pbField(1, 'y'), pbField(2, pbField(1, Buffer.concat([pbField(1, 1), pbField(2, dims)])))]);
    const model = Buffer.concat([pbField(1, 8), pbField(8, pbField(2, 13)), pbField(7, Buffer.concat([pbField(2, 'fp16-graph'), pbField(11, valueInfo), pbField(12, outInfo)]))]);
    const file = path.join(workRoot, 'fp16-input.onnx');
    await writeFile(file, model);
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, { file, pool, prefix, config: { iterations: 5, warmup: 1 } });
    await seedWorkerCache(run.file);
    let starts = 0;
    await startHost(prefix, pool, [uniq('dev')], { onHarnessStart: () => starts++ });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    const added = await enqueue(q, run.sessions[0]);
    const cell = await waitFor('the cell to fail', async () => {
      const j = await getJob(db.pool, run.jobId);
      return j?.status === 'failed' && j;
    });
    assert.equal(cell.errorClass, 'bad_spec');
    assert.match(cell.reason ?? '', /cannot read the model's inputs: ONNX input "x" has an element type the harness cannot generate/);
    const failed = await waitFor('the BullMQ job to fail', async () => {
      const j = await q.getJob(added.id!);
      return (await j?.isFailed()) && j;
    });
    assert.match(failed.failedReason, /^bad_spec: cannot read the model's inputs: ONNX input "x"/);
    assert.equal(failed.attemptsMade, 1, 'not retried');
    assert.equal(starts, 0, 'the harness never ran');
    assert.equal((await listSessionsForRun(db.pool, run.runId)).length, 0);
  });

  it('a `.ptl` model runs with the inputs given in the run config (not the 224×224 default)', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, {
      file: ptl, pool, prefix, config: { iterations: 4, warmup: 1, inputs: [{ name: 'image', shape: [1, 3, 64, 64], dtype: 'float32' }] },
    });
    await seedWorkerCache(run.file);
    await startHost(prefix, pool, [uniq('dev')]);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    const [s] = await waitFor('the session row', async () => {
      const rows = await listSessionsForRun(db.pool, run.runId);
      return rows.length ? rows : undefined;
    });
    assert.equal(s.status, 'ok', s.errorMessage ?? '');
    const { rows } = await db.pool.query<{ report: { spec: { inputs: unknown } } }>('SELECT report FROM sessions WHERE id = $1', [s.id]);
    assert.deepEqual(rows[0].report.spec.inputs, [{ name: 'image', shape: [1, 3, 64, 64], dtype: 'float32' }]);
  });

  it('adaptive A/B: while undecided, more interleaved sessions are added on the same device, up to the cap', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const dev = uniq('dev');
    // Head and baseline differ (ONNX Runtime vs the lite interpreter); 2 sessions per side to start,
    // the adaptive rule wants at least 6 per side before deciding, and the cap is 6.
    await startHost(prefix, pool, [dev]);
    const run = await seedRun(db.pool, {
      file: onnx, baseline: ptl, pool, deviceId: dev, prefix, sessions: 2,
      config: { iterations: 10, warmup: 1, adaptive: true, maxSessions: 6 },
    });
    await seedWorkerCache(run.file);
    await seedWorkerCache(run.baselineFile!);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    for (const s of run.sessions) await enqueue(q, s);
    let earlyFinish = '';
    const cell = await waitFor('the paired cell to finish', async () => {
      const j = await getJob(db.pool, run.jobId);
      // The extra sessions are planned in the transaction that stores the last one: the cell never reads finished before the cap.
      if (j && ['done', 'failed'].includes(j.status) && j.sessionsPlanned < 12) earlyFinish ||= `${j.status} at ${j.sessionsDone}/${j.sessionsPlanned}`;
      return j && j.status === 'done' && j.sessionsDone === j.sessionsPlanned && j;
    }, 150_000, 50);
    assert.equal(earlyFinish, '', 'the cell was never seen finished early');
    assert.equal(cell.sessionsPlanned, 12, '6 per side');
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.equal(sessions.filter((s) => s.role === 'head').length, 6);
    assert.equal(sessions.filter((s) => s.role === 'baseline').length, 6);
    assert.deepEqual([...new Set(sessions.map((s) => s.deviceId))], [dev], 'all on the one device');
    // Interleaved: in completion order, the three pairs the test seeded (A B each), then the
    // worker's three counterbalanced ones (B A, A B, B A).
    const order = [...sessions].sort((a, b) => a.id - b.id).map((s) => s.role[0]).join('');
    assert.equal(order, 'hbhbhb' + 'bhhbbh');
  });

  it('adaptive A/B: a device producing only unstable sessions stops at the cap instead of scheduling forever', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const dev = uniq('dev');
    // Every session fails the CV cap (so none is `ok`); the cap of 2 per side counts them anyway.
    await startHost(prefix, pool, [dev], { cvCap: 0.00001 });
    const run = await seedRun(db.pool, {
      file: onnx, baseline: ptl, pool, deviceId: dev, prefix, sessions: 1,
      config: { iterations: 5, warmup: 1, adaptive: true, maxSessions: 2 },
    });
    await seedWorkerCache(run.file);
    await seedWorkerCache(run.baselineFile!);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    for (const s of run.sessions) await enqueue(q, s);
    const cell = await waitFor('the paired cell to finish at the cap', async () => {
      const j = await getJob(db.pool, run.jobId);
      return j && j.status === 'done' && j.sessionsDone === j.sessionsPlanned && j.sessionsPlanned >= 4 && j;
    }, 90_000, 250);
    assert.equal(cell.sessionsPlanned, 4, '2 per side, the cap');
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.deepEqual(sessions.map((s) => s.status), ['unstable', 'unstable', 'unstable', 'unstable']);
    // Nothing more is queued for the device (seeded sessions and adaptive ones share its queue), and the cell stays finished.
    const counts = await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0, JSON.stringify(counts));
    assert.equal((await getJob(db.pool, run.jobId))!.status, 'done');
  });

  it('adaptive A/B: planned sessions a dead delivery never enqueued are enqueued by the next duplicate delivery', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const dev = uniq('dev');
    await startHost(prefix, pool, [dev]);
    const run = await seedRun(db.pool, {
      file: onnx, baseline: ptl, pool, deviceId: dev, prefix, sessions: 1,
      config: { iterations: 5, warmup: 1, adaptive: true, maxSessions: 2 },
    });
    await seedWorkerCache(run.file);
    await seedWorkerCache(run.baselineFile!);
    // As if a delivery had committed its plan of one more session per side and died before enqueueing them.
    assert.deepEqual(await addPlannedSessions(db.pool, run.jobId, 2), { sessionsPlanned: 4 });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    for (const s of run.sessions) await enqueue(q, s);
    await waitFor('the two seeded sessions', async () => (await listSessionsForRun(db.pool, run.runId)).length === 2);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await listSessionsForRun(db.pool, run.runId)).length, 2, 'nobody enqueued the planned ones yet');
    assert.equal((await getJob(db.pool, run.jobId))!.status, 'running');

    // A redelivery of a stored session (another id: the first completed and was removed).
    await q.add('session', run.sessions[0], { jobId: `${sessionJobId(run.runId, 0, 'head', 0)}.again`, attempts: 1 });
    const cell = await waitFor('the cell to finish', async () => {
      const j = await getJob(db.pool, run.jobId);
      return j && j.status === 'done' && j;
    }, 90_000, 100);
    assert.equal(cell.sessionsDone, 4);
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.deepEqual(sessions.map((s) => `${s.role}.${s.sessionIndex}`).sort(), ['baseline.0', 'baseline.1', 'head.0', 'head.1']);
    assert.equal((await q.getJob(`${sessionJobId(run.runId, 0, 'head', 0)}.again`))?.returnvalue?.status, 'duplicate');
  });

  it('a duplicated delivery (the same job twice, and a copy under another id) stores one session', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 5, warmup: 1 } });
    await seedWorkerCache(run.file);
    await startHost(prefix, pool, [uniq('dev-a'), uniq('dev-b')]);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    const data = run.sessions[0];
    // Two deliveries at once on two devices: the sessions table's key lets one result in.
    const first = await enqueue(q, data);
    await q.add('session', data, { jobId: `${first.id}.copy`, attempts: 1 });
    await waitFor('both deliveries to finish', async () => (await q.getJobCounts('completed')).completed === 2);
    // A redelivery after completion finds the stored session and does not run again.
    await (await q.getJob(first.id!))!.retry('completed');
    await waitFor('the redelivery', async () => (await q.getJobCounts('completed')).completed === 2 && (await q.getJob(first.id!))!.returnvalue?.status === 'duplicate', 60_000);
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.equal(sessions.length, 1);
    const cell = await getJob(db.pool, run.jobId);
    assert.equal(cell!.sessionsDone, 1, 'counted once');
    assert.equal(cell!.status, 'done');
  });

  it('Appium killed in the middle of a job: the retry succeeds once it is back, one result stored', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    // Long enough (at least 4 s of timing, whichever harness the host runs) to kill Appium while the harness runs.
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 8000, warmup: 1, minDurationMs: 4000 } });
    await seedWorkerCache(run.file);
    let starts = 0;
    let killed: Promise<void> | undefined;
    await startHost(prefix, pool, [uniq('dev')], {
      onHarnessStart: () => {
        starts++;
        if (starts === 1) {
          killed = (async () => {
            await new Promise((r) => setTimeout(r, 400));
            // A real crash: SIGKILL; the worker host's supervisor brings Appium back.
            process.kill((appium as AppiumServerHandle & { pid: number }).pid, 'SIGKILL');
          })();
        }
      },
    });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    const sessionJob = await enqueue(q, run.sessions[0], 5, 500);
    await waitFor('the job to complete after its retry', async () => (await q.getJob(sessionJob.id!))?.finishedOn, 150_000, 250);
    await killed;
    const done = (await q.getJob(sessionJob.id!))!;
    assert.ok(done.attemptsMade >= 2 || starts >= 2, `retried (attempts ${done.attemptsMade}, harness starts ${starts})`);
    assert.ok(await done.isCompleted(), `completed (last failure: ${done.failedReason})`);
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.equal(sessions.length, 1, 'exactly one result');
    assert.equal(sessions[0].status, 'ok');
    assert.ok(sessions[0].attempt >= 2);
    assert.equal((await getJob(db.pool, run.jobId))!.status, 'done');
  });

  it('graceful shutdown finishes the job in hand, then marks the device offline', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const dev = uniq('dev');
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 6000, warmup: 1 } });
    await seedWorkerCache(run.file);
    let started!: () => void;
    const harnessStarted = new Promise<void>((r) => (started = r));
    const host = await startHost(prefix, pool, [dev], { onHarnessStart: () => started() });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    await harnessStarted;
    await host.close();
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.equal(sessions.length, 1, 'the job in hand was finished before close() returned');
    assert.equal((await getJob(db.pool, run.jobId))!.status, 'done');
    assert.equal((await listDevices(db.pool, { pool }))[0].state, 'offline');
    await host.close(); // idempotent
  });

  it('shutdown past the grace period hands the job back: another device runs it, one result stored', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const [a, b] = [uniq('dev-a'), uniq('dev-b')];
    const run = await seedRun(db.pool, { file: onnx, pool, prefix, config: { iterations: 8000, warmup: 1, minDurationMs: 4000 } });
    await seedWorkerCache(run.file);
    let started!: () => void;
    const harnessStarted = new Promise<void>((r) => (started = r));
    const hostA = await startHost(prefix, pool, [a], { shutdownGraceMs: 200, onHarnessStart: () => started() });
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    await enqueue(q, run.sessions[0]);
    await harnessStarted;
    const t0 = Date.now();
    await hostA.close();
    const closeMs = Date.now() - t0;
    assert.equal(await (await q.getJob(run.sessions[0] && `${run.runId}.0.head.0`))!.getState(), 'waiting', `handed back at once (close took ${closeMs} ms)`);
    await startHost(prefix, pool, [b]);
    const done = await waitFor('the redelivered job', async () => {
      const j = await q.getJob(`${run.runId}.0.head.0`);
      return j?.finishedOn ? j : undefined;
    }, 60_000);
    // Device b ran it, or found the result device a still stored while its session closed: never two.
    assert.ok(['ok', 'duplicate'].includes(done.returnvalue.status), JSON.stringify(done.returnvalue));
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.equal(sessions.length, 1, 'exactly one result');
    assert.ok([a, b].includes(sessions[0].deviceId!));
    const cell = await getJob(db.pool, run.jobId);
    assert.equal(cell!.status, 'done');
    assert.equal(cell!.sessionsDone, 1);
  });

  it('a crashed device (heartbeats and consumers gone) is offline within two periods and gets no new jobs', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const heartbeatMs = 400;
    const [a, b] = [uniq('dev-a'), uniq('dev-b')];
    const hostA = await startHost(prefix, pool, [a], { heartbeatMs });
    const hostB = await startHost(prefix, pool, [b], { heartbeatMs });
    await hostB.devices[0].beat();
    const silentSince = Date.now();
    await hostB.devices[0].simulateCrash();
    const offlineAt = await waitFor('device b offline', async () => {
      const d = (await listDevices(db.pool, { pool })).find((x) => x.id === b);
      return d?.state === 'offline' ? Date.now() : undefined;
    }, 10_000, 20);
    assert.ok(offlineAt - silentSince <= 2 * heartbeatMs, `offline after ${offlineAt - silentSince} ms (period ${heartbeatMs} ms)`);
    const devA = (await listDevices(db.pool, { pool })).find((x) => x.id === a)!;
    assert.notEqual(devA.state, 'offline', 'the live device stays online');

    const run = await seedRun(db.pool, { file: onnx, pool, prefix, sessions: 3, config: { iterations: 3, warmup: 1 } });
    await seedWorkerCache(run.file);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    for (const s of run.sessions) await enqueue(q, s);
    await waitFor('three sessions', async () => (await listSessionsForRun(db.pool, run.runId)).length === 3);
    const sessions = await listSessionsForRun(db.pool, run.runId);
    assert.deepEqual([...new Set(sessions.map((s) => s.deviceId))], [a], 'only the heart-beating device ran them');
    void hostA;
  });

  it('a device whose heartbeats fail (consumer still alive) is offline within two periods, pauses itself past the TTL, and resumes when they succeed', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const heartbeatMs = 400;
    const [a, b] = [uniq('dev-a'), uniq('dev-b')];
    await startHost(prefix, pool, [a], { heartbeatMs });
    const hostB = await startHost(prefix, pool, [b], { heartbeatMs });
    const devB = hostB.devices[0];
    await devB.beat();
    // Postgres refuses device b's heartbeat writes from now on; nothing else of it is touched.
    const fn = `pb_refuse_beat_${b.replace(/\W/g, '_')}`;
    await db.pool.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = '${b}' AND NEW.last_heartbeat_at IS DISTINCT FROM OLD.last_heartbeat_at THEN
          RAISE EXCEPTION 'heartbeat refused (test)';
        END IF;
        RETURN NEW;
      END $$`);
    await db.pool.query(`CREATE TRIGGER ${fn} BEFORE UPDATE ON devices FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const silentSince = Date.now();
      const offlineAt = await waitFor('device b offline', async () => {
        const d = (await listDevices(db.pool, { pool })).find((x) => x.id === b);
        return d?.state === 'offline' ? Date.now() : undefined;
      }, 10_000, 20);
      assert.ok(offlineAt - silentSince <= 2 * heartbeatMs, `offline after ${offlineAt - silentSince} ms (period ${heartbeatMs} ms)`);
      await waitFor('device b to pause itself', async () => devB.isPaused, 10_000, 20);
      const devA = (await listDevices(db.pool, { pool })).find((x) => x.id === a)!;
      assert.notEqual(devA.state, 'offline', 'the live device stays online');

      const run = await seedRun(db.pool, { file: onnx, pool, prefix, sessions: 3, config: { iterations: 3, warmup: 1 } });
      await seedWorkerCache(run.file);
      const q = sessionQueue(run.queueName, prefix);
      queues.push(q);
      for (const s of run.sessions) await enqueue(q, s);
      await waitFor('three sessions', async () => (await listSessionsForRun(db.pool, run.runId)).length === 3);
      const sessions = await listSessionsForRun(db.pool, run.runId);
      assert.deepEqual([...new Set(sessions.map((s) => s.deviceId))], [a], 'only the heart-beating device ran them');
      assert.ok(devB.isPaused, 'b is still paused');
    } finally {
      await db.pool.query(`DROP TRIGGER IF EXISTS ${fn} ON devices`);
      await db.pool.query(`DROP FUNCTION IF EXISTS ${fn}()`);
    }

    // Its consumer was paused, not closed: once heartbeats succeed it serves its own queue again.
    await waitFor('device b to resume', async () => !devB.isPaused, 10_000, 20);
    const pinned = await seedRun(db.pool, { file: onnx, pool, prefix, deviceId: b, config: { iterations: 3, warmup: 1 } });
    const qb = sessionQueue(pinned.queueName, prefix);
    queues.push(qb);
    await enqueue(qb, pinned.sessions[0]);
    const [s] = await waitFor('b runs its session', async () => {
      const rows = await listSessionsForRun(db.pool, pinned.runId);
      return rows.length ? rows : undefined;
    });
    assert.equal(s.deviceId, b);
  });

  it('a quarantined device gets no jobs until released', async () => {
    const prefix = testQueuePrefix();
    const pool = uniq('host-test');
    const heartbeatMs = 300;
    const [a, b] = [uniq('dev-a'), uniq('dev-b')];
    const host = await startHost(prefix, pool, [a, b], { heartbeatMs });
    for (let i = 0; i < 3; i++) await recordDeviceOutcome(db.pool, a, false, 3, 'session lost (test)');
    await waitFor('device a to pause', async () => host.devices.find((d) => d.id === a)!.isPaused, 5000, 20);
    const dev = (await listDevices(db.pool, { pool })).find((x) => x.id === a)!;
    assert.equal(dev.state, 'quarantined');
    assert.match(dev.stateReason ?? '', /3 consecutive failed sessions/);

    const run = await seedRun(db.pool, { file: onnx, pool, prefix, sessions: 3, config: { iterations: 3, warmup: 1 } });
    await seedWorkerCache(run.file);
    const q = sessionQueue(run.queueName, prefix);
    queues.push(q);
    for (const s of run.sessions) await enqueue(q, s);
    await waitFor('three sessions', async () => (await listSessionsForRun(db.pool, run.runId)).length === 3);
    assert.deepEqual([...new Set((await listSessionsForRun(db.pool, run.runId)).map((s) => s.deviceId))], [b]);

    // Released: a job pinned to it runs there.
    await releaseDevice(db.pool, a);
    await waitFor('device a to resume', async () => !host.devices.find((d) => d.id === a)!.isPaused, 5000, 20);
    const pinned = await seedRun(db.pool, { file: onnx, pool, prefix, deviceId: a, config: { iterations: 3, warmup: 1 } });
    const dq = sessionQueue(pinned.queueName, prefix);
    queues.push(dq);
    await enqueue(dq, pinned.sessions[0]);
    const [s] = await waitFor('the pinned session', async () => {
      const rows = await listSessionsForRun(db.pool, pinned.runId);
      return rows.length ? rows : undefined;
    });
    assert.equal(s.deviceId, a);
  });
});
