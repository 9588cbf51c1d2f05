import assert from 'node:assert/strict';
import type { BenchReport } from '@pocketbench/contracts';
import { sessionFromReport, type SessionContext } from '@pocketbench/stats';
import { sampleReport } from '../worker/devices/support/sample-report.js';

const spec = { specVersion: 1, artifact: { path: '/m.onnx', sha256: 'a'.repeat(64), format: 'onnx' }, runtime: 'onnxruntime', backend: 'cpu', threads: 1, warmup: 2, iterations: 5, seed: 3, inputs: [{ name: 'x', shape: [1, 3], dtype: 'float32' }], timeBudgetSec: 60 };
const ctx: SessionContext = { jobId: 'run.0', runId: 'run', role: 'head', sessionIndex: 0, artifactId: 'art', deviceId: 'dev' };

function report(over: Partial<BenchReport> = {}, iterationsUs = [100, 200, 300, 400, 500]): BenchReport {
  const r = sampleReport(spec, { arch: 'x86_64', os: 'Linux 6.1', method: 'PSS' }) as unknown as BenchReport;
  return { ...r, timing: { ...r.timing!, iterationsUs }, ...over };
}

describe('stats/session-from-report', () => {
  it('summarises iterations: percentiles, MAD and CV', () => {
    const s = sessionFromReport(report(), ctx).summary!;
    assert.equal(s.minUs, 100);
    assert.equal(s.meanUs, 300);
    assert.equal(s.p50Us, 300);
    assert.equal(s.p90Us, 460);
    assert.equal(s.madUs, 100);
    assert.ok(Math.abs(s.cv - Math.sqrt(25000) / 300) < 1e-12);
    assert.equal(sessionFromReport(report({}, []), ctx).summary, null);
  });

  it('stores integer µs and summarises what it stores', () => {
    const row = sessionFromReport(report({}, [100.4, 199.6, 300.2]), ctx);
    assert.deepEqual(row.iterationsUs, [100, 200, 300]);
    assert.equal(row.summary!.meanUs, 200);
  });

  it('maps an ok report to an ok row with its figures, and a series only with device facts', () => {
    const row = sessionFromReport(report(), { ...ctx, attempt: 2, seriesDevice: { deviceModel: 'box', osVersion: '6.1' } });
    assert.equal(row.status, 'ok');
    assert.equal(row.errorClass, null);
    assert.equal(row.attempt, 2);
    assert.equal(row.source, 'farm');
    assert.equal(row.loadMs, 12.5);
    assert.equal(row.peakRssBytes, 50_000_000);
    assert.equal(row.modelSizeBytes, 1234);
    assert.equal(row.deviceArch, 'x86_64');
    assert.deepEqual(row.series, { deviceModel: 'box', osVersion: '6.1', inputSpec: { inputs: spec.inputs, seed: 3 } });
    assert.equal(sessionFromReport(report(), ctx).series, undefined);
  });

  it('stores an ok session with unstable reasons as `unstable`, the reasons as its message', () => {
    const row = sessionFromReport(report(), { ...ctx, unstableReasons: ['robust CV 12 % exceeds the cap', 'too hot'] });
    assert.equal(row.status, 'unstable');
    assert.equal(row.errorClass, 'unstable');
    assert.equal(row.errorMessage, 'robust CV 12 % exceeds the cap; too hot');
  });

  it('keeps an error report\'s class and message, and the artifact size where the model never loaded', () => {
    const r = report({ status: 'error', error: { class: 'model_load', message: 'bad graph' }, model: undefined, timing: undefined });
    const row = sessionFromReport(r, { ...ctx, artifactSizeBytes: 999, unstableReasons: ['ignored: not ok'] });
    assert.equal(row.status, 'error');
    assert.equal(row.errorClass, 'model_load');
    assert.equal(row.errorMessage, 'bad graph');
    assert.equal(row.modelSizeBytes, 999);
    assert.deepEqual(row.iterationsUs, []);
  });

  it('an unsupported report carries the backend\'s reason', () => {
    const r = report({ status: 'unsupported', backend: { requested: 'vulkan', used: null, reason: 'no Vulkan device' }, timing: undefined });
    const row = sessionFromReport(r, { ...ctx, source: 'external' });
    assert.equal(row.status, 'unsupported');
    assert.equal(row.errorMessage, 'no Vulkan device');
    assert.equal(row.backendUsed, null);
    assert.equal(row.source, 'external');
  });
});
