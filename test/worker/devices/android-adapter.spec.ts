import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ANDROID_ROOT,
  openDeviceSession,
  parseAndroidState,
  TransferError,
  type DeviceConfig,
} from '../../../services/worker/src/devices/index.js';
import { FakeWebDriverServer, WebDriverCommandError, type RecordedCommand } from './support/fake-webdriver-server.js';
import { testLogger } from './support/logger.js';
import { sampleReport } from './support/sample-report.js';
import { hostSpec } from './support/host-spec.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const unq = (s: string) => s.replace(/^'|'$/g, '');

const STATE_OUT = [
  'T cpu-0-0-usr 41200',
  'T battery 29000',
  'F 1804800',
  'F 2419200',
  'G schedutil',
  'L 1.25 0.90 0.70 2/1234 5678',
  'MemAvailable:    3145728 kB',
  '  level: 87',
  '  temperature: 301',
].join('\n');

/** An Android phone as far as UiAutomator2's commands can tell: files, and the shell lines the adapter sends. */
class SimulatedAndroidPhone {
  files = new Map<string, Buffer>();
  /** Corrupt the next push whose path contains this. */
  corrupt?: string;
  loseSessionOnce = false;

  handle = (cmd: RecordedCommand): unknown => {
    if (this.loseSessionOnce) {
      this.loseSessionOnce = false;
      throw new WebDriverCommandError('invalid session id', 'A session is either terminated or not started', 404);
    }
    if (cmd.route === '/appium/device/push_file') {
      const p = String(cmd.body.path);
      let data = Buffer.from(String(cmd.body.data), 'base64');
      if (this.corrupt && p.includes(this.corrupt)) {
        data = Buffer.concat([data, Buffer.from('x')]);
        this.corrupt = undefined;
      }
      this.files.set(p, data);
      return null;
    }
    if (cmd.route === '/appium/device/pull_file') {
      const f = this.files.get(String(cmd.body.path));
      if (!f) throw new WebDriverCommandError('unknown error', `Remote path '${cmd.body.path}' does not exist`);
      return f.toString('base64');
    }
    if (cmd.route === '/execute/sync' && cmd.body.script === 'mobile: shell') {
      const a = (cmd.body.args as Record<string, unknown>[])[0] as { command: string; args: string[] };
      assert.equal(a.command, 'sh');
      const script = a.args[1].replace(/; echo __rc=\$\?$/, '');
      const [out, rc] = this.shell(script);
      return `${out}__rc=${rc}\n`;
    }
    throw new WebDriverCommandError('unknown command', `not simulated: ${cmd.method} ${cmd.route}`, 404);
  };

