/**
 * How good are the harness's numbers? Three measurements on this machine:
 *  1. overhead: harness median vs a bare loop over the same runtime, model, threads and input,
 *     sessions interleaved (H B H B …) so drift hits both alike; target |Δ| ≤ 2 %.
 *  2. agreement: harness pytorch-lite median vs torch.utils.benchmark.Timer on the same .ptl
 *     and threads, interleaved; target |Δ| ≤ 5 %.
 *  3. noise: CV of session medians over 10 sessions per runtime.
 * Usage: node --import tsx bench/harness/measurement-quality.ts [--rounds N] [--iterations N] [--model mobilenet_v2]
 * Prints a markdown table and writes JSON to <dataDir>/bench/harness-measurement-quality.json.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { BenchSpec } from '@pocketbench/contracts';
import { ensureFixtures, ensurePtlRunner, generateInput, loadConfig, readHostFacts, runSession, type FixtureModel } from '@pocketbench/harness';
import { median } from '@pocketbench/stats';
import { PTL_ALLOCATOR_ENV } from '../../device-agents/harness/src/ptl/ptl-runner.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '16' }, iterations: { type: 'string', default: '30' }, model: { type: 'string', default: 'mobilenet_v2' }, threads: { type: 'string', default: '1' } },
});
const ROUNDS = Number(args.rounds);
const ITER = Number(args.iterations);
const THREADS = Number(args.threads);
const WARMUP = 5;
const SEED = 7;

// The contenders run with the same process-level allocator settings as the harness's ptl runner:
// the comparison is about the harness, not about glibc's trimming.
const SAME_PROCESS_ENV = { ...process.env, ...PTL_ALLOCATOR_ENV };
const cv = (xs: number[]) => {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1)) / m;
};
/** Ratio of medians, and the median of per-pair ratios: neighbours in time share the machine's load. */
const compare = (a: number[], b: number[]) => ({ ratio: median(a) / median(b) - 1, pairRatio: median(a.map((x, i) => x / b[i])) - 1 });
const pct = (r: number) => `${r >= 0 ? '+' : ''}${(r * 100).toFixed(2)} %`;

const config = loadConfig(process.env);
await ensurePtlRunner(config.ptlRunnerPath);
const fixtures = await ensureFixtures(config.dataDir);
const pick = (variant: string, format: string) => fixtures.models.find((m) => m.name === args.model && m.variant === variant && m.format === format)!;
const loadAtStart = os.loadavg()[0];
const scratch = await mkdtemp(path.join(os.tmpdir(), 'pocketbench-bench-'));
const inputFile = path.join(scratch, 'input.bin');

function spec(m: FixtureModel, iterations = ITER): BenchSpec {
  return {
    specVersion: 1,
    artifact: { path: m.path, sha256: m.sha256, format: m.format },
    runtime: m.format === 'onnx' ? 'onnxruntime' : 'pytorch-lite',
    backend: 'cpu', threads: THREADS, warmup: WARMUP, iterations, seed: SEED, inputs: m.inputs, timeBudgetSec: 600,
  };
}

/** A session's median, and its fastest iteration: the figure least touched by other load on the machine. */
interface Session { p50: number; min: number }

async function harnessSession(m: FixtureModel, iterations = ITER): Promise<Session> {
  const r = await runSession(spec(m, iterations), { config });
  if (r.status !== 'ok') throw new Error(`${m.file}: ${r.error?.message}`);
  return { p50: r.summary!.p50Us, min: r.summary!.minUs };
}

async function bareSession(m: FixtureModel): Promise<Session> {
  const shape = m.inputs[0].shape.join('x');
  const common = [String(THREADS), String(WARMUP), String(ITER), inputFile, shape];
  const { stdout } = m.format === 'onnx'
    ? await run(process.execPath, [path.join(here, 'ort-bare-loop.mjs'), m.path, ...common], { maxBuffer: 16 << 20 })
    : await run(path.join(path.dirname(config.ptlRunnerPath), 'ptl-bare-loop'), [m.path, ...common], { maxBuffer: 16 << 20, env: SAME_PROCESS_ENV });
  const us = JSON.parse(stdout) as number[];
  return { p50: median(us), min: Math.min(...us) };
}

