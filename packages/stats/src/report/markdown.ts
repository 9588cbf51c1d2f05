import { verdictSeverity } from '../verdict.js';
import { cellLabel, isLowerLimit, type GateCell, type GateCheck, type GateResult } from './gate-result.js';

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
    '| verdict | cell | metric | head | baseline | ratio (CI) | budget | baseline source |',
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
  const withFidelity = result.cells.filter((c) => c.fidelity);
  if (withFidelity.length) {
    lines.push(
      '',
      '### Fidelity',
      '',
      '| cell | reference | top-1 agreement | cosine | SNR | accuracy top-1 | reference top-1 | drop |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const c of withFidelity) {
      const f = c.fidelity!;
      const pct = (x: number | null) => (x === null ? '—' : `${fmt(x)} %`);
      const ref = f.reference ? `${f.reference.variant} ${f.reference.format}` : '—';
      lines.push(
        `| ${esc(cellLabel(c))} | ${ref} | ${pct(f.top1AgreementPct)} | ${f.cosine === null ? '—' : fmt(f.cosine)} | ` +
          `${f.snrDb === null ? (f.top1AgreementPct === null ? '—' : 'exact') : `${fmt(f.snrDb)} dB`} | ${pct(f.accuracyTop1Pct)} | ` +
          `${pct(f.referenceAccuracyTop1Pct)} | ${f.accuracyDropPct === null ? '—' : `${fmt(f.accuracyDropPct)} pp`} |`,
      );
    }
  }
  lines.push(
    '',
    '<sub>Sessions are the unit: per-pair log ratios of session medians (p90s) with a Student t interval, ' +
      'slow (throttled) and unstable sessions excluded, Benjamini–Hochberg across the run; absolute budgets: 95 % bootstrap interval. ' +
      'Fidelity: medians over sessions; Wilson interval on top-1 agreement, Newcombe paired interval on the accuracy drop (pp: percentage points).</sub>',
    '',
  );
  return lines.join('\n');
}

const FIDELITY_UNITS: Partial<Record<GateCheck['metric'], string>> = {
  min_top1_agreement_pct: '%',
  min_cosine: '',
  max_accuracy_drop_pct: 'pp',
  min_snr_db: 'dB',
};

function unitOf(check: GateCheck): string {
  const fidelity = FIDELITY_UNITS[check.metric];
  if (fidelity !== undefined) return fidelity;
  return check.metric.endsWith('_mb') ? 'MB' : 'ms';
}

function withUnit(text: string, unit: string): string {
  return unit ? `${text} ${unit}` : text;
}

function headText(check: GateCheck): string {
  if (check.head === null) return '—';
  const unit = unitOf(check);
  if (!isRatio(check) && check.ciLow !== null && check.ciHigh !== null && check.ciLow !== check.ciHigh) {
    return `${withUnit(fmt(check.head), unit)} (${fmt(check.ciLow)}–${fmt(check.ciHigh)})`;
  }
  return withUnit(fmt(check.head), unit);
}

function ratioText(check: GateCheck): string {
  if (check.ratio === null) return '—';
  const level = check.confidence !== undefined ? `, ${+(check.confidence * 100).toFixed(1)} %` : '';
  const ci = check.ciLow !== null && check.ciHigh !== null ? ` (${check.ciLow.toFixed(3)}–${check.ciHigh.toFixed(3)}${level})` : '';
  return `${check.ratio.toFixed(3)}${ci}`;
}

function budgetText(check: GateCheck): string {
  if (check.budget === null) return '—';
  // Budgets are shown as the user wrote them.
  const b = String(+check.budget.toPrecision(6));
  if (isRatio(check)) return `≤ +${b} %`;
  return withUnit(`${isLowerLimit(check.metric) ? '≥' : '≤'} ${b}`, unitOf(check));
}

function isRatio(check: GateCheck): boolean {
  return check.metric === 'regression' || check.metric === 'p90_regression';
}

function fmt(x: number): string {
  const a = Math.abs(x);
  if (a > 0 && a < 1 && 1 - a < 0.01) return x.toFixed(5); // cosines near 1 need their digits
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

function esc(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
