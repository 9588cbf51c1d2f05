import type { CellFidelity, FidelityBudgetField, Verdict } from '@pocketbench/contracts';

/**
 * What a gate check measures; absolute ones are named like the budgets file's fields.
 * `runs`: the head model failed on the device because of the model itself (load, inference, crash).
 * `regression` / `p90_regression`: the head/baseline ratio of session medians / p90s.
 */
export type GateMetric = 'runs' | 'regression' | 'p90_regression' | 'p50_ms' | 'p90_ms' | 'load_ms' | 'peak_rss_mb' | 'model_size_mb' | FidelityBudgetField;

/** Fidelity checks whose budget is a lower limit (the rest are upper limits). */
export function isLowerLimit(metric: GateMetric): boolean {
  return metric.startsWith('min_');
}

/** One check of one cell (one budget field, or the regression against the baseline). */
export interface GateCheck {
  metric: GateMetric;
  verdict: Verdict;
  /** Head's value: ms or MB for absolute metrics, the head's median latency in ms for `regression`. */
  head: number | null;
  /** Baseline's median latency in ms (`regression` only). */
  baseline: number | null;
  /** head / baseline (`regression` only). */
  ratio: number | null;
  /**
   * Interval of the ratio (regression checks: lower bound at the fail level, upper at the pass
   * level, see `confidence`) or the 95 % interval of the head's value (absolute metrics).
   */
  ciLow: number | null;
  ciHigh: number | null;
  /** Two-sided coverage of [ciLow, ciHigh] (regression checks: 1 - fail level - pass level). @defaultValue 0.95 */
  confidence?: number;
  /** Upper limit: ms / MB for absolute metrics, max_regression_pct for `regression`. */
  budget: number | null;
  /** `paired`, `merge-base:<sha>`, `branch:<name>` (regression only). */
  baselineSource: string | null;
  headSessions: number;
  baselineSessions: number;
  pValue: number | null;
  adjustedPValue: number | null;
  /** More sessions per side that would likely decide an inconclusive check. */
  sessionsNeededEstimate: number | null;
  /** Why a check is inconclusive or how it was decided, in one sentence. */
  note?: string;
}

export interface GateCell {
  jobId: string;
  cellIndex: number;
  model: string;
  variant: string;
  format: string;
  backend: string;
  pool: string;
  deviceId: string | null;
  /** Worst of the cell's checks. */
  verdict: Verdict;
  checks: GateCheck[];
  /** The cell's fidelity figures (medians over its head sessions), when it ran a fidelity pass. */
  fidelity?: CellFidelity;
}

export interface GateResult {
  runId: string;
  /** Worst of all cells. */
  verdict: Verdict;
  baselineBranch: string;
  commit: string | null;
  mergeBase: string | null;
  counts: Record<Verdict, number>;
  cells: GateCell[];
  evaluatedAt: string;
}

/** Exit code of `pocketbench gate` for a verdict. */
export function gateExitCode(verdict: Verdict): 0 | 1 | 3 {
  return verdict === 'pass' ? 0 : verdict === 'fail' ? 1 : 3;
}

export function cellLabel(cell: Pick<GateCell, 'model' | 'variant' | 'format' | 'backend' | 'pool'>): string {
  return `${cell.model} ${cell.variant} ${cell.format} · ${cell.backend} · ${cell.pool}`;
}
