import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPool, type Pool } from '@pocketbench/db';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { ReportSpool, storeHeld, StoreFailedError } from '../../services/worker/src/report-spool.js';
import { quietLogger } from './support.js';

describe('worker/report-spool (finished reports survive a database outage and a worker restart)', function () {
  this.timeout(60_000);
  let dir: string;
  let db: TestDatabase;
  let proxy: FaultProxy;
  let pool: Pool;

  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('CREATE TABLE held (k text PRIMARY KEY, v int NOT NULL)');
    const u = new URL(db.url);
    proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port || 5432) });
    pool = createPool(proxy.rewrite(db.url), { max: 2, connectionTimeoutMillis: 1000 });
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pb-spool-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  after(async () => {
    await pool?.end().catch(() => undefined);
    await proxy?.close();
    await db?.drop();
  });

  const key = (i: number) => ({ jobId: 'run.0', role: 'head', sessionIndex: i });

  it('keeps held reports on disk across a restart, sets a damaged file aside and drops a torn write', async () => {
    const a = new ReportSpool<{ v: number }>(dir);
    await a.open();
    await a.hold(key(0), { v: 1 });
    await a.hold(key(1), { v: 2 });
    await a.release(key(1));
    await writeFile(path.join(dir, 'x.json.999999999.tmp'), '{"half');
    await writeFile(path.join(dir, 'broken.json'), 'not json');
    // A new process on the same disk.
    const b = new ReportSpool<{ v: number }>(dir, quietLogger());
    const loaded = await b.open();
    assert.deepEqual(loaded.map((e) => [e.key.sessionIndex, e.payload.v]), [[0, 1]]);
    assert.deepEqual((await readdir(dir)).sort(), ['broken.json.bad', 'run.0.head.0.json']);
  });

  it('waits out a database outage and stores the held report exactly once when it is back', async () => {
    const spool = new ReportSpool<{ v: number }>(dir);
    const entry = await spool.hold(key(2), { v: 42 });
    await proxy.refuse();
    const started = Date.now();
    const storing = storeHeld(spool, entry, (p) => pool.query('INSERT INTO held VALUES ($1, $2) ON CONFLICT DO NOTHING', ['k2', p.v]), {
      logger: quietLogger(), retryMs: 200, maxRetryMs: 500,
    });
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(spool.size, 1, 'still held while the database is away');
    await proxy.restore();
    await storing;
    assert.ok(Date.now() - started >= 2500);
    assert.equal(spool.size, 0);
    assert.deepEqual(await readdir(dir), []);
    assert.deepEqual((await db.pool.query('SELECT k, v FROM held')).rows, [{ k: 'k2', v: 42 }]);
  });

  it('gives up on a statement that keeps failing after giveUpMs, keeping the report held', async () => {
    const spool = new ReportSpool<{ v: number }>(dir);
    const entry = await spool.hold(key(3), { v: 1 });
    await assert.rejects(
      storeHeld(spool, entry, () => pool.query('INSERT INTO no_such_table VALUES (1)'), { logger: quietLogger(), retryMs: 50, giveUpMs: 300 }),
      (err: Error) => err instanceof StoreFailedError && /could not be stored for 0 s: relation "no_such_table" does not exist/.test(err.message),
    );
    assert.equal(spool.size, 1);
  });
});
