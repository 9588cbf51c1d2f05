import assert from 'node:assert/strict';
import { generateInput, mulberry32 } from '@pocketbench/harness';

describe('harness seeded input', function () {
  it('mulberry32 matches the reference C sequence documented in the README', function () {
    const next = mulberry32(7);
    // First values of the reference C implementation (README, "Generated input") for seed 7.
    assert.deepEqual([next(), next(), next()], [REF_SEED7[0], REF_SEED7[1], REF_SEED7[2]]);
  });

  it('generates the same bytes for the same seed, different bytes for another, within [low, high)', function () {
    const input = { name: 'x', shape: [2, 3, 4], dtype: 'float32' as const, distribution: { low: -1, high: 1 } };
    const a = generateInput(input, 1);
    assert.equal(a.length, 2 * 3 * 4 * 4);
    assert.deepEqual(a, generateInput(input, 1));
    assert.notDeepEqual(a, generateInput(input, 2));
    const f = new Float32Array(a.buffer, a.byteOffset, 24);
    assert.ok(f.every((v) => v >= -1 && v < 1));
    const ints = generateInput({ name: 'i', shape: [100], dtype: 'int64', distribution: { low: 0, high: 10 } }, 3);
    const i64 = new BigInt64Array(ints.buffer, ints.byteOffset, 100);
    assert.ok(i64.every((v) => v >= 0n && v < 10n));
  });
});

const REF_SEED7 = [50271532, 266108690, 4195786334];
