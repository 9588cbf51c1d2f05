import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = fileURLToPath(new URL('../native/build.sh', import.meta.url));

/**
 * Builds (or finds up to date) the native ptl-runner next to `runnerPath`; resolves with its path.
 * The build takes about a minute on two cores the first time, then nothing.
 */
export function ensurePtlRunner(runnerPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD_SCRIPT, path.dirname(runnerPath)], { timeout: 15 * 60_000, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`building ptl-runner failed: ${String(stderr).slice(-3000) || err.message}`));
      else resolve(runnerPath);
    });
  });
}