  private shell(script: string): [string, number] {
    let m: RegExpExecArray | null;
    if ((m = /^sha256sum (\S+) 2>\/dev\/null$/.exec(script))) {
      const f = this.files.get(unq(m[1]));
      return f ? [`${sha(f)}  ${unq(m[1])}\n`, 0] : ['', 1];
    }
    if ((m = /^\[ -f (\S+)\/\.installed \]$/.exec(script))) return ['', this.files.has(`${unq(m[1])}/.installed`) ? 0 : 1];
    if ((m = /^chmod 755 (\S+(?: \S+)*) && echo ('[^']+'|\S+) > (\S+)\/\.installed$/.exec(script))) {
      this.files.set(`${unq(m[3])}/.installed`, Buffer.from(`${unq(m[2])}\n`));
      return ['', 0];
    }
    if ((m = /^cat (\S+)\/\.installed$/.exec(script))) {
      const f = this.files.get(`${unq(m[1])}/.installed`);
      return f ? [f.toString(), 0] : ['cat: no such file\n', 1];
    }
    if ((m = /^cd \S+ && (?:sh )?(\S+) run --spec (\S+) --out (\S+)$/.exec(script))) {
      const spec = JSON.parse(this.files.get(unq(m[2]))!.toString()) as Record<string, any>;
      assert.ok(this.files.has(spec.artifact.path), 'the model is on the phone where the spec says');
      this.files.set(unq(m[3]), Buffer.from(JSON.stringify(sampleReport(spec, { arch: 'aarch64', os: 'Android 14', method: 'PSS' }))));
      return ['', 0];
    }
    if (/ probe$/.test(script)) return ['{"backends":["cpu","nnapi"]}', 0];
    if (script.includes('thermal_zone')) return [`${STATE_OUT}\n`, 0];
    if (script.includes('getprop')) {
      return ['P ro.product.model=Pixel 7\nP ro.product.cpu.abi=arm64-v8a\nP ro.build.version.release=14\nP ro.soc.model=GS201\nP ro.board.platform=gs201\nP ro.product.manufacturer=Google\nN 8\nMemTotal: 7800000 kB\naarch64\n', 0];
    }
    if ((m = /^rm -rf (\S+)$/.exec(script))) {
      for (const k of [...this.files.keys()]) if (k.startsWith(unq(m[1]))) this.files.delete(k);
      return ['', 0];
    }
    return [`sh: not simulated: ${script}\n`, 127];
  }
}

describe('Android adapter (UiAutomator2 command sequence against a simulated phone)', () => {
  let tmp: string;
  let phone: SimulatedAndroidPhone;
  let server: FakeWebDriverServer;
  let harnessDir: string;
  let model: string;
  const device: DeviceConfig = {
    id: 'android-abc123',
    name: 'Pixel 7 (abc123)',
    platform: 'android',
    pool: 'android-pixel_7',
    emulated: false,
    capabilities: { 'appium:udid': 'abc123' },
  };

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-android-'));
    harnessDir = path.join(tmp, 'android-harness');
    await mkdir(path.join(harnessDir, 'lib'), { recursive: true });
    await writeFile(path.join(harnessDir, 'pocketbench-harness'), Buffer.from('\x7fELF fake arm64 binary'));
    await writeFile(path.join(harnessDir, 'lib', 'libonnxruntime.so'), Buffer.from('fake library'));
    await writeFile(path.join(harnessDir, 'manifest.json'), JSON.stringify({ version: 'a1', entry: 'pocketbench-harness', files: ['pocketbench-harness', 'lib/libonnxruntime.so'] }));
    model = path.join(tmp, 'tiny.onnx');
    await writeFile(model, Buffer.from('not really onnx, the phone does not parse it'));
    phone = new SimulatedAndroidPhone();
    server = await new FakeWebDriverServer(phone.handle).start();
  });
  afterEach(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  async function open() {
    return await openDeviceSession(device, {
      appiumUrl: server.url,
      harnessBundle: { dir: '/unused/linux-bundle', version: 'linux-1' },
      platformHarnesses: { android: { dir: harnessDir, version: 'a1' } },
      cacheDir: tmp,
      logger: testLogger,
    });
  }

  const spec = () => ({ specVersion: 1, artifact: { format: 'onnx' }, runtime: 'onnxruntime', backend: 'cpu', threads: 1, warmup: 2, iterations: 3, inputs: [], timeBudgetSec: 60 });

  it('installs the harness, pushes and hash-checks the model, records state, runs, pulls and validates the report', async () => {
    const session = await open();
    const modelSha = sha(await import('node:fs').then((f) => f.readFileSync(model)));
    const report = (await session.runHarness(hostSpec(spec(), model, modelSha))) as Record<string, any>;
    await session.close();

    assert.equal(report.status, 'ok');
    assert.equal(report.host.arch, 'aarch64');
    assert.equal(report.spec.artifact.path, `${ANDROID_ROOT}/models/${modelSha}.onnx`);
    assert.deepEqual(server.sessionCaps, { platformName: 'Android', 'appium:automationName': 'UiAutomator2', 'appium:noReset': true, 'appium:newCommandTimeout': 3600, 'appium:udid': 'abc123' });

    const h = `${ANDROID_ROOT}/harness/a1`;
    const runs = server.trace().find((t) => t.includes(' run --spec '))!;
    const runDir = /--spec '([^']+)\/spec\.json'/.exec(runs)![1];
    const t = server.trace();
    const idx = (s: string) => {
      const i = t.findIndex((x) => x === s || x.startsWith(s));
      assert.ok(i >= 0, `missing step: ${s}\n${t.join('\n')}`);
      return i;
    };
    const order = [
      idx('new session'),
      idx(`mobile: shell [ -f '${h}'/.installed ]`),
      idx(`push_file ${h}/pocketbench-harness`),
      idx(`mobile: shell sha256sum '${h}/pocketbench-harness'`),
      idx(`push_file ${h}/lib/libonnxruntime.so`),
      idx(`mobile: shell chmod 755 '${h}/pocketbench-harness'`),
      idx(`mobile: shell sha256sum '${ANDROID_ROOT}/models/${modelSha}.onnx'`),
      idx(`push_file ${ANDROID_ROOT}/models/${modelSha}.onnx`),
      idx(`push_file ${runDir}/spec.json`),
      idx(`mobile: shell cd '${h}' && '${h}/pocketbench-harness' run --spec '${runDir}/spec.json' --out '${runDir}/report.json'`),
      idx(`pull_file ${runDir}/report.json`),
      idx(`mobile: shell rm -rf '${runDir}'`),
      idx('delete session'),
    ];
    assert.deepEqual([...order].sort((a, b) => a - b), order, `steps out of order:\n${t.join('\n')}`);
    // The harness records the device state before and after; the worker starts no probe of its own.
    assert.ok(!t.some((x) => x.includes('thermal_zone')), `no state probe of the worker's own:\n${t.join('\n')}`);
    assert.ok(!phone.files.has(`${runDir}/report.json`), 'run files removed from the phone');
    assert.equal(t.at(-1), 'delete session', 'session closed');
  });

  it('installs the native bundle (manifest interpreter sh): every executable made executable, started as `sh <entry>`', async () => {
    await writeFile(path.join(harnessDir, 'manifest.json'), JSON.stringify({
      version: 'a1', entry: 'pocketbench-harness', interpreter: 'sh', files: ['pocketbench-harness', 'lib/libonnxruntime.so'],
      executables: ['pocketbench-harness', 'lib/libonnxruntime.so'],
    }));
    const session = await open();
    const data = await import('node:fs').then((f) => f.readFileSync(model));
    const report = (await session.runHarness(hostSpec(spec(), model, sha(data)))) as Record<string, any>;
    await session.close();
    assert.equal(report.status, 'ok');
    const h = `${ANDROID_ROOT}/harness/a1`;
    const t = server.trace();
    assert.ok(t.some((x) => x.startsWith(`mobile: shell chmod 755 '${h}/pocketbench-harness' '${h}/lib/libonnxruntime.so' && echo 'sh pocketbench-harness' > '${h}'/.installed`)), t.join('\n'));
    assert.ok(t.some((x) => x.startsWith(`mobile: shell cd '${h}' && sh '${h}/pocketbench-harness' run --spec `)), t.join('\n'));
  });

  it('reuses the session, the installed harness and the pushed model on the next job', async () => {
    const session = await open();
    const data = await import('node:fs').then((f) => f.readFileSync(model));
    await session.runHarness(hostSpec(spec(), model, sha(data)));
    const before = server.commands.length;
    await session.runHarness(hostSpec(spec(), model, sha(data)));
    const second = server.trace().slice(before);
    await session.close();
    assert.equal(second.filter((x) => x.startsWith('new session')).length, 0);
    assert.equal(second.filter((x) => x.startsWith('push_file') && !x.endsWith('spec.json')).length, 0, second.join('\n'));
  });

  it('re-creates a lost session', async () => {
    const session = await open();
    const data = await import('node:fs').then((f) => f.readFileSync(model));
    phone.loseSessionOnce = true;
    const report = await session.runHarness(hostSpec(spec(), model, sha(data)));
    await session.close();
    assert.equal(report.status, 'ok');
    assert.equal(server.trace().filter((x) => x.startsWith('new session')).length, 2);
  });

  it('rejects a model that arrives corrupted with a TransferError', async () => {
    const session = await open();
    const data = await import('node:fs').then((f) => f.readFileSync(model));
    phone.corrupt = '/models/';
    await assert.rejects(session.runHarness(hostSpec(spec(), model, sha(data))), (err: Error) => {
      assert.ok(err instanceof TransferError, String(err));
      assert.match(err.message, /pushed sha256 [0-9a-f]{64}, device has [0-9a-f]{64}/);
      return true;
    });
    await session.close();
  });

  it('reads facts with getprop and backends from the harness probe', async () => {
    const session = await open();
    const data = await import('node:fs').then((f) => f.readFileSync(model));
    await session.runHarness(hostSpec(spec(), model, sha(data)));
    const info = await session.info();
    await session.close();
    assert.equal(info.deviceModel, 'Google Pixel 7');
    assert.equal(info.abi, 'arm64-v8a');
    assert.equal(info.cores, 8);
    assert.equal(info.osVersion, '14');
    assert.deepEqual(info.backends, ['cpu', 'nnapi']);
  });

  it('parses temperatures, frequencies, governor, load, memory and battery from sysfs and dumpsys', () => {
    const s = parseAndroidState(STATE_OUT, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(s, {
      takenAt: '2026-01-01T00:00:00.000Z',
      thermalZones: { 'cpu-0-0-usr': 41.2, battery: 29 },
      cpuFreqKhz: [1804800, 2419200],
      governor: 'schedutil',
      loadAvg: [1.25, 0.9, 0.7],
      memAvailableBytes: 3145728 * 1024,
      batteryPct: 87,
      batteryTempC: 30.1,
    });
  });

  it('fails clearly when no Android harness is configured', async () => {
    const session = await openDeviceSession(device, { appiumUrl: server.url, harnessBundle: { dir: '/x', version: 'l' }, cacheDir: tmp, logger: testLogger });
    await assert.rejects(session.runHarness(hostSpec(spec(), model, 'a'.repeat(64))), /no Android harness is configured/);
    await session.close();
  });
});
