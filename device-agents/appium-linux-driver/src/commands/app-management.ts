import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessNotInstalledError, invalidArgument } from '../errors.js';
import { deviceRoots, insideAWorkDir, isInside, resolveReal } from '../policy.js';
import type { DriverContext } from '../driver-context.js';
import { harnessDir } from './paths.js';

/** The harness bundle's manifest.json (device-agents/harness). */
export interface HarnessManifest {
  name: string;
  version: string;
  entry: string;
  /**
   * Argument templates after the entry; `{spec}` and `{out}` are substituted.
   * @defaultValue run: ['run', '--spec', '{spec}', '--out', '{out}'], probe: ['probe']
   */
  commands?: { run?: string[]; probe?: string[] };
  /**
   * How the entry is started: `node` (the Node harness, by the target's node) or `sh` (the native
   * bundle's POSIX sh entry, which brings its own loader and libraries: no node on the target).
   * @defaultValue 'node'
   */
  interpreter?: 'node' | 'sh';
  [k: string]: unknown;
}

const DEFAULT_COMMANDS = { run: ['run', '--spec', '{spec}', '--out', '{out}'], probe: ['probe'] };

/** The whole argv that runs an installed harness on a target: its interpreter, the entry, the template. */
export function harnessArgv(nodeArgv: string[], dir: string, m: HarnessManifest, which: 'run' | 'probe', vars: Record<string, string> = {}): string[] {
  return [...(m.interpreter === 'sh' ? ['sh'] : nodeArgv), ...harnessArgs(dir, m, which, vars)];
}

/** argv (after node) that runs an installed harness: the entry, then the manifest's template. */
export function harnessArgs(dir: string, m: HarnessManifest, which: 'run' | 'probe', vars: Record<string, string> = {}): string[] {
  const template = m.commands?.[which] ?? DEFAULT_COMMANDS[which];
  return [path.join(dir, m.entry), ...template.map((a) => a.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? `{${k}}`))];
}

const INSTALLED_MARK = '.pocketbench-installed';

async function readManifest(dir: string): Promise<HarnessManifest> {
  let raw: string;
  try {
    raw = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw invalidArgument('appPath', `is not a harness bundle: no manifest.json in ${dir}`);
  }
  let m: Partial<HarnessManifest>;
  try {
    m = JSON.parse(raw) as Partial<HarnessManifest>;
  } catch (e) {
    throw invalidArgument('appPath', `has an unreadable manifest.json: ${(e as Error).message}`);
  }
  for (const k of ['name', 'version', 'entry'] as const) {
    if (typeof m[k] !== 'string' || !m[k]) throw invalidArgument('appPath', `manifest.json lacks a string '${k}'`);
  }
  if (m.interpreter !== undefined && m.interpreter !== 'node' && m.interpreter !== 'sh') throw invalidArgument('appPath', `manifest.json 'interpreter' must be 'node' or 'sh', not ${JSON.stringify(m.interpreter)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/.test(m.version!) || m.version!.includes('..')) {
    throw invalidArgument('appPath', `manifest.json 'version' is not a safe directory name: ${m.version}`);
  }
  // runHarness executes the entry: it must be a file of the bundle, not something next to it.
  const entry = path.normalize(m.entry!);
  if (path.isAbsolute(entry) || entry.startsWith('..') || entry.startsWith('-')) {
    throw invalidArgument('appPath', `manifest.json 'entry' must be a path inside the bundle, got ${m.entry}`);
  }
  const templates = Object.values(m.commands ?? {});
  if (!templates.every((t) => Array.isArray(t) && t.every((a) => typeof a === 'string'))) {
    throw invalidArgument('appPath', "manifest.json 'commands' must map run/probe to lists of strings");
  }
  return m as HarnessManifest;
}

/**
 * installApp: the "app" is a harness bundle directory on the Appium host. It is copied to
 * `<workDir>/harness/<version>/` once; a later install of the same version is a no-op.
 */
export async function installApp(this: DriverContext, appPath: string): Promise<void> {
  if (typeof appPath !== 'string' || !path.isAbsolute(appPath)) throw invalidArgument('appPath', 'must be an absolute path of a harness bundle directory on the Appium host');
  // A bundle is what the operator put on this host: inside the server's roots, never in a work
  // directory (files there came from a client, and installing them would run them).
  const real = resolveReal(appPath);
  const roots = deviceRoots();
  if (!roots.some((r) => isInside(real, r))) {
    throw invalidArgument('appPath', `is outside the directories this Appium server allows (POCKETBENCH_DEVICE_ROOTS: ${roots.join(':')})`);
  }
  if (insideAWorkDir(real)) throw invalidArgument('appPath', 'is inside a device work directory, where clients put files: install bundles from elsewhere');
  appPath = real;
  const manifest = await readManifest(appPath);
  const dest = harnessDir(this, manifest.version);
  if (await this.target.exists(path.join(dest, INSTALLED_MARK))) {
    this.log.info(`harness ${manifest.version} already installed at ${dest}`);
    return;
  }
  const started = Date.now();
  await this.target.copyDirIn(appPath, dest);
  await this.target.writeFile(path.join(dest, INSTALLED_MARK), Buffer.from(`${new Date().toISOString()}\n`));
  this.log.info(`installed harness ${manifest.version} at ${dest} in ${Date.now() - started} ms`);
}

/** isAppInstalled(bundleId): bundleId is a harness version. */
export async function isAppInstalled(this: DriverContext, bundleId: string): Promise<boolean> {
  if (typeof bundleId !== 'string' || !bundleId) throw invalidArgument('bundleId', 'must be a harness version');
  return await this.target.exists(path.join(harnessDir(this, bundleId, 'bundleId'), INSTALLED_MARK));
}

export async function removeApp(this: DriverContext, bundleId: string): Promise<boolean> {
  if (!(await this.isAppInstalled(bundleId))) return false;
  await this.target.remove(harnessDir(this, bundleId));
  return true;
}

/** Reads an installed harness's manifest from the target. */
export async function installedManifest(driver: DriverContext, version: string): Promise<HarnessManifest> {
  const dir = harnessDir(driver, version);
  if (!(await driver.target.exists(path.join(dir, INSTALLED_MARK)))) throw new HarnessNotInstalledError(version);
  return JSON.parse((await driver.target.readFile(path.join(dir, 'manifest.json'))).toString('utf8')) as HarnessManifest;
}
