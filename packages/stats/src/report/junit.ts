import { orderedChecks } from './markdown.js';
import { cellLabel, type GateResult } from './gate-result.js';

/**
 * JUnit XML for CI systems: one test case per cell and metric. `fail` is a <failure>;
 * `inconclusive` is <skipped> with the reason (the gate's exit code 3 carries the decision).
 */
export function renderGateJUnit(result: GateResult): string {
  const rows = orderedChecks(result);
  const failures = rows.filter((r) => r.check.verdict === 'fail').length;
  const skipped = rows.filter((r) => r.check.verdict === 'inconclusive').length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pocketbench gate" tests="${rows.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="run ${x(result.runId)}" tests="${rows.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${x(result.evaluatedAt)}">`,
  ];
  for (const { cell, check } of rows) {
    const detail = [
      `verdict: ${check.verdict}`,
      check.head !== null ? `head: ${check.head}` : null,
      check.baseline !== null ? `baseline: ${check.baseline}` : null,
      check.ratio !== null ? `ratio: ${check.ratio}` : null,
      check.ciLow !== null ? `${check.confidence !== undefined ? +(check.confidence * 100).toFixed(1) : 95}% CI: ${check.ciLow} .. ${check.ciHigh}` : null,
      check.budget !== null ? `budget: ${check.budget}` : null,
      check.baselineSource ? `baseline source: ${check.baselineSource}` : null,
      check.note ?? null,
    ]
      .filter(Boolean)
      .join('\n');
    const open = `    <testcase classname="${x(cellLabel(cell))}" name="${x(check.metric)}">`;
    if (check.verdict === 'fail') {
      out.push(open, `      <failure type="regression" message="${x(summary(check))}">${x(detail)}</failure>`, '    </testcase>');
    } else if (check.verdict === 'inconclusive') {
      out.push(open, `      <skipped message="${x(summary(check))}"/>`, `      <system-out>${x(detail)}</system-out>`, '    </testcase>');
    } else {
      out.push(open, `      <system-out>${x(detail)}</system-out>`, '    </testcase>');
    }
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

function summary(check: { metric: string; verdict: string; note?: string }): string {
  return check.note ?? `${check.metric} ${check.verdict}`;
}

function x(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
