// Hand reproduction of the issue's faults against `pocketbench up` (what `npm start` runs after setup).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { startFaultProxy } from './test/support/fault-proxy.ts';
import { startPrivateRedis } from './test/support/redis.ts';
import { tinyOnnx } from './test/api/helpers.ts';

const REPO = '/work/wt/issue-10';
const PORT = 18080;
const URL_ = `http://127.0.0.1:${PORT}`;
const HOST = 'pb10';
const DEVICE = `host-${HOST}`;
const say = (s: string) => console.log(`[manual ${new Date().toISOString().slice(11, 19)}] ${s}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS pb10_manual WITH (FORCE)');
await admin.query('CREATE DATABASE pb10_manual');
await admin.end();
const direct = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/pb10_manual', max: 2 });
direct.on('error', () => undefined);
const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
const redis = await startPrivateRedis();
const env = {
  ...process.env, PORT: String(PORT), DATABASE_URL: proxy.rewrite('postgres://postgres@127.0.0.1:5432/pb10_manual'), REDIS_URL: redis.url,
  POCKETBENCH_DATA_DIR: `${REPO}/.pocketbench`, POCKETBENCH_HOST_NAME: HOST, POCKETBENCH_TOKEN: '', POCKETBENCH_QUEUE_PREFIX: 'pb10',
};
let out = '';
function startUp(): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', `${REPO}/packages/cli/src/main.ts`, 'up', '--devices', DEVICE], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  return p;
}
async function until<T>(what: string, fn: () => Promise<T | undefined | false | null>, ms: number, every = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(every);
  }
}
const marker = `POCKETBENCH_HOST_NAME=${HOST}`;
function ours(): { pid: number; cmd: string }[] {
  const r: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${d}/stat`, 'latin1'))) continue;
      if (!readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(marker)) continue;
      r.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, 'latin1').replace(/\0/g, ' ').slice(0, 90) });
    } catch { /* gone */ }
  }
  return r;
}
const children = (pid: number) => spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.split('\n').map(Number).filter(Boolean);
const cmd = (pid: number) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'latin1'); } catch { return ''; } };

