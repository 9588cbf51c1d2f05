import assert from 'node:assert/strict';
import { BENCH_ERROR_CLASSES, MODEL_FAULT_ERROR_CLASSES } from '@pocketbench/contracts';

describe('contracts: model-fault error classes', () => {
  it('are harness error classes, and leave out what another attempt may fix', () => {
    for (const c of MODEL_FAULT_ERROR_CLASSES) assert.ok((BENCH_ERROR_CLASSES as readonly string[]).includes(c), c);
    assert.deepEqual([...MODEL_FAULT_ERROR_CLASSES].sort(), ['bad_spec', 'inference', 'input_mismatch', 'model_load', 'timeout']);
    // The worker retries these (transfer, infrastructure, a crash that may be the device's).
    for (const c of ['crash', 'model_missing', 'model_hash_mismatch', 'internal', 'unsupported_backend']) {
      assert.equal(MODEL_FAULT_ERROR_CLASSES.has(c), false, c);
    }
  });
});
