import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { createPool, isDatabaseUnavailable, migrate, type Pool } from '@pocketbench/db';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type ApiConfig } from './config.js';
import type { AppDeps } from './deps.js';
import { AfterRunAlertTrigger } from './domain/alerts/after-run-trigger.js';
import { RunEventsConsumer } from './infra/run-events.js';
import { startAlertSweeper, type AlertSweeper } from './domain/alerts/alert-sweeper.js';
import { ArtifactStore } from './domain/artifacts/artifact-store.js';
import { startReconciler, type Reconciler } from './domain/runs/reconcile-runs.js';
import { startConversionReconciler } from './domain/conversions/variant-run.js';
import { ConversionQueue } from './infra/conversion-queue.js';
import { Metrics } from './infra/metrics.js';
import { SessionQueues } from './infra/session-queues.js';

/** How long the start (and the close) waits for a reconciliation pass, ms: one waiting for Redis goes on without holding the api. */
const PASS_WAIT_MS = 3000;
const settleWithin = (p: Promise<unknown>): Promise<unknown> => Promise.race([p, new Promise((resolve) => setTimeout(resolve, PASS_WAIT_MS).unref())]);

export interface StartOptions {
  config: ApiConfig;
  /** An existing pool (tests, `pocketbench up`); else one is made from `config.databaseUrl`. */
  db?: Pool;
  /** An existing ioredis connection; else one is made from `config.redisUrl`. */
  redis?: Redis;
  logger?: Logger;
  /** Apply pending migrations before listening. @defaultValue true */
  migrate?: boolean;
}

export interface WebServer {
  url: string;
  port: number;
  server: Server;
  deps: AppDeps;
  /** Stops listening and releases what this server created; idempotent. */
  close(): Promise<void>;
}

/** Builds the dependencies, the app, and listens on `config.port` (0 = any free port). */
export async function startWebServer(opts: StartOptions): Promise<WebServer> {
  const { config } = opts;
  const logger = opts.logger ?? pino({ name: 'pocketbench-api', level: config.logLevel });
  if (!opts.db && !config.databaseUrl) throw new ConfigError('DATABASE_URL', 'is not set (pocketbench up provides an embedded Postgres)');
  if (!opts.redis && !config.redisUrl) throw new ConfigError('REDIS_URL', 'is not set (pocketbench up provides a local redis-server)');
  const ownDb = !opts.db;
  // An idle connection dropped by a restarting or failing-over Postgres is replaced, not a crash.
  const db = opts.db ?? createPool(config.databaseUrl!, { onError: (err) => logger.warn({ err: err.message }, 'postgres connection lost; reconnecting on the next query') });
  const ownRedis = !opts.redis;
  // A producer should fail fast (503, nothing stored) when Redis is down, not hang the request.
  const redis = opts.redis ?? new Redis(config.redisUrl!, { maxRetriesPerRequest: 2 });
  // ioredis reconnects by itself; an unheard `error` event would only be printed, not crash.
  if (ownRedis) redis.on('error', (err) => logger.debug({ err: err.message }, 'redis connection error; reconnecting'));
  const queues = new SessionQueues(redis, config.queuePrefix);
  const conversions = new ConversionQueue(redis, config.queuePrefix);
  const cleanups: (() => Promise<unknown>)[] = [
    () => queues.close(),
    () => conversions.close(),
    ...(ownRedis ? [() => redis.quit()] : []),
    ...(ownDb ? [() => db.end()] : []),
  ];
  const runCleanups = async () => {
    // Every step runs even when one fails.
    const results = await Promise.allSettled(cleanups.map((c) => c()));
    for (const r of results) if (r.status === 'rejected') logger.warn({ err: r.reason }, 'cleanup step failed');
  };
  try {
    if (opts.migrate !== false) await migrate(db);
    const deps: AppDeps = {
      config,
      db,
      queues,
      conversions,
      store: new ArtifactStore(path.join(config.dataDir, 'artifacts')),
      logger,
      metrics: new Metrics(),
      alerts: new AfterRunAlertTrigger(db, { logger }),
    };
    const app = createApp(deps);
    const server = app.listen(config.port, config.host);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    // What the server really listens on (0.0.0.0 is every interface), for the banner.
    const bind = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    // Postgres is the record, Redis a cache of work: planned sessions missing from the queue (a
    // crash between a run's commit and its enqueue, a Redis restart) are enqueued again, at start
    // and then periodically. Redis being down must not stop the API; /readyz reports it.
    const reconciler: Reconciler = startReconciler({
      db, queues, logger, intervalMs: config.reconcileMs, minAgeMs: Math.min(config.reconcileMs, 10_000),
    });
    // The start waits for the first passes only so long: with Redis away, their enqueues wait for
    // it to come back (and then finish), and the API answers meanwhile.
    await settleWithin(reconciler.runOnce(0));
    // Conversions too: unfinished ones are queued again, the cells of ended ones stored.
    const conversionReconciler = startConversionReconciler({ db, queues, conversions, logger, intervalMs: config.reconcileMs });
    await settleWithin(conversionReconciler.runOnce());
    // The worker says when a run finished; alerts are detected then, whoever watches the run.
    const events = new RunEventsConsumer({ redis, prefix: config.queuePrefix, logger, onRunFinished: (runId) => deps.alerts?.trigger(runId) });
    // Started once listening, so a failed start has no timer to stop.
    const sweeper: AlertSweeper | undefined =
      config.alertSweepMs > 0 ? startAlertSweeper(db, { intervalMs: config.alertSweepMs, logger }) : undefined;
    logger.info(
      {
        url,
        bind,
        dataDir: config.dataDir,
        auth: config.openMode ? 'open local mode (loopback only): requests without a token act as admin' : 'a bearer token is required',
      },
      'api listening',
    );
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      server,
      deps,
      close() {
        closing ??= (async () => {
          // SSE streams and keep-alive sockets would hold close() open.
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          // Detection still running must finish before the pool it uses is ended.
          await events.close();
          // A pass waiting for an absent Redis is not waited for: closing the queues below ends it.
          await settleWithin(Promise.allSettled([sweeper?.stop(), deps.alerts?.close(), reconciler.stop(), conversionReconciler.stop()]));
          await runCleanups();
        })();
        return closing;
      },
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

export async function stopWebServer(server: WebServer | undefined): Promise<void> {
  await server?.close();
}

// `node --import tsx services/api/src/main.ts`: the api alone, configured from the environment.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let config: ApiConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    console.error(`pocketbench api: ${(err as Error).message}`);
    process.exit(2);
  }
  // A database outage surfacing in a background task is waited out; anything else is a bug
  // and exits (pocketbench up restarts the process).
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) return void console.error(`pocketbench api: database unavailable: ${(reason as Error).message}`);
    console.error('pocketbench api: unhandled rejection', reason);
    process.exit(1);
  });
  startWebServer({ config }).then(
    (server) => {
      const stop = () => void server.close().then(() => process.exit(0));
      // Under `pocketbench up` the terminal's Ctrl-C reaches the whole group; up sends SIGTERM.
      if (config.supervised) process.on('SIGINT', () => undefined);
      else process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (err) => {
      console.error(`pocketbench api: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
