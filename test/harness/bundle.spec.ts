import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateBenchReport } from '@pocketbench/contracts';
import { ensureHarnessBundle } from '@pocketbench/harness/bundle';
import { fixture, harnessFixtures, specFor } from './fixtures-support.js';

/** Plain `node` with a clean environment: on a device there is no tsx and no repository. */
function nodeRun(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('harness bundle for Linux targets', function () {
  this.timeout(300_000);
  let dataDir: string;
  let work: string;
  before(async function () {
    const { config } = await harnessFixtures();
    dataDir = config.dataDir;
    work = mkdtempSync(path.join(os.tmpdir(), 'pocketbench-bundle-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('is versioned by content and reused when nothing changed', async function () {
    const a = await ensureHarnessBundle({ dataDir });
    const b = await ensureHarnessBundle({ dataDir });
    assert.deepEqual(a, b);
    assert.match(a.version, /^\d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    const manifest = JSON.parse(readFileSync(path.join(a.dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.version, a.version);
    assert.equal(manifest.entry, 'lib/harness.mjs');
  });

  it('runs under plain node outside the repository: probe, then onnx and ptl sessions', async function () {
    const bundle = await ensureHarnessBundle({ dataDir });
    const entry = path.join(bundle.dir, 'lib', 'harness.mjs');
    const probe = await nodeRun([entry, 'probe'], work);
    assert.equal(probe.code, 0, probe.stderr);
    const caps = JSON.parse(probe.stdout);
    assert.equal(caps.harness.version, bundle.version);
    assert.deepEqual(caps.backends, ['cpu', 'vulkan']);
    const { fixtures } = await harnessFixtures();
    for (const format of ['onnx', 'ptl'] as const) {
      const specFile = path.join(work, `spec-${format}.json`);
      const out = path.join(work, `report-${format}.json`);
      writeFileSync(specFile, JSON.stringify(specFor(fixture(fixtures, 'tiny_cnn', 'fp32', format))));
      const r = await nodeRun([entry, 'run', '--spec', specFile, '--out', out], work);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(readFileSync(out, 'utf8'));
      assert.ok(validateBenchReport(report).ok);
      assert.equal(report.status, 'ok');
      assert.equal(report.harness.version, bundle.version);
    }
  });
});
