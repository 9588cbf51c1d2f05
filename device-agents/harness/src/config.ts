import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface HarnessConfig {
  /** Where native builds and the fixture cache live. @defaultValue `<repo>/.pocketbench` */
  dataDir: string;
  /** The native pytorch-lite runner. @defaultValue `<dataDir>/harness/native/ptl-runner` */
  ptlRunnerPath: string;
  /** Vulkan loaders need XDG_RUNTIME_DIR; when unset the harness makes a private one. */
  xdgRuntimeDir?: string;
  /** `vulkaninfo` (Debian vulkan-tools) names the Vulkan adapter. @defaultValue `vulkaninfo` on PATH */
  vulkaninfoPath: string;
  /** Environment the runner processes inherit (PATH, Vulkan loader variables…). */
  childEnv: Record<string, string>;
}

/** The harness's only reader of the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): HarnessConfig {
  const dataDir = path.resolve(env.POCKETBENCH_DATA_DIR || path.join(REPO_ROOT, '.pocketbench'));
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return {
    dataDir,
    ptlRunnerPath: path.resolve(env.POCKETBENCH_PTL_RUNNER || path.join(dataDir, 'harness', 'native', 'ptl-runner')),
    xdgRuntimeDir: env.XDG_RUNTIME_DIR || undefined,
    vulkaninfoPath: env.POCKETBENCH_VULKANINFO || 'vulkaninfo',
    childEnv,
  };
}
