import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open as openFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';
import { startAppiumServer, LinuxAdapter, type AppiumServer } from '../../services/worker/src/devices/index.js';
import { classifyDeviceError, DeviceUnavailableError, HarnessTimeoutError, TransferError } from '../../services/worker/src/devices/errors.js';
import { DATA_DIR, ensureAppiumHome, QEMU_ROOTFS } from '../worker/devices/support/appium-home.js';
import { testLogger } from '../worker/devices/support/logger.js';

type Browser = Awaited<ReturnType<typeof remote>>;

/** A stand-in harness that exercises the driver's install/run/kill mechanics (the real one is tested in test/worker/devices). */
const TINY_HARNESS = `
const fs = require('fs'), os = require('os');
const [cmd, , spec, , out] = process.argv.slice(2);
if (cmd === 'probe') { console.log(JSON.stringify({ backends: ['cpu'] })); process.exit(0); }
const s = JSON.parse(fs.readFileSync(spec, 'utf8'));
if (s.crash) { console.error('tiny harness: asked to crash'); process.exit(70); }
setTimeout(() => {
  fs.writeFileSync(out, JSON.stringify({ arch: os.machine(), echo: s, memory: { peakRssBytes: 1, method: 'VmHWM' }, host: { arch: os.machine() } }));
}, (s.sleepSec || 0) * 1000);
`;

async function makeBundle(root: string, version: string): Promise<string> {
  const dir = path.join(root, `bundle-${version}`);
  await mkdir(path.join(dir, 'dist'), { recursive: true });
  await writeFile(path.join(dir, 'dist', 'cli.cjs'), TINY_HARNESS);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ name: 'tiny', version, entry: 'dist/cli.cjs' }));
  return dir;
}

