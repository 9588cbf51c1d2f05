import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureDigitsFixtures, ensurePtlRunner, loadConfig, runSession, type DigitsFixtures } from '@pocketbench/harness';
import { specFor } from './fixtures-support.js';

describe('digits fidelity fixture: a trained model, its variants and a wrong twin', function () {
  this.timeout(600_000);
  let fx: DigitsFixtures;
  const config = loadConfig(process.env);

  before(async function () {
    await ensurePtlRunner(config.ptlRunnerPath);
    fx = await ensureDigitsFixtures(config.dataDir);
  });

  it('has every variant, the wrong twin, the TorchScript source and the eval set', function () {
    const have = fx.models.map((m) => `${m.name}-${m.variant}.${m.format}`).sort();
    assert.deepEqual(have, [
      'digits_cnn-fp32.onnx',
      'digits_cnn-fp32.ptl',
      'digits_cnn-int8-dynamic.ptl',
      'digits_cnn-int8-static.ptl',
      'digits_cnn_wrong-fp32.onnx',
      'digits_cnn_wrong-fp32.ptl',
    ]);
    assert.match(fx.trainedFp32Pt.path, /digits_cnn-fp32\.pt$/);
    // A full-JIT TorchScript file is a zip archive, like a .ptl.
    assert.equal(readFileSync(fx.trainedFp32Pt.path).subarray(0, 2).toString('latin1'), 'PK');
    assert.equal(fx.evalSet.count, 400);
    assert.equal(fx.evalSet.classes, 10);
  });

  it('learned the digits (every variant >= 95 % held-out accuracy) and the twin did not', function () {
    for (const m of fx.models) {
      if (m.name === 'digits_cnn') assert.ok(m.evalTop1Pct >= 95, `${m.file}: ${m.evalTop1Pct} %`);
      else assert.ok(m.evalTop1Pct <= 20, `${m.file}: ${m.evalTop1Pct} %`);
    }
    const int8 = fx.models.find((m) => m.variant === 'int8-static')!;
    assert.ok(int8.sizeBytes < fx.models.find((m) => m.variant === 'fp32' && m.format === 'ptl')!.sizeBytes / 2, 'int8-static is smaller');
  });

  it('is cached: a second call reuses the same files', async function () {
    const again = await ensureDigitsFixtures(config.dataDir);
    assert.equal(again.dir, fx.dir);
    assert.deepEqual(again.models.map((m) => m.sha256), fx.models.map((m) => m.sha256));
  });

  it('runs in the harness as .ptl (native runner) and .onnx', async function () {
    for (const m of fx.models.filter((x) => x.name === 'digits_cnn')) {
      const report = await runSession(specFor(m, { iterations: 3 }), { config });
      assert.equal(report.status, 'ok', `${m.file}: ${report.error?.message}`);
    }
  });
});
