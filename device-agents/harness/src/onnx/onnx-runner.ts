import { fileURLToPath } from 'node:url';
import type { RunnerRequest } from '../runner-protocol.js';

const CHILD = fileURLToPath(new URL('./onnx-child.ts', import.meta.url));

/** Command line of the ONNX Runtime runner: this same Node, with tsx when running from source. */
export function onnxRunnerCommand(req: RunnerRequest): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', CHILD, JSON.stringify(req)] };
}
