import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateBenchReport } from '@pocketbench/contracts';
import { fixture, harnessFixtures, specFor } from './fixtures-support.js';

const BIN = fileURLToPath(new URL('../../device-agents/harness/bin/pocketbench-harness.mjs', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000, cwd: os.tmpdir() }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('pocketbench-harness CLI', function () {
  this.timeout(300_000);
  let dir: string;
  before(async function () {
    await harnessFixtures();
    dir = mkdtempSync(path.join(os.tmpdir(), 'pocketbench-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('run --spec --out writes a valid ok report and exits 0', async function () {
    const { fixtures } = await harnessFixtures();
    const specFile = path.join(dir, 'spec.json');
    const out = path.join(dir, 'report.json');
    writeFileSync(specFile, JSON.stringify(specFor(fixture(fixtures, 'tiny_cnn', 'fp32', 'ptl'), { labels: { session: 's-1' } })));
    const r = await cli(['run', '--spec', specFile, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(validateBenchReport(report).ok);
    assert.equal(report.status, 'ok');
    assert.deepEqual(report.labels, { session: 's-1' });
    assert.equal(existsSync(`${out}.tmp`), false);
  });

  it('exits 3 for an unsupported backend and 2 for an error, still writing the report', async function () {
    const { fixtures } = await harnessFixtures();
    const m = fixture(fixtures, 'tiny_cnn', 'fp32', 'onnx');
    const unsupported = path.join(dir, 'nnapi.json');
    writeFileSync(unsupported, JSON.stringify(specFor(m, { backend: 'nnapi' })));
    const u = await cli(['run', '--spec', unsupported]);
    assert.equal(u.code, 3);
    assert.equal(JSON.parse(u.stdout).status, 'unsupported');
    const missing = path.join(dir, 'missing.json');
    writeFileSync(missing, JSON.stringify(specFor(m, { artifact: { path: '/nonexistent/m.onnx', sha256: m.sha256, format: 'onnx' } })));
    const e = await cli(['run', '--spec', missing]);
    assert.equal(e.code, 2);
    assert.equal(JSON.parse(e.stdout).error.class, 'model_missing');
  });

  it('answers a spec file that is not JSON with a bad_spec report naming the file', async function () {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"specVersion": 1,');
    const r = await cli(['run', '--spec', bad]);
    assert.equal(r.code, 2);
    const report = JSON.parse(r.stdout);
    assert.ok(validateBenchReport(report).ok);
    assert.equal(report.error.class, 'bad_spec');
    assert.match(report.error.message, /bad\.json is not JSON/);
  });

  it('probe lists onnxruntime cpu+vulkan and pytorch-lite cpu with the Vulkan adapter', async function () {
    const r = await cli(['probe']);
    assert.equal(r.code, 0, r.stderr);
    const caps = JSON.parse(r.stdout);
    assert.deepEqual(caps.runtimes.onnxruntime.backends, ['cpu', 'vulkan']);
    assert.deepEqual(caps.runtimes['pytorch-lite'].backends, ['cpu']);
    assert.ok(caps.vulkan.adapters[0].name);
  });

  it('prints usage and exits 64 for an unknown command', async function () {
    const r = await cli(['frobnicate']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /usage/);
  });
});
