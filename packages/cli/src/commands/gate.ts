import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BudgetsError, parseBudgets } from '@pocketbench/contracts';
import {
  cellLabel,
  gateExitCode,
  orderedChecks,
  renderGateJUnit,
  renderGateMarkdown,
  type GateResult,
} from '@pocketbench/stats';
import { ApiRequestError, type ApiClient } from '../api-client.js';
import { client as defaultClient } from '../context.js';

/** Exit codes of `pocketbench gate` (issue 5): they differ from the other commands' 3 = unreachable. */
export const GATE_EXIT = { pass: 0, fail: 1, error: 2, inconclusive: 3 } as const;

export interface GateCommandDeps {
  /** The api client, built from the CLI's config (POCKETBENCH_URL, POCKETBENCH_TOKEN). */
  client?: () => Pick<ApiClient, 'post' | 'baseUrl'>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  setExitCode?: (code: number) => void;
}

export interface GateCommandOptions {
  budgets: string;
  baselineBranch?: string;
  markdown?: string;
  junit?: string;
  json?: boolean;
}

export function registerGateCommand(program: Command, deps: GateCommandDeps = {}): void {
  program
    .command('gate')
    .description('decide whether a finished run may merge: budgets and regressions against the baseline, with evidence')
    .argument('<run>', 'run id')
    .requiredOption('--budgets <file>', 'budgets YAML file (rules matched by model, variant, backend, pool)')
    .option('--baseline-branch <branch>', "branch of the historical baseline when the run has no paired one (default: the run's, main)")
    .option('--markdown <file>', 'write the PR comment (markdown, failures first) to this file')
    .option('--junit <file>', 'write JUnit XML for CI systems to this file')
    .option('--json', 'print the gate result as one JSON document')
    .addHelpText('after', '\nExit codes: 0 pass, 1 fail, 3 inconclusive, 2 usage or error (bad budgets file, unknown run, run in progress, api unreachable).')
    .action(async (runId: string, opts: GateCommandOptions) => {
      const code = await runGate(runId, opts, deps);
      (deps.setExitCode ?? ((c: number) => (process.exitCode = c)))(code);
    });
}

/** The gate command without commander: returns the exit code, prints through deps. */
export async function runGate(runId: string, opts: GateCommandOptions, deps: GateCommandDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(t));
  const fail = (sentence: string) => {
    err(`pocketbench gate: ${sentence.replace(/\.?$/, '.')}\n`);
    return GATE_EXIT.error;
  };

  let text: string;
  try {
    text = await readFile(opts.budgets, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read the budgets file ${opts.budgets}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  // Validate locally first: the user learns the line and field without a round trip.
  try {
    parseBudgets(text, opts.budgets);
  } catch (e) {
    if (e instanceof BudgetsError) return fail(`the budgets file is invalid: ${e.message}`);
    throw e;
  }

  let api: Pick<ApiClient, 'post' | 'baseUrl'>;
  try {
    api = (deps.client ?? defaultClient)();
  } catch (e) {
    return fail((e as Error).message);
  }
  let result: GateResult;
  try {
    result = await api.post<GateResult>(`/api/v1/runs/${encodeURIComponent(runId)}/gate`, {
      budgets: text,
      ...(opts.baselineBranch ? { baselineBranch: opts.baselineBranch } : {}),
    });
  } catch (e) {
    if (e instanceof ApiRequestError) {
      if (e.code === 'run_not_found' || e.status === 404) return fail(`run ${runId} does not exist at ${api.baseUrl}`);
      return fail(e.message);
    }
    return fail((e as Error).message);
  }

  try {
    if (opts.markdown) await writeFile(opts.markdown, renderGateMarkdown(result));
    if (opts.junit) await writeFile(opts.junit, renderGateJUnit(result));
  } catch (e) {
    return fail(`cannot write the report: ${(e as Error).message}`);
  }
  out(opts.json ? `${JSON.stringify(result, null, 2)}\n` : renderGateText(result));
  return gateExitCode(result.verdict);
}

/** A terminal summary: the verdict, then one line per check, failures first. */
export function renderGateText(result: GateResult): string {
  const lines = [
    `gate ${result.verdict.toUpperCase()} for run ${result.runId}: ${result.counts.fail} failing, ` +
      `${result.counts.inconclusive} inconclusive, ${result.counts.pass} passing checks`,
  ];
  for (const { cell, check } of orderedChecks(result)) {
    const figure =
      check.metric === 'regression'
        ? check.ratio === null
          ? ''
          : `ratio ${check.ratio.toFixed(3)} (95 % CI ${check.ciLow!.toFixed(3)}–${check.ciHigh!.toFixed(3)}) vs ${check.baselineSource}, tolerance +${check.budget} %`
        : check.head === null
          ? ''
          : `${+check.head.toPrecision(4)} (budget ${check.budget})`;
    lines.push(`  ${check.verdict.padEnd(12)} ${cellLabel(cell)}  ${check.metric}  ${figure}`.trimEnd());
    if (check.verdict !== 'pass' && check.note) lines.push(`               ${check.note}`);
  }
  return `${lines.join('\n')}\n`;
}
