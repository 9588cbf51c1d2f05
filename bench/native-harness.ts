// `npm run bench native-harness`: what a session costs the device, on this machine (x86_64).
//
//   overhead    median iteration of a native harness session vs a bare C/C++ loop over the same
//               runtime API (same model, input, threads, warmup), sessions interleaved A B A B …;
//               target within 2 % for both runtimes
//   efficiency  device-busy efficiency = wall time of a bare process that loads the model and runs
//               the same iterations (the bundle's ort-/ptl-bare-loop) / wall time of the session's
//               full cycle on the device as the worker runs it: cooldown check, harness and model
//               checks, spec push, harness run, report pull and validation, over Appium and the
//               Linux driver (local target); for the host harness the worker picks now and for the
//               Node harness bundle (the host's harness before the native bundle served it)
//   sessions/s  full cycles per second with several devices of this host at once (tiny_cnn .onnx)
//   sizes       the native bundles' exact byte sizes
// Options: --sessions=N (rounds per efficiency figure, default 60), --rounds=N (overhead rounds,
// default 8), --devices=N (default 3). Raw figures: <dataDir>/bench/native-harness.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { BenchSpec } from '@pocketbench/contracts';
import { ensureFixtures, generateInput, loadConfig, type FixtureModel } from '@pocketbench/harness';
import { ensureHarnessBundle, ensureNativeHarnessBundle } from '@pocketbench/harness/bundle';
import { loadDeviceLayer, type HarnessBundle } from '../services/worker/src/device-layer.js';
import type { DeviceSession } from '../services/worker/src/devices/device-session.js';
import { coolDown } from '../services/worker/src/session/run-with-hygiene.js';
import type { SessionDeps } from '../services/worker/src/session/session-deps.js';

const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const SESSIONS = arg('sessions', 60);
const ROUNDS = arg('rounds', 8);
const DEVICES = arg('devices', 3);
const config = loadConfig(process.env);
const fixtures = await ensureFixtures(config.dataDir, ['tiny_cnn', 'mobilenet_v2']);
const x86 = await ensureNativeHarnessBundle({ dataDir: config.dataDir, arch: 'x86_64' });
const arm = await ensureNativeHarnessBundle({ dataDir: config.dataDir, arch: 'aarch64' });
const nodeBundle = await ensureHarnessBundle({ dataDir: config.dataDir });
const work = mkdtempSync(path.join(config.dataDir, 'bench-native-'));
const loader = path.join(x86.dir, 'lib', 'ld-linux-x86-64.so.2');
const ALLOC = { MALLOC_MMAP_THRESHOLD_: String(256 << 20), MALLOC_TRIM_THRESHOLD_: String(512 << 20) };

const fx = (name: string, variant: string, format: string): FixtureModel => {
  const m = fixtures.models.find((x) => x.name === name && x.variant === variant && x.format === format);
  if (!m) throw new Error(`fixture ${name} ${variant} ${format} missing`);
  return m;
};
const quantile = (v: number[], q: number) => {
  const s = [...v].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  return s[Math.floor(pos)] + (s[Math.ceil(pos)] - s[Math.floor(pos)]) * (pos - Math.floor(pos));
};
const median = (v: number[]) => quantile(v, 0.5);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`;

function timed(cmd: string, args: string[], env: Record<string, string> = {}): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.slice(-800)}`);
  return { ms, stdout: r.stdout };
}

function benchSpec(m: FixtureModel, warmup: number, iterations: number): BenchSpec {
  return {
    specVersion: 1, artifact: { path: m.path, sha256: m.sha256, format: m.format }, runtime: m.format === 'onnx' ? 'onnxruntime' : 'pytorch-lite',
    backend: 'cpu', threads: 1, warmup, iterations, seed: 7, inputs: m.inputs, timeBudgetSec: 600,
  } as BenchSpec;
}

function specFile(m: FixtureModel, warmup: number, iterations: number): string {
  const file = path.join(work, `spec-${m.name}-${m.variant}-${m.format}-${warmup}-${iterations}.json`);
  writeFileSync(file, JSON.stringify(benchSpec(m, warmup, iterations)));
  return file;
}

function inputFile(m: FixtureModel): string {
  const file = path.join(work, `input-${m.name}.bin`);
  writeFileSync(file, generateInput(m.inputs[0], 7));
  return file;
}

