import type { Command } from 'commander';
import { client } from '../context.js';
import { renderTable } from '../render/results.js';
import { exitCodeFor, fetchResults } from './submit.js';

export function registerResultsCommand(program: Command): void {
  program
    .command('results')
    .description('print a run\'s measured figures per cell: p50/p90/p99 ms, load ms, peak RSS, size, backend, arch')
    .argument('<run>', 'run id')
    .option('--json', 'print one JSON document with the run id and, per cell, its status and figures')
    .addHelpText('after', '\nExit codes: 0 run done, 1 run failed or not finished, 2 bad input, 3 api unreachable.')
    .action(async (runId: string, opts: { json?: boolean }) => {
      const results = await fetchResults(client(), encodeURIComponent(runId));
      process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${renderTable(results)}\n`);
      process.exitCode = exitCodeFor(results);
    });
}
