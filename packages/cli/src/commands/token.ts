import type { Command } from 'commander';
import type { CreatedToken } from '@pocketbench/contracts';
import { client, CliError, EXIT } from '../context.js';

export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('manage bearer tokens (stored hashed; the secret is shown once)');
  token
    .command('create')
    .description('create a project token (or --admin, or --worker); needs an admin token (a server in open local mode issues project tokens only)')
    .option('--project <name>', 'project the token may act for (created when new)')
    .option('--name <label>', 'a label to recognise the token by')
    .option('--admin', 'an admin token (all projects, devices, tokens)')
    .option('--worker', 'a worker token: fetches artifact bytes and nothing else (POCKETBENCH_WORKER_TOKEN of `pocketbench worker`)')
    .option('--json', 'print the JSON document')
    .addHelpText('after', '\nExample:\n  POCKETBENCH_TOKEN=$ADMIN pocketbench token create --project vision --name ci')
    .action(async (opts: { project?: string; name?: string; admin?: boolean; worker?: boolean; json?: boolean }) => {
      const kinds = [opts.project ? 'project' : null, opts.admin ? 'admin' : null, opts.worker ? 'worker' : null].filter(Boolean);
      if (kinds.length !== 1) throw new CliError('give one of --project NAME (a project token), --admin or --worker', EXIT.usage);
      const t = await client().post<CreatedToken>('/api/v1/tokens', {
        project: opts.project, name: opts.name, kind: kinds[0],
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${t.token}\n`);
      const variable = t.kind === 'worker' ? 'POCKETBENCH_WORKER_TOKEN' : 'POCKETBENCH_TOKEN';
      const what = t.kind === 'worker' ? 'a worker' : t.admin ? 'admin' : `project ${t.project}`;
      process.stderr.write(`token "${t.name}" for ${what} created; it is shown only once: export ${variable}=<it>\n`);
    });
}
