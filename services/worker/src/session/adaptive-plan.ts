import { matchBudget, parseBudgets, type SessionJobData } from '@pocketbench/contracts';
import { getCellDecisionContext, poolSessionNoise, type Queryable, type SessionRow } from '@pocketbench/db';
import { adaptiveCap, adaptiveNextStep, pairedSessionOrder, sessionPoint, type AdaptiveStep } from '@pocketbench/stats';

/**
 * The adaptive A/B stopping rule for one cell, with what the gate will decide with: the run's
 * stored budgets (tolerance, p90 tolerance), the run's Benjamini–Hochberg family and a cap that
 * follows the pool's measured session noise up to the configured maximum. `sessions` are the
 * farm's own sessions of the cell (every status: they all count towards the cap).
 */
export async function adaptiveStepForCell(tx: Queryable, data: SessionJobData, sessions: SessionRow[]): Promise<AdaptiveStep> {
  const cell = await getCellDecisionContext(tx, data.jobId);
  const budgets = parseBudgets(data.config.budgets ?? '', 'budgets');
  const budget = cell ? matchBudget(budgets, { model: cell.model, variant: cell.variant, backend: cell.backend, pool: cell.pool }) : matchBudget(budgets, { model: '', variant: '', backend: data.backend, pool: data.pool });
  const anyP90 = [budgets.defaults, ...budgets.rules.map((r) => r.limits)].some((l) => l.max_p90_regression_pct !== undefined);
  const tolerance = budget.max_regression_pct / 100;
  const noise = await poolSessionNoise(tx, data.pool);
  const ok = sessions.filter((s) => s.status === 'ok' && s.iterationsUs.length > 0);
  const points = (role: 'head' | 'baseline') =>
    ok.filter((s) => s.role === role).map((s) => sessionPoint(s.sessionIndex, s.iterationsUs, { order: pairedSessionOrder(role, s.sessionIndex) }));
  // Every stored session counts towards the cap, unstable ones too: a device that only
  // produces unstable sessions must not schedule forever.
  const scheduledPerSide = Math.max(...(['head', 'baseline'] as const).map((role) => sessions.filter((s) => s.role === role).length));
  return adaptiveNextStep(points('head'), points('baseline'), {
    tolerance,
    p90Tolerance: budget.max_p90_regression_pct !== undefined ? budget.max_p90_regression_pct / 100 : null,
    paired: true,
    // An upper bound of the gate's family: a cell this rule stops as `fail` stays a discovery there.
    family: Math.max(1, cell?.jobsTotal ?? 1) * (anyP90 ? 2 : 1),
    cap: adaptiveCap(noise, tolerance, data.config.maxSessions),
    scheduledPerSide,
  });
}
