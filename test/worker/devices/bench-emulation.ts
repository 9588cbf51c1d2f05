/**
 * How the emulated arm64 device compares with this machine, through the whole device layer
 * (Appium, our driver, the real harness): `node --import tsx test/worker/devices/bench-emulation.ts` (or `npm run bench emulation`).
 * Prints one line per device × model; the figures in docs/devices.md come from here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ensureFixtures } from '@pocketbench/harness';
import { ensureHarnessBundle } from '@pocketbench/harness/bundle';
import { discoverLocalDevices, openDeviceSession, startAppiumServer } from '../../../services/worker/src/devices/index.js';
import { hostSpec } from './support/host-spec.js';

const dataDir = path.resolve(process.env.POCKETBENCH_DATA_DIR ?? fileURLToPath(new URL('../../../.pocketbench', import.meta.url)));
const models = (process.argv[2] ?? 'tiny_cnn,mobilenet_v2').split(',');
const logger = pino({ level: 'warn' });

const fx = await ensureFixtures(dataDir, models);
const bundle = await ensureHarnessBundle({ dataDir });
const appium = await startAppiumServer({ appiumHome: path.join(dataDir, 'appium'), logger });
const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'pb-bench-'));
const rows: string[] = [];
try {
  for (const device of await discoverLocalDevices({ dataDir })) {
    const session = await openDeviceSession(device, { appiumUrl: appium.url, harnessBundle: bundle, cacheDir, logger });
    const t0 = Date.now();
    const info = await session.info();
    const firstInfoMs = Date.now() - t0;
    for (const name of models) {
      const m = fx.models.find((x) => x.name === name && x.format === 'onnx' && x.variant === 'fp32')!;
      const sha = createHash('sha256').update(readFileSync(m.path)).digest('hex');
      const iterations = device.emulated && name !== 'tiny_cnn' ? 10 : 30;
      const spec = { specVersion: 1, artifact: { format: 'onnx' }, runtime: 'onnxruntime', backend: 'cpu', threads: 1, warmup: 2, iterations, inputs: m.inputs, timeBudgetSec: 600 };
      const started = Date.now();
      const r = (await session.runHarness(hostSpec(spec, m.path, sha))) as Record<string, any>;
      const wallMs = Date.now() - started;
      rows.push(
        [
          device.poolLabel ?? device.pool,
          name,
          r.host.arch,
          `load ${r.timing.modelLoadMs.toFixed(0)} ms`,
          `first ${r.timing.firstInferenceMs.toFixed(1)} ms`,
          `p50 ${(r.summary.p50Us / 1000).toFixed(2)} ms`,
          `p90 ${(r.summary.p90Us / 1000).toFixed(2)} ms`,
          `peak RSS ${(r.memory.peakRssBytes / 2 ** 20).toFixed(0)} MiB (${r.memory.method})`,
          `session ${wallMs} ms (${iterations} it)`,
          `first deviceInfo ${firstInfoMs} ms`,
          `top5 ${r.output.topK.join(',')}`,
        ].join(' | '),
      );
      console.log(rows.at(-1));
    }
    void info;
    await session.close();
  }
} finally {
  await appium.stop();
  await rm(cacheDir, { recursive: true, force: true });
}
