import type { Command } from 'commander';
import type { RunView } from '@pocketbench/contracts';
import { client } from '../context.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show a run\'s status and progress per cell')
    .argument('<run>', 'run id')
    .option('--json', 'print the api\'s JSON document')
    .action(async (runId: string, opts: { json?: boolean }) => {
      const doc = await client().get<RunView>(`/api/v1/runs/${encodeURIComponent(runId)}`);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      const run = doc;
      const p = run.progress;
      const lines = [
        `run ${run.id}: ${run.status}`,
        `cells: ${p.jobsFinished ?? '?'}/${p.jobsTotal ?? '?'} finished; sessions: ${p.sessionsDone ?? '?'}/${p.sessionsPlanned ?? '?'}`,
      ];
      for (const c of doc.cells) {
        lines.push(`  cell ${c.cellIndex}: ${c.backend} on ${c.deviceId ?? c.pool}${c.emulated ? ' (emulated)' : ''}: ${c.status} (${c.sessionsDone ?? 0}/${c.sessionsPlanned ?? 0})${c.reason ? ` — ${c.reason}` : ''}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
