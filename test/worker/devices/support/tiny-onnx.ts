import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The input the tiny model takes. */
export const TINY_INPUT = { name: 'input', shape: [1, 3, 16, 16], dtype: 'float32' as const };

/**
 * A tiny ONNX CNN: A's `ensureFixtures` (test/support/fixtures.ts) when it is there, else one
 * exported here with Debian's torch (conv → mean → linear, 10 classes, seeded weights).
 */
export async function tinyOnnxModel(): Promise<{ path: string; input: typeof TINY_INPUT }> {
  const fixtures = '../../../support/fixtures.js';
  try {
    const mod = (await import(fixtures)) as { ensureFixtures?: (names?: string[]) => Promise<Record<string, string>>; TINY_ONNX?: string };
    if (mod.ensureFixtures) {
      const all = await mod.ensureFixtures(['tiny_cnn.onnx']);
      const p = all['tiny_cnn.onnx'] ?? Object.values(all).find((f) => f.endsWith('.onnx'));
      if (p) return { path: p, input: TINY_INPUT };
    }
  } catch {
    /* no shared fixtures yet */
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pb-tiny-onnx-'));
  const out = path.join(dir, 'tiny.onnx');
  const py = `
import torch
class M(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.c = torch.nn.Conv2d(3, 8, 3); s.l = torch.nn.Linear(8, 10)
    def forward(s, x): return s.l(torch.relu(s.c(x)).mean((2, 3)))
torch.manual_seed(0)
torch.onnx.export(M().eval(), torch.randn(1, 3, 16, 16), ${JSON.stringify(out)}, input_names=['input'], output_names=['output'], opset_version=13)
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`exporting the tiny ONNX model failed: ${r.stderr}`);
  return { path: out, input: TINY_INPUT };
}
