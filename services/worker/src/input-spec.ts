import { open } from 'node:fs/promises';
import { fileSource, onnxInputs, type ArtifactFormat, type BenchInputSpec } from '@pocketbench/contracts';

/** Input used when the model does not describe its own (`.ptl` is positional and untyped). */
export const DEFAULT_IMAGE_INPUT: BenchInputSpec = { name: 'input', shape: [1, 3, 224, 224], dtype: 'float32' };

/** Inputs for a session: the run's own when given, else read from the model (contracts' ONNX reader), else the default image input. */
export async function inputsForArtifact(
  file: string,
  format: ArtifactFormat,
  given?: BenchInputSpec[],
): Promise<BenchInputSpec[]> {
  if (given?.length) return given;
  if (format !== 'onnx') return [DEFAULT_IMAGE_INPUT];
  const fh = await open(file, 'r');
  try {
    const inputs = onnxInputs(fileSource(fh.fd, (await fh.stat()).size));
    return inputs.length ? inputs : [DEFAULT_IMAGE_INPUT];
  } finally {
    await fh.close();
  }
}
