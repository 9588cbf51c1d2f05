import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '@pocketbench/db';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { DATABASE_URL: _omit, ...rest } = process.env;
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO_ROOT, env: { ...rest, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** `pocketbench migrate` without DATABASE_URL: the embedded PGlite in the data dir, over the wire protocol. */
describe('cli: migrate on the embedded database', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pb-embedded-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the migrations once, then says it is up to date', async () => {
    const first = await run(['migrate'], { POCKETBENCH_DATA_DIR: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied: 0001_init\.sql/);
    const second = await run(['migrate'], { POCKETBENCH_DATA_DIR: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.trim(), 'database is up to date');
  });

  it('serves pg pools with concurrent transactions, and refuses a second owner of the directory', async () => {
    const db = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pglite') });
    try {
      const pools = [new pg.Pool({ connectionString: db.url, max: 4 }), new pg.Pool({ connectionString: db.url, max: 4 })];
      await Promise.all(Array.from({ length: 12 }, async (_, i) => {
        const c = await pools[i % 2].connect();
        try {
          await c.query('BEGIN');
          await c.query('INSERT INTO projects (name) VALUES ($1)', [`p${i}`]);
          await new Promise((r) => setTimeout(r, 5));
          if (i % 3 === 0) await c.query('ROLLBACK');
          else await c.query('COMMIT');
        } finally {
          c.release();
        }
      }));
      const { rows } = await pools[0].query('SELECT count(*)::int AS n FROM projects');
      assert.equal(rows[0].n, 8, 'committed transactions kept, rolled-back ones gone, none interleaved');
      await Promise.all(pools.map((p) => p.end()));
      const other = await run(['migrate'], { POCKETBENCH_DATA_DIR: dir });
      assert.equal(other.code, 1);
      assert.match(other.stderr, /in use by process \d+; stop it first or set DATABASE_URL/);
    } finally {
      await db.stop();
    }
  });

  it('a DATABASE_URL that answers nothing gets one sentence', async () => {
    const r = await run(['migrate'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none', POCKETBENCH_DATA_DIR: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^pocketbench: cannot reach Postgres at DATABASE_URL \(.*ECONNREFUSED/);
  });
});
