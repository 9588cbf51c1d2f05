import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { IosAdapter, openDeviceSession, TransferError, type DeviceConfig } from '../../../services/worker/src/devices/index.js';
import { FakeWebDriverServer, WebDriverCommandError, type RecordedCommand } from './support/fake-webdriver-server.js';
import { testLogger } from './support/logger.js';
import { sampleReport } from './support/sample-report.js';
import { hostSpec } from './support/host-spec.js';

const BUNDLE = 'dev.pocketbench.harness';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An iPhone as XCUITest's commands see it: an app container, launch arguments, battery and thermal state. */
class SimulatedIphone {
  container = new Map<string, Buffer>();
  installed: string[] = [];
  /** Pull attempts before the launched app "finishes" writing its report. */
  runPolls = 2;
  corruptNextPush = false;
  private pendingReport?: { path: string; body: Buffer; after: number };

  handle = (cmd: RecordedCommand): unknown => {
    const body = cmd.body as Record<string, any>;
    if (cmd.route === '/appium/device/install_app') {
      this.installed.push(body.appPath);
      return null;
    }
    if (cmd.route === '/appium/device/push_file') {
      let data = Buffer.from(body.data, 'base64');
      if (this.corruptNextPush) {
        data = data.subarray(1);
        this.corruptNextPush = false;
      }
      this.container.set(this.key(body.path), data);
      return null;
    }
    if (cmd.route === '/appium/device/pull_file') {
      const k = this.key(body.path);
      if (this.pendingReport?.path === k && --this.pendingReport.after <= 0) {
        this.container.set(k, this.pendingReport.body);
        this.pendingReport = undefined;
      }
      const f = this.container.get(k);
      if (!f) throw new WebDriverCommandError('unknown error', `The remote path '${body.path}' does not exist`);
      return f.toString('base64');
    }
    if (cmd.route === '/execute/sync') {
      const a = body.args[0] as Record<string, any>;
      switch (body.script) {
        case 'mobile: launchApp': {
          assert.equal(a.bundleId, BUNDLE);
          const [verb, , spec, , out] = a.arguments as string[];
          assert.equal(verb, 'run');
          const s = JSON.parse(this.container.get(spec)!.toString()) as Record<string, any>;
          assert.ok(this.container.has(s.artifact.path), 'model in the container where the spec says');
          this.pendingReport = { path: out, body: Buffer.from(JSON.stringify(sampleReport(s, { arch: 'arm64', os: 'iOS 17.5', method: 'phys_footprint' }))), after: this.runPolls };
          return null;
        }
        case 'mobile: terminateApp':
          return true;
        case 'mobile: batteryInfo':
          return { level: 0.76, state: 2 };
        case 'mobile: deviceInfo':
          return { model: 'iPhone15,2', name: 'Lab iPhone', thermalState: 1, isSimulator: false };
      }
    }
    throw new WebDriverCommandError('unknown command', `not simulated: ${cmd.method} ${cmd.route} ${body.script ?? ''}`, 404);
  };

  private key(p: string): string {
    const prefix = `@${BUNDLE}:documents/`;
    assert.ok(p.startsWith(prefix), `iOS paths address the app container: ${p}`);
    return p.slice(prefix.length);
  }
}

