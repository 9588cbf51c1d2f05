import path from 'node:path';
import type { Command } from 'commander';
import { createPool, migrate, ping, startEmbeddedPostgres } from '@pocketbench/db';
import { CliError, config } from '../context.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL, or the embedded database in POCKETBENCH_DATA_DIR)')
    .action(async () => {
      const c = config();
      const embedded = c.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: path.join(c.dataDir, 'pglite') });
      const db = createPool(c.databaseUrl ?? embedded!.url, 1);
      try {
        await ping(db).catch((err: Error) => {
          throw new CliError(`cannot reach Postgres at DATABASE_URL (${err.message})`);
        });
        const applied = await migrate(db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      } finally {
        await db.end().catch(() => undefined);
        await embedded?.stop();
      }
    });
}
