import { invalidArgument } from '../errors.js';
import type { DriverContext } from '../driver-context.js';
import { targetPath } from './paths.js';

/** `mobile: shell` — one program with arguments (no shell parsing), on the target. */
export async function mobileShell(
  this: DriverContext,
  command: string,
  args: unknown = [],
  timeoutMs: unknown = 60_000,
  cwd?: string,
) {
  if (typeof command !== 'string' || !command) throw invalidArgument('command', 'must be a non-empty string');
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw invalidArgument('args', 'must be an array of strings');
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw invalidArgument('timeoutMs', 'must be a positive number');
  const r = await this.target.exec([command, ...(args as string[])], {
    timeoutMs,
    cwd: cwd === undefined ? undefined : targetPath(this, cwd, 'cwd'),
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, durationMs: r.durationMs };
}
