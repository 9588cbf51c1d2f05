/**
 * One session per fixture × backend, printed as the markdown table in device-agents/harness/README.md:
 * what the reference harness reports for each model on this machine.
 * Usage: node --import tsx bench/harness/fixture-table.ts [--iterations 20] [--threads 1]
 */
import { parseArgs } from 'node:util';
import { ensureFixtures, ensurePtlRunner, loadConfig, runSession } from '@pocketbench/harness';

const { values: args } = parseArgs({ options: { iterations: { type: 'string', default: '20' }, threads: { type: 'string', default: '1' } } });
const config = loadConfig(process.env);
await ensurePtlRunner(config.ptlRunnerPath);
const fixtures = await ensureFixtures(config.dataDir);
const mb = (b: number) => (b / 1e6).toFixed(1);
console.log('| model | variant | format | backend | size MB | load ms | first ms | p50 ms | p90 ms | CV | peak RSS MB | top-5 |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const m of fixtures.models) {
  for (const backend of m.format === 'onnx' ? (['cpu', 'vulkan'] as const) : (['cpu'] as const)) {
    const r = await runSession(
      {
        specVersion: 1,
        artifact: { path: m.path, sha256: m.sha256, format: m.format },
        runtime: m.format === 'onnx' ? 'onnxruntime' : 'pytorch-lite',
        backend,
        threads: Number(args.threads),
        warmup: 3,
        iterations: backend === 'vulkan' && m.name === 'resnet18' ? 5 : Number(args.iterations),
        seed: 7,
        inputs: m.inputs,
        timeBudgetSec: 600,
      },
      { config },
    );
    if (r.status !== 'ok') {
      console.log(`| ${m.name} | ${m.variant} | ${m.format} | ${backend} | ${r.status}: ${r.error?.message ?? r.backend.reason} |`);
      continue;
    }
    const s = r.summary!;
    console.log(
      `| ${m.name} | ${m.variant} | ${m.format} | ${backend} | ${mb(r.model!.sizeBytes)} | ${r.timing!.modelLoadMs.toFixed(0)} | ${r.timing!.firstInferenceMs.toFixed(1)} | ${(s.p50Us / 1000).toFixed(2)} | ${(s.p90Us / 1000).toFixed(2)} | ${(s.cv * 100).toFixed(1)} % | ${mb(r.memory!.peakRssBytes)} | ${r.output!.topK.join(' ')} |`,
    );
  }
}
