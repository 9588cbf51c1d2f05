import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { targetEnvironment } from '../policy.js';
import type { ExecOptions, ExecResult } from './target.js';

const OUTPUT_CAP = 8 * 1024 * 1024;
/** GNU time reports the waited-for child's ru_maxrss (its VmHWM) in KiB. */
export const GNU_TIME = '/usr/bin/time';

/**
 * Spawns argv on this host in its own process group, so that an overrun kills everything it
 * started (qemu, the harness, the runner), not just the first process.
 */
export async function runProcess(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  let rssDir: string | undefined;
  let full = argv;
  if (opts.measurePeakRss && existsSync(GNU_TIME)) {
    rssDir = await mkdtemp(path.join(tmpdir(), 'pb-rss-'));
    full = [GNU_TIME, '-f', '%M', '-o', path.join(rssDir, 'maxrss'), ...argv];
  }
  const started = process.hrtime.bigint();
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(full[0], full.slice(1), {
        cwd: opts.cwd,
        // Never the server's own environment: the harness parses untrusted models.
        env: { ...targetEnvironment(), ...opts.env },
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      if (child.pid) opts.onSpawn?.(child.pid);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outLen = 0;
      let errLen = 0;
      child.stdout.on('data', (b: Buffer) => {
        if (outLen < OUTPUT_CAP) out.push(b);
        outLen += b.length;
      });
      child.stderr.on('data', (b: Buffer) => {
        if (errLen < OUTPUT_CAP) err.push(b);
        errLen += b.length;
      });
      let timedOut = false;
      const timer =
        opts.timeoutMs && opts.timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              try {
                process.kill(-child.pid!, 'SIGKILL');
              } catch {
                /* already gone */
              }
            }, opts.timeoutMs)
          : undefined;
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({
          exitCode: code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          timedOut,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin ?? '');
    }).then(async (r) => {
      if (rssDir && !r.timedOut) {
        // After a non-zero exit GNU time writes "Command exited with non-zero status N" first: %M is the last line.
        const kib = Number((await readFile(path.join(rssDir, 'maxrss'), 'utf8').catch(() => '')).trim().split('\n').pop());
        if (Number.isFinite(kib) && kib > 0) r.peakRssBytes = kib * 1024;
      }
      return r;
    });
  } finally {
    if (rssDir) await rm(rssDir, { recursive: true, force: true });
  }
}
