import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfrastructureError } from '../../../services/worker/src/errors.js';
import {
  DeviceUnavailableError,
  discoverLocalDevices,
  openDeviceSession,
  startAppiumServer,
  type AppiumServer,
  type DeviceConfig,
  type HarnessBundle,
  type WebDriverDeviceSession,
} from '../../../services/worker/src/devices/index.js';
import { DATA_DIR, ensureAppiumHome } from './support/appium-home.js';
import { testLogger } from './support/logger.js';
import { onnxFixture } from './support/onnx-fixture.js';
import { hostSpec } from './support/host-spec.js';

async function harnessBundle(): Promise<HarnessBundle> {
  const mod = '@pocketbench/harness/bundle';
  const { ensureHarnessBundle } = (await import(mod)) as { ensureHarnessBundle(o: { dataDir: string }): Promise<HarnessBundle> };
  return await ensureHarnessBundle({ dataDir: DATA_DIR });
}

/** Command lines of live processes that mention `needle`. */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(needle)) found.push(cmd.replace(/\0/g, ' '));
  }
  return found;
}

describe('Linux device sessions: real Appium 3, our driver, the real harness', function () {
  this.timeout(300_000);
  let appiumHome: string;
  let server: AppiumServer;
  let bundle: HarnessBundle;
  let devices: DeviceConfig[];
  let model: string;
  let modelSha: string;
  let input: { name: string; shape: number[]; dtype: string };
  let cacheDir: string;

  const spec = (extra: Record<string, unknown> = {}) => ({
    specVersion: 1,
    artifact: { format: 'onnx' },
    runtime: 'onnxruntime',
    backend: 'cpu',
    threads: 1,
    warmup: 2,
    iterations: 10,
    seed: 7,
    inputs: [input],
    output: { topK: 5, digest: true },
    timeBudgetSec: 240,
    labels: { test: 'linux-session' },
    ...extra,
  });

  before(async () => {
    appiumHome = ensureAppiumHome();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'pb-device-cache-'));
    [bundle, server, devices] = await Promise.all([
      harnessBundle(),
      startAppiumServer({ appiumHome, logger: testLogger }),
      discoverLocalDevices({ dataDir: DATA_DIR }),
    ]);
    const tiny = await onnxFixture('tiny_cnn');
    model = tiny.path;
    input = tiny.input;
    modelSha = createHash('sha256').update(readFileSync(model)).digest('hex');
  });
  after(async () => {
    await server?.stop();
    await rm(cacheDir, { recursive: true, force: true });
  });

  const device = (pool: string) => {
    const d = devices.find((x) => x.pool === pool);
    if (!d) throw new Error(`no ${pool} device discovered in ${DATA_DIR} (run scripts/setup.sh --for test)`);
    return d;
  };
  const open = (d: DeviceConfig, url = server.url): Promise<WebDriverDeviceSession> =>
    openDeviceSession(d, { appiumUrl: url, harnessBundle: bundle, cacheDir, logger: testLogger });

  let localTopK: number[] | undefined;

  it('benchmarks the tiny model on this machine, twice on one session, installing the harness once', async () => {
    const d = device(`host-${os.machine()}`);
    const session = await open(d);
    try {
      const report = (await session.runHarness(hostSpec(spec(), model, modelSha)))
      assert.equal(report.status, 'ok', JSON.stringify(report.error));
      assert.equal(report.host.arch, os.machine());
      assert.equal(report.backend.used, 'cpu');
      assert.equal(report.model?.sha256, modelSha);
      assert.ok((report.timing?.iterationsUs.length ?? 0) >= 10);
      assert.ok((report.memory?.peakRssBytes ?? 0) > 0);
      assert.equal(session.recentState(60_000)?.takenAt, report.device.after.takenAt, "the report's end state stands for the device's state now");
      assert.equal(session.recentState(-1), undefined, 'but only while recent');
      const kept = await readdir(path.join(cacheDir, 'reports', d.id));
      assert.equal(kept.length, 1, 'the pulled report is kept on the worker host');
      localTopK = report.output?.topK;

      const installed = path.join(String(d.capabilities['pocketbench:workDir']), 'harness', bundle.version, '.pocketbench-installed');
      const mark = await readFile(installed, 'utf8');
      const again = (await session.runHarness(hostSpec(spec(), model, modelSha)))
      assert.equal(again.status, 'ok');
      assert.equal(await readFile(installed, 'utf8'), mark, 'the harness was not copied again');
      const info = await session.info();
      assert.equal(info.arch, os.machine());
      assert.ok(info.backends.includes('cpu'), JSON.stringify(info.backends));
    } finally {
      await session.close();
    }
  });

  it('benchmarks it on the emulated arm64 device, whose report says aarch64', async () => {
    const d = device('qemu-arm64');
    assert.equal(d.poolLabel, 'qemu-arm64 (emulated)');
    const session = await open(d);
    try {
      // Facts first, as a worker registering the device does: the backends come from the harness's probe.
      const info = await session.info();
      assert.equal(info.arch, 'aarch64');
      assert.equal(info.emulated, true);
      assert.ok(info.backends.includes('cpu'), JSON.stringify(info.backends));
      const report = (await session.runHarness(hostSpec(spec({ iterations: 5 }), model, modelSha)))
      assert.equal(report.status, 'ok', JSON.stringify(report.error ?? report));
      assert.equal(report.host.arch, 'aarch64');
      assert.equal(report.host.emulated, true);
      assert.equal(report.backend.used, 'cpu');
      assert.ok((report.memory?.peakRssBytes ?? 0) > 20 * 1024 * 1024, 'the emulator process, host side');
      assert.equal(report.memory?.method, 'VmHWM-emulator-host');
      if (localTopK) assert.deepEqual(report.output?.topK, localTopK, 'same seeded input, same answer on both architectures');
    } finally {
      await session.close();
    }
  });

  it('surfaces a killed Appium server as a retryable fault, and works again after restart()', async () => {
    const own = await startAppiumServer({ appiumHome, logger: testLogger, autoRestart: false });
    const d = device(`host-${os.machine()}`);
    const session = await open(d, own.url);
    try {
      // Long enough to be killed in the middle: time the iterations for at least 20 s.
      const running = session.runHarness(hostSpec(spec({ iterations: 5, minDurationMs: 20_000, labels: { test: 'killed' } }), model, modelSha));
      const workDir = String(d.capabilities['pocketbench:workDir']);
      const deadline = Date.now() + 60_000;
      while ((await processesMentioning(`${workDir}/runs/`)).length === 0) {
        assert.ok(Date.now() < deadline, 'the harness never started');
        await new Promise((r) => setTimeout(r, 200));
      }
      process.kill(own.pid!, 'SIGKILL');
      await assert.rejects(running, (err: Error) => {
        assert.ok(err instanceof DeviceUnavailableError, `${err.name}: ${err.message}`);
        assert.ok(err instanceof InfrastructureError, 'the processor retries infrastructure faults');
        assert.equal((err as DeviceUnavailableError).errorClass, 'device_unavailable');
        return true;
      });

      await own.restart();
      const report = (await session.runHarness(hostSpec(spec({ iterations: 3 }), model, modelSha)))
      assert.equal(report.status, 'ok');
      assert.deepEqual(await processesMentioning(`${workDir}/runs/`), [], 'the orphaned harness of the killed run was reaped');
    } finally {
      await session.close();
      await own.stop();
    }
  });

  it('fails to open a session on a dead Appium with DeviceUnavailableError', async () => {
    const d = device(`host-${os.machine()}`);
    await assert.rejects(open(d, 'http://127.0.0.1:9/'), DeviceUnavailableError);
  });
});
