import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TransferError } from './errors.js';

export interface ArtifactCacheOptions {
  /** Where artifacts are kept by hash on this host. */
  dir: string;
  apiUrl: string;
  apiToken?: string;
}

/**
 * Artifacts on the worker host, content-addressed: downloaded once from the api
 * (`GET /api/v1/artifacts/:sha256/content`), hash-verified, then reused by every job.
 */
export class ArtifactCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly opts: ArtifactCacheOptions) {}

  pathFor(sha256: string): string {
    return path.join(this.opts.dir, sha256);
  }

  /** Local path of the verified artifact, downloading it when not cached. */
  async ensure(sha256: string): Promise<{ path: string; downloaded: boolean }> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TransferError(`artifact hash "${sha256}" is not a sha256`);
    const target = this.pathFor(sha256);
    if (await stat(target).then((s) => s.isFile(), () => false)) return { path: target, downloaded: false };
    let pending = this.inFlight.get(sha256);
    if (!pending) {
      pending = this.download(sha256, target).finally(() => this.inFlight.delete(sha256));
      this.inFlight.set(sha256, pending);
    }
    return { path: await pending, downloaded: true };
  }

  private async download(sha256: string, target: string): Promise<string> {
    await mkdir(this.opts.dir, { recursive: true });
    const url = `${this.opts.apiUrl}/api/v1/artifacts/${sha256}/content`;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.opts.apiToken ? { authorization: `Bearer ${this.opts.apiToken}` } : {} });
    } catch (err) {
      throw new TransferError(`could not reach the api to download artifact ${sha256}: ${(err as Error).message}`);
    }
    if (!res.ok || !res.body) {
      throw new TransferError(`downloading artifact ${sha256} failed: HTTP ${res.status} from ${url}`);
    }
    const tmp = `${target}.${randomUUID()}.part`;
    const hash = createHash('sha256');
    try {
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(tmp));
      const got = hash.digest('hex');
      if (got !== sha256) throw new TransferError(`artifact download hash mismatch: expected ${sha256}, got ${got}`);
      await rename(tmp, target);
      return target;
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof TransferError) throw err;
      throw new TransferError(`downloading artifact ${sha256} failed: ${(err as Error).message}`);
    }
  }
}
