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
  await pushVerified(this, remotePath, base64Data);
}

async function pushVerified(driver: DriverContext, remotePath: string, base64Data: string, expected?: string) {
  const p = targetPath(driver, remotePath, 'path', { write: true });
  const data = decode('data', base64Data);
  const sent = createHash('sha256').update(data).digest('hex');
  if (expected && expected !== sent) throw new TransferIntegrityError(`${p} (as received by the driver)`, expected, sent);
  await driver.target.writeFile(p, data);
  const landed = await driver.target.sha256(p);
  if (landed !== sent) {
    await driver.target.remove(p);
    throw new TransferIntegrityError(p, sent, landed ?? 'no file');
  }
  driver.log.debug(`pushed ${data.length} bytes to ${p} (sha256 ${sent})`);
  return { path: p, sha256: sent, sizeBytes: data.length };
}

/** `mobile: pushFile` — like pushFile, also checks the caller's sha256 and returns where it landed. */
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
