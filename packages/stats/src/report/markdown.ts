import { verdictSeverity } from '../verdict.js';
import { cellLabel, type GateCell, type GateCheck, type GateResult } from './gate-result.js';

const ICON = { pass: '✅', fail: '❌', inconclusive: '⚠️' } as const;

interface Row {
  cell: GateCell;
  check: GateCheck;
}

/** Rows ordered failures first, then inconclusive, then passes; cells in matrix order within each. */
export function orderedChecks(result: GateResult): Row[] {
  const rows = result.cells.flatMap((cell) => cell.checks.map((check) => ({ cell, check })));
  return rows.sort(
    (a, b) => verdictSeverity(b.check.verdict) - verdictSeverity(a.check.verdict) || a.cell.cellIndex - b.cell.cellIndex,
  );
}

/** The gate's PR comment: per cell and metric the head, baseline, ratio with its 95 % interval, budget and verdict. */
export function renderGateMarkdown(result: GateResult): string {
  const { counts } = result;
  const lines = [
    `## ${ICON[result.verdict]} pocketbench gate: **${result.verdict}**`,
    '',
    `Run \`${result.runId}\`${result.commit ? ` at \`${result.commit.slice(0, 12)}\`` : ''}` +
      `${result.mergeBase ? `, merge base \`${result.mergeBase.slice(0, 12)}\`` : ''}, baseline branch \`${result.baselineBranch}\`: ` +
      `${counts.fail} failing, ${counts.inconclusive} inconclusive, ${counts.pass} passing checks.`,
    '',
    '| verdict | cell | metric | head | baseline | ratio (95 % CI) | budget | baseline source |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { cell, check } of orderedChecks(result)) {
    lines.push(
      `| ${ICON[check.verdict]} ${check.verdict} | ${esc(cellLabel(cell))} | ${check.metric} | ${headText(check)} | ` +
        `${check.baseline === null ? '—' : `${fmt(check.baseline)} ms`} | ${ratioText(check)} | ${budgetText(check)} | ` +
        `${check.baselineSource ?? '—'} |`,
    );
  }
  const notes = orderedChecks(result).filter(({ check }) => check.note && check.verdict !== 'pass');
  if (notes.length) {
    lines.push('', '<details><summary>Notes</summary>', '');
    for (const { cell, check } of notes) lines.push(`- **${esc(cellLabel(cell))}**, ${check.metric}: ${esc(check.note!)}`);
    lines.push('', '</details>');
  }
  lines.push(
    '',
    '<sub>Sessions are the unit: ratio of medians of session medians, 95 % hierarchical bootstrap interval, ' +
      'Benjamini–Hochberg across the run; unstable sessions excluded.</sub>',
    '',
  );
  return lines.join('\n');
}

function unitOf(check: GateCheck): string {
  return check.metric.endsWith('_mb') ? 'MB' : 'ms';
}

function headText(check: GateCheck): string {
  if (check.head === null) return '—';
  const unit = unitOf(check);
  if (check.metric !== 'regression' && check.ciLow !== null && check.ciHigh !== null && check.ciLow !== check.ciHigh) {
    return `${fmt(check.head)} ${unit} (${fmt(check.ciLow)}–${fmt(check.ciHigh)})`;
  }
  return `${fmt(check.head)} ${unit}`;
}

function ratioText(check: GateCheck): string {
  if (check.ratio === null) return '—';
  const ci = check.ciLow !== null && check.ciHigh !== null ? ` (${check.ciLow.toFixed(3)}–${check.ciHigh.toFixed(3)})` : '';
  return `${check.ratio.toFixed(3)}${ci}`;
}

function budgetText(check: GateCheck): string {
  if (check.budget === null) return '—';
  // Budgets are shown as the user wrote them.
  const b = String(+check.budget.toPrecision(6));
  return check.metric === 'regression' ? `≤ +${b} %` : `≤ ${b} ${unitOf(check)}`;
}

function fmt(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function esc(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
