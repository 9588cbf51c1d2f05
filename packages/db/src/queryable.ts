import type pg from 'pg';

/**
 * Anything that runs one SQL statement: a pool, a pooled client inside a transaction, or a
 * plain client. Every query function takes one, so a caller composes them in a transaction.
 */
export type Queryable = Pick<pg.Pool, 'query'>;
