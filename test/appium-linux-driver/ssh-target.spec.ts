import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';
import { startAppiumServer, type AppiumServer } from '../../services/worker/src/devices/index.js';
import { DATA_DIR, ensureAppiumHome } from '../worker/devices/support/appium-home.js';
import { testLogger } from '../worker/devices/support/logger.js';

type Browser = Awaited<ReturnType<typeof remote>>;
const SSHD = path.join(DATA_DIR, 'sshd', 'usr', 'sbin', 'sshd');

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The ssh target against a real OpenSSH server: a private sshd on 127.0.0.1 standing in for a
 * board (scripts/setup.d/30-appium.sh unpacks it). Same commands as on a Pi, over ssh.
 */
describe('appium-linux-driver ssh target (real sshd on 127.0.0.1)', function () {
  this.timeout(120_000);
  let tmp: string;
  let sshd: ChildProcess;
  let sshPort: number;
  let server: AppiumServer;
  let b: Browser;
  let caps: Record<string, unknown>;

  before(async () => {
    if (!existsSync(SSHD)) throw new Error(`no sshd at ${SSHD}: run scripts/setup.sh --for test`);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'pb-ssh-'));
    for (const k of ['host', 'client']) {
      const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(tmp, k)]);
      assert.equal(r.status, 0, String(r.stderr));
    }
    await writeFile(path.join(tmp, 'authorized_keys'), spawnSync('cat', [path.join(tmp, 'client.pub')]).stdout);
    sshPort = await freePort();
    await writeFile(
      path.join(tmp, 'sshd_config'),
      [
        `Port ${sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${path.join(tmp, 'host')}`,
        'PidFile none',
        `AuthorizedKeysFile ${path.join(tmp, 'authorized_keys')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        '',
      ].join('\n'),
    );
    await mkdir('/run/sshd', { recursive: true });
    sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(tmp, 'sshd_config')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      const ok = await new Promise<boolean>((r) => {
        const s = createServer();
        s.once('error', () => r(true)).listen(sshPort, '127.0.0.1', () => s.close(() => r(false)));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    server = await startAppiumServer({ appiumHome: ensureAppiumHome(), logger: testLogger, deviceRoots: [tmp] });
    caps = {
      platformName: 'Linux',
      'appium:automationName': 'PocketbenchLinux',
      'pocketbench:target': 'ssh',
      'pocketbench:host': '127.0.0.1',
      'pocketbench:port': sshPort,
      'pocketbench:user': os.userInfo().username,
      'pocketbench:keyPath': path.join(tmp, 'client'),
      'pocketbench:knownHostsFile': path.join(tmp, 'known_hosts'),
      'pocketbench:nodePath': process.execPath,
      'pocketbench:workDir': path.join(tmp, 'board'),
    };
    b = await remote({ hostname: '127.0.0.1', port: server.port, path: '/', logLevel: 'silent', connectionRetryCount: 0, capabilities: caps as WebdriverIO.Capabilities });
  });
  after(async () => {
    await b?.deleteSession().catch(() => undefined);
    await server?.stop();
    sshd?.kill();
    await rm(tmp, { recursive: true, force: true });
  });

  it('reads facts and state on the board over ssh', async () => {
    const info = (await b.execute('mobile: deviceInfo', {})) as Record<string, unknown>;
    assert.equal(info.target, 'ssh');
    assert.equal(info.arch, os.machine());
    const state = (await b.execute('mobile: deviceState', {})) as Record<string, unknown>;
    assert.equal((state.loadAvg as number[]).length, 3);
  });

  it('pushes, hashes and pulls binary files through ssh', async () => {
    const data = randomBytes(200_000);
    await b.pushFile('m/model.bin', data.toString('base64'));
    const h = (await b.execute('mobile: fileHash', { path: 'm/model.bin' })) as { sha256: string };
    assert.equal(h.sha256, createHash('sha256').update(data).digest('hex'));
    assert.deepEqual(Buffer.from(await b.pullFile('m/model.bin'), 'base64'), data);
    assert.equal(((await b.execute('mobile: fileHash', { path: 'm/none' })) as { sha256: null }).sha256, null);
  });

  it('copies a harness bundle over once and runs it, killing it on the board past its budget', async () => {
    const bundle = path.join(tmp, 'bundle');
    await mkdir(path.join(bundle, 'dist'), { recursive: true });
    await writeFile(
      path.join(bundle, 'dist', 'cli.cjs'),
      `const fs=require('fs');const [c,,s,,o]=process.argv.slice(2);if(c==='probe'){console.log('{"backends":["cpu"]}');process.exit(0)}
       const spec=JSON.parse(fs.readFileSync(s,'utf8'));setTimeout(()=>fs.writeFileSync(o,JSON.stringify({ran:true,spec})),(spec.sleepSec||0)*1000);`,
    );
    await writeFile(path.join(bundle, 'manifest.json'), JSON.stringify({ name: 'tiny', version: 's1', entry: 'dist/cli.cjs' }));
    await b.installApp(bundle);
    assert.equal(await b.isAppInstalled('s1'), true);
    await b.pushFile('runs/1/spec.json', Buffer.from('{"x":1}').toString('base64'));
    const r = (await b.execute('mobile: runHarness', { version: 's1', specPath: 'runs/1/spec.json', reportPath: 'runs/1/report.json', timeoutSec: 30 })) as Record<string, unknown>;
    assert.equal(r.reportWritten, true, String(r.stderrTail));
    assert.deepEqual(JSON.parse(Buffer.from(await b.pullFile('runs/1/report.json'), 'base64').toString()), { ran: true, spec: { x: 1 } });

    await b.pushFile('runs/2/spec.json', Buffer.from('{"sleepSec":60}').toString('base64'));
    await assert.rejects(
      b.execute('mobile: runHarness', { version: 's1', specPath: 'runs/2/spec.json', reportPath: 'runs/2/report.json', timeoutSec: 2 }),
      (e: Error) => e.name === 'timeout' && /exceeded its 2 s budget/.test(e.message),
    );
  });

  it('says the board is unreachable when ssh cannot connect', async () => {
    const dead = await freePort();
    await assert.rejects(
      remote({ hostname: '127.0.0.1', port: server.port, path: '/', logLevel: 'silent', connectionRetryCount: 0, capabilities: { ...caps, 'pocketbench:port': dead } as WebdriverIO.Capabilities }),
      /ssh .*127\.0\.0\.1/,
    );
  });
});
