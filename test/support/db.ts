import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createPool, migrate, type Pool } from '@pocketbench/db';

/** The server every test talks to; each test database is created on it and dropped after. */
export const TEST_ADMIN_URL = process.env.POCKETBENCH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  name: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** Creates a fresh, migrated database owned by one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `pb_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createPool(url.toString());
  // DROP ... WITH (FORCE) kills idle sockets that pool.end() has not closed yet; that is expected.
  db.on('error', () => undefined);
  await migrate(db);
  let dropped = false;
  return {
    url: url.toString(),
    name,
    pool: db,
    async drop() {
      if (dropped) return;
      dropped = true;
      await db.end().catch(() => undefined);
      const c = new pg.Client({ connectionString: TEST_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
