import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import type { RunnerResult } from './runner-protocol.js';

export type RunnerOutcome =
  | { kind: 'result'; result: RunnerResult; stderr: string }
  | { kind: 'timeout'; stderr: string }
  | { kind: 'crash'; code: number | null; signal: NodeJS.Signals | null; stderr: string };

const STDERR_KEEP = 8_000;

/** Every descendant of `pid`, deepest first (from /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean).map(Number)) out.push(...descendants(c), c);
  }
  return out;
}

/**
 * Runs one runner process with core dumps off, under a hard deadline: past it the runner and
 * everything it started are SIGKILLed, so nothing outlives the session's time budget.
 * The runner stays in the caller's session (no setsid): with the kernel's autogroup scheduling
 * a new session would get its own CPU share, and the harness would then be measured under
 * different scheduling than the program that started it.
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
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    const killTree = () => {
      if (child.pid === undefined) return;
      for (const pid of [...descendants(child.pid), child.pid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, Math.max(0, opts.timeoutMs));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'crash', code: null, signal: null, stderr: `${err.message}\n${stderr}` });
    });
    // After a kill, 'exit' is enough: a killed grandchild's pipe must not keep us waiting.
    child.on('exit', () => {
      if (timedOut) resolve({ kind: 'timeout', stderr });
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
