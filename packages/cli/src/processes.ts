import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './config.js';

/** Entry points of the services, run as child processes: the CLI never imports a service. */
export const SERVICE_ENTRIES = {
  api: path.join(REPO_ROOT, 'services/api/src/main.ts'),
  worker: path.join(REPO_ROOT, 'services/worker/src/main.ts'),
} as const;

export interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

export interface StartServiceOptions {
  /** Called with every output line (stdout and stderr). */
  onLine?(line: string): void;
  /** Append all output here instead of relaying every line to the terminal. */
  logFile?: string;
  /** With `logFile`: which lines still reach the terminal. @defaultValue every line */
  echo?(line: string): boolean;
}

/** Starts a service under tsx; its output is relayed with a `[name]` prefix and/or kept in a log file. */
export function startService(name: keyof typeof SERVICE_ENTRIES, env: NodeJS.ProcessEnv, opts: StartServiceOptions = {}): Child {
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVICE_ENTRIES[name]], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a terminal's Ctrl-C reaches only `up`, which stops the services once,
    // in order (a second signal would make the worker drop the job in hand).
    detached: true,
  });
  const relay = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        opts.onLine?.(line);
        log?.write(`${line}\n`);
        if (!log || (opts.echo?.(line) ?? true)) out.write(`[${name}] ${line}\n`);
      }
    });
  };
  relay(proc.stdout!, process.stdout);
  relay(proc.stderr!, process.stderr);
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code, signal) => {
      log?.end();
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  return { name, proc, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: Child, graceMs = 70_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((r) => {
    timer = setTimeout(() => {
      child.proc.kill('SIGKILL');
      r();
    }, graceMs);
  });
  await Promise.race([child.exited, killed]);
  clearTimeout(timer);
}
