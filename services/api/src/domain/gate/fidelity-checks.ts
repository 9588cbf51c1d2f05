import type { BenchFidelity, FidelityBudgetField, ResolvedBudget, Verdict } from '@pocketbench/contracts';
import { checkAgreementAtLeast, checkDropAtMost, type GateCheck } from '@pocketbench/stats';

/**
 * The gate's fidelity checks for one cell, from its ok head sessions' fidelity passes.
 * Every session of a cell runs the same fidelity inputs, so sessions are not pooled (that would
 * count the same digit many times): the median session is the evidence, and the sampling
 * uncertainty is that of its samples — a Wilson interval on top-1 agreement, Newcombe's paired
 * interval on the accuracy drop. Cosine and SNR are deterministic on fixed inputs: checked exactly.
 */
export function fidelityChecks(sessions: BenchFidelity[], budget: ResolvedBudget, cell: { hasReference: boolean }): GateCheck[] {
  const checks: GateCheck[] = [];
  const withAgreement = sessions.filter((f) => f.agreement?.length);
  const withDrop = sessions.filter((f) => f.accuracy?.reference && f.accuracy.discordant);
  const missing = (what: string) =>
    cell.hasReference
      ? `No head session reported ${what}.`
      : `No fidelity reference for this cell: submit with --reference (or include the model's fp32 variant in the run)${what.includes('accuracy') ? ' and --eval-set' : ''}.`;

  const minAgreement = budget.min_top1_agreement_pct;
  if (minAgreement !== undefined) {
    const s = median(withAgreement, (f) => f.agreement![0].top1AgreementPct);
    if (!s) checks.push(empty('min_top1_agreement_pct', minAgreement, missing('agreement with the reference')));
    else {
      const a = s.agreement![0];
      const k = checkAgreementAtLeast(a.top1Agree, a.rows, minAgreement);
      checks.push(
        check('min_top1_agreement_pct', k.verdict, k.value, k.ciLow, k.ciHigh, minAgreement, withAgreement.length,
          k.verdict === 'fail'
            ? `Top-1 agreement with the reference is ${pct(k.value)} (${a.top1Agree} of ${a.rows}; 95 % CI ${pct(k.ciLow)}–${pct(k.ciHigh)}), below the budget of ${minAgreement} %.`
            : k.verdict === 'inconclusive'
              ? `The 95 % interval ${pct(k.ciLow)}–${pct(k.ciHigh)} of top-1 agreement (${a.top1Agree} of ${a.rows}) straddles ${minAgreement} %; more fidelity inputs (or an eval set) would decide.`
              : undefined),
      );
    }
  }

  const minCosine = budget.min_cosine;
  if (minCosine !== undefined) {
    const s = median(withAgreement, (f) => f.agreement![0].cosine);
    if (!s) checks.push(empty('min_cosine', minCosine, missing('agreement with the reference')));
    else {
      const v = s.agreement![0].cosine;
      const verdict: Verdict = v >= minCosine ? 'pass' : 'fail';
      checks.push(check('min_cosine', verdict, v, v, v, minCosine, withAgreement.length,
        verdict === 'fail' ? `Mean cosine similarity with the reference is ${v.toFixed(5)}, below the budget of ${minCosine}.` : undefined));
    }
  }

  const minSnr = budget.min_snr_db;
  if (minSnr !== undefined) {
    const s = median(withAgreement, (f) => f.agreement![0].snrDb ?? Infinity);
    if (!s) checks.push(empty('min_snr_db', minSnr, missing('agreement with the reference')));
    else {
      const snr = s.agreement![0].snrDb;
      const verdict: Verdict = snr === null || snr >= minSnr ? 'pass' : 'fail';
      // Identical outputs have no noise at all: shown as no value, and a pass.
      checks.push(check('min_snr_db', verdict, snr, snr, snr, minSnr, withAgreement.length,
        snr === null ? 'Outputs are identical to the reference (no noise).' : verdict === 'fail' ? `SNR against the reference is ${snr.toFixed(1)} dB, below the budget of ${minSnr} dB.` : undefined));
    }
  }

  const maxDrop = budget.max_accuracy_drop_pct;
  if (maxDrop !== undefined) {
    const s = median(withDrop, (f) => f.accuracy!.dropPct ?? 0);
    if (!s) checks.push(empty('max_accuracy_drop_pct', maxDrop, missing('eval-set accuracy against the reference')));
    else {
      const acc = s.accuracy!;
      const k = checkDropAtMost(
        { samples: acc.samples, referenceCorrect: acc.reference!.top1Correct, modelCorrect: acc.top1Correct, referenceOnly: acc.discordant!.referenceOnly, modelOnly: acc.discordant!.modelOnly },
        maxDrop,
      );
      const detail = `accuracy ${pct(acc.top1Pct)} vs the reference's ${pct(acc.reference!.top1Pct)} on ${acc.samples} samples`;
      checks.push(
        check('max_accuracy_drop_pct', k.verdict, k.value, k.ciLow, k.ciHigh, maxDrop, withDrop.length,
          k.verdict === 'fail'
            ? `Accuracy drops ${pp(k.value)} (${detail}; 95 % CI ${pp(k.ciLow)} to ${pp(k.ciHigh)}), beyond the budget of ${maxDrop} pp.`
            : k.verdict === 'inconclusive'
              ? `The 95 % interval ${pp(k.ciLow)} to ${pp(k.ciHigh)} of the accuracy drop (${detail}) straddles ${maxDrop} pp; a larger eval set would decide.`
              : undefined),
      );
    }
  }
  return checks;
}

/** The session whose value is the median (lower middle for an even count). */
function median(sessions: BenchFidelity[], value: (f: BenchFidelity) => number): BenchFidelity | undefined {
  if (!sessions.length) return undefined;
  const sorted = [...sessions].sort((a, b) => value(a) - value(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function pct(x: number): string {
  return `${x.toFixed(1)} %`;
}

function pp(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)} pp`;
}

function check(
  metric: FidelityBudgetField,
  verdict: Verdict,
  head: number | null,
  ciLow: number | null,
  ciHigh: number | null,
  budget: number,
  headSessions: number,
  note: string | undefined,
): GateCheck {
  return {
    metric, verdict, head, baseline: null, ratio: null, ciLow, ciHigh, budget, baselineSource: null, headSessions, baselineSessions: 0,
    pValue: null, adjustedPValue: null, sessionsNeededEstimate: null, ...(note ? { note } : {}),
  };
}

function empty(metric: FidelityBudgetField, budget: number, note: string): GateCheck {
  return check(metric, 'inconclusive', null, null, null, budget, 0, note);
}
