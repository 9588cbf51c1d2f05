/**
 * The harness as a self-contained directory for a Linux target (`@pocketbench/harness/bundle`):
 * what the Appium Linux driver's installApp copies to a device and runs with the device's node.
 *
 *   manifest.json            { name, version, entry: "lib/harness.mjs", commands }
 *   package.json             { type: module, version }  (the report's harness.version)
 *   lib/harness.mjs          the CLI, bundled with the contracts and ajv (esbuild)
 *   lib/onnx-child.mjs       the ONNX Runtime runner process
 *   schemas/*.json           the BenchSpec/BenchReport schemas the validators read
 *   native/<arch>/ptl-runner the native pytorch-lite runner for the arch it was built on
 *   node_modules/onnxruntime-{node,common}   with the linux x64 and arm64 binaries only
 *
 * The version is the package version plus a hash of the bundle's content, so a changed harness
 * is a new version and a device never keeps running a stale copy.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_REPORT_SCHEMA_PATH, BENCH_SPEC_SCHEMA_PATH } from '@pocketbench/contracts';
import { ensurePtlRunner } from './native-build.js';
import { HARNESS_NAME, HARNESS_VERSION } from './version.js';

const SRC = fileURLToPath(new URL('./', import.meta.url));
const require = createRequire(import.meta.url);

export interface HarnessBundle {
  dir: string;
  version: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out.sort();
}

/**
 * Builds the bundle under `<dataDir>/harness/bundle/<version>/` unless that version exists.
 * The native runner is included when it builds here (libtorch-dev present); without it the
 * bundle still runs onnxruntime and `probe` says pytorch-lite is absent.
 */
