import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactFormat, InputDtype, Variant } from '@pocketbench/contracts';

const BUILD_SCRIPT = fileURLToPath(new URL('../fixtures/build_fixtures.py', import.meta.url));
const DIGITS_SCRIPT = fileURLToPath(new URL('../fixtures/build_digits.py', import.meta.url));
/** What both builders import: part of every fixture set's cache key. */
const SHARED_TOOLS = fileURLToPath(new URL('../fixtures/fixture_tools.py', import.meta.url));
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
 * build script gets a fresh directory.
 */
export async function ensureFixtures(dataDir: string, models: readonly string[] = FIXTURE_MODELS): Promise<FixtureManifest> {
  const dir = await buildCached(dataDir, BUILD_SCRIPT, [...models].sort().join('+'), ['--models', models.join(',')]);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Omit<FixtureManifest, 'dir'>;
  return { ...manifest, dir, models: manifest.models.map((m) => ({ ...m, path: path.join(dir, m.file) })) };
}

/** A fixture file that is not a benchmarkable artifact (the TorchScript source, the eval set). */
export interface FixtureFile {
  path: string;
  sha256: string;
  sizeBytes: number;
}

export interface DigitsFixtures {
  dir: string;
  seed: number;
  torch: string;
  /**
   * `digits_cnn` (fp32 / int8-dynamic / int8-static `.ptl`, fp32 `.onnx`) and `digits_cnn_wrong`
   * (fp32 `.ptl` and `.onnx`: same architecture, other weights). `evalTop1Pct` is the accuracy
   * the build measured in eager PyTorch on the eval set.
   */
  models: (FixtureModel & { evalTop1Pct: number })[];
  /** The trained fp32 network as full-JIT TorchScript (`torch.jit.save`), the input of a conversion job. */
  trainedFp32Pt: FixtureFile;
  /** Held-out digits: `inputs` float32 [N,1,8,8] in [0,1], `labels` int64 [N], 10 classes. */
  evalSet: FixtureFile & { count: number; classes: number };
}

/**
 * The fidelity fixture: a small CNN trained in seconds on scikit-learn's bundled 8x8 digits
 * (python3-sklearn, nothing downloaded), its variants, a deliberately wrong twin and a labelled
 * eval set; built by fixtures/build_digits.py and cached by that script's hash.
 */
export async function ensureDigitsFixtures(dataDir: string): Promise<DigitsFixtures> {
  const dir = await buildCached(dataDir, DIGITS_SCRIPT, 'digits', []);
  type Entry = Omit<FixtureModel, 'path' | 'format'> & { format: ArtifactFormat | 'pt'; evalTop1Pct: number };
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    seed: number;
    torch: string;
    models: Entry[];
    evalSet: { file: string; sha256: string; count: number; classes: number };
  };
  const pt = manifest.models.find((m) => m.format === 'pt');
  if (!pt) throw new Error(`the digits fixture manifest in ${dir} has no .pt entry`);
  const evalPath = path.join(dir, manifest.evalSet.file);
  return {
    dir,
    seed: manifest.seed,
    torch: manifest.torch,
    models: manifest.models
      .filter((m): m is Entry & { format: ArtifactFormat } => m.format !== 'pt')
      .map((m) => ({ ...m, path: path.join(dir, m.file) })),
    trainedFp32Pt: { path: path.join(dir, pt.file), sha256: pt.sha256, sizeBytes: pt.sizeBytes },
    evalSet: { path: evalPath, sha256: manifest.evalSet.sha256, sizeBytes: statSync(evalPath).size, count: manifest.evalSet.count, classes: manifest.evalSet.classes },
  };
}

/**
 * Runs a build script once into `<dataDir>/fixtures/<hash of the script and its shared tools>-<key>` and returns that
 * directory. The build happens in a temporary directory renamed into place, so concurrent
 * callers never see half a set.
 */
async function buildCached(dataDir: string, script: string, key: string, args: string[]): Promise<string> {
  const scriptHash = createHash('sha256').update(readFileSync(script)).update(readFileSync(SHARED_TOOLS)).digest('hex').slice(0, 12);
  const dir = path.join(dataDir, 'fixtures', `${scriptHash}-${key}`);
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    try {
      await new Promise<void>((resolve, reject) => {
        execFile(PYTHON, [script, '--out', tmp, ...args], { timeout: 10 * 60_000, maxBuffer: 16 << 20 }, (err, _o, stderr) =>
          err ? reject(new Error(`building fixtures (${path.basename(script)}) failed: ${String(stderr).slice(-3000) || err.message}`)) : resolve(),
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
  return dir;
}