async function timerSession(m: FixtureModel): Promise<Session> {
  const { stdout } = await run('/usr/bin/python3', [path.join(here, 'torch_timer.py'), m.path, String(THREADS), inputFile, m.inputs[0].shape.join('x'), '1'], { maxBuffer: 16 << 20, env: SAME_PROCESS_ENV });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { median_us: number; min_us: number };
  return { p50: r.median_us, min: r.min_us };
}

try {
  const onnx = pick('fp32', 'onnx');
  const ptl = pick('fp32', 'ptl');
  // The same bytes the harness generates for seed 7, so every contender sees the same input.
  await writeFile(inputFile, generateInput(onnx.inputs[0], SEED));
  const results: Record<string, unknown> = { host: readHostFacts(), model: args.model, threads: THREADS, iterations: ITER, rounds: ROUNDS, at: new Date().toISOString() };
  const rows: string[] = [];

  for (const m of [onnx, ptl]) {
    const h: Session[] = [];
    const b: Session[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      h.push(await harnessSession(m));
      b.push(await bareSession(m));
    }
    const med = compare(h.map((x) => x.p50), b.map((x) => x.p50));
    const fastest = compare(h.map((x) => x.min), b.map((x) => x.min));
    results[`overhead.${m.format}`] = { harness: h, bare: b, delta: med.ratio, pairedDelta: med.pairRatio, minDelta: fastest.ratio };
    rows.push(`| overhead (${m.format === 'onnx' ? 'onnxruntime' : 'pytorch-lite'}, ${m.file}) | harness ${(median(h.map((x) => x.p50)) / 1000).toFixed(3)} ms vs bare loop ${(median(b.map((x) => x.p50)) / 1000).toFixed(3)} ms (${h.length} pairs) | ${pct(med.ratio)} (paired ${pct(med.pairRatio)}; fastest iteration ${pct(fastest.ratio)}) | ≤ 2 % |`);
  }

  for (const m of [ptl, pick('int8-static', 'ptl')]) {
    const h: Session[] = [];
    const t: Session[] = [];
    for (let i = 0; i < Math.max(3, Math.ceil(ROUNDS / 2)); i++) {
      h.push(await harnessSession(m));
      t.push(await timerSession(m));
    }
    const med = compare(h.map((x) => x.p50), t.map((x) => x.p50));
    const fastest = compare(h.map((x) => x.min), t.map((x) => x.min));
    results[`agreement.${m.variant}`] = { harness: h, torchTimer: t, delta: med.ratio, pairedDelta: med.pairRatio, minDelta: fastest.ratio };
    rows.push(`| agreement (${m.file}) | harness ${(median(h.map((x) => x.p50)) / 1000).toFixed(3)} ms vs torch.utils.benchmark.Timer ${(median(t.map((x) => x.p50)) / 1000).toFixed(3)} ms (${h.length} pairs) | ${pct(med.ratio)} (paired ${pct(med.pairRatio)}; fastest ${pct(fastest.ratio)}) | ≤ 5 % |`);
  }

  for (const m of [onnx, ptl]) {
    const medians: number[] = [];
    for (let i = 0; i < 10; i++) medians.push((await harnessSession(m)).p50);
    const c = cv(medians);
    results[`noise.${m.format}`] = { sessionMediansUs: medians, cv: c };
    rows.push(`| noise (${m.file}, 10 sessions × ${ITER}) | median of medians ${(median(medians) / 1000).toFixed(3)} ms, range ${(Math.min(...medians) / 1000).toFixed(3)}–${(Math.max(...medians) / 1000).toFixed(3)} ms | CV ${(c * 100).toFixed(2)} % | — |`);
  }

  const out = path.join(config.dataDir, 'bench', 'harness-measurement-quality.json');
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2));
  console.log(`host: ${(results.host as { cpuModel: string }).cpuModel}, ${(results.host as { cores: number }).cores} cores, load ${loadAtStart.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}, threads ${THREADS}, ${ITER} iterations/session, ${ROUNDS} interleaved rounds\n`);
  console.log('| measurement | figures | Δ / CV | target |\n|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nraw: ${out}`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
