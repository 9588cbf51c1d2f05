// The attack catalogue of issue 11, rows on the worker's Appium server with our Linux driver
// (a real Appium 3 started as the worker starts it): row 5 (the driver was a remote root shell)
// and row 14 (the process that parses untrusted models held the farm's secrets).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';
import { startAppiumServer, type AppiumServer } from '../../services/worker/src/devices/index.js';
import { ensureAppiumHome } from '../worker/devices/support/appium-home.js';
import { testLogger } from '../worker/devices/support/logger.js';
import { rawRequest } from './support.js';

type Browser = Awaited<ReturnType<typeof remote>>;

/** A harness that reports what it can see: its environment. */
const ENV_HARNESS = `
const fs = require('fs');
const [cmd, , spec, , out] = process.argv.slice(2);
if (cmd === 'probe') { console.log(JSON.stringify({ backends: ['cpu'] })); process.exit(0); }
fs.writeFileSync(out, JSON.stringify({ env: process.env }));
`;

const SECRETS = {
  DATABASE_URL: 'postgres://farm:hunter2@db.internal:5432/pocketbench',
  REDIS_URL: 'redis://:hunter2@redis.internal:6379',
  POCKETBENCH_TOKEN: 'admin-secret-of-the-worker-host-0123456789',
  POCKETBENCH_WORKER_TOKEN: 'pbt_worker-secret-of-the-worker-host',
};

describe('security: attacks on the Appium driver (issue 11)', function () {
  this.timeout(180_000);
  let server: AppiumServer;
  let tmp: string;
  let b: Browser;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-sec-appium-'));
    // The worker's environment holds the farm's secrets; the Appium server it starts must not.
    for (const [k, v] of Object.entries(SECRETS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    try {
      server = await startAppiumServer({ appiumHome: ensureAppiumHome(), logger: testLogger, deviceRoots: [tmp] });
    } finally {
      for (const k of Object.keys(SECRETS)) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
    b = await remote({
      hostname: '127.0.0.1', port: server.port, path: '/', logLevel: 'silent', connectionRetryCount: 0,
      capabilities: {
        platformName: 'Linux', 'appium:automationName': 'PocketbenchLinux',
        'pocketbench:target': 'local', 'pocketbench:workDir': path.join(tmp, 'device'),
      } as WebdriverIO.Capabilities,
    });
  });
  after(async () => {
    await b?.deleteSession().catch(() => undefined);
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('row 5: listens on loopback only', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('row 5: runs no program of the client\'s choosing', async () => {
    await assert.rejects(b.execute('mobile: shell', { command: 'id' }), /Unsupported execute method 'mobile: shell'/i);
    await assert.rejects(b.execute('return 1'), /runs no scripts, only 'mobile:' execute methods/);
  });

  it('row 5: reads and writes no file outside the work directory', async () => {
    await assert.rejects(b.pullFile('/etc/passwd'), /'path' escapes the work directory/);
    await assert.rejects(b.pullFile('../../../../etc/passwd'), /'path' escapes the work directory/);
    await assert.rejects(b.execute('mobile: pushFile', { path: '/root/.ssh/authorized_keys', data: 'eA==' }), /escapes the work directory/);
    await assert.rejects(b.installApp('/etc'), /outside the directories this Appium server allows/);
  });

  it('row 5: a session cannot choose a work directory, root fs or key outside the server\'s roots', async () => {
    for (const caps of [
      { 'pocketbench:target': 'local', 'pocketbench:workDir': '/' },
      { 'pocketbench:target': 'local', 'pocketbench:workDir': '/etc' },
      { 'pocketbench:target': 'qemu-arm64', 'pocketbench:rootfs': '/', 'pocketbench:workDir': path.join(tmp, 'q') },
      { 'pocketbench:target': 'ssh', 'pocketbench:host': '127.0.0.1', 'pocketbench:user': 'root', 'pocketbench:keyPath': '/root/.ssh/id_ed25519' },
    ]) {
      await assert.rejects(
        remote({
          hostname: '127.0.0.1', port: server.port, path: '/', logLevel: 'silent', connectionRetryCount: 0,
          capabilities: { platformName: 'Linux', 'appium:automationName': 'PocketbenchLinux', ...caps } as WebdriverIO.Capabilities,
        }),
        /outside the directories this Appium server allows/,
        JSON.stringify(caps),
      );
    }
  });

  it('row 5: a request body that does not say it is JSON is refused before any session starts', async () => {
    const body = Buffer.from(JSON.stringify({ capabilities: { alwaysMatch: { platformName: 'Linux', 'appium:automationName': 'PocketbenchLinux', 'pocketbench:target': 'local' } } }));
    const variants: Record<string, string>[] = [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }];
    for (const headers of variants) {
      const res = await rawRequest(server.url, { method: 'POST', path: '/session', headers: { ...headers, 'content-length': String(body.length) }, body });
      assert.equal(res.status, 415, JSON.stringify(headers));
      assert.match(res.body, /must send Content-Type: application\/json/);
    }
  });

  it('row 14: the harness runs with nothing secret in its environment', async () => {
    const bundle = path.join(tmp, 'bundle-env1');
    await mkdir(path.join(bundle, 'dist'), { recursive: true });
    await writeFile(path.join(bundle, 'dist', 'cli.cjs'), ENV_HARNESS);
    await writeFile(path.join(bundle, 'manifest.json'), JSON.stringify({ name: 'env', version: 'env1', entry: 'dist/cli.cjs' }));
    await b.installApp(bundle);
    await b.execute('mobile: pushFile', { path: 'runs/env/spec.json', data: Buffer.from('{}').toString('base64') });
    const r = (await b.execute('mobile: runHarness', { version: 'env1', specPath: 'runs/env/spec.json', reportPath: 'runs/env/report.json', timeoutSec: 30 })) as { reportWritten: boolean };
    assert.equal(r.reportWritten, true);
    const seen = JSON.parse(Buffer.from(await b.pullFile('runs/env/report.json'), 'base64').toString('utf8')) as { env: Record<string, string> };
    assert.ok(seen.env.PATH, 'the harness still has a PATH');
    for (const k of Object.keys(SECRETS)) assert.equal(seen.env[k], undefined, `${k} reached the harness`);
    const leaked = Object.entries(seen.env).filter(([, v]) => v.includes('hunter2') || v.includes('secret-of-the-worker-host'));
    assert.deepEqual(leaked, []);
  });
});
