import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPool, startEmbeddedPostgres, type EmbeddedPostgres, type Pool } from '@pocketbench/db';

/**
 * The embedded default (PGlite behind our wire server) under the load of one worker host with
 * several devices plus the api: several pools at once, parameterised statements (the extended
 * protocol's unnamed statement is per session) and transactions, none mixed with another's.
 */
describe('db/embedded Postgres (PGlite) with several connections at once', function () {
  this.timeout(120_000);
  let dir: string;
  let embedded: EmbeddedPostgres;
  const pools: Pool[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pb-embedded-'));
    embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pglite') });
    for (let i = 0; i < 4; i++) pools.push(createPool(embedded.url, 3));
    await pools[0].query('CREATE TABLE beats (id serial PRIMARY KEY, device int NOT NULL, n int NOT NULL)');
  });
  after(async () => {
    for (const p of pools) await p.end().catch(() => undefined);
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves 4 pools × 3 connections of parameterised statements and transactions without mixing them', async () => {
    let errors = 0;
    let wrong = 0;
    const per = 25;
    await Promise.all(pools.map(async (db, device) => {
      await Promise.all([0, 1, 2].map(async (lane) => {
        for (let i = 0; i < per; i++) {
          const n = device * 1000 + lane * 100 + i;
          try {
            const r = await db.query('SELECT $1::int AS n, $2::text AS s', [n, `d${n}`]);
            if (r.rows[0]?.n !== n || r.rows[0]?.s !== `d${n}`) wrong++;
            const c = await db.connect();
            try {
              await c.query('BEGIN');
              await c.query('INSERT INTO beats (device, n) VALUES ($1, $2)', [device, n]);
              const k = await c.query('SELECT count(*)::int AS k FROM beats WHERE device = $1 AND n = $2', [device, n]);
              if (k.rows[0]?.k !== 1) wrong++;
              await c.query('COMMIT');
            } finally {
              c.release();
            }
          } catch {
            errors++;
          }
        }
      }));
    }));
    assert.equal(errors, 0, 'no statement failed');
    assert.equal(wrong, 0, 'every answer was the asker\'s');
    const { rows } = await pools[0].query('SELECT count(*)::int AS k, count(DISTINCT (device, n))::int AS d FROM beats');
    assert.deepEqual(rows[0], { k: 4 * 3 * per, d: 4 * 3 * per });
  });

  it('rolls back the transaction of a connection that goes away and lets the others on', async () => {
    const client = new pg.Client({ connectionString: embedded.url });
    client.on('error', () => undefined);
    await client.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO beats (device, n) VALUES (99, 1)');
    // Cut without a goodbye, mid-transaction.
    (client as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream.destroy();
    const r = await pools[1].query('SELECT count(*)::int AS k FROM beats WHERE device = 99');
    assert.equal(r.rows[0].k, 0);
    assert.equal((await pools[2].query('SELECT 1 AS one')).rows[0].one, 1);
  });
});
