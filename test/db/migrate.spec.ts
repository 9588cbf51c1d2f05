import assert from 'node:assert/strict';
import { migrate } from '@pocketbench/db';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

describe('db/migrate', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => db?.drop());

  it('creates every table and records the ledger', async () => {
    const { rows } = await db.pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    const names = rows.map((r) => r.table_name);
    for (const t of ['projects', 'models', 'artifacts', 'devices', 'runs', 'jobs', 'sessions', 'verdicts', 'pocketbench_migrations']) {
      assert.ok(names.includes(t), `missing table ${t}`);
    }
  });

  it('is idempotent and safe to run concurrently', async () => {
    const results = await Promise.all([migrate(db.pool), migrate(db.pool)]);
    assert.deepEqual(results, [[], []]);
  });
});