describe('appium-linux-driver (real Appium 3 server)', function () {
  this.timeout(120_000);
  let server: AppiumServer;
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-driver-'));
    server = await startAppiumServer({ appiumHome: ensureAppiumHome(), logger: testLogger, deviceRoots: [tmp, DATA_DIR] });
  });
  after(async () => {
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  async function open(caps: Record<string, unknown>): Promise<Browser> {
    return await remote({
      hostname: '127.0.0.1',
      port: server.port,
      path: '/',
      logLevel: 'silent',
      connectionRetryCount: 0,
      capabilities: { platformName: 'Linux', 'appium:automationName': 'PocketbenchLinux', ...caps } as WebdriverIO.Capabilities,
    });
  }

  describe('local target', () => {
    let b: Browser;
    let workDir: string;
    before(async () => {
      workDir = path.join(tmp, 'local');
      b = await open({ 'pocketbench:target': 'local', 'pocketbench:workDir': workDir });
    });
    after(async () => b?.deleteSession().catch(() => undefined));

    it('reports this machine in mobile: deviceInfo and its live state in mobile: deviceState', async () => {
      const info = (await b.execute('mobile: deviceInfo', {})) as Record<string, unknown>;
      assert.equal(info.arch, os.machine());
      assert.equal(info.cores, os.cpus().length);
      assert.equal(info.memoryBytes, os.totalmem());
      assert.equal(info.emulated, false);
      assert.deepEqual(info.backends, []);
      const state = (await b.execute('mobile: deviceState', {})) as Record<string, unknown>;
      assert.equal((state.loadAvg as number[]).length, 3);
      assert.ok(Number(state.memAvailableBytes) > 0);
      assert.ok(!Number.isNaN(Date.parse(String(state.takenAt))));
    });

    it('pushes and pulls binary files intact, hashing them on the target', async () => {
      const data = randomBytes(300_000);
      await b.pushFile('files/blob.bin', data.toString('base64'));
      assert.deepEqual(await readFile(path.join(workDir, 'files/blob.bin')), data);
      assert.deepEqual(Buffer.from(await b.pullFile('files/blob.bin'), 'base64'), data);
      const h = (await b.execute('mobile: fileHash', { path: 'files/blob.bin' })) as { sha256: string };
      assert.equal(h.sha256, createHash('sha256').update(data).digest('hex'));
      assert.deepEqual(await b.execute('mobile: fileHash', { path: 'files/absent' }), { path: path.join(workDir, 'files/absent'), sha256: null });
    });

    it('hashes a file again once it changed in place, same size or not', async () => {
      const file = path.join(workDir, 'files/changing.bin');
      const first = randomBytes(4096);
      await b.pushFile('files/changing.bin', first.toString('base64'));
      const hash = async () => ((await b.execute('mobile: fileHash', { path: 'files/changing.bin' })) as { sha256: string }).sha256;
      assert.equal(await hash(), createHash('sha256').update(first).digest('hex'));
      const second = randomBytes(4096);
      const fd = await openFile(file, 'r+');
      await fd.write(second, 0, second.length, 0);
      await fd.close();
      assert.equal(await hash(), createHash('sha256').update(second).digest('hex'), 'not the remembered hash of the old content');
      await rm(file);
      assert.equal(await hash(), null);
    });

    it('keeps no push whose sha256 does not match, and answers with what it received and what landed (null)', async () => {
      const r = await b.execute('mobile: pushFile', { path: 'files/bad.bin', data: Buffer.from('abc').toString('base64'), sha256: '0'.repeat(64) });
      assert.deepEqual(r, { path: path.join(workDir, 'files/bad.bin'), sha256: null, receivedSha256: createHash('sha256').update('abc').digest('hex'), sizeBytes: 3 });
      assert.equal(existsSync(path.join(workDir, 'files/bad.bin')), false);
    });

    it('rejects paths that leave the work directory, naming the argument', async () => {
      await assert.rejects(b.pullFile('../../etc/passwd'), /'path' escapes the work directory/);
    });

    it('runs no program of the client\'s choosing and touches no file outside its work directory', async () => {
      await assert.rejects(b.execute('mobile: shell', { command: 'id' }), /Unsupported execute method 'mobile: shell'/i);
      await assert.rejects(b.pullFile('/etc/passwd'), /'path' escapes the work directory/);
      await assert.rejects(b.execute('mobile: fileHash', { path: '/etc/passwd' }), /'path' escapes the work directory/);
      // The driver's own areas: installed harnesses (what runHarness executes) and its records.
      await assert.rejects(b.pushFile('harness/v1/dist/cli.cjs', Buffer.from('x').toString('base64')), /'path' is in the driver's own area/);
      await assert.rejects(b.execute('mobile: pushFile', { path: '.running/1', data: 'eA==' }), /'path' is in the driver's own area/);
      await assert.rejects(b.execute('mobile: removeFile', { path: 'harness' }), /'path' is in the driver's own area/);
      await b.execute('mobile: pushFile', { path: 'runs/r1/spec.json', data: 'e30=' });
      assert.deepEqual(await b.execute('mobile: removeFile', { path: 'runs/r1' }), { path: path.join(workDir, 'runs/r1'), removed: true });
      assert.equal(existsSync(path.join(workDir, 'runs/r1')), false);
      // A bundle from a work directory would run what a client pushed.
      await b.execute('mobile: pushFile', { path: 'evil/manifest.json', data: Buffer.from(JSON.stringify({ name: 'x', version: 'e1', entry: 'x.js' })).toString('base64') });
      await assert.rejects(b.installApp(path.join(workDir, 'evil')), /inside a device work directory/);
      await assert.rejects(b.execute('mobile: runHarness', { version: '../evil', specPath: 'runs/a/spec.json', reportPath: 'runs/a/r.json' }), /'version' must be a harness version/);
    });

    it('installs a harness bundle once per version and runs it', async () => {
      const bundle = await makeBundle(tmp, 'v1');
      await b.installApp(bundle);
      const marker = path.join(workDir, 'harness', 'v1', '.pocketbench-installed');
      const first = await readFile(marker, 'utf8');
      await b.installApp(bundle);
      assert.equal(await readFile(marker, 'utf8'), first, 'second install of the same version copies nothing');
      assert.equal(await b.isAppInstalled('v1'), true);
      assert.equal(await b.isAppInstalled('v2'), false);

      await b.pushFile('runs/a/spec.json', Buffer.from(JSON.stringify({ hello: 1 })).toString('base64'));
      const r = (await b.execute('mobile: runHarness', { version: 'v1', specPath: 'runs/a/spec.json', reportPath: 'runs/a/report.json', timeoutSec: 30 })) as Record<string, unknown>;
      assert.equal(r.reportWritten, true);
      assert.equal(r.exitCode, 0);
      const report = JSON.parse(Buffer.from(await b.pullFile('runs/a/report.json'), 'base64').toString()) as Record<string, unknown>;
      assert.deepEqual(report.echo, { hello: 1 });

      const info = (await b.execute('mobile: deviceInfo', { harnessVersion: 'v1' })) as Record<string, unknown>;
      assert.deepEqual(info.backends, ['cpu']);
    });

    it('says when the harness wrote no report, with its stderr', async () => {
      await b.pushFile('runs/c/spec.json', Buffer.from(JSON.stringify({ crash: true })).toString('base64'));
      const r = (await b.execute('mobile: runHarness', { version: 'v1', specPath: 'runs/c/spec.json', reportPath: 'runs/c/report.json' })) as Record<string, unknown>;
      assert.equal(r.reportWritten, false);
      assert.equal(r.exitCode, 70);
      assert.match(String(r.stderrTail), /asked to crash/);
    });

    it('kills a harness that overruns its budget', async () => {
      await b.pushFile('runs/t/spec.json', Buffer.from(JSON.stringify({ sleepSec: 60 })).toString('base64'));
      const t0 = Date.now();
      await assert.rejects(
        b.execute('mobile: runHarness', { version: 'v1', specPath: 'runs/t/spec.json', reportPath: 'runs/t/report.json', timeoutSec: 1 }),
        // The W3C error code is what a client reads; the message is for people.
        (e: Error) => e.name === 'timeout' && /exceeded its 1 s budget/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 10_000);
    });

    it('reaches the worker as its error classes through data and the W3C code, never the message text', async () => {
      const adapter = new LinuxAdapter({
        device: { id: 'local-t', name: 'local-t', platform: 'linux', pool: 'p', emulated: false, capabilities: {} },
        harness: { dir: await makeBundle(tmp, 'v1'), version: 'v1' }, platformHarnesses: {}, log: testLogger,
      });
      const model = path.join(tmp, 'model.onnx');
      await writeFile(model, 'model bytes');
      const claimed = createHash('sha256').update('other bytes').digest('hex');
      await assert.rejects(adapter.ensureModel(b, model, claimed, 'onnx'), (e: Error) => e instanceof TransferError && e.errorClass === 'transfer' && /holds nothing/.test(e.message));
      await assert.rejects(
        adapter.runHarness(b, JSON.stringify({ sleepSec: 60 }), 'adapter-t', 1),
        (e: Error) => e instanceof HarnessTimeoutError && e.errorClass === 'harness_timeout',
      );
      const unknown = await b.execute('mobile: runHarness', { version: 'v9', specPath: 'runs/a/spec.json', reportPath: 'runs/a/r.json' }).catch((e: Error) => e);
      const classed = classifyDeviceError(unknown, 'running');
      assert.ok(classed instanceof DeviceUnavailableError && classed.errorClass === 'device_unavailable', String(classed));
    });

    it("leaves a live session's harness running when another session opens on the same work directory", async () => {
      await b.pushFile('runs/shared/spec.json', Buffer.from(JSON.stringify({ sleepSec: 2 })).toString('base64'));
      const run = b.execute('mobile: runHarness', { version: 'v1', specPath: 'runs/shared/spec.json', reportPath: 'runs/shared/report.json', timeoutSec: 30 });
      const deadline = Date.now() + 10_000;
      const recorded = async () => (await readdir(path.join(workDir, '.running')).catch(() => [])).some((n) => /^\d+$/.test(n));
      while (!(await recorded())) {
        assert.ok(Date.now() < deadline, 'the harness run was never recorded');
        await new Promise((r) => setTimeout(r, 50));
      }
      // A second session (a second worker, or `npm start` beside the tests) reaps orphans as it opens.
      const other = await open({ 'pocketbench:target': 'local', 'pocketbench:workDir': workDir });
      await other.deleteSession();
      const r = (await run) as Record<string, unknown>;
      assert.equal(r.signal, null);
      assert.equal(r.reportWritten, true, String(r.stderrTail));
    });

    it('refuses to run a version that was never installed', async () => {
      await assert.rejects(
        b.execute('mobile: runHarness', { version: 'v9', specPath: 'runs/a/spec.json', reportPath: 'runs/a/r.json' }),
        (e: Error) => e.name === 'invalid argument' && /harness version v9 is not installed/.test(e.message),
      );
    });

    it('refuses an installApp path that is not a harness bundle', async () => {
      await assert.rejects(b.installApp(tmp), /not a harness bundle: no manifest.json/);
    });
  });

  it('refuses a session with an unknown target, naming the capability', async () => {
    await assert.rejects(open({ 'pocketbench:target': 'mars' }), /pocketbench:target' must be one of local, qemu-arm64, ssh/);
  });

  it('refuses an ssh target without its host', async () => {
    await assert.rejects(open({ 'pocketbench:target': 'ssh', 'pocketbench:user': 'pi', 'pocketbench:keyPath': '/k' }), /pocketbench:host' is required/);
  });

  describe('qemu-arm64 target', () => {
    let b: Browser;
    let workDir: string;
    before(async function () {
      if (!existsSync(path.join(QEMU_ROOTFS, 'usr/bin/node'))) {
        throw new Error(`no arm64 root filesystem at ${QEMU_ROOTFS}: run scripts/setup.sh --for test`);
      }
      workDir = path.join(tmp, 'qemu');
      b = await open({ 'pocketbench:target': 'qemu-arm64', 'pocketbench:rootfs': QEMU_ROOTFS, 'pocketbench:workDir': workDir });
    });
    after(async () => b?.deleteSession().catch(() => undefined));

    it('reports an emulated aarch64 device', async () => {
      const info = (await b.execute('mobile: deviceInfo', {})) as Record<string, unknown>;
      assert.equal(info.arch, 'aarch64');
      assert.equal(info.nodeArch, 'arm64');
      assert.equal(info.cpuModel, 'ARM Cortex-A72');
      assert.equal(info.emulated, true);
      assert.match(String(info.deviceModel), /emulated/);
      assert.match(String(info.nodeVersion), /^v18\./);
    });

    it('runs the harness as aarch64 and labels the report as emulated', async () => {
      await b.installApp(await makeBundle(tmp, 'q1'));
      await b.pushFile('runs/q/spec.json', Buffer.from('{}').toString('base64'));
      const r = (await b.execute('mobile: runHarness', { version: 'q1', specPath: 'runs/q/spec.json', reportPath: 'runs/q/report.json', timeoutSec: 120 })) as Record<string, unknown>;
      assert.equal(r.reportWritten, true, String(r.stderrTail));
      assert.ok(Number(r.processTreePeakRssBytes) > 10 * 1024 * 1024, 'host-side peak RSS of the emulator process');
      const report = JSON.parse(Buffer.from(await b.pullFile('runs/q/report.json'), 'base64').toString()) as Record<string, any>;
      assert.equal(report.arch, 'aarch64');
      assert.equal(report.host.emulated, true);
      assert.equal(report.memory.method, 'VmHWM-emulator-host');
    });
  });
});
