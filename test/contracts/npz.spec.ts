import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bufferSource, evalSampleFits, NpzError, OnnxError, onnxInputs, readEvalSet, readNpz, readNpzHeaders, readOnnxModel, readZipDirectory, ZipError,
} from '@pocketbench/contracts';

/** Offset of the central directory entry naming `member` (its sizes at +20 and +24). */
function centralEntry(zip: Buffer, member: string): number {
  for (let p = zip.indexOf('PK\x01\x02', 0, 'latin1'); p >= 0; p = zip.indexOf('PK\x01\x02', p + 4, 'latin1')) {
    if (zip.toString('utf8', p + 46, p + 46 + zip.readUInt16LE(p + 28)) === member) return p;
  }
  throw new Error(`no central directory entry ${member}`);
}

describe('contracts npz: eval sets as numpy writes them', function () {
  this.timeout(60_000);
  let dir: string;
  /** Bytes of an .npz written by numpy (`savez` or `savez_compressed`) from Python expressions. */
  const npz = (members: Record<string, string>, fn = 'savez'): Buffer => {
    const file = path.join(dir, `${Object.keys(members).join('-')}-${fn}-${Math.random()}.npz`);
    execFileSync('/usr/bin/python3', ['-c', `import numpy as np; np.${fn}(${JSON.stringify(file)}, ${Object.entries(members).map(([k, v]) => `${k}=${v}`).join(', ')})`]);
    return readFileSync(file);
  };
  /** A zip written by Python's zipfile, member name → text. */
  const zipOf = (members: Record<string, string>): Buffer => {
    const file = path.join(dir, `zip-${Math.random()}.zip`);
    execFileSync('/usr/bin/python3', ['-c', `import zipfile, json; z = zipfile.ZipFile(${JSON.stringify(file)}, 'w'); [z.writestr(k, v) for k, v in json.loads(${JSON.stringify(JSON.stringify(members))}).items()]; z.close()`]);
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

  it('reads headers only: dtype, descr and shape, half floats included, no values', function () {
    const h = readNpzHeaders(npz({ inputs: 'np.zeros((3, 2, 4), np.float16)', other: 'np.zeros(5, "<i2")' }, 'savez_compressed'));
    assert.deepEqual(h.get('inputs'), { dtype: 'f2', descr: '<f2', shape: [3, 2, 4] });
    assert.deepEqual(h.get('other'), { dtype: 'i2', descr: '<i2', shape: [5] });
    assert.equal('values' in h.get('inputs')!, false);
    assert.deepEqual([...readNpz(npz({ h: 'np.array([1.5, -2, 65504], np.float16)' })).get('h')!.values], [1.5, -2, 65504]);
  });

  it('refuses a truncated or corrupt archive, naming what is wrong', function () {
    const good = npz({ inputs: 'np.arange(64, dtype=np.float32)' });
    assert.throws(() => readNpz(good.subarray(0, good.length - 30)), (e: Error) => e instanceof NpzError && /not an \.npz file \(no end-of-central-directory record/.test(e.message));
    assert.throws(() => readNpz(good.subarray(0, 10)), /not an \.npz file \(too short/);
    // The directory intact, the data cut short: the member's bytes run past the end.
    const cut = Buffer.concat([good.subarray(0, 100), good.subarray(good.indexOf('PK\x01\x02', 0, 'latin1'))]);
    cut.writeUInt32LE(cut.readUInt32LE(cut.length - 6) - (good.length - cut.length), cut.length - 6);
    assert.throws(() => readNpz(cut), /corrupt: entry inputs\.npy is truncated|points past the data/);
    // A header whose shape asks for more data than the member holds (same length, so the zip stays valid).
    const lying = Buffer.from(good);
    lying.write("(65,)", lying.indexOf("(64,)", 0, 'latin1'), 'latin1');
    assert.throws(() => readNpz(lying), /inputs: data is truncated: 256 bytes for 65 × <f4/);
    assert.throws(() => readNpzHeaders(lying), /inputs: data is truncated/);
    // Anything but .npy members is not an .npz (a PyTorch archive, say).
    assert.throws(() => readNpz(zipOf({ 'archive/data.pkl': 'x' })), /not an \.npz file: it holds "archive\/data\.pkl", which is not an \.npy array/);
  });

  it('refuses element types it cannot read: big-endian, complex, objects', function () {
    for (const [expr, descr] of [['np.zeros(2, ">f8")', '>f8'], ['np.zeros(2, np.complex64)', '<c8'], ['np.array([1, "a"], dtype=object)', '|O']]) {
      assert.throws(() => readNpzHeaders(npz({ x: expr })), (e: Error) => e instanceof NpzError && e.message.includes(`x: element type '${descr}' is not supported`), expr);
    }
  });

  it('refuses zip bombs by their declared size before inflating, and members that inflate past it', function () {
    const bomb = npz({ inputs: 'np.zeros(20_000_000, np.uint8)' }, 'savez_compressed');
    assert.ok(bomb.length < 100_000, `${bomb.length} bytes compressed`);
    assert.throws(() => readNpz(bomb, { maxInflatedBytes: 1 << 20 }), /declares 20000128 bytes uncompressed; at most 1048576/);
    // The directory lies: it declares 1000 bytes for a member that inflates to 20 MB.
    const liar = Buffer.from(bomb);
    liar.writeUInt32LE(1000, centralEntry(liar, 'inputs.npy') + 24);
    assert.throws(() => readNpzHeaders(liar, { maxInflatedBytes: 1 << 20 }), /entry inputs\.npy inflates to more than the 1000 bytes its directory declares/);
    assert.throws(() => readNpz(npz({ a: 'np.zeros(1)', b: 'np.zeros(1)', c: 'np.zeros(1)' }), { maxEntries: 2 }), /has 3 members; at most 2/);
  });

  it('fits a sample to a model input directly or as a batch of one', function () {
    assert.equal(evalSampleFits([1, 8, 8], [1, 1, 8, 8]), null);
    assert.equal(evalSampleFits([1, 1, 8, 8], [1, 1, 8, 8]), null);
    assert.match(evalSampleFits([28, 28], [1, 1, 8, 8])!, /\[28, 28\].*\[1, 1, 8, 8\]/);
  });
});

/** A protobuf field: tag then payload (varint for numbers, length-delimited for the rest). */
function field(n: number, v: number | string | Buffer): Buffer {
  const varint = (x: number) => {
    const out: number[] = [];
    do {
      out.push((x & 0x7f) | (x >= 0x80 ? 0x80 : 0));
      x = Math.floor(x / 128);
    } while (x > 0);
    return Buffer.from(out);
  };
  if (typeof v === 'number') return Buffer.concat([varint(n * 8), varint(v)]);
  const payload = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([varint(n * 8 + 2), varint(payload.length), payload]);
}

describe('contracts onnx and zip: the one ONNX (protobuf) reader and the one zip directory reader', () => {
  const tensor = (dims: (number | string)[]) =>
    field(2, field(1, Buffer.concat([field(1, 1), field(2, Buffer.concat(dims.map((d) => field(1, typeof d === 'number' ? field(1, d) : field(2, d)))))])));
  const graph = Buffer.concat([
    field(1, Buffer.concat([field(1, 'x'), field(2, 'y'), field(4, 'Relu')])),
    field(5, Buffer.concat([field(1, 4), field(8, 'w')])),
    field(11, Buffer.concat([field(1, 'x'), tensor(['batch', 3, 8, 8])])),
    field(11, Buffer.concat([field(1, 'w'), tensor([4])])),
    field(12, Buffer.concat([field(1, 'y'), tensor([1])])),
  ]);
  const model = Buffer.concat([field(1, 8), field(2, 'hand'), field(7, graph), field(8, Buffer.concat([field(1, ''), field(2, 17)]))]);

  it('reads ir_version, opsets, counts and the graph inputs (initializers excluded, symbolic dims null)', () => {
    const info = readOnnxModel(bufferSource(model));
    assert.deepEqual(info, {
      irVersion: 8, producer: 'hand', opsets: [{ domain: 'ai.onnx', version: 17 }], nodes: 1, initializers: 1,
      inputs: [{ name: 'x', elemType: 1, dims: [null, 3, 8, 8] }],
    });
  });

  it('reads a session\'s inputs from the graph alone, symbolic dimensions as 1', () => {
    assert.deepEqual(onnxInputs(bufferSource(field(7, graph))), [{ name: 'x', shape: [1, 3, 8, 8], dtype: 'float32' }]);
    assert.throws(() => onnxInputs(bufferSource(field(1, 8))), /no graph/);
  });

  it('names where a truncated or malformed model breaks', () => {
    assert.throws(() => readOnnxModel(bufferSource(model.subarray(0, model.length - 3))), (e: Error) => e instanceof OnnxError && /claims \d+ bytes but only \d+ remain/.test(e.message));
    assert.throws(() => readOnnxModel(bufferSource(Buffer.concat([field(1, 8), field(8, 'x')]))), /no graph \(field 7\)/);
    assert.throws(() => readOnnxModel(bufferSource(Buffer.from([0x08, 0x08, 0x3a, 0x00]))), /no opset_import|graph declares no outputs/);
    assert.throws(() => readOnnxModel(bufferSource(Buffer.concat([field(1, 8), field(7, 7)]))), /ModelProto\.graph \(field 7\) has wire type 0, expected 2/);
    assert.throws(() => readOnnxModel(bufferSource(Buffer.from([0x08, 0xff, 0xff]))), /varint at byte 1 runs past the end/);
  });

  it('refuses a zip directory that points outside the file', () => {
    const zip = Buffer.from([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0, 46, 0, 0, 0, 0xff, 0, 0, 0, 0, 0]);
    assert.throws(() => readZipDirectory(bufferSource(zip)), (e: Error) => e instanceof ZipError && /central directory \(255\+46\) overlaps its end record at 0/.test(e.message));
  });
});
