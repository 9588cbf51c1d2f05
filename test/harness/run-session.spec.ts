import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { validateBenchReport, type BenchReport } from '@pocketbench/contracts';
import { runSession } from '@pocketbench/harness';
import { fixture, harnessFixtures, specFor } from './fixtures-support.js';

describe('harness runSession: every runner × backend on the fixtures', function () {
  this.timeout(600_000);
  const reports = new Map<string, BenchReport>();
  const key = (name: string, variant: string, format: string, backend: string) => `${name}/${variant}/${format}/${backend}`;

  before(async function () {
    const { config, fixtures } = await harnessFixtures();
    // One session per cell; the assertions below read these reports.
    for (const m of fixtures.models) {
      const backends = m.format === 'onnx' ? ['cpu', 'vulkan'] : ['cpu'];
      for (const backend of backends) {
        const spec = specFor(m, { backend: backend as 'cpu' | 'vulkan', iterations: backend === 'vulkan' && m.name === 'resnet18' ? 2 : 4 });
        reports.set(key(m.name, m.variant, m.format, backend), await runSession(spec, { config }));
      }
    }
  });

  it('runs all 15 cells to status ok with schema-valid reports', function () {
    assert.equal(reports.size, 15);
    for (const [cell, r] of reports) {
      assert.equal(r.status, 'ok', `${cell}: ${r.error?.message ?? r.backend.reason}`);
      const v = validateBenchReport(r);
      assert.ok(v.ok, `${cell}: ${!v.ok && v.errors.join('; ')}`);
    }
  });

  it('keeps exactly the requested number of timed iterations, all positive', function () {
    for (const [cell, r] of reports) {
      const spec = r.spec as { iterations: number };
      assert.equal(r.timing!.iterationsUs.length, spec.iterations, cell);
      assert.ok(r.timing!.iterationsUs.every((us) => us > 0), cell);
      assert.equal(r.summary!.count, spec.iterations, cell);
      assert.ok(r.timing!.modelLoadMs > 0 && r.timing!.firstInferenceMs > 0, cell);
    }
  });

  it('reports the model size as the file size and peak RSS of at least the fp32 model size', function () {
    for (const [cell, r] of reports) {
      assert.equal(r.model!.sizeBytes, statSync(r.model!.path).size, cell);
      assert.equal(r.memory!.method, 'VmHWM');
      const fp32 = reports.get(key(cell.split('/')[0], 'fp32', cell.split('/')[2], 'cpu'))!;
      assert.ok(r.memory!.peakRssBytes >= fp32.model!.sizeBytes, `${cell}: peak RSS ${r.memory!.peakRssBytes} < fp32 size ${fp32.model!.sizeBytes}`);
    }
  });

  it('makes int8-static .ptl at least 3× smaller than fp32 for the torchvision models', function () {
    for (const name of ['mobilenet_v2', 'resnet18']) {
      const fp32 = reports.get(key(name, 'fp32', 'ptl', 'cpu'))!.model!.sizeBytes;
      const int8 = reports.get(key(name, 'int8-static', 'ptl', 'cpu'))!.model!.sizeBytes;
      assert.ok(fp32 / int8 >= 3, `${name}: fp32 ${fp32} / int8-static ${int8} = ${(fp32 / int8).toFixed(2)}`);
    }
  });

  it('reports the backend the runtime ran every node on, from its own evidence, with the Vulkan adapter for vulkan', function () {
    for (const [cell, r] of reports) {
      const detail = r.runtime.detail ?? {};
      if (r.runtime.name === 'onnxruntime') {
        // From ONNX Runtime's per-node profile, not from the request: only the requested backend's EP ran nodes.
        const provider = r.backend.requested === 'vulkan' ? 'WebGpuExecutionProvider' : 'CPUExecutionProvider';
        assert.deepEqual(detail.executionProviders, [provider], cell);
        assert.ok(Number(detail.profiledNodes) >= 3, `${cell}: ${detail.profiledNodes} profiled nodes`);
        assert.deepEqual(detail.requestedExecutionProviders, [r.backend.requested === 'vulkan' ? 'webgpu' : 'cpu'], cell);
      } else {
        // From the model's operator list: optimize_for_mobile'd fp32 runs XNNPACK's prepacked ops, int8-static qnnpack's.
        assert.ok(Number(detail.operatorCount) > 0, cell);
        if (cell.includes('/fp32/')) assert.ok((detail.xnnpackOps as string[]).includes('prepacked::conv2d_clamp_run'), `${cell}: ${JSON.stringify(detail)}`);
        if (cell.includes('/int8-static/')) assert.ok((detail.quantizedOps as string[]).some((op) => op.startsWith('quantized::conv2d')), `${cell}: ${JSON.stringify(detail)}`);
      }
      assert.equal(r.backend.used, r.backend.requested, cell);
      if (r.backend.requested === 'vulkan') {
        assert.ok(r.backend.adapter?.name, `${cell}: no adapter name`);
        assert.equal(detail.cpuFallback, 'disabled', cell);
      }
    }
  });

  it('names runtime versions and records host facts and device snapshots', function () {
    for (const [cell, r] of reports) {
      assert.match(r.runtime.version ?? '', /^\d+\.\d+/, cell);
      assert.ok(r.host.cores >= 1 && r.host.arch && r.host.kernel, cell);
      assert.ok(Date.parse(r.device.after.takenAt) >= Date.parse(r.device.before.takenAt), cell);
      assert.equal(r.device.before.loadAvg.length, 3);
    }
  });

  it('feeds every runtime the same seeded input and gets the same top-1 from fp32 ptl, onnx cpu and onnx vulkan', function () {
    for (const name of ['tiny_cnn', 'mobilenet_v2', 'resnet18']) {
      const cells = [key(name, 'fp32', 'ptl', 'cpu'), key(name, 'fp32', 'onnx', 'cpu'), key(name, 'fp32', 'onnx', 'vulkan')].map((k) => reports.get(k)!);
      const digests = new Set(cells.map((r) => r.output!.inputDigest));
      assert.equal(digests.size, 1, `${name}: inputs differ across runtimes`);
      const top1 = new Set(cells.map((r) => r.output!.topK[0]));
      assert.equal(top1.size, 1, `${name}: top-1 differs: ${cells.map((r) => r.output!.topK.join(',')).join(' | ')}`);
      for (const r of cells) assert.equal(r.output!.topK.length, 5);
    }
  });

  it('gives the same output digest when the same spec runs twice', async function () {
    const { config, fixtures } = await harnessFixtures();
    const m = fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx');
    const again = await runSession(specFor(m, { iterations: 4 }), { config });
    assert.equal(again.output!.digest, reports.get(key('tiny_cnn', 'fp32', 'onnx', 'cpu'))!.output!.digest);
  });

  it('keeps timing past the iteration count until minDurationMs is reached', async function () {
    const { config, fixtures } = await harnessFixtures();
    const m = fixture(fixtures, 'tiny_cnn', 'fp32', 'ptl');
    const r = await runSession(specFor(m, { iterations: 3, minDurationMs: 200 }), { config });
    assert.equal(r.status, 'ok');
    assert.ok(r.timing!.iterationsUs.length > 3);
    assert.ok(r.timing!.timedDurationMs >= 200);
  });
});
