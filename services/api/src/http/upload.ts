import type { Request } from 'express';
import multer from 'multer';
import { rm } from 'node:fs/promises';
import type { ArtifactStore } from '../domain/artifacts/artifact-store.js';

/** The uploaded file as the storage engine leaves it: a temp file already hashed. */
export interface UploadedFile extends Express.Multer.File {
  sha256: string;
}

/** Multer storage that streams the file into the artifact store's temp dir, hashing on the way. */
class HashingStorage implements multer.StorageEngine {
  constructor(private readonly store: ArtifactStore) {}

  _handleFile(_req: Request, file: Express.Multer.File, cb: (error?: unknown, info?: Partial<UploadedFile>) => void): void {
    this.store.writeTemp(file.stream).then(
      (t) => cb(null, { path: t.path, size: t.sizeBytes, sha256: t.sha256 }),
      (err) => cb(err),
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void): void {
    rm(file.path, { force: true }).then(() => cb(null), cb);
  }
}

/** Accepts one file field `file` and a few text fields, up to `maxBytes`. */
export function artifactUpload(store: ArtifactStore, maxBytes: number) {
  return multer({
    storage: new HashingStorage(store),
    limits: { fileSize: maxBytes, files: 1, fields: 16, fieldSize: 64 * 1024, parts: 20 },
  }).single('file');
}
