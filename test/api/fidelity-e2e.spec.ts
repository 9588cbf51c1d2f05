import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureDigitsFixtures, ensurePtlRunner, loadConfig as loadHarnessConfig, type DigitsFixtures } from '@pocketbench/harness';
import type { WebServer } from '../../services/api/src/index.js';
import type { TestDatabase } from '../support/db.js';
import { SHARED_DATA_DIR } from '../worker/support.js';
import { cli as runCli, startE2eStack, type E2eStack } from '../support/e2e.js';

/** The CLI as a user runs it, against this test's api. */
const cli = (args: string[], url: string) => runCli(args, url, { timeoutMs: 400_000 });

interface ResultCell {
  model: string;
  variant: string;
  format: string;
  status: string;
  reason: string | null;
  fidelity?: { top1AgreementPct: number | null; accuracyTop1Pct: number | null; referenceAccuracyTop1Pct: number | null; accuracyDropPct: number | null; reference: { variant: string; format: string } | null };
}

/**
 * Issue 14's "Done when", end to end on real inference: the digits CNN trained here, its fp32 /
 * int8-dynamic / int8-static `.ptl` and fp32 `.onnx`, and a wrong twin, submitted with the fp32
 * `.ptl` as reference and the held-out digits as eval set; results, gate, markdown, Compare page.
 */
