import { access, constants } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import type { Backend, Runtime } from '@pocketbench/contracts';
import { UNSUPPORTED_REASONS } from './backend-support.js';
import type { HarnessConfig } from './config.js';
import { HARNESS_NAME, HARNESS_VERSION } from './version.js';
import { probeVulkan, type VulkanAdapter } from './vulkan-probe.js';

export interface HarnessCapabilities {
  harness: { name: string; version: string };
  runtimes: Partial<Record<Runtime, { version: string | null; backends: Backend[] }>>;
  /** Every backend some runtime here can run (what `mobile: deviceInfo` lists). */
  backends: Backend[];
  vulkan: { adapters: VulkanAdapter[] } | { unavailable: string };
}

function ptlRunnerVersion(runnerPath: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(runnerPath, ['--version'], { timeout: 10_000 }, (_err, stdout) => resolve(/^\d+\.\d+/.exec(String(stdout).trim())?.[0] ? String(stdout).trim() : null));
  });
}

/** What this device can run, for the device layer's `mobile: deviceInfo` (backends per runtime). */
export async function probeCapabilities(config: HarnessConfig): Promise<HarnessCapabilities> {
  const vulkan = await probeVulkan(config.vulkaninfoPath, { ...config.childEnv, XDG_RUNTIME_DIR: config.xdgRuntimeDir ?? '/tmp' });
  const runtimes: HarnessCapabilities['runtimes'] = {};
  const usable = (rt: Runtime, all: Backend[]) => all.filter((b) => !UNSUPPORTED_REASONS[rt][b] && (b !== 'vulkan' || vulkan.ok));
  // ESM/CJS interop differs between loaders: the namespace or its default holds the API.
  type Ort = typeof import('onnxruntime-node');
  const ort = await import('onnxruntime-node')
    .then((m) => {
      const ns = m as unknown as Ort & { default?: Ort };
      return ns.default?.env ? ns.default : ns;
    })
    .catch(() => null);
  if (ort) {
    // Vulkan needs the WebGPU provider in this onnxruntime-node build as well as a Vulkan device.
    const webgpu = ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled);
    const backends = usable('onnxruntime', ['cpu', 'vulkan']).filter((b) => b !== 'vulkan' || webgpu);
    runtimes.onnxruntime = { version: ort.env.versions.node ?? ort.env.versions.common ?? null, backends };
  }
  const ptlOk = await access(config.ptlRunnerPath, constants.X_OK).then(() => true, () => false);
  // Present is not enough: a runner built for another architecture or missing libtorch does not start.
  const ptlVersion = ptlOk ? await ptlRunnerVersion(config.ptlRunnerPath) : null;
  if (ptlVersion) runtimes['pytorch-lite'] = { version: ptlVersion, backends: usable('pytorch-lite', ['cpu']) };
  return {
    harness: { name: HARNESS_NAME, version: HARNESS_VERSION },
    runtimes,
    backends: [...new Set(Object.values(runtimes).flatMap((r) => r.backends))],
    vulkan: vulkan.ok ? { adapters: vulkan.adapters } : { unavailable: vulkan.reason },
  };
}
