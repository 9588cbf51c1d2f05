import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getArtifact, getConversion } from '@pocketbench/db';
import type { WebServer } from '../../services/api/src/index.js';
import { WorkerHost } from '../../services/worker/src/worker-host.js';
import { ensureDigitsFixtures, type DigitsFixtures } from '@pocketbench/harness';
import { makeConversionModels, makeDigitsCalibration, type ConversionModels } from '../conversion/support.js';
import type { TestDatabase } from '../support/db.js';
import { cloneDevice, SHARED_DATA_DIR } from '../worker/support.js';
import { cli as runCli, startE2eStack, type E2eStack } from '../support/e2e.js';

/** The CLI as a user runs it, against this test's api. */
const cli = (args: string[], url: string) => runCli(args, url, { timeoutMs: 240_000 });

/**
 * Variants end to end: `pocketbench submit model.pt --variants … --calibration … --wait` against a
 * real api and a worker host with this machine's device and the converter (python3-torch):
 * conversion jobs, lite-interpreter artifacts linked to the parent, every variant benchmarked.
 */
describe('e2e: one fp32 TorchScript model → fp32 / int8-dynamic / int8-static .ptl measured side by side', function () {
  this.timeout(600_000);
  let stack: E2eStack;
  let db: TestDatabase;
  let api: WebServer;
  let host: WorkerHost;
  let tmp: string;
  let models: ConversionModels;
  /** The fidelity fixture: digits_cnn trained on sklearn's digits, its fp32 TorchScript and held-out eval set. */
  let digits: DigitsFixtures;
  let calibration: string;
  const arch = process.arch === 'x64' ? 'x86_64' : 'aarch64';

  before(async function () {
    this.timeout(900_000);
    stack = await startE2eStack({
      name: 'e2e-variants',
      worker: { converter: 'on' },
      devices: async (layer, { prefix, tmp }) => (await layer.discoverLocalDevices({ dataDir: SHARED_DATA_DIR }))
        .filter((d) => !d.emulated)
        .map((d) => cloneDevice(d, `${d.id}-var-${prefix.slice(-6)}`, d.pool, path.join(tmp, 'devices'))),
    });
    ({ db, api, host, tmp } = stack);
    models = await makeConversionModels(path.join(tmp, 'models'));
    digits = await ensureDigitsFixtures(SHARED_DATA_DIR);
    calibration = await makeDigitsCalibration(path.join(tmp, 'models'));
    assert.ok(host.converter, 'this host has the converter (python3-torch)');
  });

  after(async () => stack?.close());

  it('converts with the calibration set, links three .ptl artifacts to the parent, int8-static ≥ 3× smaller, every variant benchmarked, accuracy drop against fp32 in results --json', async () => {
    // The README's one command, with the fidelity fixture's held-out eval set for accuracy.
    const r = await cli([
      'submit', digits.trainedFp32Pt.path, '--variants', 'fp32,int8-dynamic,int8-static', '--calibration', calibration,
      '--eval-set', digits.evalSet.path, '--devices', 'host', '--iterations', '10', '--warmup', '2', '--wait', '--json',
    ], api.url);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, 'done');
    assert.ok(doc.parent, 'the parent is in the results');
    const parent = (await getArtifact(db.pool, doc.parent.artifactId))!;
    assert.equal(parent.format, 'pt');
    assert.deepEqual(doc.conversions.map((c: { variant: string; status: string }) => [c.variant, c.status]), [
      ['fp32', 'done'], ['int8-dynamic', 'done'], ['int8-static', 'done'],
    ]);
    assert.equal(parent.sha256, digits.trainedFp32Pt.sha256);
    const calibrationSha = createHash('sha256').update(await readFile(calibration)).digest('hex');
    const sizes: Record<string, number> = {};
    for (const c of doc.conversions) {
      const a = (await getArtifact(db.pool, c.artifactId))!;
      assert.equal(a.format, 'ptl');
      assert.equal(a.variant, c.variant);
      assert.equal(a.parentArtifactId, parent.id, `${c.variant} is linked to its parent`);
      assert.match(String(a.recipe?.torchVersion), /^1\.13/);
      sizes[c.variant] = a.sizeBytes;
    }
    const staticRecipe = doc.conversions[2].recipe;
    assert.equal(staticRecipe.calibration.sha256, calibrationSha, 'the recipe names the calibration set');
    assert.match(staticRecipe.qconfig, /qnnpack/);
    assert.ok(sizes.fp32 >= 3 * sizes['int8-static'], `int8-static ${sizes['int8-static']} B is at least 3× smaller than fp32 ${sizes.fp32} B`);

    assert.equal(doc.cells.length, 3);
    for (const c of doc.cells) {
      assert.equal(c.status, 'done', `${c.variant}: ${c.reason}`);
      assert.equal(c.parentArtifactId, parent.id);
      assert.equal(c.deviceArch, arch);
      assert.equal(c.backendUsed, 'cpu');
      assert.ok(c.p50Ms > 0 && c.peakRssMb > 0, `${c.variant} measured`);
    }
    assert.deepEqual(doc.cells.map((c: { variant: string }) => c.variant), ['fp32', 'int8-dynamic', 'int8-static']);

    // Fidelity: the converted fp32 .ptl is every variant's default reference; accuracy on the eval set and the drop.
    const results = await cli(['results', doc.runId, '--json'], api.url);
    assert.equal(results.code, 0, results.stderr);
    const cells = JSON.parse(results.stdout).cells as { variant: string; artifactId: string; fidelity?: {
      reference: { artifactId: string; variant: string; format: string } | null; accuracyTop1Pct: number | null;
      referenceAccuracyTop1Pct: number | null; accuracyDropPct: number | null; top1AgreementPct: number | null; } }[];
    const fp32Cell = cells.find((c) => c.variant === 'fp32')!;
    for (const c of cells) {
      const f = c.fidelity!;
      assert.ok(f, `${c.variant} has a fidelity pass`);
      assert.equal(f.reference?.artifactId, fp32Cell.artifactId, `${c.variant}: the fp32 .ptl variant is the reference`);
      assert.ok(f.accuracyTop1Pct! >= 90, `${c.variant}: accuracy ${f.accuracyTop1Pct} % on the held-out digits`);
      assert.equal(f.referenceAccuracyTop1Pct, fp32Cell.fidelity!.accuracyTop1Pct);
      assert.ok(Math.abs(f.accuracyDropPct! - (f.referenceAccuracyTop1Pct! - f.accuracyTop1Pct!)) < 1e-9, `${c.variant}: drop ${f.accuracyDropPct}`);
      assert.ok(Math.abs(f.accuracyDropPct!) <= 3, `${c.variant}: accuracy drop ${f.accuracyDropPct} pp against fp32`);
    }
    assert.equal(fp32Cell.fidelity!.accuracyDropPct, 0);

    const text = await cli(['results', doc.runId], api.url);
    assert.match(text.stdout, /variants of digits_cnn \(fp32 TorchScript/);
    assert.match(text.stdout, /→ int8-static \.ptl: [\d.]+ MB \([\d.]+× smaller than fp32\)/);
  });

  it('serves the same recipe from the cache: same conversions, same artifacts, no second conversion', async () => {
    const r = await cli([
      'submit', digits.trainedFp32Pt.path, '--variants', 'fp32,int8-static', '--calibration', calibration,
      '--devices', 'host', '--iterations', '3', '--warmup', '1', '--wait', '--json',
    ], api.url);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const { rows } = await db.pool.query<{ id: string; artifact_id: string }>(
      `SELECT c.id, c.output_artifact_id AS artifact_id FROM conversions c WHERE c.variant IN ('fp32', 'int8-static') ORDER BY c.variant`);
    assert.deepEqual(doc.conversions.map((c: { artifactId: string }) => c.artifactId).sort(), rows.map((x) => x.artifact_id).sort());
    for (const row of rows) assert.equal((await getConversion(db.pool, row.id))!.attempts, 1, 'converted once');
    assert.ok(doc.cells.every((c: { status: string }) => c.status === 'done'));
  });

  it('a model that cannot be int8-static quantized: that cell is unsupported naming the op, the other variants run', async () => {
    const r = await cli([
      'submit', models.unconvertible, '--variants', 'fp32,int8-dynamic,int8-static', '--calibration-samples', '4',
      '--input', 'input:1x1x8x8:float32', '--devices', 'host', '--iterations', '3', '--warmup', '1', '--wait', '--json',
    ], api.url);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: int8-static is calibrated on 4 generated inputs/);
    const doc = JSON.parse(r.stdout);
    const byVariant = Object.fromEntries(doc.cells.map((c: { variant: string }) => [c.variant, c]));
    assert.equal(byVariant.fp32.status, 'done');
    assert.equal(byVariant['int8-dynamic'].status, 'done');
    assert.equal(byVariant['int8-static'].status, 'unsupported');
    assert.match(byVariant['int8-static'].reason, /quantized::conv3d/);
    assert.equal(doc.conversions[2].status, 'unsupported');
  });
});
