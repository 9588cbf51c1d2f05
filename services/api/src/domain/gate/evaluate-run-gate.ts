import { BudgetsError, faultPolicy, isUuid, matchBudget, parseBudgets, type BenchFidelity, type Budgets, type ResolvedBudget, type Verdict } from '@pocketbench/contracts';
import {
  getGateRun,
  listBranchBaselineSessions,
  listCellFidelity,
  listGateCells,
  listGateSessions,
  listMergeBaseSessions,
  listRunFidelity,
  replaceVerdictsForRun,
  withTransaction,
  type GateCellRow,
  type GateRunRow,
  type GateSessionRow,
  type NewVerdict,
  type Pool,
} from '@pocketbench/db';
import {
  adjustRegressionFamily,
  adjustRunVerdicts,
  checkBudget,
  decideCell,
  FAIL_ALPHA,
  pairedSessionOrder,
  sessionPoint,
  worstVerdict,
  type RegressionCheck,
  type BudgetSamples,
  type GateCell,
  type GateCheck,
  type GateMetric,
  type GateResult,
} from '@pocketbench/stats';
import { fidelityChecks } from './fidelity-checks.js';
import { readableProject, type Principal } from '../auth/tokens.js';
import { GateError } from './gate-error.js';

/** Sizes and memory budgets are in MB of 1,048,576 bytes, as the results report them. */
const MB = 1024 * 1024;

/** The body of `POST /api/v1/runs/:id/gate` (schemas.ts: gateRequestSchema). */
export interface GateRequest {
  budgets?: string;
  baselineBranch?: string;
  lookbackDays?: number;
}

/**
 * The gate use case for a caller: parses the budgets (422 `invalid_budgets` naming line and
 * field), then evaluates the run within the caller's project (another project's run does not exist).
 */
export async function gateRun(db: Pool, principal: Principal, runId: string, request: GateRequest): Promise<GateResult> {
  let budgets: Budgets;
  try {
    budgets = parseBudgets(request.budgets ?? '', 'budgets');
  } catch (err) {
    if (err instanceof BudgetsError) throw new GateError(422, 'invalid_budgets', `the budgets file is invalid: ${err.message}`, { issues: err.issues });
    throw err;
  }
  return evaluateRunGate(db, runId, budgets, { baselineBranch: request.baselineBranch, lookbackDays: request.lookbackDays, projectId: readableProject(principal, 'the merge gate')?.id });
}

export interface GateOptions {
  /** Branch for the historical baseline when there is no paired one and nothing at the merge base. @defaultValue the run's baseline_branch ('main') */
  baselineBranch?: string;
  /** How far back the branch fallback looks. @defaultValue 30 */
  lookbackDays?: number;
  /** Bootstrap replicates per check. @defaultValue 1000 */
  resamples?: number;
  /** Store the verdicts in `verdicts`, replacing the run's previous ones. @defaultValue true */
  store?: boolean;
  /** Clock for the lookback window (tests). */
  now?: Date;
  /** When set (a project token's caller), a run of another project is reported as not existing. */
  projectId?: string;
}

/**
 * The merge gate for one finished run: every cell's regression against its baseline (paired
 * sessions first, else the series at the merge base, else the latest run on the baseline
 * branch inside the lookback window) and its absolute budgets, Benjamini–Hochberg across the
 * run, verdicts stored. Unstable sessions never count. Seeds derive from run and cell ids, so
 * the same data always gives the same result.
 */
