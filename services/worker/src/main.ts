import { isDatabaseUnavailable } from '@pocketbench/db';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { WorkerHost } from './worker-host.js';

/** `pocketbench worker` / `node services/worker/src/main.ts`: serve this host's devices until signalled. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`worker: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  // A database outage surfacing in a background task is waited out; anything else is a bug and
  // exits (pocketbench up restarts the process, the job in hand returns to the queue).
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) return void logger.warn({ err: (reason as Error).message }, 'database unavailable');
    logger.fatal({ err: reason instanceof Error ? reason.stack : String(reason) }, 'unhandled rejection; exiting');
    process.exit(1);
  });
  const host = new WorkerHost({ config, logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now; the job in hand goes back to the queue');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing the job in hand');
    host.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: (err as Error).message }, 'shutdown step failed');
        process.exit(1);
      },
    );
  };
  // Under `pocketbench up` the terminal's Ctrl-C reaches the whole group; up sends SIGTERM once.
  process.on('SIGINT', () => (config.supervised ? undefined : stop('SIGINT')));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await host.start();
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'worker failed to start');
    await host.close().catch(() => undefined);
    process.stderr.write(`worker: ${(err as Error).message}\n`);
    process.exit(1);
  }
  logger.info({ devices: host.devices.map((d) => d.id), appiumUrl: host.appiumUrl }, 'worker ready');
}

await main();
