import { createHash } from 'node:crypto';
import { invalidArgument, TransferIntegrityError } from '../errors.js';
import type { DriverContext } from '../driver-context.js';
import { targetPath } from './paths.js';

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

function decode(name: string, data: unknown): Buffer {
  if (typeof data !== 'string' || !BASE64.test(data)) throw invalidArgument(name, 'must be a base64 string');
  return Buffer.from(data, 'base64');
}

/**
 * Appium's pushFile: base64 payload, written atomically, then hashed on the target and
 * compared with the hash of what was sent (a short write or a full disk shows up here).
 */
export async function pushFile(this: DriverContext, remotePath: string, base64Data: string): Promise<void> {
  const r = await pushVerified(this, remotePath, base64Data);
  if (r.sha256 === null) throw new TransferIntegrityError(r.path, r.receivedSha256, 'another file (removed)');
}

/**
 * Writes what arrived and hashes what landed. A file that does not hold what was sent (or what
 * the caller said it sent) is removed: `sha256` is then null, and the caller sees it as data.
 */
async function pushVerified(driver: DriverContext, remotePath: string, base64Data: string, expected?: string) {
  const p = targetPath(driver, remotePath, 'path', { write: true });
  const data = decode('data', base64Data);
  const received = createHash('sha256').update(data).digest('hex');
  const result = { path: p, receivedSha256: received, sizeBytes: data.length };
  if (expected && expected !== received) {
    driver.log.warn(`push to ${p}: received sha256 ${received}, the client sent ${expected}; not written`);
    return { ...result, sha256: null };
  }
  await driver.target.writeFile(p, data);
  const landed = await driver.target.sha256(p);
  if (landed !== received) {
    driver.log.warn(`push to ${p}: the target holds sha256 ${landed ?? 'no file'}, not the ${received} received; removed`);
    await driver.target.remove(p);
    return { ...result, sha256: null };
  }
  driver.log.debug(`pushed ${data.length} bytes to ${p} (sha256 ${received})`);
  return { ...result, sha256: landed };
}

/**
 * `mobile: pushFile` — like pushFile, and returns where the file landed with its sha256 on the
 * target (null when it did not land intact, or did not match the caller's `sha256`: nothing is
 * left) and the sha256 of what the driver received.
 */
export async function mobilePushFile(this: DriverContext, remotePath: string, data: string, sha256?: string) {
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(String(sha256))) throw invalidArgument('sha256', 'must be 64 lowercase hex digits');
  return await pushVerified(this, remotePath, data, sha256);
}

/** Appium's pullFile: the file's bytes as base64. */
export async function pullFile(this: DriverContext, remotePath: string): Promise<string> {
  const p = targetPath(this, remotePath);
  if (!(await this.target.exists(p))) throw invalidArgument('path', `no such file on the target: ${p}`);
  return (await this.target.readFile(p)).toString('base64');
}

/**
 * `mobile: removeFile` — removes a file or directory the client put in the work directory
 * (a run's spec and report once pulled). The driver's own areas are refused like for pushes.
 */
export async function mobileRemoveFile(this: DriverContext, remotePath: string) {
  const p = targetPath(this, remotePath, 'path', { write: true });
  const existed = await this.target.exists(p);
  await this.target.remove(p);
  return { path: p, removed: existed };
}

/** `mobile: fileHash` — sha256 of a file on the target, or null when absent (model cache check). */
export async function mobileFileHash(this: DriverContext, remotePath: string) {
  const p = targetPath(this, remotePath);
  const sha256 = await this.target.sha256(p);
  return { path: p, sha256 };
}
