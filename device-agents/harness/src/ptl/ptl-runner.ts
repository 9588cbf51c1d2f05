import type { RunnerRequest } from '../runner-protocol.js';

/**
 * glibc returns large freed blocks (the activations) to the OS after every inference and
 * faults them in again on the next: ~15 % of a mobilenet_v2 iteration on this machine. A
 * long-running app reaches a steady state without that; these settings give the runner that
 * steady state from the first iteration (PyTorch's speed_benchmark_torch gets the same effect
 * with its caching allocator). Recorded in the report's runtime.detail.
 */
export const PTL_ALLOCATOR_ENV: Record<string, string> = {
  MALLOC_MMAP_THRESHOLD_: String(256 << 20),
  MALLOC_TRIM_THRESHOLD_: String(512 << 20),
};

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
  if (req.fidelity) {
    args.push('--fidelity-count', String(req.fidelity.count), '--fidelity-output', req.fidelity.outputFile);
    for (const file of req.fidelity.inputFiles) args.push('--fidelity-input', file);
  }
  return { command: runnerPath, args };
}
