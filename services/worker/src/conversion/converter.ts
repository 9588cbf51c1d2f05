import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConversionFormat, ConversionRecipe, ConversionRecipeRecord } from '@pocketbench/contracts';

/** The conversion script shipped with the worker (PyTorch graph-mode quantization, lite-interpreter export). */
export const CONVERT_SCRIPT = fileURLToPath(new URL('./convert_model.py', import.meta.url));
/** convert_model.py's exit code for "this model cannot be converted" (anything else non-zero is this host's fault). */
const MODEL_ERROR_EXIT = 3;

/** What this host converts with: found at start by running the interpreter once. */
export interface ConverterCapability {
  python: string;
  torchVersion: string;
}

/**
 * Whether this host can convert: `python` imports torch (Debian's python3-torch). Returns the
 * torch version, or the reason it cannot (the worker then does not consume conversion jobs).
 */
export function detectConverter(python: string, timeoutMs = 60_000): Promise<ConverterCapability | { unavailable: string }> {
  return new Promise((resolve) => {
    // Found without importing torch (a second per host start): its package metadata names the version.
    const probe = "import importlib.metadata as m, importlib.util as u\nfor p in ('torch', 'numpy'):\n    assert u.find_spec(p), p + ' is not installed'\nprint(m.version('torch'))";
    execFile(python, ['-c', probe], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim().split('\n').pop() || err.message;
        return resolve({ unavailable: `${python} has no torch and numpy (install python3-torch): ${why}` });
      }
      resolve({ python, torchVersion: stdout.trim() });
    });
  });
}

export interface ConvertRequest {
  model: string;
  variant: ConversionRecipe;
  format: ConversionFormat;
  out: string;
  inputShape: number[];
  calibration?: string;
  calibrationSamples?: number;
  seed: number;
  timeoutMs: number;
}

export type ConvertOutcome =
  | { kind: 'ok'; recipe: ConversionRecipeRecord; sha256: string; sizeBytes: number }
  /** The model cannot be converted: `op` names the operator to blame when one is. */
  | { kind: 'model'; errorKind: string; message: string; op: string | null }
  /** This host's fault (crash, kill, unreadable output): retried. */
  | { kind: 'infrastructure'; message: string };

/** Runs convert_model.py once; one thread and fixed seeds make the output the same for the same request. */
export function runConverter(python: string, r: ConvertRequest): Promise<ConvertOutcome> {
  const args = [
    CONVERT_SCRIPT, '--model', r.model, '--recipe', r.variant, '--format', r.format, '--out', r.out,
    '--input-shape', r.inputShape.join('x'), '--seed', String(r.seed),
    ...(r.calibration ? ['--calibration', r.calibration] : []),
    ...(r.calibrationSamples !== undefined ? ['--calibration-samples', String(r.calibrationSamples)] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(python, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONHASHSEED: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, r.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'infrastructure', message: `could not start ${python}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        return resolve({ kind: 'model', errorKind: 'conversion_timeout', message: `${r.variant}: converting took longer than ${Math.round(r.timeoutMs / 1000)} s`, op: null });
      }
      let doc: Record<string, unknown> | undefined;
      try {
        doc = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        doc = undefined;
      }
      if (code === 0 && doc?.recipe) {
        return resolve({ kind: 'ok', recipe: doc.recipe as ConversionRecipeRecord, sha256: String(doc.sha256), sizeBytes: Number(doc.sizeBytes) });
      }
      if (code === MODEL_ERROR_EXIT && doc?.error) {
        const e = doc.error as { kind: string; message: string; op: string | null };
        return resolve({ kind: 'model', errorKind: e.kind, message: e.message, op: e.op ?? null });
      }
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      resolve({ kind: 'infrastructure', message: `the converter exited with ${signal ?? code}: ${tail}` });
    });
  });
}
