import { createHash } from 'node:crypto';

const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/**
 * A schema-valid `ok` BenchReport that a simulated phone's harness "writes" for the spec it was
 * given (fixed figures: these tests are about the command sequence, not the numbers).
 */
export function sampleReport(spec: Record<string, any>, device: { arch: string; os: string; method: 'PSS' | 'phys_footprint' }): Record<string, unknown> {
  const snap = { takenAt: new Date().toISOString(), thermalZones: { cpu: 41.5 }, cpuFreqKhz: [1800000], governor: 'schedutil', loadAvg: [0.5, 0.4, 0.3] };
  return {
    reportVersion: 1,
    status: 'ok',
    harness: { name: 'pocketbench-native', version: '0.0.1-test' },
    spec,
    runtime: { name: 'onnxruntime', version: '1.20.0' },
    backend: { requested: spec.backend ?? 'cpu', used: spec.backend ?? 'cpu' },
    model: { path: spec.artifact.path, sha256: spec.artifact.sha256, sizeBytes: 1234, format: spec.artifact.format },
    timing: { modelLoadMs: 12.5, firstInferenceMs: 3.1, warmup: 2, iterationsUs: [1500, 1480, 1510], timedDurationMs: 4.49 },
    summary: { count: 3, minUs: 1480, meanUs: 1496.7, p50Us: 1500, p90Us: 1508, p99Us: 1510, maxUs: 1510, stddevUs: 15.3, madUs: 10, cv: 0.0102 },
    memory: { peakRssBytes: 50_000_000, method: device.method },
    output: { index: 0, dtype: 'float32', shape: [1, 10], digest: digest('out'), topK: [3, 1, 0, 2, 4], inputDigest: digest('in') },
    device: { before: snap, after: snap },
    host: { arch: device.arch, cpuModel: 'test SoC', cores: 8, kernel: '6.1', os: device.os },
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
  };
}
