import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const DATA_DIR = path.resolve(process.env.POCKETBENCH_DATA_DIR ?? path.join(REPO_ROOT, '.pocketbench'));

/**
 * The Appium home with our Linux driver built and installed (scripts/setup.d/30-appium.sh,
 * which `npm test` runs first; repeated here so a single spec file can run alone — it is a
 * no-op when nothing changed).
 */
export function ensureAppiumHome(): string {
  const r = spawnSync(
    'bash',
    ['-c', 'say(){ echo "[setup] $*" >&2; }; die(){ echo "[setup] error: $*" >&2; exit 1; }; source scripts/setup.d/30-appium.sh'],
    { cwd: REPO_ROOT, env: { ...process.env, ROOT_DIR: REPO_ROOT, POCKETBENCH_DATA_DIR: DATA_DIR }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`setting up the Appium home failed: ${r.stderr}`);
  return path.join(DATA_DIR, 'appium');
}

export const QEMU_ROOTFS = path.join(DATA_DIR, 'qemu-arm64', 'rootfs');
