// `npm run bench native-harness`: the native harness bundle (device-agents/harness/native) against
// bare loops and against the Node harness, on this machine (x86_64 bundle; same sources as aarch64).
//
//   overhead   median iteration of a harness session vs a bare C/C++ loop over the same runtime API
//              (same model, input, threads, warmup), sessions interleaved A B A B …
//   efficiency device-busy efficiency = wall time of a bare process that loads the model and runs
//              the same iterations / wall time of the whole harness process (spec in, report out),
//              for the native harness ("after") and the Node harness ("before")
//   sessions/s harness processes per second back to back (tiny_cnn .onnx)
//   sizes      the bundles' exact byte sizes
// Raw figures: <dataDir>/bench/native-harness.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureFixtures, generateInput, loadConfig, type FixtureModel } from '@pocketbench/harness';
import { ensureNativeHarnessBundle } from '@pocketbench/harness/bundle';

const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 8);
const config = loadConfig(process.env);
const fixtures = await ensureFixtures(config.dataDir, ['tiny_cnn', 'mobilenet_v2']);
const x86 = await ensureNativeHarnessBundle({ dataDir: config.dataDir, arch: 'x86_64' });
const arm = await ensureNativeHarnessBundle({ dataDir: config.dataDir, arch: 'aarch64' });
const work = mkdtempSync(path.join(config.dataDir, 'bench-native-'));
const NODE_HARNESS = path.join(import.meta.dirname, '..', 'device-agents', 'harness', 'bin', 'pocketbench-harness.mjs');
const loader = path.join(x86.dir, 'lib', 'ld-linux-x86-64.so.2');
const ALLOC = { MALLOC_MMAP_THRESHOLD_: String(256 << 20), MALLOC_TRIM_THRESHOLD_: String(512 << 20) };

const fx = (name: string, variant: string, format: string): FixtureModel => {
  const m = fixtures.models.find((x) => x.name === name && x.variant === variant && x.format === format);
  if (!m) throw new Error(`fixture ${name} ${variant} ${format} missing`);
  return m;
};
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`;

function timed(cmd: string, args: string[], env: Record<string, string> = {}): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.slice(-800)}`);
  return { ms, stdout: r.stdout };
}

function spec(m: FixtureModel, warmup: number, iterations: number): string {
  const file = path.join(work, `spec-${m.name}-${m.variant}-${m.format}-${warmup}-${iterations}.json`);
  writeFileSync(file, JSON.stringify({
    specVersion: 1, artifact: { path: m.path, sha256: m.sha256, format: m.format }, runtime: m.format === 'onnx' ? 'onnxruntime' : 'pytorch-lite',
    backend: 'cpu', threads: 1, warmup, iterations, seed: 7, inputs: m.inputs, timeBudgetSec: 600,
  }));
  return file;
}

function inputFile(m: FixtureModel): string {
  const file = path.join(work, `input-${m.name}.bin`);
  writeFileSync(file, generateInput(m.inputs[0], 7));
  return file;
}

const native = (specFile: string) => {
  const out = path.join(work, 'report.json');
  const r = timed('sh', [path.join(x86.dir, 'pocketbench-harness'), 'run', '--spec', specFile, '--out', out]);
  return { ms: r.ms, report: JSON.parse(readFileSync(out, 'utf8')) as { timing: { iterationsUs: number[] } } };
};
const nodeHarness = (specFile: string) => {
  const out = path.join(work, 'report-node.json');
  const r = timed(process.execPath, ['--import', 'tsx', NODE_HARNESS, 'run', '--spec', specFile, '--out', out], { POCKETBENCH_DATA_DIR: config.dataDir });
  return { ms: r.ms, report: JSON.parse(readFileSync(out, 'utf8')) as { timing: { iterationsUs: number[] } } };
};
const bare = (m: FixtureModel, warmup: number, iterations: number) => {
  const shape = m.inputs[0].shape.join('x');
  const input = inputFile(m);
  const r = m.format === 'onnx'
    ? timed(loader, ['--library-path', path.join(x86.dir, 'lib'), path.join(x86.dir, 'bin', 'ort-bare-loop'), m.path, '1', String(warmup), String(iterations), m.inputs[0].name, input, shape])
    : timed(loader, ['--library-path', path.join(x86.dir, 'lib'), path.join(x86.dir, 'bin', 'ptl-bare-loop'), m.path, '1', String(warmup), String(iterations), input, shape], ALLOC);
  return { ms: r.ms, iterationsUs: JSON.parse(r.stdout) as number[] };
};

