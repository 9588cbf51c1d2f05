import type { Command } from 'commander';
import { config, CliError, EXIT } from '../context.js';
import { startService, stopChild } from '../processes.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('serve this machine\'s devices: register them, heartbeat, and run session jobs from their pool queues through Appium')
    .option('--devices <list>', 'only these device ids or pools (default: every device discovered on this host)')
    .option('--appium-url <url>', 'use this Appium server instead of starting one (APPIUM_URL)')
    .addHelpText('after', `
Environment: DATABASE_URL (required), REDIS_URL (default redis://127.0.0.1:6379), POCKETBENCH_URL (the api, for
artifact downloads), POCKETBENCH_TOKEN, POCKETBENCH_DATA_DIR, APPIUM_URL, POCKETBENCH_HEARTBEAT_MS (5000).
SIGINT/SIGTERM finish the job in hand (or hand it back to the queue) and close the device sessions.`)
    .action(async (opts: { devices?: string; appiumUrl?: string }) => {
      const c = config();
      if (!c.databaseUrl) throw new CliError('DATABASE_URL is not set; the worker stores results in Postgres (or use "pocketbench up")', EXIT.usage);
      const env: NodeJS.ProcessEnv = { ...c.env, POCKETBENCH_DATA_DIR: c.dataDir };
      if (opts.devices) env.POCKETBENCH_WORKER_DEVICES = opts.devices;
      if (opts.appiumUrl) env.APPIUM_URL = opts.appiumUrl;
      const child = startService('worker', env);
      const forward = () => void stopChild(child);
      process.on('exit', () => {
        if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGTERM');
      });
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const code = await child.exited;
      process.exitCode = code ?? 1;
    });
}
