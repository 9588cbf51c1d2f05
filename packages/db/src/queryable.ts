import type pg from 'pg';

/**
 * Anything that runs one SQL statement: a pool, a pooled client inside a transaction, or a
 * plain client. Every query function takes one, so a caller composes them in a transaction.
 */
export type Queryable = Pick<pg.Pool, 'query'>;

/** The row type of a statement that returns no rows (an UPDATE or INSERT without RETURNING, BEGIN). */
export type NoRows = Record<string, never>;

/** `SELECT pg_advisory_xact_lock(…)`: one row whose void column reads as an empty string. */
export interface AdvisoryLockRow {
  pg_advisory_xact_lock: string;
}
