import pg from 'pg';
import type { NoRows, Queryable } from './queryable.js';

// bigint columns (sizes, RSS) fit in a JS number for anything a device can hold.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Connections at most. @defaultValue 10 */
  max?: number;
  /**
   * Called with an error of an idle connection (server restarted, failover: 57P01, a reset
   * socket). The pool drops that connection and opens a new one for the next query; without a
   * listener Node would crash the process on this `error` event. @defaultValue ignore it
   */
  onError?(err: Error): void;
  /** How long a query waits for a connection before failing (503 rather than a hang). @defaultValue 5000 */
  connectionTimeoutMillis?: number;
}

/**
 * A pg pool that survives the database going away: idle-connection errors are reported to
 * `onError` instead of crashing, and a connect that cannot succeed fails after a few seconds.
 */
export function createPool(connectionString: string, opts: number | PoolOptions = {}): pg.Pool {
  const o = typeof opts === 'number' ? { max: opts } : opts;
  const db = new pg.Pool({
    connectionString,
    max: o.max ?? 10,
    connectionTimeoutMillis: o.connectionTimeoutMillis ?? 5000,
    // A dead peer (link down, host gone) is noticed by TCP keepalive instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  db.on('error', (err) => o.onError?.(err));
  return db;
}

const UNAVAILABLE_CODES = new Set([
  // Node socket errors
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  // SQLSTATE: admin_shutdown, crash_shutdown, cannot_connect_now, connection exceptions, too many connections,
  // read-only replica after a failover
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300', '25006',
]);

/**
 * True when an error means the database cannot be reached right now (down, restarting, failing
 * over, network cut) rather than that the statement was wrong: the caller should wait and retry.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const m = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|connect ECONNREFUSED|Connection ended unexpectedly|server closed the connection|the database system is (starting up|shutting down)/i.test(m);
}

/** Runs fn inside a transaction; rolls back on any error so nothing half-written is left. */
export async function withTransaction<T>(db: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  // The server going away between two statements is an `error` event on the checked-out client
  // (no idle listener then); the next statement rejects with it, so it must not crash the process.
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query<NoRows>('BEGIN');
    const result = await fn(client);
    await client.query<NoRows>('COMMIT');
    return result;
  } catch (err) {
    await client.query<NoRows>('ROLLBACK').catch(() => undefined);
    // A connection that failed mid-transaction is not given back for reuse.
    if (isDatabaseUnavailable(err)) broken = err as Error;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** One round trip: rejects when the database cannot be reached (readiness, start-up checks). */
export async function ping(db: Queryable): Promise<void> {
  await db.query<{ ok: number }>('SELECT 1 AS ok');
}