export async function evaluateRunGate(db: Pool, runId: string, budgets: Budgets, options: GateOptions = {}): Promise<GateResult> {
  const run = isUuid(runId) ? await getGateRun(db, runId) : null;
  if (!run || (options.projectId !== undefined && run.projectId !== options.projectId)) throw new GateError(404, 'run_not_found', `run "${runId}" does not exist`);
  if (run.status === 'queued' || run.status === 'running') {
    throw new GateError(409, 'run_in_progress', `run ${run.id} is still ${run.status} (${run.jobsFinished} of ${run.jobsTotal} cells finished); gate it when it is done`, {
      status: run.status,
      jobsFinished: run.jobsFinished,
      jobsTotal: run.jobsTotal,
    });
  }
  const baselineBranch = options.baselineBranch ?? run.baselineBranch ?? 'main';
  const [cellRows, sessionRows, fidelityByJob, cellFidelity] = await Promise.all([
    listGateCells(db, run.id),
    listGateSessions(db, run.id),
    listRunFidelity(db, run.id),
    listCellFidelity(db, run.id),
  ]);
  const fidelityOfCell = new Map(cellFidelity.map(({ jobId, ...f }) => [jobId, f]));
  const byJob = new Map<string, GateSessionRow[]>();
  for (const s of sessionRows) byJob.set(s.jobId, [...(byJob.get(s.jobId) ?? []), s]);

  const cellBudgets = cellRows.map((row) => matchBudget(budgets, { model: row.model, variant: row.variant, backend: row.backend, pool: row.pool }));
  // The Benjamini–Hochberg family of regression checks: the fail bound of each is at FAIL_ALPHA / family.
  const family = cellBudgets.reduce((n, b) => n + (b.max_p90_regression_pct !== undefined ? 2 : 1), 0);
  const regression: { check: GateCheck; decided: RegressionCheck }[] = [];
  const cells: GateCell[] = [];
  for (const [i, row] of cellRows.entries()) {
    const budget = cellBudgets[i];
    const checks = await evaluateCell(db, run, row, byJob.get(row.jobId) ?? [], budget, { ...options, baselineBranch, family, regression });
    const fidelity = fidelityOfCell.get(row.jobId);
    // A head that could not run has already failed the cell; fidelity adds nothing to that.
    if (!checks.some((k) => k.metric === 'runs')) {
      checks.push(...fidelityChecks((fidelityByJob.get(row.jobId) ?? []) as BenchFidelity[], budget, { hasReference: Boolean(fidelity?.reference) }));
    }
    cells.push({
      jobId: row.jobId,
      cellIndex: row.cellIndex,
      model: row.model,
      variant: row.variant,
      format: row.format,
      backend: row.backend,
      pool: row.pool,
      deviceId: row.deviceId,
      verdict: 'inconclusive',
      checks,
      ...(fidelity ? { fidelity } : {}),
    });
  }

  // Regression checks: Benjamini–Hochberg over the family, with the false-coverage adjusted lower bound.
  adjustRegressionFamily(regression.map((r) => r.decided)).forEach((a, i) => {
    const k = regression[i].check;
    k.adjustedPValue = a.adjustedPValue;
    if (a.verdict === 'fail' && k.verdict !== 'fail') {
      k.verdict = 'fail';
      k.ciLow = a.ciLow;
      k.sessionsNeededEstimate = 0;
      k.note = `${regressionNote(k, a)} A discovery at false discovery rate ${FDR_LABEL} across the run's ${regression.length} regression checks (adjusted p = ${a.adjustedPValue.toPrecision(2)}).`;
    }
  });
  // Absolute budgets: Benjamini–Hochberg over every resampled check; exact checks (model size) stand as they are.
  const tested = cells.flatMap((c) => c.checks.filter((k) => !isRegressionMetric(k.metric) && k.pValue !== null && k.ciLow !== k.ciHigh));
  const adjusted = adjustRunVerdicts(tested.map((k) => ({ verdict: k.verdict, pValue: k.pValue! })));
  tested.forEach((k, i) => {
    k.adjustedPValue = adjusted[i].adjustedPValue;
    if (k.verdict === 'fail' && adjusted[i].verdict !== 'fail') {
      k.verdict = 'inconclusive';
      k.note = `${k.note ?? ''} Not significant after Benjamini–Hochberg across the run's ${tested.length} checks (adjusted p = ${adjusted[i].adjustedPValue.toPrecision(2)}).`.trim();
    }
  });
  for (const c of cells) c.verdict = worstVerdict(c.checks.map((k) => k.verdict));

  const verdict = worstVerdict(cells.map((c) => c.verdict));
  const counts: Record<Verdict, number> = { pass: 0, fail: 0, inconclusive: 0 };
  for (const c of cells) for (const k of c.checks) counts[k.verdict]++;
  const result: GateResult = {
    runId: run.id,
    verdict,
    baselineBranch,
    commit: run.commit,
    mergeBase: run.mergeBase,
    counts,
    cells,
    evaluatedAt: (options.now ?? new Date()).toISOString(),
  };
  if (options.store !== false) await storeVerdicts(db, result);
  return result;
}

