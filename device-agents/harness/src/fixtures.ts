import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactFormat, InputDtype, Variant } from '@pocketbench/contracts';

const BUILD_SCRIPT = fileURLToPath(new URL('../fixtures/build_fixtures.py', import.meta.url));
/** Debian's interpreter: it has python3-torch; a pyenv `python3` on PATH may not. */
const PYTHON = '/usr/bin/python3';

export const FIXTURE_MODELS = ['tiny_cnn', 'mobilenet_v2', 'resnet18'] as const;

export interface FixtureModel {
  name: string;
  variant: Variant;
  format: ArtifactFormat;
  file: string;
  /** Absolute path, filled in by ensureFixtures. */
  path: string;
  sha256: string;
  sizeBytes: number;
  inputs: { name: string; shape: number[]; dtype: InputDtype }[];
  outputs: string[];
}

export interface FixtureManifest {
  dir: string;
  seed: number;
  torch: string;
  models: FixtureModel[];
}

/**
 * Test models built from torchvision architectures with seeded weights, cached under
 * `<dataDir>/fixtures/<script hash>-<models>`: built once (seconds), then reused; a changed
 * build script gets a fresh directory. The build happens in a temporary directory renamed
 * into place, so concurrent callers never see half a set.
 */
export async function ensureFixtures(dataDir: string, models: readonly string[] = FIXTURE_MODELS): Promise<FixtureManifest> {
  const scriptHash = createHash('sha256').update(readFileSync(BUILD_SCRIPT)).digest('hex').slice(0, 12);
  const dir = path.join(dataDir, 'fixtures', `${scriptHash}-${[...models].sort().join('+')}`);
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    try {
      await new Promise<void>((resolve, reject) => {
        execFile(PYTHON, [BUILD_SCRIPT, '--out', tmp, '--models', models.join(',')], { timeout: 10 * 60_000, maxBuffer: 16 << 20 }, (err, _o, stderr) =>
          err ? reject(new Error(`building fixtures failed: ${String(stderr).slice(-3000) || err.message}`)) : resolve(),
        );
      });
      await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
        // Another process finished first: keep theirs.
        if (!existsSync(manifestPath)) throw err;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Omit<FixtureManifest, 'dir'>;
  return { ...manifest, dir, models: manifest.models.map((m) => ({ ...m, path: path.join(dir, m.file) })) };
}
