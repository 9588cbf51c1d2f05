import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BACKENDS,
  BENCH_ERROR_CLASSES,
  BENCH_REPORT_SCHEMA_PATH,
  BENCH_SPEC_SCHEMA_PATH,
  validateBenchReport,
  validateBenchSpec,
} from '@pocketbench/contracts';

const spec = {
  specVersion: 1,
  artifact: { path: '/data/local/tmp/m.ptl', sha256: 'a'.repeat(64), format: 'ptl' },
  runtime: 'pytorch-lite',
  backend: 'cpu',
  threads: 4,
  warmup: 5,
  iterations: 50,
  inputs: [{ name: 'input', shape: [1, 3, 224, 224], dtype: 'float32' }],
  timeBudgetSec: 300,
};
const snapshot = { takenAt: '2026-01-01T00:00:00.000Z', thermalZones: { cpu: 41.5 }, cpuFreqKhz: [1800000], governor: 'schedutil', loadAvg: [0.1, 0.2, 0.3] };
const base = {
  reportVersion: 1,
  harness: { name: 'x', version: '1' },
  spec,
  runtime: { name: 'pytorch-lite', version: '1.13.0' },
  device: { before: snapshot, after: snapshot },
  host: { arch: 'aarch64', cpuModel: 'Cortex-A76', cores: 8, kernel: '6.1', os: 'Android 14' },
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
};

describe('contracts: BenchSpec / BenchReport schemas', function () {
  it('accepts a complete spec and names each bad field of a broken one', function () {
    assert.ok(validateBenchSpec(spec).ok);
    const bad = validateBenchSpec({ ...spec, specVersion: 2, threads: 0, artifact: { ...spec.artifact, sha256: 'xyz' }, extra: 1 });
    assert.equal(bad.ok, false);
    const text = !bad.ok ? bad.errors.join('\n') : '';
    for (const field of ['/specVersion', '/threads', '/artifact/sha256', "unknown field 'extra'"]) assert.match(text, new RegExp(field.replace(/[/]/g, '\\/')));
  });

  it('requires the measurements when status is ok, an error when status is error, a reason when unsupported', function () {
    assert.equal(validateBenchReport({ ...base, status: 'ok', backend: { requested: 'cpu', used: 'cpu' } }).ok, false);
    assert.equal(validateBenchReport({ ...base, status: 'error', backend: { requested: 'cpu', used: null } }).ok, false);
    assert.ok(validateBenchReport({ ...base, status: 'error', error: { class: 'timeout', message: 'x' }, backend: { requested: 'cpu', used: null } }).ok);
    assert.equal(validateBenchReport({ ...base, status: 'unsupported', backend: { requested: 'nnapi', used: null } }).ok, false);
    assert.ok(validateBenchReport({ ...base, status: 'unsupported', backend: { requested: 'nnapi', used: null, reason: 'no NNAPI' } }).ok);
    const ok = {
      ...base,
      status: 'ok',
      backend: { requested: 'cpu', used: 'cpu' },
      model: { path: '/m', sha256: 'a'.repeat(64), sizeBytes: 10, format: 'ptl' },
      timing: { modelLoadMs: 1, firstInferenceMs: 2, warmup: 5, iterationsUs: [10, 11], timedDurationMs: 0.021 },
      summary: { count: 2, minUs: 10, meanUs: 10.5, p50Us: 10.5, p90Us: 10.9, p99Us: 11, maxUs: 11, stddevUs: 0.7, madUs: 0.5, cv: 0.07 },
      memory: { peakRssBytes: 100, method: 'PSS' },
      output: { index: 0, dtype: 'float32', shape: [1, 1000], topK: [1, 2, 3, 4, 5], inputDigest: `sha256:${'b'.repeat(64)}` },
    };
    assert.ok(validateBenchReport(ok).ok);
    assert.equal(validateBenchReport({ ...ok, backend: { requested: 'cpu', used: null } }).ok, false);
  });

  it('keeps the schema files in step with the TypeScript vocabulary', function () {
    const specSchema = JSON.parse(readFileSync(BENCH_SPEC_SCHEMA_PATH, 'utf8'));
    const reportSchema = JSON.parse(readFileSync(BENCH_REPORT_SCHEMA_PATH, 'utf8'));
    assert.deepEqual(specSchema.properties.backend.enum, [...BACKENDS]);
    assert.deepEqual(reportSchema.properties.error.properties.class.enum, [...BENCH_ERROR_CLASSES]);
  });
});
