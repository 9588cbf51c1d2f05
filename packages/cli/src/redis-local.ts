import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { CliError, EXIT } from './context.js';

/** True when a Redis server answers PING at host:port. */
export function redisAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function hasRedisServer(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
}

export interface LocalRedis {
  url: string;
  /** Set when this process started the server (and stops it). */
  proc?: ChildProcess;
  stop(): Promise<void>;
}

/**
 * REDIS_URL unset: use a redis-server on 127.0.0.1:6379, starting one (installing Debian's
 * `redis-server` when root and apt-get are there) when none answers.
 */
export async function ensureLocalRedis(dataDir: string, say: (s: string) => void): Promise<LocalRedis> {
  const host = '127.0.0.1';
  const port = 6379;
  const url = `redis://${host}:${port}`;
  if (await redisAnswers(host, port)) return { url, stop: async () => undefined };
  if (!hasRedisServer()) {
    const root = process.getuid?.() === 0;
    const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
    if (!root || !apt) throw new CliError('redis-server is not installed and cannot be installed here; install Debian\'s redis-server or set REDIS_URL', EXIT.usage);
    say('installing Debian package redis-server');
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0 || !hasRedisServer()) throw new CliError('could not install redis-server with apt-get; install it or set REDIS_URL', EXIT.usage);
  }
  const dir = `${dataDir}/redis`;
  mkdirSync(dir, { recursive: true });
  say(`starting redis-server on ${host}:${port}`);
  const proc = spawn('redis-server', ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(host, port, 200)) {
      return {
        url,
        proc,
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) {
            proc.kill('SIGTERM');
            await exited;
          }
        },
      };
    }
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new CliError(`redis-server did not start on ${host}:${port}; is the port taken by something else?`);
}
