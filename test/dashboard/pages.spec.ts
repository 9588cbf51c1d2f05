// The dashboard in headless Debian chromium against the real api and a small seeded history:
// every page loads and shows what it should, a user clicks from a run to a series to a
// session, live progress arrives over SSE, alerts are acknowledged, and no page logs an error.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { detectAlertsForSeries } from '../../services/api/src/domain/alerts/index.js';
import { seedDashboard } from '../../scripts/seed-dashboard.js';
import { startTestApi, type TestApi } from '../api/helpers.js';
import { launchBrowser, openPage } from './browser.js';

/** Overwritten by every run, so it never grows; the path is printed for people to look at. */
const SHOTS = path.join(tmpdir(), 'pocketbench-dashboard-screenshots');

describe('dashboard: pages in headless chromium', function () {
  this.timeout(60_000);
  let api: TestApi;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  /** When the seed wrote its heartbeats (seconds old by design); later tests shift them to that age again. */
  let seededAt = 0;

  before(async () => {
    api = await startTestApi();
    await seedDashboard(api.db.pool, { runs: 60, sessionsPerCell: 3 });
    seededAt = Date.now();
    for (const { id } of (await api.db.pool.query('SELECT id FROM series ORDER BY id')).rows) {
      await detectAlertsForSeries(api.db.pool, Number(id));
    }
    await mkdir(SHOTS, { recursive: true });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser));
  });
  after(async () => {
    await browser?.close();
    await api?.close();
    console.log(`      screenshots: ${SHOTS}`);
  });
  afterEach(function () {
    // Any console error on any page fails the test that caused it.
    const seen = errors.splice(0);
    if (this.currentTest?.state === 'passed') assert.deepEqual(seen, [], 'no console errors');
  });

  const visit = async (hash: string, ready: string) => {
    await page.goto(`${api.url}/${hash}`);
    await page.waitForSelector(ready);
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const text = (sel: string) => page.locator(sel).first().innerText();

  it('Runs: lists the newest runs with verdicts in words, filters and pages', async () => {
    await visit('#/runs', 'tr[data-run]');
    assert.equal(await text('h1'), 'Runs');
    assert.equal(await page.locator('table.data tbody tr').count(), 50);
    assert.match(await text('.pager'), /Showing 1–50 of 60/);
    assert.match(await text('.answer'), /failed the gate/);
    // The verdict is a word and an icon, not only a colour.
    const badges = await page.locator('tbody .badge[data-verdict]').allInnerTexts();
    assert.ok(badges.length > 0 && badges.every((b) => /^[✓✗?] (pass|fail|inconclusive)$/.test(b.trim())), badges.join('|'));
    await shot('runs');

    await page.selectOption('select[data-filter="status"]', 'running');
    await page.waitForFunction(() => document.querySelectorAll('table.data tbody tr').length === 1);
    assert.match(await text('table.data tbody tr'), /running\s+5\/10 cells/);
    await page.locator('a[rel="next"]').count().then((n) => assert.equal(n, 0));
  });

  it('Run → Series → Session: from a failing cell to its history to one session\u2019s iterations', async () => {
    const { rows: [run] } = await api.db.pool.query(
      `SELECT v.run_id FROM verdicts v JOIN runs r ON r.id = v.run_id WHERE v.job_id IS NULL AND v.verdict = 'fail'
        ORDER BY r.created_at DESC LIMIT 1`);
    await visit(`#/runs/${run.run_id}`, 'table.matrix');
    assert.match(await text('.answer-box'), /✗ fail/);
    assert.match(await text('.answer-box'), /cells failed\. Worst: .* slower than the merge base/);
    assert.equal(await page.locator('td.cell').count(), 10);
    // The emulated pool is labelled as such; a physical one is not.
    const headers = await page.locator('table.matrix thead th').allInnerTexts();
    assert.ok(headers.some((t) => /^qemu-arm64 \(emulated\)\s+cpu$/.test(t)), headers.join(' | '));
    assert.ok(headers.some((t) => /^pixel-7\s+cpu$/.test(t)), headers.join(' | '));
    const failCell = page.locator('td.cell.v-fail').first();
    assert.match(await failCell.innerText(), /p50\s+[\d.]+ ms[\s\S]*ratio\s+×1\.\d+ \[1\.\d+, 1\.\d+\]/);
    await shot('run');

    await failCell.locator('a[data-series-link]').click();
    await page.waitForSelector('canvas#series-chart');
    await page.waitForSelector('#session-panel');
    assert.match(page.url(), /#\/series\/\d+\?session=\d+/);
    const label = await page.locator('canvas#series-chart').getAttribute('aria-label');
    assert.match(label ?? '', /Session medians of .* Click a point to open that session\./);
    assert.match(await text('figure.chart figcaption'), /p10–p90/);
    assert.match(await text('#session-panel h2'), /^Session \d+/);
    assert.match(await text('#session-panel .device-state'), /temperature\s+[\d.]+ °C\s+[\d.]+ °C/);
    await shot('series-session');

    // Clicking the chart opens the session under the pointer.
    const before = await page.locator('#session-panel').getAttribute('data-session');
    const box = (await page.locator('canvas#series-chart').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.15, box.y + box.height / 2);
    await page.waitForFunction((prev) => document.querySelector('#session-panel')?.getAttribute('data-session') !== prev, before);
    const picked = await page.locator('#session-panel').getAttribute('data-session');
    assert.ok(page.url().endsWith(`session=${picked}`), 'the opened session is in the address, so it can be shared');

    // The same is reachable without a mouse: the sessions table has buttons.
    const button = page.locator('button[data-open-session]').nth(2);
    const id = await button.getAttribute('data-open-session');
    await button.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#session-panel[data-session="${id}"]`);
  });

  it('Run page: live progress over SSE while a run is going', async () => {
    const { rows: [run] } = await api.db.pool.query(`SELECT id FROM runs WHERE status = 'running'`);
    await visit(`#/runs/${run.id}`, 'table.matrix');
    await page.waitForFunction(() => /· live/.test(document.querySelector('#run-progress-label')?.textContent ?? ''));
    assert.match(await text('#run-progress-label'), /5 of 10 cells finished/);
    assert.equal(await page.locator('td.cell[data-job] .status[data-status="running"]').count(), 1);
    await api.db.pool.query(`UPDATE jobs SET status = 'done', sessions_done = sessions_planned WHERE id = $1`, [`${run.id}.5`]);
    await api.db.pool.query(`UPDATE runs SET jobs_finished = 6 WHERE id = $1`, [run.id]);
    await page.waitForFunction(() => /6 of 10 cells finished/.test(document.querySelector('#run-progress-label')?.textContent ?? ''));
    await page.waitForFunction(() => document.querySelectorAll('td.cell .status[data-status="running"]').length === 0);
    await shot('run-live');
  });

  it('Series: every series with a trend line, filtered to those with alerts', async () => {
    await visit('#/series', 'tr[data-series]');
    assert.equal(await page.locator('table.data tbody tr').count(), 40);
    assert.equal(await page.locator('table.data svg.spark title').count(), 40, 'every sparkline has a text alternative');
    await page.locator('input[type="checkbox"]').check();
    await page.waitForFunction(() => document.querySelectorAll('table.data tbody tr').length < 40);
    const rows = await page.locator('table.data tbody tr').allInnerTexts();
    assert.ok(rows.length > 0 && rows.every((r) => /\d+ active/.test(r)));
    await shot('series-list');
  });

  it('Compare: the fp32 / int8-dynamic / int8-static table from a run, and two runs side by side', async () => {
    const { rows: [run] } = await api.db.pool.query(
      `SELECT r.id FROM runs r JOIN jobs j ON j.run_id = r.id JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
        WHERE r.status = 'done' AND m.name = 'mobilenet_v2' ORDER BY r.created_at DESC LIMIT 1`);
    await visit(`#/runs/${run.id}`, 'table.matrix');
    await page.getByRole('link', { name: 'Compare mobilenet_v2 ptl variants' }).click();
    await page.waitForSelector('table.compare');
    assert.equal(await text('h1'), 'Compare variants');
    assert.match(await text('.answer'), /mobilenet_v2 int8-static \(ptl\) is [\d.]+× faster than mobilenet_v2 fp32 \(ptl\) on .*, and \d+ % smaller\./);
    const headers = await page.locator('table.compare thead tr').first().innerText();
    assert.match(headers, /fp32[\s\S]*int8-dynamic[\s\S]*int8-static/i);
    assert.equal(await page.locator('table.compare tbody tr').count(), 3);
    await shot('compare-variants');

    await page.goBack();
    await page.waitForSelector('table.matrix');
    await page.getByRole('link', { name: 'Compare with the previous run' }).click();
    await page.waitForSelector('table.compare');
    assert.equal(await text('h1'), 'Compare runs');
    assert.equal(await page.locator('table.compare tbody tr').count(), 10);

    await visit('#/compare', 'form button[type="submit"]');
    await page.click('form button[type="submit"]');
    await page.waitForSelector('table.compare');
  });

  it('Fleet: devices with pool, state, heartbeat, current job and temperature', async () => {
    // The seed's live heartbeats are a few seconds old; on a loaded machine the tests before this one
    // can outlast the heartbeat TTL, so give them back their seeded age (stale ones stay stale).
    await api.db.pool.query(
      `UPDATE devices SET last_heartbeat_at = last_heartbeat_at + make_interval(secs => $1::float8)
        WHERE last_heartbeat_at > now() - make_interval(secs => $1::float8 + 60)`,
      [(Date.now() - seededAt) / 1000]);
    await visit('#/fleet', 'tr[data-device]');
    assert.equal(await page.locator('table.data tbody tr').count(), 7);
    assert.match(await text('.answer'), /4 of 7 devices can take work now; 1 busy, 2 need attention/);
    assert.match(await text('tr[data-device="qemu-arm64-02"]'), /quarantined[\s\S]*HarnessCrash/);
    assert.match(await text('tr[data-device="qemu-arm64-02"]'), /qemu-arm64 \(emulated\)/);
    assert.match(await text('ul.chips[aria-label="Pools"]'), /qemu-arm64 \(emulated\) 1\/2 available/);
    assert.doesNotMatch(await text('tr[data-device="pixel7-01"]'), /emulated/);
    assert.match(await text('tr[data-device="iphone14-01"]'), /offline[\s\S]*\(stale\)/);
    assert.match(await text('tr[data-device="host-01"]'), /\d+\.\d °C/);
    const busy = page.locator('tr[data-device="pixel7-02"]');
    assert.match(await busy.innerText(), /busy/);
    await busy.locator('a.mono').click();
    await page.waitForSelector('table.matrix');
    await visit('#/fleet', 'tr[data-device]');
    await shot('fleet');
  });

  it('Alerts: lists active change points; acknowledge and dismiss move them', async () => {
    await visit('#/alerts', 'tr[data-alert]');
    const active = Number((await text('a.chip[aria-current]')).match(/\((\d+)\)/)![1]);
    assert.ok(active > 0);
    assert.match(await text('.answer'), new RegExp(`${active} active alerts? need`));
    // The nav shows how many need a decision.
    await page.waitForFunction((n) => document.getElementById('alert-count')?.textContent === String(n), active);
    await shot('alerts');

    const first = page.locator('tbody tr[data-alert]').first();
    const id = await first.getAttribute('data-alert');
    await first.locator('input').fill('expected: quantization change');
    await first.locator('button[data-action="acknowledge"]').click();
    await page.waitForFunction((n) => document.querySelectorAll('tbody tr[data-alert]').length === n - 1, active);
    const second = page.locator('tbody tr[data-alert]').first();
    await second.locator('button[data-action="dismiss"]').click();
    await page.waitForFunction((n) => document.querySelectorAll('tbody tr[data-alert]').length === n - 2, active);

    await page.getByRole('link', { name: /Acknowledged \(1\)/ }).click();
    await page.waitForSelector(`tr[data-alert="${id}"]`);
    assert.match(await text(`tr[data-alert="${id}"]`), /acknowledged[\s\S]*expected: quantization change/);
    const { rows } = await api.db.pool.query('SELECT count(*)::int AS n FROM baseline_segments WHERE alert_id = $1', [id]);
    assert.equal(rows[0].n, 1, 'the acknowledgement started a baseline segment');
  });

  it('Series: sessions from runs on no branch (submit without --branch) are shown, not an empty main', async () => {
    const { rows } = await api.db.pool.query('SELECT series_id FROM sessions WHERE series_id IS NOT NULL ORDER BY series_id DESC LIMIT 1');
    const id = Number(rows[0].series_id);
    // Runs of this series only (no other series shares them), so the other tests see their data unchanged.
    await api.db.pool.query(
      `UPDATE runs SET branch = NULL WHERE id IN (SELECT run_id FROM sessions WHERE series_id = $1)
         AND NOT EXISTS (SELECT 1 FROM sessions o WHERE o.run_id = runs.id AND o.series_id IS DISTINCT FROM $1)`, [id]);
    const left = await api.db.pool.query(`SELECT count(*)::int AS n FROM sessions s JOIN runs r ON r.id = s.run_id WHERE s.series_id = $1 AND r.branch = 'main'`, [id]);
    if (left.rows[0].n > 0) await api.db.pool.query(`UPDATE runs SET branch = NULL WHERE id IN (SELECT run_id FROM sessions WHERE series_id = $1)`, [id]);
    await visit(`#/series/${id}`, 'canvas#series-chart');
    assert.doesNotMatch(await text('main'), /No sessions on this branch yet/);
    assert.equal(await page.locator('a.chip[aria-current="true"]').innerText(), 'every branch');
  });

  it('Fidelity: a cell that fails agreement is marked like a latency failure; Compare gains agreement, accuracy and drop', async () => {
    const { rows: [run] } = await api.db.pool.query(
      `SELECT r.id FROM runs r JOIN jobs j ON j.run_id = r.id JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
        WHERE r.status = 'done' AND m.name = 'mobilenet_v2' ORDER BY r.created_at DESC LIMIT 1`);
    const { rows: cells } = await api.db.pool.query(
      `SELECT j.id, a.variant, a.format FROM jobs j JOIN artifacts a ON a.id = j.artifact_id JOIN models m ON m.id = a.model_id
        WHERE j.run_id = $1 AND m.name = 'mobilenet_v2' AND a.format = 'ptl'`, [run.id]);
    // What the worker stores from a fidelity pass: int8-static disagrees, the others agree.
    const figures: Record<string, [number, number, number]> = { fp32: [100, 71.5, 0], 'int8-dynamic': [99.5, 71, 0.5], 'int8-static': [40.2, 55.25, 16.25] };
    for (const c of cells) {
      const [agreement, acc, drop] = figures[c.variant];
      const fidelity = {
        seededInputs: 32, evalSamples: 400, seed: 1000000, inputDigest: `sha256:${'0'.repeat(64)}`, outputs: [{ index: 0, dtype: 'float32', shape: [1, 1000] }],
        agreement: [{ index: 0, shape: [1, 1000], rows: 432, top1Agree: Math.round(4.32 * agreement), top1AgreementPct: agreement, top5OverlapPct: 90, cosine: 0.99, cosineMin: 0.9, maxAbsError: 0.1, snrDb: 30 }],
        accuracy: { output: 0, samples: 400, top1Correct: acc * 4, top5Correct: 380, top1Pct: acc, top5Pct: 95, reference: { top1Correct: 286, top5Correct: 380, top1Pct: 71.5, top5Pct: 95 }, dropPct: drop },
      };
      await api.db.pool.query(`UPDATE sessions SET fidelity = $2 WHERE job_id = $1 AND role = 'head' AND status = 'ok'`, [c.id, JSON.stringify(fidelity)]);
    }
    const wrong = cells.find((c) => c.variant === 'int8-static')!;
    await api.db.pool.query(`UPDATE verdicts SET verdict = 'pass' WHERE job_id = $1`, [wrong.id]);
    await api.db.pool.query(
      `INSERT INTO verdicts (run_id, job_id, metric, verdict, head_value, ci_low, ci_high, budget) VALUES ($1, $2, 'min_top1_agreement_pct', 'fail', 40.2, 35.7, 44.9, 99)`,
      [run.id, wrong.id]);

    await visit(`#/runs/${run.id}`, 'table.matrix');
    const cell = page.locator(`td.cell[data-job="${wrong.id}"]`);
    assert.match((await cell.getAttribute('class')) ?? '', /\bv-fail\b/);
    assert.match(await cell.innerText(), /✗ fail/);
    assert.match(await cell.locator('dd[data-metric="min_top1_agreement_pct"]').innerText(), /^40\.2 ≥ 99$/);
    assert.match((await cell.locator('dd[data-metric="min_top1_agreement_pct"]').getAttribute('class')) ?? '', /c-fail/);
    assert.match(await cell.locator('dd[data-metric="accuracy"]').innerText(), /55\.3 % \(−16\.3 pp\)|55\.2 % \(−16\.3 pp\)/);
    await shot('run-fidelity');

    await page.getByRole('link', { name: 'Compare mobilenet_v2 ptl variants' }).click();
    await page.waitForSelector('table.compare');
    const header = await page.locator('table.compare thead tr').nth(1).innerText();
    assert.match(header, /agreement[\s\S]*accuracy[\s\S]*drop/i);
    const row = page.locator('table.compare tbody tr').first();
    assert.deepEqual(await row.locator('td[data-metric="agreement"]').allInnerTexts(), ['100 %', '99.5 %', '40.2 %']);
    assert.deepEqual(await row.locator('td[data-metric="accuracy"]').allInnerTexts(), ['71.5 %', '71.0 %', '55.3 %']);
    assert.deepEqual(await row.locator('td[data-metric="drop"]').allInnerTexts(), ['±0.00 pp', '−0.50 pp', '−16.25 pp']);
    await shot('compare-fidelity');
  });

  it('is usable from the keyboard and says when a page does not exist', async () => {
    await page.goto('about:blank');
    await visit('#/runs', 'tr[data-run]');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    let reached = '';
    for (let i = 0; i < 8 && reached !== 'Fleet'; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate(() => document.activeElement?.textContent?.trim())) ?? '';
    }
    assert.equal(reached, 'Fleet');
    await page.keyboard.press('Enter');
    await page.waitForSelector('table.data tr[data-device]');
    assert.equal(await page.locator('nav a[aria-current="page"]').innerText(), 'Fleet');

    await visit('#/nowhere', 'h1');
    assert.equal(await text('h1'), 'Page not found');
  });
});
