import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const SHA256 = /^[0-9a-f]{64}$/;

export interface TempArtifact {
  path: string;
  sha256: string;
  sizeBytes: number;
}

/**
 * Content-addressed artifact bytes: `<root>/<sha[0:2]>/<sha>`. Files arrive in `<root>/tmp`
 * and are renamed into place whole, so a reader never sees a half-written artifact.
 */
export class ArtifactStore {
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
  }

  pathFor(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathFor(sha256))).isFile();
    } catch {
      return false;
    }
  }

  /** Streams `source` into a temp file, hashing and counting as it goes; removes the file on any error. */
  async writeTemp(source: Readable): Promise<TempArtifact> {
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    source.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      sizeBytes += chunk.length;
    });
    try {
      await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { path: tmp, sha256: hash.digest('hex'), sizeBytes };
  }

  /**
   * Moves a verified temp file to its content address. Returns `created: false` (and drops the
   * temp file) when the same bytes are already stored.
   */
  async commit(temp: TempArtifact): Promise<{ path: string; created: boolean }> {
    const dest = this.pathFor(temp.sha256);
    if (await this.has(temp.sha256)) {
      await rm(temp.path, { force: true });
      return { path: dest, created: false };
    }
    await mkdir(path.dirname(dest), { recursive: true });
    await rename(temp.path, dest);
    return { path: dest, created: true };
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.pathFor(sha256)).catch(() => undefined);
  }

  async discard(temp: { path: string }): Promise<void> {
    await rm(temp.path, { force: true });
  }

  open(sha256: string): ReadStream {
    return createReadStream(this.pathFor(sha256));
  }
}
