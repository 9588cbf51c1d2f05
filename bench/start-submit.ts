// Issue 3's user path, timed: `pocketbench up` (api + worker + Appium, embedded Postgres), then
// `pocketbench submit mobilenet_v2.onnx --devices host --backends cpu --iterations 50 --wait`,
// twice: the first submit pays the one-off harness install on the device, the second is warm.
// Run it with nothing else on the data dir's embedded database (stop `npm start` first).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFixtures } from '@pocketbench/harness';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(ROOT, 'packages/cli/src/main.ts');
const dataDir = process.env.POCKETBENCH_DATA_DIR || path.join(ROOT, '.pocketbench');
const TARGET_S = 30;

const fixtures = await ensureFixtures(dataDir, ['mobilenet_v2']);
const model = fixtures.models.find((m) => m.name === 'mobilenet_v2' && m.format === 'onnx' && m.variant === 'fp32');
if (!model) throw new Error('the mobilenet_v2 fp32 ONNX fixture is missing from the fixture manifest');

const { DATABASE_URL: _db, ...baseEnv } = process.env;
const env = { ...baseEnv, PORT: '0', POCKETBENCH_DATA_DIR: dataDir, POCKETBENCH_TOKEN: '', POCKETBENCH_QUEUE_PREFIX: `bench-${randomUUID().slice(0, 8)}` };
const upStarted = performance.now();
const up = spawn(process.execPath, ['--import', 'tsx', CLI, 'up'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
up.stdout.on('data', (d) => (out += d));
up.stderr.on('data', (d) => (out += d));
const stop = () => up.exitCode === null && up.kill('SIGINT');
process.on('exit', stop);

try {
  const deadline = Date.now() + 180_000;
  while (!/pocketbench is up/.test(out)) {
    if (up.exitCode !== null) throw new Error(`pocketbench up exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`pocketbench up did not come up in 180 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const upSeconds = (performance.now() - upStarted) / 1000;
  const url = /api \+ dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1];
  if (!url) throw new Error(`no api URL in the output of pocketbench up:\n${out}`);

  const rows: string[] = [];
  for (const label of ['first submit after up', 'second submit']) {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'submit', model.path, '--devices', 'host', '--backends', 'cpu', '--iterations', '50', '--wait', '--json'],
      { cwd: ROOT, env: { ...env, POCKETBENCH_URL: url }, encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`submit exited with ${r.status}:\n${r.stderr}`);
    const cell = JSON.parse(r.stdout).cells[0];
    rows.push(
      `| ${label} | ${seconds.toFixed(1)} s | ${cell.p50Ms?.toFixed(2)} ms | ${cell.loadMs?.toFixed(0)} ms | ${cell.peakRssMb?.toFixed(0)} MB | ${seconds <= TARGET_S ? 'yes' : 'NO'} |`,
    );
  }
  console.log(`pocketbench up: ready in ${upSeconds.toFixed(1)} s (set-up not included); model ${model.file}, ${(model.sizeBytes / 1e6).toFixed(1)} MB\n`);
  console.log(`| submit --wait, 50 iterations on host cpu | wall time | p50 | load | peak RSS | ≤ ${TARGET_S} s |`);
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
} finally {
  stop();
}
