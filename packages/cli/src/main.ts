import { Command, CommanderError } from 'commander';
import { registerDevicesCommand } from './commands/devices.js';
import { registerGateCommand } from './commands/gate.js';
import { registerHarnessBundleCommand } from './commands/harness-bundle.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerResultsCommand } from './commands/results.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerTokenCommand } from './commands/token.js';
import { registerUpCommand } from './commands/up.js';
import { registerWorkerCommand } from './commands/worker.js';
import { EXIT, toCliError } from './context.js';

export function buildProgram(): Command {
  const program = new Command('pocketbench')
    .description('benchmark on-device ML models on a device farm: latency, load time, memory and size per device and backend')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `
Environment: POCKETBENCH_URL (api, default http://127.0.0.1:8080), POCKETBENCH_TOKEN (bearer token),
DATABASE_URL, REDIS_URL, POCKETBENCH_DATA_DIR, APPIUM_URL, PORT.
Exit codes: 0 ok, 1 failed (a run or cell failed), 2 bad usage or input, 3 the api cannot be reached.`);
  registerUpCommand(program);
  registerWorkerCommand(program);
  registerSubmitCommand(program);
  registerStatusCommand(program);
  registerResultsCommand(program);
  registerDevicesCommand(program);
  registerMigrateCommand(program);
  registerTokenCommand(program);
  registerGateCommand(program);
  registerHarnessBundleCommand(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
  // `pocketbench results … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander has already printed usage problems.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const e = toCliError(err);
    process.stderr.write(`pocketbench: ${e.message}\n`);
    process.exitCode = e.exitCode;
  }
}

await main(process.argv);
