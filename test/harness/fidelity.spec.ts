import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateBenchReport, type BenchReport, type BenchSpec } from '@pocketbench/contracts';
import { ensureDigitsFixtures, ensurePtlRunner, loadConfig, runSession, type DigitsFixtures, type FixtureModel } from '@pocketbench/harness';
import { specFor } from './fixtures-support.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** An .npz written by numpy itself (Debian's python3-numpy), from a Python expression per member. */
function npz(file: string, members: Record<string, string>): { path: string; sha256: string } {
  const args = Object.entries(members).map(([k, v]) => `${k}=${v}`).join(', ');
  execFileSync('/usr/bin/python3', ['-c', `import numpy as np; np.savez(${JSON.stringify(file)}, ${args})`]);
  return { path: file, sha256: sha(file) };
}

describe('harness fidelity pass: agreement with a reference and eval-set accuracy (digits fixture)', function () {
  this.timeout(900_000);
  const config = loadConfig(process.env);
  let fx: DigitsFixtures;
  let tmp: string;
  let reference: NonNullable<BenchSpec['fidelity']>['reference'];
  const reports = new Map<string, BenchReport>();
  const model = (name: string, variant: string, format: string): DigitsFixtures['models'][number] =>
    fx.models.find((m) => m.name === name && m.variant === variant && m.format === format)!;
  const fidelitySpec = (m: FixtureModel, fidelity: BenchSpec['fidelity']): BenchSpec => specFor(m, { iterations: 2, warmup: 1, fidelity });

  before(async function () {
    await ensurePtlRunner(config.ptlRunnerPath);
    fx = await ensureDigitsFixtures(config.dataDir);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pb-fidelity-'));
    const evalSet = { path: fx.evalSet.path, sha256: fx.evalSet.sha256 };
    // The reference: fp32 .ptl on this host, writing its raw outputs.
    const refFile = path.join(tmp, 'reference.f32');
    const refReport = await runSession(fidelitySpec(model('digits_cnn', 'fp32', 'ptl'), { inputs: 32, evalSet, outputsPath: refFile }), { config });
    assert.equal(refReport.status, 'ok', refReport.error?.message);
    reports.set('reference', refReport);
    reference = { path: refFile, sha256: sha(refFile), outputs: refReport.fidelity!.outputs.map((o) => ({ shape: o.shape })) };
    for (const m of fx.models) {
      const r = await runSession(fidelitySpec(m, { inputs: 32, evalSet, reference }), { config });
      reports.set(`${m.name}-${m.variant}.${m.format}`, r);
    }
  });

  after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('the reference pass writes 432 samples of [1, 10] outputs and measures the accuracy the build measured', function () {
    const r = reports.get('reference')!;
    assert.ok(validateBenchReport(r).ok);
    assert.equal(r.fidelity!.seededInputs, 32);
    assert.equal(r.fidelity!.evalSamples, 400);
    assert.deepEqual(r.fidelity!.outputs, [{ index: 0, dtype: 'float32', shape: [1, 10] }]);
    assert.equal(readFileSync(reference!.path).length, 432 * 10 * 4);
    assert.equal(r.fidelity!.accuracy!.top1Pct, model('digits_cnn', 'fp32', 'ptl').evalTop1Pct);
  });

  it('every variant agrees closely with the fp32 reference; the wrong twin does not', function () {
    for (const [name, r] of reports) {
      if (name === 'reference') continue;
      assert.equal(r.status, 'ok', `${name}: ${r.error?.message}`);
      assert.ok(validateBenchReport(r).ok, name);
      const a = r.fidelity!.agreement![0];
      assert.equal(a.rows, 432, name);
      if (name.startsWith('digits_cnn_wrong')) {
        assert.ok(a.top1AgreementPct < 20, `${name}: ${a.top1AgreementPct} %`);
        assert.ok(a.cosine < 0.5, `${name}: cosine ${a.cosine}`);
      } else {
        assert.ok(a.top1AgreementPct >= 99, `${name}: ${a.top1AgreementPct} %`);
        assert.ok(a.cosine > 0.999, `${name}: cosine ${a.cosine}`);
        assert.ok(a.top5OverlapPct >= 95, `${name}: top-5 overlap ${a.top5OverlapPct} %`);
      }
    }
    // The same network as .ptl and .onnx: a few ulps apart, never identical bit for bit is fine.
    const onnx = reports.get('digits_cnn-fp32.onnx')!.fidelity!.agreement![0];
    assert.equal(onnx.top1AgreementPct, 100);
    assert.ok(onnx.maxAbsError < 1e-3, `max abs error ${onnx.maxAbsError}`);
    assert.ok(onnx.snrDb === null || onnx.snrDb > 80, `SNR ${onnx.snrDb} dB`);
    const self = reports.get('digits_cnn-fp32.ptl')!.fidelity!.agreement![0];
    assert.equal(self.snrDb, null, 'the reference against itself is exact');
    assert.equal(self.maxAbsError, 0);
  });

  it('reports each variant\'s accuracy, the reference\'s and the drop with its discordant pairs', function () {
    for (const m of fx.models) {
      const acc = reports.get(`${m.name}-${m.variant}.${m.format}`)!.fidelity!.accuracy!;
      assert.equal(acc.samples, 400);
      // Eager PyTorch at build time and the runtime here give the same answers on these digits.
      assert.ok(Math.abs(acc.top1Pct - m.evalTop1Pct) <= 0.5, `${m.file}: ${acc.top1Pct} vs ${m.evalTop1Pct}`);
      assert.equal(acc.reference!.top1Pct, model('digits_cnn', 'fp32', 'ptl').evalTop1Pct);
      assert.ok(Math.abs(acc.dropPct! - (acc.reference!.top1Pct - acc.top1Pct)) < 1e-9);
      assert.equal(acc.discordant!.referenceOnly - acc.discordant!.modelOnly, acc.reference!.top1Correct - acc.top1Correct);
    }
  });

  it('refuses an eval set whose samples do not fit the model input, naming both shapes', async function () {
    const bad = npz(path.join(tmp, 'wrong-shape.npz'), { inputs: 'np.zeros((4, 28, 28), np.float32)', labels: 'np.arange(4)' });
    const r = await runSession(fidelitySpec(model('digits_cnn', 'fp32', 'onnx'), { inputs: 2, evalSet: bad }), { config });
    assert.equal(r.status, 'error');
    assert.equal(r.error!.class, 'input_mismatch');
    assert.match(r.error!.message, /\[28, 28\].*\[1, 1, 8, 8\]/);
    assert.equal(r.timing, undefined, 'nothing ran');
  });

  it('refuses labels out of range for the model\'s classes', async function () {
    const bad = npz(path.join(tmp, 'labels.npz'), { inputs: 'np.zeros((3, 1, 8, 8), np.float32)', labels: 'np.array([1, 12, 3])' });
    const r = await runSession(fidelitySpec(model('digits_cnn', 'fp32', 'onnx'), { inputs: 2, evalSet: bad }), { config });
    assert.equal(r.status, 'error');
    assert.equal(r.error!.class, 'bad_spec');
    assert.match(r.error!.message, /label 12 is out of range.*10 classes/);
  });

  it('refuses a reference whose outputs have other shapes', async function () {
    const file = path.join(tmp, 'ref-1000.f32');
    writeFileSync(file, Buffer.alloc(2 * 1000 * 4));
    const r = await runSession(
      fidelitySpec(model('digits_cnn', 'fp32', 'onnx'), { inputs: 2, reference: { path: file, sha256: sha(file), outputs: [{ shape: [1, 1000] }] } }),
      { config },
    );
    assert.equal(r.status, 'error');
    assert.equal(r.error!.class, 'bad_spec');
    assert.match(r.error!.message, /reference's outputs \[1, 1000\] differ from this model's \[1, 10\]/);
  });

  it('refuses an eval set that is not an .npz', async function () {
    const file = path.join(tmp, 'not.npz');
    writeFileSync(file, 'hello');
    const r = await runSession(fidelitySpec(model('digits_cnn', 'fp32', 'ptl'), { evalSet: { path: file, sha256: sha(file) } }), { config });
    assert.equal(r.status, 'error');
    assert.match(r.error!.message, /eval set: not an \.npz file/);
  });
});
