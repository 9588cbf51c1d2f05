import { fileURLToPath } from 'node:url';
import type { RunnerRequest } from '../runner-protocol.js';

// From source this file is onnx-runner.ts and the child is TypeScript run under tsx; in the
// device bundle both are plain JavaScript files in lib/ (see src/bundle.ts).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(FROM_SOURCE ? './onnx-child.ts' : './onnx-child.mjs', import.meta.url));

/** Command line of the ONNX Runtime runner: this same Node. */
export function onnxRunnerCommand(req: RunnerRequest): { command: string; args: string[] } {
  return { command: process.execPath, args: [...(FROM_SOURCE ? ['--import', 'tsx'] : []), CHILD, JSON.stringify(req)] };
}
