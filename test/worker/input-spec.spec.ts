import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixturePaths } from './support.js';
import { bufferSource, onnxInputs } from '@pocketbench/contracts';
import { DEFAULT_IMAGE_INPUT, inputsForArtifact } from '../../services/worker/src/input-spec.js';

describe('worker/input-spec', () => {
  let onnxPath: string;
  let ptlPath: string;
  before(async function () {
    this.timeout(600_000);
    const fx = await fixturePaths();
    onnxPath = fx.onnx;
    ptlPath = fx.ptl;
  });

  it('reads an ONNX model\'s graph inputs (name, shape, dtype) without loading it', () => {
    assert.deepEqual(onnxInputs(bufferSource(readFileSync(onnxPath))), [{ name: 'input', shape: [1, 3, 32, 32], dtype: 'float32' }]);
  });

  it('uses the run\'s inputs when given, the default image input for .ptl', async () => {
    const given = [{ name: 'x', shape: [1, 8], dtype: 'int64' as const }];
    assert.deepEqual(await inputsForArtifact(onnxPath, 'onnx', given), given);
    assert.deepEqual(await inputsForArtifact(ptlPath, 'ptl'), [DEFAULT_IMAGE_INPUT]);
  });

  it('refuses bytes that are not an ONNX graph with a clear error', () => {
    assert.throws(() => onnxInputs(bufferSource(new TextEncoder().encode('definitely not protobuf'))), /protobuf|graph|varint/);
  });
});
