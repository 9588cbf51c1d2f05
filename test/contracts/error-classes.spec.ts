import assert from 'node:assert/strict';
import {
  BENCH_ERROR_CLASSES, ERROR_CLASSES, FAULT_POLICY, faultPolicy, GATE_FAULT_ERROR_CLASSES, MODEL_FAULT_ERROR_CLASSES, WORKER_ERROR_CLASSES,
} from '@pocketbench/contracts';

describe('contracts: model-fault error classes', () => {
  it('are the harness\'s model classes and what the worker finds too large for a device, leaving out what another attempt may fix', () => {
    for (const c of MODEL_FAULT_ERROR_CLASSES) assert.ok([...BENCH_ERROR_CLASSES, 'model_too_large', 'input_too_large'].includes(c), c);
    assert.deepEqual([...MODEL_FAULT_ERROR_CLASSES].sort(), ['bad_spec', 'inference', 'input_mismatch', 'input_too_large', 'model_load', 'model_too_large', 'timeout']);
    // The worker retries these (transfer, infrastructure, a crash that may be the device's).
    for (const c of ['crash', 'model_missing', 'model_hash_mismatch', 'internal', 'unsupported_backend']) {
      assert.equal(MODEL_FAULT_ERROR_CLASSES.has(c), false, c);
    }
  });
});

describe('contracts: fault policy', () => {
  it('has a policy for every harness and worker error class, and a model fault is never retried', () => {
    for (const c of ERROR_CLASSES) {
      const p = FAULT_POLICY[c];
      assert.ok(p, c);
      if (p.failCell) assert.equal(p.retry, false, `${c}: a class that fails the cell at once is not retried`);
    }
    assert.deepEqual([...ERROR_CLASSES].sort(), [...BENCH_ERROR_CLASSES, ...WORKER_ERROR_CLASSES].sort());
  });

  it('the gate fails a head on the model faults and a persisting crash, not on infrastructure', () => {
    assert.deepEqual([...GATE_FAULT_ERROR_CLASSES].sort(), ['bad_spec', 'crash', 'inference', 'input_mismatch', 'input_too_large', 'model_load', 'model_too_large', 'timeout']);
    for (const c of ['transfer', 'device_unavailable', 'harness_timeout', 'internal']) assert.equal(faultPolicy(c).failGate, false, c);
  });

  it('an unknown class is treated as infrastructure: retried and blamed on the device', () => {
    assert.deepEqual(faultPolicy('something new'), FAULT_POLICY.infrastructure);
    assert.deepEqual(faultPolicy(null), { retry: true, blameDevice: true, failCell: false, failGate: false });
  });
});
