import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { ArtifactStore } from '@pocketbench/api';
import { ensureProject } from '@pocketbench/db';
import { registerUpload } from '../../services/api/src/domain/artifacts/upload-artifact.js';
import type { Principal } from '../../services/api/src/domain/auth/tokens.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { tinyOnnx } from './helpers.js';

const ADMIN: Principal = { kind: 'admin', via: 'open' };

describe('api/registerUpload under concurrency', () => {
  let tdb: TestDatabase;
  let dir: string;
  let store: ArtifactStore;
  let blocker: pg.PoolClient | undefined;

  before(async () => {
    tdb = await createTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'pb-upload-race-'));
    store = new ArtifactStore(dir);
  });
  after(async () => {
    blocker?.release();
    await tdb?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('never removes the file of an upload still in flight when another upload of the same bytes fails', async () => {
    const bytes = tinyOnnx('race');
    const project = await ensureProject(tdb.pool, 'race');
    // B will be held inside its transaction (its model insert waits for this uncommitted row).
    blocker = await tdb.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO models (project_id, name) VALUES ($1, 'm')`, [project.id]);

    // A stores the file, then fails (its project name is refused inside the transaction).
    let aStored!: () => void;
    const aHasStored = new Promise<void>((r) => (aStored = r));
    let releaseA!: () => void;
    const aMayFail = new Promise<void>((r) => (releaseA = r));
    const failingStore = Object.create(store) as ArtifactStore;
    failingStore.commit = async (temp) => {
      const c = await store.commit(temp);
      aStored();
      await aMayFail;
      return c;
    };
    const a = registerUpload({ db: tdb.pool, store: failingStore }, ADMIN, await store.writeTemp(Readable.from(bytes)), 'a.onnx', { model: 'other', project: 'Not A Project' });
    const aSettled = a.then(() => 'resolved', (e: Error) => e.message);
    await Promise.race([aHasStored, aSettled]);

    // B: the same bytes, a healthy upload, in flight while A fails and cleans up.
    const b = registerUpload({ db: tdb.pool, store }, ADMIN, await store.writeTemp(Readable.from(bytes)), 'b.onnx', { model: 'm', project: 'race' });
    await delay(100);
    releaseA();
    await Promise.race([aSettled, delay(500)]);
    await blocker.query('ROLLBACK');
    blocker.release();
    blocker = undefined;

    assert.match(await aSettled, /Not A Project/);
    const stored = await b;
    assert.equal(stored.created, true);
    assert.ok(await store.has(stored.artifact.sha256), 'the committed artifact row has its file');
    const { rows } = await tdb.pool.query('SELECT count(*)::int AS n FROM artifacts WHERE sha256 = $1', [stored.artifact.sha256]);
    assert.equal(rows[0].n, 1);
  });

  it('removes the file when the only upload of it fails', async () => {
    const bytes = tinyOnnx('lonely');
    const temp = await store.writeTemp(Readable.from(bytes));
    await assert.rejects(registerUpload({ db: tdb.pool, store }, ADMIN, temp, 'x.onnx', { model: 'x', project: 'Bad Name' }), /Bad Name/);
    assert.equal(await store.has(temp.sha256), false);
  });
});
