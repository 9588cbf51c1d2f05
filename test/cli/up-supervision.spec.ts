import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort, testQueuePrefix, TEST_REDIS_URL } from '../support/redis.js';
import { SHARED_DATA_DIR } from '../worker/support.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');

/** Every live process whose environment carries `marker` (all that one `up` started, Appium and harness included). */
function processesWith(marker: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(marker)) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      if (/^\d+ \(.*\) Z /.test(stat)) continue; // a zombie holds nothing
      out.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'latin1').replace(/\0/g, ' ').slice(0, 160) });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

function childrenOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `pocketbench up` supervises what it starts: a crashed worker comes back on its own, a port in
 * use is refused before anything starts, and a SIGKILL of up's whole process group leaves no
 * process behind (api, worker, its Appium server, harness runs).
 */
describe('cli: pocketbench up supervision (restart, port check, no orphans)', function () {
  this.timeout(240_000);
  let db: TestDatabase;
  let up: ChildProcess | undefined;
  let out = '';
  const marker = `POCKETBENCH_HOST_NAME=sup-${Math.random().toString(36).slice(2, 8)}`;
  let port: number;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    db = await createTestDatabase();
    port = await freePort();
    env = {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      POCKETBENCH_QUEUE_PREFIX: testQueuePrefix(),
      POCKETBENCH_DATA_DIR: SHARED_DATA_DIR,
      POCKETBENCH_TOKEN: '',
      [marker.split('=')[0]]: marker.split('=')[1],
    };
  });
  after(async () => {
    if (up?.pid) {
      try {
        process.kill(-up.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const p of processesWith(marker)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await db?.drop();
  });

  it('restarts a killed worker, refuses a second up on its port, and leaves no orphan after SIGKILL of its group', async () => {
    const host = marker.split('=')[1];
    // Its own process group, as `npm start` in a terminal has.
    up = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--devices', `host-${host}`], {
      cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    up.stdout!.on('data', (d) => (out += d));
    up.stderr!.on('data', (d) => (out += d));
    await until('"pocketbench is up"', () => {
      if (up!.exitCode !== null) assert.fail(`up exited early:\n${out}`);
      return /pocketbench is up/.test(out);
    }, 180_000);
    const url = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${url}/healthz`)).status, 200);

    // Every service is in up's process group.
    const kids = childrenOf(up.pid!);
    const worker = kids.find((pid) => cmdline(pid).includes('services/worker/src/main.ts'));
    const api = kids.find((pid) => cmdline(pid).includes('services/api/src/main.ts'));
    assert.ok(worker && api, `api and worker are up's children: ${kids.map(cmdline).join(' | ')}`);
    const pgid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[2]);
    assert.equal(pgid(worker), up.pid);
    assert.equal(pgid(api), up.pid);
    const appium = childrenOf(worker).find((pid) => cmdline(pid).includes('appium'));
    assert.ok(appium, 'the worker runs its own Appium server');

    // A crashed worker: up restarts it (its Appium goes with it), the api stays up.
    process.kill(worker, 'SIGKILL');
    const restarted = await until('a new worker', () => childrenOf(up!.pid!).find((pid) => pid !== worker && cmdline(pid).includes('services/worker/src/main.ts')), 20_000);
    assert.match(out, /the worker exited \(code 128\); restarting it in 1 s/);
    await until('the old Appium server to go', () => !cmdline(appium), 10_000);
    await until('the new worker\'s Appium server', () => childrenOf(restarted).find((pid) => cmdline(pid).includes('appium')), 60_000);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'the api kept answering');
    assert.equal(up.exitCode, null, 'up kept running');

    // A second up on the same port fails at once with one sentence naming the port, starting nothing.
    const second = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'up', '--no-worker'], {
      cwd: REPO_ROOT, env: { ...env, POCKETBENCH_HOST_NAME: `${host}-second` }, encoding: 'utf8', timeout: 60_000,
    });
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, new RegExp(`port ${port} is already in use`));
    assert.doesNotMatch(second.stdout + second.stderr, /pocketbench is up/);

    // SIGKILL of the whole group: nothing that up started survives (Appium via its watchdog).
    assert.ok(processesWith(marker).length >= 3, JSON.stringify(processesWith(marker)));
    const killedAt = Date.now();
    process.kill(-up.pid!, 'SIGKILL');
    await until('every process up started to be gone', () => processesWith(marker).length === 0, 15_000).catch((err) => {
      throw new Error(`${(err as Error).message}; left: ${JSON.stringify(processesWith(marker))}`);
    });
    console.log(`      (no process left ${Date.now() - killedAt} ms after SIGKILL of up's group)`);
  });
});