interface CellContext extends GateOptions {
  baselineBranch: string;
  /** Regression checks in the run's Benjamini–Hochberg family. */
  family: number;
  /** Collects the cell's regression checks for the run-wide adjustment. */
  regression: { check: GateCheck; decided: RegressionCheck }[];
}

const FDR_LABEL = `${FAIL_ALPHA * 100} %`;

function isRegressionMetric(metric: GateMetric): boolean {
  return metric === 'regression' || metric === 'p90_regression';
}

const pctOf = (r: number) => `${((r - 1) * 100).toFixed(1)} %`;

function regressionNote(k: GateCheck, c: RegressionCheck): string {
  const what = c.quantile === 0.5 ? 'median' : 'p90';
  const level = `${+((1 - c.alphaLow - c.alphaHigh) * 100).toFixed(1)} %`;
  if (k.verdict === 'fail' || c.verdict === 'fail') {
    return `${c.quantile === 0.5 ? 'Head' : "Head's p90"} is ${pctOf(c.ratio)} slower than the baseline (${level} CI ${pctOf(k.ciLow ?? c.ciLow)} to ${pctOf(c.ciHigh)}), beyond the ${k.budget} % tolerance.`;
  }
  if (c.verdict === 'pass') return '';
  if (c.mixed) {
    const more =
      c.sessionsNeededEstimate === null
        ? 'more sessions are needed to tell the ' + what + ', and at this spread no count within reach would likely decide.'
        : `about ${c.sessionsNeededEstimate} more session(s) per side would likely decide.`;
    return `The sessions form two levels (many slow, throttled-looking sessions, or the fastest sessions disagree with the estimate), so the ${what} ratio ${c.ratio.toFixed(3)} is not yet trusted; ${more}`;
  }
  const where = `The ${level} interval ${c.ciLow.toFixed(3)}–${c.ciHigh.toFixed(3)} of the ${what} ratio straddles ${(1 + c.tolerance).toFixed(3)}; `;
  return (
    where +
    (c.sessionsNeededEstimate === null
      ? 'the difference is too close to the tolerance for more sessions to settle it.'
      : `about ${c.sessionsNeededEstimate} more session(s) per side would likely decide.`)
  );
}

