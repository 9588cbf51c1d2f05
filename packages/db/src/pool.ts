import pg from 'pg';
import type { Queryable } from './queryable.js';

// bigint columns (sizes, RSS) fit in a JS number for anything a device can hold.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(connectionString: string, max = 10): pg.Pool {
  return new pg.Pool({ connectionString, max });
}

/** Runs fn inside a transaction; rolls back on any error so nothing half-written is left. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** One round trip: rejects when the database cannot be reached (readiness, start-up checks). */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
