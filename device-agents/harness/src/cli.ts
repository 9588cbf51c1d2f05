/**
 * pocketbench-harness: the reference harness's one entry point on a Linux device.
 *   run --spec spec.json [--out report.json]   run one session; exit 0 ok, 2 error, 3 unsupported
 *   probe                                       print the runtimes and backends this device can run
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { BenchReport } from '@pocketbench/contracts';
import { probeCapabilities } from './capabilities.js';
import { loadConfig } from './config.js';
import { runSession } from './run-session.js';
import { writeFully } from './write-fully.js';

const EXIT_CODES: Record<BenchReport['status'], number> = { ok: 0, error: 2, unsupported: 3 };
const USAGE = 'usage: pocketbench-harness run --spec <spec.json|-> [--out <report.json>] | probe';

/** The spec document, or why there is none; either way the caller still writes a report. */
async function readSpec(file: string): Promise<{ doc: unknown; problem?: string }> {
  let text: string;
  try {
    text = file === '-' ? await new Response(process.stdin as unknown as ReadableStream).text() : await readFile(file, 'utf8');
  } catch (err) {
    return { doc: {}, problem: `cannot read spec ${file}: ${(err as Error).message}` };
  }
  try {
    return { doc: JSON.parse(text) };
  } catch (err) {
    return { doc: {}, problem: `spec ${file} is not JSON: ${(err as Error).message}` };
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig(process.env);
  if (command === 'probe') {
    await writeFully(process.stdout, `${JSON.stringify(await probeCapabilities(config), null, 2)}\n`);
    return 0;
  }
  if (command !== 'run') {
    await writeFully(process.stderr, `${USAGE}\n`);
    return 64;
  }
  const { values } = parseArgs({ args: rest, options: { spec: { type: 'string' }, out: { type: 'string' } } });
  if (!values.spec) {
    await writeFully(process.stderr, `--spec is required\n${USAGE}\n`);
    return 64;
  }
  const spec = await readSpec(values.spec);
  const report = await runSession(spec.doc, { config, specProblem: spec.problem });
  const json = `${JSON.stringify(report)}\n`;
  if (values.out) {
    // Write then rename: a reader never sees half a report.
    await writeFile(`${values.out}.tmp`, json);
    await rename(`${values.out}.tmp`, values.out);
  } else {
    // A report of many iterations is larger than a pipe's buffer: let it all out before exiting.
    await writeFully(process.stdout, json);
  }
  if (report.status !== 'ok') await writeFully(process.stderr, `${report.status}: ${report.error?.message ?? report.backend.reason ?? ''}\n`);
  return EXIT_CODES[report.status];
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err) => {
    await writeFully(process.stderr, `${err instanceof Error ? err.stack : err}\n`);
    process.exit(70);
  },
);
