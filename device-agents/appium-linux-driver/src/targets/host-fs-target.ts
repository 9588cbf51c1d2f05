import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { currentOwner, ownerIsGone, parseOwner } from './harness-owner.js';
import { runProcess } from './run-process.js';
import type { ExecOptions, ExecResult, Target, TargetKind } from './target.js';

/** What changes whenever a file's content may have: identity, size, mtime and ctime (ns); null when absent. */
async function fileKey(p: string): Promise<string | null> {
  try {
    const s = await stat(p, { bigint: true });
    return s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : null;
  } catch {
    return null;
  }
}

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

  /**
   * sha256 of a file, hashed once per content: remembered with the file's identity and change
   * times (device, inode, size, mtime and ctime in ns), so the model-cache check before each
   * session does not read the model again; the harness still hashes what it runs.
   */
  async sha256(p: string): Promise<string | null> {
    const before = await fileKey(p);
    if (before === null) return null;
    const known = this.hashes.get(p);
    if (known?.key === before) return known.sha256;
    const h = createHash('sha256');
    for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
    const sha256 = h.digest('hex');
    // A file changed while it was read is hashed again next time.
    if ((await fileKey(p)) === before) this.hashes.set(p, { key: before, sha256 });
    else this.hashes.delete(p);
    return sha256;
  }

  private readonly hashes = new Map<string, { key: string; sha256: string }>();

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