async function evaluateCell(
  db: Pool,
  run: GateRunRow,
  cell: GateCellRow,
  sessions: GateSessionRow[],
  budget: ResolvedBudget,
  options: CellContext,
): Promise<GateCheck[]> {
  const usable = (s: GateSessionRow) => s.status === 'ok' && s.iterationsUs.length > 0;
  const head = sessions.filter((s) => s.role === 'head' && usable(s));
  const excluded = sessions.filter((s) => s.status !== 'ok');
  const excludedNote = excluded.length
    ? ` ${excluded.length} session(s) excluded (${countBy(excluded.map((s) => s.status))}).`
    : '';
  const headFault = sessions.find((x) => x.role === 'head' && x.status === 'error' && faultPolicy(x.errorClass).failGate);
  if (headFault) {
    const message = headFault.errorMessage ? `: ${headFault.errorMessage.split('\n')[0].slice(0, 300)}` : '';
    return [{ ...emptyCheck('runs', 0, `The head model failed on the device (${headFault.errorClass}${message}).`), verdict: 'fail', budget: null }];
  }
  if (cell.status === 'unsupported' || head.length === 0) {
    const why =
      cell.status === 'unsupported'
        ? `The backend is unsupported here${cell.reason ? `: ${cell.reason}` : ''}.`
        : `No stable head sessions${cell.status === 'failed' ? ` (the cell failed${cell.reason ? `: ${cell.reason}` : ''})` : ''}.`;
    return [emptyCheck('regression', budget.max_regression_pct, `${why}${excludedNote}`)];
  }
  const seed = `${run.id}:${cell.jobId}`;
  const resamples = options.resamples;
  const checks: GateCheck[] = [];

  // Regression against the baseline: the same decision procedure as the worker's stopping rule.
  const baseline = await chooseBaseline(db, run, cell, sessions.filter((s) => s.role === 'baseline' && usable(s)), head, options);
  if (!baseline.sessions.length) {
    checks.push(emptyCheck('regression', budget.max_regression_pct, `${baseline.missing}${excludedNote}`, head.length));
  } else {
    const paired = baseline.source === 'paired';
    const point = (s: GateSessionRow, role: 'head' | 'baseline', i: number) =>
      sessionPoint(paired ? s.sessionIndex : i, s.iterationsUs, paired ? { order: pairedSessionOrder(role, s.sessionIndex) } : {});
    const decision = decideCell(
      head.map((s, i) => point(s, 'head', i)),
      baseline.sessions.map((s, i) => point(s, 'baseline', i)),
      {
        tolerance: budget.max_regression_pct / 100,
        p90Tolerance: budget.max_p90_regression_pct !== undefined ? budget.max_p90_regression_pct / 100 : null,
        paired,
        family: options.family,
      },
    );
    const slow = decision.excluded.length
      ? ` ${decision.excluded.length} session(s) set aside as slow: ${decision.excluded.map((e) => `${e.role} #${e.index} (${e.reason})`).join('; ')}.`
      : '';
    for (const c of decision.checks) {
      const k: GateCheck = {
        metric: c.quantile === 0.5 ? 'regression' : 'p90_regression',
        verdict: c.verdict,
        head: c.head / 1000,
        baseline: c.baseline / 1000,
        ratio: Number.isFinite(c.ratio) ? c.ratio : null,
        ciLow: Number.isFinite(c.ciLow) ? c.ciLow : null,
        ciHigh: Number.isFinite(c.ciHigh) ? c.ciHigh : null,
        confidence: 1 - c.alphaLow - c.alphaHigh,
        budget: c.quantile === 0.5 ? budget.max_regression_pct : budget.max_p90_regression_pct!,
        baselineSource: baseline.source,
        headSessions: c.headSessions,
        baselineSessions: c.baselineSessions,
        pValue: c.pValue,
        adjustedPValue: null,
        sessionsNeededEstimate: c.sessionsNeededEstimate,
      };
      const method = paired ? '' : ' Historical baseline: unpaired (Welch) interval.';
      k.note = `${regressionNote(k, c)}${method}${slow}${excludedNote}`.trim() || undefined;
      checks.push(k);
      options.regression.push({ check: k, decided: c });
    }
  }

  // Absolute budgets.
  const iterations = head.map((s) => s.iterationsUs);
  const absolute: [GateMetric, number | undefined, BudgetSamples | null, number][] = [
    ['p50_ms', budget.p50_ms, { kind: 'iterations', sessions: iterations, quantile: 0.5 }, 1000],
    ['p90_ms', budget.p90_ms, { kind: 'iterations', sessions: iterations, quantile: 0.9 }, 1000],
    ['load_ms', budget.load_ms, values(head.map((s) => s.loadMs)), 1],
    ['peak_rss_mb', budget.peak_rss_mb, values(head.map((s) => s.peakRssBytes)), MB],
    ['model_size_mb', budget.model_size_mb, { kind: 'exact', value: cell.sizeBytes }, MB],
  ];
  for (const [metric, limit, samples, unit] of absolute) {
    if (limit === undefined) continue;
    if (!samples) {
      checks.push(emptyCheck(metric, limit, `No session recorded ${metric.replace(/_(ms|mb)$/, '')}.`, head.length));
      continue;
    }
    const k = checkBudget(samples, limit * unit, { seed: `${seed}:${metric}`, resamples });
    const shown = (x: number) => +(x / unit).toPrecision(4);
    checks.push({
      metric,
      verdict: k.verdict,
      head: k.value / unit,
      baseline: null,
      ratio: null,
      ciLow: k.ciLow / unit,
      ciHigh: k.ciHigh / unit,
      budget: limit,
      baselineSource: null,
      headSessions: samples.kind === 'exact' ? 0 : head.length,
      baselineSessions: 0,
      pValue: samples.kind === 'exact' ? null : k.pValue,
      adjustedPValue: null,
      sessionsNeededEstimate: k.sessionsNeededEstimate,
      note:
        k.verdict === 'fail'
          ? `${metric} ${shown(k.value)} is over the budget of ${limit}${k.ciLow !== k.ciHigh ? ` (95 % CI ${shown(k.ciLow)}–${shown(k.ciHigh)})` : ''}.`
          : k.verdict === 'inconclusive'
            ? `The 95 % interval ${shown(k.ciLow)}–${shown(k.ciHigh)} straddles the budget of ${limit}.`
            : undefined,
    });
  }
  return checks;
}

