import { ensureFixtures } from '@pocketbench/harness';
import { DATA_DIR } from './appium-home.js';

export interface OnnxFixture {
  path: string;
  input: { name: string; shape: number[]; dtype: string };
}

/** An ONNX fp32 fixture of the shared fixture set (device-agents/harness/fixtures), built once and cached. */
export async function onnxFixture(name = 'tiny_cnn'): Promise<OnnxFixture> {
  const fx = await ensureFixtures(DATA_DIR, [name]);
  const m = fx.models.find((x) => x.name === name && x.format === 'onnx' && x.variant === 'fp32');
  if (!m) throw new Error(`no ${name} fp32 .onnx in the fixtures at ${fx.dir}`);
  const [input] = m.inputs;
  return { path: m.path, input };
}
