import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SerialWireServer } from './embedded-wire.js';

export interface EmbeddedPostgresOptions {
  /** PGlite's data directory (`$POCKETBENCH_DATA_DIR/pglite`). */
  dataDir: string;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
  /**
   * Wire connections accepted at once. PGlite is one backend session: the wire server lets one
   * connection hold it per unit of work (to its Sync or Query, and to the end of a transaction it
   * opened), so several `pg` pools (api, worker with several devices) share it without their
   * statements mixing. @defaultValue 64
   */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`, for `pg` like any server. */
  url: string;
  stop(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Embedded Postgres for `npm start` without DATABASE_URL: PGlite on disk, served over the
 * Postgres wire protocol on 127.0.0.1 so the same `pg` code path runs as against a server.
 * One process owns the directory at a time (a pid lock file guards it).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  await mkdir(opts.dataDir, { recursive: true });
  const lockFile = `${opts.dataDir.replace(/\/+$/, '')}.lock`;
  const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
  if (holder && holder !== process.pid && pidAlive(holder)) {
    throw new Error(`the embedded database in ${opts.dataDir} is in use by process ${holder}; stop it first or set DATABASE_URL`);
  }
  await writeFile(lockFile, String(process.pid));
  let db: PGlite | undefined;
  let server: SerialWireServer | undefined;
  try {
    db = await PGlite.create({ dataDir: path.resolve(opts.dataDir) });
    server = new SerialWireServer({
      db,
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      maxConnections: opts.maxConnections ?? 64,
    });
    await server.start();
  } catch (err) {
    await server?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await rm(lockFile, { force: true });
    throw new Error(`could not start the embedded database in ${opts.dataDir}: ${(err as Error).message}`);
  }
  const url = `postgres://postgres@${server.conn}/postgres`;
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      const errors: unknown[] = [];
      await server!.stop().catch((e) => errors.push(e));
      await db!.close().catch((e) => errors.push(e));
      await rm(lockFile, { force: true }).catch((e) => errors.push(e));
      if (errors.length) throw errors[0];
    },
  };
}