interface BaselineChoice {
  sessions: GateSessionRow[];
  source: string | null;
  /** Why there is none, when there is none. */
  missing: string;
}

async function chooseBaseline(
  db: Pool,
  run: GateRunRow,
  cell: GateCellRow,
  paired: GateSessionRow[],
  head: GateSessionRow[],
  options: CellContext,
): Promise<BaselineChoice> {
  if (paired.length) return { sessions: paired, source: 'paired', missing: '' };
  const tried: string[] = [cell.baselineArtifactId ? 'the paired baseline has no stable sessions' : 'no paired baseline'];
  const seriesIds = [...new Set(head.map((s) => s.seriesId).filter((id): id is number => id !== null))];
  const common = { projectId: run.projectId, seriesIds, excludeRunId: run.id };
  if (run.mergeBase) {
    const atMergeBase = await listMergeBaseSessions(db, { ...common, commit: run.mergeBase });
    if (atMergeBase.length) return { sessions: atMergeBase, source: `merge-base:${run.mergeBase.slice(0, 12)}`, missing: '' };
    tried.push(`no sessions of this series at the merge base ${run.mergeBase.slice(0, 12)}`);
  } else {
    tried.push('the run names no merge base');
  }
  const lookbackDays = options.lookbackDays ?? 30;
  const since = new Date((options.now ?? new Date()).getTime() - lookbackDays * 86_400_000);
  const onBranch = await listBranchBaselineSessions(db, { ...common, branch: options.baselineBranch, since });
  if (onBranch.length) {
    const commit = onBranch[0].commit;
    return { sessions: onBranch, source: `branch:${options.baselineBranch}${commit ? `@${commit.slice(0, 12)}` : ''}`, missing: '' };
  }
  tried.push(`none on branch ${options.baselineBranch} in the last ${lookbackDays} days`);
  return { sessions: [], source: null, missing: `No baseline: ${tried.join(', ')}.` };
}

function values(xs: (number | null)[]): BudgetSamples | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? { kind: 'sessions', values: v } : null;
}

function emptyCheck(metric: GateMetric, budget: number, note: string, headSessions = 0): GateCheck {
  return {
    metric,
    verdict: 'inconclusive',
    head: null,
    baseline: null,
    ratio: null,
    ciLow: null,
    ciHigh: null,
    budget,
    baselineSource: null,
    headSessions,
    baselineSessions: 0,
    pValue: null,
    adjustedPValue: null,
    sessionsNeededEstimate: null,
    note,
  };
}

function countBy(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, n]) => `${n} ${k}`).join(', ');
}

async function storeVerdicts(db: Pool, result: GateResult): Promise<void> {
  const rows: NewVerdict[] = result.cells.flatMap((cell) =>
    cell.checks.map((k) => ({
      runId: result.runId,
      jobId: cell.jobId,
      metric: k.metric,
      verdict: k.verdict,
      headValue: k.head,
      baselineValue: k.baseline,
      ratio: k.ratio,
      ciLow: k.ciLow,
      ciHigh: k.ciHigh,
      budget: k.budget,
      baselineSource: k.baselineSource,
      evidence: {
        headSessions: k.headSessions,
        baselineSessions: k.baselineSessions,
        pValue: k.pValue,
        adjustedPValue: k.adjustedPValue,
        sessionsNeededEstimate: k.sessionsNeededEstimate,
        note: k.note ?? null,
      },
    })),
  );
  rows.push({
    runId: result.runId,
    jobId: null,
    metric: 'run',
    verdict: result.verdict,
    evidence: { counts: result.counts, baselineBranch: result.baselineBranch, evaluatedAt: result.evaluatedAt },
  });
  await withTransaction(db, (client) => replaceVerdictsForRun(client, result.runId, rows));
}
