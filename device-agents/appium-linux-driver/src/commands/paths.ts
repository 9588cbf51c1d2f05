import path from 'node:path';
import { invalidArgument } from '../errors.js';
import type { DriverContext } from '../driver-context.js';

/**
 * A path inside the target's work directory (relative ones are taken from it; absolute ones must
 * lie in it): a client of this driver touches no other file. With `write`, the driver's own
 * areas are refused too: installed harnesses (`harness/`, what runHarness executes) and its
 * records (top-level dot entries).
 */
export function targetPath(driver: DriverContext, p: unknown, name = 'path', opts: { write?: boolean } = {}): string {
  if (typeof p !== 'string' || p.length === 0) throw invalidArgument(name, 'must be a non-empty string');
  if (p.includes('\0')) throw invalidArgument(name, 'must not contain NUL');
  const workDir = driver.target.workDir;
  const resolved = path.isAbsolute(p) ? path.normalize(p) : path.resolve(workDir, p);
  if (!resolved.startsWith(workDir + path.sep)) throw invalidArgument(name, `escapes the work directory: ${p}`);
  if (opts.write) {
    const top = path.relative(workDir, resolved).split(path.sep)[0];
    if (top === 'harness' || top.startsWith('.')) throw invalidArgument(name, `is in the driver's own area of the work directory (${top}): ${p}`);
  }
  return resolved;
}

/** A harness version: also a directory name, so nothing that could climb out of `harness/`. */
export const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

/** Where installApp puts a harness version on the target. */
export function harnessDir(driver: DriverContext, version: string, name = 'version'): string {
  if (typeof version !== 'string' || !SAFE_VERSION.test(version) || version.includes('..')) {
    throw invalidArgument(name, `must be a harness version (letters, digits, ".", "_", "+", "-"), got ${JSON.stringify(String(version).slice(0, 60))}`);
  }
  return path.join(driver.target.workDir, 'harness', version);
}
