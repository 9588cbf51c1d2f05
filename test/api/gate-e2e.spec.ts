import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureFixtures } from '@pocketbench/harness';
import type { WebServer } from '../../services/api/src/index.js';
import type { TestDatabase } from '../support/db.js';
import { SHARED_DATA_DIR } from '../worker/support.js';
import { cli as runCli, startE2eStack, type E2eStack } from '../support/e2e.js';

/** The CLI as a user runs it, against this test's api. */
const cli = (args: string[], url: string) => runCli(args, url, { timeoutMs: 280_000 });

/**
 * The merge gate end to end on real inference: api + worker on this machine (real Appium,
 * harness, Postgres, Redis), `pocketbench submit HEAD --baseline BASE --wait`, then
 * `pocketbench gate`. mobilenet_v2 against the tiny CNN is a slowdown of orders of magnitude.
 */
describe('e2e: pocketbench submit --baseline, then pocketbench gate', function () {
  this.timeout(600_000);
  let stack: E2eStack;
  let db: TestDatabase;
  let api: WebServer;
  let tmp: string;
  let tiny: string;
  let mobilenet: string;
  let budgets: string;

  before(async function () {
    this.timeout(900_000);
    // This machine is shared with other work: the tiny CNN's ~45 µs iterations show a robust CV
    // around 20 % here, so the 10 % default would (rightly) mark every session unstable.
    stack = await startE2eStack({ name: 'gate-e2e', worker: { session: { cvCap: 0.5 } } });
    ({ db, api, tmp } = stack);
    const fx = await ensureFixtures(SHARED_DATA_DIR, ['mobilenet_v2', 'resnet18', 'tiny_cnn']);
    const find = (file: string) => fx.models.find((m) => m.file === file)!.path;
    tiny = find('tiny_cnn-fp32.onnx');
    mobilenet = find('mobilenet_v2-fp32.onnx');
    budgets = path.join(tmp, 'budgets.yml');
    await writeFile(budgets, 'rules:\n  - match: { model: "*" }\n    model_size_mb: 15\n');
  });

  after(async () => {
    if (process.env.GATE_E2E_DEBUG) {
      const { rows } = await db.pool.query(`SELECT role, status, error_message, cv, array_length(iterations_us, 1) n, p50_us FROM sessions ORDER BY created_at`);
      console.log(rows);
    }
    await stack?.close();
  });

  async function submitAB(head: string, baseline: string): Promise<string> {
    const r = await cli(['submit', head, '--baseline', baseline, '--devices', 'host', '--iterations', '15', '--warmup', '2', '--min-duration', '200', '--wait', '--json'], api.url);
    assert.ok([0, 1].includes(r.code), r.stderr);
    return JSON.parse(r.stdout).runId as string;
  }

  it('a clearly slower head fails the gate: exit 1, the failing cell first in the markdown', async () => {
    const runId = await submitAB(mobilenet, tiny);
    const markdown = path.join(tmp, 'slow.md');
    const r = await cli(['gate', runId, '--budgets', budgets, '--markdown', markdown], api.url);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const rows = (await readFile(markdown, 'utf8')).split('\n').filter((l) => l.startsWith('| '));
    assert.match(rows[1], /❌ fail \| mobilenet_v2\S* fp32 onnx · cpu · host-\S+ \| regression \|.*\| paired \|$/);
  });

  /** An A/A run of `model` (the same file as head and baseline, defaults), then the gate: its exit and the regression check. */
  async function gateAA(model: string, label: string) {
    const r0 = await cli(['submit', model, '--baseline', model, '--devices', 'host', '--budgets', budgets, '--wait', '--json'], api.url);
    assert.equal(r0.code, 0, r0.stderr);
    const runId = JSON.parse(r0.stdout).runId as string;
    const r = await cli(['gate', runId, '--budgets', budgets, '--json'], api.url);
    const regression = JSON.parse(r.stdout).cells[0].checks.find((c: { metric: string }) => c.metric === 'regression');
    console.log(`      ${label} A/A on this machine: ratio ${regression.ratio?.toFixed(4)} (${regression.ciLow?.toFixed(4)}–${regression.ciHigh?.toFixed(4)}), ${regression.headSessions} sessions per side, ${regression.note ?? 'no note'}`);
    return { r, regression };
  }

  it('a real A/A run of mobilenet_v2 (the same artifact as head and baseline, default timing and adaptive sessions) passes the gate', async () => {
    // Defaults on purpose: 1 s of timing per session, A B B A, adaptive until decided, the default
    // 5 % tolerance. Its ~11 ms iterations vary by ~10 % from session to session on this shared
    // machine; a slow session (the run's cold first one, or one another build interrupted) is set
    // aside by the paired screen, and the gate must say pass with exit 0.
    const { r, regression } = await gateAA(mobilenet, 'mobilenet_v2');
    assert.equal(regression.baselineSource, 'paired');
    assert.equal(regression.verdict, 'pass', JSON.stringify(regression));
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('a real A/A run of the tiny CNN (the same artifact as head and baseline, default timing and adaptive sessions) passes the gate, or where its sessions are too noisy to decide is inconclusive saying how many would, never fails', async () => {
    // Defaults on purpose: 1 s of timing per session (the tiny CNN's ~45 µs iterations need it),
    // A B B A, adaptive until decided. The gate must say pass, with the worker's decision.
    const { r, regression } = await gateAA(tiny, 'tiny_cnn');
    assert.notEqual(r.code, 1, r.stdout + r.stderr);
    assert.equal(regression.baselineSource, 'paired');
    assert.ok(regression.headSessions >= 6 && regression.baselineSessions >= 6);
    // On a quiet host this passes at the first looks. This machine is shared with other builds:
    // when sessions of a 45 µs model vary by tens of percent, 40 pairs cannot decide, and the
    // honest answer is inconclusive with how many sessions would — never fail.
    const spread = Math.log(regression.ciHigh / regression.ciLow);
    if (regression.verdict !== 'pass') {
      assert.equal(regression.verdict, 'inconclusive');
      assert.match(regression.note, /would likely decide|too close to the tolerance/);
      // Either the interval is too wide, or the sessions form two levels (then the interval alone
      // does not tell the median, whatever its width).
      const twoLevels = /two levels/.test(regression.note);
      assert.ok(regression.headSessions >= 16 && (twoLevels || spread > Math.log(1.05)), `undecided after ${regression.headSessions} pairs with a ${spread} wide interval`);
    } else {
      assert.equal(r.code, 0);
    }
  });
});