async function upload(): Promise<string> {
  const form = new FormData();
  form.append('model', 'relu');
  form.append('file', new Blob([new Uint8Array(tinyOnnx(`manual-${Math.random()}`))]), 'relu.onnx');
  return ((await (await fetch(`${URL_}/api/v1/artifacts`, { method: 'POST', body: form })).json()) as { id: string }).id;
}
async function submit(a: string, config: Record<string, unknown>): Promise<string> {
  const r = await fetch(`${URL_}/api/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ matrix: { artifacts: [a], backends: ['cpu'], devices: ['host-x86_64'] }, config }) });
  const b = (await r.json()) as { id: string };
  if (r.status !== 201) throw new Error(JSON.stringify(b));
  return b.id;
}
const stored = async (run: string) => (await direct.query('SELECT count(*)::int n, count(DISTINCT (job_id, role, session_index))::int d FROM sessions WHERE run_id=$1', [run])).rows[0];
const status = async (run: string) => (await direct.query('SELECT status FROM runs WHERE id=$1', [run])).rows[0]?.status;
const busy = async () => (await direct.query('SELECT current_job_id FROM devices WHERE id=$1', [DEVICE])).rows[0]?.current_job_id;
async function finish(run: string, from: number, label: string) {
  await until(`${label}: run ${run} ends`, async () => ['done', 'failed', 'cancelled'].includes(await status(run)), 300_000, 100);
  const s = await stored(run);
  const ready = (await fetch(`${URL_}/readyz`)).status;
  say(`${label}: run ${await status(run)} ${((Date.now() - from) / 1000).toFixed(1)} s after the fault ended; sessions ${s.n} stored, ${s.d} distinct; /readyz ${ready}`);
}

let up = startUp();
await until('up', async () => /pocketbench is up/.test(out), 240_000, 200);
say(`up (pid ${up.pid}); processes: ${ours().length}`);
const art = await upload();

// 1. Redis restarted for 6 s, nothing on disk.
{
  const run = await submit(art, { sessions: 12, iterations: 50, warmup: 2 });
  await until('3 stored', async () => (await stored(run)).n >= 3, 120_000, 50);
  await redis.kill(); await sleep(6000); await redis.start();
  await finish(run, Date.now(), '1 redis restart 6 s');
}
// 2. Postgres restarted: every connection cut, refused for 20 s.
{
  const pids = children(up.pid!);
  const run = await submit(art, { sessions: 8, iterations: 50, warmup: 2 });
  await until('2 stored', async () => (await stored(run)).n >= 2, 120_000, 50);
  await proxy.refuse();
  await sleep(2000);
  const r = await fetch(`${URL_}/api/v1/runs/${run}`);
  say(`2 postgres away: GET run → ${r.status} Retry-After ${r.headers.get('retry-after')}; /readyz ${(await fetch(`${URL_}/readyz`)).status}`);
  await sleep(18_000);
  await proxy.restore();
  await finish(run, Date.now(), '2 postgres restart 20 s');
  say(`2 same api/worker processes as before: ${JSON.stringify(children(up.pid!)) === JSON.stringify(pids)}`);
}
// 3. Storing sessions fails for 45 s while the database stays up.
{
  await direct.query(`CREATE TABLE IF NOT EXISTS fault_switch (on_ boolean NOT NULL); DELETE FROM fault_switch; INSERT INTO fault_switch VALUES (false)`);
  await direct.query(`CREATE OR REPLACE FUNCTION refuse_sessions() RETURNS trigger AS $$ BEGIN IF (SELECT on_ FROM fault_switch LIMIT 1) THEN RAISE EXCEPTION 'injected: storing sessions is refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
  await direct.query(`CREATE OR REPLACE TRIGGER refuse_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse_sessions()`);
  const run = await submit(art, { sessions: 6, iterations: 50, warmup: 2 });
  await until('1 stored', async () => (await stored(run)).n >= 1, 120_000, 50);
  await direct.query('UPDATE fault_switch SET on_ = true');
  await sleep(45_000);
  say(`3 after 45 s of refused stores: run ${await status(run)}, ${(await stored(run)).n} stored`);
  await direct.query('UPDATE fault_switch SET on_ = false');
  await finish(run, Date.now(), '3 store refused 45 s');
}
// 4. SIGKILL of the worker.
{
  const run = await submit(art, { sessions: 8, iterations: 200, warmup: 2 });
  await until('busy', async () => (await busy()) && (await stored(run)).n >= 1, 120_000, 20);
  const worker = children(up.pid!).find((p) => cmd(p).includes('services/worker/src/main.ts'))!;
  const appium = children(worker).find((p) => cmd(p).includes('appium'));
  process.kill(worker, 'SIGKILL');
  const t = Date.now();
  await finish(run, t, '4 worker SIGKILL');
  say(`4 old Appium ${appium} gone: ${!cmd(appium!)}; up still running: ${up.exitCode === null}; api answers: ${(await fetch(`${URL_}/healthz`)).status}`);
}
// 6. Cancel while the session runs.
{
  const run = await submit(art, { sessions: 1, iterations: 10, warmup: 1, minDurationMs: 120_000, timeoutSec: 600 });
  await until('busy', async () => busy(), 120_000, 50);
  await sleep(2000);
  const t = Date.now();
  await fetch(`${URL_}/api/v1/runs/${run}/cancel`, { method: 'POST' });
  await until('device free', async () => !(await busy()), 60_000, 50);
  const harness = ours().filter((p) => p.cmd.includes('pocketbench-harness') || p.cmd.includes('harness/bundle'));
  say(`6 cancel: device free in ${((Date.now() - t) / 1000).toFixed(1)} s; harness processes left: ${harness.length}; sessions stored for it: ${(await stored(run)).n}`);
  const next = await submit(art, { sessions: 2, iterations: 50, warmup: 2 });
  await finish(next, t, '6 next run after cancel');
}
// 5. SIGKILL of the whole process group, then a second start, then a third on the same port.
{
  const before = ours().length;
  process.kill(-up.pid!, 'SIGKILL');
  const t = Date.now();
  await until('no orphan', async () => ours().length === 0, 30_000, 50).catch(() => undefined);
  say(`5 group SIGKILL: ${before} processes before; ${ours().length} left after ${((Date.now() - t) / 1000).toFixed(1)} s ${JSON.stringify(ours())}`);
  out = '';
  up = startUp();
  await until('up again', async () => /pocketbench is up/.test(out), 240_000, 200);
  say(`5 second start: up again after ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const third = spawnSync(process.execPath, ['--import', 'tsx', `${REPO}/packages/cli/src/main.ts`, 'up', '--no-worker'], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
  say(`5 third start on the same port: exit ${third.status}: ${third.stderr.trim().split('\n').pop()}`);
  const run = await submit(art, { sessions: 3, iterations: 50, warmup: 2 });
  await finish(run, Date.now(), '5 a run after the restart');
  process.kill(-up.pid!, 'SIGINT');
  await sleep(8000);
  say(`stopped with SIGINT: ${ours().length} processes left`);
}
await direct.end();
await proxy.close();
await redis.stop();
process.exit(0);
