// `npm run --silent simulate -- --model '<json>' --trials N --seed S [--method product|yardstick]`
// Prints one JSON line {"trials","pass","fail","inconclusive","meanSessionsPerSide"}: the rates
// (fractions of trials) of the product's own scheduling and gate code on simulated A/B cells,
// or of the yardstick (Mann–Whitney U shifted by δ, p < 0.01) on the same sessions.
import { parseArgs } from 'node:util';
import { parseSimulationModel, simulate, type SimulationMethod } from '@pocketbench/stats';

function fail(message: string): never {
  process.stderr.write(`simulate: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      model: { type: 'string', default: '{}' },
      trials: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '1' },
      method: { type: 'string', default: 'product' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(
    "usage: npm run --silent simulate -- --model '<json>' --trials N --seed S [--method product|yardstick]\n" +
      'model fields: ratio, sessionCv, iterSigma, iterations, tailProb, tailMult, throttleProb, throttleMult,\n' +
      '  driftPerSession, headP90Ratio, tolerancePct, checkP90, cells, cap, poolSessionCv (docs/statistics.md)\n',
  );
  process.exit(0);
}
const trials = Number(values.trials);
const seed = Number(values.seed);
if (!Number.isInteger(trials) || trials < 1 || trials > 10_000_000) fail(`--trials must be a positive integer (got "${values.trials}")`);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) fail(`--seed must be an integer from 0 to 4294967295 (got "${values.seed}")`);
if (values.method !== 'product' && values.method !== 'yardstick') fail(`--method must be product or yardstick (got "${values.method}")`);
let model;
try {
  model = parseSimulationModel(values.model!);
} catch (err) {
  fail((err as Error).message);
}
const r = simulate(model, trials, seed, values.method as SimulationMethod);
process.stdout.write(`${JSON.stringify({ trials: r.trials, pass: r.pass, fail: r.fail, inconclusive: r.inconclusive, meanSessionsPerSide: r.meanSessionsPerSide })}\n`);
