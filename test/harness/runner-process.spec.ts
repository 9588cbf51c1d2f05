import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { runRunnerProcess } from '../../device-agents/harness/src/runner-process.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

describe('harness runner process', function () {
  it('reads the last JSON line a runner prints', async function () {
    const r = await runRunnerProcess('/bin/sh', ['-c', 'echo noise; echo \'{"status":"unsupported","reason":"x"}\''], { env, timeoutMs: 10_000 });
    assert.equal(r.kind, 'result');
    assert.deepEqual(r.kind === 'result' && r.result, { status: 'unsupported', reason: 'x' });
  });

  it('reports a runner killed by a signal as a crash, with core dumps off', async function () {
    // The runner prints its core-size limit, then dies the way a segfaulting runtime does.
    const r = await runRunnerProcess('/bin/sh', ['-c', 'echo "core=$(ulimit -c)" >&2; kill -SEGV $$'], { env, timeoutMs: 10_000 });
    assert.equal(r.kind, 'crash');
    assert.equal(r.kind === 'crash' && r.signal, 'SIGSEGV');
    assert.match(r.stderr, /core=0/);
  });

  it('kills the runner and what it started at the deadline', async function () {
    const started = Date.now();
    // Sleeps with a unique fractional duration, so their command lines identify them.
    const marker = `${process.pid}${Date.now() % 100000}`;
    const r = await runRunnerProcess('/bin/sh', ['-c', `sleep 30.${marker} & sleep 31.${marker}; wait`], { env, timeoutMs: 300 });
    assert.equal(r.kind, 'timeout');
    assert.ok(Date.now() - started < 3000);
    await new Promise((res) => setTimeout(res, 100));
    const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, []);
  });

  it('reports a runner that cannot start as a crash naming the problem', async function () {
    const r = await runRunnerProcess('/nonexistent/ptl-runner', [], { env, timeoutMs: 10_000 });
    assert.equal(r.kind, 'crash');
    assert.match(r.stderr, /nonexistent|not found/);
  });
});
