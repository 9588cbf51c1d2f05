import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '@pocketbench/db';

/** The unique key of a stored session: one spooled report per key. */
export interface SpoolKey {
  jobId: string;
  role: string;
  sessionIndex: number;
}

/** What the spool keeps: the key and whatever the caller needs to store the session later. */
export interface SpoolEntry<T> {
  key: SpoolKey;
  /** When the report was first held (ms since the epoch). */
  heldAt: number;
  payload: T;
}

function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function spoolKey(k: SpoolKey): string {
  return `${k.jobId}.${k.role}.${k.sessionIndex}`;
}

/** A file name for a key: ids are uuids, digits and role names, but never trust a name with a path. */
function fileName(k: SpoolKey): string {
  return `${spoolKey(k).replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

/**
 * Finished reports the database has not taken yet, held in memory and on the worker host's disk
 * (`<cache>/spool/*.json`, written to a temporary file, fsynced, renamed): a Postgres outage or a
 * worker restart between the harness finishing and the row being committed loses no session. The
 * sessions table's unique key makes a late store of a report that was also stored another way a
 * no-op, so holding one too long is harmless; losing one is not.
 */
export class ReportSpool<T> {
  private readonly held = new Map<string, SpoolEntry<T>>();
  private opened = false;

  constructor(
    readonly dir: string,
    private readonly logger?: Logger,
  ) {}

  /** Creates the directory and loads what a previous run of the worker left; returns it. */
  async open(): Promise<SpoolEntry<T>[]> {
    await mkdir(this.dir, { recursive: true });
    for (const f of await readdir(this.dir)) {
      const file = path.join(this.dir, f);
      if (f.endsWith('.tmp')) {
        // A write cut short by a crash: the report never reached its final name. (Another live
        // worker sharing the directory may be writing it right now: left alone then.)
        const pid = Number(/\.(\d+)\.tmp$/.exec(f)?.[1]);
        if (!pidAlive(pid)) await rm(file, { force: true });
        continue;
      }
      if (!f.endsWith('.json')) continue;
      try {
        const entry = JSON.parse(await readFile(file, 'utf8')) as SpoolEntry<T>;
        if (!entry?.key?.jobId || typeof entry.key.sessionIndex !== 'number') throw new Error('no session key');
        this.held.set(spoolKey(entry.key), entry);
      } catch (err) {
        // Kept aside for a person to look at, never retried in a loop nor silently deleted.
        this.logger?.error({ file, err: (err as Error).message }, 'unreadable spooled report set aside');
        await rename(file, `${file}.bad`).catch(() => undefined);
      }
    }
    this.opened = true;
    if (this.held.size) this.logger?.warn({ held: this.held.size, dir: this.dir }, 'finished reports from before a restart are waiting to be stored');
    return this.list();
  }

  /** Holds a finished report until `release`: in memory, and durably on disk before returning. */
  async hold(key: SpoolKey, payload: T): Promise<SpoolEntry<T>> {
    if (!this.opened) await this.open();
    const entry: SpoolEntry<T> = { key, heldAt: this.held.get(spoolKey(key))?.heldAt ?? Date.now(), payload };
    this.held.set(spoolKey(key), entry);
    const file = path.join(this.dir, fileName(key));
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(entry));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const dir = await open(this.dir, 'r');
    await dir.sync().finally(() => dir.close());
    return entry;
  }

  /** Forgets a report once the database holds its session (or its cell was failed instead). */
  async release(key: SpoolKey): Promise<void> {
    this.held.delete(spoolKey(key));
    await rm(path.join(this.dir, fileName(key)), { force: true });
  }

  get(key: SpoolKey): SpoolEntry<T> | undefined {
    return this.held.get(spoolKey(key));
  }

  list(): SpoolEntry<T>[] {
    return [...this.held.values()];
  }

  get size(): number {
    return this.held.size;
  }
}

/** Storing a held report failed for longer than allowed for a reason other than an outage. */
export class StoreFailedError extends Error {
  readonly errorClass = 'store_failed';
  constructor(message: string) {
    super(message);
    this.name = 'StoreFailedError';
  }
}

export interface StoreHeldOptions {
  logger: Logger;
  /** First wait between attempts; doubled up to `maxRetryMs`. @defaultValue 1000 */
  retryMs?: number;
  /** @defaultValue 10000 */
  maxRetryMs?: number;
  /**
   * How long a store that fails with an error of the statement (not an outage: a lock timeout, a
   * constraint, a trigger) is retried before giving up with StoreFailedError. An outage is
   * waited out without limit. @defaultValue 120000
   */
  giveUpMs?: number;
  /** Stops waiting (worker shutting down): the report stays on disk for the next start. */
  abandoned?(): boolean;
}

/**
 * Stores a held report with `store`, waiting out a database outage (however long) and retrying a
 * failing statement up to `giveUpMs`; releases it from the spool once stored. Throws
 * StoreFailedError after `giveUpMs`, or the last error when `abandoned()` says to stop (the
 * report is then still on disk).
 */
export async function storeHeld<T, R>(
  spool: ReportSpool<T>,
  entry: SpoolEntry<T>,
  store: (payload: T) => Promise<R>,
  opts: StoreHeldOptions,
): Promise<R> {
  let wait = opts.retryMs ?? 1000;
  const maxWait = opts.maxRetryMs ?? 10_000;
  const giveUpMs = opts.giveUpMs ?? 120_000;
  let firstStatementError: number | undefined;
  let warned = false;
  for (;;) {
    try {
      const r = await store(entry.payload);
      await spool.release(entry.key);
      if (warned) opts.logger.info({ ...entry.key, heldMs: Date.now() - entry.heldAt }, 'held report stored');
      return r;
    } catch (err) {
      const message = (err as Error).message;
      const outage = isDatabaseUnavailable(err);
      if (!outage) {
        firstStatementError ??= Date.now();
        if (Date.now() - firstStatementError >= giveUpMs) {
          throw new StoreFailedError(`the session's result could not be stored for ${Math.round(giveUpMs / 1000)} s: ${message}`);
        }
      }
      if (!warned) {
        opts.logger.warn({ ...entry.key, err: message, outage }, outage ? 'database unavailable; holding the finished report until it is back' : 'storing the session failed; holding the report and retrying');
        warned = true;
      }
      if (opts.abandoned?.()) throw err;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(maxWait, wait * 2);
    }
  }
}
