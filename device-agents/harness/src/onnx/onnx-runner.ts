import { fileURLToPath } from 'node:url';
import type { RunnerRequest } from '../runner-protocol.js';

// From source this file is onnx-runner.ts and the child is TypeScript run under tsx; in the
// device bundle both are plain JavaScript files in lib/ (see src/bundle.ts).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(FROM_SOURCE ? './onnx-child.ts' : './onnx-child.mjs', import.meta.url));
// Resolved here, not by the child: `--import tsx` would be looked up from the child's cwd.
const TSX = FROM_SOURCE ? import.meta.resolve('tsx') : undefined;

/** Command line of the ONNX Runtime runner: this same Node. */
export function onnxRunnerCommand(req: RunnerRequest): { command: string; args: string[] } {
  return { command: process.execPath, args: [...(TSX ? ['--import', TSX] : []), CHILD, JSON.stringify(req)] };
}
