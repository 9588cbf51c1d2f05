import type { Command } from 'commander';
import { config, CliError, EXIT } from '../context.js';
import { startService, Supervisor } from '../processes.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('serve this machine\'s devices: register them, heartbeat, and run session jobs from their pool queues through Appium')
    .option('--devices <list>', 'only these device ids or pools (default: every device discovered on this host)')
    .option('--appium-url <url>', 'use this Appium server instead of starting one (APPIUM_URL)')
    .addHelpText('after', `
Environment: DATABASE_URL (required), REDIS_URL (default redis://127.0.0.1:6379), POCKETBENCH_URL (the api, for
artifact downloads), POCKETBENCH_TOKEN, POCKETBENCH_DATA_DIR, APPIUM_URL, POCKETBENCH_HEARTBEAT_MS (5000).
SIGINT/SIGTERM finish the job in hand (or hand it back to the queue) and close the device sessions. A worker that
crashes is restarted (back-off 1 s … 30 s); it and its Appium server stop when this command is killed.`)
    .action(async (opts: { devices?: string; appiumUrl?: string }) => {
      const c = config();
      if (!c.databaseUrl) throw new CliError('DATABASE_URL is not set; the worker stores results in Postgres (or use "pocketbench up")', EXIT.usage);
      const env: NodeJS.ProcessEnv = { ...c.env, POCKETBENCH_DATA_DIR: c.dataDir };
      if (opts.devices) env.POCKETBENCH_WORKER_DEVICES = opts.devices;
      if (opts.appiumUrl) env.APPIUM_URL = opts.appiumUrl;
      // A crashed worker is started again with back-off; a signal stops it for good.
      const worker = new Supervisor({ start: () => startService('worker', env), say: (s) => process.stderr.write(`[worker] ${s}\n`) });
      let stopped!: () => void;
      const done = new Promise<void>((r) => (stopped = r));
      const forward = () => void worker.stop().then(stopped);
      process.on('exit', () => {
        const p = worker.current.proc;
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
      });
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      await done;
      process.exitCode = worker.current.proc.exitCode ?? 0;
    });
}
