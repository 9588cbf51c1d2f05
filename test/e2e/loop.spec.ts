import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listSessionsForRun, recordDeviceOutcome } from '@pocketbench/db';
import type { WebServer } from '../../services/api/src/index.js';
import { WorkerHost } from '../../services/worker/src/worker-host.js';
import type { TestDatabase } from '../support/db.js';
import { cloneDevice, fixturePaths, SHARED_DATA_DIR, waitFor } from '../worker/support.js';
import { cli as runCli, startE2eStack, type E2eStack } from '../support/e2e.js';

/** The CLI as a user runs it, against this test's api. */
const cli = (args: string[], url: string) => runCli(args, url, { timeoutMs: 120_000 });

/**
 * The loop end to end: api (HTTP, port 0) + worker in-process on this machine through a real
 * Appium server and the reference harness; real Postgres and Redis; the CLI as a child process.
 */
describe('e2e: upload → submit → worker runs it on this machine → stored → pocketbench results', function () {
  this.timeout(300_000);
  let stack: E2eStack;
  let db: TestDatabase;
  let api: WebServer;
  let host: WorkerHost;
  let tmp: string;
  let onnx: string;
  let ptl: string;
  let ptlInt8: string;
  const arch = process.arch === 'x64' ? 'x86_64' : 'aarch64';

  before(async function () {
    this.timeout(900_000);
    ({ onnx, ptl, ptlInt8 } = await fixturePaths());
    // This machine and the emulated arm64 device under test-owned ids and work directories, in
    // their real pools (the queue prefix is this test's own).
    stack = await startE2eStack({
      name: 'e2e',
      devices: async (layer, { prefix, tmp }) => (await layer.discoverLocalDevices({ dataDir: SHARED_DATA_DIR })).map((d) =>
        cloneDevice(d, `${d.id}-e2e-${prefix.slice(-6)}`, d.pool, path.join(tmp, 'devices'))),
    });
    ({ db, api, host, tmp } = stack);
  });

  after(async () => stack?.close());

  it('stores every iteration in Postgres and the CLI shows the cell', async () => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(await readFile(onnx))]), 'tiny_cnn-fp32.onnx');
    form.set('model', 'tiny_cnn');
    const up = await fetch(`${api.url}/api/v1/artifacts`, { method: 'POST', body: form });
    assert.equal(up.status, 201, await up.clone().text());
    const artifact = (await up.json()) as { id: string; sha256: string; format: string };
    assert.equal(artifact.format, 'onnx');

    const created = await fetch(`${api.url}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ matrix: { artifacts: [artifact.id], backends: ['cpu'], devices: [`host-${arch}`] }, config: { iterations: 15, warmup: 2, minDurationMs: 0 } }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const run = (await created.json()) as { id: string };

    await waitFor('the run to finish', async () => {
      const r = (await (await fetch(`${api.url}/api/v1/runs/${run.id}`)).json()) as { status: string };
      return ['done', 'failed'].includes(r.status) && r;
    }, 120_000, 200);

    const sessions = await listSessionsForRun(db.pool, run.id);
    assert.equal(sessions.length, 1);
    const [s] = sessions;
    assert.equal(s.status, 'ok', s.errorMessage ?? '');
    // minDurationMs 0 (the default is 1 s of timing): exactly the iterations asked for.
    assert.equal(s.iterationsUs.length, 15, 'every timed iteration stored');
    assert.equal(s.deviceArch, arch);

    const status = await cli(['status', run.id], api.url);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`run ${run.id}: done\\ncells: 1/1 finished; sessions: 1/1\\n  cell 0: cpu on host-${arch}: done \\(1/1\\)`));

    const text = await cli(['results', run.id], api.url);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`run ${run.id}: done`));
    assert.match(text.stdout, /p50 ms\s+p90 ms\s+p99 ms/);
    assert.match(text.stdout, new RegExp(`tiny_cnn fp32\\s+cpu\\s+host-${arch}\\s+done`));

    const json = await cli(['results', run.id, '--json'], api.url);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.runId, run.id);
    const [cell] = doc.cells;
    assert.equal(cell.status, 'done');
    assert.equal(cell.iterations, s.iterationsUs.length);
    // One session: the cell's pooled p50 is that session's p50.
    assert.ok(s.p50Us! > 0);
    assert.ok(Math.abs(cell.p50Ms - s.p50Us! / 1000) < 1e-6, `cell p50 ${cell.p50Ms} ms = session p50 ${s.p50Us! / 1000} ms`);
    assert.equal(cell.backendUsed, 'cpu');
    assert.equal(cell.deviceArch, arch);
    assert.ok(cell.peakRssMb > 1 && cell.sizeMb > 0 && cell.loadMs > 0);
  });

  it('`pocketbench submit --input` runs a `.ptl` model with its own input shape (not the 224×224 default)', async () => {
    const bad = await cli(['submit', ptl, '--input', 'image:1x3x0x64:float32'], api.url);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--input image: shape "1x3x0x64" must be positive integers joined by x/);
    const r = await cli(['submit', ptl, '--devices', 'host', '--iterations', '3', '--warmup', '1', '--input', 'image:1x3x64x64:float32', '--wait', '--json'], api.url);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.cells[0].status, 'done');
    const { rows } = await db.pool.query<{ report: { spec: { inputs: unknown } } }>('SELECT report FROM sessions WHERE run_id = $1', [doc.runId]);
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].report.spec.inputs, [{ name: 'image', shape: [1, 3, 64, 64], dtype: 'float32' }]);
  });

  it('`pocketbench submit --wait --json` uploads, follows the run and prints the figures', async () => {
    // --min-duration 0: exactly the 8 iterations asked for (the default times at least 1 s).
    const r = await cli(['submit', onnx, '--devices', 'host', '--backends', 'cpu', '--iterations', '8', '--warmup', '1', '--min-duration', '0', '--wait', '--json'], api.url);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, 'done');
    assert.equal(doc.cells.length, 1);
    assert.equal(doc.cells[0].status, 'done');
    assert.ok(doc.cells[0].p90Ms > 0);
    assert.equal(doc.cells[0].iterations, 8);
  });

  it('the same loop on the emulated arm64 device: its report says aarch64 and the pool is labelled emulated', async function () {
    if (!host.devices.some((d) => d.id.startsWith('qemu-arm64'))) {
      assert.fail('the qemu-arm64 device was not discovered: build its root filesystem (scripts/setup.d/40-qemu.sh)');
    }
    const r = await cli(['submit', onnx, '--model', 'tiny_cnn', '--devices', 'qemu-arm64', '--iterations', '5', '--warmup', '1', '--wait', '--json'], api.url);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const [cell] = doc.cells;
    assert.equal(cell.status, 'done', cell.reason ?? '');
    assert.equal(cell.deviceArch, 'aarch64');
    assert.equal(cell.target, 'qemu-arm64 (emulated)');
    const text = await cli(['results', doc.runId], api.url);
    assert.match(text.stdout, /qemu-arm64 \(emulated\)/);
  });

  it('an int8-static .ptl on the emulated arm64 device: the native aarch64 harness runs it (no node, qnnpack or oneDNN named)', async function () {
    if (!host.devices.some((d) => d.id.startsWith('qemu-arm64'))) assert.fail('the qemu-arm64 device was not discovered: build its root filesystem (scripts/setup.d/40-qemu.sh)');
    const r = await cli(['submit', ptlInt8, '--model', 'tiny_cnn', '--devices', 'qemu-arm64', '--iterations', '3', '--warmup', '1', '--input', 'image:1x3x32x32:float32', '--wait', '--json'], api.url);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const [cell] = doc.cells;
    assert.equal(cell.status, 'done', cell.reason ?? '');
    assert.equal(cell.deviceArch, 'aarch64');
    assert.equal(cell.backendUsed, 'cpu');
    const { rows } = await db.pool.query<{ report: { harness: { name: string }; host: { arch: string; emulated?: boolean }; runtime: { name: string; detail: { runner: string; qengine: string; supportedQEngines: string[]; xnnpackAvailable: boolean; quantizedOps: string[] } }; memory: { method: string } } }>(
      'SELECT report FROM sessions WHERE run_id = $1', [doc.runId]);
    assert.ok(rows.length >= 1);
    const report = rows[0].report;
    assert.equal(report.harness.name, 'pocketbench-native-harness');
    assert.equal(report.host.arch, 'aarch64');
    assert.equal(report.host.emulated, true);
    assert.equal(report.memory.method, 'VmHWM-emulator-host');
    assert.equal(report.runtime.name, 'pytorch-lite');
    assert.match(report.runtime.detail.runner, /ptl-runner \(aarch64\)/);
    assert.ok(report.runtime.detail.quantizedOps.length > 0, 'the int8-static model ran quantized ops');
    // The engine that ran, as this libtorch has it: qnnpack where built in, else oneDNN (Debian's arm64 build).
    const { qengine, supportedQEngines, xnnpackAvailable } = report.runtime.detail;
    assert.equal(qengine, supportedQEngines.includes('QNNPACK') ? 'qnnpack' : 'onednn', JSON.stringify(report.runtime.detail));
    assert.equal(typeof xnnpackAvailable, 'boolean');
  });

  it('a model fault fails the cell at once with the harness\'s message kept, no retries', async () => {
    // A well-formed ONNX file (the api accepts it) whose graph no longer connects: a node's input name is broken.
    const bytes = Buffer.from(await readFile(onnx));
    const at = bytes.indexOf('Conv');
    assert.ok(at > 0);
    bytes.write('Cxnv', at);
    const bad = path.join(tmp, 'broken-op.onnx');
    await writeFile(bad, bytes);
    const r = await cli(['submit', bad, '--model', 'broken', '--devices', 'host', '--iterations', '3', '--wait', '--json'], api.url);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    const [cell] = doc.cells;
    assert.equal(cell.status, 'failed');
    const sessions = await listSessionsForRun(db.pool, doc.runId);
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0].status, 'error');
    assert.match(sessions[0].errorMessage ?? '', /Invalid model|Load model/);
    assert.ok(String(cell.reason).includes(sessions[0].errorMessage!), `the harness's own message is kept on the cell: ${cell.reason}`);
    assert.equal(sessions[0].attempt, 1, 'failed at once, not retried');
    assert.match(sessions[0].errorClass ?? '', /model_load|inference/);
  });

  it('`pocketbench devices` shows state, heartbeat and current job; --release lifts a quarantine', async () => {
    const dev = host.devices.find((d) => !d.id.startsWith('qemu'))!;
    for (let i = 0; i < 3; i++) await recordDeviceOutcome(db.pool, dev.id, false, 3, 'appium session lost (test)');
    const listed = await cli(['devices'], api.url);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${dev.id}\\s+host-${arch}\\s+${arch}\\s+quarantined: quarantined after 3 consecutive failed sessions`));
    assert.match(listed.stdout, /last heartbeat/);
    const released = await cli(['devices', '--release', dev.id], api.url);
    assert.equal(released.code, 0, released.stderr);
    assert.equal(released.stdout.trim(), `device ${dev.id} released: online`);
    await waitFor('the device to take jobs again', async () => !dev.isPaused, 15_000, 50);
    const unknown = await cli(['devices', '--release', 'no-such-device'], api.url);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no-such-device/);
  });

  // Last: once a token exists the api leaves open local mode.
  it('`pocketbench token create` issues a project token shown once; admin tokens need the configured admin token', async () => {
    const created = await cli(['token', 'create', '--project', 'e2e', '--name', 'e2e'], api.url);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^\S{20,}$/);
    assert.match(created.stderr, /shown only once/);
    // Open local mode mints no admin credentials for an anonymous caller.
    const admin = await cli(['token', 'create', '--admin'], api.url);
    assert.equal(admin.code, 2);
    assert.match(admin.stderr, /POCKETBENCH_TOKEN/);
    const withToken = (t: string) => runCli(['devices'], api.url, { token: t });
    const refused = await withToken('pbt_not-a-token-at-all');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /token/i);
    const ok = await withToken(token);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, new RegExp(`host-${arch}`));
    assert.match(ok.stdout, /qemu-arm64 \(emulated\)/);
  });
});
