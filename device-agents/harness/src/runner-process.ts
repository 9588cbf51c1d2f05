import { spawn } from 'node:child_process';
import type { RunnerResult } from './runner-protocol.js';

export type RunnerOutcome =
  | { kind: 'result'; result: RunnerResult; stderr: string }
  | { kind: 'timeout'; stderr: string }
  | { kind: 'crash'; code: number | null; signal: NodeJS.Signals | null; stderr: string };

const STDERR_KEEP = 8_000;

/**
 * Runs one runner process with core dumps off, under a hard deadline: past it the whole
 * process group is SIGKILLed, so nothing outlives the session's time budget.
 */
export function runRunnerProcess(
  command: string,
  args: string[],
  opts: { env: Record<string, string>; timeoutMs: number },
): Promise<RunnerOutcome> {
  return new Promise((resolve) => {
    // `ulimit -c 0` then exec: the runner itself (not a shell) is the child we time and kill.
    const child = spawn('/bin/sh', ['-c', 'ulimit -c 0 && exec "$@"', 'sh', command, ...args], {
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, Math.max(0, opts.timeoutMs));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'crash', code: null, signal: null, stderr: `${err.message}\n${stderr}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ kind: 'timeout', stderr });
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line) {
        try {
          return resolve({ kind: 'result', result: JSON.parse(line) as RunnerResult, stderr });
        } catch {
          // fall through: unparseable output is a crash of the runner
        }
      }
      resolve({ kind: 'crash', code, signal, stderr });
    });
  });
}
