import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { currentOwner, ownerIsGone, parseOwner } from './harness-owner.js';
import { runProcess } from './run-process.js';
import type { ExecOptions, ExecResult, Target, TargetKind } from './target.js';

/** A target whose filesystem is this host's (this machine; qemu-user, which shares the host's files). */
export abstract class HostFsTarget implements Target {
  abstract readonly kind: TargetKind;
  abstract readonly emulated: boolean;
  abstract readonly peakRssMethod: string;
  /** Process groups this target started that are still running (killed by `close`). */
  private readonly running = new Set<number>();

  constructor(readonly workDir: string) {}

  abstract nodeArgv(): string[];
  stateNodeArgv(): string[] {
    return [process.execPath];
  }

  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    let pid: number | undefined;
    return runProcess(argv, {
      ...opts,
      onSpawn: (p) => {
        pid = p;
        this.running.add(p);
        opts?.onSpawn?.(p);
      },
    }).finally(() => {
      if (pid) this.running.delete(pid);
    });
  }

  async writeFile(p: string, data: Buffer): Promise<void> {
    await mkdir(path.dirname(p), { recursive: true });
    // Write beside, then rename: a reader never sees half a file.
    const tmp = `${p}.partial-${process.pid}-${Date.now()}`;
    await writeFile(tmp, data);
    await rename(tmp, p);
  }

  readFile(p: string): Promise<Buffer> {
    return readFile(p);
  }

  async sha256(p: string): Promise<string | null> {
    if (!(await this.exists(p))) return null;
    const h = createHash('sha256');
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  async exists(p: string): Promise<boolean> {
    return access(p).then(
      () => true,
      () => false,
    );
  }

  async copyDirIn(localDir: string, remoteDir: string): Promise<void> {
    const tmp = `${remoteDir}.partial-${process.pid}-${Date.now()}`;
    await mkdir(path.dirname(remoteDir), { recursive: true });
    try {
      // Hard links where the filesystem allows (a native bundle is hundreds of MB and never
      // written to by the device side), a copy otherwise.
      const linked = await new Promise<boolean>((resolve) => execFile('cp', ['-alL', localDir, tmp], (err) => resolve(!err)));
      if (!linked) {
        await rm(tmp, { recursive: true, force: true });
        await cp(localDir, tmp, { recursive: true, dereference: true });
      }
      await rm(remoteDir, { recursive: true, force: true });
      await rename(tmp, remoteDir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  remove(p: string): Promise<void> {
    return rm(p, { recursive: true, force: true });
  }

  private get runningDir(): string {
    return path.join(this.workDir, '.running');
  }

  async trackHarness(pid: number, sessionId: string): Promise<void> {
    await mkdir(this.runningDir, { recursive: true });
    const file = path.join(this.runningDir, String(pid));
    // Write then rename: a session reaping at this moment never reads an ownerless record.
    await writeFile(`${file}.partial`, JSON.stringify(await currentOwner(sessionId)));
    await rename(`${file}.partial`, file);
  }

  async untrackHarness(pid: number): Promise<void> {
    await rm(path.join(this.runningDir, String(pid)), { force: true });
  }

  async reapOrphans(): Promise<number> {
    let killed = 0;
    const names = await readdir(this.runningDir).catch(() => [] as string[]);
    for (const name of names.filter((n) => /^\d+$/.test(n))) {
      const pid = Number(name);
      // Only a group whose leader still runs something from this work directory (pids get reused).
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (pid > 1 && cmdline.includes(this.workDir)) {
        // Another session's run (of this server or another live one) is not an orphan.
        const owner = parseOwner(await readFile(path.join(this.runningDir, name), 'utf8').catch(() => ''));
        if (!(await ownerIsGone(owner))) continue;
        try {
          process.kill(-pid, 'SIGKILL');
          killed++;
        } catch {
          /* gone */
        }
      }
      await this.untrackHarness(pid);
    }
    return killed;
  }

  /**
   * Ends the session's work on the device: every process group it started and that still runs
   * (a harness in flight when its run is cancelled) is killed, so the device is free at once.
   */
  async close(): Promise<void> {
    for (const pid of this.running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    this.running.clear();
  }
}
