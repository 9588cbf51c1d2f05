import type { RunnerRequest } from '../runner-protocol.js';

/** Command line of the native lite-interpreter runner (device-agents/harness/native/ptl-runner). */
export function ptlRunnerCommand(runnerPath: string, req: RunnerRequest): { command: string; args: string[] } {
  const args = [
    '--model', req.modelPath,
    '--threads', String(req.threads),
    '--warmup', String(req.warmup),
    '--iterations', String(req.iterations),
    '--min-duration-ms', String(req.minDurationMs),
    '--output-index', String(req.outputIndex),
    '--output-file', req.outputFile,
  ];
  for (const input of req.inputs) args.push('--input', `${input.file}:${input.dtype}:${input.shape.join('x')}`);
  return { command: runnerPath, args };
}
