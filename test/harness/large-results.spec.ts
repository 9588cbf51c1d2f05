// A result of many timed iterations is far larger than a pipe's buffer; it used to be cut
// when a runner exited right after writing it ("exited with code 0 without a result").
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateBenchReport } from '@pocketbench/contracts';
import { ensureFixtures, ensurePtlRunner, loadConfig, runSession, type FixtureManifest, type HarnessConfig } from '@pocketbench/harness';
import { onnxRunnerCommand } from '../../device-agents/harness/src/onnx/onnx-runner.js';
import type { RunnerResult } from '../../device-agents/harness/src/runner-protocol.js';
import { fixture, specFor } from './fixtures-support.js';

const ITERATIONS = 20_000;
const WRITE_FULLY = fileURLToPath(new URL('../../device-agents/harness/src/write-fully.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything the child prints on stdout, read only from the moment this is called. */
async function readAll(child: ChildProcessByStdio<null, Readable, Readable>): Promise<string> {
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
  if (!child.stdout.readableEnded) await new Promise((resolve) => child.stdout.once('end', resolve));
  return text;
}

describe('harness: large runner results reach the reader whole', function () {
  this.timeout(120_000);
  let config: HarnessConfig;
  let fixtures: FixtureManifest;
  let dir: string;
  before(async function () {
    config = loadConfig(process.env);
    await ensurePtlRunner(config.ptlRunnerPath);
    fixtures = await ensureFixtures(config.dataDir, ['tiny_cnn']);
    dir = mkdtempSync(path.join(os.tmpdir(), 'pocketbench-large-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`the ONNX runner waits for a slow reader to take all ${ITERATIONS} iterations`, async function () {
    const m = fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx');
    const input = path.join(dir, 'input.bin');
    writeFileSync(input, Buffer.alloc(m.inputs[0].shape.reduce((a, b) => a * b, 1) * 4));
    const outputFile = path.join(dir, 'output.bin');
    const { command, args } = onnxRunnerCommand({
      modelPath: m.path, backend: 'cpu', threads: 1, warmup: 1, iterations: ITERATIONS, minDurationMs: 0,
      inputs: [{ name: m.inputs[0].name, dtype: 'float32', shape: m.inputs[0].shape, file: input }], outputIndex: 0, outputFile, scratchDir: dir,
    });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.resume();
    // The runner writes the output file just before its result line. Not reading for a while
    // after that leaves most of the line queued in the runner: a runner that exits now loses it.
    const deadline = Date.now() + 60_000;
    while (!existsSync(outputFile) && Date.now() < deadline) await sleep(50);
    await sleep(500);
    const text = await readAll(child);
    assert.equal(child.exitCode, 0);
    assert.ok(text.endsWith('}\n'), `the result line was cut after ${text.length} characters`);
    const result = JSON.parse(text) as RunnerResult;
    assert.equal(result.status, 'ok');
    assert.equal(result.status === 'ok' && result.iterationsUs.length, ITERATIONS);
  });

  for (const format of ['onnx', 'ptl'] as const) {
    it(`runSession keeps all ${ITERATIONS} timed iterations of the tiny ${format} model`, async function () {
      const r = await runSession(specFor(fixture(fixtures, 'tiny_cnn', 'fp32', format), { iterations: ITERATIONS }), { config });
      assert.equal(r.status, 'ok', r.error?.message);
      assert.equal(r.timing!.iterationsUs.length, ITERATIONS);
      assert.ok(validateBenchReport(r).ok);
    });
  }

  it('writeFully lets a process exit only after a slow reader took everything', async function () {
    // 4 MB through a 64 kB pipe: exit after a plain write() would drop most of it.
    const script = `import { writeFully } from ${JSON.stringify(WRITE_FULLY)};
      process.stderr.write('writing\\n');
      writeFully(process.stdout, 'x'.repeat(4 << 20) + '\\n').then(() => process.exit(0));`;
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => child.stderr.setEncoding('utf8').on('data', (d: string) => d.includes('writing') && resolve()));
    await sleep(300);
    const text = await readAll(child);
    assert.equal(text.length, (4 << 20) + 1);
  });
});