describe('e2e: fidelity — a fast but wrong model fails the gate', function () {
  this.timeout(900_000);
  let stack: E2eStack;
  let db: TestDatabase;
  let api: WebServer;
  let tmp: string;
  let fx: DigitsFixtures;
  let runId: string;
  let cells: ResultCell[];
  const file = (name: string, variant: string, format: string) => fx.models.find((m) => m.name === name && m.variant === variant && m.format === format)!;

  before(async function () {
    this.timeout(1_200_000);
    await ensurePtlRunner(loadHarnessConfig({ ...process.env, POCKETBENCH_DATA_DIR: SHARED_DATA_DIR }).ptlRunnerPath);
    fx = await ensureDigitsFixtures(SHARED_DATA_DIR);
    stack = await startE2eStack({ name: 'fidelity-e2e' });
    ({ db, api, tmp } = stack);

    const files = [
      file('digits_cnn', 'fp32', 'ptl'), file('digits_cnn', 'int8-dynamic', 'ptl'), file('digits_cnn', 'int8-static', 'ptl'),
      file('digits_cnn', 'fp32', 'onnx'), file('digits_cnn_wrong', 'fp32', 'ptl'),
    ].map((m) => m.path);
    const r = await cli([
      'submit', ...files, '--reference', file('digits_cnn', 'fp32', 'ptl').path, '--eval-set', fx.evalSet.path,
      '--input', 'input:1x1x8x8:float32', '--devices', 'host', '--iterations', '10', '--warmup', '2', '--wait', '--json',
    ], api.url);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    runId = JSON.parse(r.stdout).runId;
    const results = await cli(['results', runId, '--json'], api.url);
    assert.equal(results.code, 0, results.stderr);
    cells = JSON.parse(results.stdout).cells;
  });

  after(async () => {
    await stack?.close();
  });

  const cell = (model: string, variant: string, format: string) => cells.find((c) => c.model === model && c.variant === variant && c.format === format)!;

  it('runs every cell with the fp32 .ptl as reference; the .onnx fp32 agrees >= 99 %', function () {
    assert.equal(cells.length, 5);
    for (const c of cells) {
      assert.equal(c.status, 'done', `${c.model} ${c.variant} ${c.format}: ${c.reason}`);
      assert.deepEqual({ variant: c.fidelity!.reference!.variant, format: c.fidelity!.reference!.format }, { variant: 'fp32', format: 'ptl' });
    }
    assert.ok(cell('digits_cnn', 'fp32', 'onnx').fidelity!.top1AgreementPct! >= 99, JSON.stringify(cell('digits_cnn', 'fp32', 'onnx').fidelity));
    assert.ok(cell('digits_cnn_wrong', 'fp32', 'ptl').fidelity!.top1AgreementPct! < 20);
  });

  it('puts each variant\'s measured accuracy and drop in results --json', function () {
    const refAcc = file('digits_cnn', 'fp32', 'ptl').evalTop1Pct;
    for (const c of cells) {
      const m = file(c.model, c.variant, c.format);
      const f = c.fidelity!;
      assert.ok(Math.abs(f.accuracyTop1Pct! - m.evalTop1Pct) <= 0.5, `${m.file}: measured ${f.accuracyTop1Pct} %, built ${m.evalTop1Pct} %`);
      assert.equal(f.referenceAccuracyTop1Pct, refAcc);
      assert.ok(Math.abs(f.accuracyDropPct! - (refAcc - f.accuracyTop1Pct!)) < 1e-9);
    }
    assert.ok(cell('digits_cnn_wrong', 'fp32', 'ptl').fidelity!.accuracyDropPct! > 90);
  });

  it('the wrong twin fails min_top1_agreement_pct at the gate (exit 1); the variants pass it; markdown and JUnit show it', async () => {
    const budgets = path.join(tmp, 'budgets.yml');
    await writeFile(budgets, [
      'rules:',
      '  - match: { model: "digits_*" }',
      '    model_size_mb: 15',
      '    min_top1_agreement_pct: 95',
      '    max_accuracy_drop_pct: 2',
      '',
    ].join('\n'));
    const markdown = path.join(tmp, 'gate.md');
    const junit = path.join(tmp, 'gate.xml');
    const json = path.join(tmp, 'gate.json');
    const r = await cli(['gate', runId, '--budgets', budgets, '--markdown', markdown, '--junit', junit, '--json'], api.url);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    await writeFile(json, r.stdout);
    const doc = JSON.parse(r.stdout) as { cells: { model: string; variant: string; format: string; checks: { metric: string; verdict: string; head: number }[] }[] };
    for (const c of doc.cells) {
      const agreement = c.checks.find((k) => k.metric === 'min_top1_agreement_pct')!;
      const drop = c.checks.find((k) => k.metric === 'max_accuracy_drop_pct')!;
      if (c.model === 'digits_cnn_wrong') {
        assert.equal(agreement.verdict, 'fail');
        assert.equal(drop.verdict, 'fail');
      } else {
        assert.equal(agreement.verdict, 'pass', `${c.variant} ${c.format}: ${JSON.stringify(agreement)}`);
        assert.equal(drop.verdict, 'pass', `${c.variant} ${c.format}: ${JSON.stringify(drop)}`);
      }
    }
    const md = await readFile(markdown, 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    assert.match(rows[1], /❌ fail \| digits_cnn_wrong fp32 ptl · cpu · host-\S+ \| (min_top1_agreement_pct|max_accuracy_drop_pct) \|/);
    assert.match(md, /\| digits_cnn_wrong fp32 ptl .*\| min_top1_agreement_pct \| \d+\.\d+ % \(.*\) \| — \| — \| ≥ 95 % \|/);
    // The fidelity table: accuracy and drop per variant.
    assert.match(md, /### Fidelity/);
    for (const c of cells) {
      const f = c.fidelity!;
      const line = md.split('\n').find((l) => l.startsWith(`| ${c.model} ${c.variant} ${c.format} ·`) && l.includes(' pp |'))!;
      assert.ok(line, `${c.model} ${c.variant} ${c.format} has a fidelity row`);
      assert.ok(line.includes(`${f.accuracyTop1Pct!.toFixed(2)} %`), line);
    }
    const xml = await readFile(junit, 'utf8');
    assert.match(xml, /<testcase classname="digits_cnn_wrong fp32 ptl · cpu · host-\S+" name="min_top1_agreement_pct">\s*<failure/);
  });

  it('shows agreement, accuracy and drop in the Compare page\'s variants table', async () => {
    const run = (await (await fetch(`${api.url}/api/v1/runs/${runId}`)).json()) as { cells: { artifact: { id: string; model: string; variant: string; format: string } }[] };
    const ids = ['fp32', 'int8-dynamic', 'int8-static'].map((v) => run.cells.find((c) => c.artifact.model === 'digits_cnn' && c.artifact.variant === v && c.artifact.format === 'ptl')!.artifact.id);
    const res = await fetch(`${api.url}/api/v1/compare?artifacts=${ids.join(',')}&run=${runId}`);
    assert.equal(res.status, 200, await res.clone().text());
    const doc = (await res.json()) as { rows: { cells: ({ accuracyTop1Pct: number | null; accuracyDropPct: number | null; top1AgreementPct: number | null } | null)[] }[] };
    assert.equal(doc.rows.length, 1);
    ['fp32', 'int8-dynamic', 'int8-static'].forEach((variant, i) => {
      const c = doc.rows[0].cells[i]!;
      const f = cell('digits_cnn', variant, 'ptl').fidelity!;
      assert.equal(c.accuracyTop1Pct, f.accuracyTop1Pct, variant);
      assert.equal(c.accuracyDropPct, f.accuracyDropPct, variant);
      assert.equal(c.top1AgreementPct, f.top1AgreementPct, variant);
    });
  });

  it('fails a cell whose reference has other output shapes, naming both, with no fidelity stored', async () => {
    // Same input as the digits model, three outputs instead of ten.
    const other = path.join(tmp, 'three_classes-fp32.onnx');
    execFileSync('/usr/bin/python3', ['-c', [
      'import torch, sys',
      'torch.manual_seed(0)',
      'm = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3)).eval()',
      'torch.onnx.export(m, torch.zeros(1, 1, 8, 8), sys.argv[1], input_names=["input"], output_names=["output"], opset_version=13)',
    ].join('\n'), other], { stdio: 'pipe' });
    const r = await cli([
      'submit', file('digits_cnn', 'fp32', 'onnx').path, '--reference', other, '--input', 'input:1x1x8x8:float32',
      '--devices', 'host', '--iterations', '3', '--warmup', '1', '--wait', '--json',
    ], api.url);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { runId: string; cells: ResultCell[] };
    assert.equal(doc.cells.length, 1);
    assert.equal(doc.cells[0].status, 'failed');
    assert.match(doc.cells[0].reason ?? '', /the reference's outputs \[1, 3\] differ from this model's \[1, 10\]/);
    const stored = await db.pool.query(`SELECT status, error_class, fidelity FROM sessions WHERE run_id = $1`, [doc.runId]);
    assert.ok(stored.rows.every((s) => s.status === 'error' && s.error_class === 'bad_spec' && s.fidelity === null), JSON.stringify(stored.rows));
  });

  it('measures the same .onnx on vulkan and on the emulated aarch64 device against the same reference, queryable per backend and arch', async function () {
    const r = await cli([
      'submit', file('digits_cnn', 'fp32', 'onnx').path, '--reference', file('digits_cnn', 'fp32', 'ptl').path, '--eval-set', fx.evalSet.path,
      '--input', 'input:1x1x8x8:float32', '--backends', 'cpu,vulkan', '--devices', 'host,qemu-arm64', '--iterations', '3', '--warmup', '1',
      '--timeout', '600', '--wait', '--json',
    ], api.url);
    const doc = JSON.parse(r.stdout) as { cells: (ResultCell & { backend: string; target: string; deviceArch: string | null })[] };
    const done = doc.cells.filter((c) => c.status === 'done');
    // vulkan on the emulated device has no Vulkan adapter: unsupported, said so, never run on the CPU instead.
    for (const c of doc.cells) assert.ok(['done', 'unsupported'].includes(c.status), `${c.backend} ${c.target}: ${c.status} ${c.reason}`);
    assert.ok(done.some((c) => c.backend === 'vulkan' && c.deviceArch === 'x86_64'), JSON.stringify(doc.cells));
    assert.ok(done.some((c) => c.backend === 'cpu' && c.deviceArch === 'aarch64'), JSON.stringify(doc.cells));
    for (const c of done) assert.ok(c.fidelity!.top1AgreementPct! >= 99, `${c.backend} ${c.deviceArch}: ${c.fidelity!.top1AgreementPct} %`);

    const res = await fetch(`${api.url}/api/v1/fidelity?model=digits_cnn`);
    const { rows } = (await res.json()) as { rows: { format: string; backend: string; deviceArch: string; top1AgreementPct: number; accuracyTop1Pct: number; reference: { format: string } }[] };
    const onnx = rows.filter((x) => x.format === 'onnx' && x.reference.format === 'ptl');
    for (const [backend, arch] of [['cpu', 'x86_64'], ['vulkan', 'x86_64'], ['cpu', 'aarch64']]) {
      const row = onnx.find((x) => x.backend === backend && x.deviceArch === arch);
      assert.ok(row, `${backend} ${arch} in ${JSON.stringify(onnx)}`);
      assert.ok(row.top1AgreementPct >= 99 && row.accuracyTop1Pct >= 95, JSON.stringify(row));
    }
  });

  it('variants submitted together (the fp32 .ptl their default reference, no eval set) are measured and compared by the native bundle, on this machine and the emulated aarch64 device', async function () {
    const r = await cli([
      'submit', file('digits_cnn', 'fp32', 'ptl').path, file('digits_cnn', 'int8-static', 'ptl').path,
      '--input', 'input:1x1x8x8:float32', '--devices', 'host,qemu-arm64', '--iterations', '3', '--warmup', '1', '--timeout', '600', '--wait', '--json',
    ], api.url);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { cells: (ResultCell & { backend: string; target: string; deviceArch: string | null; harness: string | null })[] };
    const int8 = doc.cells.filter((c) => c.variant === 'int8-static');
    assert.deepEqual(int8.map((c) => [c.status, c.deviceArch]).sort(), [['done', 'aarch64'], ['done', 'x86_64']], JSON.stringify(doc.cells));
    for (const c of doc.cells) {
      // The timing and the agreement come from the device's own native harness, not the Node reference harness.
      assert.match(c.harness ?? '', /native/, `${c.variant} on ${c.deviceArch}: ${c.harness}`);
      assert.ok(c.fidelity && c.fidelity.top1AgreementPct! >= 80, `${c.variant} on ${c.deviceArch}: ${JSON.stringify(c.fidelity)}`);
    }
  });

  it('keeps cross-runtime agreement queryable: .ptl and .onnx of the model against the same reference', async () => {
    const res = await fetch(`${api.url}/api/v1/fidelity?model=digits_cnn`);
    const { rows } = (await res.json()) as { rows: { format: string; runtime: string; variant: string; backend: string; deviceArch: string; top1AgreementPct: number; reference: { format: string } }[] };
    const onnx = rows.find((r) => r.format === 'onnx')!;
    assert.equal(onnx.runtime, 'onnxruntime');
    assert.equal(onnx.reference.format, 'ptl');
    assert.ok(onnx.top1AgreementPct >= 99);
    assert.ok(rows.some((r) => r.runtime === 'pytorch-lite' && r.variant === 'int8-static'));
  });
});
