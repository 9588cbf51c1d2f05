// What the dashboard's page queries share: paging, a nullable number, the "emulated" label's SQL.

export interface DashboardPage {
  /** @defaultValue 50 */
  limit?: number;
  /** @defaultValue 0 */
  offset?: number;
}

export function pageOf(p: DashboardPage, max = 200): { limit: number; offset: number } {
  return { limit: Math.min(Math.max(p.limit ?? 50, 1), max), offset: Math.max(p.offset ?? 0, 0) };
}

/** A numeric column that may be null (float8 aggregates, bigint ids). */
export const num = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** `count(*)::int AS n`. */
export interface CountRow {
  n: number;
}

/**
 * SQL: the pool named by `poolExpr` is emulated (every registered device in it is), so it is
 * labelled `<pool> (emulated)` wherever it is shown. A pool with no device left is not.
 */
export const poolEmulatedSql = (poolExpr: string): string =>
  `coalesce((SELECT bool_and(pd.emulated) FROM devices pd WHERE pd.pool = ${poolExpr}), false)`;

/** SQL: every registered device of series `s`'s device model is emulated. */
export const MODEL_EMULATED_SQL = `coalesce((SELECT bool_and(md.emulated) FROM devices md WHERE md.device_model = s.device_model), false)`;
