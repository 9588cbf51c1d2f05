import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { detectConverter, runConverter, type ConverterCapability } from '../../services/worker/src/conversion/converter.js';
import { makeConversionModels, type ConversionModels } from './support.js';

const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

describe('conversion/convert_model.py: one fp32 TorchScript model → lite-interpreter variants', function () {
  this.timeout(300_000);
  let tmp: string;
  let models: ConversionModels;
  let converter: ConverterCapability;

  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'pb-converter-'));
    models = await makeConversionModels(path.join(tmp, 'models'));
    const found = await detectConverter('/usr/bin/python3');
    assert.ok(!('unavailable' in found), JSON.stringify(found));
    converter = found;
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const convert = async (dir: string, variant: 'fp32' | 'int8-dynamic' | 'int8-static', extra: { model?: string; calibration?: string; calibrationSamples?: number } = {}) => {
    await mkdir(path.join(tmp, dir), { recursive: true });
    const out = path.join(tmp, dir, 'model.ptl');
    const r = await runConverter(converter.python, {
      model: extra.model ?? models.convnet, variant, format: 'ptl', out, inputShape: [1, 1, 8, 8], seed: 0, timeoutMs: 120_000,
      calibration: extra.calibration, calibrationSamples: extra.calibrationSamples,
    });
    return { r, out };
  };

  it('finds the converter without importing torch and names the torch version', () => {
    assert.match(converter.torchVersion, /^1\.13/);
  });

  it('says why a host without torch cannot convert', async () => {
    const missing = await detectConverter('/nonexistent/python3');
    assert.ok('unavailable' in missing);
    assert.match(missing.unavailable, /python3-torch/);
  });

  it('is deterministic: the same model, recipe and calibration give the same bytes', async () => {
    const a = await convert('a', 'int8-static', { calibration: models.calibration });
    const b = await convert('b', 'int8-static', { calibration: models.calibration });
    assert.equal(a.r.kind, 'ok');
    assert.equal(b.r.kind, 'ok');
    assert.equal(await sha(a.out), await sha(b.out));
    if (a.r.kind !== 'ok') return;
    assert.equal(a.r.sha256, await sha(a.out));
    assert.equal(a.r.recipe.calibration?.source, 'file');
    assert.equal((a.r.recipe.calibration as { sha256: string }).sha256, await sha(models.calibration));
    assert.match(String(a.r.recipe.qconfig), /qnnpack|HistogramObserver/);
  });

  it('int8-static is at least 3× smaller than fp32 on a conv net; int8-dynamic quantizes only the Linear', async () => {
    const fp32 = await convert('fp32', 'fp32');
    const dyn = await convert('dyn', 'int8-dynamic');
    const stat = await convert('static', 'int8-static', { calibrationSamples: 4 });
    assert.ok(fp32.r.kind === 'ok' && dyn.r.kind === 'ok' && stat.r.kind === 'ok');
    assert.ok(fp32.r.sizeBytes >= 3 * stat.r.sizeBytes, `fp32 ${fp32.r.sizeBytes} B vs int8-static ${stat.r.sizeBytes} B`);
    assert.ok(dyn.r.sizeBytes < fp32.r.sizeBytes);
    assert.deepEqual(stat.r.recipe.calibration, { source: 'generated', samples: 4, generator: 'torch.randn seed 0' });
  });

  it('names the op when a variant cannot be made, and makes the others', async () => {
    const stat = await convert('u-static', 'int8-static', { model: models.unconvertible, calibrationSamples: 2 });
    assert.equal(stat.r.kind, 'model');
    if (stat.r.kind !== 'model') return;
    assert.equal(stat.r.op, 'quantized::conv3d');
    assert.match(stat.r.message, /quantized::conv3d has no qnnpack kernel/);
    assert.equal((await convert('u-fp32', 'fp32', { model: models.unconvertible })).r.kind, 'ok');
  });

  it('a file that is not TorchScript is the model\'s fault, not the host\'s', async () => {
    const r = await convert('bad', 'fp32', { model: models.calibration });
    assert.equal(r.r.kind, 'model');
    if (r.r.kind === 'model') assert.equal(r.r.errorKind, 'not_torchscript');
  });
});
