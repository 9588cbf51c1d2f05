import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evalSampleFits, NpzError, readEvalSet, readNpz } from '@pocketbench/contracts';

describe('contracts npz: eval sets as numpy writes them', function () {
  this.timeout(60_000);
  let dir: string;
  /** Bytes of an .npz written by numpy (`savez` or `savez_compressed`) from Python expressions. */
  const npz = (members: Record<string, string>, fn = 'savez'): Buffer => {
    const file = path.join(dir, `${Object.keys(members).join('-')}-${fn}-${Math.random()}.npz`);
    execFileSync('/usr/bin/python3', ['-c', `import numpy as np; np.${fn}(${JSON.stringify(file)}, ${Object.entries(members).map(([k, v]) => `${k}=${v}`).join(', ')})`]);
    return readFileSync(file);
  };
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'pb-npz-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads stored and deflated members with their dtype, shape and values', function () {
    for (const fn of ['savez', 'savez_compressed']) {
      const m = readNpz(npz({ a: 'np.arange(6, dtype=np.float32).reshape(2, 3) / 2', b: 'np.array([[-1], [2**40]], np.int64)', c: 'np.array([7], np.uint8)' }, fn));
      assert.deepEqual(m.get('a')!.shape, [2, 3]);
      assert.equal(m.get('a')!.dtype, 'f4');
      assert.deepEqual([...m.get('a')!.values], [0, 0.5, 1, 1.5, 2, 2.5]);
      assert.deepEqual([...m.get('b')!.values], [-1, 2 ** 40]);
      assert.deepEqual([...m.get('c')!.values], [7]);
    }
  });

  it('validates an eval set: counts, sample shape, label range', function () {
    const { info, labels } = readEvalSet(npz({ inputs: 'np.zeros((5, 1, 8, 8), np.float64)', labels: 'np.array([3, 0, 9, 1, 2])' }));
    assert.deepEqual(info, { count: 5, sampleShape: [1, 8, 8], inputDtype: 'f8', minLabel: 0, maxLabel: 9 });
    assert.deepEqual([...labels], [3, 0, 9, 1, 2]);
  });

  it('names the problem with a bad eval set', function () {
    const bad: [Record<string, string>, RegExp][] = [
      [{ inputs: 'np.zeros((2, 4))' }, /no 'labels' array \(it has: inputs\)/],
      [{ x: 'np.zeros(2)', labels: 'np.zeros(2)' }, /no 'inputs' array/],
      [{ inputs: 'np.zeros((3, 4))', labels: 'np.array([1, -1, 2])' }, /labels\[1\] is -1/],
      [{ inputs: 'np.zeros((2, 4))', labels: 'np.array([0.5, 1])' }, /labels\[0\] is 0.5/],
      [{ inputs: 'np.zeros((3, 4))', labels: 'np.array([1, 2])' }, /labels: shape \[2\] does not fit 3 inputs/],
      [{ inputs: 'np.zeros((2, 4), ">f4")', labels: 'np.array([1, 2])' }, /inputs: element type '>f4' is not supported/],
      [{ inputs: 'np.full((2, 4), np.nan)', labels: 'np.array([1, 2])' }, /inputs: element 0 is NaN/],
    ];
    for (const [members, message] of bad) assert.throws(() => readEvalSet(npz(members)), (e: Error) => e instanceof NpzError && message.test(e.message), JSON.stringify(members));
    assert.throws(() => readEvalSet(Buffer.from('not a zip')), /not an \.npz file/);
    assert.throws(() => readEvalSet(npz({ inputs: 'np.zeros((11, 2))', labels: 'np.zeros(11, int)' }), { maxSamples: 10 }), /11 samples; at most 10/);
  });

  it('fits a sample to a model input directly or as a batch of one', function () {
    assert.equal(evalSampleFits([1, 8, 8], [1, 1, 8, 8]), null);
    assert.equal(evalSampleFits([1, 1, 8, 8], [1, 1, 8, 8]), null);
    assert.match(evalSampleFits([28, 28], [1, 1, 8, 8])!, /\[28, 28\].*\[1, 1, 8, 8\]/);
  });
});