export async function ensureHarnessBundle(opts: { dataDir: string }): Promise<HarnessBundle> {
  const { build } = await import('esbuild');
  const common: import('esbuild').BuildOptions = { bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, external: ['onnxruntime-node'], logLevel: 'silent' };
  // CommonJS dependencies (ajv) inside an ESM bundle need a `require`.
  const banner = { js: "import { createRequire as __pbCreateRequire } from 'node:module'; const require = __pbCreateRequire(import.meta.url);" };
  const [cliJs, childJs] = await Promise.all(
    [path.join(SRC, 'cli.ts'), path.join(SRC, 'onnx', 'onnx-child.ts')].map(async (entry) => {
      const out = (await build({ ...common, banner, entryPoints: [entry] })).outputFiles?.[0];
      if (!out) throw new Error(`esbuild produced nothing for ${entry}`);
      return out.contents;
    }),
  );
  let runner: Buffer | undefined;
  const runnerPath = path.join(opts.dataDir, 'harness', 'native', 'ptl-runner');
  try {
    await ensurePtlRunner(runnerPath);
    runner = await readFile(runnerPath);
  } catch {
    runner = undefined;
  }
  const ortNode = path.dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common exports no ./package.json: find its directory where npm puts it.
  const ortCommon = [path.join(ortNode, 'node_modules', 'onnxruntime-common'), path.join(path.dirname(ortNode), 'onnxruntime-common')].find((d) => existsSync(path.join(d, 'package.json')));
  if (!ortCommon) throw new Error(`onnxruntime-common not found next to ${ortNode}`);
  const ortVersion = (JSON.parse(await readFile(path.join(ortNode, 'package.json'), 'utf8')) as { version: string }).version;

  const hash = createHash('sha256');
  for (const part of [cliJs, childJs, await readFile(BENCH_SPEC_SCHEMA_PATH), await readFile(BENCH_REPORT_SCHEMA_PATH), runner ?? Buffer.alloc(0), Buffer.from(ortVersion)]) {
    hash.update(part);
  }
  const version = `${HARNESS_VERSION}+${hash.digest('hex').slice(0, 12)}`;
  const dir = path.join(opts.dataDir, 'harness', 'bundle', version);
  if (existsSync(path.join(dir, 'manifest.json'))) return { dir, version };

  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(path.join(tmp, 'lib'), { recursive: true });
    await writeFile(path.join(tmp, 'lib', 'harness.mjs'), cliJs);
    await writeFile(path.join(tmp, 'lib', 'onnx-child.mjs'), childJs);
    await mkdir(path.join(tmp, 'schemas'));
    await cp(BENCH_SPEC_SCHEMA_PATH, path.join(tmp, 'schemas', path.basename(BENCH_SPEC_SCHEMA_PATH)));
    await cp(BENCH_REPORT_SCHEMA_PATH, path.join(tmp, 'schemas', path.basename(BENCH_REPORT_SCHEMA_PATH)));
    if (runner) {
      await mkdir(path.join(tmp, 'native', os.machine()), { recursive: true });
      await writeFile(path.join(tmp, 'native', os.machine(), 'ptl-runner'), runner, { mode: 0o755 });
    }
    const keepBinary = (src: string) => {
      const rel = path.relative(ortNode, src);
      return !rel.startsWith(`bin${path.sep}`) || /^bin\/napi-v\d+(\/linux(\/(x64|arm64)(\/.*)?)?)?$/.test(rel.split(path.sep).join('/'));
    };
    await cp(ortNode, path.join(tmp, 'node_modules', 'onnxruntime-node'), { recursive: true, filter: keepBinary });
    await cp(ortCommon, path.join(tmp, 'node_modules', 'onnxruntime-common'), { recursive: true });
    await writeFile(path.join(tmp, 'package.json'), `${JSON.stringify({ name: HARNESS_NAME, version, private: true, type: 'module' }, null, 2)}\n`);
    const manifest = {
      name: HARNESS_NAME,
      version,
      entry: 'lib/harness.mjs',
      commands: { run: ['run', '--spec', '{spec}', '--out', '{out}'], probe: ['probe'] },
      runtimes: { onnxruntime: ortVersion, 'pytorch-lite': runner ? { arch: os.machine() } : null },
    };
    await writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
      if (!existsSync(path.join(dir, 'manifest.json'))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await pruneOldBundles(path.dirname(dir), KEEP_BUNDLES);
  return { dir, version };
}

/** Bundles are ~70 MB; keep the newest few (a worker still running an older one keeps it). */
const KEEP_BUNDLES = 3;

async function pruneOldBundles(parent: string, keep: number): Promise<void> {
  const entries = await readdir(parent, { withFileTypes: true });
  const dirs = await Promise.all(
    entries.filter((e) => e.isDirectory() && !e.name.includes('.tmp-')).map(async (e) => ({ p: path.join(parent, e.name), t: (await stat(path.join(parent, e.name))).mtimeMs })),
  );
  for (const d of dirs.sort((a, b) => b.t - a.t).slice(keep)) await rm(d.p, { recursive: true, force: true });
}

/** Total bytes of a bundle directory (for logs and docs). */
export async function bundleSize(dir: string): Promise<number> {
  let n = 0;
  for (const f of await filesUnder(dir)) n += (await stat(f)).size;
  return n;
}

const NATIVE_BUNDLE_SCRIPT = fileURLToPath(new URL('../native/bundle.sh', import.meta.url));

/** The native bundle's manifest.json (native/bundle.sh). */
export interface NativeBundleManifest {
  name: string;
  version: string;
  arch: 'aarch64' | 'x86_64';
  entry: string;
  interpreter: 'sh';
  commands: { run: string[]; probe: string[] };
  runtimes: { onnxruntime: string | null; 'pytorch-lite': string | null };
  /** Every file of the bundle, relative to it (what the Android adapter pushes). */
  files: string[];
  sizeBytes: number;
}

/**
 * The self-contained native harness for `arch` (native/bundle.sh): supervisor, ONNX Runtime
 * C-API runner and lite-interpreter runner with their own loader and libraries, started by a
 * POSIX sh entry. Built once per content under `<dataDir>/harness/native-bundle/<arch>/<version>/`
 * (the first build cross-compiles, minutes; later calls take seconds).
 */
export async function ensureNativeHarnessBundle(opts: { dataDir: string; arch: 'aarch64' | 'x86_64' }): Promise<HarnessBundle & { manifest: NativeBundleManifest }> {
  const dir = await runBundleScript(opts, []);
  if (dir === undefined) throw new Error(`building the native ${opts.arch} harness bundle printed no directory`);
  return await readNativeBundle(dir);
}

/**
 * The native bundle for `arch` if it is already built for the current sources, else undefined:
 * nothing is compiled (`bundle.sh --if-built`, seconds). What decides whether this machine's own
 * device runs the native harness without a worker's start waiting minutes for a build.
 */
export async function findNativeHarnessBundle(opts: { dataDir: string; arch: 'aarch64' | 'x86_64' }): Promise<(HarnessBundle & { manifest: NativeBundleManifest }) | undefined> {
  // Asked once per process and data dir (seconds each time): the sources do not change under a running worker.
  const key = `${path.resolve(opts.dataDir)}\u0000${opts.arch}`;
  let found = builtBundles.get(key);
  if (!found) {
    found = runBundleScript(opts, ['--if-built']).then((dir) => (dir === undefined ? undefined : readNativeBundle(dir)));
    builtBundles.set(key, found);
    found.catch(() => builtBundles.delete(key));
  }
  return await found;
}

const builtBundles = new Map<string, Promise<(HarnessBundle & { manifest: NativeBundleManifest }) | undefined>>();

async function readNativeBundle(dir: string): Promise<HarnessBundle & { manifest: NativeBundleManifest }> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as NativeBundleManifest;
  return { dir, version: manifest.version, manifest };
}

/** bundle.sh's directory, or undefined when `--if-built` found none (exit 3). */
function runBundleScript(opts: { dataDir: string; arch: 'aarch64' | 'x86_64' }, extra: string[]): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    execFile('bash', [NATIVE_BUNDLE_SCRIPT, '--arch', opts.arch, '--data-dir', opts.dataDir, ...extra], { timeout: 30 * 60_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      if (err && extra.includes('--if-built') && err.code === 3) resolve(undefined);
      else if (err) reject(new Error(`building the native ${opts.arch} harness bundle failed: ${String(stderr).trim().split('\n').slice(-5).join(' ') || err.message}`));
      else resolve(String(stdout).trim().split('\n').pop() || undefined);
    });
  });
}
