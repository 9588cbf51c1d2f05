import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');

/**
 * `pocketbench up --no-worker` on a fresh data directory: embedded Postgres over the wire
 * protocol, migrations, Redis, the api as a child process; Ctrl-C stops it all. (The worker
 * half runs in test/e2e and test/worker; `npm start` with it is measured in docs/worker.md.)
 */
describe('cli: pocketbench up', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pb-up-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('brings up the api on an embedded database, prints what runs, and stops everything on SIGINT', async () => {
    const { DATABASE_URL: _d, ...env } = process.env;
    const up = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--no-worker'], {
      cwd: REPO_ROOT,
      env: { ...env, PORT: '0', POCKETBENCH_DATA_DIR: dir, POCKETBENCH_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    up.stdout.on('data', (d) => (out += d));
    up.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    const deadline = Date.now() + 90_000;
    while (!/pocketbench is up/.test(out)) {
      if (up.exitCode !== null) assert.fail(`up exited early:\n${out}`);
      if (Date.now() > deadline) assert.fail(`up did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const url = /api \+ dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
    assert.ok(url, out);
    assert.match(out, /database\s+embedded PGlite, postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
    assert.match(out, /migrations applied: 0001_init\.sql/);
    assert.ok(existsSync(path.join(dir, 'pglite.lock')));
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    const devices = await fetch(`${url}/api/v1/devices`);
    assert.equal(devices.status, 200);

    up.kill('SIGINT');
    assert.equal(await exited, 0);
    await assert.rejects(fetch(`${url}/healthz`), 'the api stopped with it');
    assert.ok(!existsSync(path.join(dir, 'pglite.lock')), 'the embedded database was closed');
    assert.ok(existsSync(path.join(dir, 'logs', 'api.log')));
  });
});
