import path from 'node:path';
import { fileURLToPath } from 'node:url';

import os from 'node:os';

// From source: <repo>/device-agents/harness/src/config.ts. In the device bundle (src/bundle.ts)
// this code lives in <bundle>/lib/harness.mjs, and the defaults point inside the bundle.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUNDLE_ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface HarnessConfig {
  /** Where native builds and the fixture cache live. @defaultValue `<repo>/.pocketbench` */
  dataDir: string;
  /** The native pytorch-lite runner. @defaultValue `<dataDir>/harness/native/ptl-runner` (bundle: `native/<arch>/ptl-runner`) */
  ptlRunnerPath: string;
  /**
   * The runner is the bundle's own for this architecture (no override): when it is absent the bundle
   * was not built for this arch (the emulated aarch64 device), so .ptl cells are `unsupported` there.
   */
  ptlRunnerBundled?: boolean;
  /** Vulkan loaders need XDG_RUNTIME_DIR; when unset the harness makes a private one. */
  xdgRuntimeDir?: string;
  /** `vulkaninfo` (Debian vulkan-tools) names the Vulkan adapter. @defaultValue `vulkaninfo` on PATH */
  vulkaninfoPath: string;
  /** Environment the runner processes inherit (PATH, Vulkan loader variables…). */
  childEnv: Record<string, string>;
}

/** The harness's only reader of the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HarnessConfig {
  const dataDir = path.resolve(env.POCKETBENCH_DATA_DIR || (FROM_SOURCE ? path.join(REPO_ROOT, '.pocketbench') : path.join(BUNDLE_ROOT, 'data')));
  // A bundle carries the native runner built for one architecture, under native/<uname -m>/.
  const defaultRunner = FROM_SOURCE ? path.join(dataDir, 'harness', 'native', 'ptl-runner') : path.join(BUNDLE_ROOT, 'native', os.machine(), 'ptl-runner');
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return {
    dataDir,
    ptlRunnerPath: path.resolve(env.POCKETBENCH_PTL_RUNNER || defaultRunner),
    ptlRunnerBundled: !FROM_SOURCE && !env.POCKETBENCH_PTL_RUNNER,
    xdgRuntimeDir: env.XDG_RUNTIME_DIR || undefined,
    vulkaninfoPath: env.POCKETBENCH_VULKANINFO || 'vulkaninfo',
    childEnv,
  };
}
