import type { BenchSpec } from '@pocketbench/contracts';

/** A test's spec document with its artifact on the worker host, as the processor hands it to `runHarness`. */
export function hostSpec(spec: Record<string, unknown>, artifactPath: string, sha256: string): BenchSpec {
  const artifact = (spec.artifact ?? {}) as Record<string, unknown>;
  return { ...spec, artifact: { ...artifact, path: artifactPath, sha256 } } as BenchSpec;
}
