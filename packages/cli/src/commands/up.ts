import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createPool, migrate, mintWorkerToken, startEmbeddedPostgres, type EmbeddedPostgres } from '@pocketbench/db';
import { config, CliError, EXIT } from '../context.js';
import { assertPortFree, startService, Supervisor, type Child } from '../processes.js';
import { ensureLocalRedis, type LocalRedis } from '../redis-local.js';

const say = (s: string) => process.stderr.write(`[up] ${s}\n`);

/** Pino lines at warn (40) or above reach the terminal; the rest stays in the log files. */
function important(line: string): boolean {
  try {
    return Number(JSON.parse(line).level) >= 40;
  } catch {
    return true;
  }
}

async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new CliError(`the ${child.name} exited during start-up; see its log above`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new CliError(`the ${child.name} did not answer ${url} within ${timeoutMs / 1000} s`);
}

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run the whole service on this machine: api + dashboard, and a worker serving this machine with its own Appium server')
    .option('--no-worker', 'start only the api and dashboard')
    .option('--devices <list>', 'worker devices: ids or pools (default: every device discovered on this host)')
    .addHelpText('after', `
Uses DATABASE_URL, or an embedded Postgres (PGlite) in POCKETBENCH_DATA_DIR; REDIS_URL, or a local redis-server
(started, and installed when possible, if none answers on 127.0.0.1:6379). PORT (8080) is the api's port.
Logs: <data dir>/logs/{api,worker}.log; warnings and errors are shown here. A service that crashes is restarted
(back-off 1 s, 2 s, 4 s … 30 s); every service stops with \`up\`, even when \`up\` itself is killed. Ctrl-C stops everything.`)
    .action(async (opts: { worker: boolean; devices?: string }) => {
      const c = config();
      // Before anything starts: a second `up` must not report success on a port another serves.
      await assertPortFree(c.port).catch((err: Error) => {
        throw new CliError(err.message, EXIT.usage);
      });
      mkdirSync(path.join(c.dataDir, 'logs'), { recursive: true });
      const services: Supervisor[] = [];
      let embedded: EmbeddedPostgres | undefined;
      let redis: LocalRedis | undefined;
      let stopping: Promise<void> | undefined;
      const stopAll = () =>
        (stopping ??= (async () => {
          for (const s of [...services].reverse()) await s.stop().catch(() => undefined);
          await redis?.stop().catch(() => undefined);
          await embedded?.stop().catch(() => undefined);
        })());
      process.on('SIGINT', () => {
        say('stopping (the worker finishes or hands back the job in hand)…');
        void stopAll().then(() => process.exit(0));
      });
      process.on('SIGTERM', () => void stopAll().then(() => process.exit(0)));
      // Whatever way `up` ends, its services end with it (they also watch for its death).
      process.on('exit', () => {
        for (const s of services) {
          const p = s.current.proc;
          if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
        }
      });
      try {
        let databaseUrl = c.databaseUrl;
        if (!databaseUrl) {
          embedded = await startEmbeddedPostgres({ dataDir: path.join(c.dataDir, 'pglite') });
          databaseUrl = embedded.url;
          say(`embedded Postgres (PGlite) in ${path.join(c.dataDir, 'pglite')} at ${databaseUrl}`);
        }
        const db = createPool(databaseUrl, 1);
        // The worker downloads artifacts with a token of its own kind (artifact bytes only),
        // minted afresh at every start, never with the admin token.
        let workerToken: string;
        try {
          const applied = await migrate(db);
          if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
          workerToken = (await mintWorkerToken(db, 'pocketbench up worker')).token;
        } finally {
          await db.end();
        }
        let redisUrl = c.redisUrl;
        if (!redisUrl) {
          redis = await ensureLocalRedis(c.dataDir, say);
          redisUrl = redis.url;
        }
        let apiUrl = `http://127.0.0.1:${c.port}`;
        const env: NodeJS.ProcessEnv = {
          ...c.env,
          DATABASE_URL: databaseUrl,
          REDIS_URL: redisUrl,
          POCKETBENCH_DATA_DIR: c.dataDir,
          PORT: String(c.port),
          POCKETBENCH_URL: apiUrl,
        };
        // The api's own "api listening" line (not just any answer on the port) says it is up;
        // with PORT=0 it also says which port it took.
        let listening!: (url: string) => void;
        let listeningUrl = new Promise<string>((r) => (listening = r));
        let bind = '';
        const api = new Supervisor({
          say,
          start: () =>
            startService('api', env, {
              logFile: path.join(c.dataDir, 'logs', 'api.log'),
              echo: important,
              onLine: (line) => {
                try {
                  const j = JSON.parse(line);
                  if (j.msg === 'api listening' && typeof j.url === 'string') {
                    bind = typeof j.bind === 'string' ? j.bind : '';
                    listening(j.url);
                  }
                } catch {
                  /* not a log line */
                }
              },
            }),
        });
        services.push(api);
        const outcome = await Promise.race([listeningUrl, api.current.exited.then(() => undefined), timeout(60_000)]);
        if (outcome === undefined) throw new CliError(`the api exited during start-up; see ${path.join(c.dataDir, 'logs', 'api.log')}`);
        if (outcome === TIMED_OUT) throw new CliError('the api did not start listening within 60 s');
        apiUrl = outcome;
        // A restarted api keeps the port it was given (PORT=0 resolved once).
        env.PORT = String(new URL(apiUrl).port);
        env.POCKETBENCH_URL = apiUrl;
        api.onRestart(() => (listeningUrl = new Promise<string>((r) => (listening = r))));
        await waitForHttp(`${apiUrl}/healthz`, api.current, 60_000);
        let workerSummary = 'not started (--no-worker)';
        if (opts.worker) {
          let ready!: (devices: string) => void;
          const readyLine = new Promise<string>((r) => (ready = r));
          const { POCKETBENCH_TOKEN: _admin, ...workerEnv } = env;
          const wenv = { ...workerEnv, POCKETBENCH_WORKER_TOKEN: workerToken, ...(opts.devices ? { POCKETBENCH_WORKER_DEVICES: opts.devices } : {}) };
          const worker = new Supervisor({
            say,
            start: () =>
              startService('worker', wenv, {
                logFile: path.join(c.dataDir, 'logs', 'worker.log'),
                echo: important,
                onLine: (line) => {
                  try {
                    const j = JSON.parse(line);
                    if (j.msg === 'worker ready') ready(`${(j.devices ?? []).join(', ')} (Appium at ${j.appiumUrl})`);
                  } catch {
                    /* not a log line */
                  }
                },
              }),
          });
          services.push(worker);
          const w = await Promise.race([readyLine, worker.current.exited.then((code) => ({ code }))]);
          if (typeof w !== 'string') throw new CliError(`the worker exited during start-up (code ${w.code}); see ${path.join(c.dataDir, 'logs', 'worker.log')}`);
          workerSummary = w;
        }
        process.stdout.write(
          [
            '',
            'pocketbench is up',
            `  api + dashboard  ${apiUrl}/${bind ? `  (listening on ${bind})` : ''}`,
            `  database         ${embedded ? `embedded PGlite, ${databaseUrl} (one statement at a time: for a farm of more than a few devices set DATABASE_URL)` : 'DATABASE_URL'}`,
            `  redis            ${redis?.proc ? `redis-server started on ${redisUrl}` : redisUrl}`,
            `  worker           ${workerSummary}`,
            `  logs             ${path.join(c.dataDir, 'logs')}`,
            '',
            'Try:  npx pocketbench submit model.onnx --devices host --backends cpu --iterations 50 --wait',
            'Ctrl-C stops everything.',
            '',
          ].join('\n'),
        );
        // From here a crashed service is restarted by its supervisor; `up` runs until signalled.
        await new Promise(() => undefined);
      } catch (err) {
        await stopAll();
        throw err;
      }
    });
}

const TIMED_OUT = Symbol('timed out');
function timeout(ms: number): Promise<typeof TIMED_OUT> {
  return new Promise((r) => setTimeout(() => r(TIMED_OUT), ms).unref());
}
