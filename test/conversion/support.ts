import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAKE_MODEL = fileURLToPath(new URL('./make_model.py', import.meta.url));
const DIGITS_SCRIPT = fileURLToPath(new URL('../../device-agents/harness/fixtures/build_digits.py', import.meta.url));

/** Test models for conversions, written into `dir` (a few seconds: tracing two small conv nets). */
export interface ConversionModels {
  /** fp32 TorchScript (torch.jit.save of a traced conv net), input 1×1×8×8. */
  convnet: string;
  /** The same with a Conv3d: converts to fp32 and int8-dynamic, not to int8-static (no QNNPACK kernel). */
  unconvertible: string;
  /** 16 samples of 1×8×8 under `inputs`. */
  calibration: string;
  /** 4 samples of 3×8×8: the wrong shape for these models. */
  calibrationWrong: string;
}

export async function makeConversionModels(dir: string): Promise<ConversionModels> {
  await mkdir(dir, { recursive: true });
  await run('/usr/bin/python3', [MAKE_MODEL, '--out', dir, '--kind', 'convnet']);
  await run('/usr/bin/python3', [MAKE_MODEL, '--out', dir, '--kind', 'unconvertible']);
  return {
    convnet: path.join(dir, 'convnet.pt'),
    unconvertible: path.join(dir, 'unconvertible.pt'),
    calibration: path.join(dir, 'calibration.npz'),
    calibrationWrong: path.join(dir, 'calibration-wrong.npz'),
  };
}

/**
 * Calibration inputs for the fidelity fixture's digits_cnn: 64 digits of its training split (never
 * its held-out eval set), `inputs` float32 [64,1,8,8].
 */
export async function makeDigitsCalibration(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await run('/usr/bin/python3', [MAKE_MODEL, '--out', dir, '--kind', 'digits-calibration', '--digits-script', DIGITS_SCRIPT]);
  return path.join(dir, 'digits-calibration.npz');
}