const native = (file: string) => {
  const out = path.join(work, 'report.json');
  timed('sh', [path.join(x86.dir, 'pocketbench-harness'), 'run', '--spec', file, '--out', out]);
  return JSON.parse(readFileSync(out, 'utf8')) as { timing: { iterationsUs: number[] } };
};
const bare = (m: FixtureModel, warmup: number, iterations: number) => {
  const shape = m.inputs[0].shape.join('x');
  const input = inputFile(m);
  const r = m.format === 'onnx'
    ? timed(loader, ['--library-path', path.join(x86.dir, 'lib'), path.join(x86.dir, 'bin', 'ort-bare-loop'), m.path, '1', String(warmup), String(iterations), m.inputs[0].name, input, shape])
    : timed(loader, ['--library-path', path.join(x86.dir, 'lib'), path.join(x86.dir, 'bin', 'ptl-bare-loop'), m.path, '1', String(warmup), String(iterations), input, shape], ALLOC);
  return { ms: r.ms, iterationsUs: JSON.parse(r.stdout) as number[] };
};

const results: Record<string, unknown> = { sessions: SESSIONS, rounds: ROUNDS, devices: DEVICES, cores: os.cpus().length, loadAtStart: os.loadavg() };
console.log(`native harness bundle ${x86.version}; Node harness bundle ${nodeBundle.version}; ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

console.log(`\noverhead (median iteration, native harness vs bare loop, 5 warmup + 30 iterations, 1 thread, ${ROUNDS} interleaved rounds):`);
for (const m of [fx('mobilenet_v2', 'fp32', 'onnx'), fx('mobilenet_v2', 'fp32', 'ptl')]) {
  const s = specFile(m, 5, 30);
  const h: number[] = [];
  const b: number[] = [];
  const pairs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const hm = median(native(s).timing.iterationsUs);
    const bm = median(bare(m, 5, 30).iterationsUs);
    h.push(hm);
    b.push(bm);
    pairs.push(hm / bm - 1);
  }
  const o = { harnessMs: median(h) / 1000, bareMs: median(b) / 1000, medians: median(h) / median(b) - 1, paired: median(pairs), pairedIqr: [quantile(pairs, 0.25), quantile(pairs, 0.75)] };
  results[`overhead-${m.format}`] = o;
  console.log(
    `  ${m.format === 'onnx' ? 'onnxruntime (C API)' : 'pytorch-lite       '}  harness ${o.harnessMs.toFixed(3)} ms vs bare ${o.bareMs.toFixed(3)} ms: ` +
      `medians ${pct(o.medians)}, paired ${pct(o.paired)} (IQR ${pct(o.pairedIqr[0])} … ${pct(o.pairedIqr[1])}; target within 2 %)`,
  );
}

// --- the session's full cycle on the device, through the worker's device layer ---
const logger = pino({ level: 'silent' });
const layer = await loadDeviceLayer();
const appium = await layer.startAppiumServer({ appiumHome: path.join(config.dataDir, 'appium'), logger, deviceRoots: [config.dataDir, work] });
const [local] = (await layer.discoverLocalDevices({ dataDir: config.dataDir })).filter((d) => !d.emulated);
const contenders: { name: string; bundle: HarnessBundle }[] = [
  { name: 'native', bundle: x86 },
  { name: 'Node', bundle: nodeBundle },
];
const sessions: DeviceSession[] = [];
const open = async (bundle: HarnessBundle, i: number) => {
  const id = `bench-${i}-${bundle.version.replace(/[^\w.-]/g, '_')}`;
  const device = { ...local, id, name: id, capabilities: { ...local.capabilities, 'pocketbench:workDir': path.join(work, 'devices', id) } };
  const s = await layer.openDeviceSession(device, { appiumUrl: appium.url, harnessBundle: bundle, cacheDir: path.join(work, 'cache'), logger });
  sessions.push(s);
  return s;
};
const deps = { policy: { tempCeilingC: 45, cooldownPollMs: 10_000, cooldownMaxMs: 300_000 } } as unknown as SessionDeps;
/** One session as the worker's runWithHygiene does it on the device: the cooldown check, then the harness. */
const cycle = async (session: DeviceSession, spec: BenchSpec) => {
  const t0 = performance.now();
  await coolDown(deps, session, logger);
  const report = await session.runHarness(spec);
  const ms = performance.now() - t0;
  if (report.status !== 'ok') throw new Error(`session not ok: ${report.status} ${report.error?.message ?? report.backend.reason ?? ''}`);
  return { ms, harnessName: report.harness.name };
};

try {
  const opened = await Promise.all(contenders.map(async (c) => ({ ...c, session: await open(c.bundle, 0) })));
  console.log(`\ndevice-busy efficiency (bare process / the session's full cycle on the device; 3 warmup + 20 iterations, 1 thread; ${SESSIONS} sessions each, interleaved; median and IQR):`);
  const targets: Record<string, number> = { 'mobilenet_v2 int8-static ptl': 0.9, 'mobilenet_v2 fp32 onnx': 0.8, 'tiny_cnn fp32 onnx': 0.4 };
  for (const m of [fx('mobilenet_v2', 'int8-static', 'ptl'), fx('mobilenet_v2', 'fp32', 'onnx'), fx('tiny_cnn', 'fp32', 'onnx')]) {
    const key = `${m.name} ${m.variant} ${m.format}`;
    const spec = benchSpec(m, 3, 20);
    const eff: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const cycles: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const bares: number[] = [];
    const harnessNames: Record<string, string> = {};
    for (const c of opened) await cycle(c.session, spec); // model pushed, harness installed: not per session
    for (let i = 0; i < SESSIONS; i++) {
      const b = bare(m, 3, 20).ms;
      bares.push(b);
      for (const c of opened) {
        const r = await cycle(c.session, spec);
        harnessNames[c.name] = r.harnessName;
        eff[c.name].push(b / r.ms);
        cycles[c.name].push(r.ms);
      }
    }
    const e = Object.fromEntries(
      contenders.map((c) => [c.name, { harness: harnessNames[c.name], median: median(eff[c.name]), iqr: [quantile(eff[c.name], 0.25), quantile(eff[c.name], 0.75)], cycleMs: median(cycles[c.name]) }]),
    );
    results[`efficiency-${key}`] = { bareMs: median(bares), target: targets[key], ...e };
    console.log(`  ${key} (bare ${median(bares).toFixed(0)} ms; target >= ${targets[key].toFixed(2)}):`);
    for (const c of contenders) {
      const x = e[c.name];
      console.log(`    ${c.name.padEnd(7)} ${x.harness.padEnd(27)} ${x.median.toFixed(2)} (IQR ${x.iqr[0].toFixed(2)}–${x.iqr[1].toFixed(2)}), cycle ${x.cycleMs.toFixed(0)} ms`);
    }
  }

  const tiny = benchSpec(fx('tiny_cnn', 'fp32', 'onnx'), 3, 20);
  const perDevice = Math.max(2, Math.round(SESSIONS / 3));
  console.log(`\nsessions/s with ${DEVICES} devices of this host at once (tiny_cnn .onnx, ${perDevice} full cycles per device):`);
  const sps: Record<string, number> = {};
  for (const c of contenders) {
    const devs = await Promise.all(Array.from({ length: DEVICES }, (_, i) => open(c.bundle, i + 1)));
    await Promise.all(devs.map((d) => cycle(d, tiny)));
    const t0 = performance.now();
    await Promise.all(devs.map(async (d) => { for (let i = 0; i < perDevice; i++) await cycle(d, tiny); }));
    sps[c.name] = (DEVICES * perDevice) / ((performance.now() - t0) / 1000);
    console.log(`  ${c.name.padEnd(7)} ${sps[c.name].toFixed(2)} sessions/s`);
  }
  results.sessionsPerSecond = sps;
} finally {
  await Promise.all(sessions.map((s) => s.close()));
  await appium.stop().catch(() => undefined);
}

const sizes = { x86_64: x86.manifest.sizeBytes, aarch64: arm.manifest.sizeBytes };
results.bundleBytes = sizes;
results.loadAtEnd = os.loadavg();
console.log(`\nbundle sizes: x86_64 ${sizes.x86_64} bytes (${(sizes.x86_64 / 1048576).toFixed(1)} MiB), aarch64 ${sizes.aarch64} bytes (${(sizes.aarch64 / 1048576).toFixed(1)} MiB)`);
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (a shared machine: compare figures within one run)`);

mkdirSync(path.join(config.dataDir, 'bench'), { recursive: true });
writeFileSync(path.join(config.dataDir, 'bench', 'native-harness.json'), `${JSON.stringify(results, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });
process.exit(0);
