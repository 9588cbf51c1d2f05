import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './config.js';

/** Entry points of the services, run as child processes: the CLI never imports a service. */
export const SERVICE_ENTRIES = {
  api: path.join(REPO_ROOT, 'services/api/src/main.ts'),
  worker: path.join(REPO_ROOT, 'services/worker/src/main.ts'),
} as const;

/** Preloaded into every service: it stops when the process that started it is gone (no orphans). */
const PARENT_WATCHDOG = pathToFileURL(path.join(REPO_ROOT, 'packages/cli/bin/parent-watchdog.mjs')).href;

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
  const proc = spawn(process.execPath, ['--import', 'tsx', '--import', PARENT_WATCHDOG, SERVICE_ENTRIES[name]], {
    cwd: REPO_ROOT,
    // POCKETBENCH_SUPERVISED: a terminal's Ctrl-C reaches the whole process group; the service
    // leaves SIGINT to its supervisor, which stops the services once, in order (a second signal
    // would make the worker drop the job in hand).
    env: { ...env, POCKETBENCH_PARENT_PID: String(process.pid), POCKETBENCH_SUPERVISED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Same process group as the CLI: a SIGKILL of the group takes every service with it.
    detached: false,
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

export interface SupervisorOptions {
  /** Starts (or starts again) the service. */
  start(): Child;
  /** Told about every unexpected exit and restart. */
  say(line: string): void;
  /** First back-off; doubled per crash within `resetAfterMs`. @defaultValue 1000 */
  initialBackoffMs?: number;
  /** @defaultValue 30000 */
  maxBackoffMs?: number;
  /** A child that ran this long without crashing starts over at `initialBackoffMs`. @defaultValue 60000 */
  resetAfterMs?: number;
}

/**
 * Keeps one service running: a child that exits on its own is started again after a back-off
 * (1 s, 2 s, 4 s … 30 s), not taken as a reason to stop the others. `stop()` ends it for good.
 */
export class Supervisor {
  current: Child;
  restarts = 0;
  private stopped = false;
  private backoffMs: number;
  private startedAt = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly listeners: ((c: Child) => void)[] = [];

  constructor(private readonly opts: SupervisorOptions) {
    this.backoffMs = opts.initialBackoffMs ?? 1000;
    this.current = opts.start();
    this.watch(this.current);
  }

  get name(): string {
    return this.current.name;
  }

  /** Called with each new child after a restart. */
  onRestart(fn: (c: Child) => void): void {
    this.listeners.push(fn);
  }

  private watch(child: Child): void {
    void child.exited.then((code) => {
      if (this.stopped || child !== this.current) return;
      const initial = this.opts.initialBackoffMs ?? 1000;
      if (Date.now() - this.startedAt > (this.opts.resetAfterMs ?? 60_000)) this.backoffMs = initial;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.opts.maxBackoffMs ?? 30_000, this.backoffMs * 2);
      this.opts.say(`the ${child.name} exited (code ${code}); restarting it in ${delay / 1000} s`);
      this.timer = setTimeout(() => {
        if (this.stopped) return;
        this.restarts++;
        this.startedAt = Date.now();
        this.current = this.opts.start();
        this.watch(this.current);
        for (const fn of this.listeners) fn(this.current);
      }, delay);
    });
  }

  async stop(graceMs?: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await stopChild(this.current, graceMs);
  }
}

/**
 * Resolves when nothing listens on `port` (at `host`); rejects with one sentence naming the port
 * otherwise. Checked before `up` starts anything, so a second `up` never reports success on a
 * port another process serves.
 */
export function assertPortFree(port: number, host = '0.0.0.0'): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE'
        ? `port ${port} is already in use (another pocketbench up?); stop that process or set PORT to a free port`
        : `cannot listen on port ${port}: ${err.message}`)),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}