const results: Record<string, unknown> = { rounds, load: (await import('node:os')).loadavg() };

console.log(`native harness bundle ${x86.version}; ${rounds} interleaved rounds per figure; load ${(results.load as number[]).map((x) => x.toFixed(2)).join(' ')}`);
console.log('\noverhead (median iteration, harness vs bare loop, 5 warmup + 30 iterations, 1 thread):');
for (const m of [fx('mobilenet_v2', 'fp32', 'onnx'), fx('mobilenet_v2', 'fp32', 'ptl')]) {
  const s = spec(m, 5, 30);
  const h: number[] = [];
  const b: number[] = [];
  const pairs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const hm = median(native(s).report.timing.iterationsUs);
    const bm = median(bare(m, 5, 30).iterationsUs);
    h.push(hm);
    b.push(bm);
    pairs.push(hm / bm - 1);
  }
  const o = { harnessMs: median(h) / 1000, bareMs: median(b) / 1000, medians: median(h) / median(b) - 1, paired: median(pairs) };
  results[`overhead-${m.format}`] = o;
  console.log(`  ${m.format === 'onnx' ? 'onnxruntime (C API)' : 'pytorch-lite     '}  harness ${o.harnessMs.toFixed(3)} ms vs bare ${o.bareMs.toFixed(3)} ms: medians ${pct(o.medians)}, paired ${pct(o.paired)} (target within 2 %)`);
}

console.log('\ndevice-busy efficiency (bare process wall time / harness process wall time; 3 warmup + 20 iterations):');
const targets: Record<string, number> = { 'mobilenet_v2 int8-static ptl': 0.9, 'mobilenet_v2 fp32 onnx': 0.8, 'tiny_cnn fp32 onnx': 0.4 };
for (const m of [fx('mobilenet_v2', 'int8-static', 'ptl'), fx('mobilenet_v2', 'fp32', 'onnx'), fx('tiny_cnn', 'fp32', 'onnx')]) {
  const key = `${m.name} ${m.variant} ${m.format}`;
  const s = spec(m, 3, 20);
  const eNative: number[] = [];
  const eNode: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const b = bare(m, 3, 20).ms;
    eNative.push(b / native(s).ms);
    eNode.push(b / nodeHarness(s).ms);
  }
  const e = { native: median(eNative), node: median(eNode), target: targets[key] };
  results[`efficiency-${key}`] = e;
  console.log(`  ${key.padEnd(30)} native ${e.native.toFixed(2)} (Node harness ${e.node.toFixed(2)}); target >= ${e.target.toFixed(2)}`);
}

const tiny = spec(fx('tiny_cnn', 'fp32', 'onnx'), 3, 20);
const rate = (f: (s: string) => { ms: number }) => {
  const t0 = performance.now();
  for (let i = 0; i < rounds * 2; i++) f(tiny);
  return (rounds * 2) / ((performance.now() - t0) / 1000);
};
const sps = { native: rate(native), node: rate(nodeHarness) };
results.sessionsPerSecond = sps;
console.log(`\nsessions/s back to back (tiny_cnn .onnx, one at a time): native ${sps.native.toFixed(1)}, Node harness ${sps.node.toFixed(1)}`);

const sizes = { x86_64: x86.manifest.sizeBytes, aarch64: arm.manifest.sizeBytes };
results.bundleBytes = sizes;
console.log(`bundle sizes: x86_64 ${sizes.x86_64} bytes (${(sizes.x86_64 / 1048576).toFixed(1)} MB), aarch64 ${sizes.aarch64} bytes (${(sizes.aarch64 / 1048576).toFixed(1)} MB)`);

mkdirSync(path.join(config.dataDir, 'bench'), { recursive: true });
writeFileSync(path.join(config.dataDir, 'bench', 'native-harness.json'), `${JSON.stringify(results, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });
