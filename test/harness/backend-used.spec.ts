import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { validateBenchReport, type BenchSpec } from '@pocketbench/contracts';
import { runSession } from '@pocketbench/harness';
import { judgePlacement, placementsFromProfile } from '../../device-agents/harness/src/onnx/node-placement.js';
import { harnessFixtures } from './fixtures-support.js';

// Det has no WebGPU kernel in ONNX Runtime 1.30 (checked: with fallback allowed the profile shows
// "/Det" on CPUExecutionProvider, the Unsqueeze and Add after it on WebGpuExecutionProvider).
const DET_MODEL_PY = `
import sys, torch
class DetPlusOne(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.det(x).unsqueeze(0) + 1.0
torch.onnx.export(DetPlusOne(), torch.rand(2, 3, 3), sys.argv[1], opset_version=13, input_names=["x"], output_names=["y"])
`;

function profile(nodes: [name: string, op: string, provider: string][]): string {
  return JSON.stringify([
    { cat: 'Session', name: 'session_initialization', args: {} },
    ...nodes.map(([name, op, provider]) => ({ cat: 'Node', name: `${name}_kernel_time`, args: { op_name: op, provider } })),
    // A node run twice is one placement.
    ...nodes.slice(0, 1).map(([name, op, provider]) => ({ cat: 'Node', name: `${name}_kernel_time`, args: { op_name: op, provider } })),
  ]);
}

describe('harness backend.used: established from what the runtime did', function () {
  this.timeout(300_000);

  describe('judging ONNX Runtime profiles', function () {
    it('reads one placement per node, in order, from the profile events', function () {
      const p = placementsFromProfile(profile([['/conv/Conv', 'Conv', 'WebGpuExecutionProvider'], ['/Det', 'Det', 'CPUExecutionProvider']]));
      assert.deepEqual(p, [
        { node: '/conv/Conv', op: 'Conv', provider: 'WebGpuExecutionProvider' },
        { node: '/Det', op: 'Det', provider: 'CPUExecutionProvider' },
      ]);
      assert.throws(() => placementsFromProfile('{"not":"a trace"}'), /not a JSON array/);
    });

    it('accepts vulkan only when every compute node ran on the WebGPU EP, memcpy aside', function () {
      const ok = judgePlacement('vulkan', placementsFromProfile(profile([['Memcpy', 'MemcpyFromHost', 'CPUExecutionProvider'], ['/conv/Conv', 'Conv', 'WebGpuExecutionProvider']])));
      assert.deepEqual(ok, { ok: true, backendUsed: 'vulkan', providers: ['CPUExecutionProvider', 'WebGpuExecutionProvider'], computeNodes: 1 });
      const bad = judgePlacement('vulkan', placementsFromProfile(profile([['/conv/Conv', 'Conv', 'WebGpuExecutionProvider'], ['/Det', 'Det', 'CPUExecutionProvider']])));
      assert.equal(bad.ok, false);
      assert.match(!bad.ok ? bad.reason : '', /1 of 2 nodes ran outside WebGpuExecutionProvider: \/Det \(Det\) on CPUExecutionProvider/);
    });

    it('accepts cpu only when every node ran on the CPU EP, and refuses to guess from an empty profile', function () {
      assert.equal(judgePlacement('cpu', placementsFromProfile(profile([['/Gemm', 'Gemm', 'CPUExecutionProvider']]))).ok, true);
      assert.equal(judgePlacement('cpu', placementsFromProfile(profile([['/Gemm', 'Gemm', 'WebGpuExecutionProvider']]))).ok, false);
      const empty = judgePlacement('cpu', placementsFromProfile(profile([])));
      assert.equal(empty.ok, false);
      assert.match(!empty.ok ? empty.reason : '', /no node executions/);
      assert.equal(judgePlacement('nnapi', placementsFromProfile(profile([['/Gemm', 'Gemm', 'CPUExecutionProvider']]))).ok, false);
    });
  });

  describe('a model with an op the WebGPU EP cannot run', function () {
    let dir: string;
    let spec: BenchSpec;

    before(async function () {
      dir = await mkdtemp(path.join(os.tmpdir(), 'pocketbench-det-'));
      const model = path.join(dir, 'det.onnx');
      await promisify(execFile)('/usr/bin/python3', ['-c', DET_MODEL_PY, model], { timeout: 120_000 });
      const sha256 = createHash('sha256').update(await readFile(model)).digest('hex');
      spec = {
        specVersion: 1,
        artifact: { path: model, sha256, format: 'onnx' },
        runtime: 'onnxruntime',
        backend: 'vulkan',
        threads: 1,
        warmup: 1,
        iterations: 3,
        seed: 7,
        inputs: [{ name: 'x', shape: [2, 3, 3], dtype: 'float32' }],
        timeBudgetSec: 60,
      };
    });

    after(async function () {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('requested on vulkan comes back unsupported, naming the node that would fall back, with no numbers', async function () {
      const { config } = await harnessFixtures();
      const r = await runSession(spec, { config });
      assert.equal(r.status, 'unsupported', `${r.status}: ${r.error?.message ?? r.backend.reason}`);
      assert.equal(r.backend.used, null);
      assert.match(r.backend.reason ?? '', /WebGPU EP cannot run/);
      assert.match(r.backend.reason ?? '', /\/Det \(Det\) on CPUExecutionProvider/);
      assert.doesNotMatch(r.backend.reason ?? '', /Unsqueeze|\/Add/, 'only the nodes that fall back are named');
      assert.equal(r.timing, undefined);
      assert.equal(r.summary, undefined);
      const v = validateBenchReport(r);
      assert.ok(v.ok, !v.ok ? v.errors.join('; ') : '');
    });

    it('runs on cpu, where the profile shows every node on the CPU EP', async function () {
      const { config } = await harnessFixtures();
      const r = await runSession({ ...spec, backend: 'cpu' }, { config });
      assert.equal(r.status, 'ok', r.error?.message ?? r.backend.reason);
      assert.equal(r.backend.used, 'cpu');
      assert.deepEqual(r.runtime.detail?.executionProviders, ['CPUExecutionProvider']);
      assert.ok(Number(r.runtime.detail?.profiledNodes) >= 2);
    });
  });
});
