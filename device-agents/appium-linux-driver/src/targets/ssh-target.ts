import { tmpdir } from 'node:os';
import path from 'node:path';
import { TargetUnreachableError } from '../errors.js';
import { runProcess } from './run-process.js';
import type { ExecOptions, ExecResult, Target } from './target.js';

export interface SshTargetOptions {
  host: string;
  user: string;
  keyPath: string;
  /** @defaultValue 22 */
  port?: number;
  workDir: string;
  /** node on the board. @defaultValue 'node' */
  nodePath?: string;
  /** known_hosts file; new host keys are accepted and remembered, changed ones refused. @defaultValue ~/.ssh/known_hosts */
  knownHostsFile?: string;
}

/** POSIX shell single-quoting. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_\-./=:@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A real board (Raspberry Pi, Jetson…) reached with the system's OpenSSH client, key auth only.
 * Every command, transfer and hash runs on the board; peak RSS is the harness's own VmHWM.
 */
export class SshTarget implements Target {
  readonly kind = 'ssh' as const;
  readonly emulated = false;
  readonly peakRssMethod = 'VmHWM';
  readonly workDir: string;
  constructor(private readonly o: SshTargetOptions) {
    this.workDir = o.workDir;
  }

  private sshArgv(): string[] {
    return [
      'ssh',
      '-i', this.o.keyPath,
      '-p', String(this.o.port ?? 22),
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=accept-new',
      ...(this.o.knownHostsFile ? ['-o', `UserKnownHostsFile=${this.o.knownHostsFile}`] : []),
      '-o', 'LogLevel=ERROR',
      // One TCP/SSH handshake per minute instead of one per command (a run is ~10 commands).
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${path.join(tmpdir(), 'pb-ssh-%C')}`,
      '-o', 'ControlPersist=60',
      '-o', 'ConnectTimeout=10',
      '-o', 'ServerAliveInterval=15',
      `${this.o.user}@${this.o.host}`,
      '--',
    ];
  }

  /** Runs a shell command line on the board; ssh's own failure (exit 255) means unreachable. */
  private async sh(line: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await runProcess([...this.sshArgv(), line], { stdin: opts.stdin, timeoutMs: opts.timeoutMs });
    if (r.exitCode === 255) {
      throw new TargetUnreachableError(`ssh ${this.o.user}@${this.o.host}: ${r.stderr.trim().split('\n').pop() ?? 'failed'}`);
    }
    return r;
  }

  nodeArgv(): string[] {
    return [this.o.nodePath ?? 'node'];
  }
  stateNodeArgv(): string[] {
    return this.nodeArgv();
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    let line = argv.map(shQuote).join(' ');
    if (opts.cwd) line = `cd ${shQuote(opts.cwd)} && ${line}`;
    if (opts.env) line = `${Object.entries(opts.env).map(([k, v]) => `${k}=${shQuote(v)}`).join(' ')} ${line}`;
    // The remote side enforces the budget too: killing the local ssh client would leave it running.
    // TERM, then KILL 5 s later; timeout(1) then exits 124 (137 if the KILL was needed). A bare
    // `-s KILL` would kill timeout itself, which ssh reports as its own failure (255).
    if (opts.timeoutMs) line = `timeout -k 5 ${Math.ceil(opts.timeoutMs / 1000)} sh -c ${shQuote(line)}`;
    const r = await this.sh(line, { stdin: opts.stdin, timeoutMs: opts.timeoutMs ? opts.timeoutMs + 15_000 : undefined });
    if (opts.timeoutMs && (r.exitCode === 124 || r.exitCode === 137)) r.timedOut = true;
    return r;
  }

  async writeFile(p: string, data: Buffer): Promise<void> {
    const tmp = `${p}.partial-$$`;
    const r = await this.sh(`mkdir -p "$(dirname ${shQuote(p)})" && cat > ${shQuote(tmp)} && mv ${shQuote(tmp)} ${shQuote(p)}`, { stdin: data });
    if (r.exitCode !== 0) throw new Error(`writing ${p} on ${this.o.host} failed: ${r.stderr.trim()}`);
  }

  async readFile(p: string): Promise<Buffer> {
    const r = await this.sh(`base64 < ${shQuote(p)}`);
    if (r.exitCode !== 0) throw new Error(`reading ${p} on ${this.o.host} failed: ${r.stderr.trim()}`);
    return Buffer.from(r.stdout.replace(/\s+/g, ''), 'base64');
  }

  async sha256(p: string): Promise<string | null> {
    const r = await this.sh(`[ -f ${shQuote(p)} ] || exit 3; sha256sum ${shQuote(p)}`);
    if (r.exitCode === 3) return null;
    if (r.exitCode !== 0) throw new Error(`sha256sum ${p} on ${this.o.host} failed: ${r.stderr.trim()}`);
    return r.stdout.trim().split(/\s+/)[0] ?? null;
  }

  async exists(p: string): Promise<boolean> {
    return (await this.sh(`[ -e ${shQuote(p)} ]`)).exitCode === 0;
  }

  async copyDirIn(localDir: string, remoteDir: string): Promise<void> {
    const tmp = `${remoteDir}.partial`;
    const remote = `rm -rf ${shQuote(tmp)} && mkdir -p ${shQuote(tmp)} && tar -C ${shQuote(tmp)} -xzf - && rm -rf ${shQuote(remoteDir)} && mv ${shQuote(tmp)} ${shQuote(remoteDir)}`;
    const pipeline = `tar -C ${shQuote(localDir)} -czhf - . | ${[...this.sshArgv(), remote].map(shQuote).join(' ')}`;
    const r = await runProcess(['bash', '-o', 'pipefail', '-c', pipeline]);
    if (r.exitCode !== 0) throw new TargetUnreachableError(`copying ${localDir} to ${this.o.host}:${remoteDir} failed: ${r.stderr.trim()}`);
  }

  async remove(p: string): Promise<void> {
    await this.sh(`rm -rf ${shQuote(p)}`);
  }

  /** The remote side's `timeout` bounds every harness run; nothing to reap from here. */
  async reapOrphans(): Promise<number> {
    return 0;
  }
  async trackHarness(): Promise<void> {}
  async untrackHarness(): Promise<void> {}

  async close(): Promise<void> {
    await runProcess([...this.sshArgv().slice(0, -2), '-O', 'exit', `${this.o.user}@${this.o.host}`]).catch(() => undefined);
  }
}
