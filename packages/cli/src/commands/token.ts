import type { Command } from 'commander';
import type { CreatedTokenDoc } from '../api-types.js';
import { client, CliError, EXIT } from '../context.js';

export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('manage bearer tokens (stored hashed; the secret is shown once)');
  token
    .command('create')
    .description('create a project token (or an admin token with --admin); needs an admin token or a server in open local mode')
    .option('--project <name>', 'project the token may act for (created when new)')
    .option('--name <label>', 'a label to recognise the token by')
    .option('--admin', 'an admin token (all projects, devices, tokens)')
    .option('--json', 'print the JSON document')
    .addHelpText('after', '\nExample:\n  POCKETBENCH_TOKEN=$ADMIN pocketbench token create --project vision --name ci')
    .action(async (opts: { project?: string; name?: string; admin?: boolean; json?: boolean }) => {
      if (!opts.project && !opts.admin) throw new CliError('give --project NAME for a project token, or --admin', EXIT.usage);
      const doc = await client().post<CreatedTokenDoc | { token: CreatedTokenDoc }>('/api/v1/tokens', { project: opts.project, name: opts.name, admin: opts.admin ?? false });
      const t: CreatedTokenDoc = typeof doc.token === 'object' ? doc.token : (doc as CreatedTokenDoc);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(`token "${t.name}" for ${t.admin ? 'admin' : `project ${t.project}`} created; it is shown only once: export POCKETBENCH_TOKEN=<it>\n`);
    });
}
