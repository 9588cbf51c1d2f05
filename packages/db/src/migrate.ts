import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type pg from 'pg';
import { withTransaction } from './pool.js';
import type { AdvisoryLockRow, NoRows } from './queryable.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** Arbitrary constant: every pocketbench process migrating the same database takes this lock. */
const ADVISORY_LOCK_KEY = 7_311_042_001;
const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface MigrationFile {
  id: number;
  name: string;
  sql: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const m = FILE_PATTERN.exec(name);
    if (!m) throw new Error(`migration file name "${name}" must look like 0001_name.sql`);
    files.push({ id: Number(m[1]), name, sql: await readFile(path.join(dir, name), 'utf8') });
  }
  files.forEach((f, i) => {
    if (i > 0 && f.id === files[i - 1].id) throw new Error(`migrations ${files[i - 1].name} and ${f.name} share number ${f.id}`);
  });
  return files;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, recording each in
 * the `pocketbench_migrations` ledger. Returns the names applied.
 */
export async function migrate(db: pg.Pool, dir?: string): Promise<string[]> {
  const files = await readMigrations(dir);
  return withTransaction(db, async (client) => {
    await client.query<AdvisoryLockRow>('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
    await client.query<NoRows>(`CREATE TABLE IF NOT EXISTS pocketbench_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: number; name: string }>('SELECT id, name FROM pocketbench_migrations ORDER BY id');
    const applied = new Map(rows.map((r) => [r.id, r.name]));
    const done: string[] = [];
    for (const f of files) {
      const prior = applied.get(f.id);
      if (prior !== undefined) {
        if (prior !== f.name) throw new Error(`migration ${f.id} was applied as ${prior} but the file is now ${f.name}`);
        continue;
      }
      await client.query<NoRows>(f.sql);
      await client.query<NoRows>('INSERT INTO pocketbench_migrations (id, name) VALUES ($1, $2)', [f.id, f.name]);
      done.push(f.name);
    }
    return done;
  });
}
