// Shared by the harness specs: the native runner and the fixture models, built once and cached.
import { ensureFixtures, ensurePtlRunner, loadConfig, type FixtureManifest, type FixtureModel, type HarnessConfig } from '@pocketbench/harness';
import type { BenchSpec } from '@pocketbench/contracts';

let ready: Promise<{ config: HarnessConfig; fixtures: FixtureManifest }> | undefined;

export function harnessFixtures(): Promise<{ config: HarnessConfig; fixtures: FixtureManifest }> {
  ready ??= (async () => {
    const config = loadConfig(process.env);
    await ensurePtlRunner(config.ptlRunnerPath);
    const fixtures = await ensureFixtures(config.dataDir);
    return { config, fixtures };
  })();
  return ready;
}

export function fixture(manifest: FixtureManifest, name: string, variant: string, format: string): FixtureModel {
  const m = manifest.models.find((x) => x.name === name && x.variant === variant && x.format === format);
  if (!m) throw new Error(`fixture ${name} ${variant} ${format} missing from ${manifest.dir}`);
  return m;
}

export function specFor(m: FixtureModel, overrides: Partial<BenchSpec> = {}): BenchSpec {
  return {
    specVersion: 1,
    artifact: { path: m.path, sha256: m.sha256, format: m.format },
    runtime: m.format === 'onnx' ? 'onnxruntime' : 'pytorch-lite',
    backend: 'cpu',
    threads: 1,
    warmup: 1,
    iterations: 3,
    seed: 7,
    inputs: m.inputs,
    timeBudgetSec: 120,
    ...overrides,
  };
}
