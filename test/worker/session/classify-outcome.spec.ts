import assert from 'node:assert/strict';
import type { BenchReport } from '@pocketbench/contracts';
import { classifyOutcome, type OutcomeContext } from '../../../services/worker/src/session/classify-outcome.js';
import { sampleReport } from '../devices/support/sample-report.js';

const spec = { specVersion: 1, artifact: { path: '/m.onnx', sha256: 'a'.repeat(64), format: 'onnx' }, backend: 'cpu' };
const okReport = sampleReport(spec, { arch: 'x86_64', os: 'Linux', method: 'PSS' }) as unknown as BenchReport;
const errorReport = (cls: string): BenchReport => ({ ...okReport, status: 'error', error: { class: cls as never, message: `${cls} happened` } });
const ctx: OutcomeContext = { lastAttempt: false, shuttingDown: false, appiumUp: true };

describe('worker/session/classify-outcome (pure: no Redis, Postgres or Appium)', () => {
  it('stores an ok report as it is, or unstable with the hygiene reasons', () => {
    assert.deepEqual(classifyOutcome({ ran: true, report: okReport, unstableReasons: [] }, ctx), { action: 'store', report: okReport, unstableReasons: [] });
    const unstable = classifyOutcome({ ran: true, report: okReport, unstableReasons: ['CV too high'] }, ctx);
    assert.deepEqual(unstable, { action: 'store', report: okReport, unstableReasons: ['CV too high'] });
  });

  it('a device still too hot after the cooldown makes an ok session unstable, not an unsupported one', () => {
    const hot = classifyOutcome({ ran: true, report: okReport, unstableReasons: [], tooHot: 'too hot: 60 °C' }, ctx);
    assert.deepEqual(hot, { action: 'store', report: okReport, unstableReasons: ['too hot: 60 °C'] });
    const unsupported: BenchReport = { ...okReport, status: 'unsupported' };
    assert.deepEqual(classifyOutcome({ ran: true, report: unsupported, unstableReasons: [], tooHot: 'too hot' }, ctx).action, 'store');
    assert.deepEqual((classifyOutcome({ ran: true, report: unsupported, unstableReasons: [], tooHot: 'too hot' }, ctx) as { unstableReasons: string[] }).unstableReasons, []);
  });

  it('a model fault in the report is stored and fails the cell, whatever the attempt', () => {
    for (const cls of ['bad_spec', 'model_load', 'input_mismatch', 'inference', 'timeout']) {
      const o = classifyOutcome({ ran: true, report: errorReport(cls), unstableReasons: [] }, ctx);
      assert.equal(o.action, 'store', cls);
      assert.deepEqual((o as { modelFault: unknown }).modelFault, { errorClass: cls, message: `${cls} happened` });
    }
  });

  it('any other harness error is retried; a crash does not blame the device, an internal error does; the last attempt fails the cell', () => {
    assert.deepEqual(classifyOutcome({ ran: true, report: errorReport('crash'), unstableReasons: [] }, ctx), {
      action: 'retry', errorClass: 'crash', message: 'crash happened', reported: true, blameDevice: false, waitForAppium: false, failCell: false,
    });
    const internal = classifyOutcome({ ran: true, report: errorReport('internal'), unstableReasons: [] }, { ...ctx, lastAttempt: true });
    assert.deepEqual(internal, {
      action: 'retry', errorClass: 'internal', message: 'internal happened', reported: true, blameDevice: true, waitForAppium: false, failCell: true,
    });
  });

  it('a raised model fault (unreadable inputs) fails the cell before anything is stored, even while shutting down', () => {
    const o = classifyOutcome({ ran: false, errorClass: 'bad_spec', message: 'cannot read the inputs' }, { ...ctx, shuttingDown: true });
    assert.deepEqual(o, { action: 'fail-cell', errorClass: 'bad_spec', message: 'cannot read the inputs' });
  });

  it('a raised infrastructure fault is requeued during shutdown, otherwise retried and blamed on the device', () => {
    const run = { ran: false as const, errorClass: 'device_unavailable' as const, message: 'session lost' };
    assert.deepEqual(classifyOutcome(run, { ...ctx, shuttingDown: true }), { action: 'requeue', message: 'session lost' });
    assert.deepEqual(classifyOutcome(run, ctx), {
      action: 'retry', errorClass: 'device_unavailable', message: 'session lost', reported: false, blameDevice: true, waitForAppium: false, failCell: false,
    });
  });

  it('with Appium itself down nobody is blamed and the retry waits for it', () => {
    const o = classifyOutcome({ ran: false, errorClass: 'device_unavailable', message: 'ECONNREFUSED' }, { ...ctx, appiumUp: false, lastAttempt: true });
    assert.deepEqual(o, {
      action: 'retry', errorClass: 'device_unavailable', message: 'ECONNREFUSED', reported: false, blameDevice: false, waitForAppium: true, failCell: true,
    });
  });

  it('a harness killed by the driver\'s backstop is retried without blaming the device', () => {
    const o = classifyOutcome({ ran: false, errorClass: 'harness_timeout', message: 'killed' }, ctx);
    assert.equal(o.action, 'retry');
    assert.equal((o as { blameDevice: boolean }).blameDevice, false);
  });
});
