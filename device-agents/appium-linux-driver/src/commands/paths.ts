import path from 'node:path';
import { invalidArgument } from '../errors.js';
import type { DriverContext } from '../driver-context.js';

/** Relative paths live under the target's work directory; absolute ones are taken as given. */
export function targetPath(driver: DriverContext, p: unknown, name = 'path'): string {
  if (typeof p !== 'string' || p.length === 0) throw invalidArgument(name, 'must be a non-empty string');
  if (p.includes('\0')) throw invalidArgument(name, 'must not contain NUL');
  if (path.isAbsolute(p)) return path.normalize(p);
  const resolved = path.resolve(driver.target.workDir, p);
  if (!resolved.startsWith(driver.target.workDir + path.sep)) throw invalidArgument(name, `escapes the work directory: ${p}`);
  return resolved;
}

/** Where installApp puts a harness version on the target. */
export function harnessDir(driver: DriverContext, version: string): string {
  return path.join(driver.target.workDir, 'harness', version);
}