describe('iOS adapter (XCUITest command sequence against a simulated iPhone)', () => {
  let tmp: string;
  let phone: SimulatedIphone;
  let server: FakeWebDriverServer;
  let model: string;
  const device: DeviceConfig = { id: 'ios-00008110', name: 'Lab iPhone', platform: 'ios', pool: 'ios-iphone15-2', emulated: false, capabilities: { 'appium:udid': '00008110-000A' } };

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-ios-'));
    model = path.join(tmp, 'tiny.onnx');
    await writeFile(model, Buffer.from('model bytes'));
    phone = new SimulatedIphone();
    server = await new FakeWebDriverServer(phone.handle).start();
  });
  afterEach(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  async function open(killGraceSec?: number) {
    const s = await openDeviceSession(device, {
      killGraceSec,
      appiumUrl: server.url,
      harnessBundle: { dir: '/unused', version: 'l' },
      platformHarnesses: { ios: { appPath: '/builds/PocketbenchHarness.ipa', bundleId: BUNDLE, version: 'i1' } },
      cacheDir: tmp,
      logger: testLogger,
    });
    return s;
  }
  const spec = () => ({ specVersion: 1, artifact: { format: 'onnx' }, runtime: 'onnxruntime', backend: 'coreml', threads: 1, warmup: 2, iterations: 3, inputs: [], timeBudgetSec: 30 });

  it('installs the app, pushes the model into its container, launches it with arguments and pulls the report', async () => {
    const session = await open();
    ((session as unknown as { adapter: IosAdapter }).adapter).pollMs = 10;
    const digest = sha(await readFile(model));
    const report = (await session.runHarness(hostSpec(spec(), model, digest))) as Record<string, any>;
    const state = await session.state();
    await session.close();

    assert.equal(report.status, 'ok');
    assert.equal(report.memory.method, 'phys_footprint');
    assert.equal(report.spec.artifact.path, `models/${digest}.onnx`);
    assert.deepEqual(server.sessionCaps, { platformName: 'iOS', 'appium:automationName': 'XCUITest', 'appium:noReset': true, 'appium:newCommandTimeout': 3600, 'appium:udid': '00008110-000A' });
    assert.deepEqual(phone.installed, ['/builds/PocketbenchHarness.ipa']);
    assert.equal(state.batteryPct, 76);
    assert.equal(state.thermalState, 'fair');

    const t = server.trace();
    const runDir = /runs\/[^/]+/.exec(t.find((x) => x.includes('mobile: launchApp'))!)![0];
    const c = `@${BUNDLE}:documents`;
    const expected = [
      'new session',
      'install_app /builds/PocketbenchHarness.ipa',
      `pull_file ${c}/models/${digest}.onnx`,
      `push_file ${c}/models/${digest}.onnx`,
      `pull_file ${c}/models/${digest}.onnx`,
      // No state probe of the worker's own before the run: the harness records the state itself.
      `push_file ${c}/${runDir}/spec.json`,
      `pull_file ${c}/${runDir}/spec.json`,
      `mobile: launchApp {"bundleId":"${BUNDLE}","arguments":["run","--spec","${runDir}/spec.json","--out","${runDir}/report.json"]}`,
      `pull_file ${c}/${runDir}/report.json`,
      `pull_file ${c}/${runDir}/report.json`,
      `mobile: terminateApp {"bundleId":"${BUNDLE}"}`,
      'mobile: batteryInfo {}',
      'mobile: deviceInfo {}',
      'delete session',
    ];
    assert.deepEqual(t, expected);
  });

  it('does not reinstall or re-push on the next job of the session', async () => {
    const session = await open();
    ((session as unknown as { adapter: IosAdapter }).adapter).pollMs = 10;
    const digest = sha(await readFile(model));
    await session.runHarness(hostSpec(spec(), model, digest));
    const n = server.commands.length;
    await session.runHarness(hostSpec(spec(), model, digest));
    const second = server.trace().slice(n);
    await session.close();
    assert.equal(phone.installed.length, 1);
    assert.deepEqual(second.filter((x) => x.includes('/models/')), []);
  });

  it('rejects a model that reads back different with a TransferError', async () => {
    const session = await open();
    phone.corruptNextPush = true;
    await assert.rejects(session.runHarness(hostSpec(spec(), model, sha(await readFile(model)))), TransferError);
    await session.close();
  });

  it('gives up on a launched app that writes no report within the budget, and terminates it', async () => {
    const session = await open(0);
    ((session as unknown as { adapter: IosAdapter }).adapter).pollMs = 10;
    phone.runPolls = Number.POSITIVE_INFINITY;
    await assert.rejects(
      session.runHarness(hostSpec({ ...spec(), timeBudgetSec: 0 }, model, sha(await readFile(model)))),
      { name: 'HarnessTimeoutError' },
    );
    assert.ok(server.trace().some((x) => x.startsWith('mobile: terminateApp')));
    await session.close();
  });
});
